"""The hidden checks of notebook 04 against the reference and its deliberately broken variants."""
import json
import re
import warnings

import numpy as np
import pytest

from autograder.checks import gru
from autograder.demo import in_float32
from autograder.grading import check, grade, rebind
from autograder.reference import load_reference, solution_notebook
from rnncourse.checks import CheckFailure
from rnncourse.visible import gru as visible

EXERCISES = {e.name: e for e in gru.EXERCISES}
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
    return load_reference("04_gru")


def _solution_source(name):
    notebook = json.loads(solution_notebook("04_gru").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == name:
            return "".join(cell["source"])
    raise LookupError(name)


def test_every_exercise_has_mistakes_and_the_required_ones_are_there():
    assert set(gru.MISTAKES) == set(EXERCISES)
    for name, keys in REQUIRED.items():
        assert keys <= set(gru.MISTAKES[name]), name
    assert set(visible.HINTS) >= {k.partition("@")[0] for _, k, _ in MISTAKES}


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_earns_exactly_full_marks(name, ref04, capsys):
    exercise = EXERCISES[name]
    assert grade(exercise, getattr(ref04, name)) == exercise.points
    assert capsys.readouterr().err == ""  # nbgrader gives zero to a grade cell writing to stderr


@pytest.mark.parametrize("name, key, mistake", MISTAKES, ids=[f"{n}:{k}" for n, k, _ in MISTAKES])
def test_each_mistake_loses_points_and_is_named(name, key, mistake, ref04):
    report = check(EXERCISES[name], mistake.make(ref04))
    assert report.passed < report.total
    feedback = report.feedback()
    assert mistake.hint in feedback or "NaN" in feedback, feedback


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


@pytest.mark.parametrize("name", EXERCISES)
def test_a_float32_implementation_earns_full_marks(name, ref04):
    namespace = dict(vars(ref04))
    for other in EXERCISES:  # recompile every solution in float32, calling each other
        exec(compile(in_float32(_solution_source(other)), f"float32 {other}", "exec"), namespace)
    report = check(EXERCISES[name], namespace[name])
    assert report.passed == report.total, report.feedback()


def test_the_cases_cover_one_row_one_step_and_one_unit():
    for exercise in gru.EXERCISES:
        labels = " ".join(c.label for c in exercise.make_cases(np.random.default_rng(exercise.seed)))
        assert "N=1" in labels and "H=1" in labels, exercise.name
        if "T" in exercise.outputs[0].letters:
            assert "T=1" in labels, exercise.name


def test_every_hidden_edge_case_kind_is_also_a_visible_case():
    visible_labels = {name: " ".join(cases) for name, cases in visible.visible_inputs().items()}
    for exercise in gru.EXERCISES:
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
    assert "(wrong in the block candidate)" in message


def test_the_visible_check_explains_a_wrong_cache_layout(ref04):
    def gru_step_forward(x, prev_h, Wx, Wh, b):
        next_h, cache = ref04.gru_step_forward(x, prev_h, Wx, Wh, b)
        return next_h, cache[:4] + (cache[5], cache[4], cache[6])  # z before r

    with pytest.raises(CheckFailure, match=r"cache\[4\] \(r\).*\(x, prev_h, Wx, Wh, r, z, h_tilde\)"):
        visible.check_gru_step_forward(gru_step_forward)


def test_inputs_modified_in_place_are_caught(ref04):
    def gru_step_backward(dnext_h, cache):
        grads = ref04.gru_step_backward(dnext_h, cache)
        dnext_h *= 0
        return grads

    report = check(EXERCISES["gru_step_backward"], gru_step_backward)
    assert report.passed == 0 and "modified its input dnext_h in place" in report.feedback()


def test_warnings_and_prints_of_correct_code_cost_nothing(ref04, capsys):
    def gru_step_forward(x, prev_h, Wx, Wh, b):
        print("debugging output")
        warnings.warn("a harmless warning")
        np.exp(np.array([1000.0]))
        return ref04.gru_step_forward(x, prev_h, Wx, Wh, b)

    assert grade(EXERCISES["gru_step_forward"], gru_step_forward) == 3
    captured = capsys.readouterr()
    assert captured.err == "" and "debugging output" not in captured.out


def test_a_stub_is_reported_as_not_implemented():
    def stacked_gru_forward(x, h0, layers):
        raise NotImplementedError()

    report = check(EXERCISES["stacked_gru_forward"], stacked_gru_forward)
    assert report.score == 0 and "stacked_gru_forward is not implemented yet" in report.feedback()


def test_transposed_3h_shapes_are_explained(ref04):
    feedback = check(EXERCISES["gru_step_backward"], gru.STEP_BACKWARD_MISTAKES["dWx_T"].make(ref04)).feedback()
    assert "expected (D, 3H) = (" in feedback and "the right sizes in the wrong order" in feedback


def test_an_unstable_sigmoid_loses_only_the_saturated_case(ref04):
    report = check(EXERCISES["gru_step_forward"], gru.STEP_FORWARD_MISTAKES["unstable_sigmoid"].make(ref04))
    assert (report.passed, report.total) == (5, 6)
    assert "NaN" in report.feedback() and "very large pre-activations" in report.feedback()


def test_feedback_reveals_no_hidden_values(ref04):
    for exercise in gru.EXERCISES:
        for mistake in exercise.mistakes:
            problems = check(exercise, mistake.make(ref04)).feedback().split("\n", 1)[1]
            assert not re.search(r"\d\.\d{2,}", problems), problems


def test_the_same_submission_always_gets_the_same_cases():
    exercise = EXERCISES["gru_backward"]
    first = exercise.make_cases(np.random.default_rng(exercise.seed))
    second = exercise.make_cases(np.random.default_rng(exercise.seed))
    assert all(np.array_equal(a.args[0], b.args[0]) for a, b in zip(first, second))
