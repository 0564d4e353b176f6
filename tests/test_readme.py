"""The README's promises: every setting documented, the two commands present and used by CI."""

from __future__ import annotations

from pathlib import Path

from hopscout.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`HOPSCOUT_{name.upper()}`" in readme, name


def test_ci_runs_the_readme_test_command() -> None:
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
    assert "pip install torch==2.13.0 && pip install -e" in readme
