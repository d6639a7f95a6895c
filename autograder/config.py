"""Load and validate ``assignments/<name>/assignment.yaml``.

An assignment is data. Every key is checked when the file is loaded, and a
mistake is a one-line :class:`ConfigError` that names the key, e.g.
``assignment.yaml: late_policy: unknown key 'points_per_dya' (allowed: ...)``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import zoneinfo
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from autograder import scoring
from autograder.sandbox.limits import Allowlist, Limits

HOME = Path(os.environ.get("AUTOGRADER_HOME", Path(__file__).resolve().parent.parent))
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
KINDS = ("programming", "written")
AUTO_CHECKS = ("answered", "length", "mentions_any")  # a written rubric's automatic checks
_REQUIRED_KEYS = frozenset({"title", "kind", "files", "due", "timezone"})
_OPTIONAL_KEYS = frozenset({"points", "total_points", "visibility", "late_policy", "limits",
                            "grader_objects", "sentences", "questions", "audit"})


class ConfigError(Exception):
    """A problem with an assignment's configuration (not with a submission)."""


@dataclass(frozen=True)
class LatePolicy:
    """Points off per started day late; optional grace period and cap on days."""

    points_per_day: float = 3.0
    grace_minutes: float = 0.0
    max_days: int | None = None


@dataclass(frozen=True)
class Freedom:
    """A freedom the contract leaves the student in ``target`` (how a random generator is
    used, say), from which the audit makes correct variants of the reference: by a built-in
    rewrite (``kind``, one of :data:`autograder.freedoms.KINDS`), or by ``edits`` (old, new)
    of the reference's file, as in mistakes.yaml."""

    name: str
    target: str
    kind: str = ""
    edits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AuditThresholds:
    """What ``autograder audit`` requires: a mutation score per contract name (``default``
    for the names not listed), and at most so many collateral charges and false failures.
    ``equivalent`` lists the surviving mutants the instructor has shown to be equivalent
    (by id, each with the reason); ``freedoms``, what the contract leaves free."""

    min_mutation_score: dict[str, float] = field(default_factory=lambda: {"default": 0.0})
    max_collateral: int = 0
    max_false_failures: int = 0
    equivalent: dict[str, str] = field(default_factory=dict)  # mutant id -> why it is
    freedoms: tuple[Freedom, ...] = ()

    def min_score(self, target: str) -> float:
        """The mutation score ``target`` needs."""
        return self.min_mutation_score.get(target, self.min_mutation_score.get("default", 0.0))


@dataclass(frozen=True)
class RubricItem:
    """One rubric line: scored by the autograder (``auto``, with its ``check``) or by a
    person (``manual``). A ``mentions_any`` check passes when the answer mentions one of
    its ``terms``, and otherwise says ``message``."""

    id: str
    points: float
    description: str
    kind: str
    check: str | None = None
    terms: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class Question:
    """One written question: its heading in the response file and its rubric."""

    id: str
    heading: str
    guidance: str
    rubric: tuple[RubricItem, ...]


@dataclass(frozen=True)
class Assignment:
    """Everything the engine needs to know about one assignment."""

    name: str
    root: Path
    title: str
    kind: str
    files: tuple[str, ...]
    due: dt.datetime
    late_policy: LatePolicy
    points: dict[str, float] = field(default_factory=dict)
    visibility: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    grader_objects: Allowlist = field(default_factory=Allowlist)
    sentences: tuple[int, int] = (10, 20)
    questions: tuple[Question, ...] = ()
    audit: AuditThresholds = field(default_factory=AuditThresholds)

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests"

    @property
    def solutions_dir(self) -> Path:
        return HOME / "solutions" / self.name

    @property
    def template_dir(self) -> Path:
        return HOME / "student_template" / self.name

    @property
    def contract(self) -> dict[str, list[str]]:
        """Module name -> contract names, in the order of ``points``."""
        modules: dict[str, list[str]] = {Path(f).stem: [] for f in self.files}
        for target in self.points:
            module, name = target.split(".", 1)
            modules[module].append(name)
        return modules

    @property
    def manual_points(self) -> float:
        """Points a person grades by hand (the written rubric's ``manual`` items)."""
        return sum(item.points for q in self.questions for item in q.rubric
                   if item.kind == "manual")

    @property
    def total_points(self) -> float:
        if self.kind == "written":
            return sum(item.points for q in self.questions for item in q.rubric)
        return sum(self.points.values())


def home() -> str:
    """Which home the assignments are read from, for messages: ``AUTOGRADER_HOME=...`` when
    that variable chose it."""
    return f"AUTOGRADER_HOME={HOME}" if os.environ.get("AUTOGRADER_HOME") else str(HOME)


