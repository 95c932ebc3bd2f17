"""The references of notebook 05: schedules, coins, and the scheduled-sampling losses.

The losses are checked against teacher forcing (eps = 1 is teacher forcing exactly), against
free running (eps = 0 feeds the model's own argmax), and against central differences in
float64 for fixed coins (the gradient is that of the fed tokens, with nothing through the
choice of a token). The decoder and the task of the experiment are checked too.
"""
import math

import numpy as np
import pytest
import torch

from autograder.checks.notebooks import scheduled_sampling as ss
from autograder.checks.reference import load_reference
from rnncourse.decoder import GRUDecoder, decoder_arrays, decoder_from_arrays, teacher_forced_loss
from rnncourse.exposure import PAD, START, progressions
from rnncourse.visible.scheduled_sampling import coin_problem, sample_problem

LOSSES = ["scheduled_sampling_loss", "sequence_coin_loss"]


@pytest.fixture(scope="module")
def ref():
    return load_reference(ss.NOTEBOOK.id)


def _batch(seed, N, T, V):
    rng = np.random.default_rng(seed)
    y = torch.as_tensor(rng.integers(0, V, size=(N, T)))
    x = torch.cat([torch.as_tensor(rng.integers(0, V, size=(N, 1))), y[:, :-1]], dim=1)
    mask = torch.arange(T)[None, :] < torch.as_tensor(rng.integers(0, T + 1, size=(N, 1)))
    return x, y, mask


def test_schedules_follow_their_formulas(ref):
    assert ref.linear_schedule(0, 1.0, 0.01, 0.2) == 1.0
    assert ref.linear_schedule(50, 1.0, 0.01, 0.2) == pytest.approx(0.5)
    assert ref.linear_schedule(500, 1.0, 0.01, 0.2) == 0.2  # the floor
    assert ref.exponential_schedule(0, 0.9) == 1.0
    assert ref.exponential_schedule(3, 0.9) == pytest.approx(0.729)
    k = 20.0
    assert ref.inverse_sigmoid_schedule(0, k) == pytest.approx(k / (k + 1))
    assert ref.inverse_sigmoid_schedule(k * math.log(k), k) == pytest.approx(0.5)  # the midpoint
    with np.errstate(all="raise"):
        assert ref.inverse_sigmoid_schedule(10 ** 6, 10.0) == 0.0  # no overflow error or warning
    values = [ref.inverse_sigmoid_schedule(i, k) for i in range(300)]
    assert all(a > b for a, b in zip(values, values[1:]))  # strictly decreasing


@pytest.mark.parametrize("shape, eps", [((20000,), 0.3), ((400, 30), 0.8)])
def test_mix_inputs_flips_one_fair_coin_per_position(ref, shape, eps):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=shape)
    predicted = truth + 5
    inputs, used = ref.mix_inputs(truth, predicted, eps, np.random.default_rng(1))
    assert inputs.dtype == truth.dtype and used.dtype == bool
    assert np.array_equal(inputs, np.where(used, truth, predicted))
    coins = used.reshape(-1, shape[-1]) if len(shape) > 1 else used.reshape(1, -1)
    assert coin_problem(coins, eps) is None
    again = ref.mix_inputs(truth, predicted, eps, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip((inputs, used), again))


def test_the_coin_test_rejects_wrong_coins():
    rng = np.random.default_rng(0)
    fair = rng.random((300, 9)) < 0.4
    assert coin_problem(fair, 0.4) is None
    assert coin_problem(fair, 0.6) is not None  # the wrong probability
    per_row = np.repeat(rng.random((300, 1)) < 0.4, 9, axis=1)
    assert coin_problem(per_row, 0.4) is not None
    assert coin_problem(per_row, 0.4, per="sequence") is None
    per_column = np.repeat(rng.random((1, 9)) < 0.4, 300, axis=0)
    assert coin_problem(per_column, 0.4) is not None
    assert coin_problem(fair, 0.4, per="sequence") is not None


def test_the_decoder_step_by_step_equals_one_call():
    model = GRUDecoder(7, 3, 5, seed=2, dtype=torch.float64)
    x = torch.as_tensor(np.random.default_rng(0).integers(0, 7, size=(4, 6)))
    whole, last = model(x)
    state, steps = None, []
    for t in range(6):
        logits, state = model(x[:, t:t + 1], state)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), whole, rtol=0, atol=1e-14)
    assert torch.allclose(state, last, rtol=0, atol=1e-14)
    one_hot = torch.nn.functional.one_hot(x, 7).double()  # a one-hot row is the token itself
    assert torch.allclose(model(one_hot)[0], whole, rtol=0, atol=1e-14)
    copy = decoder_from_arrays(decoder_arrays(model))
    assert torch.equal(copy(x)[0], whole)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("N, T, dtype", [(1, 1, torch.float64), (3, 7, torch.float64),
                                         (5, 4, torch.float32)])
