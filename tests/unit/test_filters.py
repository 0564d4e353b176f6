"""hopscout.filters: a filter checked, translated to SQL and run on SQLite's JSON, as the lexical index runs it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from hopscout.errors import InvalidArgumentError
from hopscout.filters import MAX_DEPTH, MAX_VALUES, check_key, check_scalar, validate_where, where_to_sql

ROWS = {
    "1": {"lang": "en", "year": 2020, "score": 0.5, "ok": True},
    "2": {"lang": "fr", "year": 2018, "ok": False},
    "3": {"year": "2020"},
    "4": {},
}


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE docs (id TEXT, meta TEXT)")
    con.executemany("INSERT INTO docs VALUES (?, ?)", [(i, json.dumps(m)) for i, m in ROWS.items()])
    yield con
    con.close()


def matching(db: sqlite3.Connection, where: dict[str, Any]) -> set[str]:
    sql, args = where_to_sql(validate_where(where) or {})
    return {row[0] for row in db.execute(f"SELECT id FROM docs WHERE {sql}", args)}


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ({"lang": "en"}, {"1"}),
        ({"lang": {"$eq": "fr"}}, {"2"}),
        ({"lang": {"$ne": "en"}}, {"2", "3", "4"}),  # as in Chroma: a document without the key matches $ne
        ({"year": 2020}, {"1"}),  # the string "2020" is another type
        ({"year": "2020"}, {"3"}),
        ({"year": {"$eq": 2020.0}}, {"1"}),  # int and float compare as numbers
        ({"year": {"$gte": 2019}}, {"1"}),
        ({"year": {"$gt": 2020}}, set()),
        ({"year": {"$lt": 2020}}, {"2"}),
        ({"year": {"$lte": 2020}}, {"1", "2"}),
        ({"score": {"$lt": 1}}, {"1"}),
        ({"ok": True}, {"1"}),
        ({"ok": False}, {"2"}),
        ({"lang": {"$in": ["en", "de"]}}, {"1"}),
        (
            {"lang": {"$nin": ["en"]}},
            {"2", "3", "4"},
        ),  # as in Chroma: a document without the key matches $nin
        ({"$or": [{"lang": "fr"}, {"year": {"$gt": 2019}}]}, {"1", "2"}),
        ({"$and": [{"year": {"$gte": 2018}}, {"lang": {"$ne": "fr"}}]}, {"1"}),
        ({"lang": "en", "year": 2018}, set()),  # several keys: an implicit $and
        ({"$or": [{"$and": [{"lang": "en"}, {"ok": True}]}, {"year": "2020"}]}, {"1", "3"}),
    ],
)
def test_filters_select_what_chroma_selects(
    db: sqlite3.Connection, where: dict[str, Any], ids: set[str]
) -> None:
    assert matching(db, where) == ids


def test_no_filter_is_none() -> None:
    assert validate_where(None) is None and validate_where({}) is None
    assert validate_where({"a": 1}) == {"a": 1}


def test_the_translation_binds_values_as_parameters() -> None:
    sql, args = where_to_sql({"lang": {"$in": ["en", "x'); DROP TABLE docs; --"]}}, column="m")
    assert "DROP" not in sql and "json_extract(m, ?)" in sql
    assert args == ['$."lang"', "en", "x'); DROP TABLE docs; --"]


def nested(levels: int) -> dict[str, Any]:
    where: dict[str, Any] = {"x": 1}
    for _ in range(levels):
        where = {"$and": [where, {"y": 2}]}
    return where


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("lang", "must be a non-empty object"),
        ([{"a": 1}], "must be a non-empty object"),
        ({"$and": [{"a": 1}]}, "takes a list of at least two filters"),
        ({"$or": {"a": 1}}, "takes a list of at least two filters"),
        ({"$not": {"a": 1}}, "Unknown filter operator '\\$not'"),
        ({"a": {"$like": "x"}}, "Unknown filter operator '\\$like' on 'a'"),
        ({"a": {"$eq": 1, "$ne": 2}}, "must have exactly one operator"),
        ({"a": {"$gt": "x"}}, "\\$gt on 'a' takes a number"),
        ({"a": {"$lt": True}}, "\\$lt on 'a' takes a number"),
        ({"a": [1, 2]}, "\\$eq on 'a' takes a string, number or bool"),
        ({"a": {"$in": []}}, "takes a non-empty list of scalars"),
        ({"a": {"$nin": "en"}}, "takes a non-empty list of scalars"),
        ({"a": {"$in": [1, None]}}, "got an item None"),
        ({"a": float("nan")}, "must be a finite number"),
        ({"a": 2**63}, "out of the 64-bit range"),
        ({"a": "x" * 8193}, "over the limit of 8192"),
        ({'a"b': 1}, "Invalid metadata key"),
        ({"#id": 1}, "Invalid metadata key"),
        ({"k" * 257: 1}, "Invalid metadata key"),
        (nested(MAX_DEPTH + 1), f"at most {MAX_DEPTH} deep"),
        ({"a": {"$in": list(range(MAX_VALUES + 1))}}, f"at most {MAX_VALUES} values"),
        ({"$or": [{"a": {"$in": list(range(6000))}}, {"b": {"$nin": list(range(6000))}}]}, "at most"),
    ],
)
def test_bad_filters_are_refused_with_a_reason(where: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        validate_where(where)


def test_the_depth_and_value_limits_are_inclusive(db: sqlite3.Connection) -> None:
    assert validate_where(nested(MAX_DEPTH)) is not None
    assert matching(db, {"year": {"$in": [*range(-MAX_VALUES + 1, 0), 2018]}}) == {"2"}


def test_keys_and_scalars_follow_the_written_rules() -> None:
    assert check_key("lang") == "lang" and check_key("k" * 256) == "k" * 256
    for bad in ("", "$x", "a\\b", "a\nb", 3):
        with pytest.raises(InvalidArgumentError, match="Invalid metadata key"):
            check_key(bad)
    assert check_scalar(True, "v") is True and check_scalar(-(2**63), "v") == -(2**63)
    with pytest.raises(
        InvalidArgumentError, match="^value is a dict; values must be str, int, float or bool"
    ):
        check_scalar({}, "value")
