"""Everything one search call may set, in one frozen value object: :class:`SearchOptions`.

``Scout.search(query, k, **options)`` builds it; each stage of the search pipeline reads the fields it needs.
:meth:`SearchOptions.resolve` fills the unset ones from :class:`~hopscout.settings.Settings` and checks the
generic ones (k, filter, mode, weight, hops, beam, fill); a stage checks its own names (hop operator,
augmenter). The ``agent`` text in a field's metadata is how every agent-facing search tool (MCP, LangChain,
LlamaIndex) describes that option to the calling model: one description for all of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import numpy as np

from ..errors import InvalidArgumentError, InvalidQueryError
from ..filters import Where, validate_where
from ..settings import SEARCH_MODES, AugmentPolicy, SearchMode, Settings

# Each face's default k, in one place. The faces import them from hopscout.
DEFAULT_SEARCH_K = 10  # Scout.search and the CLI: a person scans a page of ten results
DEFAULT_AGENT_K = 5  # an agent's tool (MCP search, search tools, tool selectors): each hit costs its context
DEFAULT_RETRIEVER_K = 4  # LangChain/LlamaIndex retrievers feeding a chain's prompt (LangChain's own default)
MAX_HOPS = 4
MAX_BEAM = 50
COLLECTION_WEIGHT: Literal["collection"] = "collection"  # the fusion weight calibrated on the collection
MAX_OPTION_CHARS = 512  # the longest collection name; hop operators, augmenters and modes are far shorter
_NAMES = ("mode", "collection", "hop_operator", "augment", "augmenter")

EXPANSION_HELP = (
    "Optional: your own expansion of the query, searched too and fused with the query's results (no "
    "LLM call): related terms, the likely answer's wording or a short hypothetical passage. Use it when "
    "the query is short or uses words the documents may not."
)
HOPS_HELP = (
    "Retrieval hops for questions whose answer spans several documents (bridge entities, comparisons): "
    "1 = plain search; 2-3 follow what the first passages point to. Leave unset for single-fact questions."
)
AUGMENT_HELP = (
    "Query augmentation with hopscout's configured augmenter (and LLM, when it has one): 'never', "
    "'always', or 'auto' (only where the collection's calibrated gate expects a gain). Leave unset for "
    "precise queries."
)


def _agent(text: str) -> dict[str, str]:
    return {"agent": text}


@dataclass(frozen=True)
class SearchOptions:
    """One search's options; ``None`` means "the setting" (``HOPSCOUT_*``, see :class:`Settings`)."""

    k: int = DEFAULT_SEARCH_K
    where: Where | None = None
    mode: SearchMode | None = None
    fusion_weight: float | None = None
    collection: str | None = None
    hops: int = field(default=1, metadata=_agent(HOPS_HELP))
    beam: int | None = None
    hop_operator: str | None = None
    hop_fill: float | None = None
    augment: AugmentPolicy | None = field(default=None, metadata=_agent(AUGMENT_HELP))
    augmenter: str | None = None
    expansion: str | None = field(default=None, metadata=_agent(EXPANSION_HELP))
    # not for agents: off only to measure what a stage costs (the poison evaluation turns the prior off)
    prior: bool = True  # the passage prior stage (retrieval/prior.py)
    confidence: bool = True  # the confidence estimate (retrieval/confidence.py)

    @classmethod
    def names(cls) -> frozenset[str]:
        """The option names ``Scout.search`` accepts besides the query."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def build(cls, k: Any, options: dict[str, Any]) -> SearchOptions:
        """From ``search(query, k, **options)``; an unknown option is an InvalidArgumentError naming the valid ones."""
        unknown = sorted(set(options) - cls.names())
        if unknown:
            raise InvalidArgumentError(
                f"search has no option {', '.join(map(repr, unknown))}; it accepts: "
                f"{', '.join(sorted(cls.names()))}"
            )
        built = cls(k=k, **options)
        built.check_inputs()  # before anything opens a collection; resolve checks them again
        return built

    @classmethod
    def agent_options(cls) -> list[dataclasses.Field[Any]]:
        """The options an agent chooses per query (they carry an ``agent`` description)."""
        return [f for f in dataclasses.fields(cls) if "agent" in f.metadata]

    def check_inputs(self) -> None:
        """The checks that need no settings: the filter (bounded, :mod:`hopscout.filters`) and the lengths of the
        named choices (an over-long one would only come back quoted in an error)."""
        for name in _NAMES:
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > MAX_OPTION_CHARS:
                raise InvalidArgumentError(
                    f"{name} is {len(value)} characters long; it names a choice of at most {MAX_OPTION_CHARS}"
                )
        validate_where(self.where)

    def resolve(self, settings: Settings) -> ResolvedSearch:
        """These options with settings filled in and the generic ones checked (InvalidArgumentError says which):
        what every stage of the pipeline reads. The augmenter's and hop operator's names are checked by their
        registries when the pipeline is built (:func:`hopscout.pipeline.build_pipeline`)."""
        self.check_inputs()
        check_expansion(self.expansion, settings)
        mode = self.mode or settings.search_mode
        if mode not in SEARCH_MODES:
            raise InvalidArgumentError(
                f"mode must be {', '.join(SEARCH_MODES[:-1])} or {SEARCH_MODES[-1]}, got {mode!r}"
            )
        hops, beam = self.hops, settings.hop_beam if self.beam is None else self.beam
        if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
            raise InvalidArgumentError(f"hops must be an integer from 1 to {MAX_HOPS}, got {hops!r}")
        if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
            raise InvalidArgumentError(f"beam must be an integer from 1 to {MAX_BEAM}, got {beam!r}")
        for name in ("prior", "confidence"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidArgumentError(f"{name} must be True or False, got {getattr(self, name)!r}")
        fill = settings.hop_fill if self.hop_fill is None else self.hop_fill
        if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not 0.0 <= fill <= 0.9:
            raise InvalidArgumentError(f"hop_fill must be a number from 0 to 0.9, got {fill!r}")
        weight = next((w for w in (self.fusion_weight, settings.fusion_weight) if w is not None), None)
        return ResolvedSearch(
            k=check_k(self.k, settings),
            where=validate_where(self.where),
            mode=mode,
            fusion_weight=COLLECTION_WEIGHT if weight is None else check_fusion_weight(weight),
            collection=self.collection or settings.collection,
            hops=hops,
            beam=beam,
            hop_operator=self.hop_operator or settings.hop_operator,
            hop_fill=float(fill),
            augmenting=self.expansion is not None or (self.augment or settings.augment) != "never",
            augment=self.augment,
            augmenter=self.augmenter,
            expansion=self.expansion,
            depth=settings.candidates,
            prior=self.prior,
            confidence=self.confidence,
        )


@dataclass(frozen=True)
class ResolvedSearch:
    """One search's options as the pipeline reads them: every setting filled in, the generic ones checked
    (:meth:`SearchOptions.resolve` makes it; stages read only the fields they need)."""

    k: int
    where: Where | None  # None: no filter
    mode: SearchMode
    fusion_weight: (
        float | Literal["collection"]
    )  # the call's or HOPSCOUT_FUSION_WEIGHT, else the collection's
    collection: str
    hops: int
    beam: int
    hop_operator: str
    hop_fill: float
    augmenting: bool  # caller text, or a policy but never: the augment stage runs
    augment: AugmentPolicy | None  # the caller's choices; augment.resolve turns them into a policy and spec
    augmenter: str | None
    expansion: str | None
    depth: int  # candidates per retriever (HOPSCOUT_CANDIDATES), in every stage
    prior: bool  # the passage prior stage (retrieval/prior.py)
    confidence: bool  # the confidence estimate (retrieval/confidence.py)


class SearchKwargs(TypedDict, total=False):
    """``**options`` of ``Scout.search`` for type checkers: the fields of :class:`SearchOptions` but ``k``."""

    where: Where | None
    mode: SearchMode | None
    fusion_weight: float | None
    collection: str | None
    hops: int
    beam: int | None
    hop_operator: str | None
    hop_fill: float | None
    augment: AugmentPolicy | None
    augmenter: str | None
    expansion: str | None
    prior: bool
    confidence: bool


def check_k(k: Any, settings: Settings) -> int:
    """``k`` as an int if it is one in 1..HOPSCOUT_MAX_K, else InvalidArgumentError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidArgumentError(f"k must be an integer, got {type(k).__name__}")
    if not 1 <= int(k) <= settings.max_k:
        raise InvalidArgumentError(f"k must be between 1 and {settings.max_k} (HOPSCOUT_MAX_K), got {k}")
    return int(k)


