"""The hidden checks of notebook 04 against the reference and its deliberately broken variants."""

import numpy as np
import pytest

from autograder.checks.framework import check, rebind
from autograder.checks.notebooks import gru
from autograder.checks.reference import load_reference
from rnncourse.compare import CheckFailure
from rnncourse.visible import gru as visible

EXERCISES = {e.name: e for e in gru.NOTEBOOK.exercises}
MISTAKES = [(name, key, m) for name, mistakes in gru.MISTAKES.items() for key, m in mistakes.items()]
# the mistakes issue 8 asks the checks to name, by function
REQUIRED = {
    "gru_step_forward": {"reset_after", "update_swapped", "no_reset", "Wh_n_T", "order_zrn"},
    "gru_step_backward": {"reset_after_back", "update_swapped_back", "no_direct", "Wh_n_T_back",
                          "dWx_T", "dWh_T", "order_zrn_back"},
    "pytorch_gru_step_forward": {"torch_reset_before", "torch_update_swapped", "torch_no_reset",
                                 "torch_order_zrn"},
}


@pytest.fixture(scope="module")
def ref04():
    return load_reference(gru.NOTEBOOK.id)


def test_every_exercise_has_mistakes_and_the_required_ones_are_there():
    assert set(gru.MISTAKES) == set(EXERCISES)
    for name, keys in REQUIRED.items():
        assert keys <= set(gru.MISTAKES[name]), name
    assert set(visible.HINTS) >= {k.partition("@")[0] for _, k, _ in MISTAKES}


@pytest.mark.parametrize("name, key, mistake", MISTAKES, ids=[f"{n}:{k}" for n, k, _ in MISTAKES])
def test_the_visible_check_names_the_same_mistake(name, key, mistake, ref04):
    with pytest.raises(CheckFailure) as failure:
        getattr(visible, f"check_{name}")(mistake.make(ref04))
    assert mistake.hint in str(failure.value) or "NaN" in str(failure.value), str(failure.value)


@pytest.mark.parametrize("variant, name", [
    (gru._step_variant(), "gru_step_forward"),
    (gru._forward_variant(), "gru_forward"),
    (gru._step_backward_variant(), "gru_step_backward"),
    (gru._bptt_variant(), "gru_backward"),
    (gru._torch_step_variant(), "pytorch_gru_step_forward"),
    (gru._stacked_variant(), "stacked_gru_forward"),
    (gru._bidirectional_variant(), "bidirectional_gru_forward"),
])
def test_the_variant_builders_are_correct_with_their_defaults(variant, name, ref04):
    report = check(EXERCISES[name], variant(ref04))
    assert report.passed == report.total, report.feedback()


def test_the_cases_cover_one_row_one_step_and_one_unit():
    for exercise in gru.NOTEBOOK.exercises:
        labels = " ".join(c.label for c in exercise.make_cases(np.random.default_rng(exercise.seed)))
        assert "N=1" in labels and "H=1" in labels, exercise.name
        if "T" in exercise.outputs[0].letters:
            assert "T=1" in labels, exercise.name


def test_every_hidden_edge_case_kind_is_also_a_visible_case():
    visible_labels = {name: " ".join(cases) for name, cases in visible.visible_inputs().items()}
    for exercise in gru.NOTEBOOK.exercises:
        hidden = " ".join(c.label for c in exercise.make_cases(np.random.default_rng(exercise.seed)))
        shown = visible_labels[exercise.name]
        for kind in ("very large pre-activations", "nearly saturated gates", "a loss on the last state only"):
            if kind in hidden:
                assert kind in shown, (exercise.name, kind)
        if "T=1" in hidden:
            assert "T=1" in shown, exercise.name
        assert "N=1" in shown, exercise.name
        if "L=1" in hidden:
            assert "L=1" in shown, exercise.name


def test_backward_checks_hand_over_the_reference_cache_layout(ref04):
    def gru_step_backward(dnext_h, cache):
        x, prev_h, Wx, Wh, z, r, h_tilde = cache  # r and z swapped
        return ref04.gru_step_backward(dnext_h, (x, prev_h, Wx, Wh, r, z, h_tilde))

    assert check(EXERCISES["gru_step_backward"], gru_step_backward).passed == 0


def test_a_broken_step_is_named_through_the_functions_that_call_it(ref04):
    broken = gru.STEP_BACKWARD_MISTAKES["no_direct"]
    student = rebind(ref04.gru_backward, gru_step_backward=broken.make(ref04))
    feedback = check(EXERCISES["gru_backward"], student).feedback()
    assert "(gru_backward calls your gru_step_backward: make its checks pass first)" in feedback
    swapped = gru.STEP_FORWARD_MISTAKES["update_swapped"].make(ref04)
    student = rebind(ref04.bidirectional_gru_forward,
                     gru_forward=rebind(ref04.gru_forward, gru_step_forward=swapped))
    feedback = check(EXERCISES["bidirectional_gru_forward"], student).feedback()
    assert "(bidirectional_gru_forward calls your gru_step_forward" in feedback


def test_the_visible_check_reports_every_wrong_and_right_output_and_the_block(ref04):
    with pytest.raises(CheckFailure) as failure:
        visible.check_gru_step_backward(gru.STEP_BACKWARD_MISTAKES["dWh_n_from_h"].make(ref04))
    message = str(failure.value)
    assert "1 of 5 outputs wrong" in message and "right: dx, dprev_h, dWx, db" in message
    assert "(wrong in the block candidate; the others are right)" in message


def test_the_visible_check_explains_a_wrong_cache_layout(ref04):
    def gru_step_forward(x, prev_h, Wx, Wh, b):
        next_h, cache = ref04.gru_step_forward(x, prev_h, Wx, Wh, b)
        return next_h, cache[:4] + (cache[5], cache[4], cache[6])  # z before r

    with pytest.raises(CheckFailure, match=r"cache\[4\] should be r, .*\(x, prev_h, Wx, Wh, r, z, h_tilde\)"):
        visible.check_gru_step_forward(gru_step_forward)


def test_transposed_3h_shapes_are_explained(ref04):
    feedback = check(EXERCISES["gru_step_backward"], gru.STEP_BACKWARD_MISTAKES["dWx_T"].make(ref04)).feedback()
    assert "expected (D, 3H) = (" in feedback and "the right sizes in the wrong order" in feedback


def test_an_unstable_sigmoid_loses_only_the_saturated_case(ref04):
    report = check(EXERCISES["gru_step_forward"], gru.STEP_FORWARD_MISTAKES["unstable_sigmoid"].make(ref04))
    assert (report.passed, report.total) == (5, 6)
    assert "NaN" in report.feedback() and "very large pre-activations" in report.feedback()