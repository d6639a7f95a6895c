"""Find the files a student submitted, however they were uploaded.

Real uploads put files in a nested folder, add " (1)" or "-copy" when a browser
saved a second download, and change the case of names; students who work in Jupyter
or Colab upload notebooks. Each expected file is found (with a note saying where) or
reported missing with the files that were received, so the student knows what to fix.
A zip file given as the submission is unpacked first, as Gradescope unpacks an uploaded
zip (:func:`submission_folder`).
"""

from __future__ import annotations

import contextlib
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from autograder import notebooks
from autograder.config import ConfigError

MAX_FILES = 5000
MAX_UNZIPPED = 100 * 2**20  # bytes a zip submission may unpack to
MAX_NOTEBOOKS = 20  # notebooks read per submission (the shallowest)
ARCHIVES = {".zip", ".tar", ".gz", ".tgz", ".rar", ".7z"}  # not opened: named in the message
_IGNORED_PARTS = {"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", "node_modules"}
_COPY_SUFFIX = r"(?:\s*\(\d+\)|\s*-\s*copy|\s*_copy|\s+copy|-\d+)?"


@dataclass
class Located:
    """Where each expected file was found, what is missing, and notes for the student;
    for a module served by a notebook, the Python source made from it."""

    files: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    code: dict[str, bytes] = field(default_factory=dict)


