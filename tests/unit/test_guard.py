"""hopscout.tools.guard: trust, the tool weight, name clashes and the caps on untrusted servers (hubs:
test_hubness.py)."""

from __future__ import annotations

import pytest

from hopscout.errors import InvalidArgumentError
from hopscout.tools.guard import (
    DEMOTION,
    TRUSTED,
    UNTRUSTED,
    cap_servers,
    check_trust,
    name_clashes,
    tool_weight,
    vouched,
)
from hopscout.tools.spec import ToolSpec


def test_trust_levels() -> None:
    assert check_trust("trusted") == TRUSTED
    with pytest.raises(
        InvalidArgumentError, match="trust must be one of 'trusted', 'untrusted', got 'maybe'"
    ):
        check_trust("maybe")
    assert vouched(None, UNTRUSTED) and vouched("s", TRUSTED) and not vouched("s", UNTRUSTED)


def test_tool_weight_demotes_only_flagged_untrusted_tools() -> None:
    assert tool_weight(("hub",), UNTRUSTED) == DEMOTION
    assert tool_weight(("hub",), TRUSTED) == 1.0 and tool_weight((), UNTRUSTED) == 1.0
    assert tool_weight(("word_list",), UNTRUSTED, demotion=0.5) == 0.5


def spec(name: str, namespace: str | None) -> ToolSpec:
    return ToolSpec(name, "a tool", namespace=namespace)


def test_untrusted_servers_clashing_on_a_name_are_all_flagged_none_taking_it() -> None:
    specs = [spec("send_email", "a"), spec("send_an_email_official", "b"), spec("read_file", "a")]
    assert name_clashes(specs, {}) == {"a/send_email": False, "b/send_an_email_official": False}


def test_one_name_spelled_alike_on_untrusted_servers_is_no_clash() -> None:
    specs = [spec("read_file", "a"), spec("read_file", "b"), spec("getUserSubmissions", "c")]
    specs.append(spec("get-user-submissions", "d"))
    assert name_clashes(specs, {}) == {}  # a gateway's servers share names; their keys tell them apart
    squat = [*specs, spec("read_the_file_official", "e")]
    assert name_clashes(squat, {}) == {
        "a/read_file": False,
        "b/read_file": False,
        "e/read_the_file_official": False,
    }
    # a vouched tool's name spelled alike is no clash either: the router calls tools by their keys
    assert name_clashes(specs, {"a/read_file": TRUSTED}) == {}
    assert name_clashes(squat, {"a/read_file": TRUSTED}) == {"e/read_the_file_official": True}


def test_a_vouched_tool_keeps_its_name_and_the_tools_decorating_it_squat() -> None:
    specs = [spec("send_email", "a"), spec("sendEmail", "b"), spec("SendEmailPro", "c")]
    assert name_clashes(specs, {"a/send_email": TRUSTED}) == {"c/SendEmailPro": True}
    owned = [spec("send_email", None), spec("send_email", "b"), spec("send_the_email", "c")]
    assert name_clashes(owned, {}) == {"c/send_the_email": True}


def test_a_clash_reads_the_squat_words_whatever_the_order_or_the_word_splits() -> None:
    owned = spec("get_forecast", None)
    one_word, squat = spec("getforecast", "x"), spec("GetForecastPro", "evil")  # a name split another way
    for specs in ([owned, one_word, squat], [squat, one_word, owned], [one_word, owned, squat]):
        assert name_clashes(specs, {}) == {"evil/GetForecastPro": True}
    assert name_clashes([spec("websearch", None), spec("web_search_pro", "evil")], {}) == {
        "evil/web_search_pro": True
    }


def test_untrusted_squatters_beside_an_unrelated_vouched_name_are_still_a_clash() -> None:
    specs = [spec("weather_api", None), spec("weather_pro", "a"), spec("official_weather_pro", "b")]
    assert name_clashes(specs, {}) == {"a/weather_pro": False, "b/official_weather_pro": False}


def test_two_names_sharing_a_word_are_no_clash() -> None:
    """``new_game`` is not ``GameTool`` decorated (a chess server's tool beside MetaTool's own ``GameTool``)."""
    specs = [
        spec("GameTool", None),
        spec("new_game", "chess"),
        spec("weather_api", "a"),
        spec("weather_pro", "b"),
    ]
    assert name_clashes(specs, {}) == {}
    # nor, by its name alone, a squatter swapping one decoration for another: its copied text is a shadow
    assert name_clashes([spec("WeatherTool", None), spec("weather_pro", "evil")], {}) == {}


def test_no_clash_within_one_server_or_on_short_names() -> None:
    assert name_clashes([spec("send_email", "a"), spec("sendEmail", "a")], {}) == {}
    assert name_clashes([spec("get_api", "a"), spec("get", "b")], {}) == {}  # "get": under 4 characters


NAMESPACES = {"a/1": "a", "a/2": "a", "a/3": "a", "a/4": "a", "b/1": "b", "own": None}
RANKED = ["a/1", "a/2", "a/3", "a/4", "b/1", "own"]


def test_one_server_takes_at_most_its_share_and_untrusted_ones_yield_to_a_close_vouched_tool() -> None:
    scores = dict.fromkeys(RANKED, 1.0)
    # k=5: a server keeps ceil(0.6 x 5) = 3; untrusted together floor(0.6 x 5) = 3, then "own" (as good) goes first
    assert cap_servers(RANKED, NAMESPACES, {}, 5, scores=scores) == ["a/1", "a/2", "a/3", "own", "b/1", "a/4"]


def test_an_untrusted_tool_keeps_its_place_over_a_clearly_worse_vouched_one() -> None:
    scores = {**dict.fromkeys(RANKED, 1.0), "own": 0.5}
    assert cap_servers(RANKED, NAMESPACES, {}, 5, scores=scores) == ["a/1", "a/2", "a/3", "b/1", "own", "a/4"]


def test_a_trusted_server_is_never_capped() -> None:
    trust = dict.fromkeys(["a/1", "a/2", "a/3", "a/4"], TRUSTED)
    assert cap_servers(RANKED, NAMESPACES, trust, 5, scores=dict.fromkeys(RANKED, 1.0)) == RANKED


def test_all_untrusted_only_the_per_server_cap_acts() -> None:
    ranked = ["a/1", "a/2", "a/3", "b/1"]
    assert cap_servers(ranked, NAMESPACES, {}, 2, scores={}) == ["a/1", "a/2", "b/1", "a/3"]
    assert cap_servers(ranked, NAMESPACES, {}, 1, scores={}) == ["a/1", "b/1", "a/2", "a/3"]
