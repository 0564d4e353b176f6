"""Confidence and relevance describe the list a search returns: with a flagged passage demoted below another,
the search's ``confidence`` is that of its new top hit and the demoted passage no longer rates most relevant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faces import FLAGGED_COLLECTION, FLAGGED_ID, QUERY, add_flagged

from hopscout import Hit, Scout, Settings


def _search(embedder: Any, home: Path, demotion: float, **options: Any) -> list[Hit]:
    with Scout(Settings(home=home, flagged_demotion=demotion), embedder=embedder) as scout:
        add_flagged(scout)
        return scout.search(QUERY, 4, collection=FLAGGED_COLLECTION, **options)


def test_confidence_and_relevance_follow_the_demotion(embedder: Any, tmp_path: Path) -> None:
    kept = _search(embedder, tmp_path / "kept", 1.0)
    demoted = _search(embedder, tmp_path / "demoted", 0.25)
    assert kept[0].id == FLAGGED_ID and kept[0].flags == ("instructions",)  # on top when not demoted
    assert demoted[0].id != FLAGGED_ID  # the demotion moved it down
    assert demoted[0].confidence != kept[0].confidence
    flagged = next(h for h in demoted if h.id == FLAGGED_ID)
    assert flagged.relevance is not None and demoted[0].relevance is not None
    assert flagged.relevance < demoted[0].relevance
    assert max(kept, key=lambda h: h.relevance or 0.0).id == FLAGGED_ID  # undemoted, it rates highest
    # the passage prior off: the list, and so the estimate, as with no demotion
    off = _search(embedder, tmp_path / "off", 0.25, prior=False)
    assert [(h.id, h.confidence, h.relevance) for h in off] == [
        (h.id, h.confidence, h.relevance) for h in kept
    ]
