"""Single-source authoring: student stubs and frozen public vectors, generated from
the reference in ``solutions/``.

A solution file marks what students write with ``# BEGIN SOLUTION`` /
``# END SOLUTION`` (Markdown: ``<!-- BEGIN SOLUTION -->`` / ``<!-- END SOLUTION -->``).
In the stub the block becomes its ``# HINT:`` lines and a
``raise NotImplementedError``; everything else (signatures, docstrings,
imports) is kept as written.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from autograder import checks, config, mistakes
from autograder.plugin import load_reference
from autograder.sandbox.errors import STUB_MARK
from autograder.sandbox.protocol import encode

_BEGIN = re.compile(r"^(\s*)(?:#|<!--)\s*BEGIN SOLUTION")
_END = re.compile(r"^\s*(?:#|<!--)\s*END SOLUTION")
_HINT = re.compile(r"^\s*#\s*HINT:\s?(.*)$")
_DEF = re.compile(r"^(\s*)(def|class)\s+(\w+)")


def strip_solutions(text: str, markdown: bool = False) -> str:
    """The stub of one solution file's text."""
    out: list[str] = []
    block: list[str] | None = None
    indent, owner, cls = "", "this", ""
    for line in text.splitlines():
        begin = _BEGIN.match(line)
        if block is None and begin:
            block, indent = [], begin.group(1)
        elif block is not None and _END.match(line):
            if markdown:
                out.append("_Write your answer here._")
            else:
                out += [f"{indent}# Hint: {h}" for h in block]
                out.append(f'{indent}raise NotImplementedError("{STUB_MARK} {owner}")')
            block = None
        elif block is not None:
            hint = _HINT.match(line)
            if hint:
                block.append(hint.group(1))
        else:
            named = _DEF.match(line)
            if named and named.group(2) == "class":
                cls = owner = named.group(3)
            elif named:
                owner = f"{cls}.{named.group(3)}" if named.group(1) and cls else named.group(3)
            out.append(line)
    if block is not None:
        raise config.ConfigError("a BEGIN SOLUTION marker has no END SOLUTION")
    return "\n".join(out) + "\n"


def solution_lines(text: str) -> list[tuple[int, int]]:
    """The 1-based ``(first, last)`` line numbers of the code of each solution block
    (marker lines excluded; an empty block has ``first > last``)."""
    blocks, first = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if first is None and _BEGIN.match(line):
            first = number + 1
        elif first is not None and _END.match(line):
            blocks.append((first, number - 1))
            first = None
    if first is not None:
        raise config.ConfigError("a BEGIN SOLUTION marker has no END SOLUTION")
    return blocks


def template_files(assignment: config.Assignment) -> dict[Path, str]:
    """Every generated file of the student template, path -> text."""
    generated = {}
    for name in assignment.files:
        source = assignment.solutions_dir / name
        if not source.is_file():
            raise config.ConfigError(f"solutions/{assignment.name}/{name} is missing")
        text = source.read_text(encoding="utf-8")
        generated[assignment.template_dir / name] = strip_solutions(text, name.endswith(".md"))
    catalogue = mistakes.load(assignment)
    if catalogue:
        generated[assignment.tests_dir / "public" / "mistakes.json"] = json.dumps(
            {m.id: m.message() for m in catalogue}, indent=1, sort_keys=True) + "\n"
    cases = assignment.root / "vectors.yaml"
    if cases.is_file():
        vectors = freeze_vectors(assignment, yaml.safe_load(cases.read_text(encoding="utf-8")))
        generated[assignment.tests_dir / "public" / "vectors.json"] = (
            json.dumps(vectors, indent=1, sort_keys=True) + "\n")
    return generated


