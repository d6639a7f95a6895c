"""Nothing crosses between grading contexts: through the real run_autograder as root, in
both modes (bubblewrap, and the pool users alone as on Gradescope's Docker, where
bubblewrap cannot run), one submission attacks two names:

- ``layers.residual_forward`` reads what the grader keeps from the sandbox (the metadata,
  whose ``previous_submissions`` hold earlier results with their hidden rows; an earlier
  file in the results folder; the source tree with the hidden tests and the reference; the
  logs of the sandboxed processes and the reference process's files in the grader's
  scratch), tries to lower its own ``oom_score_adj`` (which it cannot where the grader
  may pin it: CAP_SYS_RESOURCE), prints what it got, and returns the right answer;
- ``losses.l1_loss`` starts as many processes as it may, each holding 30 MB: each smaller
  than the grader, together more than the 768 MB (Gradescope's) that the whole grading runs
  under here, in a cgroup of the test's own (where this machine lets the test make one).

The grader survives and writes results.json, no row holds what the sandbox must not read,
every other name keeps full marks, and the run leaves no scratch and no cgroup behind."""

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from attacks import after_imports, may_lose

from autograder import config
from autograder.sandbox import jail as jails

from conftest import ROOT, can_pin_oom_scores, run_autograder
from corpus import Edit, write_submission

pytestmark = pytest.mark.slow
MARKER = "hidden-row-of-an-earlier-submission-5b1e"  # in what the sandbox must not read
GRADING_MB = 768  # what Gradescope gives a whole grading
HOG_MB = 30  # what each of the memory attack's processes holds
METADATA = ROOT / "tests" / "fixtures" / "gradescope" / "on_time.json"

PROBE = '''
_PROBED = []


def _probe():
    """Print what this process can read of what the grader keeps from it, and whether it
    can make itself harder for the kernel to kill."""
    import os

    if _PROBED:
        return
    _PROBED.append(True)
    scratch = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = list(SECRETS) + [os.path.join(scratch, *part) for part in (
        ("worker", "stderr.log"), ("reference", "stderr.log"), ("reference", "files"),
        ("reference", "files", "losses.py"), ("reference", "work"))]
    for path in paths:
        try:
            try:
                seen = "\\n".join(sorted(os.listdir(path)))
            except NotADirectoryError:
                with open(path, encoding="utf-8", errors="replace") as f:
                    seen = f.read()
        except OSError as exc:
            print("PROBE", path, type(exc).__name__)
        else:
            print("PROBE", path, "READ", seen[:1500])
    with open("/proc/self/oom_score_adj") as f:
        score = f.read().strip()
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("0")
        lowered = "lowered"
    except OSError as exc:
        lowered = type(exc).__name__
    print("OOM", score, lowered)
'''

HOG = f'''
_HOGS = []


def _hog():
    """Start as many processes as the sandbox allows, each holding {HOG_MB} MB, and wait
    while they fill up."""
    import os
    import time

    for _ in range(64):
        try:
            pid = os.fork()
        except OSError:
            break  # the sandbox's limit on processes
        if pid == 0:
            try:
                hoard = bytearray(b"h") * ({HOG_MB} << 20)
                time.sleep(60)  # holding the hoard
            finally:
                os._exit(0)
        _HOGS.append(pid)
    time.sleep(2)
'''


def secrets(root: Path) -> list[str]:
    """What the sandbox must not read in the layout ``root``."""
    source = root / "source"
    hidden = source / "assignments" / "optimization" / "tests" / "hidden"
    return [str(p) for p in (
        root / "submission_metadata.json", root / "results", root / "results" / "earlier.json",
        source, source / "solutions", source / "solutions" / "optimization" / "losses.py",
        hidden, hidden / "test_losses_hidden.py")]


def attack(root: Path, hog: bool):
    """The builder of the submission: the reference with the probe in
    ``layers.residual_forward`` and, with ``hog``, the memory attack in ``losses.l1_loss``;
    it also leaves an earlier results file with a hidden row in the results folder."""
    edits = [after_imports("layers.py", f"SECRETS = {secrets(root)!r}\n{PROBE}"),
             Edit("layers.py", '    """x: (N, D), W: (D, D), b: (D,). Returns ``x + relu(x @ W + b)``."""\n',
                  '    """x: (N, D), W: (D, D), b: (D,). Returns ``x + relu(x @ W + b)``."""\n'
                  "    _probe()\n")]
    if hog:
        edits += [after_imports("losses.py", HOG),
                  Edit("losses.py", '    Example: ``l1_loss([1.0, 2.0], [0.0, 4.0]) == 1.5``.\n    """\n',
                       '    Example: ``l1_loss([1.0, 2.0], [0.0, 4.0]) == 1.5``.\n    """\n'
                       "    if not _HOGS:\n        _hog()\n")]

    def build(dest: Path) -> Path:
        (root / "results").mkdir(exist_ok=True)
        (root / "results" / "earlier.json").write_text(json.dumps({"output": MARKER}))
        return write_submission(dest, tuple(edits))

    return build


