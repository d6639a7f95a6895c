"""Mutants of an assignment's reference solution, to measure how well its tests catch bugs.

A mutant changes one small thing inside a ``# BEGIN SOLUTION`` block (an operator, a
constant, an axis, a statement, an argument, a copy) and nothing else: only the changed
segment of the source is replaced, so comments, docstrings and formatting survive.
Written here with the standard library because mutmut, cosmic-ray and mutatest are built
around their own test runners, project layouts and on-disk state, not around an API that
returns the mutated texts of one file.
"""

from __future__ import annotations

import ast
import bisect
import dataclasses
import io
import math
import tokenize
from collections import Counter
from collections.abc import Iterator

from autograder.spans import SourceText, unified_diff
from autograder.stubs import solution_lines

OPERATORS: tuple[str, ...] = ("arith", "compare", "constant", "mean-sum", "axis", "floordiv",
                              "delete", "drop-arg", "copy", "inplace")
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
            ast.Mod: "%", ast.Pow: "**", ast.MatMult: "@"}
_SWAPS = {"arith": {"+": "-", "-": "+", "*": "/", "/": "*", "**": "*"},
          "floordiv": {"//": "/", "/": "//"}}
_COMPARE = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
            ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.And: ("and", "or"),
            ast.Or: ("or", "and")}
_DELETABLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Raise, ast.Assert)
_LAYOUT = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
           tokenize.COMMENT}

_Edit = tuple[str, int, int, str, str]  # operator, start, end (text offsets), new text, description


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One changed copy of a reference file."""

    id: str
    module: str
    target: str | None
    operator: str
    line: int
    description: str
    source: str

    def diff(self, original: str) -> str:
        """A unified diff of ``original`` -> this mutant's source, with 1 line of context."""
        return unified_diff(self.module, original, self.source)


def generate(sources: dict[str, str], contract: dict[str, list[str]]) -> list[Mutant]:
    """Every mutant of the reference files ``sources`` (module name -> text), in a stable order
    (module order of ``sources``, then line, then column, then operator)."""
    mutants = []
    for module, text in sources.items():
        seen, counts = {text}, Counter()
        for _, mutant in sorted(_Source(module, text, contract.get(module, [])).mutants(),
                                key=lambda found: found[0]):
            if mutant.source in seen:
                continue
            seen.add(mutant.source)
            base = f"{module}:{mutant.line}:{mutant.operator}"
            counts[base] += 1
            mutants.append(dataclasses.replace(
                mutant, id=base if counts[base] == 1 else f"{base}:{counts[base]}"))
    return mutants


def _nudge(value: int | float) -> int | float:
    """The constant operator's replacement of a number."""
    if isinstance(value, int):
        return {0: 1, 1: 0, 2: 1}.get(value, value + 1)
    if value in (0.0, 1.0, 0.5):
        return {0.0: 1.0, 1.0: 0.0, 0.5: 1.0}[value]
    return 0.0 if abs(value) < 1e-3 else value * 2


