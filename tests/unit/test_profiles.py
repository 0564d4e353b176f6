"""Profiles (hopscout.tools.profiles): a servers.json's named subsets, checked against its servers, and which tools
each admits (server allow-lists, tags resolved into servers, key and name globs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hopscout import InvalidArgumentError, Profile

CONFIG: dict[str, Any] = {
    "mcpServers": {
        "flights": {"command": "f", "tags": ["travel"]},
        "hotels": {"command": "h", "tags": ["travel", "booking"]},
        "github": {"url": "http://g", "tags": ["code"]},
        "files": {"command": "x"},
    },
    "profiles": {
        "travel": {"tags": ["travel"]},
        "triage": {"servers": ["github"], "tools": ["github/*issue*", "get_*"]},
        "readers": {"tools": ["*/read_*", "list_*"]},
        "mixed": {"servers": ["files"], "tags": ["booking"]},
    },
}


def _profiles() -> dict[str, Profile]:
    return Profile.all_in(CONFIG)


def test_tags_resolve_into_the_servers_that_carry_them() -> None:
    profiles = _profiles()
    assert profiles["travel"].servers == {"flights", "hotels"}
    assert profiles["mixed"].servers == {"files", "hotels"}  # named servers and tagged ones
    assert profiles["readers"].servers is None  # neither given: every server
    assert profiles["travel"].namespaces(["files", "github", "hotels", "flights"]) == ["flights", "hotels"]


def test_tool_globs_match_keys_or_names_within_the_servers() -> None:
    triage = _profiles()["triage"]
    assert triage.admits("github", "create_issue")
    assert triage.admits("github", "get_pull_request")  # a glob without "/" matches the name
    assert not triage.admits("github", "merge_pull_request")
    assert not triage.admits("files", "get_file")  # a server outside the profile, whatever the glob
    readers = _profiles()["readers"]
    assert readers.admits("files", "read_file") and readers.admits("github", "list_repos")
    assert not readers.admits("files", "write_file")
    assert not readers.admits("files", "Read_file")  # globs are case-sensitive


def test_keep_selects_framework_tools_and_refuses_an_empty_selection() -> None:
    triage = _profiles()["triage"]
    tools = [{"n": "create_issue"}, {"n": "delete_repo"}, {"n": "get_user"}]
    assert triage.keep(tools, lambda t: t["n"], "github") == [tools[0], tools[2]]
    with pytest.raises(InvalidArgumentError, match="triage.*admits none of the 3 tools"):
        triage.keep(tools, lambda t: t["n"], "files")
    assert Profile("every").keep(tools, lambda t: t["n"]) == tools  # no server given, none required


def test_an_unknown_profile_names_the_ones_defined(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    path.write_text(json.dumps(CONFIG))
    assert Profile.from_file(path, "travel") == _profiles()["travel"]
    with pytest.raises(InvalidArgumentError, match="no profile 'ops'.*mixed, readers, travel, triage"):
        Profile.from_file(path, "ops")
    with pytest.raises(InvalidArgumentError, match="defines: none"):
        Profile.from_config({"mcpServers": CONFIG["mcpServers"]}, "travel")


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (
            {"servers": ["gitlab"]},
            "names server 'gitlab', which is not configured; its servers: files, flights",
        ),
        ({"tags": ["finance"]}, "selects tag 'finance', which no server carries; tags in use: booking, code"),
        ({"server": ["github"]}, "has 'server'; a profile holds servers, tools, tags"),
        ({"tools": "github/*"}, '"tools" must be a list of strings'),
        ({"tools": [""]}, "a glob must not be empty"),
        ({"servers": []}, "selects no server"),
        ("github", "must be an object"),
    ],
)
def test_a_malformed_profile_says_what_to_fix(profile: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(")):
        Profile.all_in({**CONFIG, "profiles": {"p": profile}})


def test_server_tags_are_checked_and_code_profiles_name_their_servers() -> None:
    bad = {"mcpServers": {"files": {"command": "x", "tags": "travel"}}}
    with pytest.raises(InvalidArgumentError, match="server 'files' \"tags\" must be a list"):
        Profile.tags_in(bad)
    with pytest.raises(InvalidArgumentError, match="only a servers.json resolves"):
        Profile("travel", tags=frozenset({"travel"}))
    with pytest.raises(InvalidArgumentError, match="profile's name"):
        Profile("two words")
    assert "servers github; tools github/*issue*, get_*" in _profiles()["triage"].describe()
