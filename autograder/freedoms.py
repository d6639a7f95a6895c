"""Correct variants of the reference, made from the freedoms its contract leaves
(``audit: freedoms`` in assignment.yaml). ``autograder audit`` grades each like a variant
of ``variants/``: a point one loses is a false failure, and the test that cost it passes
only when a submission does what the reference happens to do (draws its random numbers
the same way, say) rather than what the contract says.

A freedom either edits the reference (``edits``, as in mistakes.yaml) or names a built-in
rewrite (``kind``): the ways of writing one thing, each a template in which ``{name}``
stands for any expression (``{np}``, when nothing was found for it: the file's name for
numpy). Each way found in the target's definition is rewritten into each of the others.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from autograder import config, mistakes
from autograder.spans import SourceText

KINDS: dict[str, dict[str, str]] = {
    # a random mask that keeps each entry with probability 1 - p
    "mask": {
        "random": "{rng}.random({shape}) >= {p}",
        "keep_below": "{rng}.random({shape}) < 1 - {p}",
        "uniform": "{rng}.uniform(size={shape}) >= {p}",
        "binomial": "{rng}.binomial(1, 1 - {p}, size={shape}) == 1",
    },
    # a random order of the indices 0 .. n-1
    "permutation": {
        "permutation": "{out} = {rng}.permutation({n})",
        "shuffle": "{out} = {np}.arange({n})\n{rng}.shuffle({out})",
        "random_keys": "{out} = {np}.argsort({rng}.random({n}))",
    },
}
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Variant:
    """A correct variant of the reference: its file ``module`` is ``text``."""

    id: str
    target: str
    module: str
    description: str
    text: str


def generate(assignment: config.Assignment) -> list[Variant]:
    """The variants of every freedom of ``assignment``, in its order; a ConfigError for a
    freedom that cannot be made (an unknown kind, no way of it in its target, an edit whose
    text is not in the reference)."""
    found = []
    for freedom in assignment.audit.freedoms:
        where = f"assignment.yaml: audit: freedoms: {freedom.name}"
        module, name = freedom.target.split(".", 1)
        if freedom.edits:
            edited = mistakes.edit_reference(assignment, freedom.target, freedom.edits, where)
            found.append(Variant(freedom.name, freedom.target, module,
                                 "the edits of assignment.yaml", edited[f"{module}.py"]))
            continue
        if freedom.kind not in KINDS:
            raise config.ConfigError(f"{where}: kind {freedom.kind!r} is not one of "
                                     f"{', '.join(KINDS)}")
        source = SourceText((assignment.solutions_dir / f"{module}.py").read_text(encoding="utf-8"))
        made = list(rewrites(source, name, KINDS[freedom.kind], where))
        if not made:
            raise config.ConfigError(f"{where}: the reference's {freedom.target} writes none of "
                                     f"the ways of {freedom.kind}: "
                                     + "; ".join(KINDS[freedom.kind].values()))
        lines = {line for line, *_ in made}
        found += [Variant(f"{freedom.name}:{form}" if len(lines) == 1 else
                          f"{freedom.name}:{line}:{form}", freedom.target, module, said, text)
                  for line, form, said, text in made]
    return found


def rewrites(source: SourceText, name: str, forms: dict[str, str],
             where: str) -> Iterator[tuple[int, str, str, str]]:
    """Each way of ``forms`` found in the top-level definition ``name`` of ``source``,
    rewritten into each other way: (line, the other way's name, a description, the text)."""
    tree = ast.parse(source.text)
    definition = next((d for d in tree.body if getattr(d, "name", None) == name), None)
    if definition is None:
        raise config.ConfigError(f"{where}: the reference defines no {name}")
    numpy = next((a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                  for a in node.names if a.name == "numpy"), None)
    for form, template in forms.items():
        for nodes, bound in matches(_pattern(template), definition):
            lo, hi = source.start(nodes[0]), source.end(nodes[-1])
            values = {slot: source.standalone(node) for slot, node in bound.items()}
            if numpy:
                values.setdefault("np", numpy)
            indent = "\n" + source.lines[nodes[0].lineno - 1][:nodes[0].col_offset]
            for other, wanted in forms.items():
                if other == form:
                    continue
                try:
                    new = fill(wanted, values)
                except KeyError as missing:
                    raise config.ConfigError(f"{where}: {other}: nothing stands for {missing} "
                                             "in the reference") from None
                text = source.text[:lo] + new.replace("\n", indent) + source.text[hi:]
                try:
                    ast.parse(text)
                except SyntaxError as exc:
                    raise config.ConfigError(f"{where}: {other} does not fit line "
                                             f"{nodes[0].lineno} of the reference: {exc}") from None
                old = "; ".join(source.segment(node) for node in nodes)
                yield nodes[0].lineno, other, f"`{old}` -> `{new.replace(chr(10), '; ')}`", text


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` (KeyError if none)."""
    return _SLOT.sub(lambda slot: values[slot[1]], template)


def _pattern(template: str) -> list[ast.stmt]:
    """The statements of ``template``, each ``{name}`` a placeholder ``__name__``."""
    return ast.parse(_SLOT.sub(r"__\1__", template)).body


def matches(pattern: list[ast.stmt],
            definition: ast.AST) -> Iterator[tuple[list[ast.AST], dict[str, ast.expr]]]:
    """Where ``pattern`` occurs in ``definition``, and what its placeholders stand for: an
    expression anywhere (a pattern of one expression), or consecutive statements."""
    for node in ast.walk(definition):
        if len(pattern) == 1 and isinstance(pattern[0], ast.Expr):
            bound: dict[str, ast.expr] = {}
            if isinstance(node, ast.expr) and _same(pattern[0].value, node, bound):
                yield [node], bound
            continue
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            for i in range(len(body) - len(pattern) + 1):
                bound = {}
                if _same(pattern, body[i:i + len(pattern)], bound):
                    yield body[i:i + len(pattern)], bound


def _same(pattern: object, node: object, bound: dict[str, ast.expr]) -> bool:
    """Whether ``node`` is ``pattern`` with an expression for each placeholder (the same
    one wherever it occurs again), recording them in ``bound``."""
    if isinstance(pattern, ast.Name) and re.fullmatch(r"__\w+__", pattern.id):
        slot = pattern.id[2:-2]
        if slot in bound:
            return _same(bound[slot], node, {})
        if not isinstance(node, ast.expr):
            return False
        bound[slot] = node
        return True
    if isinstance(pattern, list):
        return isinstance(node, list) and len(pattern) == len(node) and all(
            _same(p, n, bound) for p, n in zip(pattern, node))
    if isinstance(pattern, ast.AST):
        return type(pattern) is type(node) and all(
            _same(getattr(pattern, f), getattr(node, f, None), bound)
            for f in pattern._fields if f not in ("ctx", "type_comment"))
    return pattern == node
