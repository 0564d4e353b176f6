"""The quick lexical search's own reading of settings, and the defaults and formulas it shares with the full search
(each written out there so that it imports neither pydantic nor the store: these tests keep them equal)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hopscout import cli
from hopscout.embedders import make_embedder
from hopscout.index import content_hash as index_content_hash
from hopscout.lexical import quick_search
from hopscout.lexical.quick_search import QuickSettings, content_hash, demoted, quick_settings
from hopscout.retrieval.prior import PRIOR_DEPTH
from hopscout.retrieval.results import demoted as results_demoted
from hopscout.settings import AUGMENT_POLICIES, SEARCH_MODES, Settings, load_settings


def test_defaults_are_the_settings_defaults() -> None:
    fields = Settings.model_fields
    for name, value in vars(QuickSettings()).items():
        assert fields[name].default == value, name
    assert set(quick_search.QUICK_SETTINGS) <= set(fields)
    assert quick_search.SETTINGS_FIELDS == set(fields)  # what the quick search ignores, Settings ignores


def test_the_cli_vocabularies_are_the_settings_ones() -> None:
    assert cli.SEARCH_MODES == SEARCH_MODES
    assert cli.AUGMENT_POLICIES == AUGMENT_POLICIES


def test_shared_formulas_and_constants_match_their_owners() -> None:
    for text, meta in [
        ("Paris is the capital of France.", {"source": "a.txt", "hs_flags": ""}),
        ("naïve café — ünïcode", {"n": 3, "x": 0.5, "ok": True, "heading": "Intro"}),
        ("", {}),
    ]:
        assert content_hash(text, meta) == index_content_hash(text, meta)
    for score in (3.2, -1.5, 0.0):
        for demotion in (0.0, 0.25, 1.0):
            assert demoted(score, demotion) == results_demoted(score, demotion)
    assert quick_search.PRIOR_DEPTH == PRIOR_DEPTH
    assert quick_search.BUNDLED_EMBEDDER_ID == make_embedder(load_settings()).id


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, QuickSettings()),
        ({"PATH": "/bin", "HOPSCOUT_HOME": "/data/hs"}, QuickSettings(home=Path("/data/hs"))),
        ({"hopscout_collection": "notes"}, QuickSettings(collection="notes")),  # pydantic reads any case
        (
            {"HOPSCOUT_LEXICAL_BACKEND": "tantivy", "HOPSCOUT_CANDIDATES": "80"},
            QuickSettings(lexical_backend="tantivy", candidates=80),
        ),
        ({"HOPSCOUT_FLAGGED_DEMOTION": "0.5"}, QuickSettings(flagged_demotion=0.5)),
        ({"HOPSCOUT_CHROMA_URL": "  ", "HOPSCOUT_STORE": "chroma"}, QuickSettings()),
        ({"HOPSCOUT_SEARCH_MODE": "hybrid"}, QuickSettings()),
        # not settings (Settings ignores them too): a test suite's server, a face's own profile
        ({"HOPSCOUT_TEST_CHROMA_URL": "http://127.0.0.1:8123", "HOPSCOUT_PROFILE": "ops"}, QuickSettings()),
    ],
)
def test_settings_it_can_vouch_for(environ: dict[str, str], expected: QuickSettings) -> None:
    # the home is expanded as Settings expands it, the default one too (else ~/.hopscout is never found)
    assert quick_settings(environ=environ) == dataclasses.replace(expected, home=expected.home.expanduser())


@pytest.mark.parametrize(
    "environ",
    [
        {"HOPSCOUT_CHROMA_URL": "http://127.0.0.1:8000"},  # a server: only the full search reads it
        {"HOPSCOUT_EMBEDDER": "all-MiniLM-L6-v2"},  # not among the settings it reads
        {"HOPSCOUT_LLM_BASE_URL": "http://127.0.0.1:11434/v1"},  # turns augmentation on
        {"HOPSCOUT_MAX_K": "1000"},
        {"HOPSCOUT_LEXICAL_BACKEND": "bm25s"},  # the full search refuses it: the quick one must not answer
        {"HOPSCOUT_SEARCH_MODE": "Lexical"},
        {"HOPSCOUT_CANDIDATES": "0"},
        {"HOPSCOUT_CANDIDATES": " 50"},  # a form it does not read the way pydantic does: leave it to pydantic
        {"HOPSCOUT_FLAGGED_DEMOTION": "1.5"},
        {"HOPSCOUT_FLAGGED_DEMOTION": "nan"},
        {"HOPSCOUT_HOME": ""},
        {"HOPSCOUT_STORE": "qdrant"},
        {"HOPSCOUT_HOME": "/a", "hopscout_home": "/b"},  # which one pydantic takes is not ours to guess
    ],
)
def test_any_other_setting_leaves_the_search_to_the_full_path(environ: dict[str, str]) -> None:
    assert quick_settings(environ=environ) is None


def test_home_argument_wins_over_the_variable() -> None:
    got = quick_settings(Path("~/elsewhere"), {"HOPSCOUT_HOME": "/data/hs"})
    assert got == QuickSettings(home=Path("~/elsewhere").expanduser())
    assert load_settings(home=Path("~/elsewhere")).home == got.home


def test_settings_it_accepts_are_read_the_same_way_by_pydantic(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {
        "HOPSCOUT_HOME": "~/hs-data",
        "HOPSCOUT_COLLECTION": "notes",
        "HOPSCOUT_LEXICAL_BACKEND": "tantivy",
        "HOPSCOUT_CANDIDATES": "120",
        "HOPSCOUT_FLAGGED_DEMOTION": "0.75",
        "HOPSCOUT_CHROMA_URL": " ",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    full = load_settings()
    quick = quick_settings(environ=environ)
    assert quick is not None and full.chroma_url is None
    for name, value in vars(quick).items():
        assert getattr(full, name) == value, name
