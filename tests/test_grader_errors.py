"""A grader that cannot run says so as a grader error, and never charges the student for
it. Fast: small sandboxes, no pytest session inside. (The end-to-end case, through the
real setup.sh and run_autograder, is in test_install.py.)"""

import json
import sys

import pytest

from autograder import cli
from autograder.sandbox.broker import Sandbox, SandboxError
from autograder.sandbox.jail import working_bwrap
from autograder.sandbox.limits import Limits

CONTRACT = {"m": ["double", "triple"]}
CODE = b"def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return double(x) + x\n"
NOWHERE = "/nonexistent/bin/python3"  # an interpreter the sandbox cannot start


@pytest.fixture(params=["bubblewrap", "no bubblewrap"])
def bwrap(request, monkeypatch) -> bool:
    """Both ways the sandbox starts Python: through bubblewrap, and directly."""
    if request.param == "no bubblewrap":
        monkeypatch.setenv("AUTOGRADER_NO_BWRAP", "1")
        return False
    if working_bwrap(None) is None:
        pytest.skip("bubblewrap cannot create a sandbox here")
    return True


def test_a_worker_that_cannot_start_is_a_sandbox_error(bwrap, monkeypatch):
    box = Sandbox({"m": CODE}, CONTRACT)
    monkeypatch.setattr(sys, "executable", NOWHERE)
    try:
        with pytest.raises(SandboxError) as info:
            box.start()
    finally:
        box.close()
    why = f"bwrap: execvp {NOWHERE}: No such file or directory" if bwrap else \
        f"No such file or directory: {NOWHERE}"
    assert str(info.value) == (f"the grader could not start Python to run the submission's code "
                               f"({why}): the autograder's installation is at fault, not the "
                               "submission")
    assert box.failure is info.value


def test_a_reference_that_cannot_start_is_not_charged_to_the_student(bwrap, monkeypatch):
    """triple calls double, which the grader serves from the reference process: when that
    process cannot start, the call fails as a grader error, and triple is not broken."""
    box = Sandbox({"m": CODE}, CONTRACT, {"m": CODE}, Limits(call_timeout=10.0, total_seconds=60.0))
    box.begin(["m.double", "m.triple"])
    try:
        box.start()  # the student's worker starts; then the reference cannot
        monkeypatch.setattr(sys, "executable", NOWHERE)
        box.enter("m.triple")
        with pytest.raises(SandboxError, match="to run the reference solution"):
            box.call("m.triple", (1.0,), {})
    finally:
        box.close()
    assert box.failure is not None and box.broken == {}


def test_fallback_results_say_plainly_that_the_grader_failed(tmp_path):
    reason = ("the grader could not start Python to run the submission's code "
              "(Permission denied: /autograder/venv/bin/python3): the autograder's installation "
              "is at fault, not the submission")
    out = tmp_path / "results.json"
    assert cli.main(["fallback", "--out", str(out), "--reason", reason]) == 0
    result = json.loads(out.read_text())
    assert result["score"] == 0
    assert result["output"] == (
        "The autograder could not grade this submission: the grader could not start Python to "
        "run the submission's code (Permission denied: /autograder/venv/bin/python3): the "
        "autograder's installation is at fault, not the submission. Please tell your instructor.")
    assert [(t["name"], t["max_score"], t["tags"]) for t in result["tests"]] == [
        ("Autograder", 0, ["autograder"])]
