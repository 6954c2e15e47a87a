"""The codec must be lossless and type-preserving: comparison is type-aware, so a lost type is a wrong verdict."""

import json
import math
from collections import OrderedDict, defaultdict, namedtuple

import pytest

from jupyter_duel_server.codec import EncodingError, canonical, decode, dumps, encode


def roundtrip(value):
    """Through real JSON text, as on disk and on the pipe."""
    return decode(json.loads(json.dumps(encode(value), allow_nan=False)))


def same(a, b):
    """Equal and of the same types throughout (nan equal to nan)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(x, y) for x, y in zip(a, b)) and all(
            same(a[k], b[k]) for k in a
        )
    if isinstance(a, (set, frozenset)):
        return a == b and all(type(x) is type(next(y for y in b if y == x)) for x in a)
    return a == b


VALUES = [
    0,
    -5,
    10**100,
    -(2**70),
    1.5,
    -0.0,
    1e-300,
    2.0,
    float("inf"),
    float("-inf"),
    "",
    "héllo\n\u2603",
    "$tuple",
    True,
    False,
    None,
    [],
    (),
    [1, "a", None],
    (1,),
    ((1, 2), [3, (4,)]),
    {},
    {"a": 1, "b": [1, 2]},
    {1: "one", 2: "two"},
    {(0, 1): "t", "s": 2},
    {"$tuple": 1},
    {"$x": [1]},
    {True: 1, None: 2, 2.5: 3},
    set(),
    {1, 2, 3},
    frozenset(),
    frozenset({"a", (1, 2)}),
    {frozenset({1, 2}): {"x": {(1, frozenset({3}))}}},
    [{"k": ({1}, frozenset())}],
    [[[[[[]]]]]],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_roundtrip_keeps_value_and_types(value):
    assert same(roundtrip(value), value)


def test_nan_roundtrips():
    assert math.isnan(roundtrip(float("nan")))
    assert encode(float("nan")) == {"$float": "nan"}


def test_plain_json_where_unambiguous():
    assert encode([1, 2.5, "x", True, None, {"a": [1]}]) == [1, 2.5, "x", True, None, {"a": [1]}]


def test_tuple_is_never_a_list():
    assert encode((1, 2)) == {"$tuple": [1, 2]}
    assert type(roundtrip((1, 2))) is tuple
    assert type(roundtrip([1, 2])) is list
    assert roundtrip([(1, 2)]) == [(1, 2)]


def test_bool_is_never_an_int():
    assert encode(True) is True
    assert type(roundtrip(True)) is bool
    assert type(roundtrip(1)) is int
    assert type(next(iter(roundtrip({1: "a"})))) is int
    assert type(next(iter(roundtrip({True: "a"})))) is bool


def test_int_and_float_stay_apart():
    assert type(roundtrip(2.0)) is float
    assert type(roundtrip(2)) is int


def test_dict_with_non_string_or_dollar_keys_is_tagged():
    assert encode({1: 2}) == {"$dict": [[1, 2]]}
    assert encode({"$set": 1}) == {"$dict": [["$set", 1]]}
    assert roundtrip({"$set": 1}) == {"$set": 1}


def test_nested_set_in_dict_key():
    value = {(1, frozenset({2, 3})): "v"}
    assert same(roundtrip(value), value)


def test_sets_encode_deterministically():
    a = {3, 1, 2, "b", "a", (1, 2)}
    b = set(reversed(list(a)))
    assert dumps(a) == dumps(b)
    assert encode({3, 1, 2}) == {"$set": [1, 2, 3]}


def test_subclasses_encode_as_base_type():
    Point = namedtuple("Point", "x y")
    dd = defaultdict(list, {"a": [1]})
    assert roundtrip(Point(1, 2)) == (1, 2) and type(roundtrip(Point(1, 2))) is tuple
    assert type(roundtrip(dd)) is dict
    assert type(roundtrip(OrderedDict(a=1))) is dict


@pytest.mark.parametrize(
    "value", [object(), b"bytes", 1j, range(3), [1, object()], {"a": {1: print}}, (lambda: 0)], ids=repr
)
def test_unencodable_values_raise(value):
    with pytest.raises(EncodingError):
        encode(value)


def test_error_names_type_and_path():
    with pytest.raises(EncodingError, match=r"value\[1\]\['k'\].*bytes"):
        encode([0, {"k": b"x"}])


def test_self_containing_value_raises():
    a = [1]
    a.append(a)
    with pytest.raises(EncodingError, match="contains itself"):
        encode(a)


def test_too_deep_raises_not_recursionerror():
    deep = []
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(EncodingError):
        encode(deep)
    data = []
    for _ in range(1000):
        data = [data]
    with pytest.raises(EncodingError):
        decode(data)


@pytest.mark.parametrize(
    "data",
    [
        {"$tuple": 1},
        {"$float": "infinity"},
        {"$bogus": []},
        {"$tuple": [], "x": 1},
        {"$set": [[1]]},
        {"$dict": [[[1], 2]]},
        {"$dict": [[1]]},
        float("nan"),
        b"x",
    ],
    ids=repr,
)
def test_undecodable_data_raises(data):
    with pytest.raises(EncodingError):
        decode(data)


def test_canonical_is_type_aware_and_order_free():
    assert canonical(1) != canonical(True) != canonical(1.0)
    assert canonical((1, 2)) != canonical([1, 2])
    assert canonical({1: "a", (2,): "b"}) == canonical({(2,): "b", 1: "a"})
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    assert canonical(float("nan")) == canonical(float("nan"))
    assert canonical(-0.0) == canonical(0.0)
    assert canonical({1, 2}) != canonical(frozenset({1, 2}))
