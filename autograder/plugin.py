"""The pytest plugin behind every grading run (and the student's local ``pytest``).

A grading test is an ordinary pytest test with one line above it::

    @grades("stats.mean", weight=2)
    def test_mean_of_one_value(sub, ref): ...

Fixtures: ``sub`` calls the student's code in the sandboxed worker
(``sub.stats.mean(x)``); ``ref`` is the reference solution, in this trusted
process (hidden tests only); ``vectors`` are the frozen public input/expected
pairs. Hooks collect one :class:`TestOutcome` per test for results.json; nothing
parses pytest's text output.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import Flaky

from autograder import report
from autograder.config import Assignment, load_path
from autograder.locate import Located, locate, read_sources
from autograder.sandbox.broker import Sandbox, SandboxError
from autograder.sandbox.errors import StudentCodeError, StudentRaised
from autograder.sandbox.protocol import decode

HYPOTHESIS_PROFILE = "autograder"
# One failure per test, the first found, shrunk: a test that fails two ways would otherwise
# end in a group of failures (which no student can read), each of them shrunk.
settings.register_profile(
    HYPOTHESIS_PROFILE, derandomize=True, deadline=None, database=None, max_examples=25,
    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
# The same examples, without looking for a smaller failing one: the same verdicts, faster.
VERDICTS_PROFILE = "autograder-verdicts"
settings.register_profile(VERDICTS_PROFILE, settings.get_profile(HYPOTHESIS_PROFILE),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
# The audit's deeper search, which a surviving mutant must pass to be called equivalent: each
# hypothesis test runs DEEPER times its examples (those of its own @settings, or of the
# profile above), drawn from DEEPER_SEED instead of its derandomized seed (other examples,
# the same ones every time), without shrinking. No profile can say it: a test's settings are
# fixed when it is decorated, and an audit worker imports the tests once.
DEEPER = 8
DEEPER_SEED = 20241011
MESSAGE_CAP = 3000
RECHECKS_PER_NAME = 3  # tests run again with the student's own neighbours
OUTPUT_CAP = 2000
CURVE_POINTS = 500  # points of a recorded curve kept in results.json
UNSHIPPED_WEIGHTS = "tests/unshipped_weights.json"  # in a student copy: the hidden tests' weights
FLAKY = ("your function gave a different answer when called again with the same input (does it "
         "keep state between calls, or use randomness without the seed it is given?)")


def grades(target: str, weight: float = 1.0) -> pytest.MarkDecorator:
    """Usage: ``@grades("stats.mean", weight=2)``: the test earns part of mean's points."""
    return pytest.mark.grades(target, weight=weight)


def each(module: str, cases: Iterable[Any], argnames: str = "name",
         weight: float = 1.0) -> pytest.MarkDecorator:
    """Usage: ``@each("stats", ["mean", "median"], weight=3)``: the test runs once per name
    (passed as ``name``, shown as the test's id), each run grading ``stats.<name>``. A case
    may be a tuple that starts with the name: ``@each("stats", CASES, "name, x, want")``."""
    params = []
    for case in cases:
        values = case if isinstance(case, tuple) else (case,)
        params.append(pytest.param(*values, marks=grades(f"{module}.{values[0]}", weight=weight),
                                   id=str(values[0])))
    return pytest.mark.parametrize(argnames, params)


def graded_name(item: pytest.Item) -> tuple[str, float]:
    """The contract name and the weight of a test's ``@grades`` marker (UsageError when it
    has none, or a weight that is not a positive number)."""
    marker = item.get_closest_marker("grades")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: a grading test needs @grades('module.name')")
    weight = marker.kwargs.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        raise pytest.UsageError(f"{item.nodeid}: weight={weight!r} must be a positive number")
    return str(marker.args[0]), float(weight)


@dataclass
class TestOutcome:
    """What one grading test found."""

    __test__ = False  # not a test class, though its name starts with "Test"

    nodeid: str
    title: str
    target: str
    group: str
    weight: float
    passed: bool = False
    message: str = ""
    named: list[str] = field(default_factory=list)  # the classic mistakes the message names
    output: str = ""
    used_neighbours: bool = False  # called other contract names (the reference's)
    ran: bool = False  # False for a test that was deselected (pytest -k)
    stub: bool = False  # failed because the graded name is an untouched stub
    examples: int = 0  # the deeper search: the examples it ran (1 for a test without any)
    curves: dict[str, dict[str, list]] = field(default_factory=dict)  # label -> whose -> values


