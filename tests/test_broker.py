"""The broker's rules, on a small contract of its own (fast: no pytest session inside):
capabilities per graded call, the allowlist, mutation seen by the grader, one process
per contract name, and failures charged to the call that caused them."""

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import jail as jails
from autograder.sandbox.broker import RECHECK_RESERVE, Sandbox
from autograder.sandbox.errors import StudentCrashed, StudentRaised, StudentTimeout
from autograder.sandbox.jail import remove_files_of, remove_ipc_of
from autograder.sandbox.limits import Allowlist, Limits

from conftest import can_pin_oom_scores

CONTRACT = {"m": ["double", "triple", "Box", "apply", "slow"], "n": ["use_double"]}
REFERENCE = {
    "m": """
import numpy as np

def double(x):
    return 2 * np.asarray(x, dtype=float)

def triple(x):
    return double(x) + np.asarray(x, dtype=float)

class Box:
    def __init__(self, lr=0.5):
        self.lr = lr

    def step(self, w):
        return np.asarray(w, dtype=float) - self.lr

def apply(f, x):
    return f(x)

def slow(n):
    while True:
        pass
""",
    "n": """
from m import double

def use_double(x):
    return double(x) + 1
""",
}


class Optimizer:
    """A test's object handed to student code: only ``step`` and ``lr`` exist for it."""

    def __init__(self):
        self.lr = 0.5
        self.secret = "not for students"

    def step(self, w, grad=0.0):
        return np.asarray(w, dtype=float) - self.lr * np.asarray(grad, dtype=float)


def sandbox(student: dict[str, str], **limits) -> Sandbox:
    files = {m: textwrap.dedent(src).encode() for m, src in student.items()}
    reference = {m: src.encode() for m, src in REFERENCE.items()}
    box = Sandbox(files, CONTRACT, reference,
                  Limits(**({"call_timeout": 3.0, "total_seconds": 60.0} | limits)),
                  allow=Allowlist(methods=frozenset({"step"}), attributes=frozenset({"lr"})))
    box.begin(["m.double", "m.triple", "m.Box", "m.apply", "n.use_double"])
    return box


@pytest.fixture
def make():
    made = []

    def build(student, **limits):
        made.append(sandbox(student, **limits))
        return made[-1]

    yield build
    for box in made:
        box.close()


HONEST = REFERENCE["m"].replace("def slow(n):\n    while True:\n        pass\n", "")


def test_honest_code_and_one_bug_costs_once(make):
    box = make({"m": HONEST.replace("2 * np", "2.5 * np"), "n": REFERENCE["n"]})
    box.enter("m.double")
    assert box.call("m.double", ([1.0],), {}).tolist() == [2.5]
    box.enter("n.use_double")  # graded with the reference's double: the bug is not charged
    assert box.call("n.use_double", (np.array([1.0]),), {}).tolist() == [3.0]
    assert box.reached == {"n.use_double": {"m.double"}}


def test_the_graded_name_never_reaches_its_own_reference(make):
    student = {"m": HONEST.replace("def double(x):\n    return 2 * np.asarray(x, dtype=float)",
                                   "def double(x):\n    return apply(lambda v: double(v), x)")}
    box = make(student)
    box.enter("m.double")
    # apply is the reference's; it calls back into the student's lambda, which calls
    # double: the student's own again (the context still grades double), never the grader's.
    with pytest.raises(StudentRaised, match="RecursionError|PermissionError"):
        box.call("m.double", ([1.0],), {})


def test_nothing_is_served_at_import_time(make):
    student = {"m": HONEST + "\nimport m as _self\n_kept = _self.Box\n"
                             "try:\n    _kept()\n    WHO = 'own'\nexcept Exception as e:\n"
                             "    WHO = repr(e)\n"
                             "def triple(x):\n    return WHO\n"}
    box = make(student)
    box.enter("m.triple")
    assert box.call("m.triple", (1,), {}) == "own"  # the student's own Box, not the grader's


def test_reference_objects_die_with_the_call(make):
    student = {"m": HONEST.replace(
        "class Box:", "KEEP = []\n\ndef triple(x):\n    if not KEEP:\n        KEEP.append(Box())\n"
        "        return 0\n    return KEEP[0].step(x)\n\n\nclass Box:")
        .replace("def triple(x):\n    return double(x) + np.asarray(x, dtype=float)\n", "")}
    # Box() here is the student's own class (same file, not graded): make it the grader's
    student["m"] = student["m"].replace("KEEP.append(Box())", "import m as mm\n        "
                                        "KEEP.append(mm.Box())")
    box = make(student)
    box.enter("m.triple")
    assert box.call("m.triple", (1.0,), {}) == 0  # made a reference Box in this call
    with pytest.raises(StudentRaised, match="no longer exists|not yours"):
        box.call("m.triple", (1.0,), {})  # ... which died when the call returned


