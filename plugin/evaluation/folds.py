"""2-fold cross-fitting by query position, shared by every eval that fits something on labelled queries.

Queries are split into even and odd positions; what is fitted on one half (a fusion weight, a gate) scores the
other half, so no query is scored by a fit that saw it. One split for all evals keeps their figures comparable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

SPLIT = "2-fold by query position: even rows are scored with what was fitted on odd rows, and back"


def halves(n: int) -> tuple[list[int], list[int]]:
    """The even and odd positions of ``n`` queries."""
    return list(range(0, n, 2)), list(range(1, n, 2))


def cross_fit(n: int, fit: Callable[[list[int]], T]) -> tuple[list[T], tuple[T, T]]:
    """Per query, ``fit`` of the other half's positions; also (the fit for even rows, the fit for odd rows).

    With one query there is no other half: that query is fitted on itself."""
    even, odd = halves(n)
    on_odd, on_even = fit(odd or even), fit(even)
    return [on_odd if r % 2 == 0 else on_even for r in range(n)], (on_odd, on_even)
