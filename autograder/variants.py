"""The correct variants of an assignment (``variants/<name>/`` next to it): correct
submissions written differently from the reference. Each folder holds only the files it
changes; the others are the reference's. ``autograder audit`` grades every one: any
point it loses is a false failure of the assignment's tests."""

from __future__ import annotations

from pathlib import Path

from autograder import config

FOLDER = "variants"


def folders(assignment: config.Assignment) -> list[Path]:
    """The folder of each variant, by name (none without a ``variants/`` folder)."""
    root = assignment.root / FOLDER
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def load(assignment: config.Assignment) -> dict[str, dict[str, bytes]]:
    """Variant name -> its files that are among the assignment's ``files``, name -> bytes
    (``autograder check`` reports any other file)."""
    return {folder.name: {path.name: path.read_bytes() for path in sorted(folder.iterdir())
                          if path.is_file() and path.name in assignment.files}
            for folder in folders(assignment)}
