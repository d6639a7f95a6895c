"""The hypothesis strategies for test authors (autograder/strategies.py): finite float64
arrays of small shapes, within bounds."""

import numpy as np
from hypothesis import given, settings

from autograder import strategies as S

FEW = settings(max_examples=40, derandomize=True, database=None, deadline=None)


@FEW
@given(S.floats(-2.0, 3.0))
def test_floats_are_finite_normal_and_in_bounds(x):
    assert -2.0 <= x <= 3.0
    assert x == 0 or abs(x) >= np.finfo(float).tiny


@FEW
@given(S.shapes(min_dims=2, max_dims=3, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 2 <= len(shape) <= 3 and all(1 <= side <= 4 for side in shape)


@FEW
@given(S.arrays(lo=0.05, hi=0.95))
def test_arrays_are_small_float64_and_in_bounds(array):
    assert array.dtype == np.float64 and 1 <= array.ndim <= 2 and array.size <= 25
    assert np.all((array >= 0.05) & (array <= 0.95))


@FEW
@given(S.arrays((3, 2)))
def test_arrays_of_a_given_shape(array):
    assert array.shape == (3, 2) and np.all(np.abs(array) <= 10)


@FEW
@given(S.same_shape(3, lo=-1, hi=1, max_dims=1))
def test_same_shape_gives_arrays_of_one_shape(arrays):
    assert len(arrays) == 3 and arrays[0].ndim == 1
    assert {a.shape for a in arrays} == {arrays[0].shape}
    assert all(np.all(np.abs(a) <= 1) for a in arrays)
