"""A corpus of realistic submissions, made from the reference solution and the
assignment's data.

``MUTANTS``: one bug each, with the contract name that must lose points (and
no other): the assignment's classic mistakes (``mistakes.yaml``, which the grader
names) and its hand-written mutants (``mutants.yaml``, never named). Each edit replaces
text that occurs exactly once in the reference file. ``VARIANTS``: correct code written
differently (``variants/<name>/``, the files that differ from the reference), which must
score 100.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from autograder import config, mistakes, variants
from autograder.demo import derive_submission

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions" / "optimization"


class Edit(NamedTuple):
    file: str
    old: str
    new: str


class Mutant(NamedTuple):
    name: str
    target: str
    edits: tuple[Edit, ...]


OPTIMIZATION = config.load("optimization")
CLASSIC = {m.id: m for m in mistakes.load(OPTIMIZATION)}

MUTANTS = [Mutant(m.id, m.target, tuple(Edit(m.target.split(".")[0] + ".py", old, new)
                                        for old, new in m.edits))
           for m in mistakes.hand_written(OPTIMIZATION)]

VARIANTS = variants.load(OPTIMIZATION)  # name -> {file name: bytes}


def write_submission(dest: Path, change: tuple[Edit, ...] | dict[str, bytes] = ()) -> Path:
    """Copy the reference to ``dest``, then apply ``change``: edits (each must match exactly
    once) or a variant's files (name -> bytes), written over the reference's."""
    if isinstance(change, dict):
        derive_submission(SOLUTIONS, dest, ())
        for name, data in change.items():
            (dest / name).write_bytes(data)
        return dest
    return derive_submission(SOLUTIONS, dest, change)
