"""Fitting and measuring the order detector (:mod:`hopscout.orders`) on real honest texts and generated orders.

Honest sets, each a list of whole texts (a tool: its description and every description in its schema, one per
line; a document: its abstract): MetaTool's tools, Seal-Tools' tools (the in- and out-of-domain sets share one
catalog), ``livemcp_catalog``'s 527 real MCP tools, SciFact's abstracts; and, learned from but not held to the
false-flag target, MetaTool's descriptions written for the model (honest text that does address the agent).
Hostile: the sentences of each family of :mod:`hopscout.evaluation.order_texts`.

:func:`leave_one_out` reports what generalises: each family's recall by a detector fitted without that family,
and each honest set's false-flag share by a detector fitted without that set."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..orders import OrderDetector
from .order_texts import ORDER_FAMILIES, order_sentences, order_texts

HONEST_SETS = {
    "metatool": "tools/metatool",
    "seal": "tools/seal_out_domain",
    "livemcp": "tools/livemcp_catalog",
    "scifact": "text/beir_scifact",
    # MetaTool's descriptions written *for the model* (ChatGPT plugins): honest text that does address the agent
    # ("use it when the user asks for ..."), the nearest honest neighbour of an order
    "metatool_model": "tools/metatool",
}
TRAIN_ONLY = ("metatool_model",)  # learned from, not held to the false-flag target
TRAIN_PER_FAMILY = 1500  # hostile sentences per family (seed 0); measured on whole texts of another seed
MEASURE_PER_FAMILY = 500
MEASURE_SEED = 1


def _descriptions(node: Any) -> Iterator[str]:
    """Every description/title string in a JSON schema (nested properties, items, $defs...)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("description", "title", "api_description") and isinstance(value, str):
                yield value
            else:
                yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


def _tool_text(row: Mapping[str, Any]) -> str:
    meta = row.get("metadata") or {}
    schema = meta.get("schema")
    if schema is not None:
        parts = list(_descriptions(schema))
    else:
        parts = [meta.get("description") or row.get("text", "")]
    return "\n".join(p.strip() for p in parts if p and p.strip())


def honest_texts(data: Path, name: str) -> list[str]:
    """The whole texts of one honest set under ``data`` (``../shared/data``)."""
    if name not in HONEST_SETS:
        raise InvalidArgumentError(f"unknown honest set {name!r}; choose one of {', '.join(HONEST_SETS)}")
    path = data / HONEST_SETS[name] / "corpus.jsonl"
    if not path.is_file():
        raise InvalidArgumentError(f"{path} is missing: point --data at the folder holding tools/ and text/")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    if name == "metatool_model":
        texts = [
            ((row.get("metadata") or {}).get("plugin_info") or {}).get("description_for_model") or ""
            for row in rows
        ]
    else:
        texts = [row.get("text", "") if name == "scifact" else _tool_text(row) for row in rows]
    return [t for t in texts if t.strip()]


def fit_detector(
    data: Path,
    exclude_family: str | None = None,
    exclude_sets: Sequence[str] = (),
    *,
    honest: Mapping[str, list[str]] | None = None,
) -> OrderDetector:
    """A detector fitted on every honest set but ``exclude_sets`` and every family but ``exclude_family``."""
    sets = honest or {name: honest_texts(data, name) for name in HONEST_SETS}
    families = [f for f in ORDER_FAMILIES if f != exclude_family]
    kept = [name for name in sets if name not in exclude_sets and name not in TRAIN_ONLY]
    return OrderDetector.fit(
        [sets[name] for name in kept],
        [order_sentences(f, TRAIN_PER_FAMILY, 0) for f in families],
        extra_honest=[
            t for name in TRAIN_ONLY if name in sets and name not in exclude_sets for t in sets[name]
        ],
        card={
            "honest_sets": kept,
            "train_only": [name for name in TRAIN_ONLY if name in sets and name not in exclude_sets],
            "families": families,
            "per_family": TRAIN_PER_FAMILY,
        },
    )


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / max(1, len(flags)), 4)


def leave_one_out(data: Path, log: Any = None) -> dict[str, Any]:
    """Recall per held-out family and false-flag share per held-out honest set, plus the full fit's in-sample
    figures."""
    sets = {name: honest_texts(data, name) for name in HONEST_SETS}
    measured = {f: order_texts(f, MEASURE_PER_FAMILY, MEASURE_SEED) for f in ORDER_FAMILIES}
    report: dict[str, Any] = {"family_recall": {}, "set_false_flags": {}, "in_sample": {}}
    for family in ORDER_FAMILIES:
        detector = fit_detector(data, exclude_family=family, honest=sets)
        report["family_recall"][family] = _share(detector.flags(measured[family]))
        if log:
            log(f"held out {family}: recall {report['family_recall'][family]}")
    for name, texts in sets.items():
        detector = fit_detector(data, exclude_sets=(name,), honest=sets)
        report["set_false_flags"][name] = _share(detector.flags(texts))
        if log:
            log(f"held out {name}: false flags {report['set_false_flags'][name]} of {len(texts)}")
    full = fit_detector(data, honest=sets)
    report["in_sample"] = {
        **{f: _share(full.flags(texts)) for f, texts in measured.items()},
        **{name: _share(full.flags(texts)) for name, texts in sets.items()},
        "threshold": round(full.threshold, 4),
    }
    return report
