"""All of hopscout's settings in one place: constructor arguments or ``HOPSCOUT_*`` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import InvalidSettingError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# The vocabularies of a search, declared once: options, faces and evaluations read them from here.
SearchMode = Literal["dense", "lexical", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
AugmentPolicy = Literal["never", "always", "auto"]  # which queries are augmented (auto: where the gate says)
AUGMENT_POLICIES: tuple[AugmentPolicy, ...] = get_args(AugmentPolicy)
LLM_AUGMENTER = "query2doc"  # the augmenter auto uses when an LLM is configured (the larger gain on SciFact)


class Settings(BaseSettings):
    """Runtime configuration. Each field reads ``HOPSCOUT_<FIELD>`` (e.g. ``HOPSCOUT_HOME``) when not passed."""

    model_config = SettingsConfigDict(env_prefix="HOPSCOUT_", extra="forbid", validate_default=True)

    home: Path = Field(
        default=Path("~/.hopscout"),
        description="Where the embedded Chroma store, the lexical indexes and caches live.",
    )
    store: str = Field(
        default="chroma",
        description="Vector store backend (hopscout.store.BACKENDS): chroma, embedded or a `chroma run` server.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server started with `chroma run` (e.g. http://127.0.0.1:8000). "
        "Unset: an embedded PersistentClient under HOME/chroma.",
    )
    chroma_token: str | None = Field(
        default=None, description="Bearer token for a Chroma server that needs one."
    )
    collection: str = Field(default="default", description="Collection used when a call names none.")
    embedder: str = Field(
        default=DEFAULT_EMBEDDER,
        description="`all-MiniLM-L6-v2` (bundled, offline), a sentence-transformers model name or local path, "
        "or `openai:<model>` for an OpenAI-compatible /v1/embeddings endpoint.",
    )
    embeddings_url: str | None = Field(
        default=None, description="Base URL of the OpenAI-compatible embeddings endpoint (with /v1)."
    )
    embeddings_api_key: str | None = Field(default=None, description="API key for the embeddings endpoint.")
    query_prefix: str = Field(default="", description="Text put before every query (e5: 'query: ').")
    document_prefix: str = Field(default="", description="Text put before every document (e5: 'passage: ').")
    batch_size: int = Field(default=64, ge=1, le=4096, description="Texts per embedding batch.")
    chunk_tokens: int = Field(default=200, ge=16, le=8192, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(default=32, ge=0, le=4096, description="Tokens shared by consecutive chunks.")
    search_mode: SearchMode = Field(default="hybrid", description="dense, lexical or hybrid.")
    fusion_weight: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Lexical weight in hybrid fusion. Unset: the collection's calibrated weight, else 0.5.",
    )
    candidates: int = Field(
        default=50, ge=1, le=10_000, description="Candidates each retriever gives hybrid fusion (at least k)."
    )
    max_k: int = Field(default=1000, ge=1, description="Largest k a search accepts.")
    max_query_chars: int = Field(
        default=8000,
        ge=1,
        description="Longest query, and longest `expansion` text of a search, accepted, in characters.",
    )
    max_document_chars: int = Field(
        default=100_000,
        ge=1,
        description="Longest document text `add` accepts, in characters; a longer text is refused "
        "(ingest a file instead: it is cut into chunks).",
    )
    max_file_bytes: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest file ingest reads, in bytes (PDFs included); a larger file is skipped and "
        "reported, never read.",
    )
    sync_interval: float = Field(
        default=0.0,
        ge=0.0,
        description="Seconds between checks that the lexical index matches Chroma (0 = every search). "
        "Raise it when many processes share a Chroma server and a second of staleness is fine.",
    )
    lexical_backend: Literal["auto", "fts5", "tantivy"] = Field(
        default="auto",
        description="The BM25 index: tantivy (on-disk segments: writes visible after a commit, no rebuild, shared "
        "by every process by memory map) or fts5 (SQLite, with an in-memory snapshot rebuilt after writes on "
        "collections of 20K+ documents); auto is tantivy, but a collection with only an FTS5 copy (made before "
        "tantivy was the default) keeps it. Each keeps its own files, so switching copies the index from the "
        "store again.",
    )
    encoder: Literal["auto", "onnx", "torch"] = Field(
        default="auto",
        description="How sentence-transformers models run: onnx (exported once to a local ONNX file under "
        "~/.cache/hopscout, run by onnxruntime, no torch at search time), torch, or auto (onnx for the bundled "
        "model, falling back to torch with a note if the export or onnxruntime fails; torch for other models).",
    )
    device: str = Field(default="cpu", description="Torch device for sentence-transformers models.")
    allow_downloads: bool = Field(
        default=False,
        description="Let sentence-transformers fetch a model from the Hugging Face hub. Off: nothing downloads.",
    )

    # -- multi-hop ------------------------------------------------------------------------------------
    hop_operator: str = Field(
        default="bridge_phrase",
        description="Hop operator for hops > 1: bridge_phrase (bridge and phrase fused), phrase, identity, mix, "
        "learned or treehop (embedding-level), bridge or entity (text-level BM25).",
    )
    index_phrases: bool = Field(
        default=True,
        description="Encode each written passage's key phrases (up to 8) for the phrase hops; off: a passage "
        "gets them on its first hop instead (an encode at search time).",
    )
    hop_beam: int = Field(
        default=3, ge=1, le=50, description="Passages of each layer that spawn a next query."
    )
    hop_fill: float = Field(
        default=0.3, ge=0.0, le=0.9, description="Share of the k result slots that later hops may fill."
    )

    # -- adaptive query augmentation -------------------------------------------------------------------
    augment: AugmentPolicy = Field(
        default="never",
        description="Query augmentation: never, always, or auto (the cascade: only queries whose first "
        "retrieval is unsure are augmented, and the augmented list is kept, fused or dropped by what the two "
        "retrievals say). Unset: auto when HOPSCOUT_LLM_BASE_URL is set, else never. rocchio/rm3 augment "
        "nothing under auto until `hopscout calibrate DIR --augment` has fitted a gate.",
    )
    augmenter: str = Field(
        default="rocchio",
        description="Augmenter for augment=always/auto: rocchio or rm3 (LLM-free), hyde, query2doc or "
        "multi_query (need HOPSCOUT_LLM_BASE_URL), expansion (caller text). Unset: query2doc when "
        "HOPSCOUT_LLM_BASE_URL is set, else rocchio.",
    )

    # -- LLM (optional; every feature has an LLM-free fallback) -------------------------------------------
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible base URL with /v1 (Ollama http://127.0.0.1:11434/v1, vLLM, llama.cpp, "
        "OpenAI). Unset: no LLM calls; features fall back to their LLM-free paths.",
    )
    llm_model: str = Field(default="default", description="Model name sent to the LLM endpoint.")
    llm_api_key: str | None = Field(default=None, description="API key for the LLM endpoint.")
    llm_timeout: float = Field(
        default=10.0, gt=0, le=600, description="Seconds before an LLM call is abandoned."
    )
    llm_max_retries: int = Field(
        default=1, ge=0, le=5, description="Retries after a failed LLM call (with backoff)."
    )
    llm_max_tokens: int = Field(
        default=128, ge=1, le=4096, description="Cap on the tokens an LLM call may generate."
    )
    tools_collection: str = Field(default="tools", description="Collection that holds the tool catalog.")

    # -- hostile tools and passages (hopscout.suspicion, hopscout.tools.guard) ------------------------------
    flagged_demotion: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Score multiplier for a passage, or a tool of an untrusted server, that reads as a word "
        "list, repeats itself or speaks to the agent (1 = no demotion; flags are still shown).",
    )
    server_share: float = Field(
        default=0.6,
        gt=0.0,
        le=1.0,
        description="Most of the k find_tools slots one untrusted server may take, unless asked for alone.",
    )
    group_tools: bool = Field(
        default=True,
        description="find_tools shows equivalent tools of different servers as one entry, the others as its "
        "alternatives (hopscout.tools.grouping), so k entries cover k functions.",
    )

    @model_validator(mode="before")
    @classmethod
    def _augment_with_llm(cls, values: Any) -> Any:
        """With an LLM configured and no augmentation asked for, ``auto`` with ``query2doc`` (issue 29)."""
        if isinstance(values, dict) and str(values.get("llm_base_url") or "").strip():
            values.setdefault("augment", "auto")
            values.setdefault("augmenter", LLM_AUGMENTER)
        return values

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return Path(value).expanduser()

    @field_validator("chroma_url", "embeddings_url", "llm_base_url")
    @classmethod
    def _strip_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip().rstrip("/")


def load_settings(**values: Any) -> Settings:
    """:class:`Settings` from keyword values and ``HOPSCOUT_*`` variables; a bad value is an
    :class:`~hopscout.errors.InvalidSettingError` naming the variable (or keyword), the value and what it accepts,
    instead of pydantic's multi-line report."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise InvalidSettingError(describe_validation_error(exc, values)) from None


def describe_validation_error(exc: ValidationError, given: Mapping[str, Any] | None = None) -> str:
    """One line per bad field: ``HOPSCOUT_MAX_K='abc': Input should be a valid integer``."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        label = name if given and name in given else f"HOPSCOUT_{name.upper()}"
        if error["type"] == "extra_forbidden":
            problems.append(
                f"unknown setting {label} (see `hopscout --help` and the README's settings table)"
            )
            continue
        problems.append(f"{label}={error.get('input')!r}: {error['msg']}")
    return "; ".join(problems)
