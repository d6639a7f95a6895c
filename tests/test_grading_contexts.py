"""Nothing crosses between grading contexts: through the real run_autograder as root, in
both modes (bubblewrap, and the pool users alone as on Gradescope's Docker, where
bubblewrap cannot run), ``layers.residual_forward`` reads what the grader keeps from the
sandbox (the metadata, whose ``previous_submissions`` hold earlier results with their
hidden rows; an earlier file in the results folder; the source tree with the hidden tests
and the reference; the logs of the sandboxed processes and the reference process's files
in the grader's scratch), prints what it got, and returns the right answer.

The grader writes results.json, no row holds what the sandbox must not read, every name
keeps full marks, and the run leaves no scratch behind."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from attacks import after_imports

from autograder import config

from conftest import ROOT, run_autograder
from corpus import Edit, write_submission

pytestmark = pytest.mark.slow
MARKER = "hidden-row-of-an-earlier-submission-5b1e"  # in what the sandbox must not read
METADATA = ROOT / "tests" / "fixtures" / "gradescope" / "on_time.json"

PROBE = '''
_PROBED = []


def _probe():
    """Print what this process can read of what the grader keeps from it."""
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
'''


def secrets(root: Path) -> list[str]:
    """What the sandbox must not read in the layout ``root``."""
    source = root / "source"
    hidden = source / "assignments" / "optimization" / "tests" / "hidden"
    return [str(p) for p in (
        root / "submission_metadata.json", root / "results", root / "results" / "earlier.json",
        source, source / "solutions", source / "solutions" / "optimization" / "losses.py",
        hidden, hidden / "test_losses_hidden.py")]


def attack(root: Path):
    """The builder of the submission: the reference with the probe in
    ``layers.residual_forward``; it also leaves an earlier results file with a hidden row in
    the results folder."""
    edits = [after_imports("layers.py", f"SECRETS = {secrets(root)!r}\n{PROBE}"),
             Edit("layers.py", '    """x: (N, D), W: (D, D), b: (D,). Returns ``x + relu(x @ W + b)``."""\n',
                  '    """x: (N, D), W: (D, D), b: (D,). Returns ``x + relu(x @ W + b)``."""\n'
                  "    _probe()\n")]

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


@pytest.mark.parametrize("namespaces", [True, False], ids=["bubblewrap", "pool-users-only"])
def test_nothing_crosses_between_grading_contexts(gradescope_root, tmp_path, namespaces):
    scratch = Path(tempfile.mkdtemp(prefix="grading-contexts-"))  # the run's temp folder
    os.chmod(scratch, 0o711)  # the pool users reach their own folders in it
    env = {"TMPDIR": str(scratch)} | ({} if namespaces else {"AUTOGRADER_NO_BWRAP": "1"})
    try:
        path, _ = run_autograder(gradescope_root, attack(gradescope_root),
                                 metadata_with_history(tmp_path), env=env)
        raw = path.read_text(encoding="utf-8") if path.exists() else ""
        document = json.loads(raw) if raw else {}
        assert document.get("extra_data", {}).get("assignment") == "optimization", \
            f"the grader did not write results.json: {document.get('output', raw)[:1000]}"
        assert MARKER not in raw, "the sandbox read the metadata or the results folder"
        rows = [t for t in document["tests"] if t.get("max_score", 0) > 0]
        points = config.load("optimization").points
        assert {t["tags"][0] for t in rows} == set(points)
        unearned = [(t["name"], t["output"][:300]) for t in rows if t["score"] < t["max_score"]]
        assert not unearned, f"names lost points: {unearned[:5]}"
        printed = [line.strip() for t in rows for line in t["output"].splitlines()]
        probes = [line for line in printed if line.startswith("PROBE ")]
        assert len(probes) >= len(secrets(gradescope_root)) + 5, printed[:50]
        read = [line for line in probes
                if not line.endswith((" PermissionError", " FileNotFoundError"))]
        assert not read, f"the sandbox read what the grader keeps from it: {read[:5]}"
        assert list(scratch.iterdir()) == [], "the grading left its scratch behind"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
