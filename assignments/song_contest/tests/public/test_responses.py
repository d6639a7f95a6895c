"""Checks responses.md before you submit: each question answered, in 10-20 sentences,
and question 1 names a finalist's song.

Run `python -m pytest` in this folder. A grader scores the content on Gradescope;
these checks only make sure the autograder can find and measure your answers."""

from pathlib import Path

import pytest

from autograder import written
from autograder.config import load_path

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = load_path(ROOT / "assignment.yaml", "song_contest")
ROWS, _ = written.grade(ASSIGNMENT, ROOT)


@pytest.mark.parametrize("row", [r for r in ROWS if r.max_score > 0], ids=lambda row: row.name)
def test_automatic_check(row):
    """the same automatic checks as on Gradescope"""
    assert row.score == row.max_score, row.output
