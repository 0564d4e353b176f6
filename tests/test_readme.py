"""The README's promises: every setting documented, the two commands present and used by CI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hopscout.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`HOPSCOUT_{name.upper()}`" in readme, name


def test_settings_table_defaults_match_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `HOPSCOUT_(\w+)` \| `([^`]*)` \|", readme, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        shown = rows[name.upper()]
        expected = "unset" if field.default is None else '""' if field.default == "" else str(field.default)
        assert shown == expected, f"HOPSCOUT_{name.upper()}: README says {shown!r}, the code {expected!r}"


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    script = tmp_path / "quickstart.py"
    script.write_text(re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)[0])
    env = {**os.environ, "HOPSCOUT_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and "coffee" in lines[0].lower(), done.stdout


def test_ci_runs_the_readme_test_command() -> None:
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    assert "python -m pytest -q" in readme and "python -m pytest -q" in ci
    assert "pip install torch==2.13.0 && pip install -e" in readme