def metadata_with_history(folder: Path) -> Path:
    """Gradescope's metadata with an earlier submission whose results hold a hidden row."""
    data = json.loads(METADATA.read_text())
    data["previous_submissions"] = [{
        "submission_time": "2024-09-19T10:00:00.000000-04:00", "score": "87.0",
        "results": {"score": 87.0, "tests": [{"name": "losses.softmax (hidden tests)",
                                             "score": 0.0, "max_score": 4.0,
                                             "visibility": "after_published",
                                             "output": MARKER}]}}]
    path = folder / "submission_metadata.json"
    path.write_text(json.dumps(data))
    return path


@contextlib.contextmanager
def grading_memory(megabytes: int) -> Iterator[tuple[jails.Cgroup | None, Path | None, str]]:
    """(a cgroup capped at ``megabytes``, its child cgroup to start run_autograder in, "")
    where this machine lets the test make one (the run's own cgroup then goes inside the
    cap), else (None, None, why not)."""
    cap = jails.make_cgroup(megabytes << 20) if os.geteuid() == 0 else None
    if cap is None:
        yield None, None, ("no cgroup with a memory controller can be made here (not root, "
                           "or /sys/fs/cgroup is read-only or has no memory controller)")
        return
    grader = cap.path / "grader"
    try:
        if (cap.path / "cgroup.subtree_control").exists():  # v2: only leaves hold processes
            (cap.path / "cgroup.subtree_control").write_text("+memory")
        grader.mkdir()
        yield cap, grader, ""
    finally:
        jails.Cgroup(grader).remove()
        cap.remove()


def peak_megabytes(cap: jails.Cgroup) -> float:
    """The most memory the cgroup ``cap`` held (v2 memory.peak, v1 max_usage_in_bytes)."""
    for name in ("memory.peak", "memory.max_usage_in_bytes"):
        with contextlib.suppress(OSError):
            return int((cap.path / name).read_text()) / 2**20
    return float("nan")


@pytest.mark.parametrize("namespaces", [True, False], ids=["bubblewrap", "pool-users-only"])
def test_nothing_crosses_between_grading_contexts(gradescope_root, tmp_path, namespaces):
    scratch = Path(tempfile.mkdtemp(prefix="grading-contexts-"))  # the run's temp folder
    os.chmod(scratch, 0o711)  # the pool users reach their own folders in it
    env = {"TMPDIR": str(scratch)} | ({} if namespaces else {"AUTOGRADER_NO_BWRAP": "1"})
    try:
        with grading_memory(GRADING_MB) as (cap, grader, why_not):
            path, _ = run_autograder(gradescope_root, attack(gradescope_root, hog=cap is not None),
                                     metadata_with_history(tmp_path), env=env, cgroup=grader)
            raw = path.read_text(encoding="utf-8") if path.exists() else ""
            document = json.loads(raw) if raw else {}
            left = [] if cap is None else [str(p) for p in cap.path.rglob("autograder-*")]
            peak = float("nan") if cap is None else peak_megabytes(cap)
        assert document.get("extra_data", {}).get("assignment") == "optimization", \
            f"the grader did not write results.json: {document.get('output', raw)[:1000]}"
        assert MARKER not in raw, "the sandbox read the metadata or the results folder"
        rows = [t for t in document["tests"] if t.get("max_score", 0) > 0]
        points = config.load("optimization").points
        assert {t["tags"][0] for t in rows} == set(points)
        unearned = [(t["name"], t["output"][:300]) for t in rows if t["score"] < t["max_score"]
                    and not may_lose(t["tags"][0], {"losses.l1_loss"})]
        assert not unearned, f"honest names lost points: {unearned[:5]}"
        printed = [line.strip() for t in rows for line in t["output"].splitlines()]
        probes = [line for line in printed if line.startswith("PROBE ")]
        assert len(probes) >= len(secrets(gradescope_root)) + 5, printed[:50]
        read = [line for line in probes
                if not line.endswith((" PermissionError", " FileNotFoundError"))]
        assert not read, f"the sandbox read what the grader keeps from it: {read[:5]}"
        scores = {line for line in printed if line.startswith("OOM ")}
        assert scores and all(line.startswith("OOM 1000 ") for line in scores), scores
        if can_pin_oom_scores():  # else the grader's score is 0 too, and so is the floor
            assert scores == {"OOM 1000 PermissionError"}, "student code lowered its OOM score"
        assert list(scratch.iterdir()) == [], "the grading left its scratch behind"
        assert left == [], "the run's cgroup was left behind"
        if cap is None:
            pytest.skip(f"the rest passed, but the memory attack did not run: {why_not}")
        assert peak > GRADING_MB * 0.6, f"the memory attack held only {peak:.0f} MB"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
