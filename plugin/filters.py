"""Chroma ``where`` filters: checked once, then translated to SQL so the lexical index filters exactly as
Chroma does (``$eq $ne $gt $gte $lt $lte $in $nin $and $or``).

A filter comes from an agent as often as from code, so it is bounded before anything runs: keys follow
:func:`check_key` (the rule metadata keys follow when written, so every stored key can be filtered on),
``$and`` / ``$or`` nest at most :data:`MAX_DEPTH` deep, and a filter holds at most :data:`MAX_VALUES` values
(each comparison and each ``$in`` / ``$nin`` item counts one; Chroma's SQL fails past ~32,000)."""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import InvalidArgumentError
from .untrusted import shown

Where = dict[str, Any]
MAX_DEPTH = 8
MAX_VALUES = 10_000
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 8192  # a metadata string value, written or compared
_INT64 = (-(2**63), 2**63 - 1)
_SCALARS = (str, int, float, bool)
_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_HELP = 'e.g. {"lang": "en"}, {"year": {"$gte": 2020}}, {"$and": [{...}, {...}]}'
# SQLite's JSON paths cannot name a key with a quote or a backslash (nor one JSON escapes: control characters)
_BAD_KEY = re.compile(r'["\\\x00-\x1f\x7f-\x9f]')
_KEY_RULE = (
    f"keys are 1-{MAX_KEY_CHARS} characters without quotes, backslashes or control characters, "
    "not starting with $ or #"
)


def check_key(key: Any) -> str:
    """``key`` if it can be a metadata key (written, and named in a filter), else InvalidArgumentError."""
    if (
        not isinstance(key, str)
        or not 0 < len(key) <= MAX_KEY_CHARS
        or key.startswith(("$", "#"))
        or _BAD_KEY.search(key)
    ):
        raise InvalidArgumentError(f"Invalid metadata key {shown(key)}: {_KEY_RULE}")
    return key


def check_scalar(value: Any, what: str) -> str | int | float | bool:
    """``value`` if it can be a metadata value (str up to MAX_VALUE_CHARS, a 64-bit int, a finite float, a
    bool), else InvalidArgumentError starting with ``what``."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidArgumentError(
                f"{what} is a string of {len(value)} characters, over the limit of {MAX_VALUE_CHARS}: metadata "
                "values are short attributes to filter on; put long text in the document itself"
            )
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidArgumentError(f"{what} is an integer out of the 64-bit range: {shown(value)}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{what} must be a finite number, got {value!r}")
    else:
        raise InvalidArgumentError(
            f"{what} is a {type(value).__name__}; values must be str, int, float or bool"
        )
    return value


def validate_where(where: Any) -> Where | None:
    """Return ``where`` if it is a valid filter (None and {} mean no filter), else raise InvalidArgumentError."""
    if where is None or where == {}:
        return None
    _to_sql(where)
    return where


def where_to_sql(where: Where, column: str = "meta") -> tuple[str, list[Any]]:
    """SQL condition over a JSON metadata column, and its parameters."""
    return _to_sql(where, column)


def _to_sql(where: Any, column: str = "meta") -> tuple[str, list[Any]]:
    return _Translation(column).condition(where, 0)


class _Translation:
    """One filter's translation, counting the values it holds against MAX_VALUES."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.values = 0

    def count(self, n: int) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise InvalidArgumentError(
                f"A filter may hold at most {MAX_VALUES} values (each comparison and each $in/$nin item counts "
                "one); filter on a coarser attribute, or split the work into several calls"
            )

    def at_most(self, n: int) -> None:
        """Refuse a list or object of more than MAX_VALUES parts before walking it (each holds a value)."""
        if n > MAX_VALUES:
            self.count(n)

    def condition(self, where: Any, depth: int) -> tuple[str, list[Any]]:
        if not isinstance(where, dict) or not where:
            raise InvalidArgumentError(f"A filter must be a non-empty object, got {shown(where)}; {_HELP}")
        if len(where) > 1:  # Chroma needs an explicit $and for several keys; accept it as the obvious meaning
            self.at_most(len(where))
            return self.condition({"$and": [{k: v} for k, v in where.items()]}, depth)
        ((key, value),) = where.items()
        if key in ("$and", "$or"):
            if depth >= MAX_DEPTH:
                raise InvalidArgumentError(
                    f"A filter nests $and/$or at most {MAX_DEPTH} deep; flatten it "
                    '(e.g. {"$and": [{"a": 1}, {"b": 2}, {"c": 3}]})'
                )
            if not isinstance(value, list) or len(value) < 2:
                raise InvalidArgumentError(f"{key} takes a list of at least two filters, got {shown(value)}")
            self.at_most(len(value))
            parts = [self.condition(item, depth + 1) for item in value]
            joiner = " AND " if key == "$and" else " OR "
            return "(" + joiner.join(p[0] for p in parts) + ")", [arg for p in parts for arg in p[1]]
        if isinstance(key, str) and key.startswith("$"):
            raise InvalidArgumentError(f"Unknown filter operator {shown(key)}; {_HELP}")
        check_key(key)
        return self.field(key, value)

    def field(self, key: str, value: Any) -> tuple[str, list[Any]]:
        column = self.column
        field = f"json_extract({column}, ?)"
        path = '$."' + key + '"'
        if not isinstance(value, dict):
            value = {"$eq": value}
        if len(value) != 1:
            raise InvalidArgumentError(
                f"Filter on {key!r} must have exactly one operator, got {shown(value)}"
            )
        ((op, operand),) = value.items()
        if op in _COMPARE:
            self.count(1)
            if not isinstance(operand, _SCALARS):
                raise InvalidArgumentError(
                    f"{op} on {key!r} takes a string, number or bool, got {shown(operand)}"
                )
            if op in ("$gt", "$gte", "$lt", "$lte") and isinstance(operand, (str, bool)):
                raise InvalidArgumentError(f"{op} on {key!r} takes a number, got {shown(operand)}")
            check_scalar(operand, f"{op} on {key!r}")
            typed = f"json_type({column}, ?) IN ({_json_types(operand)})"
            if op == "$ne":  # as in Chroma, a document without the key matches $ne
                return f"(NOT COALESCE(({typed} AND {field} = ?), 0))", [path, path, operand]
            return f"({typed} AND {field} {_COMPARE[op]} ?)", [path, path, operand]
        if op in ("$in", "$nin"):
            if not isinstance(operand, list) or not operand:
                raise InvalidArgumentError(
                    f"{op} on {key!r} takes a non-empty list of scalars, got {shown(operand)}"
                )
            self.count(len(operand))
            for item in operand:
                if not isinstance(item, _SCALARS):
                    raise InvalidArgumentError(
                        f"{op} on {key!r} takes a non-empty list of scalars, got an item {shown(item)}"
                    )
                check_scalar(item, f"an item of {op} on {key!r}")
            marks = ",".join("?" * len(operand))
            if op == "$nin":  # as in Chroma, a document without the key matches $nin
                return f"(NOT COALESCE(({field} IN ({marks})), 0))", [path, *operand]
            return f"({field} IN ({marks}))", [path, *operand]
        raise InvalidArgumentError(f"Unknown filter operator {shown(op)} on {key!r}; {_HELP}")


def _json_types(value: Any) -> str:
    if isinstance(value, bool):
        return "'true','false'"
    if isinstance(value, (int, float)):
        return "'integer','real'"
    return "'text'"
