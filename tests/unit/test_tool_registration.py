"""The pure parts of the tool catalog, without a model or a store: what register is given (hopscout.tools.intake),
the documents a tool is written as (documents), the trust configuration (policy), a call's filter (scope) and a
request's queries (planning)."""

from __future__ import annotations

import pytest

from hopscout import Settings
from hopscout.errors import InvalidArgumentError, InvalidQueryError
from hopscout.keys import (
    TOOL_HASH,
    TOOL_KEY,
    TOOL_NAMESPACE,
    TOOL_READ_ONLY,
    TOOL_SPEC,
    TOOL_VIEW,
    TOOL_VIEWS_HASH,
)
from hopscout.tools import guard
from hopscout.tools.documents import (
    VIEW_REQUEST,
    VIEW_TOOL,
    is_view_id,
    tool_documents,
    views_hash,
)
from hopscout.tools.intake import check_views, read_tools
from hopscout.tools.planning import MAX_QUERIES, check_requests, plan, plan_batch
from hopscout.tools.policy import TrustPolicy
from hopscout.tools.scope import allowed, store_filter
from hopscout.tools.spec import ToolSpec

SETTINGS = Settings()
READ = ToolSpec("read_file", "Read a file", namespace="fs", annotations={"readOnlyHint": True})
OWN = ToolSpec("notes", "Read my notes", annotations={"readOnlyHint": True})


def test_read_tools_skips_what_cannot_enter_and_refuses_a_key_twice() -> None:
    read = read_tools([{"name": "a/b", "description": "x"}, {"name": "ok", "description": "y"}], "srv", "c")
    assert [s.key for s in read.specs] == ["srv/ok"] and list(read.skipped) == ["srv/a/b"]
    with pytest.raises(InvalidArgumentError, match="given twice"):
        read_tools([{"name": "ok", "description": "y"}] * 2, None, "c")
    with pytest.raises(InvalidArgumentError, match="must be a list of tools"):
        read_tools({"name": "ok"}, None, "c")


def test_views_are_keyed_by_tool_and_cleaned() -> None:
    read = read_tools([{"name": "ok", "description": "y"}, {"name": "a#b", "description": "z"}], "srv", "c")
    assert check_views({"ok": [" mail  me ", "mail me"], "a#b": ["dropped with its tool"]}, read) == {
        "srv/ok": ["mail me"]
    }
    with pytest.raises(InvalidArgumentError, match="not among the tools"):
        check_views({"nope": ["x"]}, read)


def test_a_tool_and_its_views_as_documents() -> None:
    docs = tool_documents([READ], {READ.key: ["open config.yaml", "show a file"]}, {READ.key: READ})
    assert docs.ids == ["fs/read_file", "fs/read_file#r0", "fs/read_file#r1"]
    own, view = docs.metadatas[0], docs.metadatas[1]
    assert own[TOOL_VIEW] == VIEW_TOOL and own[TOOL_KEY] == READ.key and own[TOOL_NAMESPACE] == "fs"
    assert own[TOOL_READ_ONLY] is True and TOOL_SPEC in own and own[TOOL_HASH] == view[TOOL_HASH]
    assert view[TOOL_VIEW] == VIEW_REQUEST and view[TOOL_VIEWS_HASH] == views_hash(
        ["open config.yaml", "show a file"]
    )
    assert is_view_id("fs/read_file#r1", "fs/read_file") and not is_view_id("fs/read_file#x", "fs/read_file")


def test_trust_is_configuration_and_read_only_needs_a_voucher() -> None:
    policy = TrustPolicy({"fs": "untrusted"}, {"mail": ["list_inbox"]})
    assert policy.trust_of("fs") == guard.UNTRUSTED and policy.trust_of("other") == guard.UNTRUSTED
    assert not policy.is_read_only(READ) and policy.is_read_only(
        OWN
    )  # an untrusted server's hint is its claim
    assert policy.is_read_only(ToolSpec("list_inbox", "x", namespace="mail"))
    version = policy.version
    policy.set_trust("fs", "trusted")
    assert policy.is_read_only(READ) and policy.version == version + 1
    policy.set_trust("fs", "trusted")
    assert policy.version == version + 1  # no change, no new version
    copy = TrustPolicy()
    copy.adopt(policy)
    copy.set_trust("fs", "untrusted")
    assert policy.trust_of("fs") == guard.TRUSTED and copy.trust_of("fs") == guard.UNTRUSTED
    with pytest.raises(InvalidArgumentError, match="not a namespace"):
        TrustPolicy({"a/b": "trusted"})
    with pytest.raises(InvalidArgumentError, match="list of tool names"):
        TrustPolicy(read_only_tools={"fs": "read_file"})


def test_the_read_only_store_filter_follows_the_rule() -> None:
    policy = TrustPolicy({"fs": "trusted"}, {"mail": ["list_inbox"]})
    assert policy.read_only_filter([READ, OWN]) == {
        "$or": [
            {"$and": [{TOOL_NAMESPACE: {"$in": ["fs"]}}, {TOOL_READ_ONLY: True}]},
            {"$and": [{TOOL_NAMESPACE: {"$nin": ["fs"]}}, {TOOL_READ_ONLY: True}]},
            {TOOL_KEY: {"$in": ["mail/list_inbox"]}},
        ]
    }
    assert TrustPolicy().read_only_filter([READ]) is None  # nothing can pass


def test_a_calls_filter_in_the_store_and_as_a_test() -> None:
    policy = TrustPolicy()
    scope = allowed(["fs"], False, policy)
    assert scope.alone and scope(READ) and not scope(OWN)
    assert store_filter(scope, policy, [READ]).where == {TOOL_NAMESPACE: {"$in": ["fs"]}}
    assert store_filter(allowed(None, True, policy), policy, [READ]).empty
    with pytest.raises(InvalidArgumentError, match="read_only must be True or False"):
        allowed(None, 1, policy)
    with pytest.raises(InvalidArgumentError, match="namespaces must be a non-empty list"):
        allowed("fs", False, policy)


def test_requests_and_queries_are_checked_by_the_core_and_stripped() -> None:
    assert check_requests([" find a file "], SETTINGS) == ["find a file"]
    for bad in ("a request", [], ["ok", " "], [3], ["x" * (SETTINGS.max_query_chars + 1)]):
        with pytest.raises(InvalidQueryError):
            check_requests(bad, SETTINGS)
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_QUERIES - 1} queries"):
        plan("r", ["q"] * MAX_QUERIES, None, None, SETTINGS)
    with pytest.raises(InvalidQueryError):
        plan("r", "one query", None, None, SETTINGS)
    with pytest.raises(InvalidQueryError, match="one list of strings"):
        plan_batch(["a", "b"], [["q"]], None, None, SETTINGS)
    with pytest.raises(InvalidArgumentError, match="generate must be"):
        plan_batch(["a"], None, "yes", None, SETTINGS)


def test_a_plan_without_an_llm() -> None:
    given = plan("mail the team", [" send an email ", "mail the team", "send an email"], None, None, SETTINGS)
    assert given.queries == ["mail the team", "send an email"] and given.rewrites and not given.generated
    assert plan("mail the team", [], None, None, SETTINGS).queries == ["mail the team"]  # the request alone
    request = "find the latest sales report and then email it to my manager"
    steps = plan(request, None, None, None, SETTINGS)
    assert len(steps.queries) > 1 and not steps.rewrites and steps.note is None
    asked = plan(request, None, True, None, SETTINGS)
    assert asked.queries == steps.queries and asked.note is not None and "no LLM is configured" in asked.note