def assignment_names() -> list[str]:
    """Names of the assignments that ship with the toolkit."""
    return sorted(p.parent.name for p in (HOME / "assignments").glob("*/assignment.yaml"))


def load(name: str) -> Assignment:
    """Load and validate the assignment called ``name``."""
    path = HOME / "assignments" / name / "assignment.yaml"
    if not path.is_file():
        known = ", ".join(assignment_names()) or "none"
        raise ConfigError(f"unknown assignment {name!r} in {home()} (known: {known})")
    return load_path(path, name)


def load_path(path: Path, name: str) -> Assignment:
    """Load the assignment file at ``path`` (a student copy carries its own)."""
    return parse(name, path.parent, read_yaml(path))


def load_late_terms(path: Path) -> tuple[dt.datetime, LatePolicy]:
    """The due date and the late policy of the assignment file at ``path``, read alone (for
    a course that grades elsewhere, e.g. with otter-grader): the other keys of
    assignment.yaml are allowed, not required."""
    return late_terms(read_yaml(path), path.name)


ALIASED_NODES = 100_000  # the nodes aliases may add to a file from outside the course


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing a document whose aliases (``*name``) add more than
    ALIASED_NODES nodes to those it writes out: a few lines of nested aliases stand for
    hundreds of millions of nodes ("billion laughs") once the data is walked."""

    def construct_document(self, node: yaml.Node) -> Any:
        sizes: dict[int, float] = {}
        if _expanded(node, sizes, set()) - len(sizes) > ALIASED_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"its aliases (*name) expand it by more than {ALIASED_NODES} "
                "entries", None)
        return super().construct_document(node)


def _expanded(node: yaml.Node, sizes: dict[int, float], within: set[int]) -> float:
    """How many nodes ``node`` stands for, its aliases expanded (infinitely many when it holds
    itself); ``sizes`` keeps the count of each node met, ``within`` the nodes ``node`` is in."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in within:
        return math.inf
    within.add(id(node))
    if isinstance(node, yaml.MappingNode):
        children = [item for pair in node.value for item in pair]
    else:
        children = node.value if isinstance(node, yaml.SequenceNode) else []
    sizes[id(node)] = 1 + sum(_expanded(child, sizes, within) for child in children)
    within.discard(id(node))
    return sizes[id(node)]


def read_yaml(path: Path, outside: bool = False) -> Any:
    """The YAML data of ``path``; a syntax error is ``NAME:LINE:COL: problem``. A file
    from ``outside`` the course's own repository (Gradescope's export index) is refused
    the same way when its aliases stand for too much (:class:`_BoundedLoader`)."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"),
                         Loader=_BoundedLoader if outside else yaml.SafeLoader)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_yaml_error(path.name, exc)) from None
    except yaml.YAMLError as exc:  # a character YAML does not allow
        raise ConfigError(f"{path.name}: not valid YAML: {str(exc).splitlines()[0]}") from None


def _yaml_error(name: str, exc: yaml.MarkedYAMLError) -> str:
    """``NAME:LINE:COL: problem (context)``, the way compilers report a syntax error."""
    mark = exc.problem_mark or exc.context_mark
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    context = ""
    if exc.context and exc.context_mark and exc.context_mark is not mark:
        context = f" ({exc.context} at line {exc.context_mark.line + 1})"
    return f"{where}: {exc.problem or exc.context or 'not valid YAML'}{context}"


def parse(name: str, root: Path, data: Any) -> Assignment:
    """Build an :class:`Assignment` from the YAML data, checking every key."""
    where = "assignment.yaml"
    data = _mapping(data, where)
    _keys(data, where, required=_REQUIRED_KEYS, optional=_OPTIONAL_KEYS)
    kind = _choice(data["kind"], KINDS, f"{where}: kind")
    files = tuple(str(f) for f in _list(data["files"], f"{where}: files"))
    due, late = late_terms(data, where)
    common = {
        "name": name, "root": root, "title": str(data["title"]), "kind": kind, "files": files,
        "due": due, "late_policy": late,
        "limits": _dataclass(Limits, data.get("limits", {}), f"{where}: limits"),
    }
    if kind == "written":
        assignment = Assignment(**common, **_written(data, where))
    elif "points" not in data:
        raise ConfigError(f"{where}: missing key 'points' (required for a programming assignment)")
    else:
        points = _points(data["points"], files, where)
        assignment = Assignment(**common, points=points,
                                visibility=_visibility(data.get("visibility", {}), where),
                                grader_objects=_allowlist(data.get("grader_objects", {}), where),
                                audit=_audit(data.get("audit", {}), points, where))
    if "total_points" in data:
        _check_total(assignment, _number(data["total_points"], f"{where}: total_points"), where)
    return assignment


def _check_total(assignment: Assignment, declared: float, where: str) -> None:
    """The points (a written assignment: its rubric) must add up to ``total_points``."""
    if not math.isclose(assignment.total_points, declared, rel_tol=0, abs_tol=1e-9):
        what = "the rubric's points" if assignment.kind == "written" else "points"
        raise ConfigError(f"{where}: {what} add up to {assignment.total_points:g}, but "
                          f"total_points is {declared:g}")


def _points(data: Any, files: tuple[str, ...], where: str) -> dict[str, float]:
    modules = {Path(f).stem for f in files}
    points = {}
    for target, value in _mapping(data, f"{where}: points").items():
        module = str(target).split(".", 1)[0]
        if "." not in str(target) or module not in modules:
            raise ConfigError(f"{where}: points: {target!r} is not 'module.name' for a module "
                              f"in files ({', '.join(sorted(modules))})")
        points[str(target)] = _number(value, f"{where}: points: {target}")
        if scoring.exact(points[str(target)]) % scoring.CENT:
            raise ConfigError(f"{where}: points: {target}: {value!r} has more than two decimals; "
                              "points are shared between tests in hundredths")
    return points


def _allowlist(data: Any, where: str) -> Allowlist:
    """What student code may do with the grader's objects (``grader_objects``)."""
    where = f"{where}: grader_objects"
    data = _mapping(data, where)
    _keys(data, where, required=set(), optional={"methods", "attributes", "settable"})
    names = {key: frozenset(str(n) for n in _list(data.get(key, []), f"{where}: {key}"))
             for key in ("methods", "attributes", "settable")}
    for key, values in names.items():
        bad = sorted(n for n in values if not n.isidentifier() or n.startswith("_"))
        if bad:
            raise ConfigError(f"{where}: {key}: {bad[0]!r} is not a public attribute name")
    return Allowlist(**names)


