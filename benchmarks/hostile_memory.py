"""Benchmark: peak memory of grading the worst hostile submissions, for any checkout.

Builds each case in a temporary folder from the checkout's reference solution and
grades it once per run with a fresh ``autograder grade`` (``python -m autograder.cli``
run from the checkout, pinned to one core with ``taskset -c 0`` where available).
Peak memory (MiB) is the largest summed resident set size of the whole process
tree (the grader and every worker), sampled every 20 ms from /proc as in
grade_one.py; next to it, the largest single process seen. CPU is user + system
of the tree. Runs are strictly one after another.

    python benchmarks/hostile_memory.py [ROOT] [--python PY] [--runs N] [--case NAME ...]

ROOT is the checkout to grade with (default: this one); PY defaults to ROOT's
.venv/bin/python (else the running interpreter). Cases:

- ``reference``: the unchanged reference solution (the yardstick);
- ``source-1gib``: losses.py padded with a comment line to 1 GiB;
- ``reply-60mb``: l1_loss_grad returns ``np.zeros(7_500_000)`` (60 MB of float64);
- ``reply-5.6mb``: ``np.zeros(700_000)``, the largest kind of reply the 8 MB frame
  limit lets through (7.5 MB of base64), read in full on every call;
- ``reply-50mb``: l1_loss_grad returns ``np.zeros(6_250_000)`` (50 MB, whose base64
  JSON reply stays just under a 64 MiB message limit).

The outcome column shows the score and the first failed test, so a case that was
refused early can be told from one that was read in full.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
ASSIGNMENT = "optimization"
GIB = 1 << 30
PADDING = b"# " + b"x" * 125 + b"\n"  # one 128-byte comment line


def tree_rss(pid: int) -> tuple[int, int]:
    """Resident bytes of ``pid`` and all its descendants, summed, and of the largest
    single process among them (grade_one.py uses it too; this script imports nothing
    from the checkout it measures)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, largest, stack = 0, 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        largest = max(largest, rss.get(current, 0))
        stack.extend(children.get(current, []))
    return total, largest


# -- the cases: each edits a copy of the reference solution ---------------------------
def pad_source(folder: Path) -> None:
    """losses.py, still valid Python, grown to 1 GiB by a repeated comment line."""
    path = folder / "losses.py"
    block = PADDING * (1 << 13)  # 1 MiB
    with open(path, "ab") as f:
        f.write(b"\n")
        while f.tell() + len(block) <= GIB:
            f.write(block)
        lines, rest = divmod(GIB - f.tell(), len(PADDING))
        f.write(PADDING * lines + (b"#" * (rest - 1) + b"\n" if rest else b""))


def big_reply(elements: int) -> Callable[[Path], None]:
    """l1_loss_grad redefined at the end of losses.py to return ``elements`` zeros."""
    def edit(folder: Path) -> None:
        with open(folder / "losses.py", "a", encoding="utf-8") as f:
            f.write(f"\n\ndef l1_loss_grad(y_hat, y):\n    return np.zeros({elements:_})\n")
    return edit


CASES: dict[str, Callable[[Path], None]] = {
    "reference": lambda folder: None,
    "source-1gib": pad_source,
    "reply-60mb": big_reply(7_500_000),
    "reply-50mb": big_reply(6_250_000),
    "reply-5.6mb": big_reply(700_000),
}


# -- measuring ----------------------------------------------------------------------
def measure(root: Path, python: str, submission: Path, out: Path) -> tuple[float, ...]:
    """(cpu seconds, wall seconds, peak tree bytes, peak bytes of one process, exit code)
    of grading once."""
    out.unlink(missing_ok=True)
    command = [python, "-m", "autograder.cli", "grade", ASSIGNMENT, str(submission),
               "--out", str(out), "--quiet"]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL)
    peak = single = 0
    while proc.poll() is None:
        total, largest = tree_rss(proc.pid)
        peak, single = max(peak, total), max(single, largest)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, peak, single, proc.returncode


def outcome(out: Path, code: float) -> str:
    """The score, and the start of the first failed test's message."""
    if code != 0 or not out.is_file():
        return f"grading failed (exit {code})"
    document = json.loads(out.read_text(encoding="utf-8"))
    tests = document.get("tests", [])
    got = sum(t.get("score", 0) for t in tests)
    total = sum(t.get("max_score", 0) for t in tests)
    text = f"{got:.1f}/{total:.1f}"
    failed = [t for t in tests if t.get("score", 0) < t.get("max_score", 0)]
    if failed:
        message = " ".join(str(failed[0].get("output") or "").split())
        text += f", {len(failed)} tests failed, first: {message}"
    return text[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=HERE,
                        help="the checkout to grade with (default: this one)")
    parser.add_argument("--python", help="its interpreter (default: ROOT/.venv/bin/python, else this one)")
    parser.add_argument("--runs", type=int, default=1, help="gradings per case; the median is shown")
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="only this case (repeatable; default: all)")
    args = parser.parse_args()
    root = args.root.resolve()
    venv = root / ".venv" / "bin" / "python"
    python = args.python or (str(venv) if venv.is_file() else sys.executable)
    reference = root / "solutions" / ASSIGNMENT
    if not reference.is_dir():
        raise SystemExit(f"{root}: no solutions/{ASSIGNMENT} to build the cases from")
    print(f"checkout {root} ({python}), {args.runs} run(s) per case, median shown")
    print(f"{'case':<12} {'cpu s':>7} {'wall s':>7} {'tree MiB':>8} {'1 proc MiB':>10}  outcome")
    for name in args.case or list(CASES):
        with tempfile.TemporaryDirectory(prefix="hostile-memory-", dir="/tmp") as tmp:
            submission = Path(tmp) / "submission"
            shutil.copytree(reference, submission)
            CASES[name](submission)
            out = Path(tmp) / "results.json"
            runs = [measure(root, python, submission, out) for _ in range(args.runs)]
            cpu, wall, peak, single = (statistics.median(r[i] for r in runs) for i in range(4))
            print(f"{name:<12} {cpu:7.2f} {wall:7.2f} {peak / 2**20:8.1f} {single / 2**20:10.1f}  "
                  f"{outcome(out, runs[-1][4])}", flush=True)


if __name__ == "__main__":
    main()
