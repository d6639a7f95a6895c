"""Single-source authoring: student stubs and frozen public vectors, generated from
the reference in ``solutions/``.

A solution file marks what students write with ``# BEGIN SOLUTION`` /
``# END SOLUTION`` (Markdown: ``<!-- BEGIN SOLUTION -->`` / ``<!-- END SOLUTION -->``).
In the stub the block becomes its ``# HINT:`` lines and a
``raise NotImplementedError``; everything else (signatures, docstrings,
imports) is kept as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from autograder import config
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


def template_files(assignment: config.Assignment) -> dict[Path, str]:
    """Every generated file of the student template, path -> text."""
    generated = {}
    for name in assignment.files:
        source = assignment.solutions_dir / name
        if not source.is_file():
            raise config.ConfigError(f"solutions/{assignment.name}/{name} is missing")
        text = source.read_text(encoding="utf-8")
        generated[assignment.template_dir / name] = strip_solutions(text, name.endswith(".md"))
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

    A case is ``{args, kwargs}`` for a function, plus ``calls`` (the argument lists
    of successive ``step`` calls) and ``attrs`` (attributes to record after each
    call) for a class. Lists of numbers become float arrays unless ``lists: true``.
    """
    reference = load_reference(assignment)
    frozen: dict[str, list] = {}
    for target, target_cases in cases.items():
        if target not in assignment.points:
            raise config.ConfigError(f"vectors.yaml: {target!r} is not in assignment.yaml points")
        module, name = target.split(".", 1)
        func = getattr(getattr(reference, module), name)
        frozen[target] = []
        for case in target_cases:
            arrays = not case.get("lists", False)
            args = [_input(a, arrays) for a in case.get("args", [])]
            kwargs = {k: _input(v, arrays) for k, v in case.get("kwargs", {}).items()}
            entry: dict[str, Any] = {"args": args, "kwargs": kwargs}
            if "calls" in case:
                obj = func(*args, **kwargs)
                entry["calls"] = [[_input(a, arrays) for a in call] for call in case["calls"]]
                entry["expected"] = [
                    {"return": obj.step(*call),
                     "attrs": {a: getattr(obj, a) for a in case.get("attrs", [])}}
                    for call in entry["calls"]]
            else:
                entry["expected"] = func(*args, **kwargs)
            frozen[target].append(entry)
    return encode(frozen, _no_objects)


def _input(value: Any, arrays: bool) -> Any:
    if arrays and isinstance(value, list):
        return np.asarray(value, dtype=np.float64)
    return value


def _no_objects(obj: Any) -> dict:
    raise config.ConfigError(f"vectors.yaml: a reference result of type {type(obj).__name__} "
                             "cannot be frozen")
