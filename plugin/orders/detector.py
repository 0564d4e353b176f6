"""The order detector: a logistic model over sentence features; a text is flagged when any sentence is."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from .cues import NAMES
from .features import NGRAM_SCALE, rows, width
from .reading import sentences

FORMAT = 1
# 8,192 n-gram buckets: few collisions over the words orders use; the weights file stays ~30 kB
HASH_BITS = 13
L2 = 1.0  # left at 1: the n-gram scale (features.NGRAM_SCALE) is what was set leave-one-family-out
# share of each honest training set allowed above the threshold, the strictest set deciding (0.5 at least);
# set on the clean sets: held-out sets then land at or under ~1% except livemcp (see orders_train's report)
FALSE_FLAG_TARGET = 0.003


@dataclass(frozen=True)
class OrderDetector:
    """``P(order | sentence) = sigmoid(features · weights + bias)``; a text's probability is its most
    order-like sentence's; a text is flagged at ``threshold``. ``card`` says how it was fitted."""

    weights: np.ndarray
    bias: float
    threshold: float
    hash_bits: int = HASH_BITS
    card: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weights.shape != (width(self.hash_bits),):
            raise InvalidArgumentError(
                f"order detector weights have shape {self.weights.shape}, expected ({width(self.hash_bits)},): "
                "run `hopscout train-orders` again"
            )

    @cached_property
    def fingerprint(self) -> str:
        """What the detector flags is decided by this: a hash of its weights, bias, threshold and hashing (a
        judgement stored with a tool names the detector that made it)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.weights, dtype=np.float64).tobytes())
        digest.update(repr((float(self.bias), float(self.threshold), int(self.hash_bits))).encode())
        return digest.hexdigest()[:16]

    def sentence_probabilities(self, units: Sequence[str]) -> np.ndarray:
        """Probability for each already-split, lower-cased sentence."""
        if not units:
            return np.zeros(0)
        z = rows(units, self.hash_bits).dot(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """For each text, the probability of its most order-like sentence (0 for an empty text)."""
        split = [sentences(t) for t in texts]
        flat = [s for parts in split for s in parts]
        p = self.sentence_probabilities(flat)
        out, at = [], 0
        for parts in split:
            out.append(float(p[at : at + len(parts)].max()) if parts else 0.0)
            at += len(parts)
        return out

    def flags(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text holds a sentence addressed to the agent."""
        return [p >= self.threshold for p in self.probabilities(texts)]

    def flagged_sentences(self, text: str) -> list[str]:
        """The sentences of ``text`` (as read) that are flagged: why a text was flagged."""
        parts = sentences(text)
        return [s for s, p in zip(parts, self.sentence_probabilities(parts)) if p >= self.threshold]

    @classmethod
    def fit(
        cls,
        honest: Sequence[Sequence[str]],
        hostile: Sequence[Sequence[str]],
        *,
        l2: float = L2,
        hash_bits: int = HASH_BITS,
        false_flag_target: float = FALSE_FLAG_TARGET,
        card: dict[str, object] | None = None,
        extra_honest: Sequence[str] = (),
    ) -> OrderDetector:
        """Fit on ``honest`` groups of whole texts (a tool set, a document set: each group weighs the same) and
        ``hostile`` groups of order sentences (one group per family). The threshold is the honest texts'
        ``1 - false_flag_target`` quantile of the strictest group (never below 0.5). ``extra_honest``: honest
        texts learned from but left out of the threshold (descriptions written for the model, which may order)."""
        from .fitting import fit_sparse_logistic

        groups_in = [*honest, extra_honest] if extra_honest else list(honest)
        honest_units = [sorted({s for t in group for s in sentences(t)}) for group in groups_in]
        hostile_units = [[s for t in group for s in sentences(t)] for group in hostile]
        if not any(honest_units) or not any(hostile_units):
            raise InvalidArgumentError("fitting an order detector needs honest texts and hostile sentences")
        honest_units = [g for g in honest_units if g]
        groups = honest_units + [g for g in hostile_units if g]
        units = [s for g in groups for s in g]
        labels = np.concatenate(
            [np.full(len(g), float(i >= len(honest_units))) for i, g in enumerate(groups)]
        )
        n_honest = len(honest_units)
        n_hostile = len(groups) - n_honest
        # every group weighs the same within its class, and the two classes weigh the same
        weight = np.concatenate(
            [
                np.full(len(g), 1.0 / len(g) / (n_hostile if i >= n_honest else n_honest))
                for i, g in enumerate(groups)
            ]
        )
        weights, bias = fit_sparse_logistic(rows(units, hash_bits), labels, weight * len(units) / 2, l2=l2)
        draft = cls(weights, bias, 0.5, hash_bits)
        # the strictest set decides: a small set of real tools counts as much as a large one
        threshold = max(
            0.5,
            *(
                float(np.quantile(draft.probabilities(group), 1.0 - false_flag_target))
                for group in honest
                if group
            ),
        )
        info = {
            "format": FORMAT,
            "l2": l2,
            "ngram_scale": NGRAM_SCALE,
            "false_flag_target": false_flag_target,
            **(card or {}),
        }
        return cls(weights, bias, threshold, hash_bits, info)

    def save(self, path: Path) -> None:
        """Write the weights (``.npz``, no pickle) and a JSON card beside them."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, weights=self.weights.astype(np.float32))
        card = {**self.card, "bias": self.bias, "threshold": self.threshold, "hash_bits": self.hash_bits}
        path.with_suffix(".json").write_text(json.dumps({**card, "cues": list(NAMES)}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> OrderDetector:
        """Read what :meth:`save` wrote; InvalidArgumentError when it is missing or from another format."""
        try:
            card = json.loads(path.with_suffix(".json").read_text())
            with np.load(path) as data:
                weights = data["weights"].astype(np.float64)
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidArgumentError(
                f"order detector {path} is unreadable ({exc}): run `hopscout train-orders`"
            ) from exc
        if (card.get("format"), card.get("cues"), card.get("ngram_scale")) != (
            FORMAT,
            list(NAMES),
            NGRAM_SCALE,
        ):
            raise InvalidArgumentError(
                f"order detector {path} was written for other features: run `hopscout train-orders`"
            )
        rest = {k: v for k, v in card.items() if k not in ("bias", "threshold", "hash_bits", "cues")}
        return cls(weights, float(card["bias"]), float(card["threshold"]), int(card["hash_bits"]), rest)
