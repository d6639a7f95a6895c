"""The mutant generator of ``autograder audit``: small, exact changes inside solution blocks."""

import ast

import pytest

from autograder import config, mutate, stubs

TOY = '''"""A made-up solution file: 0.5 * 2 in a docstring is not code."""

import numpy as np

# BEGIN SOLUTION
SCALE = 3
# END SOLUTION


def helper(x):
    return x + 1


def total(x, eps=1e-8):
    """The scaled mean of x, 0.5 * 2 == 1."""
    # BEGIN SOLUTION
    # HINT: mean over axis 0 - then add eps
    y = np.asarray(x, dtype=float)
    if not y.size > 0 and y.ndim != 2:
        raise ValueError("empty")
    z = np.clip(y,  # keep it in range
                0.0, 1.0)
    return np.mean(z * SCALE, axis=0, keepdims=True) + eps / y.size ** 2
    # END SOLUTION


class Stepper:
    """Counts steps."""

    def __init__(self, w):
        # BEGIN SOLUTION
        self.w = w.copy()
        self.t = -1
        # END SOLUTION

    def step(self, g):
        """One step: w - g // 3."""
        # BEGIN SOLUTION
        self.t += 1
        self.w = self.w - g // 3
        return list(self.w)
        # END SOLUTION
'''
CONTRACT = {"toy": ["total", "Stepper"]}
RETURN = "    return np.mean(z * SCALE, axis=0, keepdims=True) + eps / y.size ** 2"

# operator, line, description, target, the changed line(s) of the mutant
EXPECTED = [
    ("delete", 6, "deleted `SCALE = 3`", None, ["pass"]),
    ("constant", 6, "3 -> 4", None, ["SCALE = 4"]),
    ("drop-arg", 18, "dropped `dtype=float`", "toy.total", ["    y = np.asarray(x)"]),
    ("compare", 19, "dropped 'not'", "toy.total", ["    if y.size > 0 and y.ndim != 2:"]),
    ("compare", 19, "'>' -> '>='", "toy.total", ["    if not y.size >= 0 and y.ndim != 2:"]),
    ("compare", 19, "'and' -> 'or'", "toy.total", ["    if not y.size > 0 or y.ndim != 2:"]),
    ("compare", 19, "'!=' -> '=='", "toy.total", ["    if not y.size > 0 and y.ndim == 2:"]),
    ("delete", 20, 'deleted `raise ValueError(\'empty\')`', "toy.total", ["        pass"]),
    ("delete", 21, "deleted `z = np.clip(y, 0.0, 1.0)`", "toy.total",
     ["    pass  # keep it in range"]),
    ("drop-arg", 22, "dropped `1.0`", "toy.total", ["                0.0)"]),
    ("constant", 22, "0.0 -> 1.0", "toy.total", ["                1.0, 1.0)"]),
    ("mean-sum", 23, "np.mean -> np.sum", "toy.total", [RETURN.replace("np.mean", "np.sum")]),
    ("axis", 23, "axis=0 -> axis=-1", "toy.total", [RETURN.replace("axis=0", "axis=-1")]),
    ("axis", 23, "dropped `keepdims=True`", "toy.total", [RETURN.replace(", keepdims=True", "")]),
    ("drop-arg", 23, "dropped `axis=0`", "toy.total", [RETURN.replace("axis=0, ", "")]),
    ("arith", 23, "'**' -> '*'", "toy.total", [RETURN.replace("y.size ** 2", "(y.size * 2)")]),
    ("arith", 23, "'+' -> '-'", "toy.total", [RETURN.replace(") + eps", ") - eps")]),
    ("floordiv", 23, "'/' -> '//'", "toy.total", [RETURN.replace("eps /", "eps //")]),
    ("copy", 32, "dropped .copy()", "toy.Stepper", ["        self.w = w"]),
    ("constant", 33, "-1 -> 0", "toy.Stepper", ["        self.t = 0"]),
    ("delete", 39, "deleted `self.t += 1`", "toy.Stepper", ["        pass"]),
    ("arith", 39, "'+=' -> '-='", "toy.Stepper", ["        self.t -= 1"]),
    ("inplace", 40, "`self.w = self.w - ...` -> `self.w -= ...`", "toy.Stepper",
     ["        self.w -= g // 3"]),
    ("floordiv", 40, "'//' -> '/'", "toy.Stepper", ["        self.w = self.w - g / 3"]),
    ("copy", 41, "dropped list()", "toy.Stepper", ["        return self.w"]),
]


