"""Chroma ``where`` filters: checked once, then translated to SQL so the lexical index filters exactly as
Chroma does (``$eq $ne $gt $gte $lt $lte $in $nin $and $or``)."""

from __future__ import annotations

from typing import Any

from .errors import InvalidArgumentError

Where = dict[str, Any]
_SCALARS = (str, int, float, bool)
_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_HELP = 'e.g. {"lang": "en"}, {"year": {"$gte": 2020}}, {"$and": [{...}, {...}]}'


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
    if not isinstance(where, dict) or not where:
        raise InvalidArgumentError(f"A filter must be a non-empty object, got {where!r}; {_HELP}")
    if len(where) > 1:  # Chroma needs an explicit $and for several keys; accept it as the obvious meaning
        return _to_sql({"$and": [{k: v} for k, v in where.items()]}, column)
    ((key, value),) = where.items()
    if key in ("$and", "$or"):
        if not isinstance(value, list) or len(value) < 2:
            raise InvalidArgumentError(f"{key} takes a list of at least two filters, got {value!r}")
        parts = [_to_sql(item, column) for item in value]
        joiner = " AND " if key == "$and" else " OR "
        return "(" + joiner.join(p[0] for p in parts) + ")", [arg for p in parts for arg in p[1]]
    if key.startswith("$"):
        raise InvalidArgumentError(f"Unknown filter operator {key!r}; {_HELP}")
    field = f"json_extract({column}, ?)"
    path = '$."' + key.replace('"', '""') + '"'
    if not isinstance(value, dict):
        value = {"$eq": value}
    if len(value) != 1:
        raise InvalidArgumentError(f"Filter on {key!r} must have exactly one operator, got {value!r}")
    ((op, operand),) = value.items()
    if op in _COMPARE:
        if not isinstance(operand, _SCALARS):
            raise InvalidArgumentError(f"{op} on {key!r} takes a string, number or bool, got {operand!r}")
        if op in ("$gt", "$gte", "$lt", "$lte") and isinstance(operand, (str, bool)):
            raise InvalidArgumentError(f"{op} on {key!r} takes a number, got {operand!r}")
        typed = f"json_type({column}, ?) IN ({_json_types(operand)})"
        if op == "$ne":  # as in Chroma, a document without the key matches $ne
            return f"(NOT COALESCE(({typed} AND {field} = ?), 0))", [path, path, operand]
        return f"({typed} AND {field} {_COMPARE[op]} ?)", [path, path, operand]
    if op in ("$in", "$nin"):
        if not isinstance(operand, list) or not operand or not all(isinstance(v, _SCALARS) for v in operand):
            raise InvalidArgumentError(f"{op} on {key!r} takes a non-empty list of scalars, got {operand!r}")
        marks = ",".join("?" * len(operand))
        if op == "$nin":  # as in Chroma, a document without the key matches $nin
            return f"(NOT COALESCE(({field} IN ({marks})), 0))", [path, *operand]
        return f"({field} IN ({marks}))", [path, *operand]
    raise InvalidArgumentError(f"Unknown filter operator {op!r} on {key!r}; {_HELP}")


def _json_types(value: Any) -> str:
    if isinstance(value, bool):
        return "'true','false'"
    if isinstance(value, (int, float)):
        return "'integer','real'"
    return "'text'"
