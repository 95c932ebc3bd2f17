"""The hidden-check framework on notebook 01's exercises: what a check catches and how it says it.

What every notebook's checks must do (full marks for the reference, every named mistake named,
float32, stubs, seeded cases) is in test_contract.py."""
import re
import warnings

import numpy as np
import pytest

from autograder.checks.framework import check, grade
from autograder.checks.notebooks import vanilla_rnn

EXERCISES = {e.name: e for e in vanilla_rnn.NOTEBOOK.exercises}










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


def _sampler(ref01, pick):
    """A sampler like the solution's, choosing each next id with ``pick(probs, scores, rng)``."""
    def sample(params, prefix, n, temperature=1.0, seed=0):
        rng = np.random.default_rng(seed)
        step = lambda ids, h: ref01.rnn_step_forward(params["W_embed"][ids], h, params["Wx"],
                                                     params["Wh"], params["b"])[0]
        h = np.zeros((prefix.shape[0], params["Wh"].shape[0]))
        for t in range(prefix.shape[1]):
            h = step(prefix[:, t], h)
        ids = np.zeros((prefix.shape[0], n), dtype=np.int64)
        for t in range(n):
            scores = h @ params["W_out"] + params["b_out"]
            if temperature == 0:
                ids[:, t] = scores.argmax(axis=1)
            else:
                z = scores / temperature
                probs = np.exp(z - z.max(axis=1, keepdims=True))
                ids[:, t] = pick(probs / probs.sum(axis=1, keepdims=True), z, rng)
            h = step(ids[:, t], h)
        return ids
    return sample


@pytest.mark.parametrize("pick", [
    lambda probs, z, rng: np.argmax(z + rng.gumbel(size=z.shape), axis=1),  # the Gumbel-max trick
    lambda probs, z, rng: np.array([rng.choice(len(p), p=p) for p in probs]),
    lambda probs, z, rng: rng.multinomial(1, probs).argmax(axis=1),
], ids=["gumbel-max", "choice", "multinomial"])
def test_any_correct_sampler_earns_full_marks(pick, ref01):
    # once, a correct Gumbel-max sampler earned 0.5 of 3: the check compared one recipe's ids
    report = check(EXERCISES["sample"], _sampler(ref01, pick))
    assert report.passed == report.total, report.feedback()


def test_a_sampler_that_does_not_feed_its_draw_back_is_caught(ref01):
    def stuck(probs, z, rng):  # draws right, but the state then reads the most likely id
        return np.argmax(z + rng.gumbel(size=z.shape), axis=1)

    sampler = _sampler(ref01, stuck)

    def sample(params, prefix, n, temperature=1.0, seed=0):
        ids = sampler(params, prefix, n, temperature, seed)
        if temperature and n > 1:  # the second draw as if the first were always token 0
            ids[:, 1] = sampler(params, np.concatenate([prefix, np.zeros_like(ids[:, :1])], axis=1),
                                1, temperature, seed + 1)[:, 0]
        return ids

    report = check(EXERCISES["sample"], sample)
    assert report.passed < report.total
    assert "is the sampled token fed back" in report.feedback()
