"""The extension points ARCHITECTURE.md promises: its worked examples, registered at run time exactly as
written there, work through the public search; and the search options are declared once."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from hopscout import Scout, SearchOptions, Settings
from hopscout.augment import AUGMENTERS, AugmenterSpec
from hopscout.augment.augmenters import Augmentation, AugmentInput
from hopscout.hop import OPERATORS, HopInput, HopQuery, OperatorSpec
from hopscout.hop.operators import bridge, mix
from hopscout.llm import LLMClient
from hopscout.llm.replies import parse_list
from hopscout.retrieval import SearchKwargs
from hopscout.vectors import unit

DOCS = {
    "film": "Moonlit Harbor is a 1999 drama film directed by Elena Vasquez and shot in Portugal.",
    "director": "Elena Vasquez is a Chilean filmmaker born in the town of Puerto Alto.",
    "town": "Puerto Alto is a port town on the banks of the Rio Verde in southern Chile.",
    "noise": "Sourdough starters need flour and water every day.",
}
ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Which river flows through the birthplace of the director of Moonlit Harbor?"


def mix_bridge(inp: HopInput) -> HopQuery:  # ARCHITECTURE.md's worked example, as written there
    """Both: the bridge's BM25 text and mix's vector; the hop fuses what each finds."""
    return HopQuery(vector=mix(inp).vector, text=bridge(inp).text)


def subquestions(inp: AugmentInput) -> Augmentation:  # ARCHITECTURE.md's worked example, as written there
    """2-4 simpler questions whose answers together answer the query."""
    prompt = f'Split into 2-4 simpler questions: {inp.query}\nAnswer only JSON: {{"questions": ["..."]}}'
    asked = parse_list(inp.complete("augment/subquestions", prompt, 96, json_mode=True), limit=4)
    if not asked:
        return Augmentation(llm_calls=1)
    vectors = [unit(v) for v in inp.embedder.embed_queries(asked)]
    return Augmentation(vectors=vectors, texts=asked, llm_calls=1)


@pytest.fixture
def scout(tmp_path: Path, embedder: Any) -> Any:
    with Scout(Settings(home=tmp_path), embedder=embedder) as made:
        made.add(list(DOCS.values()), ids=list(DOCS))
        yield made


def test_a_new_hop_operator_is_a_function_and_a_registry_line(
    scout: Scout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(OPERATORS, "mix_bridge", OperatorSpec("mix_bridge", "embedding", mix_bridge))
    hits = scout.search(QUESTION, 3, mode="lexical", hops=2, beam=1, hop_operator="mix_bridge", hop_fill=0.67)
    assert hits[0].id == "film" and {"director"} <= {h.id for h in hits if h.hop == 2}


def test_a_new_augmenter_is_a_function_and_a_registry_line(
    llm_url: str, scout: Scout, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        AUGMENTERS, "subquestions", AugmenterSpec("subquestions", subquestions, needs_llm=True)
    )
    hits = scout.search(QUESTION, 3, augment="always", augmenter="subquestions")
    assert "HOPSCOUT_LLM_BASE_URL" in (hits[0].note or "")  # no LLM configured: the plain ranking, said so
    llm = LLMClient(llm_url, timeout=120, max_tokens=64)
    with Scout(Settings(home=scout.settings.home), embedder=scout.embedder, llm=llm) as with_llm:
        hits = with_llm.search(QUESTION, 3, augment="always", augmenter="subquestions")
    assert llm.calls == 1  # the augmenter asked the LLM once
    # a 135M model's reply may hold no usable question; then the hits say so instead of claiming augmentation
    assert hits[0].scores["augmented"] == 1.0 or "no usable text" in (hits[0].note or "")


def test_search_options_are_declared_once() -> None:
    fields = {f.name: f for f in dataclasses.fields(SearchOptions)}
    assert set(get_type_hints(SearchKwargs)) == set(fields) - {"k"}  # the typed **options of Scout.search
    assert {f.name for f in SearchOptions.agent_options()} == {"hops", "augment", "expansion"}


def test_the_store_backend_is_picked_by_name(tmp_path: Path, embedder: Any) -> None:
    from hopscout import InvalidArgumentError
    from hopscout.store import BACKENDS

    with pytest.raises(InvalidArgumentError, match="chroma"):
        Scout(Settings(home=tmp_path, store="nope"), embedder=embedder)
    with Scout(Settings(home=tmp_path, store="chroma"), embedder=embedder) as scout:
        assert type(scout.store).__name__ == BACKENDS["chroma"].rpartition(":")[2]


def test_the_passage_prior_and_the_confidence_are_stages_chosen_by_options(scout: Scout) -> None:
    full = scout.search(QUESTION, 3)
    bare = scout.search(QUESTION, 3, prior=False, confidence=False)  # not agent options: for measuring stages
    assert [h.id for h in bare] == [h.id for h in full]  # nothing here is flagged: the prior changes nothing
    assert full[0].confidence is not None and all(h.confidence is None for h in bare)
    assert {"prior", "confidence"}.isdisjoint(f.name for f in SearchOptions.agent_options())


OPTION_SCRIPT = """
import json, sys
from hopscout import Scout, SearchOptions

docs, question, off_topic = json.loads(sys.argv[1])
with Scout() as scout:
    scout.add(list(docs.values()), ids=list(docs))
    plain = [h.id for h in scout.search(question, 3)]
    print(json.dumps({
        "names": sorted(SearchOptions.names()),
        "plain": plain,
        "floor_zero": [h.id for h in scout.search(question, 3, min_confidence=0.0)],
        "off_topic": scout.search(off_topic, 3, min_confidence=0.999),
        "confidence": scout.search(off_topic, 3)[0].confidence,
    }))
"""


def test_a_new_search_option_touches_the_options_and_the_stage_that_reads_it(tmp_path: Path) -> None:
    """ARCHITECTURE.md's worked example of a search option is a diff: it must touch only the options module
    and the confidence stage, apply to today's code, and work through Scout.search."""
    doc = (ROOT / "ARCHITECTURE.md").read_text()
    diff = re.search(r"### Worked example: a search option.*?```diff\n(.*?)```", doc, re.DOTALL)
    assert diff is not None, "ARCHITECTURE.md lost its worked example of a search option"
    touched = set(re.findall(r"^\+\+\+ b/(\S+)", diff.group(1), re.MULTILINE))
    assert touched == {"plugin/retrieval/options.py", "plugin/retrieval/confidence.py"}
    source = tmp_path / "source"
    shutil.copytree(ROOT / "plugin", source / "plugin", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "option.diff").write_text(diff.group(1))
    applied = subprocess.run(
        ["git", "apply", str(tmp_path / "option.diff")],
        check=False,
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, f"the worked example no longer applies to plugin/: {applied.stderr}"
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "hopscout").symlink_to(source / "plugin")  # the folder installs as hopscout
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "package"), "HOPSCOUT_HOME": str(tmp_path / "home")}
    question = "Which river flows through the town where Elena Vasquez was born?"
    off_topic = "How much does a lighthouse keeper earn in Norway?"
    run = subprocess.run(
        [sys.executable, "-c", OPTION_SCRIPT, json.dumps([DOCS, question, off_topic])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert "min_confidence" in found["names"]
    assert found["plain"] and found["floor_zero"] == found["plain"]  # a floor of 0 changes nothing
    assert found["confidence"] < 0.999 and found["off_topic"] == []  # below the floor: nothing, not a guess
