"""``hopscout eval confidence DIR``: how well the confidence estimates tell found from not found, in one run.

Per judged query the first retrieval is run once (hybrid, the cross-fitted fusion weight). The confidence
(P(top hit relevant)) is scored twice: ``auroc_top1`` — does it rank queries whose top hit is relevant above those
whose top hit is not; ``auroc_answerable`` — does it rank each query above the same query over the collection
without its relevant documents (simulated by removing them from the candidate lists: dense scores of the others
do not change, BM25's IDF barely does); ``ece`` — expected calibration error on the real queries (10 bins).
Calibrated figures are 2-fold cross-fitted by query position (the models fitted on one half score the other);
the shipped defaults are scored as they are (``default``). Per-hit relevance is scored on every top-10 hit.

A lexical search (BM25 alone: its query is not encoded) has models of its own, on BM25's features; the report
scores them the same way under ``lexical``.

``python -m hopscout.evaluation.confidence_eval [--lexical] DIR [DIR ...]`` fits the defaults on the pooled sets
and prints them (how :data:`hopscout.retrieval.confidence.DEFAULT_CONFIDENCE` and ``DEFAULT_LEXICAL_CONFIDENCE``
were made)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..calibration import ConfidenceData, confidence_data, fit_confidence
from ..logistic import auroc, expected_calibration_error
from ..retrieval.confidence import ConfidenceModels, load_confidence
from ..scout import Scout, engine_of
from .datasets import load_dataset
from .folds import SPLIT, halves
from .harness import cross_fitted_weights, index_dataset

Log = Callable[[str], None]


def collect(
    folder: str | Path,
    scout: Scout,
    limit: int | None = None,
    log: Log = lambda _: None,
    mode: str = "hybrid",
) -> ConfidenceData:
    """The labelled confidence features of the set in ``folder`` (indexed into the eval store if needed), of a
    ``mode`` search (hybrid; lexical for the models of a search that reads BM25 alone)."""
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    _, queries, relevant = dataset.judged(limit)
    engine = engine_of(scout)
    weights: list[float] | None = None  # a lexical ranking has no fusion weight
    if mode != "lexical":
        _, weights, _ = cross_fitted_weights(engine, collection, queries, relevant, log)
    log(f"confidence features of {len(queries)} {mode} queries ...")
    return confidence_data(engine, collection, queries, relevant, weights, mode=mode)


def _predict(
    models: ConfidenceModels, data: ConfidenceData, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The models' confidence for ``rows`` (real and removed) and relevance for their hits."""
    p, p_removed = models.query_probability(data.queries[rows]), models.query_probability(data.removed[rows])
    hits = np.isin(data.hit_query, rows)
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
    position = {int(r): n for n, r in enumerate(rows)}
    hit_rows = data.hits[hits].copy()
    hit_rows[:, 0] = [logit[position[int(q)]] for q in data.hit_query[hits]]
    return p, p_removed, models.hit_probability(hit_rows)


def _scores(
    p: np.ndarray,
    p_removed: np.ndarray,
    hit_p: np.ndarray,
    data: ConfidenceData,
    rows: np.ndarray,
    hits: np.ndarray,
) -> dict[str, float]:
    y = data.top_relevant[rows]
    return {
        "auroc_top1": auroc(p, y),
        "auroc_answerable": auroc(np.concatenate([p, p_removed]), np.r_[np.ones(len(p)), np.zeros(len(p))]),
        "ece": expected_calibration_error(p, y),
        "hit_auroc": auroc(hit_p, data.hit_relevant[hits]),
        "hit_ece": expected_calibration_error(hit_p, data.hit_relevant[hits]),
    }


