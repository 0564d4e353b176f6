"""Multi-hop retrieval (``Scout.search(..., hops=N)``): after a first retrieval, each of the top ``beam`` passages
spawns a next query through a **hop operator**, and the passages the next layer finds fill the last slots of
one merged ranked list. Operators are declared in :data:`OPERATORS`; :mod:`.stage` runs the loop."""

from .learned import ARCHITECTURES, HopModel, train_hop, trained_weights_path, weights_path
from .operators import bridge_entities
from .phrases import PassagePhrases, key_phrases
from .registry import OPERATORS, OperatorSpec, get_operator
from .stage import HopStage, fill_slots, merge
from .types import HopInput, HopOperator, HopQuery

__all__ = [
    "ARCHITECTURES",
    "OPERATORS",
    "HopInput",
    "HopModel",
    "HopOperator",
    "HopQuery",
    "HopStage",
    "OperatorSpec",
    "PassagePhrases",
    "bridge_entities",
    "fill_slots",
    "get_operator",
    "key_phrases",
    "merge",
    "train_hop",
    "trained_weights_path",
    "weights_path",
]