@pytest.mark.parametrize("greedy", [True, False])
def test_eps_1_is_teacher_forcing_exactly(ref, name, N, T, dtype, greedy):
    model = GRUDecoder(6, 4, 5, seed=1, dtype=dtype)
    x, y, mask = _batch(N + T, N, T, 6)
    loss, inputs, used = getattr(ref, name)(model, x, y, mask, 1.0, np.random.default_rng(0), greedy)
    loss.backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    tf = teacher_forced_loss(model, x, y, mask)
    tf.backward()
    assert torch.equal(inputs, x) and bool(used.all())
    assert loss.dtype == dtype and torch.equal(loss, tf)  # the same number, to the last bit
    for grad, p in zip(grads, model.parameters()):
        assert torch.allclose(grad, p.grad, rtol=0, atol=1e-15 if dtype == torch.float64 else 1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_eps_0_feeds_exactly_the_models_own_outputs(ref, name):
    model = GRUDecoder(6, 4, 5, seed=3, dtype=torch.float64)
    x, y, mask = _batch(0, 5, 8, 6)
    loss, inputs, used = getattr(ref, name)(model, x, y, mask, 0.0, np.random.default_rng(0), True)
    assert bool(used[:, 0].all()) and not bool(used[:, 1:].any())
    assert torch.equal(inputs[:, 0], x[:, 0])
    state, token = None, x[:, :1]
    for t in range(1, 8):  # a plain greedy decoder, written independently
        logits, state = model(token, state)
        token = logits[:, -1].argmax(dim=-1, keepdim=True)
        assert torch.equal(inputs[:, t], token[:, 0])
    assert torch.equal(loss, teacher_forced_loss(model, inputs, y, mask))


@pytest.mark.parametrize("name", LOSSES)
def test_gradients_match_central_differences_for_fixed_coins(ref, name):
    model = GRUDecoder(5, 3, 4, seed=4, dtype=torch.float64)
    x, y, mask = _batch(1, 4, 6, 5)
    params = list(model.parameters())

    def loss_of(*values):
        # the same seed every call: the same coins and samples, so only the weights change
        for p, v in zip(params, values):
            p.data = v
        return getattr(ref, name)(model, x, y, mask, 0.5, np.random.default_rng(7), False)[0]

    values = [p.detach().clone().requires_grad_(True) for p in params]
    loss = getattr(ref, name)(model, x, y, mask, 0.5, np.random.default_rng(7), False)[0]
    loss.backward()
    autograd = [p.grad.clone() for p in params]
    for k, (p, value) in enumerate(zip(params, values)):
        numeric = torch.zeros_like(value)
        for index in np.ndindex(tuple(value.shape)):
            shifted = []
            for sign in (1, -1):
                v = value.detach().clone()
                v[index] += sign * 1e-6
                args = [w.detach() for w in values]
                args[k] = v
                with torch.no_grad():
                    shifted.append(float(loss_of(*args)))
            numeric[index] = (shifted[0] - shifted[1]) / 2e-6
        assert torch.allclose(autograd[k], numeric, rtol=1e-5, atol=1e-8), k
    for p, v in zip(params, values):
        p.data = v.detach()


def test_sampled_outputs_follow_the_softmax(ref):
    model = GRUDecoder(6, 4, 5, seed=5, dtype=torch.float64)
    x = torch.zeros(4000, 2, dtype=torch.int64)
    _, inputs, _ = ref.scheduled_sampling_loss(model, x, x, torch.ones_like(x, dtype=torch.bool), 0.0,
                                               np.random.default_rng(0), False)
    with torch.no_grad():
        probs = torch.softmax(model(x[:1, :1])[0][0, 0], dim=-1).numpy()
    assert sample_problem(inputs[:, 1].numpy(), probs) is None
    assert sample_problem(np.full(4000, probs.argmax()), probs) is not None  # argmax is no sample


def test_progressions_follow_the_recurrence():
    x, y, mask = progressions(200, T=12, min_length=4, seed=0)
    assert x.shape == y.shape == mask.shape == (200, 12)
    lengths = mask.sum(axis=1)
    assert lengths.min() >= 4 and lengths.max() <= 12 and (mask == (np.arange(12) < lengths[:, None])).all()
    a, b = (x[:, 0] - START) // 10, (x[:, 0] - START) % 10
    assert (y[:, 0] == a).all() and (y[mask[:, 1], 1] == b[mask[:, 1]]).all()
    for t in range(2, 12):
        real = mask[:, t]
        assert (y[real, t] == (y[real, t - 1] + y[real, t - 2]) % 10).all()
    assert (y[~mask] == PAD).all()
    assert (x[:, 1:][mask[:, :-1]] == y[:, :-1][mask[:, :-1]]).all()  # x is y shifted by one