def evaluate(data: ConfidenceData, *, lexical: bool = False) -> dict[str, Any]:
    """Cross-fitted calibrated figures (the report's ``results``) and the shipped defaults' (``default``);
    ``lexical``: of the models that read BM25 alone (``data`` gathered with ``mode="lexical"``)."""
    n = len(data.queries)
    every = np.arange(n)
    p, p_removed = np.zeros(n), np.zeros(n)
    hit_p = np.zeros(len(data.hits))
    for part in halves(n):
        rows = np.asarray(part, dtype=int)
        if not len(rows):
            continue
        models = fit_confidence(data, np.setdiff1d(every, rows), lexical=lexical)
        p[rows], p_removed[rows], hit_p[np.isin(data.hit_query, rows)] = _predict(models, data, rows)
    hits = np.ones(len(data.hits), dtype=bool)
    shipped = load_confidence({}, lexical=lexical)
    default = _scores(*_predict(shipped, data, every), data, every, hits)
    return {
        "results": _scores(p, p_removed, hit_p, data, every, hits),
        "default": default,
        "top1_relevant": float(data.top_relevant.mean()),
        "queries": n,
        "split": SPLIT,
    }


def run_confidence_eval(
    folder: str | Path, scout: Scout, *, limit: int | None = None, log: Log = lambda _: None
) -> dict[str, Any]:
    """Evaluate the confidence estimates on the set in ``folder``; returns the JSON-ready report: the hybrid
    search's models at the top level, a lexical search's (BM25 alone) under ``lexical``."""
    report = evaluate(collect(folder, scout, limit, log))
    lexical = evaluate(collect(folder, scout, limit, log, mode="lexical"), lexical=True)
    return {"dataset": load_dataset(folder).name, **report, "lexical": lexical}


def format_confidence_report(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_confidence_eval`'s report."""
    lines = [
        (
            f"{report['dataset']}: {report['queries']} queries, top hit relevant for "
            f"{100 * report['top1_relevant']:.0f}%"
        ),
        f"{'models':<24}{'AUROC top1':>12}{'AUROC answerable':>18}{'ECE':>8}{'hit AUROC':>11}{'hit ECE':>9}",
    ]
    rows = [
        ("calibrated (cross-fit)", report["results"]),
        ("shipped defaults", report["default"]),
    ]
    if "lexical" in report:
        lexical = report["lexical"]
        rows += [("lexical, cross-fit", lexical["results"]), ("lexical, shipped", lexical["default"])]
    for label, row in rows:
        lines.append(
            f"{label:<24}{row['auroc_top1']:>12.3f}{row['auroc_answerable']:>18.3f}{row['ece']:>8.3f}"
            f"{row['hit_auroc']:>11.3f}{row['hit_ece']:>9.3f}"
        )
    if "lexical" in report:
        lines.append(
            f"lexical: a search that reads BM25 alone; its top hit relevant for "
            f"{100 * report['lexical']['top1_relevant']:.0f}%"
        )
    lines.append(f"calibrated: {report['split']}")
    return "\n".join(lines)


def fit_defaults(
    folders: Sequence[str | Path], scout: Scout, log: Log = lambda _: None, *, lexical: bool = False
) -> ConfidenceModels:
    """The confidence models fitted on the pooled labelled queries of ``folders`` (``lexical``: a lexical
    search's, on BM25's features alone)."""
    mode = "lexical" if lexical else "hybrid"
    parts = [collect(folder, scout, log=log, mode=mode) for folder in folders]
    offsets = np.cumsum([0] + [len(d.queries) for d in parts[:-1]])
    pooled = ConfidenceData(
        np.vstack([d.queries for d in parts]),
        np.concatenate([d.top_relevant for d in parts]),
        np.vstack([d.removed for d in parts]),
        np.vstack([d.hits for d in parts]),
        np.concatenate([d.hit_relevant for d in parts]),
        np.concatenate([d.hit_query + o for d, o in zip(parts, offsets)]),
    )
    return fit_confidence(pooled, lexical=lexical)


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    from ..settings import Settings

    args = sys.argv[1:]
    with Scout(home=Settings().home / "eval") as shared:  # the store `hopscout eval` indexes the sets into
        fitted = fit_defaults(
            [a for a in args if a != "--lexical"],
            shared,
            log=lambda m: print(m, file=sys.stderr),
            lexical="--lexical" in args,
        )
    print(json.dumps(json.loads(fitted.to_json()), indent=1))
