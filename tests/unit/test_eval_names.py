"""The name probes of ``hopscout eval --tools --names`` on hand-made catalogs: partial names are half the name's
tokens, written another way, unique across the catalog, and the same for the same seed."""

from __future__ import annotations

from hopscout.evaluation.names_eval import NameIndex, NameProbes, name_tokens, partial_name
from hopscout.tools.spec import to_spec

CATALOG = [
    to_spec({"name": name, "description": "a tool"}, namespace)
    for name, namespace in [
        ("ask_codex", None),
        ("askClaude", None),
        ("getWeatherForecast", None),
        ("get_weather", None),
        ("search_flights", "airline-a"),
        ("search_flights", "airline-b"),
        ("list.open.pull.requests", "github"),
        ("ping", None),
    ]
]
BY_KEY = {s.key: s for s in CATALOG}


def test_tokens_split_every_naming_style() -> None:
    assert name_tokens("getWeatherForecast") == ["get", "weather", "forecast"]
    assert name_tokens("list.open.pull-requests_v2") == ["list", "open", "pull", "requests", "v", "2"]


def test_a_partial_is_half_the_tokens_unique_and_written_another_way() -> None:
    index = NameIndex(CATALOG)
    for key in ("ask_codex", "askClaude", "getWeatherForecast", "github/list.open.pull.requests"):
        spec = BY_KEY[key]
        text = partial_name(spec, index)
        assert text is not None, key
        tokens = name_tokens(text)
        assert len(tokens) == (len(name_tokens(spec.name)) + 1) // 2, key
        assert index.matches(tokens) == [key], key  # the partial means this tool and no other
        assert text not in spec.name, key  # separators or case changed
        assert partial_name(spec, index) == text and partial_name(spec, index, seed=1) is not None


def test_no_partial_for_one_token_names_shared_names_or_shared_halves() -> None:
    index = NameIndex(CATALOG)
    assert partial_name(BY_KEY["ping"], index) is None
    # either half of get_weather is also part of getWeatherForecast
    assert partial_name(BY_KEY["get_weather"], index) is None
    assert partial_name(BY_KEY["airline-a/search_flights"], index) is None  # two servers list the name
    assert index.matches(["weather"]) == ["getWeatherForecast", "get_weather"]
    assert index.matches(["weatherfor"]) == ["getWeatherForecast"]  # letters run together across tokens


def test_probes_count_shared_names_and_sample_a_limit_by_seed() -> None:
    probes = NameProbes.build(CATALOG)
    assert probes.exact == {s.key: s.name for s in CATALOG} and probes.shared == 2
    assert {k for k, v in probes.partial.items() if v is None} == {
        "ping",
        "get_weather",
        "airline-a/search_flights",
        "airline-b/search_flights",
    }
    sample = NameProbes.build(CATALOG, limit=3)
    assert len(sample.exact) == 3 and sample == NameProbes.build(CATALOG, limit=3)
    assert set(sample.exact) <= set(probes.exact)
    assert all(sample.partial[k] == probes.partial[k] for k in sample.exact)  # uniqueness against the whole
