"""One mistake is charged once: a function that calls the student's own graded functions is
also graded against the reference run over them (``framework.OwnHelpers``), in 01 to 05.

Each row: a caller, the helper it calls, and a named mistake of the helper. The student is a
correct caller that calls the broken helper, as a student's sequence function calls their step.
"""
import numpy as np
import pytest

from autograder.checks import registry
from autograder.checks.framework import OwnHelpers, _inputs_key, check, rebind
from autograder.checks.notebooks import bptt, gru, lstm, scheduled_sampling, vanilla_rnn
from autograder.checks.reference import load_reference

ROWS = [
    ("01_vanilla_rnn", "rnn_forward", "rnn_step_forward", vanilla_rnn.RNN_STEP_FORWARD.mistakes[0]),
    # graded by the distribution of its draws, measured over the student's own step
    ("01_vanilla_rnn", "sample", "rnn_step_forward", vanilla_rnn.RNN_STEP_FORWARD.mistakes[2]),
    ("02_bptt", "rnn_backward", "rnn_step_backward", bptt.STEP_MISTAKES["Wh_not_T"]),
    ("02_bptt", "rnn_backward", "rnn_step_backward", bptt.STEP_MISTAKES["no_tanh"]),
    ("02_bptt", "tbptt_step", "rnn_backward", bptt.RNN_BACKWARD.mistakes[0]),
    ("02_bptt", "tbptt_step", "word_embedding_backward", bptt.WORD_EMBEDDING_BACKWARD.mistakes[0]),
    ("02_bptt", "tbptt_step", "temporal_affine_backward", bptt.AFFINE_MISTAKES["averaged"]),
    ("03_lstm", "lstm_forward", "lstm_step_forward", lstm.STEP_FORWARD_MISTAKES[0]),
    ("03_lstm", "lstm_backward", "lstm_step_backward", lstm.STEP_BACKWARD_MISTAKES["no_tanh_grad"]),
    ("03_lstm", "lstm_backward", "lstm_step_backward", lstm.STEP_BACKWARD_MISTAKES["dc_prev_no_f"]),
    ("04_gru", "gru_forward", "gru_step_forward", gru.STEP_FORWARD_MISTAKES["update_swapped"]),
    ("04_gru", "gru_backward", "gru_step_backward", gru.STEP_BACKWARD_MISTAKES["no_reset_road"]),
    ("04_gru", "stacked_gru_forward", "gru_forward", gru.FORWARD_MISTAKES["not_carried"]),
    ("04_gru", "bidirectional_gru_forward", "gru_forward", gru.FORWARD_MISTAKES["h0_ignored"]),
]


def _ids(value):
    return value if isinstance(value, str) else ""


def _student(notebook_id, caller, helper, mistake):
    """A correct ``caller`` that calls a ``helper`` with ``mistake``; the helpers it hands over."""
    exercise = registry.get(notebook_id).exercise(caller)
    ref = load_reference(notebook_id)
    broken = mistake.make(ref)
    helpers = {name: (broken if name == helper else getattr(ref, name)) for name in exercise.calls}
    return exercise, rebind(getattr(ref, caller), **helpers), list(helpers.values()), broken


@pytest.mark.parametrize("notebook_id, caller, helper, mistake", ROWS, ids=_ids)
def test_a_wrong_helper_costs_its_own_part_only(notebook_id, caller, helper, mistake):
    exercise, student, helpers, broken = _student(notebook_id, caller, helper, mistake)
    report = check(exercise, student, helpers)
    assert report.score == exercise.points, report.feedback()
    assert f"graded over your own {helper}, which has its own mistakes: see its part" in report.feedback()
    assert report.own.passed_over > 0
    # the helper's own part loses points
    assert check(registry.get(notebook_id).exercise(helper), broken).score < \
        registry.get(notebook_id).exercise(helper).points
    # without the helpers (a grade cell of an older release), the mistake is charged again
    assert check(exercise, student).score < exercise.points


