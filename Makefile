# Two commands on a fresh machine: `make demo` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ASSIGNMENTS := $(notdir $(patsubst %/,%,$(dir $(wildcard assignments/*/assignment.yaml))))

.PHONY: help demo test test-fast lint bench release clean sandbox-tools otter-in-background

help:                            ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

# The venvs are installed by uv, which pip installs first; Gradescope's setup.sh uses pip.
$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.9,<1'

# The venv runs the versions Gradescope installs: requirements.lock as constraints. Its
# modules are compiled as they install.
$(BIN)/autograder: $(BIN)/uv pyproject.toml autograder/requirements.in autograder/requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode \
	  -c autograder/requirements.lock -e '.[dev]'
	touch $@

demo: $(BIN)/autograder          ## grade the reference and a buggy sample, print the table
	$(BIN)/autograder demo

# Every test, in three processes on CI's two cores (pytest-xdist: the tests that wait on a
# grader's real time limits leave a core idle, which the third fills), then the slowest and
# the skipped ones (as root, none should skip). The otter venv is built in the background
# meanwhile (tests/test_otter_plugin.py waits for it).
test: $(BIN)/uv otter-in-background $(BIN)/autograder sandbox-tools  ## lint, then the toolkit's own tests
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n 3 -rs --durations=10

test-fast: $(BIN)/autograder     ## the fast layer: no end-to-end run (under a minute)
	$(BIN)/pytest -q -m "not slow" -rs

lint: $(BIN)/autograder          ## ruff over the whole repository
	$(BIN)/ruff check .

# otter-grader with the toolkit's [otter] extra, in a venv of its own (about 460 MB), for
# tests/test_otter_plugin.py: the late-policy plugin graded by the real otter.
.venv-otter/bin/otter: $(BIN)/uv pyproject.toml
	$(PYTHON) -m venv --without-pip .venv-otter
	$(BIN)/uv pip install --quiet --python .venv-otter/bin/python -e '.[otter]'
	touch $@

# Build the otter venv in a background process, its log in .venv-otter.log; while it runs,
# .venv-otter.pid names it.
otter-in-background:
	@$(MAKE) --no-print-directory --question .venv-otter/bin/otter || { \
	  ( $(MAKE) --no-print-directory .venv-otter/bin/otter > .venv-otter.log 2>&1; \
	    rm -f .venv-otter.pid ) & echo $$! > .venv-otter.pid; }

# bubblewrap (the namespace sandbox) and useradd, for the sandbox tests: installed as root
# where apt is available; the tests that need them skip or adapt where they are missing.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null \
	  || { apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null 2>&1 \
	       || { apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap; } >/dev/null 2>&1; } \
	  || echo "note: bubblewrap could not be installed; the sandbox tests run without it"

bench: $(BIN)/autograder         ## CPU, wall time and peak memory of grading one submission
	$(BIN)/python benchmarks/grade_one.py

release: $(BIN)/autograder       ## student and Gradescope zips of every assignment, in dist/
	for name in $(ASSIGNMENTS); do $(BIN)/autograder release $$name --out dist || exit 1; done

clean:                           ## remove the venvs and what the builds made
	rm -rf $(VENV) .venv-otter .venv-otter.log .venv-otter.pid dist build *.egg-info
