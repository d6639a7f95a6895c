"""Plain data across the sandbox boundary: round trips, and nothing else gets through."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra import numpy as hnp

from autograder.sandbox.protocol import ProtocolError, SeededRNG, decode, encode, may_hold_handles


def no_handles(obj):
    raise AssertionError(f"unexpected object {obj!r}")


@given(hnp.arrays(hnp.floating_dtypes() | hnp.integer_dtypes() | hnp.boolean_dtypes(),
                  hnp.array_shapes(min_dims=0)))
def test_arrays_round_trip(array):
    back = decode(encode(array, no_handles), no_handles)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array, equal_nan=array.dtype.kind == "f")


def test_containers_generators_and_rngs():
    value = {"a": (1, [2.5, float("nan")]), "g": (i for i in range(3)), "r": SeededRNG(4)}
    back = decode(encode(value, no_handles), no_handles)
    assert back["a"][0] == 1 and np.isnan(back["a"][1][1])
    assert back["g"] == [0, 1, 2]
    assert back["r"].random() == np.random.default_rng(4).random()


def test_objects_become_handles():
    seen = []
    data = encode(object(), lambda obj: seen.append(obj) or {"$": "handle", "id": 1})
    assert data == {"$": "handle", "id": 1} and len(seen) == 1


@pytest.mark.parametrize("data", [
    {"$": "nd", "dtype": "O", "shape": [1], "b64": ""},
    {"$": "nd", "dtype": "<f8", "shape": [3], "b64": "AAAA"},
    {"$": "pickle", "items": []},
    {"$": "list", "items": 5},
])
def test_malformed_data_is_rejected(data):
    with pytest.raises((ProtocolError, TypeError, ValueError)):
        decode(data, no_handles)


@pytest.mark.parametrize("body", [b'{"$":"handle","home":"grader","id":1}',
                                  b'{"$":"\\u0068andle","home":"grader","id":1}',
                                  b'{"$" : "hand\\u006ce"}'])
def test_a_frame_that_may_hold_a_handle_is_never_waved_through(body):
    assert may_hold_handles(body)
    assert not may_hold_handles(b'{"op":"reply","ok":{"$":"nd","b64":"AAAA"}}')
