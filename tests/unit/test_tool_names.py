"""hopscout.tools.names and the pure parts of context: partial names (ordered, unambiguous, whole request only),
select: parsing and lookup, the conversation's turns checked and weighed (no model, no store)."""

from __future__ import annotations

import pytest

from hopscout import Settings
from hopscout.errors import InvalidArgumentError, InvalidQueryError
from hopscout.tools.conversation import CONTEXT_WEIGHT, add_context
from hopscout.tools.names import (
    MAX_SELECT,
    MENTION_BONUS,
    PARTIAL_BONUS,
    WHOLE_BONUS,
    NameIndex,
    name_form,
    name_matches,
    name_tokens,
    parse_select,
    selected_keys,
)
from hopscout.tools.planning import MAX_CONTEXT_TURNS, check_context, plan
from hopscout.tools.policy import TrustPolicy
from hopscout.tools.scope import Allowed
from hopscout.tools.search import Ranking, Scored, ToolRequest
from hopscout.tools.snapshot import Snapshot
from hopscout.tools.spec import ToolSpec

SETTINGS = Settings()
TOOLS = [
    ToolSpec("getWeatherForecast", "Weather forecast"),
    ToolSpec("get_weather_now", "Current weather"),
    ToolSpec("search_flights", "Find flights"),
    ToolSpec("search_flights", "Find flights", namespace="air"),
    ToolSpec("searchHotels", "Find hotels"),
    ToolSpec("ask_codex", "Ask a coding assistant"),
    ToolSpec("translate", "Translate text"),
]


def by_name(specs: list[ToolSpec]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for spec in specs:
        for form in {name_form(spec.name), name_form(spec.key)}:
            out.setdefault(form, []).append(spec.key)
    return out


INDEX = NameIndex(TOOLS)
SPECS = {spec.key: spec for spec in TOOLS}
BY_NAME = by_name(TOOLS)


def test_name_tokens_split_every_style_alike() -> None:
    for text in (
        "getWeatherForecast",
        "get_weather_forecast",
        "get-weather.forecast",
        "GET WEATHER FORECAST",
    ):
        assert name_tokens(text) == ("get", "weather", "forecast")


@pytest.mark.parametrize(
    "request_", ["weather forecast", "Weather-Forecast", "weatherForecast", "get.forecast"]
)
def test_a_partial_name_in_any_style_finds_its_one_tool(request_: str) -> None:
    assert INDEX.partial(request_) == ["getWeatherForecast"]


def test_a_partial_name_finds_every_server_bearing_that_name() -> None:
    assert sorted(INDEX.partial("flights")) == ["air/search_flights", "search_flights"]


@pytest.mark.parametrize(
    "request_",
    [
        "get weather",  # in two names
        "search",  # one short token: a word, not a name
        "codex",  # as short, though unique
        "forecast weather",  # out of order
        "weather forecast for tomorrow",  # words no name holds
        "",
    ],
)
def test_what_is_not_an_unambiguous_partial_name(request_: str) -> None:
    assert INDEX.partial(request_) == []


def test_a_single_long_token_unique_in_the_catalog_is_a_partial_name() -> None:
    assert INDEX.partial("HOTELS") == ["searchHotels"]
    assert INDEX.partial("search hotels") == ["searchHotels"]  # a whole name is its own partial too


def test_name_matches_ranks_whole_over_partial_and_adds_mentions() -> None:
    assert name_matches("get_weather_now", SPECS, BY_NAME, INDEX) == {"get_weather_now": (WHOLE_BONUS, False)}
    assert name_matches("weather forecast", SPECS, BY_NAME, INDEX) == {
        "getWeatherForecast": (PARTIAL_BONUS, False)
    }
    assert name_matches("weather forecast", SPECS, BY_NAME) == {}  # no index: whole names and mentions only
    found = name_matches("call ask_codex", SPECS, BY_NAME, INDEX)
    assert found == {"ask_codex": (MENTION_BONUS, False)}
    assert WHOLE_BONUS > PARTIAL_BONUS > MENTION_BONUS


def test_a_partial_match_skips_tools_not_in_the_specs_given() -> None:
    assert name_matches("weather forecast", {}, {}, INDEX) == {}


def test_select_parses_names_in_order_once() -> None:
    assert parse_select("select: b , a,b,,") == ["b", "a"]
    assert parse_select("SELECT:x") == ["x"]
    assert parse_select("please select: x") is None
    assert parse_select("search flights") is None
    with pytest.raises(InvalidQueryError, match="select:NAME"):
        parse_select("select: , ")
    with pytest.raises(InvalidArgumentError, match=str(MAX_SELECT)):
        parse_select("select:" + ",".join(f"t{n}" for n in range(MAX_SELECT + 1)))


def test_selected_keys_by_name_form_or_key_in_order() -> None:
    groups, missing = selected_keys(
        ["Search-Flights", "air/search_flights", "nope", "getweatherforecast"], BY_NAME
    )
    assert groups == [
        ["air/search_flights", "search_flights"],
        ["air/search_flights"],
        ["getWeatherForecast"],
    ]
    assert missing == ["nope"]


def test_a_select_request_plans_no_query() -> None:
    planned = plan("select:a,b", ["ignored"], None, None, SETTINGS, ["a turn"])
    assert planned.select == ("a", "b")
    assert planned.queries == ["select:a,b"] and planned.context == ()


def test_context_is_checked_as_requests_are_and_keeps_the_last_turns() -> None:
    assert check_context(None, SETTINGS) == ()
    assert check_context([], SETTINGS) == ()
    turns = [f"turn {n} " for n in range(MAX_CONTEXT_TURNS + 2)]
    assert check_context(turns, SETTINGS) == tuple(t.strip() for t in turns[-MAX_CONTEXT_TURNS:])
    assert check_context(["same", "same"], SETTINGS) == ("same",)
    with pytest.raises(InvalidQueryError, match="context must be a list"):
        check_context("one string", SETTINGS)
    with pytest.raises(InvalidQueryError, match="context turn is empty"):
        check_context(["  "], SETTINGS)
    with pytest.raises(InvalidQueryError, match="over the limit"):
        check_context(["x" * (SETTINGS.max_query_chars + 1)], SETTINGS)


def test_a_plan_without_context_is_the_plan_it_was() -> None:
    assert plan("find flights", None, False, None, SETTINGS) == plan(
        "find flights", None, False, None, SETTINGS, []
    )


def request(snap: Snapshot) -> ToolRequest:
    return ToolRequest(
        plan("x", None, False, None, SETTINGS), 5, Allowed(None, None), snap, TrustPolicy(), True, SETTINGS
    )


def test_context_breaks_near_ties_but_never_leads() -> None:
    ranking: Ranking = {"a": Scored(1.0, 0), "b": Scored(0.9, 0)}
    stage = add_context([{"b": 0.8, "c": 5.0}, {"b": 0.6}])
    out = stage(ranking, request(Snapshot()))
    assert out["a"] == Scored(1.0, 0)
    assert out["b"] == Scored(0.9 + CONTEXT_WEIGHT * 0.8, 0)  # the best over the turns
    assert out["b"].score > out["a"].score  # a near-tie broken
    assert out["c"] == Scored(
        CONTEXT_WEIGHT * 1.0, 0
    )  # only the turns found it: capped at the request's best
    assert out["c"].score < out["a"].score


def test_context_adds_nothing_to_an_empty_ranking() -> None:
    assert add_context([{"a": 1.0}])({}, request(Snapshot())) == {}