def _number(node: ast.AST) -> int | float | None:
    """The value of a number literal (``-1`` included, bools not), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None or isinstance(node.operand, ast.UnaryOp) else -inner
    return node.value if isinstance(node, ast.Constant) and type(node.value) in (int, float) else None


class _Source(SourceText):
    """One reference file: its text, tree, tokens, solution blocks and contract names."""

    def __init__(self, module: str, text: str, names: list[str]) -> None:
        super().__init__(text)
        self.module, self.tree = module, ast.parse(text)
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        self.tokens = [(self.at(*t.start), self.at(*t.end), t.string)
                       for t in tokens if t.type not in _LAYOUT]
        self.token_starts = [t[0] for t in self.tokens]
        self.comments = [(self.at(*t.start), t.string) for t in tokens if t.type == tokenize.COMMENT]
        self.blocks = solution_lines(text)
        # a file parses when each top-level statement does: check a mutant's statement alone
        self.bounds = [0, *(self.starts[d.end_lineno or 0] for d in self.tree.body[:-1]), len(text)]
        self.owners = [(d.lineno, d.end_lineno or d.lineno, f"{module}.{d.name}")
                       for d in self.tree.body if isinstance(d, (ast.FunctionDef, ast.ClassDef,
                                                                 ast.AsyncFunctionDef))
                       and d.name in names]

    def mutants(self) -> Iterator[tuple[tuple[int, int, int], Mutant]]:
        """Every candidate mutant, with its sort key (line, column, operator)."""
        skip = set()  # f-strings (3.10 misplaces their nodes), axis= values, the 1 of -1
        for node in ast.walk(self.tree):
            if isinstance(node, ast.JoinedStr) or isinstance(node, ast.keyword) and node.arg == "axis":
                skip.update(id(inner) for inner in ast.walk(node))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.UnaryOp) and _number(node) is not None:
                skip.add(id(node.operand))
            if id(node) in skip or not isinstance(node, (ast.expr, ast.stmt)):
                continue
            if not any(a <= node.lineno and (node.end_lineno or 0) <= b for a, b in self.blocks):
                continue
            for operator, lo, hi, new, description in self._edits(node):
                if any(lo <= at < hi and comment not in new for at, comment in self.comments):
                    continue  # never delete a comment
                top = bisect.bisect_right(self.bounds, lo) - 1
                a, b = self.bounds[top], self.bounds[min(top + 1, len(self.bounds) - 1)]
                try:
                    ast.parse(self.text[a:lo] + new + self.text[hi:b])
                except SyntaxError:
                    continue
                line = bisect.bisect_right(self.starts, lo)
                yield (line, lo - self.starts[line - 1], OPERATORS.index(operator)), Mutant(
                    "", self.module, self._owner(line), operator, line, description,
                    self.text[:lo] + new + self.text[hi:])

    def _edits(self, node: ast.AST) -> Iterator[_Edit]:
        if isinstance(node, (ast.BinOp, ast.AugAssign)):
            left, right = (node.left, node.right) if isinstance(node, ast.BinOp) else (
                node.target, node.value)
            sym, eq = _SYMBOLS.get(type(node.op), ""), "=" if isinstance(node, ast.AugAssign) else ""
            token = self._token(self.end(left), self.start(right), sym + eq)
            for operator, swaps in _SWAPS.items():
                new = swaps.get(sym)
                if token and new and sym == "**" and not eq:  # wrapped: * binds less than **
                    lo, hi = self.span(node)
                    yield operator, lo, hi, \
                        f"({self.text[lo:token[0]]}{new}{self.text[token[1]:hi]})", f"'**' -> '{new}'"
                elif token and new:
                    yield operator, *token, new + eq, f"'{sym + eq}' -> '{new + eq}'"
        elif isinstance(node, (ast.Compare, ast.BoolOp)):  # one mutant per operator
            operands = node.values if isinstance(node, ast.BoolOp) else [node.left, *node.comparators]
            ops = [node.op] * len(operands) if isinstance(node, ast.BoolOp) else node.ops
            for op, a, b in zip(ops, operands, operands[1:]):
                old, new = _COMPARE.get(type(op), ("", ""))
                token = old and self._token(self.end(a), self.start(b), old)
                if token:
                    yield "compare", *token, new, f"'{old}' -> '{new}'"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            lo = self.start(node)
            after = self.tokens[bisect.bisect_left(self.token_starts, lo) + 1][0]
            yield "compare", lo, after, "", "dropped 'not'"
        elif (old := _number(node)) is not None:  # -1 is one constant, not a minus and a 1
            new = _nudge(old)
            if math.isfinite(new):
                yield "constant", *self.span(node), repr(new), f"{old!r} -> {new!r}"
        elif isinstance(node, ast.Call):
            yield from self._call(node)
        elif isinstance(node, ast.Assign):
            yield from self._inplace(node)
        if isinstance(node, _DELETABLE) and not (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            lo, hi = self.span(node)
            text = " ".join(ast.unparse(node).split())
            kept = "".join(f"  {comment}" for at, comment in self.comments if lo <= at < hi)
            yield "delete", lo, hi, "pass" + kept, \
                f"deleted `{text if len(text) <= 60 else text[:57] + '...'}`"

    def _call(self, node: ast.Call) -> Iterator[_Edit]:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        receiver = f"{func.value.id}." if isinstance(func, ast.Attribute) and isinstance(
            func.value, ast.Name) else "."
        swap = {"mean": "sum", "sum": "mean", "array": "asarray"}.get(name)
        if swap and isinstance(func, ast.Attribute) and (name != "array" or (
                node.args and isinstance(node.args[0], (ast.Name, ast.Attribute, ast.Subscript)))):
            hi = self.end(func)
            yield "copy" if name == "array" else "mean-sum", hi - len(name), hi, swap, \
                f"{receiver}{name} -> {receiver}{swap}"
        for kw in node.keywords:
            k = _number(kw.value)
            if kw.arg == "axis" and type(k) is int:
                yield "axis", *self.span(kw.value), str(0 if k in (1, -1) else -1), \
                    f"axis={k} -> axis={0 if k in (1, -1) else -1}"
            operator = "axis" if kw.arg == "keepdims" else "drop-arg"
            yield operator, *self._drop(node, kw), f"dropped `{self.segment(kw)}`"
        if len(node.args) >= 2:
            yield "drop-arg", *self._drop(node, node.args[-1]), \
                f"dropped `{self.segment(node.args[-1])}`"
        copier = name in ("copy", "deepcopy") if isinstance(func, ast.Attribute) else name == "list"
        if name == "copy" and isinstance(func, ast.Attribute) and not (node.args or node.keywords):
            yield "copy", *self.span(node), self.standalone(func.value), "dropped .copy()"
        elif copier and len(node.args) == 1 and not node.keywords:
            yield "copy", *self.span(node), self.standalone(node.args[0]), \
                f"dropped {ast.unparse(func)}()"

    def _inplace(self, node: ast.Assign) -> Iterator[_Edit]:
        value = node.value
        if len(node.targets) == 1 and isinstance(value, ast.BinOp) and type(value.op) in _SYMBOLS \
                and isinstance(node.targets[0], (ast.Name, ast.Attribute, ast.Subscript)) \
                and ast.unparse(value.left) == ast.unparse(node.targets[0]):
            target, sym = self.segment(node.targets[0]), _SYMBOLS[type(value.op)]
            right = self.segment(value.right)
            right = f"({right})" if "\n" in right else right
            yield "inplace", *self.span(node), f"{target} {sym}= {right}", \
                f"`{target} = {target} {sym} ...` -> `{target} {sym}= ...`"

    def _drop(self, call: ast.Call, arg: ast.AST) -> tuple[int, int, str]:
        """Remove one argument of ``call`` with its comma."""
        items = sorted([*call.args, *call.keywords], key=self.start)
        i = next(i for i, item in enumerate(items) if item is arg)
        if i + 1 < len(items):
            return self.start(arg), self.start(items[i + 1]), ""
        return (self.end(items[i - 1]) if i else self.start(arg)), self.end(arg), ""

    def _token(self, lo: int, hi: int, string: str) -> tuple[int, int] | None:
        """The first token ``string`` that starts in [lo, hi)."""
        for i in range(bisect.bisect_left(self.token_starts, lo), len(self.tokens)):
            start, end, text = self.tokens[i]
            if start >= hi:
                break
            if text == string:
                return start, end
        return None

    def _owner(self, line: int) -> str | None:
        return next((name for a, b, name in self.owners if a <= line <= b), None)
