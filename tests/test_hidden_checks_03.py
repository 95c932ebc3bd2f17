"""The hidden checks of notebook 03 against the reference and its deliberately broken variants."""
import warnings

import numpy as np
import pytest

from autograder.checks.framework import check, grade, rebind
from autograder.checks.notebooks import lstm
from autograder.checks.reference import load_reference

EXERCISES = {e.name: e for e in lstm.NOTEBOOK.exercises}


@pytest.fixture(scope="module")
def ref03():
    return load_reference(lstm.NOTEBOOK.id)








@pytest.mark.parametrize("variant, name", [
    (lstm._step_variant(), "lstm_step_forward"),
    (lstm._forward_variant(), "lstm_forward"),
    (lstm._step_backward_variant(), "lstm_step_backward"),
    (lstm._bptt_variant(), "lstm_backward"),
])
def test_the_variant_builders_are_correct_with_their_defaults(variant, name, ref03):
    # so that each Mistake differs from the reference only by the switch it turns
    report = check(EXERCISES[name], variant(ref03))
    assert report.passed == report.total, report.feedback()




def test_the_cases_cover_one_row_one_step_and_one_unit():
    for exercise in EXERCISES.values():
        labels = " ".join(c.label for c in exercise.make_cases(np.random.default_rng(exercise.seed)))
        assert "N=1" in labels and "H=1" in labels, exercise.name
        if "T" in exercise.outputs[0].letters:
            assert "T=1" in labels, exercise.name


def test_backward_checks_hand_over_the_reference_cache_layout(ref03):
    # a backward that expects another cache layout (the gates in torch's order) fails
    def lstm_step_backward(dh, dc, cache):
        x, h_prev, c_prev, Wx, Wh, i, f, g, o, c = cache  # o and g swapped
        return ref03.lstm_step_backward(dh, dc, (x, h_prev, c_prev, Wx, Wh, i, f, o, g, c))

    assert check(EXERCISES["lstm_step_backward"], lstm_step_backward).passed == 0


def test_a_broken_step_is_named_through_lstm_backward(ref03):
    broken = lstm.STEP_BACKWARD_MISTAKES["no_tanh_grad"]
    # a correct lstm_backward that calls a step backward with this mistake
    student = rebind(ref03.lstm_backward, lstm_step_backward=broken.make(ref03))
    feedback = check(EXERCISES["lstm_backward"], student).feedback()
    assert (broken.hint + " (lstm_backward calls your lstm_step_backward: make its checks pass "
            "first)") in feedback


def test_inputs_modified_in_place_are_caught(ref03):
    def lstm_step_backward(dh, dc, cache):
        grads = ref03.lstm_step_backward(dh, dc, cache)
        dh *= 0  # writes into the caller's array
        return grads

    report = check(EXERCISES["lstm_step_backward"], lstm_step_backward)
    # only the case with dh = 0 passes: zeroing a zero array changes nothing
    assert (report.passed, report.total) == (1, 7)
    assert "modified its input dh in place" in report.feedback()


def test_warnings_and_prints_of_correct_code_cost_nothing(ref03, capsys):
    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        print("debugging output")
        warnings.warn("a harmless warning")
        np.exp(np.array([1000.0]))  # a NumPy overflow warning
        return ref03.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)

    assert grade(EXERCISES["lstm_step_forward"], lstm_step_forward) == 3
    captured = capsys.readouterr()
    assert captured.err == "" and "debugging output" not in captured.out




def test_wrong_return_form_and_4h_shapes_are_explained(ref03):
    report = check(EXERCISES["lstm_step_forward"],
                   lambda *args: ref03.lstm_step_forward(*args)[0])
    assert "should return a tuple (h, c, cache), got ndarray" in report.feedback()
    transposed = lstm.STEP_BACKWARD_MISTAKES["dWx_T"].make(ref03)
    feedback = check(EXERCISES["lstm_step_backward"], transposed).feedback()
    assert "expected (D, 4H) = (" in feedback and "the right sizes in the wrong order" in feedback


def test_partial_credit_is_whole_passes_scaled(ref03):
    # db averaged over the batch is only right when N = 1: two cases of seven.
    report = check(EXERCISES["lstm_step_backward"], lstm.STEP_BACKWARD_MISTAKES["db_mean"].make(ref03))
    assert (report.passed, report.total) == (2, 7)
    assert report.score == pytest.approx(round(4 * 2 / 7, 2))


def test_an_unstable_sigmoid_loses_only_the_saturated_case(ref03):
    unstable = lstm._step_variant(sigmoid=lstm._sigmoid_unstable)(ref03)
    report = check(EXERCISES["lstm_step_forward"], unstable)
    assert (report.passed, report.total) == (5, 6)
    assert "NaN" in report.feedback() and "very large pre-activations" in report.feedback()



