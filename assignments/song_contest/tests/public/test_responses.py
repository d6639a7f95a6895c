"""Checks responses.md before you submit: each question answered, in 10-20 sentences.

Run `python -m pytest` in this folder. A grader scores the content on Gradescope;
these checks only make sure the autograder can find and measure your answers."""

from pathlib import Path

import pytest

from autograder import written
from autograder.config import load_path

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = load_path(ROOT / "assignment.yaml", "song_contest")
ANSWERS, NOTES = written.read_answers(ASSIGNMENT, ROOT)
LOW, HIGH = ASSIGNMENT.sentences


@pytest.mark.parametrize("question", ASSIGNMENT.questions, ids=lambda q: q.id)
def test_answered(question):
    answer = ANSWERS[question.id]
    assert answer.answered, (f"no answer found under '{question.heading}': "
                             + "; ".join(answer.notes + NOTES))


@pytest.mark.parametrize("question", ASSIGNMENT.questions, ids=lambda q: q.id)
def test_length(question):
    count = ANSWERS[question.id].sentences
    assert LOW <= count <= HIGH, f"{count} sentences; the answer should have {LOW} to {HIGH}"


def test_names_a_finalist():
    assert written.names_song(ANSWERS["q1"].text, ASSIGNMENT.songs), \
        "question 1 should name the finalist song you chose"
