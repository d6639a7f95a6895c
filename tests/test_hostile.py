"""Hostile submissions, graded through the real run_autograder (as root with the
sandbox user where the machine allows, and without privileges): grading finishes,
results.json is the grader's and valid, the attacking unit earns nothing it did
not earn, every honest unit keeps full marks, output is capped and no process
survives."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from attacks import may_lose

from autograder import config
from autograder.sandbox import jail as jails

from conftest import ROOT, layout_beside, orphans, pool_uids, run_autograder, run_cli
from corpus import Edit, write_submission

pytestmark = pytest.mark.slow  # every test grades, but the fallback's
FIXTURES = ROOT / "tests" / "fixtures" / "gradescope"
ALL = ("losses", "optimizers", "schedules", "regularization", "training", "layers")
L, OPT, S, R, T, Y = (f"{m}.py" for m in ALL)


RESULTS_GUESS = "RESULTS = ['/autograder/results/results.json']"  # where overwrites_results aims


def at_top(file, code):
    return Edit(file, "import numpy as np\n", f"import numpy as np\n{code}\n")


HOSTILE = {
    # name: (edits, the contract names or modules that may lose points, whether they must)
    "exit_at_import": ((at_top(R, "import sys\nsys.exit(0)"),), {"regularization"}, True),
    "os_exit_mid_call": ((Edit(L, "    z = np.asarray(z, dtype=float)\n    # sigmoid",
                               "    import os\n    os._exit(3)\n    # sigmoid"),),
                         {"losses.sigmoid"}, True),
    "loop_ignoring_signals": ((Edit(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    return float(np.mean(diff**2))",
                                    "    import signal\n    for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT):\n"
                                    "        signal.signal(s, signal.SIG_IGN)\n    while True:\n        pass"),),
                              {"losses.mse_loss"}, True),
    "memory_bomb": ((Edit(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    return float(np.mean(np.abs(diff)))",
                          "    hoard = []\n    while True:\n        hoard.append(bytearray(50 * 2**20))"),),
                    {"losses.l1_loss"}, True),
    "sleep_at_import": ((Edit(S, "import math\n", "import math\nimport time\n\ntime.sleep(3600)\n"),),
                        {"schedules"}, True),
    "patched_comparisons": ((at_top(L, "import math\nnp.allclose = lambda *a, **k: True\n"
                                       "np.array_equal = lambda *a, **k: True\n"
                                       "np.isclose = lambda *a, **k: True\n"
                                       "math.isclose = lambda *a, **k: True\n"
                                       "np.testing.assert_allclose = lambda *a, **k: None"),
                             Edit(L, "return float(np.mean(diff**2))", "return float(np.sum(diff**2))"),
                             Edit(OPT, "        v_hat = self.v / (1.0 - self.beta2**self.t)\n        return np.asarray(w, dtype=float) - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)",
                                  "        v_hat = self.v / (1.0 - self.beta2**self.t)\n        w -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)\n        return w")),
                            {"losses.mse_loss", "optimizers.Adam"}, True),
    "lying_eq": ((Edit(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    return float(np.mean(np.abs(diff)))",
                       "    class Liar(float):\n        def __eq__(self, other):\n            return True\n"
                       "        __ne__ = lambda self, other: False\n"
                       "    class Box:\n        __eq__ = lambda self, other: True\n"
                       "        __array__ = lambda self, *a, **k: 1 / 0\n    return Box()"),),
                 {"losses.l1_loss"}, True),
    "reads_reference_and_hidden_tests": (
        (Edit(Y, "def residual_backward(dout, x, W, b):",
              "def residual_backward(dout, x, W, b):\n    import glob, os\n"
              "    home = os.environ.get('PYTHONPATH', '/autograder/source')\n"
              "    print(glob.glob(home + '/assignments/*/tests/hidden/*'))\n"
              "    namespace = {}\n"
              "    exec(open(home + '/solutions/optimization/layers.py').read(), namespace)\n"
              "    return namespace['residual_backward'](dout, x, W, b)\n\n\ndef _unused(dout, x, W, b):"),),
        {"layers.residual_backward"}, True),
    "overwrites_results": ((at_top(OPT, f"import json\n{RESULTS_GUESS}\n\n\ndef _overwrite():\n"
                                      "    for _p in RESULTS:\n        try:\n"
                                      "            open(_p, 'w').write(json.dumps({'score': 100, 'tests': []}))\n"
                                      "        except OSError as e:\n            print('could not overwrite', _p, e)\n\n\n"
                                      "_overwrite()"),
                            Edit(OPT, "def __init__(self, lr=0.001, beta1=0.9", "def __init__(self, lr=0.01, beta1=0.9"),
                            Edit(OPT, "        self.lr = lr\n        self.beta1 = beta1",
                                 "        _overwrite()  # at import time and in every test of Adam\n        self.lr = lr\n        self.beta1 = beta1")),
                           {"optimizers.Adam"}, True),
    "ten_megabytes_of_prints": ((Edit(R, "    return 2.0 * lam * np.asarray(w, dtype=float)",
                                      "    print('x' * 10_000_000)\n    return 2.0 * lam * np.asarray(w, dtype=float)"),),
                                {"regularization.l2_penalty_grad"}, False),
    "detached_children": ((Edit(S, "    return lr0 * drop ** (t // every)",
                                "    import os, subprocess\n"
                                "    subprocess.Popen(['sleep', '987654'], start_new_session=True)\n"
                                "    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
                                "            os.execvp('sleep', ['sleep', '987655'])\n        os._exit(0)\n"
                                "    return lr0 * drop ** (t // every)"),),
                          {"schedules.step_decay"}, False),
    "syntax_error": ((Edit(T, "def steps_per_epoch(n_samples, batch_size):",
                           "def oops(:\n    pass\n\n\ndef steps_per_epoch(n_samples, batch_size):"),),
                     {"training"}, True),
    "nan_everywhere": ((Edit(L, "def l1_loss(y_hat, y):", "def _nan(f):\n    def g(*a, **k):\n"
                             "        return np.asarray(f(*a, **k)) * np.nan\n    return g\n\n\n"
                             "def l1_loss(y_hat, y):"),
                        Edit(L, '    """Gradient of ``softmax_cross_entropy`` w.r.t. the logits z: ``(softmax(z) - y) / N``."""',
                             '    """Gradient."""'),), {"losses"}, True),
}


# Cases graded together, each bundle in one grading: the cases of a bundle attack different
# names, and a case that breaks a whole file shares that file with no other case (it would
# hide them). Each case must cost only its own names, and every name that no case of the
# bundle attacks keeps full marks. The import-time cases also show a zygote that recovers
# from several broken files at once. nested_folder is the whole submission's layout (its
# files in a nested folder, losses.py renamed by a download), which no case may upset.
BUNDLES = {
    "at_import": ("exit_at_import", "sleep_at_import", "syntax_error", "binary_garbage",
                  "missing_file", "overwrites_results"),
    "in_calls": ("os_exit_mid_call", "loop_ignoring_signals", "memory_bomb", "detached_children",
                 "ten_megabytes_of_prints", "reads_reference_and_hidden_tests"),
    "lies": ("lying_eq", "patched_comparisons", "nested_folder"),
    "nan_everywhere": ("nan_everywhere",),
}
SPECIAL = {"binary_garbage": {"losses"}, "missing_file": {"layers"}, "nested_folder": set()}


def build(names, dest, results=None):
    """The submission with every case of ``names`` in ``dest``; ``results``: the
    results.json that the overwrites_results attack aims at, besides Gradescope's."""
    folder = dest / "Homework 2" / "src" if "nested_folder" in names else dest
    write_submission(folder, tuple(edit for name in names if name in HOSTILE
                                   for edit in HOSTILE[name][0]))
    if "overwrites_results" in names and results is not None:
        path = folder / OPT
        targets = ["/autograder/results/results.json", str(results)]
        path.write_text(path.read_text().replace(RESULTS_GUESS, f"RESULTS = {targets!r}"))
    if "nan_everywhere" in names:
        path = folder / L
        path.write_text(path.read_text() + "\n" + "\n".join(
            f"{n} = _nan({n})" for n in ("l1_loss", "mse_loss", "sigmoid", "softmax",
                                           "cross_entropy", "binary_cross_entropy")) + "\n")
    if "binary_garbage" in names:
        (folder / L).write_bytes(bytes(range(256)) * 40)
    if "missing_file" in names:
        (folder / Y).unlink()
    if "nested_folder" in names:
        (folder / L).rename(folder / "Losses (1).py")
    return dest