def _audit(data: Any, points: dict[str, float], where: str) -> AuditThresholds:
    """The audit's thresholds: ``min_mutation_score`` is a fraction, or a mapping of contract
    names (and ``default``) to fractions."""
    where = f"{where}: audit"
    data = _mapping(data, where)
    _keys(data, where, required=set(), optional={"min_mutation_score", "max_collateral",
                                                 "max_false_failures", "equivalent", "freedoms"})
    scores = data.get("min_mutation_score", 0.0)
    if not isinstance(scores, dict):
        scores = {"default": scores}
    minimum = {}
    for target, value in scores.items():
        if target != "default" and target not in points:
            raise ConfigError(f"{where}: min_mutation_score: {target!r} is not in points")
        minimum[str(target)] = _number(value, f"{where}: min_mutation_score: {target}")
        if minimum[str(target)] > 1:
            raise ConfigError(f"{where}: min_mutation_score: {target}: {value!r} is not a "
                              "fraction between 0 and 1")
    counts = {key: int(_number(data.get(key, 0), f"{where}: {key}"))
              for key in ("max_collateral", "max_false_failures")}
    equivalent = {str(k): str(v).strip()
                  for k, v in _mapping(data.get("equivalent", {}), f"{where}: equivalent").items()}
    freedoms = _freedoms(data.get("freedoms", []), points, f"{where}: freedoms")
    return AuditThresholds(minimum, **counts, equivalent=equivalent, freedoms=freedoms)


def _freedoms(data: Any, points: dict[str, float], where: str) -> tuple[Freedom, ...]:
    """The freedoms: each a ``name``, a ``target`` (a contract name), and either a ``kind``
    or a list of ``edits`` ({old, new})."""
    found: dict[str, Freedom] = {}
    for number, entry in enumerate(_list(data, where), 1):
        here = f"{where}: entry {number}"
        entry = _mapping(entry, here)
        here = f"{where}: {entry.get('name', f'entry {number}')}"
        _keys(entry, here, required={"name", "target"}, optional={"kind", "edits"})
        name, target = str(entry["name"]), str(entry["target"])
        if target not in points:
            raise ConfigError(f"{here}: target {target!r} is not in points")
        if ("kind" in entry) == ("edits" in entry):
            raise ConfigError(f"{here}: give either a kind (a built-in rewrite) or edits")
        try:
            edits = tuple((str(e["old"]), str(e["new"])) for e in _list(entry.get("edits", []),
                                                                        f"{here}: edits"))
        except (KeyError, TypeError):
            raise ConfigError(f"{here}: edits: each needs old and new") from None
        if "edits" in entry and not edits:
            raise ConfigError(f"{here}: edits: none given")
        if name in found:
            raise ConfigError(f"{here}: the name is used twice")
        found[name] = Freedom(name, target, str(entry.get("kind", "")), edits)
    return tuple(found.values())


def _visibility(data: Any, where: str) -> dict[str, str]:
    return {str(group): _choice(value, VISIBILITIES, f"{where}: visibility: {group}")
            for group, value in _mapping(data, f"{where}: visibility").items()}