@contextlib.contextmanager
def submission_folder(path: Path) -> Iterator[Path]:
    """The folder to grade: ``path`` itself, or, for a zip file, a temporary folder that
    holds what it unpacks to (removed afterwards)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise ConfigError(f"submission not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{path}: a submission is a folder or a zip file")
    with tempfile.TemporaryDirectory(prefix="unzipped-submission-") as tmp:
        unzip(path, Path(tmp))
        yield Path(tmp)


def unzip(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest``: at most MAX_FILES entries and MAX_UNZIPPED bytes,
    whatever the entries declare; no entry may be written outside ``dest`` (an absolute
    path or ``..``); symbolic links are left out. A ConfigError names what is refused."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = zipped.infolist()
            if len(entries) > MAX_FILES:
                raise ConfigError(f"{archive.name}: {len(entries)} entries; a submission may "
                                  f"hold at most {MAX_FILES}")
            budget = MAX_UNZIPPED
            for entry in entries:
                parts = PurePosixPath(entry.filename.replace("\\", "/")).parts
                if entry.filename.startswith(("/", "\\")) or ".." in parts \
                        or (parts and ":" in parts[0]):
                    raise ConfigError(f"{archive.name}: the entry '{entry.filename}' would be "
                                      "unpacked outside its folder; not graded")
                if entry.is_dir() or stat.S_ISLNK(entry.external_attr >> 16):
                    continue
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(entry) as source, open(target, "wb") as out:
                    budget -= _copy_at_most(source, out, budget)
                    if budget < 0:
                        raise ConfigError(f"{archive.name}: unpacks to more than "
                                          f"{MAX_UNZIPPED // 2**20} MB; not graded")
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
        raise ConfigError(f"{archive.name}: cannot unpack: {exc}") from None


def _copy_at_most(source: BinaryIO, out: BinaryIO, budget: int) -> int:
    """Copy ``source`` to ``out``, stopping once more than ``budget`` bytes came; the bytes
    read (more than ``budget`` when it stopped)."""
    done = 0
    while chunk := source.read(min(2**20, budget - done + 1)):
        out.write(chunk)
        done += len(chunk)
        if done > budget:
            break
    return done


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


def locate(submission: Path, expected: Sequence[str],
           contract: Mapping[str, Sequence[str]] | None = None) -> Located:
    """Match each expected file name (e.g. ``losses.py``) to one file of the submission.

    A ``.py`` file may come as a notebook: ``losses.ipynb`` (named as the file would be),
    else, given the ``contract`` (module -> its names), a notebook that defines some of
    the module's names (``hw2.ipynb`` holding every function; the one defining the most
    wins). The notebook's code (:mod:`autograder.notebooks`) is then the module, except
    that the names of other modules' contracts it defines are imported from those
    modules, as if the student had split the notebook into files: each name is graded
    once, in its own module."""
    result = Located()
    files = candidates(submission) if submission.is_dir() else []
    python = any(Path(name).suffix == ".py" for name in expected)
    modules = frozenset(Path(name).stem for name in expected)
    notebooks, unreadable = (_notebooks(submission, files, modules, result) if python
                             else ({}, {}))
    used: dict[Path, None] = {}  # the notebooks graded, in order
    for name in expected:
        stem, suffix = Path(name).stem, Path(name).suffix
        module = stem
        forms = rf"(?:{re.escape(suffix)}|\.ipynb)" if suffix == ".py" else re.escape(suffix)
        pattern = re.compile(rf"{re.escape(stem)}{_COPY_SUFFIX}{forms}", re.IGNORECASE)
        matches = [p for p in files if pattern.fullmatch(p.name)
                   and (p.suffix.lower() != ".ipynb" or p in notebooks)]
        # Prefer a file to a notebook, the exact name, the shallowest path, the first in order.
        matches.sort(key=lambda p: (p.suffix.lower() == ".ipynb", p.name != name,
                                    len(p.relative_to(submission).parts), str(p)))
        if not matches and contract and suffix == ".py":
            names = set(contract.get(module, ()))
            matches = sorted((p for p, book in notebooks.items() if book.defines & names),
                             key=lambda p: (-len(notebooks[p].defines & names),
                                            len(p.relative_to(submission).parts), str(p)))
        if matches:
            chosen = matches[0]
            result.files[module] = chosen
            if chosen in notebooks:
                result.code[module] = _module_code(notebooks[chosen], module, contract or {})
                used[chosen] = None
            shown = chosen.relative_to(submission).as_posix()
            if shown != name:
                result.notes.append(f"graded '{shown}' as {name}")
            for other in matches[1:]:
                result.notes.append(f"ignored '{other.relative_to(submission).as_posix()}': "
                                    f"'{shown}' was graded as {name}")
            continue
        near = [p for p in files if p.stem.lower().startswith(stem.lower()) and p not in unreadable]
        message = f"{name} was not found in your submission"
        if near:
            names = ", ".join(f"'{p.relative_to(submission).as_posix()}'" for p in near[:3])
            message += f"; found {names} instead: upload it as {name}"
        elif files:
            names = ", ".join(sorted({p.name for p in files})[:12])
            message += f" (files received: {names})"
            if any(p.suffix.lower() in ARCHIVES for p in files):
                message += f"; upload {name} itself, not an archive that holds it"
        result.missing[module] = "; ".join([message, *unreadable.values()]) + "."
    result.notes += [note for path in used for note in notebooks[path].notes]
    return result


def _notebooks(submission: Path, files: list[Path], modules: frozenset[str],
               result: Located) -> tuple[dict[Path, notebooks.Notebook], dict[Path, str]]:
    """The submission's notebooks (the shallowest ``MAX_NOTEBOOKS``) read as modules that
    may import ``modules``, and why each one that cannot be read cannot."""
    paths = sorted((p for p in files if p.suffix.lower() == ".ipynb"),
                   key=lambda p: (len(p.relative_to(submission).parts), str(p)))
    if len(paths) > MAX_NOTEBOOKS:
        result.notes.append(f"only the first {MAX_NOTEBOOKS} of your {len(paths)} notebooks "
                            "were read")
    read, unreadable = {}, {}
    for path in paths[:MAX_NOTEBOOKS]:
        try:
            read[path] = notebooks.read(path, path.relative_to(submission).as_posix(), modules)
        except notebooks.NotebookError as exc:
            unreadable[path] = str(exc)
    return read, unreadable


def _module_code(book: notebooks.Notebook, module: str,
                 contract: Mapping[str, Sequence[str]]) -> bytes:
    """A notebook's code as ``module``: the contract names of other modules that it defines
    are imported from them (each is graded in its own module)."""
    others = [(m, n) for m, names in contract.items() if m != module
              for n in names if n in book.defines]
    tail = "".join(f"from {m} import {n}\n" for m, n in others)
    if tail:
        tail = "\n# names graded in other files, used from there as if imported\n" + tail
    return (book.code + tail).encode("utf-8")


def read_sources(found: Located, max_kb: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """The located files' contents as UTF-8 source (a notebook's: the code made from it),
    and a message for each one too large to grade (read no further than the cap: a 1 GB
    upload costs nothing)."""
    sources, problems = {}, {}
    for module, path in found.files.items():
        code = found.code.get(module)
        size = path.stat().st_size if code is None else len(code)
        if size > max_kb * 1024:
            what = path.name if code is None else f"the code of {path.name}"
            problems[module] = (f"{what} is {size / 2**20:.1f} MB; source files over "
                                f"{max_kb} KB are not graded. Upload the .py file itself.")
            continue
        sources[module] = as_utf8(path.read_bytes()) if code is None else code
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
