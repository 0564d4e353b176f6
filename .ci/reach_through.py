"""No reach-through (ARCHITECTURE.md, "Seams"): a collection's BM25 copy is read through the index's methods, and
a Scout's engine through ``hopscout.scout.engine_of``. Fails on any attribute called ``lexical``/``_lexical`` or
``engine``/``_engine`` outside the module that owns it (a class's own private ``self._lexical`` is its own business).
Run by .ci/lint."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

OWNERS = {
    "lexical": {"plugin/index.py"},  # CollectionIndex._lexical: the BM25 copy it keeps in step with the store
    "engine": {"plugin/scout.py"},  # Scout._engine: features get it from engine_of(scout)
}
ALLOWED = {  # tests of the owner's internals
    "lexical": {"tests/test_lexical_accel.py"},
    "engine": set(),
}
ROOTS = ("plugin", "adapters", "servers", "examples", "tests")


def main() -> int:
    found = []
    for root in ROOTS:
        for path in sorted(Path(root).rglob("*.py")):
            name = path.as_posix()
            for node in ast.walk(ast.parse(path.read_text(), name)):
                if isinstance(node, ast.Attribute):
                    attr = node.attr.lstrip("_")
                    own = attr != node.attr and isinstance(node.value, ast.Name) and node.value.id == "self"
                    if attr in OWNERS and not own and name not in OWNERS[attr] | ALLOWED[attr]:
                        found.append(
                            f"{name}:{node.lineno}: .{node.attr} (owned by {', '.join(OWNERS[attr])})"
                        )
    for line in found:
        print(line)
    if found:
        print("reach-through: use the index's lexical methods or hopscout.scout.engine_of (ARCHITECTURE.md)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
