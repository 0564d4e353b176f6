"""``hopscout`` exposes its names lazily: importing it, or the command line, loads none of the heavy modules, while
every public name still resolves, to the object its module defines, and type checkers see the same list."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import hopscout

HEAVY = (
    "chromadb",
    "pydantic",
    "pydantic_settings",
    "httpx",
    "torch",
    "onnxruntime",
    "numpy",
    "hopscout.scout",
)


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; import json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_every_public_name_resolves_to_its_modules_object() -> None:
    assert sorted(hopscout._WHERE) == sorted(hopscout.__all__)
    for name, module in hopscout._WHERE.items():
        assert getattr(hopscout, name) is getattr(importlib.import_module(module, "hopscout"), name)
    assert set(hopscout.__all__) <= set(dir(hopscout))


def test_type_checkers_see_the_same_names_from_the_same_modules() -> None:
    tree = ast.parse(Path(hopscout.__file__).read_text())
    seen: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                seen.update({alias.name: "." * stmt.level + (stmt.module or "") for alias in stmt.names})
    assert seen == hopscout._WHERE


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        hopscout.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("hopscout.NoSuchThing resolved")


def test_importing_the_package_or_the_cli_loads_nothing_heavy() -> None:
    for statement in ("import hopscout", "import hopscout.cli", "import hopscout.lexical.quick_search"):
        loaded = _imported_after(statement)
        heavy = [m for m in HEAVY if m in loaded and not (m == "numpy" and "quick_search" in statement)]
        assert not heavy, f"{statement} imported {heavy}"


def test_a_public_name_loads_its_module_on_first_use() -> None:
    loaded = _imported_after("import hopscout; hopscout.Scout")
    assert (
        "hopscout.scout" in loaded and "chromadb" not in loaded
    )  # the store client: only when one is opened
