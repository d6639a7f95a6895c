"""Public: answers of the reference on fixed inputs, frozen when the release was built."""

from pathlib import Path

import pytest

from autograder.authoring import check_frozen_case, frozen_cases


@pytest.mark.parametrize(("target", "case"), frozen_cases(Path(__file__).with_name("vectors.json")))
def test_frozen_vector(sub, target, case):
    """matches the expected output on a fixed input"""
    check_frozen_case(sub, target, case)
