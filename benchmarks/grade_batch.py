"""Benchmark: grade-batch's throughput with 1 and 2 gradings at once, and its peak memory.

Builds N submissions of the optimization assignment in a temporary folder: copies of
the reference, alternating with variants that each make one classic mistake of
``assignments/optimization/mistakes.yaml`` (in the catalogue's order). Grades them with
``python -m autograder.cli grade-batch`` once per ``--jobs`` value, each time into a fresh
``--out`` (nothing is reused), then once more into the last one, where every submission
is unchanged: that rerun is the batch's fixed cost (the sandbox check, the keys, the
report), which does not run in parallel.

For each run: the wall time, submissions per minute, CPU seconds of the whole process
tree (user + system from ``getrusage(RUSAGE_CHILDREN)``: every descendant that was waited
for, the sandboxed workers too) and the peak memory of the whole tree: the largest sum of
the resident set sizes of grade-batch and all its descendants, sampled every 50 ms from
/proc (``hostile_memory.tree_rss``; pages shared between processes count once per process,
so this overestimates). ``RUSAGE_CHILDREN``'s ``ru_maxrss`` is only the largest single
process (of every run so far); it is printed beside it. "cores used" is CPU / wall.

The machine may be shared: the load average before each run shows what else it was doing,
and before the runs two processes spin for 3 s to measure how many cores are really
available (the CPU seconds they got per second). Scaling from 1 to 2 jobs cannot exceed it.

    python benchmarks/grade_batch.py [-n N] [--jobs 1 2] [--python PY]

As root, grade-batch runs student code as the sandbox pool's users, who must be able to
start PY: a venv made from /usr/bin/python3 outside /root (for example under /var/lib)
with this checkout installed (``pip install -e '.[instructor]'``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hostile_memory import tree_rss  # noqa: E402  (this folder: the one memory sampler)

from autograder import config, demo, mistakes  # noqa: E402  (after making the repo importable)


def make_submissions(folder: Path, count: int) -> list[str]:
    """``count`` submission folders: reference copies and classic mistakes, alternating."""
    assignment = config.load("optimization")
    catalogue = mistakes.load(assignment)
    made = []
    for i in range(count):
        if i % 2 == 0:
            name, edits = f"reference_{i:03d}", []
        else:
            mistake = catalogue[(i // 2) % len(catalogue)]
            module = mistake.target.split(".", 1)[0] + ".py"
            name, edits = f"{mistake.id}_{i:03d}", [(module, old, new) for old, new in mistake.edits]
        demo.derive_submission(assignment.solutions_dir, folder / name, edits)
        made.append(name)
    return made


def spin(seconds: float) -> float:
    """CPU seconds this process gets while trying to use one core for ``seconds``."""
    start, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - start < seconds:
        pass
    return time.process_time() - cpu


def available_cores(seconds: float = 3.0) -> float:
    """How many cores two busy processes really get here (a shared machine gives less)."""
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        return sum(pool.map(spin, [seconds] * 2)) / seconds


def run(python: str, submissions: Path, out: Path, jobs: int) -> dict[str, float]:
    """One grade-batch: wall and CPU seconds, peak tree and single-process bytes."""
    command = [python, "-m", "autograder.cli", "grade-batch", "optimization", str(submissions),
               "--out", str(out), "--jobs", str(jobs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid)[0])
        time.sleep(0.05)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"grade-batch --jobs {jobs} failed ({proc.returncode}):\n{stderr[-3000:]}")
    with open(out / "grades.csv", newline="") as f:
        scores = [float(row["score"]) for row in csv.DictReader(f)]
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "peak": peak, "single": after.ru_maxrss * 1024, "load": load,
            "mean": statistics.fmean(scores)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=6, help="submissions to grade (default: 6)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="gradings at once, one run each (default: 1 2)")
    parser.add_argument("--python", help="the interpreter that runs grade-batch (default: this "
                                         "checkout's .venv/bin/python, else this one)")
    args = parser.parse_args()
    venv = ROOT / ".venv" / "bin" / "python"
    python = args.python or (str(venv) if venv.is_file() else sys.executable)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        names = make_submissions(Path(tmp) / "subs", args.n)
        mistaken = sum(not n.startswith("reference_") for n in names)
        print(f"{args.n} submissions ({args.n - mistaken} reference copies, {mistaken} with a "
              f"classic mistake), grade-batch run by {python}, {os.cpu_count()} cores")
        print(f"cores available: {available_cores():.2f} (two spinning processes, 3 s)")
        print(f"{'jobs':>4} {'wall s':>7} {'subs/min':>8} {'cpu s':>7} {'cores used':>10} "
              f"{'tree MiB':>8} {'1 proc MiB':>10} {'load':>5} {'mean score':>10}")
        rates = {}
        for jobs in args.jobs:
            m = run(python, Path(tmp) / "subs", Path(tmp) / f"out-{jobs}", jobs)
            rates[jobs] = args.n / m["wall"] * 60
            print(f"{jobs:>4} {m['wall']:7.1f} {rates[jobs]:8.2f} {m['cpu']:7.1f} "
                  f"{m['cpu'] / m['wall']:10.2f} {m['peak'] / 2**20:8.1f} "
                  f"{m['single'] / 2**20:10.1f} {m['load']:5.2f} {m['mean']:10.2f}", flush=True)
        rerun = run(python, Path(tmp) / "subs", Path(tmp) / f"out-{args.jobs[-1]}", args.jobs[-1])
        print(f"rerun, every submission unchanged (the batch's fixed cost): {rerun['wall']:.1f} s")
        if 1 in rates and len(rates) > 1:
            most = max(rates)
            print(f"scaling 1 -> {most} jobs: {rates[most] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