class StudentCode:
    """``sub.stats.mean(x)`` runs the student's function in the worker."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def __getattr__(self, module: str) -> _StudentModule:
        if module.startswith("_"):
            raise AttributeError(module)
        return _StudentModule(self._sandbox, module)

    def __repr__(self) -> str:
        return "<your code>"

    @property
    def last_call(self) -> dict:
        """What the worker observed during the last call: ``mutated`` arguments, ``warnings``."""
        return self._sandbox.last_reply


class _StudentModule:
    def __init__(self, sandbox: Sandbox, module: str) -> None:
        self._sandbox = sandbox
        self._module = module

    def __getattr__(self, name: str) -> Any:
        target = f"{self._module}.{name}"

        def call(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            return self._sandbox.call(target, args, kwargs)

        return call


class Reference(SimpleNamespace):
    """The reference solution's modules, as attributes (``ref.stats.mean``)."""

    def __repr__(self) -> str:
        return "<reference>"


def load_reference(assignment: Assignment) -> Reference:
    """Import the reference solution into this (trusted) process."""
    folder = str(assignment.solutions_dir)
    sys.path.insert(0, folder)
    try:
        return Reference(**{m: importlib.import_module(m) for m in assignment.contract})
    finally:
        sys.path.remove(folder)


class GradingSession:
    """One grading run as a pytest plugin: owns the sandbox and the outcomes.

    With the reference (a real grading), each contract name is graded with the
    reference versions of the names it calls; then every name that called others
    is checked once more with the student's own version of each that passed on its
    own (the reference stands in for those that failed), so that circular
    definitions earn nothing and one bug still costs once.

    The audit grades part of a submission: ``only`` the tests of some names (the others
    are the reference's, and count as passing), with ``verdicts`` (only pass or fail
    matters: a failing example is not made smaller, and a name's tests stop at its first
    failure), ``deeper`` (the hypothesis tests search deeper: :func:`searched_deeper`), and
    ``digest`` (a hash of every answer per name, in ``sandbox.digests``)."""

    def __init__(self, assignment: Assignment, found: Located, reference: bool,
                 pool: str | None = None,
                 unseen: dict[str, dict[str, float]] | None = None,
                 only: set[str] | None = None, verdicts: bool = False,
                 deeper: bool = False, digest: bool = False) -> None:
        self.assignment = assignment
        self.unseen = unseen or {}  # group -> name -> weight of tests not shipped here
        self.only = only
        self.verdicts = verdicts
        self.deeper = deeper
        sources, problems = read_sources(found, assignment.limits.source_kb)
        self.missing = found.missing | problems
        self.reference = load_reference(assignment) if reference else None
        solutions = None
        if reference:
            solutions = {p.stem: p.read_bytes()
                         for p in sorted(assignment.solutions_dir.glob("*.py"))}
        self.sandbox = Sandbox(sources, assignment.contract, solutions, assignment.limits,
                               pool, assignment.grader_objects)
        self.sandbox.own = not reference  # a student's own copy: their code all the way down
        if digest:
            self.sandbox.digests = {}
        self.outcomes: dict[str, TestOutcome] = {}
        self.own_pass = False
        self.recheck_failed: dict[str, str] = {}  # name -> why its own program fails
        self.failed_alone: set[str] = set()  # names that failed the first pass
        self.circle: dict[str, int] = {}  # name rechecked -> its circle's number
        self.neighbour_calls = 0

    # -- hooks --------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        """Check every test's marker (before ``-k`` deselects any); keep the tests of
        ``only``; order the tests by contract name."""
        for item in items:
            self.outcomes[item.nodeid] = outcome_of(item, self.assignment)
        if self.only is not None:
            dropped = [i for i in items if self.outcomes[i.nodeid].target not in self.only]
            for item in dropped:
                del self.outcomes[item.nodeid]
            items[:] = [i for i in items if i.nodeid in self.outcomes]
            config.hook.pytest_deselected(items=dropped)
        order = {target: i for i, target in enumerate(self.assignment.points)}
        items.sort(key=lambda item: order[self.outcomes[item.nodeid].target])  # stable

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Tell the sandbox which names are about to be graded (the selected tests'; none
        when a test's marker was refused, and pytest stops with that usage error)."""
        self.sandbox.begin(dict.fromkeys(self.outcomes[i.nodeid].target for i in session.items
                                         if i.nodeid in self.outcomes))

    def pytest_sessionstart(self) -> None:
        """Import the submission once; stop the session if the sandbox cannot run."""
        if self.verdicts:  # before the tests are collected (and their settings made)
            settings.load_profile(VERDICTS_PROFILE)
        try:
            self.sandbox.start()
        except SandboxError as exc:
            pytest.exit(str(exc), returncode=3)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Run every test once, each context in a process of its own; then check again,
        with the student's own functions, the names that called others: a name after the
        names it calls, so that one that failed its recheck is the grader's for the names
        outside its circle."""
        if session.config.option.collectonly:
            return True
        self._run(session, session.items)
        failed = {o.target for o in self.outcomes.values() if o.ran and not o.passed}
        recheck = self.names_to_recheck(failed)
        again, per_name = [], dict.fromkeys(recheck, 0)
        for item in session.items:
            outcome = self.outcomes[item.nodeid]
            if outcome.target in recheck and outcome.passed and outcome.used_neighbours \
                    and per_name[outcome.target] < RECHECKS_PER_NAME:
                per_name[outcome.target] += 1
                again.append(item)
        if again:
            self.circle = circles(recheck, self.sandbox.reached)
            again.sort(key=lambda item: self.circle[self.outcomes[item.nodeid].target])
            self.failed_alone = failed
            self.own_pass = True
            self.sandbox.start_own_pass({self.outcomes[i.nodeid].target for i in again}, failed)
            self._run(session, again)
            for outcome in self.outcomes.values():  # a name that failed it earns nothing
                if outcome.target in self.recheck_failed and outcome.passed:
                    outcome.passed = False
                    outcome.message = self.recheck_failed[outcome.target]
        return True

    @staticmethod
    def _run(session: pytest.Session, items: list[pytest.Item]) -> None:
        for i, item in enumerate(items):
            item.config.hook.pytest_runtest_protocol(
                item=item, nextitem=items[i + 1] if i + 1 < len(items) else None)
            if session.shouldfail or session.shouldstop:
                raise session.Interrupted(str(session.shouldfail or session.shouldstop))

    def failed(self, target: str) -> bool:
        """Whether a test of ``target`` ran and failed."""
        return any(o.ran and not o.passed for o in self.outcomes.values() if o.target == target)

    def names_to_recheck(self, failed: set[str]) -> set[str]:
        """Names that passed and called another contract name that did not fail: the
        student's own version of it may be what their answer came from."""
        return {name for name, used in self.sandbox.reached.items()
                if name not in failed and set(used) - failed}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Give the test's contract name its process; forget output printed before."""
        self.sandbox.take_output()
        self.neighbour_calls = self.sandbox.neighbour_calls
        outcome = self.outcomes[item.nodeid]
        if self.own_pass:  # the grader's: what failed alone, and what failed its recheck
            circle = self.circle.get(outcome.target)  # (outside the name's own circle)
            self.sandbox.served = frozenset(self.failed_alone | {
                name for name in self.recheck_failed if self.circle.get(name) != circle})
        self.sandbox.enter(outcome.target, outcome.group)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        """Fail fast, as a failure of the test itself (never an error at setup), when the
        graded name is a stub or broke earlier, or its file is missing or cannot be
        imported."""
        __tracebackhide__ = True
        target = self.outcomes[item.nodeid].target
        if self.verdicts and self.failed(target):
            pytest.skip("a test of this name failed already: its verdict is known")
        if target in self.sandbox.broken:  # an untouched stub, or a call that hung or crashed
            pytest.fail(str(self.sandbox.broken[target]), pytrace=False)
        module = target.split(".", 1)[0]
        if module in self.missing:
            pytest.fail(self.missing[module], pytrace=False)
        try:
            self.sandbox.load(module)  # the import happened once, in the zygote
        except StudentCodeError as exc:
            pytest.fail(f"{module}.py could not be imported, so none of its functions can be "
                        f"graded:\n{exc}", pytrace=False)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Iterator[None]:
        """In the deeper search, run a test's hypothesis examples deeper, and count them."""
        test = getattr(pyfuncitem.obj, "__func__", pyfuncitem.obj)  # (a method's function)
        if not self.deeper:
            yield
            return
        with searched_deeper(test) if getattr(test, "is_hypothesis_test", False) \
                else contextlib.nullcontext([1]) as examples:
            yield
        if not self.own_pass:
            self.outcomes[pyfuncitem.nodeid].examples = examples[0]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Record the outcome of the test's call phase (or of a setup that failed); stop the
        session when the sandbox cannot run (a grader error: nothing is charged)."""
        report = (yield).get_result()
        if self.sandbox.failure is not None:
            item.session.shouldstop = str(self.sandbox.failure)
            return
        outcome = self.outcomes.get(item.nodeid)
        if outcome is None or not (report.when == "call" or report.outcome != "passed"):
            return
        if report.when == "teardown" and outcome.message:
            return
        passed = report.passed and report.when == "call"
        if not self.own_pass:
            outcome.used_neighbours = self.sandbox.neighbour_calls > self.neighbour_calls
        message, named = "", []
        if call.excinfo is not None:
            message = failure_message(call.excinfo.value)
            named = getattr(call.excinfo.value, "named", [])  # a GradingFailure's (checks.py)
        elif report.skipped:
            message = "skipped"
        if self.own_pass and not passed:
            used = ", ".join(sorted(self.sandbox.reached.get(outcome.target, set())
                                    - self.sandbox.served))
            message = (f"{outcome.target} passes with the grader's versions of {used}, but not "
                       f"with your own, which pass on their own. Do your functions call each "
                       f"other in a circle (A calls B, and B calls A)?\n{message}")
            self.recheck_failed.setdefault(outcome.target, message)
        if not self.own_pass or not passed:
            outcome.passed, outcome.message, outcome.named = passed, message, named
        broken = self.sandbox.broken.get(outcome.target)
        outcome.ran = True
        outcome.stub = not passed and isinstance(broken, StudentRaised) and broken.is_stub
        printed = self.sandbox.take_output()
        if printed.strip():
            outcome.output = printed[:OUTPUT_CAP] + ("\n[...]" if len(printed) > OUTPUT_CAP else "")

    def pytest_sessionfinish(self) -> None:
        self.sandbox.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The student's report: first the files that are missing, then public points per
        contract name, one short reason per failing name (``-v``: every failed test,
        whole), what their code printed."""
        if self.reference is not None:  # a grading: results.json is its report
            return
        verbose = terminalreporter.config.get_verbosity() > 0
        lines = [*self.missing.values(), *report.local_report(
            self.assignment, list(self.outcomes.values()), self.unseen, verbose,
            Path(str(terminalreporter.config.rootpath)) / "plots")]
        if lines:
            terminalreporter.section("your public points")
            for line in lines:
                terminalreporter.write_line(line)


