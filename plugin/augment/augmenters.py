"""Query augmenters: each a small named function from the first retrieval to extra query vectors and texts,
declared once in :data:`AUGMENTERS` with what it needs.

An augmenter returns an :class:`Augmentation`: ``vectors`` searched densely and ``texts`` searched with BM25
(an empty side means "the original query's retrieval"). :mod:`hopscout.augment.stage` runs them and always
fuses the result with the original retrieval; augmenters never replace the query.

LLM-free: ``rocchio`` (vector pseudo-relevance feedback over the first retrieval's top-3 stored embeddings,
β 0.5) and ``rm3`` (the top passages' most weighted terms added to the query). Caller-supplied: ``expansion``
(text an agent or MCP client passes). LLM: ``hyde`` (a hypothetical passage, its embedding averaged with the
query's as in Gao et al. 2022), ``query2doc`` (query + generated passage for both retrievers, the query
repeated for BM25 as in Wang et al. 2023), ``multi_query`` (2–3 LLM rephrasings, each retrieved and fused),
``keywords`` (LLM-written expansion terms added to the query).

Adding one: a function ``(AugmentInput) -> Augmentation`` and an :class:`AugmenterSpec` line below."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..analysis import WORD, analyze, term_set
from ..embedders import Embedder
from ..errors import InvalidArgumentError
from ..index import CollectionIndex, StoredDoc
from ..llm import CachedLLM
from ..llm.replay import KEYWORDS, PASSAGE, REPHRASINGS
from ..llm.replies import clean_passage, parse_list
from ..vectors import unit

PROMPT_VERSION = "v1"
PRF_DOCS = 3
ROCCHIO_BETA = 0.5
RM3_TERMS = 10
QUERY2DOC_REPEAT = 5
PASSAGE_TOKENS = 96
REPHRASE_TOKENS = 96
KEYWORD_TOKENS = 64


@dataclass
class AugmentInput:
    """What an augmenter may use: the query, its vector, the first retrieval's ranked ids, the collection,
    the stored top passages its spec asked for (``feedback``), the LLM and the caller's expansion text."""

    query: str
    vector: np.ndarray
    top_ids: Sequence[str]
    index: CollectionIndex
    embedder: Embedder
    feedback: dict[str, StoredDoc] = field(default_factory=dict)
    llm: CachedLLM | None = None
    expansion: str | None = None

    def complete(self, task: str, prompt: str, max_tokens: int, json_mode: bool = False) -> str:
        """The LLM's (cached) reply about this query; only called by augmenters whose spec says ``needs_llm``.
        ``task`` names what is asked (:mod:`hopscout.llm.replay`'s task names), so recorded replies can answer."""
        if self.llm is None:
            raise InvalidArgumentError("this augmenter needs an LLM (set HOPSCOUT_LLM_BASE_URL)")
        return self.llm.complete(
            task, PROMPT_VERSION, prompt, subject=self.query, max_tokens=max_tokens, json_mode=json_mode
        )


@dataclass
class Augmentation:
    """Extra dense query vectors and BM25 query texts; ``llm_calls`` the completions it needed."""

    vectors: list[np.ndarray] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    llm_calls: int = 0


# -- LLM-free ------------------------------------------------------------------------------------------
def rocchio(inp: AugmentInput) -> Augmentation:
    """``q + β·mean(top-3 passage vectors)``, from the collection's stored embeddings (no re-encoding)."""
    ids = [i for i in inp.top_ids[:PRF_DOCS] if i in inp.feedback and inp.feedback[i].embedding is not None]
    vectors = [np.asarray(inp.feedback[i].embedding, dtype=np.float32) for i in ids]
    if not vectors:
        return Augmentation()
    return Augmentation(vectors=[unit(inp.vector + ROCCHIO_BETA * np.mean(vectors, axis=0))])


def rm3(inp: AugmentInput) -> Augmentation:
    """The query plus the top passages' ``RM3_TERMS`` heaviest new terms (tf/len · rank weight · idf)."""
    query_terms = term_set(inp.query)
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    for rank, doc_id in enumerate(i for i in inp.top_ids[:PRF_DOCS] if i in inp.feedback):
        words = WORD.findall(inp.feedback[doc_id].text)
        terms = [(t, w) for w in words for t in analyze(w)]
        if not terms:
            continue
        share = 1.0 / (rank + 1) / len(terms)
        for term, word in terms:
            if term in query_terms or len(term) < 3 or term.isdigit():
                continue
            weights[term] = weights.get(term, 0.0) + share
            surface.setdefault(term, word.lower())
    if not weights:
        return Augmentation()
    total = inp.index.indexed_count() or 1
    freqs = inp.index.doc_freqs(list(weights))
    scored = {t: w * math.log(1 + total / (1 + freqs.get(t, 0))) for t, w in weights.items()}
    best = sorted(scored, key=lambda t: (-scored[t], t))[:RM3_TERMS]
    return Augmentation(texts=[f"{inp.query} {' '.join(surface[t] for t in best)}"])