def attacked_by(name):
    """(the names or modules case ``name`` may cost, whether it must cost them)."""
    if name in HOSTILE:
        return HOSTILE[name][1], HOSTILE[name][2]
    return SPECIAL[name], bool(SPECIAL[name])


def check_result(result_path, names, elapsed):
    """Every name graded; those no case of ``names`` attacks keep full marks; each case
    that must cost points costs them in its own names."""
    assert elapsed < 600, f"grading took {elapsed:.0f} s"
    assert result_path.stat().st_size < 1_000_000
    result = json.loads(result_path.read_text())
    assert result["extra_data"]["assignment"] == "optimization"  # written by the grader
    tests = [t for t in result["tests"] if t["max_score"] > 0]
    points = config.load("optimization").points
    assert {t["tags"][0] for t in tests} == set(points)  # every name graded, public and hidden
    assert len(tests) == 2 * len(points)
    attacked = set().union(*(attacked_by(name)[0] for name in names))
    honest = [t for t in tests if not may_lose(t["tags"][0], attacked)]
    unearned = [(t["name"], t["output"][:300]) for t in honest if t["score"] < t["max_score"]]
    assert not unearned, unearned
    for name in names:
        targets, must_lose = attacked_by(name)
        for target in targets if must_lose else ():
            lost = [t for t in tests if may_lose(t["tags"][0], {target}) and t["score"] < t["max_score"]]
            assert lost, f"{name}: {target} attacked the grader and lost nothing"
    return result


