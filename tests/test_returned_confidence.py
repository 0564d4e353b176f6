"""Confidence and relevance describe the list a search returns: with a flagged passage demoted below another,
the search's ``confidence`` is that of its new top hit and the demoted passage no longer rates most relevant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faces import FLAGGED_COLLECTION, FLAGGED_ID, QUERY, add_flagged

from hopscout import Hit, Scout, Settings
from hopscout.calibration import calibrate_confidence
from hopscout.evaluation.datasets import load_dataset
from hopscout.keys import META_CONFIDENCE, META_CONFIDENCE_LEXICAL
from hopscout.logistic import Logistic
from hopscout.retrieval.confidence import (
    DEFAULT_LEXICAL_CONFIDENCE,
    LEXICAL_FEATURES,
    LEXICAL_HIT_FEATURES,
    ConfidenceModels,
)
from hopscout.scout import engine_of

FIXTURES = Path(__file__).parent / "fixtures"


def _search(embedder: Any, home: Path, demotion: float, **options: Any) -> list[Hit]:
    with Scout(Settings(home=home, flagged_demotion=demotion), embedder=embedder) as scout:
        add_flagged(scout)
        return scout.search(QUERY, 4, collection=FLAGGED_COLLECTION, **options)


def test_confidence_and_relevance_follow_the_demotion(embedder: Any, tmp_path: Path) -> None:
    kept = _search(embedder, tmp_path / "kept", 1.0)
    demoted = _search(embedder, tmp_path / "demoted", 0.25)
    assert kept[0].id == FLAGGED_ID and kept[0].flags == ("instructions",)  # on top when not demoted
    assert demoted[0].id != FLAGGED_ID  # the demotion moved it down
    assert demoted[0].confidence != kept[0].confidence
    flagged = next(h for h in demoted if h.id == FLAGGED_ID)
    assert flagged.relevance is not None and demoted[0].relevance is not None
    assert flagged.relevance < demoted[0].relevance
    assert max(kept, key=lambda h: h.relevance or 0.0).id == FLAGGED_ID  # undemoted, it rates highest
    # the passage prior off: the list, and so the estimate, as with no demotion
    off = _search(embedder, tmp_path / "off", 0.25, prior=False)
    assert [(h.id, h.confidence, h.relevance) for h in off] == [
        (h.id, h.confidence, h.relevance) for h in kept
    ]


def test_a_lexical_search_is_judged_by_the_lexical_models_calibrated_ones_when_stored(
    embedder: Any, tmp_path: Path
) -> None:
    data = load_dataset(FIXTURES / "tools_mini")
    qids = data.judged_queries
    queries, relevant = [data.queries[q] for q in qids], [data.qrels[q] for q in qids]
    with Scout(Settings(home=tmp_path), embedder=embedder) as scout:
        ids = list(data.corpus)
        scout.add([data.doc_text(i) for i in ids], ids=ids, collection="apis")
        fit = calibrate_confidence(scout, queries, relevant, collection="apis", lexical=True)
        assert (
            fit.models.bm25_only and fit.models.features == LEXICAL_FEATURES and fit.queries == len(queries)
        )
        stored = engine_of(scout).index("apis").metadata()  # under its own key, when it beat the defaults
        assert (META_CONFIDENCE_LEXICAL in stored) == fit.calibrated and META_CONFIDENCE not in stored
        before = scout.search(queries[0], 3, collection="apis", mode="lexical")[0].confidence
        hybrid = scout.search(queries[0], 3, collection="apis")[0].confidence
        sure = ConfidenceModels(  # a stored lexical model that is sure of every top hit
            Logistic(
                (0.0,) * len(LEXICAL_FEATURES),
                (1.0,) * len(LEXICAL_FEATURES),
                (0.0,) * len(LEXICAL_FEATURES),
                8.0,
            ),
            DEFAULT_LEXICAL_CONFIDENCE.hit,
            LEXICAL_FEATURES,
            LEXICAL_HIT_FEATURES,
        )
        engine_of(scout).index("apis").update_metadata(**{META_CONFIDENCE_LEXICAL: sure.to_json()})
        after = scout.search(queries[0], 3, collection="apis", mode="lexical")[0].confidence
        assert before is not None and after is not None and after > 0.999 > before
        assert scout.search(queries[0], 3, collection="apis")[0].confidence == hybrid  # not the hybrid's