@pytest.mark.parametrize("notebook_id, caller, helper, mistake", ROWS, ids=_ids)
def test_a_correct_caller_that_does_not_call_the_helper_earns_full_marks(notebook_id, caller, helper, mistake):
    # computes everything itself (here: the reference's own helpers), whatever the handed helper does
    exercise, _, helpers, _ = _student(notebook_id, caller, helper, mistake)
    report = check(exercise, getattr(load_reference(notebook_id), caller), helpers)
    assert report.score == exercise.points and report.own.passed_over == 0, report.feedback()


@pytest.mark.parametrize("notebook_id, caller, helper, mistake", ROWS, ids=_ids)
def test_a_wrong_caller_over_a_wrong_helper_still_loses_its_points_and_is_told_why(
        notebook_id, caller, helper, mistake):
    exercise, _, helpers, _ = _student(notebook_id, caller, helper, mistake)
    own_mistake = next(m for m in exercise.mistakes if "calls your" not in m.hint and "seems to" not in m.hint)
    wrong = own_mistake.make(load_reference(notebook_id))  # calls the reference's helpers
    report = check(exercise, wrong, helpers)
    assert report.score < exercise.points
    assert own_mistake.hint in report.feedback() or "NaN" in report.feedback()
    assert f"may also have lost points because of your {helper}: see its part" in report.feedback()


def test_a_helper_that_raises_fails_the_case_and_is_named():
    exercise, _, _, _ = _student("03_lstm", "lstm_backward", "lstm_step_backward",
                                 lstm.STEP_BACKWARD_MISTAKES["no_tanh_grad"])

    def lstm_step_backward(dh, dc, cache):
        raise IndexError("tuple index out of range")

    ref = load_reference("03_lstm")
    student = rebind(ref.lstm_backward, lstm_step_backward=lstm_step_backward)
    report = check(exercise, student, [lstm_step_backward])
    assert report.score == 0
    assert "lstm_backward raised IndexError" in report.feedback()
    assert "may also have lost points because of your lstm_step_backward" in report.feedback()


def test_several_helpers_name_only_the_wrong_one():
    exercise, student, helpers, _ = _student("02_bptt", "tbptt_step", "word_embedding_backward",
                                             bptt.WORD_EMBEDDING_BACKWARD.mistakes[0])
    feedback = check(exercise, student, helpers).feedback()
    assert "your own word_embedding_backward, which has" in feedback
    assert "rnn_backward" not in feedback and "temporal_affine_backward" not in feedback


def test_a_case_the_caller_passes_costs_no_extra_call():
    # the composition runs only for a case that fails against the reference
    ref = load_reference("03_lstm")
    exercise = registry.get("03_lstm").exercise("lstm_backward")
    calls = []

    def lstm_step_backward(*args):
        calls.append(1)
        return ref.lstm_step_backward(*args)

    assert check(exercise, ref.lstm_backward, [lstm_step_backward]).score == exercise.points
    assert calls == []


def test_a_helper_is_asked_each_set_of_inputs_once():
    # 01's sample over a wrong step: the reference sampler runs over the student's step twice
    # with one seed, and again to explain the failure; in the sandbox each call is a round trip
    exercise, student, helpers, broken = _student("01_vanilla_rnn", "sample", "rnn_step_forward",
                                                  vanilla_rnn.RNN_STEP_FORWARD.mistakes[2])
    asked = []

    def rnn_step_forward(*args):
        asked.append(_inputs_key(args, {}))
        return broken(*args)

    report = check(exercise, student, [rnn_step_forward])
    assert report.score == exercise.points, report.feedback()
    assert len(asked) == len(set(asked)) > 0


def test_a_helper_that_changes_its_inputs_is_asked_every_time():
    calls = []

    def draws(rng, out):  # moves the rng it is given on, and writes into out
        calls.append(1)
        out += rng.normal(size=out.shape)
        return out.copy()

    remembered = OwnHelpers({"draws": draws}).functions["draws"]
    rng, out = np.random.default_rng(0), np.zeros(3)
    first = remembered(rng, out)
    second = remembered(np.random.default_rng(0), np.zeros(3))  # the same inputs as the first's
    assert len(calls) == 2 and np.array_equal(first, second)
    assert not np.array_equal(remembered(rng, out), first) and len(calls) == 3


