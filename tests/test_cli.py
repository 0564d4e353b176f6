"""The real ``hopscout`` console script, run as a subprocess against a temporary HOPSCOUT_HOME.

Each command loads the model afresh (a few seconds), so the commands share one home and the demo runs once
for the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from hopscout.demo import SAMPLE_DIR
from hopscout.ingest.loaders import file_kind
from hopscout.settings import SEARCH_MODES

FIXTURES = Path(__file__).parent / "fixtures"
_SCRIPT = Path(sys.executable).parent / "hopscout"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "hopscout.cli"]


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


@pytest.fixture(scope="module")
def hopscout(home: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    env.update(HOPSCOUT_HOME=str(home), COLUMNS="200", NO_COLOR="1")

    def run(*args: str, timeout: float = 180, stdin: str = "", **env_extra: str) -> Run:
        proc = subprocess.run(
            [*COMMAND, *args],
            env={**env, **env_extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="module")
def demo_runs(hopscout) -> tuple[Run, Run]:
    return hopscout("demo"), hopscout("demo")


def test_demo_finds_the_coffee_answer_and_reruns_unchanged(demo_runs: tuple[Run, Run]) -> None:
    first, second = demo_runs
    assert first.code == 0, first.err
    assert "Traceback" not in first.err
    lines = first.out.splitlines()
    at = lines.index("? why does my coffee taste sour")
    assert "coffee-brewing.md" in lines[at + 1]  # the top hit
    n_files = sum(1 for p in SAMPLE_DIR.iterdir() if p.is_file() and file_kind(p))
    assert f"{n_files} files embedded, 0 unchanged" in first.out

    assert second.code == 0, second.err
    assert f"0 files embedded, {n_files} unchanged, 0 chunks written" in second.out
    assert (
        "coffee-brewing.md"
        in second.out.splitlines()[second.out.splitlines().index("? why does my coffee taste sour") + 1]
    )


def test_collections_lists_the_demo_collection(hopscout, demo_runs: tuple[Run, Run]) -> None:
    assert demo_runs[0].code == 0
    run = hopscout("collections", "--json")
    assert run.code == 0, run.err
    infos = {info["name"]: info for info in json.loads(run.out)}
    demo = infos["hopscout-demo"]
    assert demo["count"] > 0
    assert demo["dim"] == 384 and "MiniLM" in demo["embedder"]


def test_ingest_then_search_json(hopscout, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text(
        "# Tea\n\nGreen tea is steeped at 80 degrees for two minutes.\n", encoding="utf-8"
    )
    (docs / "bikes.txt").write_text("Oil the bicycle chain every few hundred kilometres.\n", encoding="utf-8")
    (docs / "rivers.txt").write_text(
        "The Danube flows through ten countries into the Black Sea.\n", encoding="utf-8"
    )

    ingest = hopscout("ingest", str(docs), "--json", "-c", "cli-docs")
    assert ingest.code == 0, ingest.err
    report = json.loads(ingest.out)
    assert sorted(Path(p).name for p in report["added"]) == ["bikes.txt", "rivers.txt", "tea.md"]
    assert report["chunks"] == 3 and report["failed"] == {}

    search = hopscout(
        "search", "how hot should the water be for green tea", "--json", "-k", "2", "-c", "cli-docs"
    )
    assert search.code == 0, search.err
    result = json.loads(search.out)
    assert result["query"] == "how hot should the water be for green tea"
    hits = result["hits"]
    assert len(hits) == 2
    root = str(docs.resolve())
    assert all(hit["source"].startswith(root + os.sep) for hit in hits)
    assert Path(hits[0]["source"]).name == "tea.md"
    assert hits[0]["metadata"]["heading"] == "Tea" and "80 degrees" in hits[0]["text"]
    assert hits[0]["score"] >= hits[1]["score"]


def test_blank_query_is_a_one_line_error(hopscout) -> None:
    run = hopscout("search", "   ")
    assert run.code == 2
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    assert "empty" in lines[0]
    assert run.out == ""


def test_unknown_collection_is_named(hopscout) -> None:
    run = hopscout("search", "anything at all", "-c", "nope-x1")
    assert run.code == 2
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "'nope-x1'" in lines[0], run.err


def one_error_line(run: Run) -> str:
    """The run failed with exit 2 and said why in exactly one ``error:`` line (no traceback, no box)."""
    assert run.code == 2, (run.code, run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]


def test_bad_where_json_is_rejected_with_a_message(hopscout) -> None:
    assert "--where is not valid JSON" in one_error_line(
        hopscout("search", "anything", "--where", "not json")
    )
    assert "JSON object" in one_error_line(hopscout("search", "anything", "--where", "[1, 2]"))


@pytest.mark.parametrize(
    "args",
    [("search", "x", "-k", "abc"), ("search", "x", "--bogus"), ("delete", "--where", "{bad")],
    ids=["k-not-a-number", "unknown-option", "delete-bad-where"],
)
def test_bad_options_are_one_line(hopscout, args: tuple[str, ...]) -> None:
    line = one_error_line(hopscout(*args))
    assert "╭" not in line and "Usage" not in line


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("HOPSCOUT_SEARCH_MODE", "foo", "search"),
        ("HOPSCOUT_MAX_K", "abc", "search"),
        ("HOPSCOUT_MAX_K", "abc", "collections"),
        ("HOPSCOUT_CHUNK_TOKENS", "-3", "ingest"),
    ],
)
def test_bad_setting_values_name_the_variable(hopscout, tmp_path: Path, variable, value, command) -> None:
    args = {
        "search": ("search", "coffee"),
        "collections": ("collections",),
        "ingest": ("ingest", str(tmp_path)),
    }
    line = one_error_line(hopscout(*args[command], **{variable: value}))
    assert f"{variable}={value!r}" in line, line


def test_delete_drop_with_an_id_deletes_nothing(hopscout, demo_runs: tuple[Run, Run]) -> None:
    assert demo_runs[0].code == 0
    before = {i["name"]: i["count"] for i in json.loads(hopscout("collections", "--json").out)}
    assert "takes no ids" in one_error_line(hopscout("delete", "--drop", "abc", "-c", "hopscout-demo"))
    assert "--yes" in one_error_line(hopscout("delete", "--drop", "-c", "hopscout-demo"))  # stdin is no tty
    assert "--drop" in one_error_line(hopscout("delete"))
    after = {i["name"]: i["count"] for i in json.loads(hopscout("collections", "--json").out)}
    assert after == before and before["hopscout-demo"] > 0


def test_delete_by_id_and_drop_with_yes(hopscout, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Kettles boil water for tea.\n", encoding="utf-8")
    assert hopscout("ingest", str(tmp_path), "-c", "cli-drop").code == 0
    hit = json.loads(hopscout("search", "kettle", "--json", "-c", "cli-drop").out)["hits"][0]
    run = hopscout("delete", hit["id"], "nope", "-c", "cli-drop")
    assert run.code == 0 and "deleted 1 chunks" in run.out and "1 of the 2 ids not found" in run.out, run
    run = hopscout("delete", "--drop", "--yes", "-c", "cli-drop")
    assert run.code == 0 and "dropped collection 'cli-drop'" in run.out, run
    names = [i["name"] for i in json.loads(hopscout("collections", "--json").out)]
    assert "cli-drop" not in names


def test_search_on_a_missing_home_creates_nothing(hopscout, tmp_path: Path) -> None:
    missing = tmp_path / "no-store-here"
    assert "no hopscout store" in one_error_line(hopscout("search", "coffee", "--home", str(missing)))
    assert "no hopscout store" in one_error_line(hopscout("collections", "--home", str(missing)))
    assert not missing.exists()


def test_collections_on_an_empty_store_says_so(hopscout, tmp_path: Path) -> None:
    (tmp_path / "empty" / "chroma").mkdir(parents=True)
    run = hopscout("collections", "--home", str(tmp_path / "empty"))
    assert run.code == 0 and run.out == "" and "no collections" in run.err and "hopscout ingest" in run.err


def test_version_and_query_from_stdin(hopscout, demo_runs: tuple[Run, Run]) -> None:
    from importlib.metadata import version

    run = hopscout("--version")
    assert run.code == 0 and run.out.strip() == f"hopscout {version('hopscout')}"
    piped = hopscout("search", "-", "--json", "-c", "hopscout-demo", stdin="why does my coffee taste sour\n")
    assert piped.code == 0, piped.err
    result = json.loads(piped.out)
    assert result["query"] == "why does my coffee taste sour"
    assert Path(result["hits"][0]["source"]).name == "coffee-brewing.md"


def test_folder_ingest_names_what_it_skips_and_reruns_clean(hopscout, tmp_path: Path) -> None:
    from test_ingest_units import make_pdf

    docs = tmp_path / "mixed"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n\nDescale the kettle monthly.\n", encoding="utf-8")
    (docs / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (docs / ".secret.txt").write_text("hidden\n", encoding="utf-8")
    (docs / "empty.txt").write_text("", encoding="utf-8")
    (docs / "scan.pdf").write_bytes(make_pdf([""]))  # a page with no text layer
    # junk after %%EOF: pypdf logs "EOF marker not found" (on stderr, into --json output) and reads it anyway
    (docs / "damaged.pdf").write_bytes(make_pdf(["Repaired text survives"]) + b"\0" * 2000)

    first = hopscout("ingest", str(docs), "-c", "cli-mixed")
    assert first.code == 0, first.err
    assert "added 2, replaced 0, unchanged 0, removed 0 files" in first.out, first.out
    assert "skipped 1 file, unsupported type (.csv): table.csv" in first.err, first.err
    assert "skipped 1 file, hidden file: .secret.txt" in first.err
    assert "skipped 2 files, no text to index" in first.err and "empty.txt" in first.err
    assert "EOF marker" not in first.err and "failed" not in first.err
    again = hopscout("ingest", str(docs), "-c", "cli-mixed", "--json")
    assert again.code == 0 and again.err == "", again.err
    report = json.loads(again.out)  # stdout is only the JSON: nothing from pypdf
    assert report["added"] == [] and len(report["unchanged"]) == 2 and len(report["skipped"]) == 4


def test_ingest_of_an_empty_folder_hints(hopscout, tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    run = hopscout("ingest", str(tmp_path / "nothing"), "-c", "cli-nothing")
    assert run.code == 0 and "nothing to index" in run.err and ".md" in run.err, run


def test_eval_json_report(hopscout, home: Path) -> None:
    run = hopscout(
        "eval",
        str(FIXTURES / "scifact_mini"),
        "--json",
        "--limit",
        "10",
        "--ingest-sample",
        "16",
        "--home",
        str(home),
    )
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["dataset"] and report["queries"] == 10
    for mode in SEARCH_MODES:
        row = report["results"][mode]
        assert 0.0 <= row["ndcg@10"] <= 1.0, mode
        assert row["p50_ms"] > 0, mode
    assert report["results"]["hybrid"]["ndcg@10"] > 0.5  # the mini set is easy: near zero means broken search
    assert report["ingest"]["docs"] == 16 and report["ingest"]["ratio"] > 0
    assert (home / "eval").is_dir()


def test_eval_tools_report(hopscout, home: Path) -> None:
    from hopscout.calibration import WEIGHT_GRID

    run = hopscout("eval", str(FIXTURES / "tools_mini"), "--tools", "--json", "--home", str(home))
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["queries"] == 30 and report["corpus"] == 200
    results = report["results"]
    assert set(results) >= {"dense", "bm25", "hybrid", "find_tools"}
    assert all(0.0 <= row["ndcg@10"] <= 1.0 and row["queries"] == 30 for row in results.values())
    assert results["find_tools"]["ndcg@10"] > 0.5 and results["find_tools"]["p50_ms"] > 0  # near zero: broken
    assert all(w in WEIGHT_GRID for w in report["fusion"]["fold_weights"])  # one weight fitted per half


def test_eval_augment_report(hopscout, home: Path) -> None:
    run = hopscout(
        "eval",
        str(FIXTURES / "scifact_mini"),
        "--augment",
        "auto",
        "--augmenter",
        "rocchio",
        "--json",
        "--home",
        str(home),
    )
    assert run.code == 0, run.err
    report = json.loads(run.out)
    result = report["results"]["rocchio"]
    rows, changed = result["rows"], result["changed"]
    assert set(rows) == {"never", "always", "auto", "auto_default", "oracle"}
    assert rows["never"]["augmented"] == 0.0 and rows["always"]["augmented"] == 1.0
    assert rows["auto"]["augmented"] <= 0.5  # each fold gate augments <= 30% of the half it was fitted on
    assert rows["oracle"]["ndcg@10"] >= max(rows["never"]["ndcg@10"], rows["always"]["ndcg@10"])
    assert rows["never"]["ndcg@10"] == pytest.approx(report["baselines"]["hybrid"])  # never is plain hybrid
    assert changed["gain"] + changed["loss"] + changed["same"] == report["queries"]
    oracle_gain = rows["oracle"]["ndcg@10"] - rows["never"]["ndcg@10"]
    assert (oracle_gain > 1e-9) == (changed["gain"] > 0)  # the oracle wins exactly on the queries that gain
    if oracle_gain > 1e-9:  # the goal's measure: auto's gain over never as a share of the oracle's
        auto_gain = rows["auto"]["ndcg@10"] - rows["never"]["ndcg@10"]
        assert result["oracle_capture"] == pytest.approx(auto_gain / oracle_gain)
    else:
        assert result["oracle_capture"] is None
    curve = result["oracle_curve"]  # a perfect decision, augmenting where always's fused list gains
    assert curve["always"] == pytest.approx(rows["always"]["ndcg@10"])
    assert curve["fused"]["curve"][-1]["ndcg@10"] == pytest.approx(rows["oracle"]["ndcg@10"])
    assert curve["best"]["curve"][-1]["ndcg@10"] >= curve["fused"]["curve"][-1]["ndcg@10"] - 1e-12
    assert curve["fused"]["helped"] == pytest.approx(changed["gain"] / report["queries"])
    reach = curve["confidence_reach"]  # a perfect judge never needs more queries than the cascade's judge
    assert reach["judged"] is None or (
        reach["perfect_judge"] is not None and reach["perfect_judge"] <= reach["judged"]
    )
    assert set(result["signal_rho"]) >= {"dense_top", "agreement", "idf_mean"}
    assert all(-1.0 <= rho <= 1.0 for rho in result["signal_rho"].values())
    assert all(row["p50_ms"] > 0 for row in rows.values())


SUITES = ("retrieval", "tools", "multihop", "augment", "confidence")


def test_eval_help_lists_one_command_per_suite(hopscout) -> None:
    run = hopscout("eval", "--help")
    assert run.code == 0, run.err
    assert all(suite in run.out for suite in SUITES) and "legacy form" in run.out


@pytest.mark.parametrize(
    ("suite", "own", "foreign"),
    [
        ("retrieval", ("--modes", "--ingest-sample", "--poison"), ("--views", "--hops", "--augmenter")),
        ("tools", ("--views", "--caller-queries", "--llm", "--expand", "--poison"), ("--modes", "--hops")),
        (
            "multihop",
            ("--hops", "--hop-oracle", "--operators", "--fills", "--lowercase"),
            ("--views", "--modes"),
        ),
        ("augment", ("--policies", "--augmenter", "--mode", "--recorded"), ("--views", "--hops")),
        ("confidence", ("--limit", "--json"), ("--modes", "--views", "--hops", "--augmenter")),
    ],
)
def test_each_eval_suite_has_only_its_own_options(hopscout, suite: str, own, foreign) -> None:
    run = hopscout("eval", suite, "--help")
    assert run.code == 0, run.err
    assert all(option in run.out for option in own), run.out
    assert not any(option in run.out for option in foreign), run.out


def test_legacy_eval_flags_route_to_their_suite() -> None:
    from hopscout.cli import _legacy_eval_args as route

    assert route(["D", "--json"]) == ["retrieval", "D", "--json"]
    assert route(["D", "--tools", "--poison", "--json"]) == ["tools", "D", "--poison", "--json"]
    assert route(["D", "--augment", "auto", "--augmenter", "rm3"])[0] == "augment"
    assert route(["D", "--confidence", "--json"]) == ["confidence", "D", "--json"]
    assert route(["D", "--hops", "2", "--hop-oracle"]) == ["multihop", "D", "--hops", "2", "--hop-oracle"]
    assert route(["D", "--hop-oracle"])[0] == "multihop" and route(["D", "--hops=3"])[0] == "multihop"
    assert route(["D", "--hops", "1", "--tools"]) == ["tools", "D"]  # --hops 1 was the single-shot default


def test_eval_retrieval_command(hopscout, home: Path) -> None:
    run = hopscout(
        "eval", "retrieval", str(FIXTURES / "scifact_mini"), "--modes", "lexical", "--limit", "5",
        "--ingest-sample", "0", "--json", "--home", str(home),
    )  # fmt: skip
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["queries"] == 5 and set(report["results"]) >= {"lexical"}


def test_eval_confidence_command_and_its_legacy_form(hopscout, home: Path) -> None:
    folder, common = str(FIXTURES / "scifact_mini"), ("--limit", "8", "--json", "--home", str(home))
    new = hopscout("eval", "confidence", folder, *common)
    old = hopscout("eval", folder, "--confidence", *common)
    assert new.code == 0 and old.code == 0, (new.err, old.err)
    report = json.loads(new.out)
    assert report.keys() == json.loads(old.out).keys()  # the same report (timings aside)
    lexical = report["lexical"]  # a lexical search's models (BM25 alone), scored the same way
    assert lexical["queries"] == report["queries"] == 8
    assert all(
        0.0 <= lexical[part][m] <= 1.0 for part in ("results", "default") for m in ("auroc_top1", "ece")
    )


def test_eval_multihop_command(hopscout, home: Path) -> None:
    run = hopscout(
        "eval", "multihop", str(FIXTURES / "chains_hotpotqa_ircot"), "--operators", "bridge", "--limit", "4",
        "--json", "--home", str(home),
    )  # fmt: skip
    assert run.code == 0, run.err
    assert json.loads(run.out)


def test_eval_suite_rejects_another_suites_option(hopscout) -> None:
    run = hopscout("eval", "confidence", str(FIXTURES / "scifact_mini"), "--views", "x.jsonl")
    assert run.code == 2 and run.err.startswith("error:") and "--views" in run.err, run


def test_calibrate_stores_the_weight_a_search_then_uses(hopscout, tmp_path: Path, embedder) -> None:
    from hopscout import Scout, Settings
    from hopscout.calibration import WEIGHT_GRID
    from hopscout.evaluation.datasets import load_dataset

    folder = FIXTURES / "scifact_mini"
    dataset = load_dataset(folder)
    store, collection = str(tmp_path / "store"), "labelled"
    relevant = {doc for judged in dataset.qrels.values() for doc, grade in judged.items() if grade > 0}
    ids = [
        i for n, i in enumerate(dataset.corpus) if i in relevant or n < 30
    ]  # its judged part, ids as in qrels
    with Scout(Settings(home=store), embedder=embedder) as scout:
        scout.add([dataset.doc_text(i) for i in ids], ids=ids, collection=collection)
    run = hopscout("calibrate", str(folder), "--collection", collection, "--home", store, "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["collection"] == collection and report["queries"] > 0
    assert report["fusion_weight"] in WEIGHT_GRID
    assert report["ndcg@10_by_weight"][str(report["fusion_weight"])] == max(
        report["ndcg@10_by_weight"].values()
    )
    for part in ("confidence", "confidence_lexical"):
        assert report[part]["held_out_brier"] >= 0 and isinstance(report[part]["calibrated"], bool)
    shown = hopscout("collections", "--home", store, "--json")
    assert shown.code == 0, shown.err
    stored = [c["fusion_weight"] for c in json.loads(shown.out) if c["name"] == collection]
    assert stored == [report["fusion_weight"]]  # stored with the collection: what its searches use
    missing = hopscout("calibrate", str(folder), "--collection", "no-such-collection", "--home", store)
    assert missing.code != 0 and "no-such-collection" in missing.err and "Traceback" not in missing.err
