"""Text that addresses the agent: orders, secrecy, requests for secrets or other tools' data, claims that other
tools are broken, claims of priority. :func:`current_detector` is what :func:`hopscout.suspicion.has_instructions`
asks; :func:`using` swaps in another (the evaluation's detector fitted without the family it measures)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from ..resources import package_path
from .detector import OrderDetector

SHIPPED = "order_detector.npz"
_override: ContextVar[OrderDetector | None] = ContextVar("hopscout_order_detector", default=None)


@cache
def default_detector() -> OrderDetector:
    """The shipped detector (fitted on every honest set and every order family by ``hopscout train-orders``)."""
    return OrderDetector.load(package_path("orders", SHIPPED))


def current_detector() -> OrderDetector:
    """The detector set by :func:`using` in this context, else :func:`default_detector`."""
    return _override.get() or default_detector()


@contextmanager
def using(detector: OrderDetector) -> Iterator[OrderDetector]:
    """Within the block (this thread or task only), :func:`current_detector` is ``detector``."""
    token = _override.set(detector)
    try:
        yield detector
    finally:
        _override.reset(token)


__all__ = ["SHIPPED", "OrderDetector", "current_detector", "default_detector", "using"]
