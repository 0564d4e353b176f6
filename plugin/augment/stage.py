"""The augment stage of a search: first retrieval, gate, augmenter, augmented retrieval, fusion with the original.

The first retrieval is the ordinary one (:class:`~hopscout.retrieval.FirstRetrieval`), with both retrievers at
the candidate depth so the gate can compare them. Under ``auto`` the LLM augmenters run the cascade
(:mod:`.cascade`): queries whose first retrieval is confident return at once; the others are augmented and the
augmented list is kept, fused with the original or dropped by the judge. Under ``always`` (and a calibrated
gate) the augmented ranking is fused with the original (convex, min-max, share :data:`AUGMENT_SHARE`). Every
hit says what happened: ``scores["augmented"]`` (1.0 when the augmenter ran), ``scores["augment_share"]`` (the
augmented list's share of the ranking: 0 dropped, 0.5 fused, 1 kept) and, under ``auto``, the reason in words
in its ``note``.
LLM failures never raise: the query keeps its original ranking and its hits carry a note."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import fusion
from ..analysis import term_set
from ..errors import InvalidArgumentError, LLMUnavailableError
from ..filters import Where
from ..index import CollectionIndex, StoredDoc
from ..llm import CachedLLM
from ..retrieval import Candidates, FirstRetrieval, Ranked, Row
from ..retrieval.confidence import COVERAGE_DEPTH, ConfidenceModels, load_confidence, query_features
from ..retrieval.options import ResolvedSearch
from ..settings import AUGMENT_POLICIES, Settings
from .augmenters import PRF_DOCS, Augmentation, AugmenterSpec, AugmentInput, get_augmenter
from .cascade import Cascade, rbo
from .gate import Gate, load_gate

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
    aug_candidates: Candidates | None = None  # the augmented retrieval's candidates (with signals)
    share: float = 0.0  # the augmented list's share of ``ranking`` (0: the first ranking alone)
    reason: str | None = None  # why the query was (not) augmented and what became of it, in words


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


def _augmented_candidates(
    first: FirstRetrieval,
    firsts: Sequence[Candidates],
    augs: Sequence[Augmentation | None],
    mode: str,
    depth: int,
    where: Where | None,
) -> list[Candidates | None]:
    """Per query: the augmented retrieval's candidates, with signals (None when not augmented). A side the
    augmenter added nothing to keeps the first retrieval's list."""
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
        # on the first retrieval's BM25 scale (its top score), so the confidence read on the augmented list
        # compares with the first list's: a long expansion's raw BM25 scores are on another scale
        scale = max(firsts[q].lexical_scores.values(), default=0.0) or 1.0
        for i, s in lrows:
            best[i] = max(best.get(i, 0.0), scale * s / top)
    out: list[Candidates | None] = []
    for q, (cands, aug) in enumerate(zip(firsts, augs)):
        if aug is None or (q not in dense_aug and q not in lexical_aug):
            out.append(None)
            continue
        merged = Candidates(
            query=cands.query,
            vector=cands.vector,
            dense_scores=_best_first(dense_aug.get(q, cands.dense_scores)),
            lexical_scores=_best_first(lexical_aug.get(q, cands.lexical_scores)),
            term_idf=dict(cands.term_idf),
        )
        out.append(merged.with_signals())
    return out


def _best_first(scores: dict[str, float]) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


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
    merged = _augmented_candidates(first, firsts, augs, mode, depth, where)
    outcomes = []
    for cands, aug, aug_cands, note in zip(firsts, augs, merged, notes):
        base = cands.ranking(mode, weight)
        llm_calls = aug.llm_calls if aug else 0
        if aug_cands is None:
            note = note or (_nothing_to_search(spec, mode, aug) if aug is not None else None)
            outcomes.append(Outcome(base, False, llm_calls=llm_calls, note=note))
        else:
            aug_map = dict(aug_cands.ranking(mode, weight))
            fused = fusion.convex(dict(base), aug_map, AUGMENT_SHARE)  # the original is fused, never replaced
            outcomes.append(
                Outcome(fused, True, aug_map, llm_calls, note, aug_candidates=aug_cands, share=AUGMENT_SHARE)
            )
    return outcomes


def list_features(
    index: CollectionIndex, found: Sequence[Candidates], rankings: Sequence[Sequence[tuple[str, float]]]
) -> list[list[float]]:
    """The confidence features (:func:`~hopscout.retrieval.confidence.query_features`) of each ranked list."""
    ids = sorted({i for ranking in rankings for i, _ in ranking[:COVERAGE_DEPTH]})
    terms = {i: term_set(doc.text) for i, doc in index.get(ids).items()}
    return [query_features(c, ranking, terms) for c, ranking in zip(found, rankings)]


