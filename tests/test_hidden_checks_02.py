"""The hidden checks of notebook 02 against the reference and its deliberately broken variants."""
import copy

import numpy as np
import pytest

from autograder.checks.framework import check, run_case
from autograder.checks.notebooks import bptt
from autograder.checks.reference import load_reference

EXERCISES = {e.name: e for e in bptt.NOTEBOOK.exercises}
MISTAKES = [(e.name, m) for e in EXERCISES.values() for m in e.mistakes]


@pytest.fixture(scope="module")
def ref02():
    """The reference implementations of notebook 02, loaded from the solution notebook."""
    return load_reference(bptt.NOTEBOOK.id)






def test_the_brief_s_mistakes_are_all_there():
    hints = " | ".join(m.hint for _, m in MISTAKES)
    for words in ["tanh derivative is missing", "overwritten at each step instead of summed",
                  "dh[:, t] is not added to the carried gradient", "dx = da @ Wx.T",
                  "dh_prev uses Wh; it should be da @ Wh.T", "db is not summed over the batch",
                  "clipped by its own norm", "rescaled even under the limit",
                  "flows on into the previous chunk", "state is not carried"]:
        assert words in hints, words


def _to_float32(value):
    """Every float array in a (nested) argument, as float32."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_float32(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", [n for n in EXERCISES if n != "clip_grad_norm"])
def test_a_float32_implementation_earns_full_marks(name, ref02):
    # the reference run entirely in float32: the caches, parameters and states converted on entry
    def in_float32(*args):
        result = getattr(ref02, name)(*_to_float32(args))
        return _to_float32(result)

    report = check(EXERCISES[name], in_float32)
    assert report.passed == report.total, report.feedback()


def test_clip_grad_norm_in_float32_earns_full_marks(ref02):
    def clip_grad_norm(grads, max_norm):
        as32 = _to_float32(grads)
        total_norm = ref02.clip_grad_norm(as32, max_norm)
        grads.update(as32)  # the dict's entries replaced: allowed by the contract
        return np.float32(total_norm)

    report = check(EXERCISES["clip_grad_norm"], clip_grad_norm)
    assert report.passed == report.total, report.feedback()


def test_clip_grad_norm_cases_cover_both_sides_of_the_limit_and_zeros():
    labels = [c.label for c in EXERCISES["clip_grad_norm"].make_cases(np.random.default_rng(1))]
    assert any("above max_norm" in label for label in labels)
    assert any("below max_norm" in label for label in labels)
    assert any("zero" in label for label in labels)


def test_clip_grad_norm_works_in_place_and_is_compared_after_the_call(ref02):
    exercise = EXERCISES["clip_grad_norm"]
    case = next(c for c in exercise.make_cases(np.random.default_rng(exercise.seed)) if "above" in c.label)
    grads, max_norm = copy.deepcopy(case.args)
    total_norm = ref02.clip_grad_norm(grads, max_norm)
    assert total_norm > max_norm
    new_norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    assert new_norm == pytest.approx(max_norm)
    # returning clipped copies without touching grads is named as such
    def returns_copies(grads, max_norm):
        return ref02.clip_grad_norm({k: g.copy() for k, g in grads.items()}, max_norm)

    assert "clip in place" in check(exercise, returns_copies).feedback()


def test_clipping_keeps_the_direction(ref02):
    rng = np.random.default_rng(3)
    grads = {"a": rng.normal(size=(4, 5)), "b": 40 * rng.normal(size=7)}
    before = np.concatenate([g.ravel() for g in grads.values()])
    ref02.clip_grad_norm(grads, 1.0)
    after = np.concatenate([g.ravel() for g in grads.values()])
    assert np.linalg.norm(after) == pytest.approx(1.0)
    assert after / np.linalg.norm(after) == pytest.approx(before / np.linalg.norm(before))


def test_tbptt_cases_carry_the_state_over_several_chunks_and_include_full_bptt():
    cases = EXERCISES["tbptt_step"].make_cases(np.random.default_rng(0))
    labels = " | ".join(c.label for c in cases)
    assert "full BPTT" in labels and "chunks in a row" in labels
    assert "N=1" in labels and "T=1" in labels


def test_a_tbptt_step_that_writes_into_h_prev_is_caught(ref02):
    def tbptt_step(params, x, y, h_prev):
        loss, grads, h_last = ref02.tbptt_step(params, x, y, h_prev)
        h_prev[...] = h_last  # "carries" the state by overwriting the caller's array
        return loss, grads, h_last

    assert "modified its input h_prev in place" in check(EXERCISES["tbptt_step"], tbptt_step).feedback()


def test_tbptt_step_with_missing_gradients_is_explained(ref02):
    def tbptt_step(params, x, y, h_prev):
        loss, grads, h_last = ref02.tbptt_step(params, x, y, h_prev)
        del grads["W_embed"]
        return loss, grads, h_last

    report = check(EXERCISES["tbptt_step"], tbptt_step)
    assert report.passed == 0 and "grads should be a dict with the keys of params" in report.feedback()




def test_the_reference_is_not_changed_by_a_case(ref02):
    # run_case gives the student a copy: a function that scribbles on its cache harms nothing
    exercise = EXERCISES["rnn_backward"]
    case = exercise.make_cases(np.random.default_rng(exercise.seed))[3]
    pristine = copy.deepcopy(case.args)

    def scribbles(dh, cache):
        result = ref02.rnn_backward(dh, cache)
        for step in cache:
            step[0][...] = 0
        return result

    assert run_case(exercise, scribbles, ref02, case) is None
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(case.args[1], pristine[1]))




@pytest.mark.parametrize("name", EXERCISES)
def test_cases_are_seeded_and_include_n1_and_t1(name):
    exercise = EXERCISES[name]
    first = exercise.make_cases(np.random.default_rng(exercise.seed))
    second = exercise.make_cases(np.random.default_rng(exercise.seed))
    flat = lambda case: [a for a in _leaves(case.args)]
    for a, b in zip(first, second):
        assert all(np.array_equal(x, y) for x, y in zip(flat(a), flat(b)))
    if name != "clip_grad_norm":  # clipping has no batch or time: its smallest case is V=E=H=1
        labels = " ".join(case.label for case in first)
        assert "N=1" in labels
        if name not in ("rnn_step_backward",):
            assert "T=1" in labels


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _leaves(v)
    else:
        yield np.asarray(value)
