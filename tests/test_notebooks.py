"""Notebook uploads: a Jupyter or Colab notebook graded as the contract's modules.

In-process tests of what locate makes of real-looking notebooks (nothing in them runs:
the tests look at the module's text and its syntax tree), then two real gradings of a
notebook made of the reference, through `autograder grade`."""

import ast
import json
import re

import pytest

from autograder import notebooks
from autograder.locate import locate, read_sources

from conftest import ROOT, run_cli

FILES = ["losses.py", "optimizers.py", "schedules.py"]
CONTRACT = {"losses": ["sigmoid", "mse_loss"], "optimizers": ["Adam"], "schedules": ["step_decay"]}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def code_cell(source, outputs=(), count=None):
    return {"cell_type": "code", "execution_count": count, "metadata": {"id": "x1"},
            "outputs": list(outputs), "source": source}


def colab(*cells, language="python"):
    """A notebook as Colab saves it: its metadata, outputs and all."""
    return {"nbformat": 4, "nbformat_minor": 0, "cells": list(cells), "metadata": {
        "colab": {"provenance": [], "gpuType": "T4", "name": "hw2.ipynb"},
        "accelerator": "GPU",
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": language}}}


def write(folder, name, document):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document),
                    encoding="utf-8")
    return path


def top_level(code: str) -> set[str]:
    """The names a module's code defines at its top level (its syntax tree, not a run)."""
    names = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


COLAB_SESSION = colab(
    {"cell_type": "markdown", "metadata": {}, "source": ["# Assignment 2\n", "Run every cell."]},
    code_cell(["!pip install -q numpy\n", "%matplotlib inline\n", "from google.colab import drive\n",
               "drive.mount('/content/drive')\n"],
              [{"output_type": "stream", "name": "stdout", "text": ["Mounted at /content/drive\n"]}], 1),
    code_cell("import numpy as np\nimport matplotlib.pyplot as plt\n\nEPS = 1e-12\n", count=2),
    code_cell(["def sigmoid(z):\n", "    \"\"\"Logistic.\"\"\"\n", "    return 1 / (1 + np.exp(-z))\n",
               "\n", "print(sigmoid(0.0))\n", "plt.plot(sigmoid(np.linspace(-5, 5)))\n"],
              [{"output_type": "stream", "name": "stdout", "text": ["0.5\n"]},
               {"output_type": "display_data", "metadata": {},
                "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480>"]}}], 3),
    code_cell("%%time\ndef mse_loss(y, t):\n    return np.mean((y - t) ** 2)\n", count=4),
    code_cell("name = input('Your name? ')\nfor epoch in range(100):\n    train()\n", count=5),
)


# -- what a notebook becomes ------------------------------------------------------------
def test_a_colab_notebook_becomes_its_module_without_magics_or_code_that_runs(
        tmp_path, monkeypatch):
    installed = notebooks._installed
    monkeypatch.setattr(notebooks, "_installed", lambda name: "matplotlib" not in name
                        and installed(name))  # as on Gradescope, whatever is installed here
    write(tmp_path, "losses.ipynb", COLAB_SESSION)
    found = locate(tmp_path, FILES, CONTRACT)
    assert found.files["losses"] == tmp_path / "losses.ipynb"
    code = found.code["losses"].decode()
    assert top_level(code) == {"np", "EPS", "sigmoid", "mse_loss"}
    for gone in ("pip", "%", "google", "drive", "print(", "plt", "input(", "train("):
        assert gone not in code
    assert '    """Logistic."""\n    return 1 / (1 + np.exp(-z))' in code  # the student's text
    notes = "\n".join(found.notes)
    assert "graded 'losses.ipynb' as losses.py" in notes
    assert ("losses.ipynb: left out IPython magics and shell commands, which are not Python: "
            "`!pip install -q numpy`, `%matplotlib inline`, `%%time`") in notes
    assert ("losses.ipynb: left out imports of modules that are not installed where your code "
            "is graded (a function that uses one fails): `from google.colab import drive`, "
            "`import matplotlib.pyplot as plt`") in notes
    assert ("code cell 1: `drive.mount('/content/drive')`; code cell 3: `print(sigmoid(0.0))`; "
            "code cell 3: `plt.plot(sigmoid(np.linspace(-5, 5)))`; code cell 5: "
            "`name = input('Your name? ')` and 1 more") in notes


