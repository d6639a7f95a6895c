"""Shared fixtures for the toolkit's own tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``autograder ARGS`` in a fresh process, as a user would."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True,
                          text=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"autograder {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def jobs() -> int:
    return os.cpu_count() or 1
