"""``Scout.search(..., augment=...)``: first retrieval, gate, augmenter, augmented retrieval, fusion with the original.

The first retrieval is the ordinary one (dense and BM25 candidates, fused as the mode says). The gate reads
its confidence signals; augmented queries run the augmenter, retrieve again with its vectors/texts, and the
augmented ranking is fused with the original (convex, min-max, share :data:`AUGMENT_SHARE`) — the original
is never replaced. LLM failures never raise: the query keeps its original ranking and its hits carry a note."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import fusion
from ..analysis import analyze
from ..errors import InvalidArgumentError, LLMUnavailableError
from ..filters import Where
from ..index import public_metadata
from ..types import Hit
from .augmenters import LLM_AUGMENTERS, PROMPT_VERSION, Augmentation, AugmentInput, get_augmenter
from .gate import Gate, load_gate, signals

if TYPE_CHECKING:
    from ..index import CollectionIndex
    from ..llm import LLM
    from ..scout import Scout

POLICIES = ("never", "always", "auto")
AUGMENT_SHARE = 0.5
_log = logging.getLogger("hopscout.augment")


@dataclass
class First:
    """One query's first retrieval: its vector, dense and BM25 candidates, and the mode's ranking."""

    query: str
    vector: np.ndarray
    dense: dict[str, float]
    lexical: dict[str, float]
    base: list[tuple[str, float]]
    features: list[float]


@dataclass
class Outcome:
    """One query's result: the final ranking, whether it was augmented, LLM calls, a note, timings (ms)."""

    ranking: list[tuple[str, float]]
    augmented: bool
    aug_scores: dict[str, float] = field(default_factory=dict)
    llm_calls: int = 0
    note: str | None = None
    augment_ms: float = 0.0


def check_policy(augment: Any) -> str:
    if augment not in POLICIES:
        raise InvalidArgumentError(f"augment must be one of {list(POLICIES)}, got {augment!r}")
    return str(augment)


def llm_for(scout: Scout) -> LLM | None:
    """The scout's LLM from HOPSCOUT_LLM_* settings (made once), or None when none is configured."""
    if "_augment_llm" not in scout.__dict__:
        from ..llm import LLMClient

        scout.__dict__["_augment_llm"] = LLMClient.from_settings(scout.settings)
    return scout.__dict__["_augment_llm"]


def first_retrieval(scout: Scout, index: CollectionIndex, queries: Sequence[str], mode: str, weight: float,
                    where: Where | None) -> tuple[list[First], dict[str, tuple[str, dict[str, Any]]]]:
    """Dense and BM25 candidates for every query (both always: the gate compares them), the mode's ranking."""
    n = scout.settings.candidates
    vectors = scout.embedder.embed_queries(list(queries))
    dense_rows = index.dense(vectors, n, where)
    lexical_rows = index.lexical.search_many(queries, n, where)
    docs = {i: (t, m) for rows in dense_rows for i, _, t, m in rows}
    total = index.lexical.count()
    terms = [sorted(set(analyze(q))) for q in queries]
    freqs = index.lexical.doc_freqs([t for ts in terms for t in ts])
    out = []
    for q, vec, drows, lrows, ts in zip(queries, vectors, dense_rows, lexical_rows, terms):
        d = {i: s for i, s, _, _ in drows}
        lx = dict(lrows)
        base = _combine(d, lx, mode, weight)
        feats = signals([s for _, s, _, _ in drows], [s for _, s in lrows], [i for i, *_ in drows],
                        [i for i, _ in lrows], [freqs.get(t, 0) for t in ts], total)
        out.append(First(q, np.asarray(vec, dtype=np.float32), d, lx, base, feats))
    return out, docs


def _combine(dense: dict[str, float], lexical: dict[str, float], mode: str, weight: float) -> list[tuple[str, float]]:
    if mode == "dense":
        return sorted(dense.items(), key=lambda item: (-item[1], item[0]))
    if mode == "lexical":
        return sorted(lexical.items(), key=lambda item: (-item[1], item[0]))
    return fusion.convex(dense, lexical, weight)


class _Generator:
    """LLM completions for augmenters, cached on disk by (kind, prompt version, model, prompt)."""

    def __init__(self, scout: Scout, llm: LLM) -> None:
        from ..tools.cache import LLMCache

        self.llm = llm
        self.cap = scout.settings.llm_max_tokens
        self.cache = scout.__dict__.get("_augment_cache")
        if self.cache is None:
            self.cache = scout.__dict__["_augment_cache"] = LLMCache(scout.settings.home / "cache" / "augment-llm.sqlite")
        self.model = f"{type(llm).__name__}:{getattr(llm, 'base_url', '')}:{getattr(llm, 'model', '')}"

    def __call__(self, kind: str, prompt: str, max_tokens: int, json_mode: bool) -> str:
        key = self.cache.key("augment", kind, PROMPT_VERSION, self.model, prompt)
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        text = self.llm.complete(prompt, max_tokens=min(max_tokens, self.cap), json_mode=json_mode)
        self.cache.put(key, [text])
        return text


