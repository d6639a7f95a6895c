"""Jupyter and Colab notebooks (``.ipynb``) as Python modules, read as text.

A notebook is JSON; this module reads it with :mod:`json` and :func:`ast.parse` only
and never runs any of it: the module it makes is shipped to the sandboxed worker like
any submitted ``.py`` file. What a notebook gives its module, in words the student
reads in the "Submitted files" row:

- its code cells, in order (markdown, raw cells, outputs and metadata, Colab's included,
  are ignored);
- without IPython's shell commands and magics (``!pip install numpy``, ``%matplotlib
  inline``, ``files = !ls``, ``np.mean?``), which are not Python; a cell under a cell
  magic (``%%bash``, ``%%writefile``) is dropped whole, except ``%%time``, ``%%timeit``
  and ``%%capture``, whose body is Python;
- of each cell's top level, only what defines things: imports, ``def``, ``class``,
  assignments that call nothing (``EPS = 1e-8``, ``sq = lambda x: x * x``), and ``if``
  or ``try`` blocks made only of those. Everything else would run when the module is
  imported (a plot, a training run, ``input()``, a test call) and is left out, with a
  note; so is a statement that uses a name only left-out code defines;
- without imports of modules that the grader does not have (``import matplotlib.pyplot as
  plt`` where matplotlib is not installed, ``google.colab``, which exists only on Colab):
  a function that uses one fails when it runs, instead of every function of the module;
  whether a module is installed is looked up (:func:`importlib.util.find_spec` of its
  top-level name, which runs no code), never imported;
- a cell that is not valid Python (or too long to parse safely) is left out, with a note
  naming its line.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_NOTEBOOK_MB = 20  # outputs (plots) make notebooks large; the code in them is small
MAX_CODE_KB = 1024  # code read (and parsed) per notebook: a .py file's cap (limits.source_kb)
# Python 3.10's parser overflows the C stack (a crash, not an exception) on a chain of about
# 150,000 operators, attributes, calls or subscripts (a + a + ...); each link takes one of
# these characters, so a cell with at most this many is parsed safely.
MAX_OPERATORS = 50_000
_OPERATORS = "+-*/%@&|^~<>.(["
SHOWN = 4  # left-out lines quoted per kind in a note
_BODY_MAGICS = {"time", "timeit", "capture"}  # cell magics whose body is Python
_MAGIC_LINE = re.compile(r"\s*(?:[\w.]+\s*=\s*)?[!%]|\s*[\w.]+\?\??\s*$")
_COLAB_ONLY = "google.colab"


class NotebookError(Exception):
    """A file named .ipynb that is not a Python notebook this module can read."""


@dataclass(frozen=True)
class Notebook:
    """The module a notebook makes, the names it defines, and what was left out."""

    code: str
    defines: frozenset[str]
    notes: tuple[str, ...]


def read(path: Path, shown: str, siblings: frozenset[str] = frozenset()) -> Notebook:
    """The module made from the notebook at ``path`` (``shown``: its name in messages;
    ``siblings``: the modules of the submission, which its code may import)."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_MB << 20:
        raise NotebookError(f"'{shown}' is {size / 2**20:.0f} MB; notebooks over "
                            f"{MAX_NOTEBOOK_MB} MB are not graded (clear its outputs and save it)")
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:  # bad JSON, not UTF-8, nested too deep
        raise NotebookError(f"'{shown}' is not a notebook Jupyter can open ({_reason(exc)}); "
                            "open it, save it again and upload it") from None
    return convert(document, shown, siblings)


def convert(document: Any, shown: str, siblings: frozenset[str] = frozenset()) -> Notebook:
    """The module made from a notebook's JSON document (nbformat 4)."""
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        old = isinstance(document, dict) and "worksheets" in document
        raise NotebookError(f"'{shown}' is not a notebook of format 4" + (
            " (it is of format 3: save it with a current Jupyter)" if old else ""))
    language = _language(document.get("metadata"))
    if language not in ("", "python"):
        raise NotebookError(f"'{shown}' is a {language} notebook, not a Python one")
    code = [cell for cell in document["cells"]
            if isinstance(cell, dict) and cell.get("cell_type") == "code"]
    texts = [_source(cell, number, shown) for number, cell in enumerate(code, start=1)]
    size = sum(map(len, texts))
    if size > MAX_CODE_KB * 1024:
        raise NotebookError(f"the code cells of '{shown}' hold {size / 2**20:.1f} MB of text; "
                            f"notebooks with over {MAX_CODE_KB} KB of code are not graded")
    module = _Module(shown, siblings)
    for number, text in enumerate(texts, start=1):
        module.add_cell(number, text)
    return module.result()


