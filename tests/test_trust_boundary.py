"""Issue 7's attack set (tests/attacks.py), each submission graded through the real
run_autograder as root, with student code run by the sandbox pool users.

For every attack: results.json exists and is strict UTF-8 JSON with no ESC, no other
control character and no lone surrogate; the score is no more than the rows earn; every
honest contract name keeps full marks and the attacked ones lose points where the
attack's class says they must; grading ends in reasonable time; no process of a pool
user survives, and no file of one is left in /tmp, /var/tmp or /dev/shm.

Special tests: two gradings at once, one honest and one hostile (class 11); the
terminal and exit code of ``autograder grade`` on hostile text (class 13); and, without
root, what the worker can read of the repository's solutions/ and hidden tests (class 14).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from attacks import ATTACKS, BY_NAME, LITTER_MARK, PLANT_MARK, Attack, may_lose, reads_secrets

from autograder import config

from conftest import PATH, ROOT, idle_pool_uids, layout_beside, orphans, pool_uids, run_autograder
from corpus import write_submission

pytestmark = pytest.mark.slow  # every test grades, but the last
METADATA = ROOT / "tests" / "fixtures" / "gradescope" / "on_time.json"
WALL_LIMIT = 600.0  # seconds: Gradescope stops a run after 10 minutes
SCRATCH = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
SIZE_WORDS = re.compile(r"\b(size|large|big|limit|cap|bytes|[KMG]i?B)\b", re.IGNORECASE)
HONEST = Attack("reference", 0, write_submission, frozenset(), frozenset(), "")
# The attacks graded together, each bundle in one grading (class 11 needs two gradings at
# once: it has a test of its own). The attacks of a bundle change different files, so each
# must cost only its own names and every name that no attack of the bundle may cost keeps
# full marks; an attack that fails to cost its names is not hidden by another's.
BUNDLES = [
    ("slow_but_correct",),  # the longest, first
    ("reference_objects_from_another_call", "circular_schedules", "walks_grader_objects",
     "unbounded_reference_call"),
    ("circular_softmax", "callback_reaches_graded_reference", "huge_source_and_reply",
     "plants_conftest"),
    ("deep_reply", "reference_objects_from_import", "litter"),
    ("deep_frame_on_the_channel", "blinds_mutation_reports"),
    ("timer_exit_after_return",),
    ("hostile_text",),
]


# -- what is left on the machine --------------------------------------------------------
def processes_of(uids: set[int]) -> list[str]:
    """Live processes owned by ``uids`` that nothing alive owns (another grading may run
    beside this one)."""
    return orphans(lambda owner, cmd: owner in uids)


def files_left(idle: set[int], busy: set[int], since: float) -> list[str]:
    """Paths under /tmp, /var/tmp and /dev/shm that an idle pool user owns and changed
    after ``since`` (older ones are not ours to judge), or that the litter attack named;
    never those of a user that a running grading holds (it is not done with them)."""
    found = []
    for top in SCRATCH:
        for folder, dirs, files in os.walk(top):  # never follows symbolic links
            for name in dirs + files:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if info.st_uid in busy:
                    continue
                if LITTER_MARK in name or (info.st_uid in idle and info.st_mtime >= since):
                    found.append(path)
    return found


def assert_nothing_left(since: float) -> None:
    uids = pool_uids()
    assert processes_of(uids) == [], "processes of the sandbox users survived the grading"
    with idle_pool_uids() as idle:
        left = files_left(idle, uids - idle, since)
    assert not left, f"{len(left)} files left behind, e.g. {left[:5]}"


def clean_up(root: Path) -> None:
    """Remove what a failed defence let the attacks leave: planted conftest.py files (which
    would act on later gradings) and litter."""
    tests = root / "source" / "assignments" / "optimization" / "tests"
    for folder in {tests / "hidden", tests / "public", tests, *tests.parents, *SCRATCH}:
        planted = folder / "conftest.py"
        with contextlib.suppress(OSError):
            if PLANT_MARK in planted.read_text(encoding="utf-8", errors="replace"):
                planted.unlink()
    for top in SCRATCH:
        for path in top.glob(f"*{LITTER_MARK}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def stop_graders(root: Path) -> None:
    """Kill what run_autograder left running after its timeout (the grader under root)."""
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if str(root).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                os.kill(int(entry), signal.SIGKILL)


# -- results.json -----------------------------------------------------------------------
def strings(value):
    """Every string of a decoded JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def unsafe(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate or a control character other than \\n and \\t."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


def reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_results(path: Path) -> dict:
    """results.json as a strict consumer reads it: UTF-8, standard JSON, clean strings."""
    assert path.is_file(), "no results.json was written"
    raw = path.read_bytes()
    assert b"\x1b" not in raw, "a raw ESC byte in results.json"
    document = json.loads(raw.decode("utf-8"), parse_constant=reject_constant)
    bad = [text[:120] for text in strings(document) if unsafe(text)]
    assert not bad, f"control characters or lone surrogates in results.json: {bad[:3]}"
    return document


def tag(test: dict) -> str:
    return test["tags"][0] if test.get("tags") else ""


def check_grades(document: dict, attack: Attack) -> None:
    """No score above what the rows earn; honest names keep full marks; attacked ones lose."""
    points = config.load("optimization").points
    graded = [t for t in document["tests"] if t.get("max_score", 0) > 0]
    assert graded, f"no graded rows: {document.get('output', '')[:500]}"
    assert {tag(t) for t in graded} == set(points), "rows must be tagged with every contract name"
    assert sum(t["max_score"] for t in graded) == pytest.approx(100)
    assert all(0 <= t["score"] <= t["max_score"] + 1e-9 for t in graded)
    assert document["score"] <= sum(t["score"] for t in graded) + 0.01  # rows are rounded
    unearned = [(t["name"], t["output"][:300]) for t in graded
                if not may_lose(tag(t), attack.may_lose) and t["score"] < t["max_score"] - 1e-9]
    assert not unearned, f"honest names lost points: {unearned[:5]}"
    for target in sorted(attack.must_lose):
        lost = [t for t in graded if may_lose(tag(t), {target}) and t["score"] < t["max_score"] - 1e-9]
        assert lost, f"{target} attacked the grader and lost nothing"


def no_false_import_errors(document: dict, attack: Attack, bundle: Attack) -> None:
    """Class 8: a slow name must not make later files look unimportable (those of the
    other attacks of its bundle may be)."""
    wrong = [t["name"] for t in document["tests"] if not may_lose(tag(t), bundle.may_lose)
             and "could not be imported" in t.get("output", "")]
    assert not wrong, f"honest names reported as not importable: {wrong[:5]}"


def clear_messages(document: dict, attack: Attack, bundle: Attack) -> None:
    """Class 9: every row the attack cost says why; an oversized file is named as such
    (what the other attacks of the bundle cost is not this check's)."""
    lost = [t for t in document["tests"] if t.get("max_score", 0) > 0
            and may_lose(tag(t), attack.may_lose) and t["score"] < t["max_score"]]
    assert all(t["output"].strip() for t in lost), "a row lost points without a message"
    big_file = [t for t in lost if tag(t).startswith("schedules.")]
    assert all(SIZE_WORDS.search(t["output"]) for t in big_file), big_file[:1]


EXTRA_CHECKS = {8: no_false_import_errors, 9: clear_messages}


def grade(root: Path, build) -> tuple[dict, float]:
    """Run the real run_autograder on one submission; (results.json, wall seconds)."""
    try:
        path, elapsed = run_autograder(root, build, METADATA)
    except subprocess.TimeoutExpired:
        stop_graders(root)
        pytest.fail("run_autograder did not finish within 900 s")
    return read_results(path), elapsed


# -- the attacks, through run_autograder as root --------------------------------------------
def changed_files(attack: Attack, scratch: Path) -> tuple[dict[str, bytes], set[str]]:
    """The files ``attack`` writes over the reference's (name -> bytes), and those it removes."""
    folder = attack.build(scratch / attack.name)
    written = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    reference = {path.name: path.read_bytes() for path in write_submission(scratch / "ref").iterdir()}
    changed = {name: data for name, data in written.items() if reference.get(name) != data}
    return changed, set(reference) - set(written)


def bundled(names: tuple[str, ...]) -> Attack:
    """One submission with every attack of ``names``: each changes files no other one does."""
    attacks = [BY_NAME[name] for name in names]
    with tempfile.TemporaryDirectory() as tmp:
        edits = [changed_files(attack, Path(tmp)) for attack in attacks]
    touched = [set(changed) | removed for changed, removed in edits]
    assert sum(map(len, touched)) == len(set().union(*touched)), f"{names} share a file"

    def build(dest: Path) -> Path:
        folder = write_submission(dest)
        for changed, removed in edits:
            for name in removed:
                (folder / name).unlink()
            for name, data in changed.items():
                (folder / name).write_bytes(data)
        return folder

    return Attack("+".join(names), 0, build, frozenset().union(*(a.may_lose for a in attacks)),
                  frozenset().union(*(a.must_lose for a in attacks)), "")


def test_every_attack_is_in_one_bundle():
    bundled_names = [name for names in BUNDLES for name in names]
    assert sorted(bundled_names) == sorted(a.name for a in ATTACKS if a.cls != 11)


@pytest.mark.parametrize("names", BUNDLES, ids=lambda names: "+".join(
    f"{BY_NAME[n].cls}-{n}" for n in names))
def test_attacks_are_defended(gradescope_root, names):
    since = time.time() - 1
    attacks, bundle = [BY_NAME[name] for name in names], bundled(names)
    rounds = 2 if any(a.cls == 10 for a in attacks) else 1  # a planted conftest.py acts on the next grading
    try:
        for _ in range(rounds):
            document, elapsed = grade(gradescope_root, bundle.build)
            assert elapsed < WALL_LIMIT, f"grading took {elapsed:.0f} s"
            check_grades(document, bundle)
            for attack in attacks:
                EXTRA_CHECKS.get(attack.cls, lambda *_: None)(document, attack, bundle)
        assert_nothing_left(since)
    finally:
        clean_up(gradescope_root)


def test_concurrent_gradings_leave_each_other_alone(gradescope_root):
    """Class 11: an honest grading beside one whose worker crashes again and again."""
    hostile = BY_NAME["kills_neighbours"]
    twin = layout_beside(gradescope_root, "twin")
    since = time.time() - 1
    outcomes: dict[str, object] = {}

    def run(key, root, build):
        try:
            outcomes[key] = grade(root, build)
        except BaseException as exc:  # reported by the main thread
            outcomes[key] = exc

    threads = [threading.Thread(target=run, args=("honest", gradescope_root, write_submission)),
               threading.Thread(target=run, args=("hostile", twin, hostile.build))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for outcome in outcomes.values():
            if isinstance(outcome, BaseException):
                raise outcome
        for key, attack in (("honest", HONEST), ("hostile", hostile)):
            document, elapsed = outcomes[key]
            assert elapsed < WALL_LIMIT, f"the {key} grading took {elapsed:.0f} s"
            check_grades(document, attack)
        assert outcomes["honest"][0]["score"] == pytest.approx(100)
        assert_nothing_left(since)
    finally:
        clean_up(twin)
        shutil.rmtree(twin, ignore_errors=True)


# -- `autograder grade` on a terminal (class 13) ------------------------------------------
def test_hostile_text_reaches_no_terminal(tmp_path):
    """Class 13: the table `grade` prints is clean UTF-8 without ESC, even on a strict
    UTF-8 terminal, and `grade` exits 0."""
    attack = BY_NAME["hostile_text"]
    submission = attack.build(tmp_path / "submission")
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "optimization",
                           str(submission), "--out", str(out)], cwd=ROOT, capture_output=True,
                          timeout=900, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    for stream in (done.stdout, done.stderr):
        assert b"\x1b" not in stream, "an ESC byte reached the terminal"
        stream.decode("utf-8")
    check_grades(read_results(out), attack)


# -- the worker's view of the repository without root (class 14) -------------------------
@pytest.fixture(scope="module")
def unprivileged(request):
    """(python, user) to run `autograder grade` without root. As root: user nobody, with the
    fake layout's venv (the system python3, which any user may run)."""
    if os.geteuid() != 0:
        return sys.executable, None
    root = request.getfixturevalue("gradescope_root")
    return str(root / "venv" / "bin" / "python"), "nobody"


def secret_lines(submission: Path) -> list[str]:
    """Long lines of the reference losses.py and its hidden tests that the submission lacks."""
    own = {line.strip() for path in submission.glob("*.py")
           for line in path.read_text(encoding="utf-8").splitlines()}
    secrets = [ROOT / "solutions" / "optimization" / "losses.py",
               ROOT / "assignments" / "optimization" / "tests" / "hidden" / "test_losses_hidden.py"]
    return [line.strip() for path in secrets for line in path.read_text(encoding="utf-8").splitlines()
            if len(line.strip()) > 30 and line.strip() not in own]


def test_worker_cannot_read_the_repository_without_root(unprivileged):
    """Class 14: graded by a user without root, from the repository, the student's code
    cannot read the reference solutions or the hidden tests beside it. (As root, a copy of
    the repository that user can read: the clone itself may sit in a private folder.)"""
    python, user = unprivileged
    work = Path(tempfile.mkdtemp(prefix="trust-boundary-no-root-"))
    try:
        os.chmod(work, 0o755)
        repo = ROOT if user is None else work / "repo"
        for part in ("autograder", "assignments", "solutions") if user is not None else ():
            shutil.copytree(ROOT / part, repo / part,
                            ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        submission = reads_secrets(repo).build(work / "submission")
        (work / "out").mkdir()
        if user is not None:
            subprocess.run(["chown", "-R", user, str(work)], check=True)
        env = {"PATH": PATH, "HOME": str(work), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([python, "-m", "autograder.cli", "grade", "optimization", str(submission),
                               "--out", str(work / "out" / "results.json"), "--quiet"],
                              cwd=repo, env=env, user=user, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        shown = "\n".join(strings(read_results(work / "out" / "results.json")))
        assert "READ" in shown or "cannot read" in shown, "the submission's output is not shown"
        leaked = [line for line in secret_lines(submission) if line in shown]
        assert not leaked, f"the worker read the reference or hidden tests: {leaked[:5]}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_every_class_has_an_attack():
    assert {attack.cls for attack in ATTACKS} | {reads_secrets(ROOT).cls} == set(range(1, 15))
    assert len(BY_NAME) == len(ATTACKS)
    assert all(attack.must_lose <= attack.may_lose for attack in ATTACKS)
