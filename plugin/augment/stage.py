"""The augment stage of a search: first retrieval, gate, augmenter, augmented retrieval, fusion with the original.

The first retrieval is the ordinary one (:class:`~hopscout.retrieval.FirstRetrieval`), with both retrievers at
the candidate depth so the gate can compare them. The gate reads its confidence signals; augmented queries run
the augmenter, retrieve again with its vectors/texts, and the augmented ranking is fused with the original
(convex, min-max, share :data:`AUGMENT_SHARE`) — the original is never replaced. LLM failures never raise: the
query keeps its original ranking and its hits carry a note."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import fusion
from ..errors import InvalidArgumentError, LLMUnavailableError
from ..filters import Where
from ..index import StoredDoc
from ..llm import CachedLLM
from ..retrieval import Candidates, FirstRetrieval, Ranked, Row
from ..retrieval.confidence import COVERAGE_DEPTH, load_confidence, query_confidence
from ..retrieval.options import ResolvedSearch
from ..settings import AUGMENT_POLICIES, Settings
from .augmenters import PRF_DOCS, Augmentation, AugmenterSpec, AugmentInput, get_augmenter
from .gate import ConfidenceGate, Gate, load_gate

AUGMENT_SHARE = 0.5
_log = logging.getLogger("hopscout.augment")
LLMSource = Callable[[], "CachedLLM | None"]


@dataclass
class Outcome:
    """One query's result: the final ranking, whether it was augmented, LLM calls and a note."""

    ranking: list[tuple[str, float]]
    augmented: bool
    aug_scores: dict[str, float] = field(default_factory=dict)
    llm_calls: int = 0
    note: str | None = None


def check_policy(augment: Any) -> str:
    """``augment`` if it names a policy (:data:`~hopscout.settings.AUGMENT_POLICIES`), else InvalidArgumentError."""
    if augment not in AUGMENT_POLICIES:
        raise InvalidArgumentError(f"augment must be one of {list(AUGMENT_POLICIES)}, got {augment!r}")
    return str(augment)


class AugmentPlan(NamedTuple):
    """How a search augments: its policy (:data:`~hopscout.settings.AUGMENT_POLICIES`) and augmenter."""

    policy: str
    spec: AugmenterSpec


def resolve(
    settings: Settings, augment: str | None, augmenter: str | None, expansion: str | None
) -> AugmentPlan:
    """The policy and augmenter a call uses (caller expansion text implies the ``expansion`` augmenter)."""
    if expansion is not None and (not isinstance(expansion, str) or not expansion.strip()):
        raise InvalidArgumentError("expansion must be a non-empty string of text to add to the query")
    if expansion is not None and augmenter not in (None, "expansion"):
        raise InvalidArgumentError(f"expansion= text goes with augmenter='expansion', not {augmenter!r}")
    spec = get_augmenter("expansion" if expansion is not None else augmenter or settings.augmenter)
    if spec.caller_text and expansion is None:
        raise InvalidArgumentError(
            f"augmenter {spec.name!r} needs expansion='...' text (the caller's own expansion)"
        )
    policy = augment if augment is not None else ("always" if expansion is not None else settings.augment)
    return AugmentPlan(check_policy(policy), spec)


def _augment_one(spec: AugmenterSpec, inp: AugmentInput) -> tuple[Augmentation | None, str | None]:
    """Run the augmenter for one query; None and a note when it cannot (no or failing LLM)."""
    if spec.needs_llm and inp.llm is None:
        return (
            None,
            f"augmenter {spec.name!r} needs an LLM (set HOPSCOUT_LLM_BASE_URL): original retrieval kept",
        )
    try:
        return spec.run(inp), None
    except LLMUnavailableError as exc:
        _log.warning("augmentation skipped: %s", exc)
        return None, f"augmenter {spec.name!r} fell back to the original retrieval: {exc}"


