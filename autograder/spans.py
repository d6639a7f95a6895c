"""Where the nodes of a Python source's syntax tree are in its text, for the tools that
rewrite part of a reference file and keep the rest of it as it is (the audit's mutants and
freedoms): offsets, spans, the text of a node, and a unified diff of two versions."""

from __future__ import annotations

import ast
import difflib

# Expressions that can stand anywhere as they are (others are parenthesized when moved)
ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant, ast.List, ast.Dict,
         ast.Set, ast.ListComp, ast.SetComp, ast.DictComp)


class SourceText:
    """A source text and the offset in it of each line and AST position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def at(self, line: int, column: int) -> int:
        """The offset of ``column`` (in characters) of the 1-based ``line``."""
        return self.starts[line - 1] + column

    def pos(self, line: int, column: int) -> int:
        """The offset of an AST position (whose columns count UTF-8 bytes)."""
        text = self.lines[line - 1]
        return self.at(line, column if text.isascii() else len(text.encode()[:column].decode()))

    def start(self, node: ast.AST) -> int:
        return self.pos(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.pos(node.end_lineno, node.end_col_offset)

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.start(node), self.end(node)

    def segment(self, node: ast.AST) -> str:
        """The text of ``node``."""
        return self.text[self.start(node):self.end(node)]

    def standalone(self, node: ast.expr) -> str:
        """The text of ``node``, parenthesized unless it can stand anywhere as it is."""
        text = self.segment(node)
        return text if isinstance(node, ATOMS) and "\n" not in text else f"({text})"


def unified_diff(module: str, before: str, after: str) -> str:
    """A unified diff of ``module``'s file from ``before`` to ``after``, 1 line of context."""
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        f"a/{module}.py", f"b/{module}.py", n=1))