@pytest.fixture(scope="module")
def toy():
    return mutate.generate({"toy": TOY}, CONTRACT)


def changed(mutant, original=TOY):
    """The lines the mutant's diff removes and adds, without the file headers."""
    lines = mutant.diff(original).splitlines()[2:]
    return ([line[1:] for line in lines if line.startswith("-")],
            [line[1:] for line in lines if line.startswith("+")])


@pytest.mark.parametrize(("operator", "line", "description", "target", "added"), EXPECTED)
def test_each_operator_makes_its_mutant(toy, operator, line, description, target, added):
    found = [m for m in toy if (m.operator, m.line, m.description) == (operator, line, description)]
    assert len(found) == 1, [(m.operator, m.line, m.description) for m in toy if m.line == line]
    mutant = found[0]
    assert mutant.target == target and mutant.module == "toy"
    assert mutant.id.startswith(f"toy:{line}:{operator}")
    removed, new = changed(mutant)
    assert removed == TOY.splitlines()[line - 1:line - 1 + len(removed)] and new == added


def test_only_solution_code_changes_and_comments_survive(toy):
    blocks = stubs.solution_lines(TOY)
    assert blocks == [(6, 6), (17, 23), (32, 33), (39, 41)]
    inside = {n for first, last in blocks for n in range(first, last + 1)}
    keep = [line for n, line in enumerate(TOY.splitlines(), 1) if n not in inside]
    for mutant in toy:
        assert mutant.line in inside
        assert all(line in mutant.source.splitlines() for line in keep), mutant.id
        assert "# HINT: mean over axis 0 - then add eps" in mutant.source
        assert "# keep it in range" in mutant.source
    assert not any(m.operator == "constant" and m.line == 1 for m in toy)  # docstring numbers


def test_the_operators_list_and_their_order(toy):
    assert set(mutate.OPERATORS) == {"arith", "compare", "constant", "mean-sum", "axis",
                                     "floordiv", "delete", "drop-arg", "copy", "inplace"}
    assert {m.operator for m in toy} == set(mutate.OPERATORS)
    keys = [(m.line, mutate.OPERATORS.index(m.operator)) for m in toy]
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)


def test_every_mutant_parses_differs_and_is_unique(toy):
    assert len({m.source for m in toy}) == len(toy)
    assert len({m.id for m in toy}) == len(toy)
    for mutant in toy:
        ast.parse(mutant.source)
        assert mutant.source != TOY
        assert mutant.operator in mutate.OPERATORS


def test_same_input_same_mutants(toy):
    again = mutate.generate({"toy": TOY}, CONTRACT)
    assert again == toy
    ids = [m.id for m in toy]
    assert "toy:19:compare:2" in ids and "toy:19:compare" in ids


def test_diff_shows_exactly_the_change(toy):
    mutant = next(m for m in toy if m.id == "toy:39:arith")
    assert mutant.diff(TOY) == (
        "--- a/toy.py\n+++ b/toy.py\n@@ -38,3 +38,3 @@\n"
        "         # BEGIN SOLUTION\n"
        "-        self.t += 1\n"
        "+        self.t -= 1\n"
        "         self.w = self.w - g // 3\n")


def test_columns_after_non_ascii_text():
    text = '# BEGIN SOLUTION\nlabel = "héllo" + "b" * 2\n# END SOLUTION\n'
    sources = {m.description: m.source for m in mutate.generate({"m": text}, {"m": []})}
    assert sources["'+' -> '-'"].splitlines()[1] == 'label = "héllo" - "b" * 2'
    assert sources["2 -> 1"].splitlines()[1] == 'label = "héllo" + "b" * 1'


def test_the_optimization_reference():
    assignment = config.load("optimization")
    contract = assignment.contract
    sources = {m: (assignment.solutions_dir / f"{m}.py").read_text(encoding="utf-8")
               for m in contract}
    mutants = mutate.generate(sources, contract)
    names = {f"{module}.{name}" for module, names in contract.items() for name in names}
    assert {m.operator for m in mutants} == set(mutate.OPERATORS)
    assert len({m.id for m in mutants}) == len(mutants)
    assert {m.module for m in mutants} == set(contract)
    for mutant in mutants:
        ast.parse(mutant.source)
        assert mutant.target is None or mutant.target in names, mutant.id
        assert mutant.source != sources[mutant.module]


def test_an_unclosed_block_is_an_error():
    with pytest.raises(config.ConfigError, match="no END SOLUTION"):
        mutate.generate({"m": "# BEGIN SOLUTION\nx = 1\n"}, {"m": []})
