"""The catalogue of classic mistakes: every entry is an executable variant of the
reference that the public tests can recognise, and a wrong answer is named only when
it equals a mistake's answer. (The corpus tests grade every variant end to end.)"""

import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from autograder import config, mistakes, variants
from autograder.checks import GradingFailure, check_frozen_case, classic_mistakes
from autograder.sandbox.protocol import decode

OPT = config.load("optimization")
CATALOGUE = mistakes.load(OPT)
PUBLIC = OPT.tests_dir / "public"
VECTORS = decode(json.loads((PUBLIC / "vectors.json").read_text()), lambda handle: None)


def test_the_catalogue_covers_every_file_and_the_mistakes_tas_see_most():
    assert len(CATALOGUE) >= 26
    assert {m.target.split(".")[0] for m in CATALOGUE} == set(OPT.contract)
    ids = {m.id for m in CATALOGUE}
    assert len(ids) == len(CATALOGUE)
    for must in ("mse_sum", "mse_grad_no_2", "softmax_axis0", "softmax_no_shift", "bce_no_clip",
                 "adam_no_bias_correction", "adam_t_not_incremented", "momentum_dampened",
                 "rmsprop_no_one_minus_decay", "dropout_keep_prob", "dropout_no_rescale",
                 "dropout_when_not_training", "step_decay_float", "steps_floor",
                 "minibatch_drop_last", "minibatch_unpaired", "residual_backward_relu_at_0",
                 "residual_backward_no_identity"):
        assert must in ids


@pytest.mark.parametrize("mistake", CATALOGUE, ids=[m.id for m in CATALOGUE])
def test_every_mistake_is_a_real_variant_a_test_recognises(mistake):
    wrong = mistakes.variant(OPT, mistake)  # every edit applies exactly once
    assert callable(wrong)
    in_vectors = any(entry["id"] == mistake.id for case in VECTORS[mistake.target]
                     for entry in case["mistakes"]) if mistake.target in VECTORS else False
    sources = "\n".join(p.read_text() for p in OPT.tests_dir.glob("*/test_*.py"))
    assert in_vectors or f"MISTAKES['{mistake.id}']" in sources \
        or f'MISTAKES["{mistake.id}"]' in sources, f"no test can name {mistake.id}"


def test_students_get_the_messages_but_never_the_edits():
    shipped = classic_mistakes(str(PUBLIC / "test_frozen_vectors.py"))
    assert shipped == {m.id: m.message() for m in CATALOGUE}
    text = (PUBLIC / "vectors.json").read_text() + json.dumps(shipped)
    for m in CATALOGUE:
        for old, new in m.edits:
            assert old not in text and new not in text


class Fake:
    """A student module whose one function answers with ``value``."""

    def __init__(self, value):
        self.losses = type("M", (), {"mse_loss": staticmethod(lambda *a, **k: value)})


def frozen_mse_case():
    case = next(c for c in VECTORS["losses.mse_loss"] if c["mistakes"])
    return case, next(m for m in case["mistakes"] if m["id"] == "mse_sum")


def test_a_wrong_answer_equal_to_a_mistake_is_named():
    case, mse_sum = frozen_mse_case()
    with pytest.raises(GradingFailure, match="Classic mistake: sum instead of mean") as failure:
        check_frozen_case(Fake(mse_sum["expected"]), "losses.mse_loss", case)
    assert "expected" in str(failure.value) and "Hint:" in str(failure.value)


@pytest.mark.parametrize("how", ["right", "other", "close", "nan"])
def test_nothing_else_is_named(how):
    case, mse_sum = frozen_mse_case()
    value = {"right": case["expected"], "other": float(case["expected"]) + 1.0,
             "close": float(mse_sum["expected"]) * 1.001, "nan": float("nan")}[how]
    if how == "right":
        check_frozen_case(Fake(value), "losses.mse_loss", case)
        return
    with pytest.raises(GradingFailure) as failure:
        check_frozen_case(Fake(value), "losses.mse_loss", case)
    assert "Classic mistake" not in str(failure.value)


def test_same_compares_structures_strictly():
    assert mistakes.same({"a": [1.0, 2.0]}, {"a": np.array([1.0, 2.0])})
    assert not mistakes.same({"a": [1.0, 2.0]}, {"a": [1.0, 2.0], "b": 0})
    assert not mistakes.same([1.0, 2.0], [1.0, 2.0, 3.0])
    assert not mistakes.same("text", 1.0)
    assert mistakes.same([(np.ones(2), np.zeros(1))], [(np.ones(2), np.zeros(1))])


def test_a_catalogue_edit_that_does_not_apply_is_a_config_error(tmp_path):
    broken = mistakes.Mistake("x", "losses.mse_loss", "says", "hint", (("not in the file", ""),))
    with pytest.raises(config.ConfigError, match="occurs 0 times"):
        mistakes.variant(OPT, broken)


def test_messages_read_as_one_sentence_and_a_hint():
    for m in CATALOGUE:
        assert re.fullmatch(r"  Classic mistake: [^\n]+\.\n  Hint: [^\n]+", m.message()), m.id
        assert Path(OPT.solutions_dir / f"{m.target.split('.')[0]}.py").is_file()


class FakeOptimizer:
    """A student module whose RMSProp answers every step with the next of ``returns``."""

    def __init__(self, returns):
        answers = iter(returns)
        step = type("S", (), {"step": lambda self, *a: next(answers)})
        self.optimizers = type("M", (), {"RMSProp": staticmethod(lambda *a, **k: step())})