@contextlib.contextmanager
def searched_deeper(test: Any) -> Iterator[list[int]]:
    """Run the hypothesis test ``test`` as the deeper search does (``DEEPER``), and count the
    examples it runs in the list this yields; its own settings are back afterwards. (Hypothesis
    documents ``test.hypothesis.inner_test`` as reassignable; the settings and seed it reads
    from the test have no public setter once it is decorated.)"""
    handle, inner, count = test.hypothesis, test.hypothesis.inner_test, [0]
    own, seed = test._hypothesis_internal_use_settings, test._hypothesis_internal_use_seed

    @functools.wraps(inner)
    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return inner(*args, **kwargs)

    handle.inner_test = counted
    test._hypothesis_internal_use_settings = settings(
        own, max_examples=own.max_examples * DEEPER, database=None,
        phases=settings.get_profile(VERDICTS_PROFILE).phases)
    test._hypothesis_internal_use_seed = DEEPER_SEED
    try:
        yield count
    finally:
        handle.inner_test = inner
        test._hypothesis_internal_use_settings, test._hypothesis_internal_use_seed = own, seed


def circles(names: set[str], reached: dict[str, set[str]]) -> dict[str, int]:
    """Number each of ``names`` by its circle (the names that reach each other through the
    calls in ``reached``), the circles of the names it calls numbered before its own
    (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    number: dict[str, int] = {}

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in sorted(reached.get(name, set()) & names):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            circle = len(set(number.values()))
            while True:
                member = stack.pop()
                number[member] = circle
                if member == name:
                    break

    for name in sorted(names):
        if name not in index:
            visit(name)
    return number


def outcome_of(item: pytest.Item, assignment: Assignment) -> TestOutcome:
    """The not-yet-run outcome of a grading test: its contract name, weight, group and
    title, read from its ``@grades`` marker (a usage error when that is wrong)."""
    target, weight = graded_name(item)
    if target not in assignment.points:
        raise pytest.UsageError(f"{item.nodeid}: grades {target!r}, which is not in "
                                "assignment.yaml points")
    group = Path(str(item.path)).relative_to(assignment.tests_dir).parts[0]
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    title = doc[0] if doc else item.name
    if "[" in item.name:
        title += " [" + item.name.split("[", 1)[1]
    return TestOutcome(item.nodeid, title, target, group, weight)


def grading_session(config: pytest.Config) -> GradingSession:
    """The grading session of this pytest run."""
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, GradingSession):
            return plugin
    raise pytest.UsageError("these tests run through `autograder grade`, or with `pytest` in "
                            "a student copy (a folder with assignment.yaml)")


@pytest.fixture(scope="session")
def sub(request: pytest.FixtureRequest) -> StudentCode:
    """The student's code, called in the sandboxed worker."""
    return StudentCode(grading_session(request.config).sandbox)