def test_grader_objects_offer_only_the_allowlist(make):
    student = {"m": HONEST.replace("def apply(f, x):\n    return f(x)",
                                   "def apply(f, x):\n    return getattr(f, x)")}
    box = make(student)
    box.enter("m.apply")
    assert box.call("m.apply", (Optimizer(), "lr"), {}) == 0.5
    for walk in ("secret", "step.__globals__", "optimizer", "bit_generator"):
        with pytest.raises(StudentRaised, match="offers: lr, step"):
            box.call("m.apply", (Optimizer(), walk), {})
    for dunder in ("__dict__", "__class__", "__reduce__"):  # answered by the worker's proxy
        assert "not for students" not in repr(box.call("m.apply", (Optimizer(), dunder), {}))


def test_mutation_is_seen_by_the_grader_even_if_the_worker_lies(make):
    student = {"m": HONEST.replace(
        "def double(x):\n    return 2 * np.asarray(x, dtype=float)",
        "import sys\nfor _mod in list(sys.modules.values()):\n"
        "    for _k in list(getattr(_mod, '__dict__', {})):\n"
        "        if 'mutat' in _k or 'snapshot' in _k:\n"
        "            setattr(_mod, _k, lambda *a, **k: [])\n\n"
        "def double(x):\n    x *= 2\n    return x")}
    box = make(student)
    box.enter("m.double")
    arg = np.array([1.0, 2.0])
    assert box.call("m.double", (arg,), {}).tolist() == [2.0, 4.0]
    assert box.last_reply["mutated"] == ["argument 1"]
    assert arg.tolist() == [1.0, 2.0]  # the test's own array is untouched



def test_the_arena_is_reused_between_calls_never_within_one(make):
    student = {"m": HONEST.replace("def triple(x):\n", "def triple(x, *rest):\n"
                                   "    if rest:\n"
                                   "        return [float(a[i]) for a in (x, *rest) for i in (0, -1)]\n")}
    box = make(student)
    box.enter("m.triple")
    mb = 2**20 // 8  # float64s in a MB; an array in the arena is at most 8 MB, the arena 32 MB
    box.call("m.triple", (np.zeros(6 * mb), np.zeros(6 * mb)), {})  # 12 MB of the arena used
    arrays = [np.full(7 * mb, float(k)) for k in (1, 2, 3, 4)]  # 28 MB more do not fit after it
    assert box.call("m.triple", tuple(arrays), {}) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]
    assert box.last_reply["mutated"] == []


DEEP_REPLY = """
def triple(x):
    if x == 0:  # an honest encoder refuses to send it
        v = []
        for _ in range(100000):
            v = [v]
        return v
    import gc, os, struct  # a patched one writes the frame itself
    channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
    body = b'{"op":"reply","ok":' + b"[" * 100000 + b"]" * 100000 + b"}"
    os.write(channel.write_fd, struct.pack(">I", len(body)) + body)
    return 3
"""


def test_a_deep_reply_is_charged_to_its_call_only(make):
    student = {"m": HONEST.replace("def triple(x):\n    return double(x) + np.asarray(x, dtype=float)",
                                   DEEP_REPLY)}
    box = make(student)
    box.enter("m.triple")
    with pytest.raises(StudentRaised, match="nested more than"):
        box.call("m.triple", (0,), {})
    with pytest.raises(StudentCrashed, match="garbage"):
        box.call("m.triple", (1,), {})
    box.enter("m.Box")
    assert box.call("m.Box", (), {}).step(np.array([1.0])).tolist() == [0.5]


def test_a_planted_timer_dies_with_its_name(make):
    student = {"m": HONEST.replace(
        "def triple(x):\n    return double(x) + np.asarray(x, dtype=float)",
        "def triple(x):\n    import os, threading\n"
        "    threading.Timer(0.5, os._exit, (0,)).start()\n    return 3 * np.asarray(x, dtype=float)")}
    box = make(student)
    box.enter("m.triple")
    assert box.call("m.triple", ([1.0],), {}).tolist() == [3.0]
    box.enter("m.double")
    import time
    time.sleep(1.0)
    assert box.call("m.double", ([1.0],), {}).tolist() == [2.0]


