"""``autograder demo``: grade the reference solution and a sample buggy submission, for
every assignment with a sample.

The buggy sample is described, not copied: ``samples/<name>/buggy.yaml`` gives its
``title``, lists text ``edits`` to the reference (each must match exactly once; edits with
the same ``bug`` label are one bug), the ``folder`` it is uploaded in, ``rename``d files and
its submission ``metadata``. What the demo says the sample holds is counted from these.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from autograder import config, late_policy, mistakes, results, runner
from autograder.words import count


def derive_submission(source: Path, dest: Path, edits: Iterable[tuple[str, str, str]]) -> Path:
    """Copy the files of ``source`` to ``dest`` and apply ``(file, old, new)`` edits."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in source.iterdir() if p.is_file()):
        shutil.copy(path, dest / path.name)
    for file, old, new in edits:
        text = (dest / file).read_text(encoding="utf-8")
        (dest / file).write_text(mistakes.apply_edit(text, old, new, file), encoding="utf-8")
    return dest


def build_sample(assignment: config.Assignment, spec_path: Path, dest: Path) -> Path:
    """Build the sample submission that ``spec_path`` describes under ``dest``."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    folder = derive_submission(assignment.solutions_dir, dest / spec.get("folder", ""),
                               [(e["file"], e["old"], e["new"]) for e in spec["edits"]])
    for old, new in (spec.get("rename") or {}).items():
        (folder / old).rename(folder / new)
    return dest


def samples() -> list[Path]:
    """The sample submissions there are: ``samples/<assignment>/buggy.yaml``."""
    return sorted((config.HOME / "samples").glob("*/buggy.yaml"))


def describe(spec: dict, lateness: late_policy.Lateness | None) -> str:
    """The sample's ``title`` and what it holds, counted from its description: "a sample
    buggy submission (2 bugs, a nested folder, 'stats (1).py', 1 day late)"."""
    bugs = len({edit.get("bug", i) for i, edit in enumerate(spec["edits"])})
    facts = [count(bugs, "bug")]
    if spec.get("folder"):
        facts.append("a nested folder")
    facts += [f"'{new}'" for new in (spec.get("rename") or {}).values()]
    if lateness is not None and lateness.days:
        facts.append(f"{count(lateness.days, 'day')} late")
    return f"{spec.get('title', 'a sample buggy submission')} ({', '.join(facts)})"


def run(out: Path, full: bool = False) -> int:
    """For every sample, grade its assignment's reference and the sample; write their
    results.json under ``out`` and print the tables (``full``: every failure whole)."""
    if not samples():
        raise config.ConfigError(f"no sample submission to grade: "
                                 f"{config.HOME / 'samples'}/<assignment>/buggy.yaml")
    for spec_path in samples():
        assignment = config.load(spec_path.parent.name)
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        metadata = lateness = None
        if spec.get("metadata"):
            metadata = runner.read_metadata(spec_path.parent / spec["metadata"])
            lateness = late_policy.assess(assignment.due, assignment.late_policy, metadata)
        with tempfile.TemporaryDirectory() as tmp:
            cases = [
                ("reference", "the reference solution", assignment.solutions_dir, None),
                ("buggy", describe(spec, lateness),
                 build_sample(assignment, spec_path, Path(tmp) / "buggy"), metadata),
            ]
            for slug, title, folder, submission_metadata in cases:
                document = runner.grade(assignment, folder, submission_metadata)
                target = out / f"{assignment.name}-{slug}-results.json"
                results.write_atomic(target, document)
                print(results.table(document, f"\n== {assignment.title}: {title}", full=full))
                print(f"  results.json: {target}")
    return 0
