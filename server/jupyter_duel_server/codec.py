"""Lossless JSON encoding of test values: arguments, expected results and returned results.

Why: test values cross two boundaries (challenge files on disk, and the pipe between the judge and the process
running a submission) and plain JSON would silently turn a tuple into a list, a set into nothing at all and
``inf`` into invalid JSON. Comparison is type-aware, so the encoding must keep every type.

Plain JSON is used where it is unambiguous (int, finite float, str, bool, null, list, dict whose keys are all
strings none of which starts with ``$``); everything else is a one-key tagged object::

    (1, 2)            {"$tuple": [1, 2]}
    {1, 2}            {"$set": [1, 2]}
    frozenset({1})    {"$frozenset": [1]}
    {(0, 1): "a"}     {"$dict": [[{"$tuple": [0, 1]}, "a"]]}
    float("inf")      {"$float": "inf"}        (also "-inf", "nan")

This module is standard library only on purpose: the harness loads it by path inside the child process.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["EncodingError", "encode", "decode", "dumps", "canonical"]

#: Nesting deeper than this is refused (keeps recursion bounded on both sides of the pipe).
MAX_DEPTH = 200

_TAGS = ("$tuple", "$set", "$frozenset", "$dict", "$float")
_SPECIAL_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


class EncodingError(ValueError):
    """A value cannot be encoded, or data cannot be decoded; the message names the type and the path."""


def _sort_key(encoded: Any) -> str:
    return json.dumps(encoded, sort_keys=True, ensure_ascii=False, allow_nan=False)


def encode(value: Any) -> Any:
    """Encode ``value`` to JSON-able data; raise EncodingError for anything outside the supported types.

    Subclasses of the supported types (a ``defaultdict``, a namedtuple, an ``IntEnum`` member) are encoded as
    their base type. Sets are encoded in a deterministic order; dict pairs keep insertion order.
    """
    return _encode(value, "value", 0, set())


def _encode(v: Any, path: str, depth: int, active: set[int]) -> Any:
    if depth > MAX_DEPTH:
        raise EncodingError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    # bool before int: bool is an int subclass and must stay a bool.
    if isinstance(v, bool):
        return v
    if v is None:
        return None
    if isinstance(v, int):
        return v if type(v) is int else int.__int__(v)
    if isinstance(v, float):
        f = v if type(v) is float else float.__float__(v)
        if math.isfinite(f):
            return f
        return {"$float": "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")}
    if isinstance(v, str):
        return v if type(v) is str else str.__str__(v)
    if not isinstance(v, (list, tuple, dict, set, frozenset)):
        raise EncodingError(f"{path}: values of type {type(v).__qualname__} cannot be encoded")
    if id(v) in active:
        raise EncodingError(f"{path}: the value contains itself")
    active.add(id(v))
    try:
        d = depth + 1
        if isinstance(v, list):
            return [_encode(x, f"{path}[{i}]", d, active) for i, x in enumerate(v)]
        if isinstance(v, tuple):
            return {"$tuple": [_encode(x, f"{path}[{i}]", d, active) for i, x in enumerate(v)]}
        if isinstance(v, (set, frozenset)):
            tag = "$frozenset" if isinstance(v, frozenset) else "$set"
            items = [_encode(x, f"{path}{{element}}", d, active) for x in v]
            return {tag: sorted(items, key=_sort_key)}
        # dict
        if all(type(k) is str and not k.startswith("$") for k in v):
            return {k: _encode(x, f"{path}[{k!r}]", d, active) for k, x in v.items()}
        return {
            "$dict": [
                [_encode(k, f"{path}{{key {i}}}", d, active), _encode(x, f"{path}[key {i}]", d, active)]
                for i, (k, x) in enumerate(v.items())
            ]
        }
    finally:
        active.discard(id(v))


def decode(data: Any) -> Any:
    """Decode data produced by :func:`encode` (or written by hand in a challenge file) back to Python values."""
    return _decode(data, "value", 0)


def _hashable(v: Any, path: str) -> Any:
    try:
        hash(v)
    except TypeError:
        raise EncodingError(f"{path}: a {type(v).__name__} cannot be a set element or dict key") from None
    return v


def _decode(data: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise EncodingError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    t = type(data)
    if data is None or t is bool or t is int or t is str:
        return data
    if t is float:
        if not math.isfinite(data):
            raise EncodingError(f'{path}: non-finite floats must be written as {{"$float": "inf"|"-inf"|"nan"}}')
        return data
    d = depth + 1
    if t is list:
        return [_decode(x, f"{path}[{i}]", d) for i, x in enumerate(data)]
    if t is not dict:
        raise EncodingError(f"{path}: {t.__name__} is not valid encoded data")
    tagged = [k for k in data if isinstance(k, str) and k.startswith("$")]
    if not tagged:
        for k in data:
            if type(k) is not str:
                raise EncodingError(f"{path}: plain object keys must be strings, got {type(k).__name__}")
        return {k: _decode(x, f"{path}[{k!r}]", d) for k, x in data.items()}
    if len(data) != 1 or tagged[0] not in _TAGS:
        raise EncodingError(
            f"{path}: an object with a '$' key must have exactly one key, one of {', '.join(_TAGS)}; "
            f"got keys {sorted(map(str, data))}"
        )
    tag = tagged[0]
    body = data[tag]
    if tag == "$float":
        if body not in _SPECIAL_FLOATS:
            raise EncodingError(f'{path}: "$float" must be "inf", "-inf" or "nan", got {body!r}')
        return _SPECIAL_FLOATS[body]
    if type(body) is not list:
        raise EncodingError(f"{path}: {tag!r} must hold a list, got {type(body).__name__}")
    if tag == "$tuple":
        return tuple(_decode(x, f"{path}[{i}]", d) for i, x in enumerate(body))
    if tag in ("$set", "$frozenset"):
        items = [_hashable(_decode(x, f"{path}{{element}}", d), f"{path}{{element}}") for x in body]
        return set(items) if tag == "$set" else frozenset(items)
    out = {}
    for i, pair in enumerate(body):
        if type(pair) is not list or len(pair) != 2:
            raise EncodingError(f"{path}: '$dict' entry {i} must be a [key, value] pair")
        key = _hashable(_decode(pair[0], f"{path}{{key {i}}}", d), f"{path}{{key {i}}}")
        out[key] = _decode(pair[1], f"{path}[key {i}]", d)
    return out


def dumps(value: Any) -> str:
    """Encode ``value`` and serialise it to one line of JSON."""
    return json.dumps(encode(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def canonical(value: Any) -> str:
    """A string that is equal for two values exactly when they are equal *and* of the same types throughout.

    Used for exact comparison: ``1`` vs ``True`` vs ``1.0``, tuple vs list, set vs frozenset all differ; dict
    insertion order and set order do not matter; ``nan`` equals ``nan``.
    """
    return _sort_key(_canonical_data(encode(value)))


def _canonical_data(data: Any) -> Any:
    if type(data) is list:
        return [_canonical_data(x) for x in data]
    if type(data) is dict:
        if "$dict" in data and len(data) == 1:
            pairs = [[_canonical_data(k), _canonical_data(v)] for k, v in data["$dict"]]
            return {"$dict": sorted(pairs, key=lambda p: _sort_key(p[0]))}
        return {k: _canonical_data(v) for k, v in data.items()}
    if type(data) is float and data == 0.0:
        return 0.0  # -0.0 == 0.0
    return data
