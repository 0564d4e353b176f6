"""The tool-catalog bench's catalogs: ``size`` real tools from the tool sets under a folder, pooled as a gateway
pools its servers' tools (each under its server's namespace), and past the real tools, the same tools again under
further namespaces (``<server>-copy<r>``).

A copy is an exact duplicate (name, description, schema), so the catalog's shadow detector and grouping see
every copy as a copy: the bench says how many tools are copies beside its figures rather than disguising them
(varied text would be made-up tools, and would measure made-up words)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..tools.corpus import corpus_servers

Tool = dict[str, Any]  # a tool as its server lists it


@dataclass(frozen=True)
class PooledCatalog:
    """What to register, in order: ``servers[i]`` is (namespace, its tools); ``real`` of the tools are distinct
    real tools, ``copies`` are repeats of them under further namespaces."""

    servers: list[tuple[str, list[Tool]]]
    real: int
    copies: int

    @property
    def size(self) -> int:
        return self.real + self.copies


def real_servers(tools_dir: Path, first: str = "metatool") -> list[tuple[str, list[Tool]]]:
    """The servers of every tool set under ``tools_dir`` (a subfolder holding ``corpus.jsonl``), the set named
    ``first`` first (the bench's requests are its queries, so its tools are in every catalog) and the others
    by name; a corpus identical to one read already is skipped (Seal-Tools in and out of domain share one).
    A tool's server is its ``metadata.server``, else its set's folder name."""
    folders = sorted(
        (p.parent for p in Path(tools_dir).glob("*/corpus.jsonl")), key=lambda p: (p.name != first, p.name)
    )
    seen: set[str] = set()
    out: list[tuple[str, list[Tool]]] = []
    for folder in folders:
        raw = (folder / "corpus.jsonl").read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        out.extend(corpus_servers(folder).items())
    return out


def pooled_catalog(real: list[tuple[str, list[Tool]]], size: int) -> PooledCatalog:
    """The first ``size`` tools of ``real`` and, past its end, of its copies (copy ``r`` of server ``s`` is
    namespace ``s-copy<r>``), server by server; the last server may be cut short."""
    total = sum(len(tools) for _, tools in real)
    if total == 0:
        raise InvalidArgumentError("no tools to pool: point --data at a folder with tools/<set>/corpus.jsonl")
    if size < 1:
        raise InvalidArgumentError(f"a catalog holds at least one tool, got size {size}")
    servers: list[tuple[str, list[Tool]]] = []
    left, copy = size, 0
    while left > 0:
        for server, tools in real:
            taken = tools[:left]
            if taken:
                servers.append((server if copy == 0 else f"{server}-copy{copy}", taken))
                left -= len(taken)
            if left == 0:
                break
        copy += 1
    return PooledCatalog(servers=servers, real=min(size, total), copies=max(0, size - total))


__all__ = ["PooledCatalog", "pooled_catalog", "real_servers"]
