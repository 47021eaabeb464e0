"""What crosses from a submission's kernel to the grader is data: the codec, without kernels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from autograder.sandbox import protocol
from autograder.sandbox.runner import bound_names, free_names
from lossbook_checks.checking.student import OpaqueValue


def round_trip(value):
    buffers: list[bytes] = []
    tree = protocol.encode(value, buffers, keep=lambda v: 7)
    return protocol.decode(tree, buffers, OpaqueValue)


def test_data_round_trips_exactly():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (np.float32(1.5), 2, None, "s"), "c": [True, np.int64(3)]}
    back = round_trip(value)
    assert back["a"].dtype == np.float64 and np.array_equal(back["a"], value["a"])
    assert type(back["b"]) is tuple and type(back["b"][0]) is np.float32 and back["b"][1:] == (2, None, "s")
    assert back["c"] == [True, np.int64(3)]
    assert np.asarray(round_trip(np.float64(np.nan))).dtype == np.float64


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape)


def test_objects_arrive_as_stand_ins_and_subclasses_as_plain_data():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    stand_in = round_trip(AlwaysEqual())
    assert isinstance(stand_in, OpaqueValue) and stand_in.type_name == "AlwaysEqual" and stand_in.handle == 7
    lie = round_trip(np.array([1.0, 2.0]).view(Liar))
    assert type(lie) is np.ndarray and (lie - np.zeros(2)).tolist() == [1.0, 2.0]
    assert isinstance(round_trip(np.array([object()], dtype=object)), OpaqueValue)


@pytest.mark.parametrize("tree, buffers", [
    ({"nd": 0, "dtype": "|O", "shape": [1], "scalar": False}, [b"\0" * 8]),      # object dtype
    ({"nd": 0, "dtype": "<f8", "shape": [3], "scalar": False}, [b"\0" * 8]),     # data shorter than the shape
    ({"nd": 0, "dtype": "<f8", "shape": [1 << 32, 1 << 32], "scalar": False}, [b""]),  # size overflow
    ({"nd": 1, "dtype": "<f8", "shape": [1], "scalar": False}, [b"\0" * 8]),     # no such buffer
    ({"ref": 0}, []),                                                             # handles go one way only
    ({"__class__": "x"}, []),
    ({"tuple": [1], "extra": 2}, []),
    ([0] * (protocol.MAX_ITEMS + 1), []),
])
def test_malformed_values_are_refused(tree, buffers):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(tree, buffers, OpaqueValue)


def test_names_a_test_cell_takes_from_the_submission():
    source = "for case in cases(1):\n    ck.check(f, case)\ng = lambda x: h(x) + len(x)\nimport numpy as np\n"
    assert free_names(source) == {"cases", "ck", "f", "h"}
    assert bound_names(source) == {"case", "g", "np"}


class Text(str):
    def __str__(self):
        return "a lie"


def _same(a, b, kept: list) -> bool:
    """Equal types and contents, arrays by dtype, shape, bytes and contiguity; the objects ``kept`` by identity."""
    if any(b is k for k in kept):
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype.str == b.dtype.str and a.shape == b.shape and a.tobytes() == b.tobytes() \
            and a.flags.c_contiguous == b.flags.c_contiguous
    if isinstance(a, np.generic):
        return a.dtype.str == b.dtype.str and a.tobytes() == b.tobytes()
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y, kept) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(type(k) is str for k in b) \
            and all(_same(x, y, kept) for x, y in zip(a.values(), b.values(), strict=True))
    if isinstance(a, float) and a != a:
        return b != b
    return a is b or (type(a) in (int, float, str, bool) and a == b)


def _fresh(original, copy, kept: list) -> bool:
    """No list, dict or array of ``copy`` is one of ``original`` (data is copied; only the objects ``kept`` are
    themselves)."""
    if any(original is k for k in kept):
        return True
    if isinstance(original, list | dict | np.ndarray) and copy is original:
        return False
    if isinstance(original, list | tuple):
        return all(_fresh(x, y, kept) for x, y in zip(original, copy, strict=True))
    if isinstance(original, dict):
        return all(_fresh(x, y, kept) for x, y in zip(original.values(), copy.values(), strict=True))
    return True


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


class Opaque:
    pass


ODD_VALUES = [
    None, True, 3, -0.0, float("nan"), float("inf"), "s", Text("t"), np.str_("u"), 2**200,
    np.float32(1.5), np.int8(-3), np.bool_(True), np.complex128(1 + 2j), np.datetime64("2026-01-01"),
    np.arange(12.0).reshape(3, 4).T, np.arange(3, dtype=">f8"), np.zeros((0, 2)), np.array(5.0), np.array([1 + 1j]),
    np.array([1.0, 2.0]).view(Liar), np.ma.masked_array([1.0, 2.0], mask=[True, False]),
    np.array(["x"]), np.array([object()], dtype=object), np.zeros(3, dtype=[("a", "f8")]),
    (1, [2.0, (np.ones(2),)]), {"a": {"b": [np.ones(1)]}, Text("k"): 1}, {1: "non-str key"}, Opaque(),
    _nested(protocol.MAX_DEPTH - 1), [Opaque()] * 3, [{"m": np.ones(2)}, (np.float64(2.0), "x")],
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=lambda v: type(v).__name__)
def test_round_trip_is_what_crosses_to_the_grader_and_back(value):
    """The kernel makes calls ahead with ``protocol.round_trip``: it must give exactly what decoding the
    encoded value gives, with the kernel's objects passed back as themselves."""
    kept: list = []
    buffers: list[bytes] = []

    def keep(v):
        kept.append(v)
        return len(kept) - 1

    tree = json.loads(json.dumps(protocol.encode(value, buffers, keep)))  # as the header crosses
    expected = protocol.decode(tree, buffers, lambda name, handle: kept[handle])
    got = protocol.round_trip(value)
    assert _same(got, expected, kept) and _fresh(value, got, kept)


@pytest.mark.parametrize("value", [_nested(protocol.MAX_DEPTH + 2), [0] * protocol.MAX_ITEMS, 10**4400],
                         ids=["too deep", "too many items", "too many digits"])
def test_round_trip_refuses_what_the_grader_could_not_read_or_send_back(value):
    with pytest.raises(protocol.ProtocolError):
        protocol.round_trip(value)