def judge_evidence(
    index: CollectionIndex,
    models: ConfidenceModels,
    firsts: Sequence[Candidates],
    outcomes: Sequence[Outcome],
    mode: str,
    weight: float,
) -> list[tuple[float, float]]:
    """Per augmented query: the augmented list's confidence and its agreement (RBO) with the first ranking."""
    if not outcomes:
        return []
    augs = [o.aug_candidates for o in outcomes]
    if any(a is None for a in augs):
        raise InvalidArgumentError("judge_evidence needs augmented outcomes")
    aug_cands = [a for a in augs if a is not None]
    aug_rankings = [a.ranking(mode, weight) for a in aug_cands]
    p = models.query_probability(list_features(index, aug_cands, aug_rankings))
    agreement = [
        rbo([i for i, _ in c.ranking(mode, weight)], [i for i, _ in r]) for c, r in zip(firsts, aug_rankings)
    ]
    return [(float(a), g) for a, g in zip(p, agreement)]


def _joined(*notes: str | None) -> str | None:
    said = [n for n in notes if n]
    return "; ".join(said) if said else None


def rerank(
    cands: Candidates, outcome: Outcome, share: float, mode: str, weight: float
) -> list[tuple[str, float]]:
    """The query's ranking with the augmented list at ``share`` (0: the first ranking; 1: the augmented one)."""
    base = cands.ranking(mode, weight)
    if not outcome.augmented or share <= 0.0:
        return base
    aug = sorted(outcome.aug_scores.items(), key=lambda item: (-item[1], item[0]))
    return aug if share >= 1.0 else fusion.convex(dict(base), outcome.aug_scores, share)


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
        gate: Gate | Cascade | None = None,
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
        gate: Gate | Cascade | None = None
        confidence: list[float] | None = None
        models = None
        if self.policy == "never":
            decide = [False] * len(firsts)
        elif self.policy == "always":
            decide = [True] * len(firsts)
        else:
            index = self.first.index
            metadata = index.last_metadata or index.metadata()
            gate = self.gate or load_gate(metadata, self.spec.name, self.mode)
            if isinstance(gate, Cascade):
                models = load_confidence(metadata)
                rankings = [c.ranking(self.mode, self.weight) for c in firsts]
                confidence = list(models.query_probability(list_features(index, firsts, rankings)))
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
        if isinstance(gate, Cascade) and confidence is not None and models is not None:
            outcomes = self._judged(gate, models, firsts, outcomes, confidence)
        waiting = None
        if gate is not None and gate.source == "uncalibrated":
            waiting = (
                f"augment='auto' with {self.spec.name!r} augments nothing until a gate is calibrated for this "
                f"collection (hopscout calibrate DIR --augment --augmenter {self.spec.name})"
            )
        return [
            Ranked(c, self._rows(c, o), note=_joined(o.reason, o.note or waiting))
            for c, o in zip(firsts, outcomes)
        ]

    def _judged(
        self,
        cascade: Cascade,
        models: ConfidenceModels,
        firsts: Sequence[Candidates],
        outcomes: list[Outcome],
        confidence: Sequence[float],
    ) -> list[Outcome]:
        """The outcomes with each augmented list kept, fused or dropped by the cascade's verdict."""
        judged = [n for n, o in enumerate(outcomes) if o.augmented and o.aug_candidates is not None]
        evidence = judge_evidence(
            self.first.index,
            models,
            [firsts[n] for n in judged],
            [outcomes[n] for n in judged],
            self.mode,
            self.weight,
        )
        for n, o in enumerate(outcomes):
            if not o.augmented:
                o.reason = (
                    cascade.first_reason(confidence[n]) if not cascade.should_augment(confidence[n]) else None
                )
        for n, (aug_confidence, agreement) in zip(judged, evidence):
            verdict = cascade.judge(confidence[n], aug_confidence, agreement)
            o = outcomes[n]
            o.ranking = rerank(firsts[n], o, verdict.share, self.mode, self.weight)
            o.share, o.reason = verdict.share, verdict.reason
        return outcomes

    def _rows(self, c: Candidates, outcome: Outcome) -> list[Row]:
        rows = []
        for doc_id, score in outcome.ranking[
            : max(self.k, self.depth)
        ]:  # beyond k: rows the passage prior may lift
            parts: dict[str, float] = {
                "augmented": float(outcome.augmented),
                "augment_share": outcome.share,
            }
            if doc_id in c.dense_scores:
                parts["dense"] = c.dense_scores[doc_id]
            if doc_id in c.lexical_scores:
                parts["lexical"] = c.lexical_scores[doc_id]
            if outcome.augmented:
                parts["augmentation"] = outcome.aug_scores.get(doc_id, 0.0)
            rows.append(Row(doc_id, score, parts))
        return rows
