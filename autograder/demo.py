"""``autograder demo``: grade the reference solution and a sample buggy submission."""

from __future__ import annotations

from pathlib import Path

from autograder import config, results, runner

SAMPLES = config.HOME / "samples"


def run(out: Path) -> int:
    """Grade both, write their results.json under ``out`` and print the tables."""
    assignment = config.load("optimization")
    metadata_dir = config.HOME / "samples" / "metadata"
    cases = [
        ("reference", assignment.solutions_dir, None),
        ("buggy", SAMPLES / "optimization" / "buggy", metadata_dir / "one_day_late.json"),
    ]
    titles = {"reference": "the reference solution",
              "buggy": "a sample buggy submission (4 bugs, a nested folder, 'losses (1).py', "
                       "1 day late)"}
    for slug, folder, metadata_path in cases:
        metadata = runner.read_metadata(metadata_path) if metadata_path else None
        document = runner.grade(assignment, folder, metadata)
        target = out / f"{slug}-results.json"
        results.write_atomic(target, document)
        print(results.table(document, f"\n== {assignment.title}: {titles[slug]}"))
        late = document["extra_data"].get("late")
        if late:
            print(f"  late: {late['days']} day(s), -{late['penalty']:g} points")
        print(f"  results.json: {target}")
    return 0
