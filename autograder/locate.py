"""Find the files a student submitted, however they were uploaded.

Real uploads put files in a nested folder, add " (1)" or "-copy" when a browser
saved a second download, and change the case of names. Each expected file is
found (with a note saying where) or reported missing with the files that were
received, so the student knows what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 5000
_IGNORED_PARTS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", "node_modules"}
_COPY_SUFFIX = r"(?:\s*\(\d+\)|\s*-\s*copy|\s*_copy|\s+copy|-\d+)?"


@dataclass
class Located:
    """Where each expected file was found, what is missing, and notes for the student."""

    files: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def candidates(submission: Path) -> list[Path]:
    """Every regular file of the submission (not hidden, not OS clutter), sorted."""
    found = []
    for path in sorted(submission.rglob("*")):
        relative = path.relative_to(submission).parts
        if any(p in _IGNORED_PARTS or p.startswith(".") for p in relative):
            continue
        if path.is_file() and not path.is_symlink():
            found.append(path)
            if len(found) >= MAX_FILES:
                break
    return found


def locate(submission: Path, expected: Sequence[str]) -> Located:
    """Match each expected file name (e.g. ``losses.py``) to one file of the submission."""
    result = Located()
    files = candidates(submission) if submission.is_dir() else []
    for name in expected:
        stem, suffix = Path(name).stem, Path(name).suffix
        module = stem
        pattern = re.compile(rf"{re.escape(stem)}{_COPY_SUFFIX}{re.escape(suffix)}", re.IGNORECASE)
        matches = [p for p in files if pattern.fullmatch(p.name)]
        # Prefer the exact name, then the shallowest path, then the first in sorted order.
        matches.sort(key=lambda p: (p.name != name, len(p.relative_to(submission).parts), str(p)))
        if matches:
            chosen = matches[0]
            result.files[module] = chosen
            shown = chosen.relative_to(submission).as_posix()
            if shown != name:
                result.notes.append(f"graded '{shown}' as {name}")
            for other in matches[1:]:
                result.notes.append(f"ignored '{other.relative_to(submission).as_posix()}': "
                                    f"'{shown}' was graded as {name}")
            continue
        near = [p for p in files if p.stem.lower().startswith(stem.lower())]
        message = f"{name} was not found in your submission"
        if near:
            names = ", ".join(f"'{p.relative_to(submission).as_posix()}'" for p in near[:3])
            message += f"; found {names} instead: upload it as {name}"
        elif files:
            names = ", ".join(sorted({p.name for p in files})[:12])
            message += f" (files received: {names})"
        result.missing[module] = message + "."
    return result


def read_sources(files: dict[str, Path], max_kb: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """The located files' contents as UTF-8 source, and a message for each file too large
    to grade (read no further than the cap: a 1 GB upload costs nothing)."""
    sources, problems = {}, {}
    for module, path in files.items():
        size = path.stat().st_size
        if size > max_kb * 1024:
            problems[module] = (f"{path.name} is {size / 2**20:.1f} MB; source files over "
                                f"{max_kb} KB are not graded. Upload the .py file itself.")
            continue
        sources[module] = as_utf8(path.read_bytes())
    return sources, problems


def as_utf8(source: bytes) -> bytes:
    """Python source as UTF-8: a file saved as Windows-1252 (an accent in a comment) would
    otherwise not import at all."""
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        if b"coding" not in source[:200]:
            return source.decode("cp1252", errors="replace").encode("utf-8")
    return source