def expansion(inp: AugmentInput) -> Augmentation:
    """The caller's own expansion text appended to the query, for both retrievers."""
    if not inp.expansion or not inp.expansion.strip():
        raise InvalidArgumentError(
            "augmenter 'expansion' needs expansion='...' text (the caller's own expansion)"
        )
    text = f"{inp.query} {' '.join(inp.expansion.split())}"
    return Augmentation(vectors=[unit(inp.embedder.embed_queries([text])[0])], texts=[text])


# -- LLM ---------------------------------------------------------------------------------------------------
def _passage_prompt(query: str) -> str:
    return (
        "Write a short passage (3-4 sentences) that answers the question or request below, as an encyclopedia "
        f"or documentation page would. Answer with the passage only.\n\nQuestion: {query.strip()}"
    )


def hyde(inp: AugmentInput) -> Augmentation:
    """A hypothetical answer passage; its document embedding averaged with the query's (HyDE)."""
    passage = clean_passage(inp.complete(PASSAGE, _passage_prompt(inp.query), PASSAGE_TOKENS))
    if not passage:
        return Augmentation(llm_calls=1)
    doc_vec = inp.embedder.embed_documents([passage])[0]
    return Augmentation(vectors=[unit((np.asarray(doc_vec) + inp.vector) / 2.0)], llm_calls=1)


def query2doc(inp: AugmentInput) -> Augmentation:
    """Query + generated passage: one dense query, and for BM25 the query repeated so it keeps its weight."""
    passage = clean_passage(inp.complete(PASSAGE, _passage_prompt(inp.query), PASSAGE_TOKENS))
    if not passage:
        return Augmentation(llm_calls=1)
    dense_text = f"{inp.query} {passage}"
    lexical_text = " ".join([inp.query] * QUERY2DOC_REPEAT + [passage])
    return Augmentation(
        vectors=[unit(inp.embedder.embed_queries([dense_text])[0])], texts=[lexical_text], llm_calls=1
    )


def _keywords_prompt(query: str) -> str:
    return (
        "List 6 to 12 search keywords or short phrases that documents answering the query below would contain "
        "(synonyms, technical terms, likely answer words).\n"
        'Answer only JSON: {"keywords": ["...", "..."]}\n\n'
        f"Query: {query.strip()}"
    )


def keywords(inp: AugmentInput) -> Augmentation:
    """The query plus LLM-written expansion keywords (query expansion), for both retrievers."""
    reply = inp.complete(KEYWORDS, _keywords_prompt(inp.query), KEYWORD_TOKENS, json_mode=True)
    terms = parse_list(reply, limit=12, exclude=inp.query, min_words=1)
    if not terms:
        return Augmentation(llm_calls=1)
    text = f"{inp.query} {' '.join(terms)}"
    return Augmentation(vectors=[unit(inp.embedder.embed_queries([text])[0])], texts=[text], llm_calls=1)


def _rephrase_prompt(query: str) -> str:
    return (
        "Rewrite the search query below in 3 different ways, using other words for the same need.\n"
        'Answer only JSON: {"queries": ["...", "...", "..."]}\n\n'
        f"Query: {query.strip()}"
    )


def multi_query(inp: AugmentInput) -> Augmentation:
    """2–3 LLM rephrasings of the query, each searched by both retrievers (fused afterwards)."""
    reply = inp.complete(REPHRASINGS, _rephrase_prompt(inp.query), REPHRASE_TOKENS, json_mode=True)
    rephrased = parse_list(reply, limit=3, exclude=inp.query)
    if not rephrased:
        return Augmentation(llm_calls=1)
    vectors = [unit(v) for v in inp.embedder.embed_queries(rephrased)]
    return Augmentation(vectors=vectors, texts=list(rephrased), llm_calls=1)


# -- the registry ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AugmenterSpec:
    """An augmenter and what it needs: an LLM, the caller's ``expansion=`` text, or the first retrieval's top
    passages (``feedback``: their stored ``embeddings`` or ``texts``; pseudo-relevance feedback)."""

    name: str
    run: Callable[[AugmentInput], Augmentation]
    needs_llm: bool = False
    caller_text: bool = False
    feedback: Literal["embeddings", "texts"] | None = None

    @property
    def prf(self) -> bool:
        """Pseudo-relevance feedback: it reads the first retrieval's top passages."""
        return self.feedback is not None


AUGMENTERS: dict[str, AugmenterSpec] = {
    spec.name: spec
    for spec in (
        AugmenterSpec("rocchio", rocchio, feedback="embeddings"),
        AugmenterSpec("rm3", rm3, feedback="texts"),
        AugmenterSpec("expansion", expansion, caller_text=True),
        AugmenterSpec("hyde", hyde, needs_llm=True),
        AugmenterSpec("query2doc", query2doc, needs_llm=True),
        AugmenterSpec("multi_query", multi_query, needs_llm=True),
        AugmenterSpec("keywords", keywords, needs_llm=True),
    )
}


def get_augmenter(name: Any) -> AugmenterSpec:
    """The augmenter called ``name``; raises InvalidArgumentError listing the valid names."""
    try:
        return AUGMENTERS[name]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"Unknown augmenter {name!r}; choose one of {sorted(AUGMENTERS)}"
        ) from None
