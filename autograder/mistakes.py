"""The classic mistakes of an assignment (``mistakes.yaml`` next to it): each is an
edit of the reference that students make, with one sentence that names it and a hint.
Its hand-written mutants (``mutants.yaml``) are edits of the same shape that are never
named to students, so they have no sentence or hint: ``autograder audit`` grades both.

The variants are trusted code (the instructor's); they run where the reference runs,
when the frozen public vectors are made: each case of ``vectors.json`` carries the
answers of the variants that answer it differently from the reference, so that a
failing student answer equal to one of them can be named, locally and on Gradescope.
"""

from __future__ import annotations

import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder import config

CLASSIC = "Classic mistake:"  # how a named mistake starts, in every message
CATALOGUE, MUTANTS = "mistakes.yaml", "mutants.yaml"


@dataclass(frozen=True)
class Mistake:
    """One classic mistake of one contract name (or a mutant of ``mutants.yaml``, whose
    ``says`` and ``hint`` are empty)."""

    id: str
    target: str
    says: str
    hint: str
    edits: tuple[tuple[str, str], ...]
    source: str = CATALOGUE  # the file it comes from

    def message(self) -> str:
        """The lines a student reads when their answer matches this mistake."""
        return f"  {CLASSIC} {self.says}.\n  Hint: {self.hint}"


def sentence(message: str) -> str:
    """The sentence a test's mistake message names: ``says`` of a catalogue message
    (:meth:`Mistake.message`), or the text of a ``CLASSIC`` line a test wrote itself."""
    first = message.strip().split("\n", 1)[0]
    return first.removeprefix(CLASSIC).strip().rstrip(".")


def load(assignment: config.Assignment, file: str = CATALOGUE) -> list[Mistake]:
    """The mistakes of ``file`` next to ``assignment`` (none when it is missing): the
    catalogue, whose entries need ``says`` and ``hint``, or ``MUTANTS``, whose need not."""
    path = assignment.root / file
    if not path.is_file():
        return []
    data = config.read_yaml(path) or {}
    if not isinstance(data, dict):
        raise config.ConfigError(f"{file}: expected a mapping of contract names")
    named = file == CATALOGUE  # (named to students: a sentence and a hint each)
    needs = "id, says, hint and edits" if named else "id and edits"
    found = []
    for target, entries in data.items():
        if target not in assignment.points:
            raise config.ConfigError(f"{file}: {target!r} is not in assignment.yaml points")
        for number, entry in enumerate(entries if isinstance(entries, list) else [entries], 1):
            try:
                says = str(entry["says"]).rstrip(".") if named else ""
                hint = str(entry["hint"]) if named else ""
                edits = tuple((e["old"], e["new"]) for e in entry["edits"])
                found.append(Mistake(str(entry["id"]), target, says, hint, edits, file))
            except (KeyError, TypeError):
                name = entry.get("id") if isinstance(entry, dict) else None
                raise config.ConfigError(f"{file}: {target}: {name or f'entry {number}'}: each "
                                         f"needs {needs} (a list of {{old, new}})") from None
    return found


def hand_written(assignment: config.Assignment) -> list[Mistake]:
    """The catalogue's mistakes, then the mutants of ``mutants.yaml``."""
    return load(assignment) + load(assignment, MUTANTS)


def apply_edit(text: str, old: str, new: str, where: str) -> str:
    """``text`` with ``old`` (which must occur exactly once) replaced by ``new``."""
    if text.count(old) != 1:
        raise config.ConfigError(f"{where}: an edit's text occurs {text.count(old)} times, "
                                 f"not once: {old[:60]!r}")
    return text.replace(old, new)


def edited_files(assignment: config.Assignment, mistake: Mistake) -> dict[str, str]:
    """The reference files ``mistake`` edits, file name -> edited text (a submission is
    these over a copy of the reference)."""
    return edit_reference(assignment, mistake.target, mistake.edits,
                          f"{mistake.source}: {mistake.id}")


def edit_reference(assignment: config.Assignment, target: str,
                   edits: tuple[tuple[str, str], ...], where: str) -> dict[str, str]:
    """The reference's file of the contract name ``target`` with ``edits`` (old, new) made,
    file name -> edited text."""
    file = f"{target.split('.', 1)[0]}.py"
    text = (assignment.solutions_dir / file).read_text(encoding="utf-8")
    for old, new in edits:
        text = apply_edit(text, old, new, f"{where}: {file}")
    return {file: text}


def variant(assignment: config.Assignment, mistake: Mistake) -> Any:
    """The target of ``mistake`` (a function or class) from the edited reference module."""
    module_name, name = mistake.target.split(".", 1)
    path = assignment.solutions_dir / f"{module_name}.py"
    text = edited_files(assignment, mistake)[path.name]
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    folder = str(Path(assignment.solutions_dir))
    sys.path.insert(0, folder)
    try:
        exec(compile(text, f"<{mistake.id}: {path.name}>", "exec"), module.__dict__)
    finally:
        sys.path.remove(folder)
    return getattr(module, name)


def same(answer: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether two answers (numbers, arrays, and lists, tuples or dicts of them) agree."""
    if isinstance(expected, dict):
        return isinstance(answer, dict) and answer.keys() == expected.keys() and all(
            same(answer[k], v, rtol, atol) for k, v in expected.items())
    if isinstance(expected, (list, tuple)) and not numeric_list(expected):
        return isinstance(answer, (list, tuple)) and len(answer) == len(expected) and all(
            same(a, e, rtol, atol) for a, e in zip(answer, expected))
    try:
        got, want = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if got.size == want.size == 1:
        got = got.reshape(want.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return got.shape == want.shape and bool(
            np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))


def numeric_list(value: Any) -> bool:
    """Whether ``value`` is numbers (an array, or a list of numbers), not a structure."""
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except ValueError:
        return False
