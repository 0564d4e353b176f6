"""``hopscout eval DIR --tools --pool OTHER --names``: the set's requests against its catalog pooled with other
sets' tools and against its catalog alone in one run, the tools asked for by name, and the report's contract
(``results[mode]["ndcg@10"]`` / ``"hit@5"`` pooled, ``results["alone"]`` the same keys, ``results["names"]``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hopscout.evaluation.datasets import load_dataset
from hopscout.evaluation.tools import format_tool_report

FIXTURES = Path(__file__).parent / "fixtures"
TINY = load_dataset(FIXTURES / "tools_tiny")
MODES = {"dense", "bm25", "hybrid", "find_tools", "find_tools:any"}


def _copycat_set(folder: Path) -> str:
    """A one-tool set: the tiny set's most asked-for tool, copied unchanged under the server ``copycat``."""
    asked = Counter(t for rel in TINY.qrels.values() for t, g in rel.items() if g > 0)
    name = asked.most_common(1)[0][0]
    folder.mkdir()
    row = {**TINY.corpus[name], "_id": name, "metadata": {"server": "copycat"}}
    (folder / "corpus.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return name


def _check_rows(rows: dict[str, Any]) -> None:
    assert set(rows) == MODES
    for mode, row in rows.items():
        assert row["queries"] == len(TINY.judged_queries), mode
        assert 0.0 <= row["ndcg@10"] <= 1.0 and 0.0 <= row["hit@5"] <= 1.0, mode
        # any gold tool in the top 5 is a hit: never below the share of requests with all of them there
        assert row["hit@5"] >= row["all@5"] and row["hit@5"] >= row["recall@5"], mode
    # an entry counts as relevant by any member at least as often as by its first member
    assert rows["find_tools:any"]["ndcg@10"] >= rows["find_tools"]["ndcg@10"] - 1e-9
    assert rows["find_tools"]["ndcg@10"] > 0.5  # the tiny set is easy: near zero means the search is broken


def test_pooled_run_reports_alone_pooled_and_names(tmp_path: Path) -> None:
    copied = _copycat_set(tmp_path / "copycat")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    done = subprocess.run(
        [sys.executable, "-m", "hopscout.cli", "eval", str(FIXTURES / "tools_tiny"), "--tools", "--json"]
        + ["--pool", str(FIXTURES / "extra_tools_mini"), "--pool", str(tmp_path / "copycat"), "--names"]
        + ["--home", str(tmp_path / "home")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    results = report["results"]
    own = len(TINY.corpus)
    # the copy keeps its own key beside the original: a name two sets share is two tools
    assert report["pool"]["tools"] == 6 + 1 and report["alone"]["tools"] == own
    _check_rows(results["alone"])
    _check_rows({m: r for m, r in results.items() if m not in ("alone", "names")})
    names = results["names"]
    assert names["catalog_tools"] == names["asked"] == own + 7
    assert names["exact_shared"] == 2  # the copied tool and its copy: either at rank 1 answers the name
    assert names["partial_count"] + names["no_partial"] == names["asked"]
    assert names["no_partial"] >= 2  # no part of a shared name points at one tool
    assert copied not in names["partial_examples"] and f"copycat/{copied}" not in names["partial_examples"]
    assert 0.0 <= names["exact_top1"] <= 1.0 and 0.0 <= names["partial_top1"] <= 1.0
    for key, text in names["partial_examples"].items():
        assert text.lower() != key.lower() and text not in key  # a part, written another way
    text = format_tool_report(report)
    assert "alone find_tools:any" in text and "hit@5" in text and "unique partial name at rank 1" in text