def _augmented_scores(
    first: FirstRetrieval,
    firsts: Sequence[Candidates],
    augs: Sequence[Augmentation | None],
    mode: str,
    weight: float,
    depth: int,
    where: Where | None,
) -> list[dict[str, float] | None]:
    """Per query: the augmented retrieval's ``{id: score}`` in the search mode (None when not augmented)."""
    index = first.index
    vectors = [(q, v) for q, a in enumerate(augs) if a for v in a.vectors] if mode != "lexical" else []
    texts = [(q, t) for q, a in enumerate(augs) if a for t in a.texts] if mode != "dense" else []
    dense_rows = (
        index.dense(np.stack([v for _, v in vectors]), depth, where, documents=False) if vectors else []
    )
    lexical_rows = index.lexical_search_many([t for _, t in texts], depth, where) if texts else []
    dense_aug: dict[int, dict[str, float]] = {}
    for (q, _), rows in zip(vectors, dense_rows):
        best = dense_aug.setdefault(q, {})
        for match in rows:
            best[match.id] = max(best.get(match.id, -1.0), match.score)
    lexical_aug: dict[int, dict[str, float]] = {}
    for (q, _), lrows in zip(texts, lexical_rows):
        best = lexical_aug.setdefault(q, {})
        top = lrows[0][1] if lrows and lrows[0][1] > 0 else 1.0
        for i, s in lrows:
            best[i] = max(best.get(i, 0.0), s / top)
    out: list[dict[str, float] | None] = []
    for q, (cands, aug) in enumerate(zip(firsts, augs)):
        if aug is None or (q not in dense_aug and q not in lexical_aug):
            out.append(None)
            continue
        merged = Candidates(
            query=cands.query,
            vector=cands.vector,
            dense_scores=dense_aug.get(q, cands.dense_scores),
            lexical_scores=lexical_aug.get(q, cands.lexical_scores),
        )
        out.append(dict(merged.ranking(mode, weight)))
    return out


def _nothing_to_search(spec: AugmenterSpec, mode: str, aug: Augmentation) -> str:
    """Why an augmenter that ran left the query's ranking as it was (said on the hits, never silent)."""
    if aug.texts and not aug.vectors and mode == "dense":
        why = "it adds BM25 query terms, which dense mode does not search"
    elif aug.vectors and not aug.texts and mode == "lexical":
        why = "it adds query vectors, which lexical mode does not search"
    elif spec.needs_llm:
        why = "the LLM's reply held no usable text"
    else:
        why = "the first retrieval gave it nothing to feed back"
    return f"augmenter {spec.name!r} changed nothing ({why}): original retrieval kept"


def augment_batch(
    first: FirstRetrieval,
    firsts: Sequence[Candidates],
    decide: Sequence[bool],
    spec: AugmenterSpec,
    *,
    mode: str,
    weight: float,
    depth: int,
    where: Where | None,
    llm: LLMSource,
    expansion: str | Sequence[str | None] | None = None,
) -> list[Outcome]:
    """Augment the queries ``decide`` marks and fuse with the original; the others keep their first ranking.

    ``llm`` is asked for the model only when an LLM augmenter has a query to augment. ``expansion`` is the
    caller's text for every query, or one text per query."""
    texts = [expansion] * len(firsts) if expansion is None or isinstance(expansion, str) else list(expansion)
    model = llm() if spec.needs_llm and any(decide) else None
    feedback: dict[str, StoredDoc] = {}
    if spec.feedback and any(decide):
        top = sorted({i for c, d in zip(firsts, decide) if d for i, _ in c.ranking(mode, weight)[:PRF_DOCS]})
        feedback = first.index.get(top, embeddings=spec.feedback == "embeddings")
    augs: list[Augmentation | None] = []
    notes: list[str | None] = []
    for cands, chosen, text in zip(firsts, decide, texts):
        aug, note = None, None
        if chosen:
            vector = (
                cands.vector if cands.vector is not None else first.embedder.embed_queries([cands.query])[0]
            )
            inp = AugmentInput(
                query=cands.query,
                vector=vector,
                top_ids=[i for i, _ in cands.ranking(mode, weight)],
                index=first.index,
                embedder=first.embedder,
                feedback=feedback,
                llm=model,
                expansion=text,
            )
            aug, note = _augment_one(spec, inp)
        augs.append(aug)
        notes.append(note)
    aug_maps = _augmented_scores(first, firsts, augs, mode, weight, depth, where)
    outcomes = []
    for cands, aug, aug_map, note in zip(firsts, augs, aug_maps, notes):
        base = cands.ranking(mode, weight)
        llm_calls = aug.llm_calls if aug else 0
        if aug_map is None:
            note = note or (_nothing_to_search(spec, mode, aug) if aug is not None else None)
            outcomes.append(Outcome(base, False, llm_calls=llm_calls, note=note))
        else:
            fused = fusion.convex(dict(base), aug_map, AUGMENT_SHARE)  # the original is fused, never replaced
            outcomes.append(Outcome(fused, True, aug_map, llm_calls=llm_calls, note=note))
    return outcomes