def test_a_class_is_named_only_when_every_call_matches_the_mistake():
    case = next(c for c in VECTORS["optimizers.RMSProp"]
                if any(m["id"] == "rmsprop_no_one_minus_decay" for m in c["mistakes"]))
    theirs = next(m for m in case["mistakes"] if m["id"] == "rmsprop_no_one_minus_decay")
    returns = [call["return"] for call in theirs["expected"]]
    with pytest.raises(GradingFailure, match="Classic mistake: RMSProp without"):
        check_frozen_case(FakeOptimizer(returns), "optimizers.RMSProp", case)
    # the same first answer, then another one: a different mistake, never named as this one
    other = [returns[0]] + [np.asarray(r) + 1.0 for r in returns[1:]]
    with pytest.raises(GradingFailure) as failure:
        check_frozen_case(FakeOptimizer(other), "optimizers.RMSProp", case)
    assert "Classic mistake" not in str(failure.value)


# -- the audit's data: hand-written mutants and correct variants ---------------------------
def test_hand_written_adds_the_mutants_unnamed_after_the_catalogue():
    found = mistakes.hand_written(OPT)
    assert found[:len(CATALOGUE)] == CATALOGUE
    mutants = found[len(CATALOGUE):]
    assert len(mutants) >= 20 and {"l1_grad_sign0", "sigmoid_naive", "minimize_mutates_w0"} <= {
        m.id for m in mutants}
    assert all(m.says == m.hint == "" and m.source == "mutants.yaml" for m in mutants)
    assert not {m.id for m in mutants} & {m.id for m in CATALOGUE}


def test_edited_files_are_the_edited_reference_module():
    mutant = next(m for m in mistakes.hand_written(OPT) if m.id == "minimize_mutates_w0")
    files = mistakes.edited_files(OPT, mutant)
    reference = (OPT.solutions_dir / "optimizers.py").read_text()
    assert list(files) == ["optimizers.py"]
    assert "w = w0\n" in files["optimizers.py"] and "w = w0\n" not in reference
    assert "w[...] = optimizer.step(w, g)" in files["optimizers.py"]


@pytest.mark.parametrize(("file", "entry", "message"), [
    ("mutants.yaml", "{id: sigmoid_bad}",
     "mutants.yaml: losses.sigmoid: sigmoid_bad: each needs id and edits (a list of {old, new})"),
    ("mistakes.yaml", "{id: sigmoid_bad, edits: [{old: a, new: b}]}",
     "mistakes.yaml: losses.sigmoid: sigmoid_bad: each needs id, says, hint and edits (a list "
     "of {old, new})"),
    ("mutants.yaml", "{edits: [{old: a}]}",
     "mutants.yaml: losses.sigmoid: entry 1: each needs id and edits (a list of {old, new})"),
])
def test_a_malformed_entry_is_a_one_line_error_naming_file_and_entry(tmp_path, file, entry,
                                                                      message):
    (tmp_path / file).write_text(f"losses.sigmoid:\n  - {entry}\n")
    with pytest.raises(config.ConfigError) as error:
        mistakes.load(dataclasses.replace(OPT, root=tmp_path), file)
    assert str(error.value) == message


def test_an_edit_that_does_not_apply_names_the_mutant_and_its_file():
    broken = mistakes.Mistake("x", "losses.mse_loss", "", "", (("not in the file", ""),),
                              "mutants.yaml")
    with pytest.raises(config.ConfigError) as error:
        mistakes.edited_files(OPT, broken)
    assert str(error.value) == ("mutants.yaml: x: losses.py: an edit's text occurs 0 times, not "
                                "once: 'not in the file'")


def test_variants_are_the_files_they_change_and_those_differ_from_the_reference():
    found = variants.load(OPT)
    assert len(found) >= 8 and "star_imports" in found
    assert found["star_imports"].keys() == {"training.py"}
    for name, files in found.items():
        assert files and set(files) <= set(OPT.files), name
        for file, data in files.items():
            assert data != (OPT.solutions_dir / file).read_bytes(), (name, file)


@pytest.mark.parametrize(("mistake", "sentence"), [
    ("dropout_scale_by_p", "dropout scaled by 1/p"),
    ("dropout_no_rescale", "dropout without the 1/(1-p) scaling")])
def test_a_dropout_scaling_mistake_is_named_with_a_handful_of_numbers(mistake, sentence):
    """The public test's message for a wrong scaling of 16,000 survivors names the mistake
    and shows at most a few of them."""
    spec = importlib.util.spec_from_file_location("public_regularization",
                                                  PUBLIC / "test_regularization.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    wrong = mistakes.variant(OPT, next(m for m in CATALOGUE if m.id == mistake))

    def dropout(x, p, training=True, rng=None):  # the sandbox makes the seeded generator
        return wrong(x, p, training, np.random.default_rng(rng.seed))

    sub = type("Sub", (), {"regularization": type("M", (), {"dropout": staticmethod(dropout)})})
    with pytest.raises(GradingFailure) as failure:
        tests.test_dropout_drops_a_fraction_p_and_rescales(sub, 0.2)
    message = str(failure.value)
    assert f"Classic mistake: {sentence}" in message
    assert len(re.findall(r"\d+\.\d+", message)) <= 8, message
