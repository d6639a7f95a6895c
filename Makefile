# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench release clean

$(BIN)/autograder: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/autograder          ## grade the reference and a buggy sample, print the table
	$(BIN)/autograder demo

test: $(BIN)/autograder          ## lint, then the toolkit's own tests
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: $(BIN)/autograder         ## CPU, wall time and peak memory of grading one submission
	$(BIN)/python benchmarks/grade_one.py

release: $(BIN)/autograder       ## student and Gradescope zips for both assignments
	$(BIN)/autograder release optimization --out dist
	$(BIN)/autograder release song_contest --out dist

clean:
	rm -rf $(VENV) dist build *.egg-info
