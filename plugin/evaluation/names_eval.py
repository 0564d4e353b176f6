"""``hopscout eval DIR --tools --names``: is a tool asked for by name found first?

Every tool of the catalog (the pooled one with ``--pool``; a seeded sample of ``limit`` of them when given) is
asked for twice through ``find_tools``:

- by its exact name: a hit when the tool at rank 1 bears that name (a name several servers list is ambiguous by
  name alone, so any tool with it counts; how many tools share a name is reported as ``exact_shared``);
- by a unique partial name: half its name tokens (:func:`hopscout.tools.spec.split_name`, rounded up, a contiguous
  run), written in another style (``snake_case``, ``kebab-case``, ``dot.case``, spaces, ``camelCase``,
  ``PascalCase``, ``UPPER_CASE``) so that the text is not a substring of the name; a hit when rank 1 is the tool
  itself. A partial is kept only when it is unique across the catalog (:class:`NameIndex`); tools with none
  (one-token names, or every half of the name shared) are left out and counted in ``no_partial``."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..tools.catalog import ToolCatalog
from ..tools.spec import ToolSpec, split_name

SEED = 28  # the partial names and the sample drawn with --limit: fixed, so runs compare
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")

_STYLES: dict[str, Callable[[list[str]], str]] = {
    "snake": lambda t: "_".join(t),
    "kebab": lambda t: "-".join(t),
    "dot": lambda t: ".".join(t),
    "space": lambda t: " ".join(t),
    "camel": lambda t: t[0] + "".join(w.capitalize() for w in t[1:]),
    "pascal": lambda t: "".join(w.capitalize() for w in t),
    "upper": lambda t: "_".join(w.upper() for w in t),
}


def name_tokens(name: str) -> list[str]:
    """A tool name's tokens, lower case: camelCase, snake_case, kebab-case, dots and digits split."""
    return split_name(name).split()


def _compact(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


class NameIndex:
    """The catalog's names, to tell whether a partial name points at one tool only. A tool matches a partial
    when its name holds all the partial's tokens (any order) or its name, separators dropped, holds the
    partial's letters run together (``codex`` in ``askCodexNow``, ``weather for`` in ``weatherforecast``): a
    matcher that reads either way cannot be sure which tool is meant when two match."""

    def __init__(self, specs: Sequence[ToolSpec]) -> None:
        self._keys = [s.key for s in specs]
        self._tokens = [Counter(name_tokens(s.name)) for s in specs]
        self._compact = [_compact(s.name) for s in specs]
        self._by_token: dict[str, set[int]] = {}
        for i, counts in enumerate(self._tokens):
            for token in counts:
                self._by_token.setdefault(token, set()).add(i)

    def matches(self, tokens: Sequence[str]) -> list[str]:
        """The keys of every tool the partial ``tokens`` could mean."""
        need = Counter(tokens)
        pools = [self._by_token.get(t, set()) for t in need]
        by_tokens = set.intersection(*pools) if pools else set()
        found = {i for i in by_tokens if all(self._tokens[i][t] >= n for t, n in need.items())}
        run = "".join(tokens)
        found.update(i for i, c in enumerate(self._compact) if run and run in c)
        return sorted(self._keys[i] for i in found)


def partial_name(spec: ToolSpec, index: NameIndex, seed: int = SEED) -> str | None:
    """A unique partial name for ``spec`` (see the module's docstring), the same for the same seed; ``None``
    when its name has fewer than two tokens or no half of it is unique."""
    tokens = name_tokens(spec.name)
    if len(tokens) < 2:
        return None
    size = (len(tokens) + 1) // 2
    rng = random.Random(f"{seed}:{spec.key}")
    starts = list(range(len(tokens) - size + 1))
    rng.shuffle(starts)
    styles = list(_STYLES)
    for start in starts:
        part = tokens[start : start + size]
        if index.matches(part) != [spec.key]:
            continue
        rng.shuffle(styles)
        for style in styles:
            text = _STYLES[style](part)
            if text not in spec.name:  # separators or case changed, not a piece of the name as written
                return text
    return None


@dataclass(frozen=True)
class NameProbes:
    """What is asked: per tool key, its exact name and its partial name (``None``: it has no unique one)."""

    exact: dict[str, str]
    partial: dict[str, str | None]
    shared: int  # tools whose name another tool of the catalog bears too

    @classmethod
    def build(cls, specs: Sequence[ToolSpec], limit: int | None = None, seed: int = SEED) -> NameProbes:
        """Probes for every tool of ``specs`` (or a seeded sample of ``limit``); uniqueness is checked against
        all of ``specs``."""
        index = NameIndex(specs)
        counts = Counter(s.name for s in specs)
        asked = sorted(specs, key=lambda s: s.key)
        if limit is not None and limit < len(asked):
            asked = random.Random(seed).sample(asked, limit)
        return cls(
            exact={s.key: s.name for s in asked},
            partial={s.key: partial_name(s, index, seed) for s in asked},
            shared=sum(1 for s in asked if counts[s.name] > 1),
        )


def run_name_eval(
    catalog: ToolCatalog, *, limit: int | None = None, seed: int = SEED, k: int = 10, batch: int = 128
) -> dict[str, Any]:
    """``{"exact_top1", "partial_top1", "asked", "partial_count", "no_partial", "exact_shared", ...}``:
    shares at rank 1 of ``find_tools`` (no LLM) on the catalog as it is (its stored fusion weight)."""
    specs = catalog.tools()
    probes = NameProbes.build(specs, limit, seed)
    names = {s.key: s.name for s in specs}
    exact_keys = list(probes.exact)
    exact_top = _top1(catalog, [probes.exact[key] for key in exact_keys], k, batch)
    exact_hits = sum(
        1 for key, top in zip(exact_keys, exact_top) if top is not None and names[top] == names[key]
    )
    partial_keys = [key for key, text in probes.partial.items() if text is not None]
    partial_top = _top1(catalog, [probes.partial[key] or "" for key in partial_keys], k, batch)
    partial_hits = sum(1 for key, top in zip(partial_keys, partial_top) if top == key)
    return {
        "exact_top1": exact_hits / len(exact_keys) if exact_keys else None,
        "partial_top1": partial_hits / len(partial_keys) if partial_keys else None,
        "asked": len(exact_keys),
        "partial_count": len(partial_keys),
        "no_partial": len(exact_keys) - len(partial_keys),
        "exact_shared": probes.shared,
        "catalog_tools": len(specs),
        "seed": seed,
        "partial_examples": {key: probes.partial[key] for key in partial_keys[:5]},
        "exact_misses": [
            key for key, top in zip(exact_keys, exact_top) if top is None or names[top] != names[key]
        ][:20],
        "partial_misses": dict(
            [(key, probes.partial[key]) for key, top in zip(partial_keys, partial_top) if top != key][:20]
        ),
    }


def _top1(catalog: ToolCatalog, texts: Sequence[str], k: int, batch: int) -> list[str | None]:
    out: list[str | None] = []
    catalog.wait_measured()  # the catalog as written, measured: a large one is measured in the background
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        for result in catalog.find_tools_batch(chunk, k, None, generate=False):
            out.append(result.hits[0].key if result.hits else None)
        catalog.wait_measured()  # a hubness re-measure the chunk started: in force for the next, not by timing
    return out


__all__ = ["SEED", "NameIndex", "NameProbes", "name_tokens", "partial_name", "run_name_eval"]
