"""What crosses from a submission's kernel to the grader is data: the codec, without kernels."""

from __future__ import annotations

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
