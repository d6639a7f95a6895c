"""Benchmark: CPU seconds, wall time and peak memory of grading one submission.

Each submission is graded by a fresh ``autograder grade`` process pinned to one
core (``taskset -c 0`` where available). CPU time is user + system of the whole
process tree (the grader and every worker it started, as reported for waited-for
children); peak memory is the largest summed resident set size of the tree,
sampled every 20 ms from /proc.

    python benchmarks/grade_one.py [--runs N] [SUBMISSION ...]
    python benchmarks/grade_one.py --run-autograder [SUBMISSION ...]

With ``--run-autograder`` the release zip is unpacked into a fake /autograder,
the real setup.sh runs once (as on Gradescope: a venv, and the sandbox user when
root), and each measurement is one whole ``run_autograder``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hostile_memory import tree_rss  # noqa: E402  (this folder: the one memory sampler)

from autograder import config, packaging  # noqa: E402  (after making the repo importable)

SYSTEM_PATH = packaging.SYSTEM_PATH


def measure(assignment: str, submission: Path, gradescope: Path | None) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, peak bytes) of grading ``submission`` once."""
    if gradescope is None:
        out = Path(tempfile.mkdtemp()) / "results.json"
        command = [sys.executable, "-m", "autograder.cli", "grade", assignment, str(submission),
                   "--out", str(out), "--quiet"]
        env = None
    else:
        out = gradescope / "results" / "results.json"
        shutil.rmtree(gradescope / "submission", ignore_errors=True)
        shutil.copytree(submission, gradescope / "submission")
        command = ["bash", str(gradescope / "source" / "run_autograder")]
        env = {"PATH": SYSTEM_PATH, "AUTOGRADER_ROOT": str(gradescope)}
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid)[0])
        time.sleep(0.02)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"grading {submission} failed with exit code {proc.returncode}")
    return cpu, wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="*", type=Path)
    parser.add_argument("--assignment", default="optimization")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--run-autograder", action="store_true",
                        help="measure the real run_autograder in a fake /autograder")
    args = parser.parse_args()
    gradescope = None
    if args.run_autograder:
        root = packaging.local_root("bench-autograder-")
        gradescope = packaging.install_locally(config.load(args.assignment), root)
    submissions = args.submissions or [ROOT / "solutions" / "optimization",
                                       ROOT / "student_template" / "optimization"]
    print(f"{'submission':<44} {'cpu s':>7} {'wall s':>7} {'peak MB':>8}")
    for submission in submissions:
        for _ in range(args.runs):
            cpu, wall, peak = measure(args.assignment, submission, gradescope)
            name = submission.relative_to(ROOT) if submission.is_relative_to(ROOT) else submission
            print(f"{str(name):<44} {cpu:7.2f} {wall:7.2f} {peak / 2**20:8.1f}")


if __name__ == "__main__":
    main()
