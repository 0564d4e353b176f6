"""Scoring rankings of grouped tool entries (first member / any member) and hit@k, on hand-made runs."""

from __future__ import annotations

import pytest

from hopscout.evaluation.pooled import any_member_run, first_member_run
from hopscout.metrics import hits, mean, per_query

QRELS = {"q": {"gold_a": 1, "gold_b": 1, "judged_out": 0}}


def test_an_entry_counts_by_any_member_and_a_gold_tool_once() -> None:
    entries = {
        "q": [
            ("srv/flights_copy", "gold_a"),  # gold through an alternative
            ("gold_a",),  # already credited: a miss the second time
            ("other", "srv/x"),
            ("gold_b", "gold_a"),  # the first member is gold
        ]
    }
    assert first_member_run(entries) == {"q": ["srv/flights_copy", "gold_a", "other", "gold_b"]}
    credited = any_member_run(entries, QRELS)["q"]
    assert credited[0] == "gold_a" and credited[2:] == ["other", "gold_b"]
    assert credited[1] not in QRELS["q"] and len(set(credited)) == 4
    first = mean(per_query(first_member_run(entries), QRELS))
    anyone = mean(per_query(any_member_run(entries, QRELS), QRELS))
    assert anyone["ndcg@10"] > first["ndcg@10"] and anyone["all@5"] == first["all@5"] == 1.0


def test_without_alternatives_any_member_is_first_member() -> None:
    entries = {"q": [("x",), ("gold_b",), ("judged_out",)], "unjudged": [("gold_a",)]}
    assert any_member_run(entries, QRELS) == first_member_run(entries)


def test_hit_at_k_needs_one_gold_tool_in_the_top_k() -> None:
    run = {"q": ["x1", "x2", "gold_b"], "missing": ["gold_a"]}
    assert hits(run, QRELS, 3) == {"q": 1.0}
    assert hits(run, QRELS, 2) == {"q": 0.0}
    assert hits({"q": ["judged_out"]}, QRELS) == {"q": 0.0}
    assert hits(run, QRELS, 3)["q"] >= per_query(run, QRELS)["q"]["recall@5"] == pytest.approx(0.5)