class _Module:
    """The module being made, one code cell at a time."""

    def __init__(self, shown: str, siblings: frozenset[str]) -> None:
        self.shown = shown
        self.siblings = siblings
        self.parts: list[str] = ["# Made by the grader from a notebook: its imports and definitions"]
        self.defines: set[str] = set()
        self.unbound: set[str] = set()  # names that only left-out code defines
        self.magics: list[str] = []
        self.absent: list[str] = []  # imports of modules the grader does not have
        self.left_out: list[str] = []
        self.broken: list[str] = []

    def add_cell(self, number: int, text: str) -> None:
        if sum(map(text.count, _OPERATORS)) > MAX_OPERATORS:
            self.broken.append(f"code cell {number} (more than {MAX_OPERATORS} operators: "
                               "too long to read)")
            return
        python = self._python(text.replace("\r\n", "\n").replace("\r", "\n"))
        try:
            tree = ast.parse(python)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            where = f" (line {line}: {getattr(exc, 'msg', exc)})" if line else ""
            self.broken.append(f"code cell {number}{where}")
            return
        lines = python.split("\n")
        body = tree.body
        kept = []
        for i, node in enumerate(body):
            if self._keeps(node):
                shares = (i > 0 and body[i - 1].end_lineno == _first_line(node)) or (
                    i + 1 < len(body) and _first_line(body[i + 1]) == node.end_lineno)
                kept.append(ast.get_source_segment(python, node) if shares
                            else "\n".join(lines[_first_line(node) - 1:node.end_lineno]))
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    self.defines |= _bound(node)
            elif not _is_docstring(node):
                quoted = f"`{_first(ast.get_source_segment(python, node))}`"
                if self._absent(node):
                    self.absent.append(quoted)
                else:
                    self.left_out.append(f"code cell {number}: {quoted}")
        if kept:
            self.parts += [f"\n# code cell {number}", *kept]

    def _python(self, text: str) -> str:
        """The cell's text without magics; a dropped line stays, empty, so that lines keep
        their numbers."""
        start = text.lstrip()
        if start.startswith("%%"):
            magic, _, body = start.partition("\n")
            if (magic[2:].split() or [""])[0] not in _BODY_MAGICS:
                self.magics.append(f"{magic.strip()} (with its cell)")
                return ""
            self.magics.append(magic.strip())
            text = "\n" * (text[:len(text) - len(start)].count("\n") + 1) + body
        try:
            ast.parse(text)
            return text
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if _MAGIC_LINE.match(line):
                self.magics.append(line.strip())
                lines[i] = ""
        return "\n".join(lines)

    def _keeps(self, node: ast.stmt) -> bool:
        """Whether a top-level statement is kept (and the names it binds are then bound)."""
        keep = (_defines_only(node) and not self._absent(node)
                and not (_loaded(node) & self.unbound))
        if keep:
            self.unbound -= _bound(node)
        else:
            self.unbound |= _bound(node)
        return keep

    def _absent(self, node: ast.stmt) -> bool:
        """An import of a module that the grader does not have (nor the submission)."""
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: a notebook is in no package
                return True
            names = [node.module or ""]
        else:
            return False
        return any(name.split(".")[0] not in self.siblings and not _installed(name)
                   for name in names)

    def result(self) -> Notebook:
        """The module, what it defines, and a note per kind of thing left out."""
        notes = []
        if self.magics:
            notes.append(f"{self.shown}: left out IPython magics and shell commands, which are "
                         f"not Python: {_quote(self.magics)}")
        if self.absent:
            notes.append(f"{self.shown}: left out imports of modules that are not installed "
                         f"where your code is graded (a function that uses one fails): "
                         f"{', '.join(self.absent[:SHOWN])}{_more(self.absent)}")
        if self.left_out:
            notes.append(f"{self.shown}: left out top-level code that would run when your "
                         f"notebook is imported (only imports, functions, classes and constants "
                         f"are graded): {'; '.join(self.left_out[:SHOWN])}"
                         + _more(self.left_out))
        if self.broken:
            notes.append(f"{self.shown}: left out code cells that could not be read as Python: "
                         f"{'; '.join(self.broken[:SHOWN])}{_more(self.broken)}")
        return Notebook("\n".join(self.parts) + "\n", frozenset(self.defines), tuple(notes))