def test_source_as_one_string_or_a_list_of_lines_makes_the_same_module(tmp_path):
    lines = ["import numpy as np\n", "\n", "def sigmoid(z):\n", "    return 1 / (1 + np.exp(-z))"]
    as_list = notebooks.convert(colab(code_cell(lines)), "a.ipynb")
    as_text = notebooks.convert(colab(code_cell("".join(lines))), "a.ipynb")
    assert as_list == as_text
    assert as_list.defines == {"sigmoid"}


def test_cell_magics_keep_a_python_body_only():
    book = notebooks.convert(colab(
        code_cell("\n%%timeit -n 3\nA = 1\n"),
        code_cell("%%bash\npip install torch\n"),
        code_cell("%%writefile losses.py\ndef sigmoid(z):\n    return z\n"),
        code_cell("files = !ls\n%load_ext autoreload\nnp.mean?\nB = 2\n"),
        code_cell("x = (1\n% 2)\n"),  # a % that starts a line of valid Python is Python
    ), "hw.ipynb")
    assert top_level(book.code) == {"A", "B", "x"}
    assert book.notes == ("hw.ipynb: left out IPython magics and shell commands, which are not "
                          "Python: `%%timeit -n 3`, `%%bash (with its cell)`, "
                          "`%%writefile losses.py (with its cell)`, `files = !ls` and 2 more",)


def test_only_definitions_stay_and_what_needs_left_out_code_goes_with_it():
    book = notebooks.convert(colab(code_cell(
        "import math; math.sqrt(2)\n"
        "from functools import lru_cache\n"
        "try:\n    import torch\nexcept ImportError:\n    torch = None\n"
        "if True:\n    DEBUG = False\n"
        "if __name__ == '__main__':\n    main()\n"
        "square = lambda x, k=2: x ** k\n"
        "data = np.load('data.npy')\n"
        "X = data[:, 0]\n"
        "def scaled(x, by=X):\n    return x * by\n"
        "@lru_cache(maxsize=None)\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "class Net:\n    layers = 2\n"
        "'''a note to self'''\n"
        "with open('log.txt') as f:\n    LOG = f.read()\n"
        "X = 3\n"
        "Y = X + 1\n")), "hw.ipynb")
    assert top_level(book.code) == {"math", "lru_cache", "square", "fib", "Net", "X", "Y"}
    assert book.defines == {"torch", "DEBUG", "square", "fib", "Net", "X", "Y"}
    assert "import math\n" in book.code and "sqrt" not in book.code
    assert "@lru_cache(maxsize=None)\ndef fib(n):" in book.code
    assert re.findall(r"`([^`]*)`", book.notes[0]) == [
        "math.sqrt(2)", "if __name__ == '__main__':", "data = np.load('data.npy')", "X = data[:, 0]"]
    assert book.notes[0].endswith(" and 2 more")  # scaled (it needs X) and the with block


def test_imports_of_modules_the_grader_lacks_go_and_the_submissions_own_stay():
    book = notebooks.convert(colab(code_cell(
        "import numpy as np\n"
        "import surely_not_installed_anywhere as snia\n"
        "from . import helpers\n"
        "from losses import sigmoid\n"
        "import os.path, surely_not_installed_anywhere.sub\n"
        "W = snia.zeros(3)\n")), "training.ipynb", frozenset({"losses", "training"}))
    assert book.code.split("\n")[2:] == ["# code cell 1", "import numpy as np",
                                          "from losses import sigmoid", ""]
    assert book.notes == (
        "training.ipynb: left out imports of modules that are not installed where your code "
        "is graded (a function that uses one fails): `import surely_not_installed_anywhere as "
        "snia`, `from . import helpers`, `import os.path, surely_not_installed_anywhere.sub`",
        "training.ipynb: left out top-level code that would run when your notebook is imported "
        "(only imports, functions, classes and constants are graded): code cell 1: "
        "`W = snia.zeros(3)`")


@pytest.mark.parametrize("terms", [2000, 3000, 200_000])
def test_an_expression_nested_too_deep_never_crashes_the_grader(terms):
    """Deeper than Python's recursion limit (parsed, or refused by the parser as too deep),
    or long enough to crash Python 3.10's parser: never read."""
    deep = "x = " + "+".join(["1"] * terms)
    book = notebooks.convert(colab(code_cell(f"{deep}; y = 2\n"), code_cell("z = 3\n")), "hw.ipynb")
    assert "z = 3" in book.code
    assert "y = 2" in book.code or "read as Python: code cell 1" in book.notes[0]
    if terms > notebooks.MAX_OPERATORS:
        assert "code cell 1 (more than 50000 operators: too long to read)" in book.notes[0]


