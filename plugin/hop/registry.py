"""Every hop operator, declared once with its properties: the level it works at (``text``: a BM25 query from
the passage's words; ``embedding``: a query vector from the question's and passage's vectors) and whether it
carries trained weights (loaded per embedder). Adding an operator: a function in :mod:`.operators` (or an
architecture in :mod:`.learned`) and one :class:`OperatorSpec` line in :data:`OPERATORS`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InvalidArgumentError
from . import operators
from .learned import HopModel, weights_path
from .types import HopOperator


@dataclass(frozen=True)
class OperatorSpec:
    """A hop operator and its properties; ``run`` is None for trained ones (see :meth:`load`)."""

    name: str
    level: Literal["text", "embedding"]
    run: HopOperator | None = None
    trained: bool = False
    phrases: bool = False  # reads the passage's key phrases and their vectors (hopscout.hop.phrases)

    @property
    def text_level(self) -> bool:
        """Reads passages only: its hop needs no query or passage vectors."""
        return self.level == "text"

    @property
    def passage_vectors(self) -> bool:
        """Reads the passage's stored vector (embedding-level operators that do not read phrases)."""
        return self.level == "embedding" and not self.phrases

    def load(self, embedder_id: str, dim: int, home: Path) -> HopOperator:
        """The runnable operator; trained ones load their weights for this embedder (refusing another's)."""
        if self.run is not None:
            return self.run
        path = weights_path(self.name, embedder_id, home)
        if not path.exists():
            raise InvalidArgumentError(
                f"No {self.name!r} hop weights for embedder {embedder_id!r} (looked for {path}); run "
                f"`hopscout train-hop --arch {self.name}` or use hop_operator='identity', 'mix' or 'entity'."
            )
        return HopModel.load(path, embedder_id, dim)

    def available(self, embedder_id: str, home: Path) -> bool:
        """Whether it can run with this embedder (trained ones need weights for it)."""
        return not self.trained or weights_path(self.name, embedder_id, home).exists()


OPERATORS: dict[str, OperatorSpec] = {
    spec.name: spec
    for spec in (
        OperatorSpec("identity", "embedding", operators.identity),
        OperatorSpec("mix", "embedding", operators.mix),
        OperatorSpec("entity", "text", operators.entity),
        OperatorSpec("bridge", "text", operators.bridge),
        OperatorSpec("phrase", "embedding", operators.phrase, phrases=True),
        OperatorSpec("bridge_phrase", "embedding", operators.bridge_phrase, phrases=True),
        OperatorSpec("learned", "embedding", trained=True),
        OperatorSpec("treehop", "embedding", trained=True),
    )
}


def get_operator(name: str) -> OperatorSpec:
    """The operator called ``name``; raises InvalidArgumentError listing the valid names."""
    try:
        return OPERATORS[name]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"Unknown hop operator {name!r}; choose one of {sorted(OPERATORS)}"
        ) from None