def augment_one(scout: Scout, index: CollectionIndex, first: First, name: str, *, expansion: str | None,
                llm: LLM | None, stored: dict[str, Any] | None = None) -> tuple[Augmentation | None, str | None]:
    """Run augmenter ``name`` for one query; None and a note when it cannot (no or failing LLM)."""
    augmenter = get_augmenter(name)
    inp = AugmentInput(first.query, first.vector, [i for i, _ in first.base], index, scout.embedder, llm, expansion)
    if name in LLM_AUGMENTERS:
        if llm is None:
            return None, f"augmenter {name!r} needs an LLM (set HOPSCOUT_LLM_BASE_URL): original retrieval kept"
        inp.generate = _Generator(scout, llm)
        try:
            return augmenter(inp), None
        except LLMUnavailableError as exc:
            _log.warning("augmentation skipped: %s", exc)
            return None, f"augmenter {name!r} fell back to the original retrieval: {exc}"
    if name in ("rocchio", "rm3"):
        return augmenter(inp, stored), None
    return augmenter(inp), None


def augmented_scores(index: CollectionIndex, firsts: Sequence[First], augs: Sequence[Augmentation | None],
                     mode: str, weight: float, n: int, where: Where | None) -> list[dict[str, float] | None]:
    """Per query: the augmented retrieval's ``{id: score}`` in the search mode (None when not augmented)."""
    vectors = [(q, v) for q, a in enumerate(augs) if a for v in a.vectors] if mode != "lexical" else []
    texts = [(q, t) for q, a in enumerate(augs) if a for t in a.texts] if mode != "dense" else []
    dense_rows = index.dense(np.stack([v for _, v in vectors]), n, where) if vectors else []
    lexical_rows = index.lexical.search_many([t for _, t in texts], n, where) if texts else []
    dense_aug: dict[int, dict[str, float]] = {}
    for (q, _), rows in zip(vectors, dense_rows):
        best = dense_aug.setdefault(q, {})
        for i, s, _, _ in rows:
            best[i] = max(best.get(i, -1.0), s)
    lexical_aug: dict[int, dict[str, float]] = {}
    for (q, _), rows in zip(texts, lexical_rows):
        best = lexical_aug.setdefault(q, {})
        top = rows[0][1] if rows and rows[0][1] > 0 else 1.0
        for i, s in rows:
            best[i] = max(best.get(i, 0.0), s / top)
    out: list[dict[str, float] | None] = []
    for q, (first, aug) in enumerate(zip(firsts, augs)):
        if aug is None or (q not in dense_aug and q not in lexical_aug):
            out.append(None)
            continue
        d = dense_aug.get(q, first.dense)
        lx = lexical_aug.get(q, first.lexical)
        out.append(dict(_combine(d, lx, mode, weight)))
    return out


def fuse_with_original(base: Sequence[tuple[str, float]], aug: dict[str, float]) -> list[tuple[str, float]]:
    """The final ranking of an augmented query: the original and augmented rankings fused, never replaced."""
    return fusion.convex(dict(base), aug, AUGMENT_SHARE)


def resolve(scout: Scout, augment: str | None, augmenter: str | None, expansion: str | None) -> tuple[str, str]:
    """The policy and augmenter a call uses (caller expansion text implies the ``expansion`` augmenter)."""
    if expansion is not None and (not isinstance(expansion, str) or not expansion.strip()):
        raise InvalidArgumentError("expansion must be a non-empty string of text to add to the query")
    if expansion is not None and augmenter not in (None, "expansion"):
        raise InvalidArgumentError(f"expansion= text goes with augmenter='expansion', not {augmenter!r}")
    name = "expansion" if expansion is not None else augmenter or scout.settings.augmenter
    get_augmenter(name)
    if name == "expansion" and expansion is None:
        raise InvalidArgumentError("augmenter 'expansion' needs expansion='...' text (the caller's own expansion)")
    policy = augment if augment is not None else ("always" if expansion is not None else scout.settings.augment)
    return check_policy(policy), name


