"""Every key hopscout persists in a store, in one place, each with the module that owns it (writes it and is the
only one to give it meaning). Renaming one is a migration: collections written before keep the old key.

Three namespaces, all refused in user metadata (:data:`RESERVED_PREFIXES`, checked by :mod:`hopscout.documents`):
``hopscout:*`` on a collection's metadata, ``hs_*`` on each document, ``tool_*`` on a tool catalog's documents."""

from __future__ import annotations

RESERVED_PREFIXES = ("hs_", "hopscout:", "tool_")

# -- collection metadata ------------------------------------------------------------------------------------
META_EMBEDDER = (
    "hopscout:embedder"  # hopscout.index: the embedder's id; a collection is hopscout's if it has one
)
META_DIM = "hopscout:dim"  # hopscout.index: the vectors' dimension
META_VERSION = (
    "hopscout:version"  # hopscout.index: a fresh random stamp per write (lexical copies compare it)
)
META_SEQ = "hopscout:seq"  # hopscout.index: the write sequence number, one up per write
META_KIND = "hopscout:kind"  # hopscout.index: what a collection holds when it is not documents (KIND_TOOLS)
KIND_TOOLS = "tools"  # hopscout.tools: a tool catalog's, reachable only through the catalog
META_FUSION_WEIGHT = (
    "hopscout:fusion_weight"  # hopscout.engine: the calibrated lexical weight of hybrid search
)
META_CONFIDENCE = "hopscout:confidence"  # hopscout.retrieval.confidence: the calibrated confidence models
META_CONFIDENCE_LEXICAL = "hopscout:confidence_lexical"  # the same, of a search that reads BM25 alone
META_GATE = "hopscout:augment_gate"  # hopscout.augment.gate: the calibrated augmentation gates

# -- document metadata (every collection) ----------------------------------------------------------------------
HASH_KEY = "hs_hash"  # hopscout.index: hash of the text and metadata (detects updates)
SEQ_KEY = "hs_seq"  # hopscout.index: the sequence number of the write that stored the document
FLAGS_KEY = (
    "hs_flags"  # hopscout.engine: hostile-text signs read when written (hopscout.suspicion), comma-separated
)

# -- tool catalog documents (hopscout.tools) ------------------------------------------------------------------
TOOL_KEY = "tool_key"  # the tool's key, "server/name" (a view's too: which tool it describes)
TOOL_VIEW = "tool_view"  # what the document is: the tool's description or one request view of it
TOOL_HASH = "tool_hash"  # hash of what was indexed for the tool (a change re-indexes it)
TOOL_READ_ONLY = "tool_read_only"  # the readOnlyHint as published (trust decides what it is worth)
TOOL_NAME = "tool_name"  # the tool's own name
TOOL_NAMESPACE = "tool_namespace"  # the server it came from; absent for the catalog owner's own tools
TOOL_SPEC = "tool_spec"  # the whole tool as JSON (name, description, schema, annotations)
TOOL_JUDGED = "tool_judged"  # hopscout.tools.exposure: the tool's judgement when written, and by which judge
TOOL_VIEWS_HASH = "views_hash"  # on each request view: hash of the tool's views (a change re-embeds them)
TOOL_TRUST = "tool_trust"  # written by catalogs before trust became configuration; never read