@pytest.mark.parametrize("call", ["m.slow(x)", "m.apply(lambda v: any(iter(int, 1)), x)"],
                         ids=["in the reference", "in a callback of the reference"])
def test_reference_run_by_student_code_is_bounded(make, call):
    student = {"m": HONEST, "n": f"import m\n\ndef use_double(x):\n    return {call}\n"}
    box = make(student, call_timeout=2.0)
    box.enter("n.use_double")
    with pytest.raises(StudentTimeout):
        box.call("n.use_double", (1.0,), {})
    box.enter("m.double")
    assert box.call("m.double", ([1.0],), {}).tolist() == [2.0]


def test_a_slow_name_uses_only_its_share(make):
    student = {"m": HONEST.replace("def double(x):\n",
                                   "def double(x):\n    import time\n    time.sleep(2)\n")}
    box = make(student, total_seconds=10.0, call_timeout=5.0)
    box.enter("m.double")
    with pytest.raises(StudentTimeout, match="share"):
        for _ in range(5):
            box.call("m.double", ([1.0],), {})
    for name in ("m.triple", "m.Box", "m.apply"):
        box.enter(name)
    box.enter("m.triple")
    assert box.call("m.triple", ([1.0],), {}).tolist() == [3.0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files to another user")
def test_litter_of_a_sandbox_user_is_removed_wherever_anyone_may_write(tmp_path):
    shared = tmp_path / "tmp"
    (shared / "sticky").mkdir(parents=True)
    for folder in (shared, shared / "sticky"):
        os.chmod(folder, 0o1777)
    litter = [shared / "a", shared / "sticky" / "b", shared / "dir"]
    for path in litter[:2]:
        path.write_text("x")
    (shared / "dir").mkdir()
    (shared / "dir" / "c").write_text("x")
    for path in (*litter, shared / "dir" / "c"):
        os.chown(path, 65534, 65534)
    (shared / "someone_elses").write_text("y")
    (shared / "link").symlink_to(tmp_path / "target")
    remove_files_of(65534, (shared,))
    assert sorted(p.name for p in shared.rglob("*")) == ["link", "someone_elses", "sticky"]


def test_no_reference_that_relies_on_the_graded_name_is_reachable(make):
    student = {"m": HONEST.replace("def double(x):\n    return 2 * np.asarray(x, dtype=float)",
                                   "def double(x):\n    return triple(x) - np.asarray(x, dtype=float)")}
    box = make(student)
    assert box.uses["m.triple"] == {"m.double"}
    box.enter("m.double")  # the grader's triple would compute double for it
    with pytest.raises(StudentRaised, match="because it uses m.double"):
        box.call("m.double", ([1.0],), {})


STALLS = """
def triple(x):
    import gc, json, os, struct, time
    channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
    arg = {"$": "list", "items": [{"$": "list", "items": [1.0] * 300000}]}
    body = json.dumps({"op": "call", "target": "m.double", "args": arg,
                       "kwargs": {"$": "dict", "items": []}}).encode()
    os.write(channel.write_fd, struct.pack(">I", len(body)) + body)
    time.sleep(600)  # and never read the 3 MB answer
"""


def test_a_process_that_stops_reading_cannot_hang_the_grader(make):
    import threading

    student = {"m": HONEST.replace("def triple(x):\n    return double(x) + np.asarray(x, dtype=float)",
                                   STALLS)}
    box = make(student, call_timeout=3.0)
    box.enter("m.triple")
    outcome = []

    def call():
        try:
            box.call("m.triple", (1.0,), {})
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the grader hung writing to a process that stopped reading"
    assert isinstance(outcome[0], StudentTimeout)


WIPED = """
import os
PIPE = os.pipe()  # made at import: a channel between contexts, were the import shared
os.set_blocking(PIPE[0], False)
SEEN = []

def triple(x):
    before = os.path.exists("cache")
    open("cache", "w").write("answers")
    try:
        heard = os.read(PIPE[0], 100).decode()
    except BlockingIOError:
        heard = ""
    os.write(PIPE[1], b"hidden input")
    SEEN.append(x)
    return [before, len(SEEN), heard]
"""


def test_every_context_starts_from_a_wiped_sandbox(make):
    """A context (a name, the visibility of its tests, the pass) gets a process that
    imported the submission itself: no global, file or import-time pipe of another."""
    student = {"m": HONEST.replace(
        "def triple(x):\n    return double(x) + np.asarray(x, dtype=float)", WIPED)}
    box = make(student)
    box.enter("m.triple", "hidden")
    assert box.call("m.triple", (1,), {}) == [False, 1, ""]
    assert box.call("m.triple", (1,), {}) == [True, 2, "hidden input"]  # one context
    box.enter("m.triple", "public")
    assert box.call("m.triple", (1,), {}) == [False, 1, ""]
    box.start_own_pass(["m.triple"], [])
    box.enter("m.triple", "hidden")
    assert box.call("m.triple", (1,), {}) == [False, 1, ""]


@pytest.mark.skipif(not shutil.which("bwrap"), reason="the private /tmp is bubblewrap's")
def test_folders_bound_under_tmp_stay_in_view_in_every_context(make, monkeypatch, tmp_path):
    """A venv under /tmp (a fresh clone there) is bound into bubblewrap's private /tmp:
    emptying that /tmp between contexts must not detach it."""
    venv = tmp_path / "venv"  # (pytest's tmp_path is under /tmp)
    venv.mkdir()
    (venv / "data.txt").write_text("still here")
    os.chmod(tmp_path, 0o755)
    dirs = jails._interpreter_dirs()
    monkeypatch.setattr(jails, "_interpreter_dirs", lambda: [*dirs, venv])
    student = {"m": HONEST.replace("def double(x):\n", f"def double(x):\n"
                                   f"    assert open({str(venv / 'data.txt')!r}).read()\n")}
    box = make(student)
    for visibility in ("hidden", "public"):
        box.enter("m.double", visibility)
        assert box.call("m.double", ([1.0],), {}).tolist() == [2.0]


def test_the_own_pass_serves_only_the_neighbours_that_failed(make):
    student = {"m": HONEST.replace("return 2 * np.asarray(x, dtype=float)",
                                   "return 2 * np.asarray(x, dtype=float) + 100").replace(
                   "def triple(x):\n    return double(x) + np.asarray(x, dtype=float)",
                   "def triple(x):\n    raise NotImplementedError"),
               "n": "import m\n\ndef use_double(x):\n    return [m.double(x), m.triple(x)]\n"}
    box = make(student)
    box.enter("n.use_double")
    assert box.call("n.use_double", (1.0,), {}) == [2.0, 3.0]  # the reference's both
    box.start_own_pass(["n.use_double"], ["m.triple"])
    box.enter("n.use_double")
    assert box.call("n.use_double", (1.0,), {}) == [102.0, 3.0]  # own double, the grader's triple


def test_work_done_by_the_grader_for_student_code_stays_small(make):
    student = {"m": HONEST.replace("def apply(f, x):\n    return f(x)",
                                   "def apply(f, x):\n    return f.step(np.zeros((1, x)), "
                                   "np.zeros((x, 1)))")}
    box = make(student)
    box.enter("m.apply")
    assert box.call("m.apply", (Optimizer(), 10), {}).shape == (10, 10)  # fine: small
    with pytest.raises(StudentRaised, match="too large"):
        box.call("m.apply", (Optimizer(), 5000), {})  # 25 million elements, in the grader


SETS_LR = """
def apply(f, x):
    refused = []
    for value in (np.ones(x), float("nan"), True, "0.1"):
        try:
            f.lr = value
        except PermissionError as exc:
            refused.append(str(exc)[:60])
    f.lr = 0.25
    return [refused, f.step(np.ones(x), np.ones(x)).tolist()]
"""


def test_a_settable_attribute_holds_one_finite_number(make):
    """An array as the learning rate would make the grader's step as large as the student
    likes (an outer product in the root process): only finite numbers are taken."""
    student = {"m": HONEST.replace("def apply(f, x):\n    return f(x)", SETS_LR)}
    box = make(student)
    box.allow = Allowlist(methods=frozenset({"step"}), attributes=frozenset({"lr"}),
                          settable=frozenset({"lr"}))
    box.enter("m.apply")
    refused, stepped = box.call("m.apply", (Optimizer(), 3), {})
    assert len(refused) == 4 and all("only be set to a finite number" in r for r in refused)
    assert stepped == [0.75, 0.75, 0.75]


def test_the_recheck_keeps_its_reserved_time_however_slow_the_first_pass(make):
    """Every name of the first pass uses up its share: the own-program pass still has the
    quarter of the student code's time it reserved, so the recheck runs."""
    student = {"m": HONEST.replace("def double(x):\n",
                                   "def double(x):\n    import time\n    time.sleep(0.5)\n")}
    box = make(student, total_seconds=8.0, call_timeout=5.0)
    for name in ("m.double", "m.triple", "m.Box", "m.apply", "n.use_double"):
        box.enter(name)
        with pytest.raises(StudentTimeout, match="share"):
            for _ in range(10):
                box.call("m.double", ([1.0],), {})
    box.start_own_pass(["m.triple"], [])
    assert box.shares["m.triple"] >= 8.0 * RECHECK_RESERVE
    box.enter("m.triple")
    assert box.call("m.triple", ([1.0],), {}).tolist() == [3.0]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ipcmk"),
                    reason="needs root and util-linux to act as another user")
