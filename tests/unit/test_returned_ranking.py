"""hopscout.retrieval.results.as_returned: the ranking the confidence estimate reads is the one returned."""

from __future__ import annotations

from hopscout.retrieval.candidates import Row
from hopscout.retrieval.results import as_returned, demoted

RANKING = [("flagged", 0.9), ("a", 0.6), ("b", 0.3), ("deep", 0.1)]


def test_a_flagged_passage_is_demoted_as_the_prior_demotes_it() -> None:
    rows = [Row("flagged", 0.9, {}, flags=("instructions",)), Row("a", 0.6, {}), Row("b", 0.3, {})]
    returned = as_returned(RANKING, rows, 0.25)
    assert [i for i, _ in returned] == ["a", "b", "flagged", "deep"]  # 0.9 × 0.25 falls below 0.3
    assert dict(returned)["flagged"] == demoted(0.9, 0.25) and dict(returned)["a"] == 0.6


def test_nothing_flagged_or_no_demotion_leaves_the_ranking_as_it_was() -> None:
    plain = [Row(i, s, {}) for i, s in RANKING]
    assert as_returned(RANKING, plain, 0.25) == RANKING
    flagged = [Row("flagged", 0.9, {}, flags=("word_list",))]
    assert as_returned(RANKING, flagged, 1.0) == RANKING


def test_demotion_lowers_a_score_whatever_its_sign() -> None:
    assert demoted(0.8, 0.25) < 0.8 and demoted(-0.8, 0.25) < -0.8
    assert demoted(0.8, 1.0) == 0.8
