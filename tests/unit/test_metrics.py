"""hopscout.metrics on hand-made runs: the trec_eval metrics, all@k, the mean and latency percentiles."""

from __future__ import annotations

import math

import pytest

from hopscout.metrics import METRICS, latency, mean, per_query


def test_per_query_metrics_of_one_relevant_document_at_rank_two() -> None:
    rows = per_query({"q": ["d1", "d2", "d3"]}, {"q": {"d2": 1}})
    assert rows["q"] == pytest.approx(
        {
            "ndcg@10": 1 / math.log2(3),
            "recall@1": 0.0,
            "recall@5": 1.0,
            "recall@10": 1.0,
            "all@5": 1.0,
            "all@10": 1.0,
            "mrr@10": 0.5,
        }
    )


def test_all_at_k_needs_every_relevant_document() -> None:
    run = {"q": ["d1", "x", "x2", "x3", "x4", "d2"]}
    row = per_query(run, {"q": {"d1": 1, "d2": 1, "d3": 0}})["q"]
    assert row["all@5"] == 0.0 and row["all@10"] == 1.0 and row["recall@5"] == pytest.approx(0.5)


def test_only_judged_queries_in_the_run_count_and_the_run_is_cut_at_k() -> None:
    rows = per_query(
        {"q": ["a", "b"], "unjudged": ["a"], "empty": []},
        {"q": {"b": 1}, "missing": {"a": 1}, "empty": {"a": 1}},
        k=1,
    )
    assert set(rows) == {"q", "empty"}
    assert rows["q"]["recall@5"] == 0.0 and rows["q"]["mrr@10"] == 0.0  # "b" is past k = 1
    assert rows["empty"]["ndcg@10"] == 0.0


def test_mean_and_latency() -> None:
    assert mean({}) == dict.fromkeys(METRICS, 0.0)
    averaged = mean({"a": dict.fromkeys(METRICS, 1.0), "b": dict.fromkeys(METRICS, 0.0)})
    assert averaged == dict.fromkeys(METRICS, 0.5)
    assert latency([40.0, 10.0, 30.0, 20.0]) == {"p50_ms": 25.0, "p95_ms": 40.0}
    assert latency([7.0]) == {"p50_ms": 7.0, "p95_ms": 7.0}