def test_a_cell_that_is_not_python_is_left_out_with_its_line():
    book = notebooks.convert(colab(code_cell("A = 1\n"), code_cell("\ndef broken(:\n    pass\n"),
                                   code_cell("B = 2\n")), "hw.ipynb")
    assert top_level(book.code) == {"A", "B"}
    assert book.notes == ("hw.ipynb: left out code cells that could not be read as Python: "
                          "code cell 2 (line 2: invalid syntax)",)


# -- one notebook for several modules ----------------------------------------------------------
def test_one_notebook_serves_each_module_it_defines_names_for(tmp_path):
    write(tmp_path, "Homework 2/hw2.ipynb", colab(
        code_cell("%matplotlib inline\nimport numpy as np\n"),
        code_cell("def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"),
        code_cell("class Adam:\n    def step(self, w, g):\n        return w - sigmoid(g)\n")))
    found = locate(tmp_path, FILES, CONTRACT)
    assert found.files["losses"] == found.files["optimizers"] == tmp_path / "Homework 2/hw2.ipynb"
    losses, optimizers = found.code["losses"].decode(), found.code["optimizers"].decode()
    # each name stays graded in its own module: the others' names are imported from theirs
    assert losses.endswith("from optimizers import Adam\n")
    assert optimizers.endswith("from losses import sigmoid\n")
    assert losses.replace("from optimizers import Adam", "") == \
        optimizers.replace("from losses import sigmoid", "")
    assert "schedules.py was not found in your submission" in found.missing["schedules"]
    assert found.notes[:2] == ["graded 'Homework 2/hw2.ipynb' as losses.py",
                               "graded 'Homework 2/hw2.ipynb' as optimizers.py"]
    assert sum("left out IPython magics" in n for n in found.notes) == 1  # once per notebook


def test_a_py_file_wins_and_the_notebook_defining_most_names_serves_the_rest(tmp_path):
    write(tmp_path, "losses.py", "def sigmoid(z):\n    return z\n")
    write(tmp_path, "losses.ipynb", colab(code_cell("def sigmoid(z):\n    return z\n")))
    write(tmp_path, "scratch.ipynb", colab(code_cell("def step_decay(lr):\n    return lr\n")))
    write(tmp_path, "hw2.ipynb", colab(code_cell(
        "def step_decay(lr):\n    return lr\ndef Adam():\n    pass\n")))
    found = locate(tmp_path, FILES, CONTRACT)
    assert found.files == {"losses": tmp_path / "losses.py", "optimizers": tmp_path / "hw2.ipynb",
                           "schedules": tmp_path / "hw2.ipynb"}
    assert "losses" not in found.code
    assert "ignored 'losses.ipynb': 'losses.py' was graded as losses.py" in found.notes
    assert "ignored 'scratch.ipynb': 'hw2.ipynb' was graded as schedules.py" in found.notes
    sources, problems = read_sources(found, max_kb=1024)
    assert sources["losses"] == b"def sigmoid(z):\n    return z\n" and not problems
    assert sources["schedules"] == found.code["schedules"]


@pytest.mark.parametrize(("document", "message"), [
    ('{"cells": [\n  {"cell_type": "code",\n', "'losses.ipynb' is not a notebook Jupyter can open "
     "(invalid JSON at line 3, column 1: Expecting property name enclosed in double quotes); "
     "open it, save it again and upload it"),
    ("x = 1\n", "(invalid JSON at line 1, column 1: Expecting value)"),
    ({"nbformat": 3, "worksheets": [{"cells": []}]},
     "'losses.ipynb' is not a notebook of format 4 (it is of format 3: save it with a current Jupyter)"),
    (colab(code_cell("x <- 1"), language="R"), "'losses.ipynb' is a r notebook, not a Python one"),
    (colab(code_cell({"text": "def sigmoid(z): ..."})),
     "'losses.ipynb': code cell 1 has no text ('source' is dict)"),
])
def test_a_notebook_that_cannot_be_read_is_missing_with_a_clear_message(tmp_path, document, message):
    write(tmp_path, "losses.ipynb", document)
    write(tmp_path, "optimizers.py", "class Adam:\n    pass\n")
    found = locate(tmp_path, FILES, CONTRACT)
    assert "losses" not in found.files
    assert found.missing["losses"].startswith("losses.py was not found in your submission "
                                              "(files received: losses.ipynb, optimizers.py); '")
    assert message in found.missing["losses"]
    assert message in found.missing["schedules"]  # it may have held any module
    assert found.files["optimizers"] == tmp_path / "optimizers.py"


