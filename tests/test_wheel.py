"""The package a user installs: the wheel built from this checkout, installed into a clean environment outside it.

Every other test imports hopscout from the checkout (an editable install), so a module or data file the build
leaves out (``hopscout.bench`` once was) passes them all and fails only for whoever installs the wheel. Here the
sdist is built, the wheel built from it (as pip does from a source release), installed into a fresh venv with no
view of the checkout, and used: every module imported, every command's ``--help`` run, ``hopscout demo`` run.

The clean venv borrows the third-party dependencies of the running venv through a ``.pth`` line naming its
site-packages: a path line only, so the running venv's own ``.pth`` files (the editable finder that maps
``hopscout`` to ``plugin/``) are not processed there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from setuptools.config.pyprojecttoml import read_configuration

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_PARTS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})

# Run inside the clean venv: where hopscout comes from, every module (imported), every command path of the CLI.
PROBE = """
import importlib, json, pkgutil, sys, traceback
import hopscout
failed = {}
def onerror(name):
    failed[name] = traceback.format_exc(limit=3)
modules = ["hopscout"]
for info in pkgutil.walk_packages(hopscout.__path__, "hopscout.", onerror=onerror):
    modules.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception:
        onerror(info.name)
import typer.main
from hopscout.cli import app
def paths(command, prefix):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, [*prefix, name])
commands = list(paths(typer.main.get_command(app), []))
print(json.dumps({"file": hopscout.__file__, "modules": modules, "failed": failed, "commands": commands}))
"""

# Run inside the clean venv: each command's --help through hopscout's own entry point, in one process.
HELP = """
import json, sys
from typer.testing import CliRunner
from hopscout.cli import app
out = {}
for path in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, [*path, "--help"])
    out[" ".join(path)] = [result.exit_code, result.output, repr(result.exception)]
print(json.dumps(out))
"""


def _package_dirs() -> dict[str, str]:
    config = read_configuration(ROOT / "pyproject.toml", expand=False)  # as setup.py reads it
    return dict(config["tool"]["setuptools"]["package-dir"])


def _checkout_files() -> Iterator[tuple[str, Path]]:
    """Every file of the package folders, as (its path inside the installed package, its path here)."""
    for package, folder in _package_dirs().items():
        base = ROOT / folder
        for path in base.rglob("*"):
            parts = path.relative_to(base).parts
            if path.is_file() and not SKIPPED_PARTS & set(parts) and path.suffix not in SKIPPED_SUFFIXES:
                yield "/".join([*package.split("."), *parts]), path


def _checkout_modules() -> set[str]:
    """The modules of the checkout: every .py file whose folders, up to the package's root, are packages."""
    modules = set()
    for installed, _ in _checkout_files():
        parts = Path(installed).with_suffix("").parts
        folders = parts[:-1]
        is_package = all(
            (_source_folder(folders[: i + 1]) / "__init__.py").is_file() for i in range(len(folders))
        )
        if installed.endswith(".py") and is_package:
            modules.add(".".join(folders if parts[-1] == "__init__" else parts))
    return modules


def _source_folder(package: tuple[str, ...]) -> Path:
    """The checkout folder of a package (``("hopscout", "bench")`` → plugin/bench), by the longest mapping."""
    dirs = _package_dirs()
    for cut in range(len(package), 0, -1):
        mapped = dirs.get(".".join(package[:cut]))
        if mapped is not None:
            return ROOT / mapped / Path(*package[cut:]) if package[cut:] else ROOT / mapped
    return ROOT / Path(*package)


def _run(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 120) -> str:
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """The wheel built from this checkout (sdist first, wheel from the sdist) and a clean venv it is installed in,
    outside the checkout; returns (wheel, venv, the environment to run its commands with)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    dist.mkdir()
    outer = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    # The PEP 517 hook pip and `python -m build` call; then pip builds the wheel from the sdist, as from PyPI.
    hook = f"import setuptools.build_meta as b; print(b.build_sdist({str(dist)!r}))"
    sdist = dist / _run([sys.executable, "-c", hook], env=outer, cwd=ROOT).strip().splitlines()[-1]
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(sdist),
        ],
        env=outer,
        cwd=tmp,
    )
    (wheel,) = dist.glob("hopscout-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=outer, cwd=tmp)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        env=outer,
        cwd=tmp,
    )
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            env=outer,
            cwd=tmp,
        ).strip()
    )
    # written only after pip ran there: a pip that sees the running venv's hopscout may uninstall it
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        **outer,
        "PATH": f"{venv / 'bin'}{os.pathsep}{outer.get('PATH', '')}",
        "PYTHONNOUSERSITE": "1",
        "HOPSCOUT_HOME": str(tmp / "home"),
        "HF_HUB_OFFLINE": "1",
    }
    return wheel, venv, env


def test_wheel_holds_every_file_of_the_package_folders(installed: tuple[Path, Path, dict[str, str]]) -> None:
    wheel, _, _ = installed
    names = {n for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")}
    expected = {installed_path for installed_path, _ in _checkout_files()}
    assert sorted(expected - names) == [], "files of the checkout missing from the wheel"
    assert sorted(names - expected) == [], "files in the wheel that the checkout does not have"


def test_installed_package_imports_every_module_and_runs_every_command(
    installed: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    _, venv, env = installed
    python = str(venv / "bin" / "python")
    probe = json.loads(_run([python, "-c", PROBE], env=env, cwd=tmp_path))
    assert Path(probe["file"]).is_relative_to(venv), (
        f"hopscout imported from {probe['file']}, not the clean venv"
    )
    assert probe["failed"] == {}, "modules of the installed package that do not import"
    modules, expected = set(probe["modules"]), _checkout_modules()
    assert sorted(expected - modules) == [], "modules of the checkout missing from the installed package"
    assert sorted(modules - expected) == [], "modules installed that the checkout does not have"

    commands = probe["commands"]
    assert {"bench", "demo", "eval", "serve", "router"} <= {path[0] for path in commands if path}
    helps = json.loads(_run([python, "-c", HELP, json.dumps(commands)], env=env, cwd=tmp_path))
    for path, (code, output, error) in helps.items():
        assert code == 0, f"`hopscout {path} --help` exited {code}: {error}\n{output}"
        assert "usage" in output.lower() and path.split(" ")[-1] in output, (
            f"`hopscout {path} --help`: {output}"
        )

    assert "hopscout" in _run([str(venv / "bin" / "hopscout"), "--help"], env=env, cwd=tmp_path)
    assert "--upstream" in _run([str(venv / "bin" / "hopscout-mcp"), "--help"], env=env, cwd=tmp_path)
    demo = _run([str(venv / "bin" / "hopscout"), "demo"], env=env, cwd=tmp_path, timeout=180)
    indexed = re.match(r"Indexed (\S+) into collection .*: (\d+) files embedded", demo)
    assert indexed is not None, demo
    assert Path(indexed[1]).is_relative_to(venv), (
        f"the demo read its sample from {indexed[1]}, not the clean venv"
    )
    assert int(indexed[2]) > 0 and "coffee-brewing.md" in demo, demo
    assert Path(env["HOPSCOUT_HOME"], "chroma").is_dir()
