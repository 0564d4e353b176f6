"""What a folder ingest may read (issue 25, finding 5): every file it reaches is resolved and checked against the
allowed folders, a symlink leading out is skipped and reported, and files over HOPSCOUT_MAX_FILE_BYTES are never
read. Each attack goes through a public surface: the Python API, the ``hopscout`` CLI and the MCP server's
``ingest`` tool through a real (in-process) MCP client; the legitimate files beside it still ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hopscout import InvalidArgumentError, Scout, UnreadableFileError
from hopscout.ingest.pipeline import (
    BROKEN_LINK,
    LINK_TO_SKIPPED,
    LINKED_FOLDER,
    OUTSIDE_FILE,
    OUTSIDE_FOLDER,
)

SECRET = "aws_secret_access_key = wJalrXUtnFEMI quokkapassword credentials for the production account"
NOTES = "The survey team counts quokkas on Rottnest Island at dawn along each transect."
_SCRIPT = Path(sys.executable).parent / "hopscout"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "hopscout.cli"]


def make_workspace(tmp: Path) -> dict[str, Path]:
    """A workspace folder whose files link to a credentials file and a folder outside it, to a hidden file inside
    it, in a loop and to nothing; plus one honest note and an honest link to it."""
    outside = tmp / "home-dir"
    (outside / ".aws").mkdir(parents=True)
    creds = outside / ".aws" / "credentials.txt"
    creds.write_text(SECRET)
    work = tmp / "workspace"
    (work / "sub").mkdir(parents=True)
    note = work / "notes.md"
    note.write_text(NOTES)
    (work / ".env").write_text("DB_PASSWORD=quokkapassword")
    links = {
        "creds": (work / "readme.txt", creds),  # the attack: a workspace file that is a link to credentials
        "folder": (work / "aws", outside / ".aws"),
        "hidden": (work / "env.txt", work / ".env"),
        "loop_a": (work / "loop-a.txt", work / "loop-b.txt"),
        "loop_b": (work / "loop-b.txt", work / "loop-a.txt"),
        "broken": (work / "gone.txt", work / "nothing-here.txt"),
        "honest": (work / "sub" / "notes-link.md", note),
        "self": (work / "sub" / "up", work),  # a folder link back up: a loop if it were followed
    }
    for link, target in links.values():
        link.symlink_to(target)
    return {"work": work, "outside": outside, "creds": creds, "note": note} | {
        name: link for name, (link, _) in links.items()
    }


EXPECTED_SKIPS = {
    "creds": OUTSIDE_FILE,
    "folder": OUTSIDE_FOLDER,
    "hidden": LINK_TO_SKIPPED,
    "loop_a": BROKEN_LINK,
    "loop_b": BROKEN_LINK,
    "broken": BROKEN_LINK,
    "self": LINKED_FOLDER,
}


def check_report(report: dict[str, Any], ws: dict[str, Path]) -> None:
    """The credentials are reported skipped with the reason, never added; the honest files are added."""
    assert sorted(report["added"]) == sorted([str(ws["note"]), str(ws["honest"])])
    for name, reason in EXPECTED_SKIPS.items():
        assert report["skipped"][str(ws[name])] == reason, name
    assert report["skipped"][str(ws["work"] / ".env")] == "hidden file"
    assert not report["failed"]


@pytest.fixture
def scout(tmp_path: Path, embedder: Any) -> Any:
    with Scout(home=tmp_path / "home", embedder=embedder) as made:
        yield made


def test_symlinks_out_of_the_folder_are_skipped_and_reported(scout: Scout, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    report = scout.ingest(ws["work"], collection="work")
    check_report(report.to_dict(), ws)
    texts = [h.text for h in scout.search("aws secret access key credentials", k=10, collection="work")]
    assert texts and all("wJalrXUtnFEMI" not in t for t in texts)
    assert scout.search("quokkapassword", k=10, mode="lexical", collection="work") == []


def test_roots_widen_what_links_may_reach_and_refuse_paths_outside(scout: Scout, tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    # The folder the link points into is allowed too: the link is followed; a link to a folder still is not.
    both = scout.ingest(ws["work"], collection="both", roots=[ws["work"], ws["outside"] / ".aws"])
    assert str(ws["creds"]) in both.added
    assert both.skipped[str(ws["folder"])] == LINKED_FOLDER
    # Only the workspace: the same link is skipped; given as the path itself, it is refused.
    only = scout.ingest(ws["work"], collection="only", roots=[ws["work"]])
    assert only.skipped[str(ws["creds"])] == OUTSIDE_FILE
    with pytest.raises(UnreadableFileError, match="outside the folders ingest may read"):
        scout.ingest(ws["creds"], collection="refused", roots=[ws["work"]])
    # Under a root, a hidden folder (or .git, node_modules, ...) is refused as the walk would pass it over.
    with pytest.raises(UnreadableFileError, match="hidden or in a folder ingest skips"):
        scout.ingest(ws["outside"] / ".aws", collection="refused", roots=[ws["outside"]])
    with pytest.raises(InvalidArgumentError, match="roots must be a list"):
        scout.ingest(ws["work"], collection="refused", roots=str(ws["work"]))  # type: ignore[arg-type]
    assert "refused" not in {c.name for c in scout.collections()}


def test_files_over_the_size_cap_are_skipped_unread(tmp_path: Path, embedder: Any) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "small.txt").write_text(NOTES)
    (folder / "huge.txt").write_text("pangolin " * 200)  # 1800 bytes
    with Scout(home=tmp_path / "home", embedder=embedder, max_file_bytes=1000) as scout:
        report = scout.ingest(folder, collection="capped")
        assert report.added == (str(folder / "small.txt"),)
        assert report.skipped == {
            str(folder / "huge.txt"): "over the size limit of 1000 bytes (HOPSCOUT_MAX_FILE_BYTES)"
        }
        assert scout.search("pangolin", k=5, mode="lexical", collection="capped") == []
        with pytest.raises(UnreadableFileError, match=r"huge\.txt is 1800 bytes, over the limit of 1000"):
            scout.ingest(folder / "huge.txt", collection="capped")


def test_a_file_that_turns_into_an_outside_link_counts_as_removed(scout: Scout, tmp_path: Path) -> None:
    """Skipping is the "removed" semantics, not a silent keep: the collection holds what a clean ingest of the
    folder as it is now would hold, and the report names the file under both removed and skipped."""
    ws = make_workspace(tmp_path)
    plain = ws["work"] / "plan.txt"
    plain.write_text("The wombat burrow survey starts on Monday.")
    first = scout.ingest(ws["work"], collection="turns")
    assert str(plain) in first.added
    plain.unlink()
    plain.symlink_to(ws["creds"])
    again = scout.ingest(ws["work"], collection="turns")
    assert again.removed == (str(plain),)
    assert again.skipped[str(plain)] == OUTSIDE_FILE
    assert scout.search("wombat burrow", k=5, mode="lexical", collection="turns") == []
    assert scout.search("wJalrXUtnFEMI", k=5, mode="lexical", collection="turns") == []


def test_a_folder_swapped_for_an_outside_link_after_the_check_is_not_read(
    scout: Scout, tmp_path: Path
) -> None:
    """The race between the walk's check and the read: after every file was checked, a folder on a checked
    file's path is replaced by a link to a folder outside holding a file of the same name. Opening the checked
    path would read the outside file (only the last component is opened without following links); the read
    compares the file's identity with the one checked and refuses it."""
    ws = make_workspace(tmp_path)
    (ws["outside"] / "sub").mkdir()
    (ws["outside"] / "sub" / "zz-plan.txt").write_text(SECRET)
    plan = ws["work"] / "sub" / "zz-plan.txt"
    plan.write_text("The wombat burrow survey starts on Monday.")

    def swap(done: int, total: int) -> None:
        if done == 0:  # every file is checked by now; none is read yet
            (ws["work"] / "sub").rename(ws["work"] / "sub-was")
            (ws["work"] / "sub").symlink_to(ws["outside"] / "sub")

    report = scout.ingest(ws["work"], collection="raced", parsed=swap)
    assert "is not the file that was checked" in report.failed[str(plan)]
    assert str(ws["note"]) in report.added  # the honest note, read before nothing changed under it
    assert scout.search("wJalrXUtnFEMI", k=5, mode="lexical", collection="raced") == []