def leftover_processes(uids=()):
    """Processes a grading left behind: the attacks' marker sleeps, sandbox processes and
    processes of the pool users, once nothing alive owns them."""
    return orphans(lambda owner, cmd: "98765" in cmd or "sandbox.worker" in cmd
                   or owner in uids)


# -- through the real run_autograder, as root with the sandbox user --------------------
def test_every_case_is_in_one_bundle():
    cases = [name for names in BUNDLES.values() for name in names]
    assert sorted(cases) == sorted([*HOSTILE, *SPECIAL])


@pytest.mark.parametrize("bundle", sorted(BUNDLES))
def test_hostile_submissions_as_root(gradescope_root, bundle):
    names = BUNDLES[bundle]
    target = gradescope_root / "results" / "results.json"
    results_path, elapsed = run_autograder(gradescope_root, lambda dest: build(names, dest, target),
                                           FIXTURES / "on_time.json")
    result = check_result(results_path, names, elapsed)
    if "nested_folder" in names:  # found, and its honest names kept full marks
        assert "Losses (1).py' as losses.py" in result["tests"][0]["output"]
    assert leftover_processes(pool_uids()) == []
    if "reads_reference_and_hidden_tests" in names:
        outputs = "\n".join(t["output"] for t in result["tests"])
        assert "Permission denied" in outputs or "No such file" in outputs  # bubblewrap: not there
    if "overwrites_results" in names:  # every try failed, and said so in the test that made it
        adam = [t["output"] for t in result["tests"] if t["tags"][0] == "optimizers.Adam"]
        assert adam and all(f"could not overwrite {target} [Errno" in out for out in adam), adam


def test_run_autograder_without_root_privileges(gradescope_root, tmp_path):
    """The same zip as an unprivileged user: no user switch, still graded."""
    root = layout_beside(gradescope_root, "nonroot")
    subprocess.run(["chown", "-R", "nobody", str(root)], check=True)
    (root / "results").mkdir()

    def builder(dest):
        build(("detached_children",), dest)
        subprocess.run(["chown", "-R", "nobody", str(root)], check=True)

    results_path, elapsed = run_autograder(root, builder, FIXTURES / "on_time.json", as_user="nobody")
    result = check_result(results_path, ("detached_children",), elapsed)
    assert result["score"] == 100
    assert leftover_processes() == []
    shutil.rmtree(root, ignore_errors=True)


# -- through `autograder grade` without a sandbox user (a laptop, CI) --------------------
@pytest.mark.parametrize("names", [("loop_ignoring_signals", "overwrites_results", "exit_at_import"),
                                   ("detached_children", "patched_comparisons")],
                         ids=["bubblewrap", "bare"])
def test_hostile_submissions_without_sandbox_user(tmp_path, names):
    """Without a pool: bubblewrap where it works; for two of the cases, none at all, which
    is graded just the same but says so, once."""
    submission = build(names, tmp_path / "submission")
    start = time.monotonic()
    bare = "detached_children" in names
    env = dict(os.environ, AUTOGRADER_NO_BWRAP="1") if bare else None
    done = run_cli("grade", "optimization", str(submission), "--out",
                   str(tmp_path / "results.json"), "--quiet", timeout=900, env=env)
    check_result(tmp_path / "results.json", names, time.monotonic() - start)
    assert leftover_processes() == []
    warned = 1 if bare or jails.working_bwrap(None) is None else 0
    assert done.stderr.count("warning: no sandbox is available") == warned, done.stderr


def test_fallback_results_when_grading_is_impossible(tmp_path):
    out = tmp_path / "results.json"
    run_cli("fallback", "--out", str(out), "--reason", "unknown assignment 'x'")
    result = json.loads(out.read_text())
    assert result["score"] == 0 and "unknown assignment" in result["output"]


def test_run_autograder_always_writes_results(gradescope_root):
    """A broken assignment file still ends in a results.json that says why."""
    root = layout_beside(gradescope_root, "broken")
    yaml_path = root / "source" / "assignments" / "optimization" / "assignment.yaml"
    yaml_path.write_text(yaml_path.read_text() + "\npionts: 3\n")
    results_path, _ = run_autograder(root, write_submission)
    result = json.loads(results_path.read_text())
    assert result["score"] == 0
    assert "unknown key 'pionts'" in result["output"]
    shutil.rmtree(root, ignore_errors=True)


