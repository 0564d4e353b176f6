"""Adaptive query augmentation: augment only the queries that need it.

Use it through ``Scout.search(query, augment="auto" | "always" | "never", augmenter=..., expansion=...)``.
Augmenters are declared in :data:`AUGMENTERS`; under ``auto`` the LLM augmenters run the cascade
(:mod:`.cascade`: augment the unsure queries, then keep, fuse or drop the augmented list) and PRF a gate
(:mod:`.gate`) decides per query;
:func:`hopscout.calibration.calibrate_augment` fits it on labelled queries (``hopscout calibrate DIR
--augment``) and stores it with the collection."""

from .augmenters import AUGMENTERS, Augmentation, AugmenterSpec, get_augmenter
from .cascade import DEFAULT_CASCADE, REASK_BELOW, Cascade, Verdict, fit_cascade, rbo
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
    "DEFAULT_CASCADE",
    "DEFAULT_GATE",
    "META_GATE",
    "PRF_UNCALIBRATED",
    "REASK_BELOW",
    "AugmentPlan",
    "AugmentStage",
    "Augmentation",
    "AugmenterSpec",
    "Cascade",
    "ConfidenceGate",
    "Gate",
    "Outcome",
    "Verdict",
    "augment_batch",
    "budget",
    "check_policy",
    "default_gate",
    "fit_cascade",
    "fit_gate",
    "gates_metadata",
    "get_augmenter",
    "load_gate",
    "rbo",
    "resolve",
]
