"""Adaptive query augmentation: augment only the queries that need it.

Use it through ``Scout.search(query, augment="auto" | "always" | "never", augmenter=..., expansion=...)``.
Augmenters are declared in :data:`AUGMENTERS`; the gate (:mod:`.gate`) decides per query under ``auto``;
:func:`hopscout.calibration.calibrate_augment` fits it on labelled queries (``hopscout calibrate DIR
--augment``) and stores it with the collection."""

from .augmenters import AUGMENTERS, Augmentation, AugmenterSpec, get_augmenter
from .gate import (
    DEFAULT_GATE,
    META_GATE,
    PRF_UNCALIBRATED,
    ConfidenceGate,
    Gate,
    budget,
    default_gate,
    fit_gate,
    gates_metadata,
    load_gate,
)
from .stage import AugmentPlan, AugmentStage, Outcome, augment_batch, check_policy, resolve

__all__ = [
    "AUGMENTERS",
    "DEFAULT_GATE",
    "META_GATE",
    "PRF_UNCALIBRATED",
    "AugmentPlan",
    "AugmentStage",
    "Augmentation",
    "AugmenterSpec",
    "ConfidenceGate",
    "Gate",
    "Outcome",
    "augment_batch",
    "budget",
    "check_policy",
    "default_gate",
    "fit_gate",
    "gates_metadata",
    "get_augmenter",
    "load_gate",
    "resolve",
]
