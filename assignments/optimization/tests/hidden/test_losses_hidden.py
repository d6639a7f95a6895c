"""Hidden tests for losses.py: properties against the live reference."""

import numpy as np
from hypothesis import given

from autograder import strategies as S
from autograder.checks import assert_close
from autograder.plugin import grades


@grades("losses.mse_loss")
@given(S.same_shape(2))
def test_mse_matches_reference(sub, ref, pair):
    """mse_loss matches the reference on random arrays"""
    y_hat, y = pair
    assert_close(sub.losses.mse_loss(y_hat, y), ref.losses.mse_loss(y_hat, y),
                 "mse_loss", {"y_hat": y_hat, "y": y},
                 mistakes={"sum instead of mean": np.sum((y_hat - y) ** 2)})


@grades("losses.sigmoid")
@given(S.arrays(lo=-1000, hi=1000))
def test_sigmoid_matches_reference(sub, ref, z):
    """sigmoid matches the reference"""
    assert_close(sub.losses.sigmoid(z), ref.losses.sigmoid(z), "sigmoid", {"z": z})