def test_shared_memory_of_a_sandbox_user_is_removed():
    def segments():
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
        return [r.split()[1] for r in rows if r.split()[7] == "65534"]

    before = segments()
    subprocess.run(["ipcmk", "-M", "65536"], user=65534, group=65534, check=True,
                   capture_output=True)
    assert len(segments()) == len(before) + 1
    remove_ipc_of(65534)
    assert segments() == []


def oom_score(pid: int | str) -> int:
    return int(Path(f"/proc/{pid}/oom_score_adj").read_text())


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make the grader the last to be killed")
def test_the_kernel_kills_sandboxed_processes_first_and_within_the_run_cap(make):
    box = make({"m": HONEST, "n": REFERENCE["n"]}, run_memory_mb=300)
    box.enter("m.double")
    assert box.call("m.double", ([1.0],), {}).tolist() == [2.0]
    sandboxed = [*box.zygote.lineage, box.child.pid]
    assert [oom_score(pid) for pid in sandboxed] == [1000] * len(sandboxed)
    assert oom_score("self") == (-500 if can_pin_oom_scores() else 0)  # 0: not permitted here
    cgroup = box.jail.cgroup
    if cgroup is not None:  # where root may make one here
        assert set(sandboxed) <= set(cgroup.members())
        cap = next(cgroup.path / n for n in ("memory.max", "memory.limit_in_bytes")
                   if (cgroup.path / n).exists())
        assert int(cap.read_text()) == 300 << 20
    box.close()
    assert cgroup is None or not cgroup.path.exists()