# ---------------------------------------------------------------- the CLI


def test_cli_ingest_reports_the_link_and_search_cannot_find_the_secret(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    env.update(HOPSCOUT_HOME=str(tmp_path / "home"), NO_COLOR="1", COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )

    ingested = run("ingest", str(ws["work"]), "-c", "cli-work", "--json")
    assert ingested.returncode == 0, ingested.stderr
    check_report(json.loads(ingested.stdout), ws)
    plain = run("ingest", str(ws["work"]), "-c", "cli-work")
    assert plain.returncode == 0, plain.stderr
    assert f"skipped 1 file, {OUTSIDE_FILE}: readme.txt" in plain.stderr
    found = run(
        "search", "wJalrXUtnFEMI aws secret access key", "-c", "cli-work", "--mode", "lexical", "--json"
    )
    assert found.returncode == 0, found.stderr
    assert all("wJalrXUtnFEMI" not in hit["text"] for hit in json.loads(found.stdout)["hits"])


# ---------------------------------------------------------------- the MCP server


async def test_mcp_ingest_skips_links_out_of_the_roots(tmp_path: Path, embedder: Any) -> None:
    pytest.importorskip("mcp.server.mcpserver")
    from mcp import Client

    from hopscout.servers.mcp import HopscoutMCPServer
    from hopscout.servers.settings import ServerSettings

    ws = make_workspace(tmp_path)
    with Scout(home=tmp_path / "home", embedder=embedder) as scout:
        server = HopscoutMCPServer(ServerSettings(roots=[ws["work"]]), scout=scout)
        async with Client(server) as client:
            result = await client.call_tool("ingest", {"path": ".", "collection": "mcp-work"})
            assert not result.is_error, result.content
            report = result.structured_content
            check_report(report, ws)
            # Named directly, the link resolves outside the roots: refused before anything is read.
            refused = await client.call_tool("ingest", {"path": "readme.txt", "collection": "mcp-work"})
            assert refused.is_error and "outside the folders this server may read" in refused.content[0].text
            loop = await client.call_tool("ingest", {"path": "loop-a.txt", "collection": "mcp-work"})
            assert loop.is_error and "cannot be resolved" in loop.content[0].text
            found = await client.call_tool(
                "search", {"query": "aws secret access key credentials", "collection": "mcp-work", "k": 10}
            )
            assert not found.is_error
            assert all("wJalrXUtnFEMI" not in hit["text"] for hit in found.structured_content["hits"])
