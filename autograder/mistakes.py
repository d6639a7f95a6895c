"""The classic mistakes of an assignment (``mistakes.yaml`` next to it): each is an
edit of the reference that students make, with one sentence that names it and a hint.

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
import yaml

from autograder import config

CLASSIC = "Classic mistake:"  # how a named mistake starts, in every message


@dataclass(frozen=True)
class Mistake:
    """One classic mistake of one contract name."""

    id: str
    target: str
    says: str
    hint: str
    edits: tuple[tuple[str, str], ...]

    def message(self) -> str:
        """The lines a student reads when their answer matches this mistake."""
        return f"  {CLASSIC} {self.says}.\n  Hint: {self.hint}"


def load(assignment: config.Assignment) -> list[Mistake]:
    """The catalogue of ``assignment`` (empty when it has no mistakes.yaml)."""
    path = assignment.root / "mistakes.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise config.ConfigError("mistakes.yaml: expected a mapping of contract names")
    found = []
    for target, entries in data.items():
        if target not in assignment.points:
            raise config.ConfigError(f"mistakes.yaml: {target!r} is not in assignment.yaml points")
        for entry in entries:
            try:
                edits = tuple((e["old"], e["new"]) for e in entry["edits"])
                found.append(Mistake(str(entry["id"]), target, str(entry["says"]).rstrip("."),
                                     str(entry["hint"]), edits))
            except (KeyError, TypeError):
                raise config.ConfigError(f"mistakes.yaml: {target}: each mistake needs id, says, "
                                         "hint and edits (a list of {old, new})") from None
    return found


def apply_edit(text: str, old: str, new: str, where: str) -> str:
    """``text`` with ``old`` (which must occur exactly once) replaced by ``new``."""
    if text.count(old) != 1:
        raise config.ConfigError(f"{where}: an edit's text occurs {text.count(old)} times, "
                                 f"not once: {old[:60]!r}")
    return text.replace(old, new)


def variant(assignment: config.Assignment, mistake: Mistake) -> Any:
    """The target of ``mistake`` (a function or class) from the edited reference module."""
    module_name, name = mistake.target.split(".", 1)
    path = assignment.solutions_dir / f"{module_name}.py"
    text = path.read_text(encoding="utf-8")
    for old, new in mistake.edits:
        text = apply_edit(text, old, new, f"mistakes.yaml: {mistake.id}")
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
