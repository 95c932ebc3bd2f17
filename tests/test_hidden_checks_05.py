"""The hidden checks of notebook 05 against the reference and its deliberately broken variants."""
import json

import numpy as np
import pytest
import torch

from autograder.cells import solution_sources
from autograder.checks.framework import check
from autograder.checks.notebooks import scheduled_sampling as ss
from autograder.checks.reference import load_reference
from autograder.layout import REPO
from rnncourse._grading.wire import decode, encode
from rnncourse.decoder import on_plain_data
from rnncourse.visible import scheduled_sampling as visible

EXERCISES = {e.name: e for e in ss.NOTEBOOK.exercises}
SAMPLES = {sample.student: sample.changes for sample in ss.NOTEBOOK.samples}


@pytest.fixture(scope="module")
def ref05():
    return load_reference(ss.NOTEBOOK.id)


def _solution_source(name):
    return solution_sources(json.loads(REPO.solution_notebook(ss.NOTEBOOK.id).read_text()))[name]


def _compiled(source, ref, name):
    namespace = dict(vars(ref))
    exec(compile(source, name, "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("name", ["scheduled_sampling_loss", "sequence_coin_loss"])
def test_the_wrapped_reference_earns_full_marks_too(name, ref05):
    # the grade cell passes on_plain_data(fn); the grader must not wrap it a second time
    report = check(EXERCISES[name], on_plain_data(getattr(ref05, name)))
    assert report.passed == report.total, report.feedback()


@pytest.mark.parametrize("name, variant", [
    ("mix_inputs", ss._mix_variant()),
    ("scheduled_sampling_loss", ss._decode_variant()),
    ("sequence_coin_loss", ss._decode_variant("sequence")),
])
def test_the_variant_builders_are_correct_with_their_defaults(name, variant, ref05):
    # so that each Mistake differs from the reference only by the switch it turns
    report = check(EXERCISES[name], variant(ref05))
    assert report.passed == report.total, report.feedback()


def _gumbel_loss(ref, truth_on_padding=False):
    """A correct scheduled-sampling loss that uses the random stream another way: all coins
    first, as one (N, T) array of binomial draws, and Gumbel-max samples; optionally it feeds
    the truth, without a coin, wherever the step's target is padding (which changes nothing)."""
    def scheduled_sampling_loss(model, x, y, mask, eps, rng, greedy=True):
        N, T = x.shape
        coins = rng.binomial(1, eps, size=(N, T)).astype(bool)
        coins[:, 0] = True
        if truth_on_padding:
            coins |= ~mask.numpy()
        token, state, fed, scores, logits = x[:, :1], None, [x[:, :1]], [], None
        for t in range(T):
            if t > 0:
                scores_prev = logits[:, -1].detach().double().numpy()
                if not greedy:
                    scores_prev = scores_prev - np.log(-np.log(rng.random(scores_prev.shape)))
                own = torch.as_tensor(scores_prev.argmax(axis=1))
                token = torch.where(torch.as_tensor(coins[:, t]), x[:, t], own)[:, None]
                fed.append(token)
            logits, state = model(token, state)
            scores.append(logits)
        losses = torch.nn.functional.cross_entropy(torch.cat(scores, 1).transpose(1, 2), y,
                                                   reduction="none")
        loss = (losses * mask).sum() / mask.sum().clamp(min=1)
        return loss, torch.cat(fed, 1), torch.as_tensor(coins)
    return scheduled_sampling_loss


@pytest.mark.parametrize("truth_on_padding", [False, True])
def test_a_correct_loss_with_other_draws_earns_full_marks(ref05, truth_on_padding):
    report = check(EXERCISES["scheduled_sampling_loss"], _gumbel_loss(ref05, truth_on_padding))
    assert report.passed == report.total, report.feedback()


def test_a_correct_mix_inputs_with_other_draws_earns_full_marks():
    def mix_inputs(truth, predicted, eps, rng):  # binomial coins, compared the other way round
        used = rng.binomial(1, eps, size=truth.shape) == 1
        return np.where(used, truth, predicted), used
    report = check(EXERCISES["mix_inputs"], mix_inputs)
    assert report.passed == report.total, report.feedback()


def test_a_mix_inputs_that_ignores_rng_is_told_so():
    def mix_inputs(truth, predicted, eps, rng):
        used = np.random.random(truth.shape) < eps
        return np.where(used, truth, predicted), used
    report = check(EXERCISES["mix_inputs"], mix_inputs)
    assert report.passed < report.total and visible.SAME_RNG in report.feedback()


def test_a_loss_that_is_detached_cannot_pass(ref05):
    source = _solution_source("scheduled_sampling_loss").replace(
        "return loss, torch.cat(fed", "return loss.detach(), torch.cat(fed")
    report = check(EXERCISES["scheduled_sampling_loss"],
                   _compiled(source, ref05, "scheduled_sampling_loss"))
    assert report.passed == 0 and "connected to the model" in report.feedback()


@pytest.mark.parametrize("name", ["scheduled_sampling_loss", "sequence_coin_loss"])
def test_a_loss_computed_in_float32_earns_full_marks(name, ref05):
    float32 = SAMPLES["float32"][name]
    report = check(EXERCISES[name], _compiled(float32(_solution_source(name)), ref05, name))
    assert report.passed == report.total, report.feedback()


def test_the_demo_students_with_bugs_lose_points_with_the_right_hint(ref05):
    padding = SAMPLES["padding"]["scheduled_sampling_loss"]
    fn = _compiled(padding(_solution_source("scheduled_sampling_loss")), ref05,
                   "scheduled_sampling_loss")
    report = check(EXERCISES["scheduled_sampling_loss"], fn)
    assert 0 < report.passed < report.total and visible.PADDING in report.feedback()
    raises = SAMPLES["raises"]["sequence_coin_loss"]
    fn = _compiled(raises(_solution_source("sequence_coin_loss")), ref05, "sequence_coin_loss")
    report = check(EXERCISES["sequence_coin_loss"], fn)
    assert report.passed == 0 and "raised ValueError" in report.feedback()


@pytest.mark.parametrize("name", ["linear_schedule", "exponential_schedule",
                                  "inverse_sigmoid_schedule", "mix_inputs"])
def test_feedback_never_shows_hidden_values(name, ref05):
    mistake = EXERCISES[name].mistakes[0]
    feedback = check(EXERCISES[name], mistake.make(ref05)).feedback()
    for case in EXERCISES[name].make_cases(np.random.default_rng(EXERCISES[name].seed)):
        for value in case.args:
            if isinstance(value, float) and value not in (0.0, 1.0):
                assert repr(value) not in feedback


def test_a_generator_crosses_the_wire_as_its_state():
    rng = np.random.default_rng(3)
    rng.random(5)
    arrays = {}
    tree = json.loads(json.dumps(encode((rng, 2), arrays)))
    copy = decode(tree, arrays)[0]
    assert np.array_equal(copy.random(4), rng.random(4))
    with pytest.raises(ValueError):  # only NumPy's own bit generators are rebuilt
        decode({"r": {"d": [["bit_generator", "os.system"]]}}, {})