def _defines_only(node: ast.stmt) -> bool:
    """Imports, definitions, assignments that call nothing, and ``if``/``try`` blocks of
    those: statements that define, and run nothing, on import."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return _calls_nothing(node)
    if isinstance(node, ast.If):
        return _calls_nothing(node.test) and all(map(_defines_only, node.body + node.orelse))
    if isinstance(node, ast.Try):
        handlers = [s for h in node.handlers for s in h.body]
        return (all(h.type is None or _calls_nothing(h.type) for h in node.handlers)
                and all(map(_defines_only, node.body + node.orelse + node.finalbody + handlers)))
    return False


def _calls_nothing(node: ast.AST) -> bool:
    """Evaluating ``node`` calls nothing (a lambda's body runs later, not its defaults)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(item, ast.Lambda):
            stack += [d for d in item.args.defaults + item.args.kw_defaults if d is not None]
        else:
            stack += ast.iter_child_nodes(item)
    return True


def _loaded(node: ast.AST) -> set[str]:
    """Names that executing a top-level statement reads (a function's body runs later:
    only its decorators, defaults and annotations count). Iterative: a submitted
    expression may nest deeper than Python's recursion limit."""
    names, stack = set(), [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = item.args
            stack += [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
            if not isinstance(item, ast.Lambda):
                stack += [*item.decorator_list, *(a.annotation for a in _arguments(args)
                                                  if a.annotation is not None)]
                stack += [item.returns] if item.returns is not None else []
        elif isinstance(item, ast.Name):
            names |= {item.id} if isinstance(item.ctx, ast.Load) else set()
        else:
            stack += ast.iter_child_nodes(item)
    return names


def _bound(node: ast.AST) -> set[str]:
    """Names a top-level statement binds in the module."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.If, ast.Try)):
        inner = node.body + node.orelse + getattr(node, "finalbody", [])
        inner += [s for h in getattr(node, "handlers", []) for s in h.body]
        return set().union(*map(_bound, inner))
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _arguments(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *args.kwonlyargs,
            *(a for a in (args.vararg, args.kwarg) if a is not None)]


def _first_line(node: ast.stmt) -> int:
    """A statement's first line, its decorators included."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _installed(module: str) -> bool:
    """Whether ``module`` (dotted) can be imported here: Colab's own module never can; for
    others, the top-level name is looked up, not imported (its package's code never runs)."""
    if module == _COLAB_ONLY or module.startswith(_COLAB_ONLY + "."):
        return False
    try:
        return importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):  # a name find_spec refuses ('__main__' without a spec)
        return False


def _source(cell: dict, number: int, shown: str) -> str:
    """A cell's text: nbformat 4 allows a string or a list of lines."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError(f"'{shown}': code cell {number} has no text ('source' is "
                        f"{type(source).__name__})")


def _language(metadata: Any) -> str:
    """The notebook's language from its metadata ('' when it does not say)."""
    metadata = metadata if isinstance(metadata, dict) else {}
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            return value[field].lower()
    return ""


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return "invalid JSON"


def _first(text: str, width: int = 60) -> str:
    line = text.strip().split("\n")[0]
    return line if len(line) <= width else line[:width] + " ..."


def _quote(items: list[str]) -> str:
    return ", ".join(f"`{_first(item)}`" for item in items[:SHOWN]) + _more(items)


def _more(items: list[str]) -> str:
    return f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
