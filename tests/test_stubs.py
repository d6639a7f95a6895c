"""Single-source authoring: the committed student template is what the solutions generate."""

import pytest

from autograder import config, stubs
from autograder.stubs import strip_solutions


@pytest.mark.parametrize("name", config.assignment_names())
def test_generated_files_are_in_sync(name):
    assignment = config.load(name)
    for path, text in stubs.template_files(assignment).items():
        assert path.is_file(), f"{path} is missing: run `autograder stubs {name}`"
        assert path.read_text(encoding="utf-8") == text, \
            f"{path} differs from what solutions/ generates: run `autograder stubs {name}`"


def test_strip_keeps_signature_docstring_and_hints():
    source = '''def f(x):
    """Doc."""
    # BEGIN SOLUTION
    # HINT: think
    return x + 1
    # END SOLUTION
'''
    stub = strip_solutions(source)
    assert 'def f(x):\n    """Doc."""\n    # Hint: think\n' in stub
    assert 'raise NotImplementedError("TODO: implement f")' in stub
    assert "return x + 1" not in stub


def test_unclosed_marker_is_an_error():
    with pytest.raises(config.ConfigError):
        strip_solutions("# BEGIN SOLUTION\nx = 1\n")