def test_size_caps_on_the_notebook_and_on_its_code(tmp_path, monkeypatch):
    plot = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "A" * 3_000_000}}
    write(tmp_path, "losses.ipynb", colab(code_cell("def sigmoid(z):\n    return z\n", [plot])))
    assert locate(tmp_path, FILES, CONTRACT).files["losses"]  # outputs count for nothing
    monkeypatch.setattr(notebooks, "MAX_NOTEBOOK_MB", 2)
    found = locate(tmp_path, FILES, CONTRACT)
    assert ("'losses.ipynb' is 3 MB; notebooks over 2 MB are not graded (clear its outputs "
            "and save it)") in found.missing["losses"]
    monkeypatch.undo()
    write(tmp_path, "losses.ipynb", colab(*[code_cell("A = 1\n" * 100_000)] * 2))
    assert ("the code cells of 'losses.ipynb' hold 1.1 MB of text; notebooks with over 1024 KB "
            "of code are not graded") in locate(tmp_path, FILES, CONTRACT).missing["losses"]
    write(tmp_path, "losses.ipynb", colab(code_cell("A = 1\n" * 2000)))
    sources, problems = read_sources(locate(tmp_path, FILES, CONTRACT), max_kb=1)
    assert "losses" not in sources
    assert problems["losses"].startswith("the code of losses.ipynb is 0.0 MB; source files "
                                         "over 1 KB are not graded")


# -- real gradings ----------------------------------------------------------------------
def reference_notebook(folder, break_sigmoid=False):
    """The reference solution pasted into one Colab notebook, one cell per file, without the
    imports between its files (one namespace), with the cells a student leaves in."""
    cells = [code_cell("!pip install -q numpy\n%matplotlib inline\nimport matplotlib.pyplot as plt\n")]
    for path in sorted((ROOT / "solutions" / "optimization").glob("*.py")):
        text = re.sub(r"^from (losses|optimizers|schedules|regularization|training|layers) "
                      r"import .*\n", "", path.read_text(encoding="utf-8"), flags=re.M)
        if break_sigmoid:
            text = text.replace("return np.exp(-np.logaddexp(0.0, -z))", "return 1 / (1 + np.exp(z))")
        cells.append(code_cell(text, count=len(cells)))
    cells.append(code_cell("from google.colab import files\n"
                           "w, b, history = train_logistic_regression(X, y)\nplt.plot(history)\n"))
    return write(folder, "hw2.ipynb", colab(*cells))


def grade(tmp_path) -> dict:
    run_cli("grade", "optimization", str(tmp_path / "submission"), "--out", str(tmp_path / "r.json"))
    return json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))


def points(results: dict, target: str) -> float:
    return sum(t["score"] for t in results["tests"] if t["tags"] == [target])


@pytest.mark.slow
def test_a_notebook_is_graded_and_one_bug_in_it_costs_once(tmp_path):
    """The reference in one Colab notebook, with sigmoid broken: sigmoid loses points and
    every other name keeps full marks. The training loop, in the same notebook, calls the
    reference's sigmoid while it is graded, as it would from a training.py importing losses."""
    reference_notebook(tmp_path / "submission" / "Assignment 2", break_sigmoid=True)
    results = grade(tmp_path)
    assert points(results, "losses.sigmoid") < 3
    assert results["score"] == pytest.approx(100 - 3 + points(results, "losses.sigmoid"))
    assert points(results, "training.train_logistic_regression") == 8
    files = results["tests"][0]
    assert files["name"] == "Submitted files"
    assert "graded 'Assignment 2/hw2.ipynb' as training.py" in files["output"]
    assert "`w, b, history = train_logistic_regression(X, y)`" in files["output"]
    assert "`from google.colab import files`" in files["output"]
