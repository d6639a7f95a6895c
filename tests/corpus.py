"""Submissions made from the reference solution: edited (each edit replaces text that
occurs exactly once in the reference file) or overlaid with a variant's files. The
assignment's hand-written bugs and correct variants are its data (``mutants.yaml``,
``mistakes.yaml``, ``variants/``), graded by ``autograder audit``."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from autograder.demo import derive_submission

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions" / "optimization"


class Edit(NamedTuple):
    file: str
    old: str
    new: str


def write_submission(dest: Path, change: tuple[Edit, ...] | dict[str, bytes] = ()) -> Path:
    """Copy the reference to ``dest``, then apply ``change``: edits (each must match exactly
    once) or a variant's files (name -> bytes), written over the reference's."""
    if isinstance(change, dict):
        derive_submission(SOLUTIONS, dest, ())
        for name, data in change.items():
            (dest / name).write_bytes(data)
        return dest
    return derive_submission(SOLUTIONS, dest, change)