class AugmentStage:
    """Search with adaptive augmentation. Scores: ``augmented`` (1.0 or 0.0), the first retrieval's ``dense`` and
    ``lexical``, and ``augmentation`` (the augmented retrieval's score) where it ran; notes for fallbacks."""

    def __init__(
        self,
        first: FirstRetrieval,
        opts: ResolvedSearch,
        weight: float,
        *,
        plan: AugmentPlan,
        llm: LLMSource,
        gate: Gate | ConfidenceGate | None = None,
    ) -> None:
        self.first = first
        self.opts = opts
        self.policy = plan.policy
        self.spec = plan.spec
        self.mode = opts.mode
        self.k = opts.k
        self.weight = weight  # opts.fusion_weight, or the collection's calibrated one
        self.depth = opts.depth
        self.where = opts.where
        self.expansion = opts.expansion
        self.llm = llm
        self.gate = gate

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        auto = self.policy == "auto"
        firsts = self.first.run(
            queries, mode=self.mode, depth=self.depth, where=self.where, both=True, with_signals=auto
        )
        gate: Gate | ConfidenceGate | None = None
        if self.policy == "never":
            decide = [False] * len(firsts)
        elif self.policy == "always":
            decide = [True] * len(firsts)
        else:
            index = self.first.index
            metadata = index.last_metadata or index.metadata()
            gate = self.gate or load_gate(metadata, self.spec.name, self.mode)
            confidence = None
            if isinstance(gate, ConfidenceGate):
                rankings = [c.ranking(self.mode, self.weight) for c in firsts]
                ids = sorted({i for ranking in rankings for i, _ in ranking[:COVERAGE_DEPTH]})
                texts = {i: doc.text for i, doc in index.get(ids).items()}
                confidence = query_confidence(load_confidence(metadata), firsts, rankings, texts)
            decide = gate.decide([c.features or [] for c in firsts], confidence)
        outcomes = augment_batch(
            self.first,
            firsts,
            decide,
            self.spec,
            mode=self.mode,
            weight=self.weight,
            depth=self.depth,
            where=self.where,
            llm=self.llm,
            expansion=self.expansion,
        )
        waiting = None
        if gate is not None and gate.source == "uncalibrated":
            waiting = (
                f"augment='auto' with {self.spec.name!r} augments nothing until a gate is calibrated for this "
                f"collection (hopscout calibrate DIR --augment --augmenter {self.spec.name})"
            )
        return [Ranked(c, self._rows(c, o), note=o.note or waiting) for c, o in zip(firsts, outcomes)]

    def _rows(self, c: Candidates, outcome: Outcome) -> list[Row]:
        rows = []
        for doc_id, score in outcome.ranking[
            : max(self.k, self.depth)
        ]:  # beyond k: rows the passage prior may lift
            parts: dict[str, float] = {"augmented": float(outcome.augmented)}
            if doc_id in c.dense_scores:
                parts["dense"] = c.dense_scores[doc_id]
            if doc_id in c.lexical_scores:
                parts["lexical"] = c.lexical_scores[doc_id]
            if outcome.augmented:
                parts["augmentation"] = outcome.aug_scores.get(doc_id, 0.0)
            rows.append(Row(doc_id, score, parts))
        return rows
