"""What every face (MCP, LangChain, LlamaIndex) must show of a hit: the search that sets every field, and the
fields spelled out one by one (not through ``Hit.to_dict``, so the mapping itself is what gets checked)."""

from __future__ import annotations

from typing import Any

from hopscout import Hit

QUERY = "which planet is the hottest"
COLLECTION = "sample"
# A multi-hop search (hop, parent) with auto augmentation that no gate was calibrated for (a note), over the
# ingested sample corpus (source): every field of a hit is set.
FIELD_SEARCH: dict[str, Any] = {"hops": 2, "hop_operator": "mix", "augment": "auto", "augmenter": "rm3"}


def expected_fields(hit: Hit) -> dict[str, Any]:
    """A hit as one flat mapping: the document's own metadata, then hopscout's fields."""
    return {
        **hit.metadata,
        "id": hit.id,
        "score": hit.score,
        "scores": dict(hit.scores),
        "source": hit.source,
        "hop": hit.hop,
        "parent": hit.parent,
        "confidence": hit.confidence,
        "relevance": hit.relevance,
        "flags": list(hit.flags),
        "note": hit.note,
    }


def check_every_field_is_set(fields: list[dict[str, Any]]) -> None:
    """The search above set every field on the hits a face returned."""
    assert fields and all(f["source"] and f["id"] and f["scores"] for f in fields)
    assert all(0 < f["confidence"] < 1 and 0 < f["relevance"] < 1 for f in fields)
    assert len({f["confidence"] for f in fields}) == 1  # the search's, on every hit
    assert all(f["flags"] == [] for f in fields)  # the sample corpus reads as prose: nothing flagged
    assert all("calibrate" in f["note"] for f in fields)  # augment='auto' says why it augmented nothing
    assert {"augmented", "dense", "lexical", "hop_score"} <= set(fields[0]["scores"])
    later = [f for f in fields if f["hop"] == 2]
    assert later and all(f["parent"] in {g["id"] for g in fields if g["hop"] == 1} for f in later)