def augmented_search(
    scout: Scout, queries: Sequence[str], k: int, *, where: Where | None, mode: Any, fusion_weight: float | None,
    collection: str | None, augment: str | None, augmenter: str | None, expansion: str | None,
    gate: Gate | None = None,
) -> list[list[Hit]]:
    """Search with adaptive augmentation; hits say ``scores["augmented"]`` (1.0 or 0.0) and carry fallback notes."""
    policy, name = resolve(scout, augment, augmenter, expansion)
    mode = mode or scout.settings.search_mode
    if mode not in ("dense", "lexical", "hybrid"):
        raise InvalidArgumentError(f"mode must be dense, lexical or hybrid, got {mode!r}")
    index = scout._index(collection)
    index.sync()
    weight = scout._fusion_weight(index, fusion_weight)
    firsts, docs = first_retrieval(scout, index, queries, mode, weight, where)
    if policy == "never":
        decide = [False] * len(firsts)
    elif policy == "always":
        decide = [True] * len(firsts)
    else:
        gate = gate or load_gate(index.metadata(), name, mode)
        decide = gate.decide([f.features for f in firsts])
    outcomes = run_augmentation(scout, index, firsts, decide, name, mode, weight, where, expansion=expansion)
    if policy == "auto" and gate is not None and gate.source == "uncalibrated":
        note = (f"augment='auto' with {name!r} augments nothing until a gate is calibrated for this collection "
                f"(hopscout calibrate DIR --augment --augmenter {name})")
        for outcome in outcomes:
            outcome.note = outcome.note or note
    wanted = {i for o in outcomes for i, _ in o.ranking[:k]}
    missing = [i for i in wanted if i not in docs]
    docs.update({i: (t, m) for i, (t, m, _) in index.get(missing).items()})
    results = []
    for first, outcome in zip(firsts, outcomes):
        hits = []
        for doc_id, score in outcome.ranking[:k]:
            if doc_id not in docs:
                continue
            text, meta = docs[doc_id]
            parts: dict[str, float] = {"augmented": float(outcome.augmented)}
            if doc_id in first.dense:
                parts["dense"] = first.dense[doc_id]
            if doc_id in first.lexical:
                parts["lexical"] = first.lexical[doc_id]
            if outcome.augmented:
                parts["augmentation"] = outcome.aug_scores.get(doc_id, 0.0)
            hits.append(Hit(doc_id, text, float(score), public_metadata(meta), parts, note=outcome.note))
        results.append(hits)
    return results


def _nothing_to_search(name: str, mode: str, aug: Augmentation) -> str:
    """Why an augmenter that ran left the query's ranking as it was (said on the hits, never silent)."""
    if aug.texts and not aug.vectors and mode == "dense":
        why = "it adds BM25 query terms, which dense mode does not search"
    elif aug.vectors and not aug.texts and mode == "lexical":
        why = "it adds query vectors, which lexical mode does not search"
    elif name in LLM_AUGMENTERS:
        why = "the LLM's reply held no usable text"
    else:
        why = "the first retrieval gave it nothing to feed back"
    return f"augmenter {name!r} changed nothing ({why}): original retrieval kept"


def run_augmentation(scout: Scout, index: CollectionIndex, firsts: Sequence[First], decide: Sequence[bool], name: str,
                     mode: str, weight: float, where: Where | None, *, expansion: str | None = None,
                     llm: LLM | None = None) -> list[Outcome]:
    """Augment the queries ``decide`` marks and fuse with the original; the others keep their first ranking."""
    llm = llm if llm is not None else (llm_for(scout) if name in LLM_AUGMENTERS and any(decide) else None)
    stored = None
    if name in ("rocchio", "rm3") and any(decide):
        ids = sorted({i for f, d in zip(firsts, decide) if d for i, _ in f.base[:3]})
        stored = index.get(ids, embeddings=name == "rocchio")
    augs: list[Augmentation | None] = []
    notes: list[str | None] = []
    times: list[float] = []
    for first, chosen in zip(firsts, decide):
        start = time.perf_counter()
        aug, note = augment_one(scout, index, first, name, expansion=expansion, llm=llm, stored=stored) if chosen else (None, None)
        times.append((time.perf_counter() - start) * 1000)
        augs.append(aug)
        notes.append(note)
    start = time.perf_counter()
    aug_maps = augmented_scores(index, firsts, augs, mode, weight, scout.settings.candidates, where)
    retrieval_ms = (time.perf_counter() - start) * 1000 / max(1, sum(a is not None for a in augs))
    outcomes = []
    for first, aug, aug_map, note, ms in zip(firsts, augs, aug_maps, notes, times):
        if aug_map is None:
            note = note or (_nothing_to_search(name, mode, aug) if aug is not None else None)
            outcomes.append(Outcome(first.base, False, {}, aug.llm_calls if aug else 0, note, ms))
        else:
            outcomes.append(Outcome(fuse_with_original(first.base, aug_map), True, aug_map, aug.llm_calls, note,  # type: ignore[union-attr]
                                    ms + retrieval_ms))
    return outcomes
