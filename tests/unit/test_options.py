"""hopscout.retrieval.options: SearchOptions built from a call and resolved against Settings."""

from __future__ import annotations

from typing import Any

import pytest

from hopscout import Settings
from hopscout.errors import InvalidArgumentError, InvalidQueryError
from hopscout.retrieval.options import (
    MAX_BEAM,
    MAX_HOPS,
    MAX_OPTION_CHARS,
    SearchOptions,
    check_fusion_weight,
    check_k,
    check_queries,
)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


def test_build_refuses_an_unknown_option_and_names_the_valid_ones() -> None:
    with pytest.raises(
        InvalidArgumentError, match="search has no option 'bogus', 'nope'; it accepts: augment, "
    ):
        SearchOptions.build(5, {"nope": 1, "bogus": 2})


def test_build_checks_the_filter_before_any_setting() -> None:
    with pytest.raises(InvalidArgumentError, match="Unknown filter operator"):
        SearchOptions.build(5, {"where": {"$nope": 1}})
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_OPTION_CHARS}"):
        SearchOptions.build(5, {"collection": "c" * (MAX_OPTION_CHARS + 1)})


def test_the_agent_options_are_the_ones_with_descriptions() -> None:
    assert {f.name for f in SearchOptions.agent_options()} == {"hops", "augment", "expansion"}
    assert "k" in SearchOptions.names() and "where" in SearchOptions.names()


def test_resolve_fills_unset_options_from_the_settings(settings: Settings) -> None:
    resolved = SearchOptions.build(5, {}).resolve(settings)
    assert resolved.k == 5 and resolved.hops == 1 and resolved.where is None
    assert resolved.mode == settings.search_mode == "hybrid"
    assert resolved.beam == settings.hop_beam == 3
    assert resolved.hop_fill == pytest.approx(settings.hop_fill) and resolved.hop_fill == pytest.approx(0.3)
    assert resolved.collection == settings.collection == "default"
    assert resolved.hop_operator == settings.hop_operator


def test_resolve_keeps_what_the_call_set() -> None:
    settings = Settings(search_mode="dense", hop_beam=7, collection="c1")
    resolved = SearchOptions.build(
        3, {"mode": "lexical", "beam": 2, "hop_fill": 0, "collection": "c2", "hops": 2, "where": {}}
    ).resolve(settings)
    assert (resolved.mode, resolved.beam, resolved.collection, resolved.hops) == ("lexical", 2, "c2", 2)
    assert resolved.hop_fill == 0.0 and isinstance(resolved.hop_fill, float) and resolved.where is None
    defaulted = SearchOptions.build(3, {}).resolve(settings)
    assert (defaulted.mode, defaulted.beam, defaulted.collection) == ("dense", 7, "c1")


@pytest.mark.parametrize(
    ("k", "options", "message"),
    [
        (0, {}, "k must be between 1 and 1000 \\(HOPSCOUT_MAX_K\\), got 0"),
        (True, {}, "k must be an integer, got bool"),
        (2.0, {}, "k must be an integer, got float"),
        (5, {"mode": "fuzzy"}, "mode must be dense, lexical or hybrid, got 'fuzzy'"),
        (5, {"hops": MAX_HOPS + 1}, f"hops must be an integer from 1 to {MAX_HOPS}, got {MAX_HOPS + 1}"),
        (5, {"hops": 0}, "hops must be an integer from 1"),
        (5, {"beam": MAX_BEAM + 1}, f"beam must be an integer from 1 to {MAX_BEAM}"),
        (5, {"beam": True}, "beam must be an integer"),
        (5, {"hop_fill": 0.95}, "hop_fill must be a number from 0 to 0.9, got 0.95"),
        (5, {"hop_fill": "0.1"}, "hop_fill must be a number"),
    ],
)
def test_resolve_refuses_bad_values(
    settings: Settings, k: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        SearchOptions.build(k, options).resolve(settings)


def test_k_is_held_to_the_settings_max_k() -> None:
    small = Settings(max_k=20)
    assert check_k(20, small) == 20
    with pytest.raises(InvalidArgumentError, match="between 1 and 20"):
        SearchOptions.build(21, {}).resolve(small)


def test_an_expansion_is_held_to_the_query_length() -> None:
    short = Settings(max_query_chars=10)
    assert SearchOptions.build(1, {"expansion": "x" * 10}).resolve(short).expansion == "x" * 10
    with pytest.raises(InvalidQueryError, match="expansion has 11 characters, over the limit of 10"):
        SearchOptions.build(1, {"expansion": "x" * 11}).resolve(short)


def test_fusion_weight_and_queries_checks(settings: Settings) -> None:
    assert check_fusion_weight(1) == 1.0 and isinstance(check_fusion_weight(1), float)
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(InvalidArgumentError, match="fusion_weight must be a number in \\[0, 1\\]"):
            check_fusion_weight(bad)
    assert check_queries(("a", "b"), settings) == ["a", "b"]
    for bad, message in (
        ("a", "queries must be a list of strings, got str"),
        ([], "queries is empty"),
        ([1], "a query must be a string, got int"),
        ([" "], "empty or whitespace"),
        (["x" * 8001], "8001 characters, over the limit of 8000"),
    ):
        with pytest.raises(InvalidQueryError, match=message):
            check_queries(bad, settings)


def test_resolve_fills_what_the_stages_read(settings: Settings) -> None:
    resolved = SearchOptions.build(5, {}).resolve(settings)
    assert resolved.depth == settings.candidates == 50
    assert (
        resolved.fusion_weight == "collection"
    )  # no call or setting weight: the collection's calibrated one
    assert resolved.augmenting is False and resolved.prior is True and resolved.confidence is True
    assert SearchOptions.build(5, {"fusion_weight": 1}).resolve(settings).fusion_weight == 1.0
    assert SearchOptions.build(5, {}).resolve(Settings(fusion_weight=0.2)).fusion_weight == 0.2
    assert SearchOptions.build(5, {"expansion": "hot planet"}).resolve(settings).augmenting is True
    assert SearchOptions.build(5, {"augment": "auto"}).resolve(settings).augmenting is True
    assert SearchOptions.build(5, {"augment": "never"}).resolve(settings).augmenting is False


@pytest.mark.parametrize(("name", "value"), [("prior", 1), ("confidence", "no"), ("fusion_weight", 2)])
def test_resolve_refuses_bad_stage_switches(settings: Settings, name: str, value: Any) -> None:
    with pytest.raises(InvalidArgumentError, match=f"{name} must be"):
        SearchOptions.build(5, {name: value}).resolve(settings)
