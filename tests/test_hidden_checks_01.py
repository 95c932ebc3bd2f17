"""The hidden checks of notebook 01 against the reference and its deliberately broken variants."""
import re
import warnings

import numpy as np
import pytest

from autograder.checks import vanilla_rnn
from autograder.demo import in_float32
from autograder.grading import check, grade
from autograder.reference import solution_notebook

EXERCISES = {e.name: e for e in vanilla_rnn.EXERCISES}
MISTAKES = [(e.name, m) for e in vanilla_rnn.EXERCISES for m in e.mistakes]


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_earns_exactly_full_marks(name, ref01, capsys):
    exercise = EXERCISES[name]
    score = grade(exercise, getattr(ref01, name))
    assert score == exercise.points
    assert capsys.readouterr().err == ""  # nbgrader gives zero to a grade cell that writes to stderr


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=[f"{n}:{m.hint[:30]}" for n, m in MISTAKES])
def test_each_mistake_loses_points_and_is_named(name, mistake, ref01):
    report = check(EXERCISES[name], mistake.make(ref01))
    assert report.passed < report.total
    feedback = report.feedback()
    # A NaN names the overflow itself, so every other mistake must be recognised by its hint.
    assert mistake.hint in feedback or "NaN" in feedback, feedback


@pytest.mark.parametrize("name", EXERCISES)
def test_a_float32_implementation_earns_full_marks(name, ref01):
    namespace = dict(vars(ref01))
    for other in EXERCISES:  # recompile every solution in float32, calling each other
        source = _solution_source(other)
        exec(compile(in_float32(source), f"float32 {other}", "exec"), namespace)
    report = check(EXERCISES[name], namespace[name])
    assert report.passed == report.total, report.feedback()


def _solution_source(name):
    import json
    notebook = json.loads(solution_notebook("01_vanilla_rnn").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == name:
            return "".join(cell["source"])
    raise LookupError(name)


def test_inputs_modified_in_place_are_caught(ref01):
    def rnn_step_forward(x, h_prev, Wx, Wh, b):
        h, cache = ref01.rnn_step_forward(x, h_prev, Wx, Wh, b)
        x *= 0  # writes into the caller's array
        return h, cache

    report = check(EXERCISES["rnn_step_forward"], rnn_step_forward)
    assert report.passed == 0
    assert "modified its input x in place" in report.feedback()


def test_a_returned_object_cannot_fake_equality(ref01):
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), dtype=bool)

    def rnn_step_forward(x, h_prev, Wx, Wh, b):
        h, cache = ref01.rnn_step_forward(x, h_prev, Wx, Wh, b)
        return np.zeros_like(h).view(AlwaysEqual), cache

    assert check(EXERCISES["rnn_step_forward"], rnn_step_forward).passed == 0


def test_warnings_and_prints_of_correct_code_cost_nothing(ref01, capsys):
    def rnn_step_forward(x, h_prev, Wx, Wh, b):
        print("debugging output")
        warnings.warn("a harmless warning")
        np.log(np.zeros(1))  # a NumPy RuntimeWarning
        return ref01.rnn_step_forward(x, h_prev, Wx, Wh, b)

    assert grade(EXERCISES["rnn_step_forward"], rnn_step_forward) == 2
    captured = capsys.readouterr()
    assert captured.err == "" and "debugging output" not in captured.out


def test_an_exception_is_reported_by_name_without_traceback(ref01):
    def rnn_forward(x, h0, Wx, Wh, b):
        raise IndexError("index 7 is out of bounds")

    feedback = check(EXERCISES["rnn_forward"], rnn_forward).feedback()
    assert "raised IndexError: index 7 is out of bounds" in feedback
    assert "Traceback" not in feedback and "grading.py" not in feedback


def test_a_stub_is_reported_as_not_implemented():
    def sample(params, prefix, n, temperature=1.0, seed=0):
        raise NotImplementedError()

    report = check(EXERCISES["sample"], sample)
    assert report.passed == 0 and report.score == 0
    assert "sample is not implemented yet" in report.feedback()


def test_wrong_return_form_and_shapes_are_explained(ref01):
    report = check(EXERCISES["rnn_step_forward"], lambda x, h, Wx, Wh, b: ref01.rnn_step_forward(x, h, Wx, Wh, b)[0])
    assert "should return a tuple (h, cache), got ndarray" in report.feedback()
    report = check(EXERCISES["rnn_step_forward"],
                   lambda x, h, Wx, Wh, b: (ref01.rnn_step_forward(x, h, Wx, Wh, b)[0].T, None))
    assert "the right sizes in the wrong order" in report.feedback()


def test_partial_credit_is_whole_passes_scaled(ref01):
    # Wh transposed is only right when H = 1: one case of five passes.
    transposed = EXERCISES["rnn_step_forward"].mistakes[2].make(ref01)
    report = check(EXERCISES["rnn_step_forward"], transposed)
    assert (report.passed, report.total) == (1, 5)
    assert report.score == pytest.approx(2 * 1 / 5)


def test_feedback_reveals_no_hidden_values(ref01):
    for exercise in vanilla_rnn.EXERCISES:
        for mistake in exercise.mistakes:
            feedback = check(exercise, mistake.make(ref01)).feedback()
            # sizes and indices are fine; a decimal number would be an input or an output
            assert not re.search(r"\d\.\d{2,}", feedback), feedback


def test_the_same_submission_always_gets_the_same_cases():
    exercise = EXERCISES["rnn_forward"]
    first = exercise.make_cases(np.random.default_rng(exercise.seed))
    second = exercise.make_cases(np.random.default_rng(exercise.seed))
    assert all(np.array_equal(a.args[0], b.args[0]) for a, b in zip(first, second))
    labels = " ".join(case.label for case in first)
    assert "N=1" in labels and "T=1" in labels


def test_one_mistake_in_every_case_is_said_once_with_a_count(ref01):
    def rnn_step_forward(x, h_prev, Wx, Wh, b):  # right shapes, wrong values: h_prev @ Wh.T
        return ref01.rnn_step_forward(x, h_prev, Wx, Wh.T, b) if Wh.shape[0] == Wh.shape[1] \
            else ref01.rnn_step_forward(x, h_prev, Wx, Wh, b)

    report = check(EXERCISES["rnn_step_forward"], rnn_step_forward)
    failed = report.total - report.passed
    assert failed >= 3, "the check should draw several cases this mistake fails"
    feedback = report.feedback()
    assert feedback.count("Likely mistake") < failed
    assert re.search(r"the same in \d+ more case", feedback), feedback