def check_expansion(expansion: Any, settings: Settings) -> None:
    """An ``expansion`` text is held to HOPSCOUT_MAX_QUERY_CHARS, as a query is (it is searched as one: the
    lexical search's cost grows with its words); else InvalidQueryError. Its other checks are the augmenter's."""
    limit = settings.max_query_chars
    if isinstance(expansion, str) and len(expansion) > limit:
        raise InvalidQueryError(
            f"expansion has {len(expansion)} characters, over the limit of {limit} (HOPSCOUT_MAX_QUERY_CHARS); "
            "give related terms or a short hypothetical passage, not a document"
        )


def check_fusion_weight(value: Any) -> float:
    """A lexical fusion weight in [0, 1], else InvalidArgumentError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise InvalidArgumentError(f"fusion_weight must be a number in [0, 1], got {value!r}")
    return float(value)


def check_text(
    text: Any, settings: Settings, what: str = "a query", hint: str = "say what to look for"
) -> str:
    """``text`` if it is a string, not blank and within HOPSCOUT_MAX_QUERY_CHARS, else InvalidQueryError whose
    message calls it ``what`` (the faces say "request") and ends with ``hint``, what to write instead."""
    if not isinstance(text, str):
        raise InvalidQueryError(f"{what} must be a string, got {type(text).__name__}: {text!r:.80}")
    if not text.strip():
        raise InvalidQueryError(f"{what} is empty or whitespace: {hint}")
    limit = settings.max_query_chars
    if len(text) > limit:
        raise InvalidQueryError(
            f"{what} has {len(text)} characters, over the limit of {limit} (HOPSCOUT_MAX_QUERY_CHARS); "
            "shorten it to the question itself"
        )
    return text


def check_queries(queries: Any, settings: Settings) -> list[str]:
    """A non-empty list of non-empty strings no longer than HOPSCOUT_MAX_QUERY_CHARS, else InvalidQueryError."""
    if isinstance(queries, str) or not isinstance(queries, Sequence):
        raise InvalidQueryError(f"queries must be a list of strings, got {type(queries).__name__}")
    if not queries:
        raise InvalidQueryError("queries is empty: pass at least one query")
    return [check_text(q, settings) for q in queries]