def write_template(assignment: config.Assignment) -> list[Path]:
    """Write the generated files; return their paths."""
    written = []
    for path, text in template_files(assignment).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def freeze_vectors(assignment: config.Assignment, cases: dict[str, list[dict]]) -> dict:
    """Run the reference on every case of ``vectors.yaml``; return the encoded answers.

    A case is ``{args, kwargs}`` for a function; for a class, the constructor's
    ``{args, kwargs}`` plus ``method`` (the name of the method to call), ``calls`` (the
    argument lists of its successive calls) and ``attrs`` (attributes to record after
    each call). Lists of numbers become float arrays unless ``lists: true``.
    Each case also carries, under ``mistakes``, the answers of the classic mistakes
    (``mistakes.yaml``) that answer it differently from the reference, always the same;
    and its call's parameter names (``params``; ``method_params`` for the method's calls),
    so that messages name the arguments as the contract does.
    """
    reference = load_reference(assignment)
    catalogue = mistakes.load(assignment)
    frozen: dict[str, list] = {}
    for target, target_cases in cases.items():
        if target not in assignment.points:
            raise config.ConfigError(f"vectors.yaml: {target!r} is not in assignment.yaml points")
        module, name = target.split(".", 1)
        func = getattr(getattr(reference, module), name)
        variants = [(m, mistakes.variant(assignment, m)) for m in catalogue if m.target == target]
        frozen[target] = []
        for case in target_cases:
            arrays = not case.get("lists", False)
            entry: dict[str, Any] = {
                "args": [_input(a, arrays) for a in case.get("args", [])],
                "kwargs": {k: _input(v, arrays) for k, v in case.get("kwargs", {}).items()},
                "params": checks.parameter_names(func)}
            if "calls" in case or "method" in case:
                entry["method"] = _method(func, case, target)
                entry["calls"] = [[_input(a, arrays) for a in call] for call in case["calls"]]
                entry["attrs"] = case.get("attrs", [])
                entry["method_params"] = checks.parameter_names(  # without self
                    getattr(func, entry["method"]))[1:]
            entry["expected"] = answer(func, entry)
            entry["mistakes"] = []
            for mistake, wrong in variants:
                try:
                    theirs, again = answer(wrong, entry), answer(wrong, entry)
                except Exception:  # a variant that raises here is not recognisable by its answer
                    continue
                if mistakes.same(theirs, again) and not mistakes.same(theirs, entry["expected"]):
                    entry["mistakes"].append({"id": mistake.id, "message": mistake.message(),
                                              "expected": theirs})
            frozen[target].append(entry)
    return encode(frozen, _no_objects)


def answer(func: Any, case: dict) -> Any:
    """What ``func`` answers to a frozen case (on copies of its inputs): its return value,
    or for a class, each method call's return value and the ``attrs`` after it."""
    args, kwargs = copy.deepcopy(case["args"]), copy.deepcopy(case["kwargs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "calls" not in case:
            result = func(*args, **kwargs)
            return list(result) if isinstance(result, Iterator) else result  # a generator
        obj = func(*args, **kwargs)
        return [{"return": getattr(obj, case["method"])(*copy.deepcopy(call)),
                 "attrs": {a: getattr(obj, a) for a in case.get("attrs", [])}}
                for call in case["calls"]]


def _method(cls: Any, case: dict, target: str) -> str:
    """The method a class's case calls (``method``, with its ``calls``), checked."""
    method = case.get("method")
    if not isinstance(method, str) or "calls" not in case:
        raise config.ConfigError(f"vectors.yaml: {target}: a case of method calls needs both "
                                 "'method' (the name of the method) and 'calls' (its arguments, "
                                 "one list per call)")
    if method.startswith("_") or not callable(getattr(cls, method, None)):
        raise config.ConfigError(f"vectors.yaml: {target}: the reference has no method {method!r}")
    return method


def _input(value: Any, arrays: bool) -> Any:
    if arrays and isinstance(value, list):
        return np.asarray(value, dtype=np.float64)
    return value


def _no_objects(obj: Any) -> dict:
    raise config.ConfigError(f"vectors.yaml: a reference result of type {type(obj).__name__} "
                             "cannot be frozen")