# -- what the student's process can read ----------------------------------------------
SEARCH = '''
SEARCHED = []


def residual_forward(x, W, b):
    if not SEARCHED:
        SEARCHED.append(search())
        print(SEARCHED[0])
    out = np.array(x, float)  # (written unlike the reference: its lines are what we look for)
    return out + (out.dot(np.array(W, float)) + np.array(b, float)).clip(min=0)


def search():
    import hashlib, os, time, zipfile
    wanted = set(WANTED)
    found, read, done = [], 0, True
    stop = time.monotonic() + 5
    import glob
    for top in [t for pattern in TOPS for t in glob.glob(pattern)]:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(SKIP)]
            for name in files:
                if time.monotonic() > stop:
                    done = False
                    break
                path = os.path.join(folder, name)
                if path.startswith(SKIP):
                    continue
                try:
                    if os.path.getsize(path) > 1_000_000 or os.path.islink(path):
                        continue
                    data = open(path, "rb").read()
                except OSError:
                    continue
                read += 1
                texts = [data]
                if name.endswith(".zip"):
                    try:
                        archive = zipfile.ZipFile(path)
                        texts = [archive.read(n) for n in archive.namelist()[:500]]
                    except Exception:
                        pass
                for text in texts:
                    for line in text.splitlines():
                        line = line.strip()
                        if len(line) >= 30 and hashlib.sha256(line).hexdigest() in wanted:
                            found.append(path)
                            break
    return " ".join(["SEARCH", "done" if done else "cut", str(read),
                     "files read; found in:", repr(sorted(set(found))[:20])])
'''


def secret_line_hashes():
    """sha256 of every distinctive line of the reference and the hidden tests that no
    student-visible file holds (the stubs and public tests are fair game)."""
    import hashlib

    def lines(paths):
        return {ln.strip() for p in paths for ln in p.read_bytes().splitlines()}

    visible = lines([*(ROOT / "student_template" / "optimization").glob("*.py"),
                     *(ROOT / "assignments" / "optimization" / "tests" / "public").glob("*"),
                     *(ROOT / "autograder").rglob("*.py")])
    secret = lines([*(ROOT / "solutions" / "optimization").glob("*.py"),
                    *(ROOT / "assignments" / "optimization" / "tests" / "hidden").glob("*.py")])
    return sorted(hashlib.sha256(ln).hexdigest() for ln in secret - visible if len(ln) >= 30)


@pytest.mark.parametrize("namespaces", [True, False], ids=["bubblewrap", "pool-users-only"])
def test_the_worker_can_read_no_secret(gradescope_root, namespaces):
    """Student code searches what it can read for any line of the reference or the hidden
    tests: everything in its view under bubblewrap (but the system's packages and the
    Python installation), and without it the grading layout, the grader's scratch and
    the shared temp folders (the rest of this machine is not part of Gradescope's image,
    and other people's files in /tmp are not the grader's)."""
    hashes = secret_line_hashes()
    assert len(hashes) > 300
    if namespaces:  # everything in view, but the system's own packages and Python
        tops = ["/"]
        skip = ("/proc", "/sys", "/dev", "/usr", "/etc", sys.base_prefix, sys.prefix,
                str(gradescope_root / "venv"))
    else:  # what this run made: the layout, the grader's scratch (which no one may list:
        # its roles' files by name, the worker's own among them), the shared temp folders
        tops = [str(gradescope_root), "/tmp/autograder-*", "/tmp/autograder-*/worker/files",
                "/tmp/autograder-*/reference/files", "/var/tmp", "/dev/shm"]
        skip = ("/proc",)

    def builder(dest):  # the stubs (no reference line in them), with a search in layers.py
        shutil.copytree(ROOT / "student_template" / "optimization", dest)
        path = dest / Y
        source = path.read_text()
        start = source.index("def residual_forward(")
        end = source.index("def residual_backward(")
        path.write_text(source[:start] + f"WANTED = {hashes!r}\nTOPS = {tops!r}\n"
                        f"SKIP = {skip!r}\n"
                        + SEARCH + "\n\n" + source[end:])

    env = {} if namespaces else {"AUTOGRADER_NO_BWRAP": "1"}
    results_path, _ = run_autograder(gradescope_root, builder, FIXTURES / "on_time.json", env=env)
    outputs = "\n".join(t["output"] for t in json.loads(results_path.read_text())["tests"])
    searches = [line.strip() for line in outputs.splitlines() if line.strip().startswith("SEARCH")]
    assert searches, outputs[:2000]
    for line in searches:
        assert "found in: []" in line, line
        assert int(line.split()[2]) > 0, line  # it did read files (its own, at least)
    if namespaces:
        assert any("SEARCH done" in line for line in searches), searches