def _written(data: dict, where: str) -> dict[str, Any]:
    if "questions" not in data:
        raise ConfigError(f"{where}: missing key 'questions' (required for a written assignment)")
    bounds = _mapping(data.get("sentences", {"min": 10, "max": 20}), f"{where}: sentences")
    _keys(bounds, f"{where}: sentences", required={"min", "max"})
    questions = []
    for i, q in enumerate(_list(data["questions"], f"{where}: questions")):
        qwhere = f"{where}: questions[{i}]"
        q = _mapping(q, qwhere)
        _keys(q, qwhere, required={"id", "heading", "rubric"}, optional={"guidance"})
        items = []
        for j, item in enumerate(_list(q["rubric"], f"{qwhere}: rubric")):
            iwhere = f"{qwhere}: rubric[{j}]"
            item = _mapping(item, iwhere)
            _keys(item, iwhere, required={"id", "points", "description", "kind"},
                  optional={"check"})
            kind = _choice(item["kind"], ("auto", "manual"), f"{iwhere}: kind")
            check = _check(item.get("check"), f"{iwhere}: check") if kind == "auto" else {}
            items.append(RubricItem(str(item["id"]), _number(item["points"], f"{iwhere}: points"),
                                    str(item["description"]).strip(), kind, **check))
        questions.append(Question(str(q["id"]), str(q["heading"]).strip(),
                                  str(q.get("guidance", "")).strip(), tuple(items)))
    return {"questions": tuple(questions),
            "sentences": (int(bounds["min"]), int(bounds["max"]))}


def _check(data: Any, where: str) -> dict[str, Any]:
    """An automatic rubric check: ``answered``, ``length``, or a mapping
    ``{mentions_any: [terms], message: "what to say when none is mentioned"}``."""
    if not isinstance(data, dict):
        check = _choice(data, AUTO_CHECKS, where)
        if check == "mentions_any":
            raise ConfigError(f"{where}: mentions_any needs its terms: "
                              "{mentions_any: [term, ...], message: ...}")
        return {"check": check}
    _keys(data, where, required={"mentions_any"}, optional={"message"})
    terms = tuple(str(t) for t in _list(data["mentions_any"], f"{where}: mentions_any"))
    if not terms:
        raise ConfigError(f"{where}: mentions_any: give at least one term")
    examples = ", ".join(f"'{t}'" for t in terms[:4]) + (", ..." if len(terms) > 4 else "")
    message = str(data.get("message", f"Mention one of {examples}.")).strip()
    return {"check": "mentions_any", "terms": terms, "message": message}


def late_terms(data: Any, where: str) -> tuple[dt.datetime, LatePolicy]:
    """``due`` (a local time) in ``timezone``, and ``late_policy``, of assignment.yaml's data."""
    data = _mapping(data, where)
    _keys(data, where, required={"due", "timezone"}, optional=_REQUIRED_KEYS | _OPTIONAL_KEYS)
    return (_due(data["due"], data["timezone"], where),
            _dataclass(LatePolicy, data.get("late_policy", {}), f"{where}: late_policy"))


def _due(value: Any, timezone: Any, where: str) -> dt.datetime:
    try:
        zone = zoneinfo.ZoneInfo(str(timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: timezone: unknown time zone {timezone!r}") from None
    try:
        local = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: due: {value!r} is not 'YYYY-MM-DD HH:MM'") from None
    if local.tzinfo is not None:
        raise ConfigError(f"{where}: due: give a local time without an offset; "
                          "the time zone comes from 'timezone'")
    return local.replace(tzinfo=zone)


def _dataclass(cls: type, data: Any, where: str) -> Any:
    data = _mapping(data, where)
    names = {f.name for f in fields(cls)}
    _keys(data, where, required=set(), optional=names)
    kinds = {f.name: str(f.type) for f in fields(cls)}  # "int", "float", "int | None"
    values = {}
    for key, value in data.items():
        if value is None and "None" in kinds[key]:
            values[key] = None
            continue
        number = _number(value, f"{where}: {key}")
        values[key] = int(number) if kinds[key].startswith("int") else number
    return cls(**values)


def _keys(data: dict, where: str, required: AbstractSet[str],
          optional: AbstractSet[str] = frozenset()) -> None:
    for key in data:
        if key not in required | optional:
            allowed = ", ".join(sorted(required | optional))
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {allowed})")
    for key in sorted(required):
        if key not in data:
            raise ConfigError(f"{where}: missing key {key!r}")


def _mapping(data: Any, where: str) -> dict:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    return data


def _list(data: Any, where: str) -> list:
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list, got {type(data).__name__}")
    return data


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{where}: expected a non-negative number, got {value!r}")
    return float(value)