def test_a_helper_answer_is_remembered_only_for_plain_data():
    calls = []

    def helper(x, anything=None):
        calls.append(1)
        return {"y": x * 2}

    remembered = OwnHelpers({"helper": helper}).functions["helper"]
    one = remembered(np.arange(3))
    one["y"][:] = -1  # the caller changes what it got: the remembered answer stays
    assert remembered(np.arange(3))["y"].tolist() == [0, 2, 4] and len(calls) == 1
    remembered(np.arange(3), anything=object())
    remembered(np.arange(3), anything=object())  # an object crosses as its type name only
    assert len(calls) == 3


def test_scheduled_sampling_over_an_inverted_mix_inputs_keeps_the_cases_without_coins():
    # 05's loss is graded by properties where coins are drawn (0 < eps < 1, and samples): those
    # cases measure the coins themselves, so an inverted coin in mix_inputs still fails them;
    # the cases whose outputs are exact (eps = 0 or 1, greedy) pass over the student's mix_inputs
    notebook_id = "05_scheduled_sampling"
    mistake = scheduled_sampling.MIX_INPUTS.mistakes[0]
    exercise, student, helpers, _ = _student(notebook_id, "scheduled_sampling_loss", "mix_inputs", mistake)
    over_own, alone = check(exercise, student, helpers), check(exercise, student)
    assert over_own.passed > alone.passed and over_own.own.passed_over > 0
    assert "graded over your own mix_inputs" in over_own.feedback()
    cases = exercise.make_cases(np.random.default_rng(exercise.seed))
    exact = sum(case.args[4] in (0.0, 1.0) and case.args[6] for case in cases)
    assert over_own.passed >= exact


# ------------------------------------------------------------------ through the sandbox
def _graded_in_the_sandbox(tmp_path, changes):
    import json

    from autograder.checks.samples import make_submission
    from autograder.layout import REPO
    from autograder.notebook.grader import NotebookGrader
    from autograder.notebook.restore import NotebookSource
    from autograder.notebook.sandbox import Limits, Sandbox, isolation

    notebook_id = vanilla_rnn.NOTEBOOK.id
    source_path = REPO.solution_notebook(notebook_id)
    release_path = REPO.root / "assignments" / notebook_id / f"{notebook_id}.ipynb"
    submission = make_submission(json.loads(release_path.read_text()),
                                 json.loads(source_path.read_text()), changes)
    (tmp_path / "submitted").mkdir()
    (tmp_path / "submitted" / f"{notebook_id}.ipynb").write_text(json.dumps(submission))
    (tmp_path / "scratch").mkdir()
    tmp_path.chmod(0o755)
    sandbox = Sandbox(isolation(), Limits(cell_timeout=60, notebook_timeout=300), worker=5)
    grader = NotebookGrader(sandbox, NotebookSource.load(source_path, release_path), notebook_id,
                            "student", tmp_path / "submitted", tmp_path / "scratch")
    result, _ = grader.grade()
    return {part.grade_id: part for part in result.parts}


@pytest.mark.slow
def test_in_the_sandbox_a_wrong_step_costs_its_own_part_only(sandbox_here, tmp_path):
    # 01's sample student "transposed": h_prev @ Wh.T in rnn_step_forward, which rnn_forward and
    # sample call. The helper is captured in the kernel and called there on plain data, like
    # the function.
    transposed = next(s for s in vanilla_rnn.NOTEBOOK.samples if s.student == "transposed")
    parts = _graded_in_the_sandbox(tmp_path, transposed.changes)
    assert parts["grade_rnn_step_forward"].score < 2
    forward = parts["grade_rnn_forward"]
    assert forward.score == 3, forward.feedback
    assert "graded over your own rnn_step_forward, which has its own mistakes" in forward.feedback
    assert parts["grade_sample"].score == 3, parts["grade_sample"].feedback
