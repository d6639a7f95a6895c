"""Hypothesis strategies for grading tests on numeric code: finite float arrays
of small, varied shapes (1-element and 2-D included)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def floats(lo: float = -10.0, hi: float = 10.0) -> st.SearchStrategy[float]:
    """Finite floats in ``[lo, hi]`` (no NaN, no inf, no subnormals)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def shapes(min_dims: int = 1, max_dims: int = 2, max_side: int = 5) -> st.SearchStrategy:
    """Array shapes with 1 to ``max_side`` entries per axis."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def arrays(shape=None, lo: float = -10.0, hi: float = 10.0, **shape_kwargs) -> st.SearchStrategy:
    """float64 arrays of the given shape (or a strategy of shapes) with values in [lo, hi]."""
    shape = shapes(**shape_kwargs) if shape is None else shape
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


def same_shape(count: int = 2, lo: float = -10.0, hi: float = 10.0,
               **shape_kwargs) -> st.SearchStrategy[tuple]:
    """``count`` arrays that share one random shape."""
    return shapes(**shape_kwargs).flatmap(
        lambda shape: st.tuples(*(arrays(shape, lo, hi) for _ in range(count))))