def test_a_run_cgroup_goes_where_the_memory_controller_is(tmp_path, monkeypatch):
    """cgroup v2: below the nearest cgroup that hands the memory controller to its children
    (never the grader's own, which holds processes); v1: in the memory hierarchy; neither:
    none. On the way, the cgroup of a run whose grader is gone is removed."""
    table = tmp_path / "proc-self-cgroup"
    monkeypatch.setattr(jails, "PROC_CGROUP", table)
    v2 = tmp_path / "v2"
    monkeypatch.setattr(jails, "CGROUPS", v2)
    session = v2 / "user.slice" / "session-1.scope"
    session.mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("cpu memory pids\n")
    (v2 / "cgroup.subtree_control").write_text("cpu memory pids\n")
    (v2 / "user.slice" / "cgroup.subtree_control").write_text("memory pids\n")
    (session / "cgroup.subtree_control").write_text("")
    dead = v2 / "user.slice" / "autograder-999999999-abc"  # above any pid_max
    dead.mkdir()
    table.write_text("0::/user.slice/session-1.scope\n")
    made = jails.make_cgroup(256 << 20)
    assert made.path.parent == v2 / "user.slice"
    assert (made.path / "memory.max").read_text() == str(256 << 20)
    assert not dead.exists()
    (v2 / "user.slice" / "cgroup.subtree_control").write_text("pids\n")
    (v2 / "cgroup.subtree_control").write_text("pids\n")
    assert jails.make_cgroup(256 << 20) is None  # no memory controller handed down

    v1 = tmp_path / "v1"
    monkeypatch.setattr(jails, "CGROUPS", v1)
    (v1 / "memory" / "docker" / "abc").mkdir(parents=True)
    table.write_text("5:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n")
    made = jails.make_cgroup(256 << 20)
    assert made.path.parent == v1 / "memory" / "docker" / "abc"
    assert (made.path / "memory.limit_in_bytes").read_text() == str(256 << 20)
    table.write_text("1:name=systemd:/docker/abc\n")
    assert jails.make_cgroup(256 << 20) is None
