"""``autograder demo``: grade the reference solution and a sample buggy submission.

The buggy sample is described, not copied: ``samples/<name>/buggy.yaml`` lists
text edits to the reference (each must match exactly once), the folder it is
uploaded in, renamed files and its submission metadata.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from autograder import config, mistakes, results, runner

SAMPLES = config.HOME / "samples"


def derive_submission(source: Path, dest: Path, edits: Iterable[tuple[str, str, str]]) -> Path:
    """Copy the files of ``source`` to ``dest`` and apply ``(file, old, new)`` edits."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.py")):
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


def run(out: Path) -> int:
    """Grade both, write their results.json under ``out`` and print the tables."""
    assignment = config.load("optimization")
    spec_path = SAMPLES / "optimization" / "buggy.yaml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            ("reference", "the reference solution", assignment.solutions_dir, None),
            ("buggy", "a sample buggy submission (4 bugs, a nested folder, 'losses (1).py', "
                      "1 day late)", build_sample(assignment, spec_path, Path(tmp) / "buggy"),
             SAMPLES / "optimization" / spec["metadata"]),
        ]
        for slug, title, folder, metadata_path in cases:
            metadata = runner.read_metadata(metadata_path) if metadata_path else None
            document = runner.grade(assignment, folder, metadata)
            target = out / f"{slug}-results.json"
            results.write_atomic(target, document)
            print(results.table(document, f"\n== {assignment.title}: {title}"))
            print(f"  results.json: {target}")
    return 0
