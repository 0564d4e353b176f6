"""Every example in examples/ runs offline as a script and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**env, "HOPSCOUT_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def first_hits(out: str) -> dict[str, str]:
    """``? question`` → the line after it (the best hit, or ``-> tool, tool``)."""
    return dict(re.findall(r"^\? (.+)\n\s+(.+)$", out, flags=re.MULTILINE))


def picks(out: str) -> dict[str, list[str]]:
    return {
        q: line.removeprefix("-> ").split(", ")
        for q, line in first_hits(out).items()
        if line.startswith("->")
    }


def test_langchain_retriever(tmp_path: Path) -> None:
    out = run("langchain_retriever.py", tmp_path)
    best = first_hits(out)
    assert "coffee-brewing.md" in best["why does my coffee taste sour"]
    assert "solar-system.html" in best["planet temperature (k=1, HTML files only, lexical)"]
    assert "retry.py" in best["exponential backoff with jitter (async)"]
    assert "rust-ownership.txt" in best["borrow checker rules (async)"]
    assert "ToolMessage with 2 Documents" in out and "[1] sourdough.md" in out


def test_langchain_tool_selection(tmp_path: Path) -> None:
    out = run("langchain_tool_selection.py", tmp_path)
    assert out.startswith("30 tools in the catalog: 30 added")
    chosen = picks(out)
    assert {request: tools[0] for request, tools in chosen.items()} == {  # the best tool for every request
        "do I need an umbrella in Oslo tomorrow?": "get_weather_forecast",
        "email Ann the minutes and put a follow-up meeting with her on my calendar next week": (
            "create_calendar_event"
        ),
        "how many euros is 250 dollars?": "convert_currency",
        "what do our notes say about feeding a sourdough starter?": "search_notes",
        "open a bug report in hopscout/hopscout about the crash": "create_github_issue",
        "how long does it take to cycle from the station to the office?": "get_directions",
    }
    assert all(len(tools) == 3 for tools in chosen.values())
    # the two-tool request gets both of its tools (with the agent's queries, one per capability)
    assert (
        "send_email"
        in chosen["email Ann the minutes and put a follow-up meeting with her on my calendar next week"]
    )
    assert "(with the agent's queries: 'send an email', 'schedule a meeting')" in out
    assert "sourdough.md" in out
    again = run("langchain_tool_selection.py", tmp_path)  # same HOPSCOUT_HOME: nothing re-embedded
    assert again.startswith("30 tools in the catalog: 0 added, 30 unchanged")


def test_llamaindex_retriever(tmp_path: Path) -> None:
    out = run("llamaindex_retriever.py", tmp_path)
    best = first_hits(out)
    assert "solar-system.html" in best["which planet is the hottest"]
    assert "photosynthesis.md" in best["light reactions (Markdown files only)"]
    assert "http-caching.md" in best["cache revalidation (async)"]
    assert "the first from coffee-brewing.md" in out and "file_sha" not in out


def test_llamaindex_tools(tmp_path: Path) -> None:
    out = run("llamaindex_tools.py", tmp_path)
    assert out.startswith("30 LlamaIndex tools in the catalog (30 added now)")
    chosen = picks(out)
    assert {request: tools[0] for request, tools in chosen.items()} == {  # the best tool for every request
        "is it going to rain in Bergen this week?": "weather_week",
        "book me a flight to Lisbon on May 3 and a hotel for four nights": "hotel_search",
        "make the living room warmer and turn the lights off in the kitchen": "lights",
        "where is my parcel?": "track_package",
        "what is 15% of 2,340?": "evaluate_math",
    }
    # two-tool requests get both of their tools first
    assert set(chosen["book me a flight to Lisbon on May 3 and a hotel for four nights"][:2]) == {
        "flight_search",
        "hotel_search",
    }
    assert set(chosen["make the living room warmer and turn the lights off in the kitchen"][:2]) == {
        "lights",
        "set_thermostat",
    }
    assert "['search', 'find_tools']" in out and "[1] sourdough.md" in out
    assert re.search(r"find_tools\(request='turn up the heating', k=2\):\n\s+set_thermostat:", out)


def test_overhead_script_runs(tmp_path: Path) -> None:
    out = run("adapter_overhead.py", tmp_path, "--rounds", "3")  # prints timings; asserts none of them
    for row in (
        "langchain retriever (ainvoke)",
        "llamaindex retriever",
        "langchain HopscoutToolSelector",
        "llamaindex HopscoutToolRetriever",
    ):
        assert re.search(re.escape(row) + r"\s+[\d.]+ ms\s+[\d.]+x", out), out


def test_readme_framework_snippets_run(tmp_path: Path) -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme.split("## LangChain and LlamaIndex", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2
    for n, block in enumerate(blocks):
        script = tmp_path / f"snippet{n}.py"
        script.write_text(block)
        out = run(str(script), tmp_path / f"home{n}")
        assert "coffee-brewing.md" in out or "solar-system.html" in out
        assert "get_weather" in out