@pytest.fixture(scope="session")
def ref(request: pytest.FixtureRequest) -> Reference:
    """The reference solution (hidden tests only; never shipped to students)."""
    reference = grading_session(request.config).reference
    if reference is None:
        pytest.skip("the reference solution is not available here")
    return reference


@pytest.fixture(scope="session")
def vectors(request: pytest.FixtureRequest) -> dict[str, list]:
    """Frozen input/expected-output vectors, generated from the reference at release."""
    path = grading_session(request.config).assignment.tests_dir / "public" / "vectors.json"
    return decode(json.loads(path.read_text()), lambda handle: None)


@pytest.fixture
def curve(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Usage: ``curve("validation loss", mine, reference=theirs)``: keeps a curve (numbers
    per step) in the row's ``extra_data['curves']``, where the class report draws the
    class's curves against the reference's. Record it before checking, so that failing
    submissions count too; values that are not numbers are kept as missing points."""
    outcome = grading_session(request.config).outcomes[request.node.nodeid]

    def record(label: str, values: Any, reference: Any = None) -> None:
        kept = {"student": as_curve(values)}
        if reference is not None:
            kept["reference"] = as_curve(reference)
        outcome.curves[label] = kept

    return record


def as_curve(values: Any) -> list[float | None]:
    """Up to CURVE_POINTS numbers for results.json (None where a value is not a finite
    number); an empty curve when ``values`` is not a sequence of numbers."""
    try:
        array = np.asarray(values, dtype=float).ravel()[:CURVE_POINTS]
    except (TypeError, ValueError, OverflowError):
        return []
    return [float(v) if np.isfinite(v) else None for v in array]


def failure_message(exc: BaseException) -> str:
    """The student-facing text of a failed test, with hypothesis' smallest example. When
    an example failed once and not when hypothesis ran it again (``Flaky``), the student
    reads that, and what the first run found: hypothesis' own report quotes the test's
    source and the grader's traceback."""
    if isinstance(exc, Flaky):
        first = getattr(exc, "exceptions", ())[:1]  # a FlakyFailure's first failure
        text = "\n".join([FLAKY, *(f"The first time: {failure_message(e)}" for e in first)])
    else:
        text = str(exc).strip()
        if not isinstance(exc, (AssertionError, StudentCodeError, pytest.fail.Exception,
                                pytest.skip.Exception)):
            text = f"the grader could not use your result ({type(exc).__name__}: {text})"
        notes = [str(n) for n in getattr(exc, "__notes__", [])]
        text = "\n".join([text or type(exc).__name__, *notes]).strip()
    return text[:MESSAGE_CAP] + ("\n[...]" if len(text) > MESSAGE_CAP else "")


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter reads the verbosity
def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and the deterministic hypothesis profile, and keep hypothesis'
    files out of the working folder; in a student copy, start a session on the student's
    own files (no reference)."""
    config.addinivalue_line("markers", "grades(target, weight=1.0): the contract name a test grades")
    settings.load_profile(HYPOTHESIS_PROFILE)
    # database=None still leaves caches (constants of local modules) in ./.hypothesis.
    storage = tempfile.mkdtemp(prefix="autograder-hypothesis-")
    set_hypothesis_home_dir(storage)

    def forget_storage() -> None:
        set_hypothesis_home_dir(None)
        shutil.rmtree(storage, ignore_errors=True)

    config.add_cleanup(forget_storage)
    running = any(isinstance(p, GradingSession) for p in config.pluginmanager.get_plugins())
    root = Path(str(config.rootpath))
    if running or not (root / "assignment.yaml").is_file():
        return
    if config.option.verbose == 0:  # -q unless asked for -v: the plugin's report says it all
        config.option.verbose = -1
    assignment = load_path(root / "assignment.yaml", root.name)
    found = locate(root, assignment.files, assignment.contract)
    weights = root / UNSHIPPED_WEIGHTS
    unseen = json.loads(weights.read_text(encoding="utf-8")) if weights.is_file() else {}
    session = GradingSession(assignment, found, reference=False, unseen=unseen)
    config.pluginmanager.register(session, "autograder-session")
