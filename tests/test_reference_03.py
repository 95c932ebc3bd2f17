"""The LSTM references of notebook 03: numeric gradients (float64) and PyTorch's autograd.

The PyTorch comparison converts the weights by hand here (not through rnncourse.torch_bridge),
so that a gate-order mistake shared by the bridge and the reference could not cancel out.
"""
import numpy as np
import pytest
import torch

from autograder.checks.notebooks import lstm
from autograder.checks.reference import load_reference
from rnncourse.gradcheck import check_gradients, numeric_grad_array4, rel_error

STEP_TOL = 1e-8  # relative error of a step's gradients against central differences
SEQUENCE_TOL = 1e-6
TORCH_TOL = 1e-10  # largest absolute difference from torch.nn.LSTM in float64


@pytest.fixture(scope="module")
def ref():
    return load_reference(lstm.NOTEBOOK.id)


def _step_inputs(rng, N, D, H):
    return {"x": rng.normal(size=(N, D)), "h_prev": rng.normal(size=(N, H)),
            "c_prev": rng.normal(size=(N, H)), "Wx": rng.normal(scale=0.5, size=(D, 4 * H)),
            "Wh": rng.normal(scale=0.5, size=(H, 4 * H)), "b": rng.normal(scale=0.5, size=4 * H)}


def _sequence_inputs(rng, N, T, D, H):
    return {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
            "Wx": rng.normal(scale=0.5, size=(D, 4 * H)), "Wh": rng.normal(scale=0.5, size=(H, 4 * H)),
            "b": rng.normal(scale=0.5, size=4 * H)}


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))



def test_the_gate_blocks_are_i_f_o_g(ref):
    # with no weights the pre-activations are the biases: give each block its own value
    H = 2
    b = np.repeat([0.3, -1.2, 0.7, -0.4], H)  # i, f, o, g
    c_prev = np.array([[0.5, -2.0]])
    h, c, cache = ref.lstm_step_forward(np.zeros((1, 3)), np.zeros((1, H)), c_prev,
                                        np.zeros((3, 4 * H)), np.zeros((H, 4 * H)), b)
    i, f, o, g = _sigmoid(0.3), _sigmoid(-1.2), _sigmoid(0.7), np.tanh(-0.4)
    np.testing.assert_allclose(c, f * c_prev + i * g, rtol=1e-15)
    np.testing.assert_allclose(h, o * np.tanh(f * c_prev + i * g), rtol=1e-15)
    for k, value in enumerate([i, f, o, g], start=5):
        np.testing.assert_allclose(cache[k], np.full((1, H), value), rtol=1e-15)


def test_saturated_gates_are_finite_and_silent(ref):
    rng = np.random.default_rng(3)
    inputs = _step_inputs(rng, 2, 3, 4)
    inputs["Wx"] *= 2000
    # the warnings NumPy prints by default (underflow is silent): each would raise here
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        h, c, _ = ref.lstm_step_forward(**inputs)
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(c))


@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (3, 4, 5), (2, 6, 3), (4, 2, 2)])
@pytest.mark.parametrize("seed", [0, 1])
def test_step_backward_matches_numeric_gradients(ref, N, D, H, seed):
    rng = np.random.default_rng([seed, N, D, H])
    inputs = _step_inputs(rng, N, D, H)
    dh, dc = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    _, _, cache = ref.lstm_step_forward(**inputs)
    grads = ref.lstm_step_backward(dh, dc, cache)
    for name, grad in zip(["x", "h_prev", "c_prev", "Wx", "Wh", "b"], grads):
        def outputs(value):  # (h, c) side by side, so that dout = (dh, dc)
            return np.concatenate(ref.lstm_step_forward(**{**inputs, name: value})[:2], axis=1)

        numeric = numeric_grad_array4(outputs, inputs[name], np.concatenate([dh, dc], axis=1))
        assert grad.shape == inputs[name].shape, name
        assert rel_error(grad, numeric) < STEP_TOL, name


def test_dc_prev_is_the_memory_path_alone_when_dh_is_zero(ref):
    # with dh = 0 only the memory path is left: dc_prev = dc * f exactly
    rng = np.random.default_rng(7)
    inputs = _step_inputs(rng, 3, 2, 4)
    dc = rng.normal(size=(3, 4))
    _, _, cache = ref.lstm_step_forward(**inputs)
    dc_prev = ref.lstm_step_backward(np.zeros((3, 4)), dc, cache)[2]
    np.testing.assert_array_equal(dc_prev, dc * cache[6])
    numeric = numeric_grad_array4(lambda c_prev: ref.lstm_step_forward(**{**inputs, "c_prev": c_prev})[1],
                            inputs["c_prev"], dc)
    assert rel_error(dc_prev, numeric) < STEP_TOL


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 2, 3), (2, 5, 3, 4), (3, 8, 2, 2)])
def test_sequence_backward_matches_numeric_gradients(ref, N, T, D, H):
    rng = np.random.default_rng(N * 1000 + T * 100 + D * 10 + H)
    inputs = _sequence_inputs(rng, N, T, D, H)
    dh = rng.normal(size=(N, T, H))

    def loss(x, h0, Wx, Wh, b):
        return np.sum(ref.lstm_forward(x, h0, Wx, Wh, b)[0] * dh)

    _, cache = ref.lstm_forward(**inputs)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "b"], ref.lstm_backward(dh, cache)))
    errors = check_gradients(loss, inputs, grads, tol=SEQUENCE_TOL)
    assert max(errors.values()) < SEQUENCE_TOL


def test_forward_starts_from_an_empty_memory_and_caches_it(ref):
    rng = np.random.default_rng(11)
    inputs = _sequence_inputs(rng, 2, 4, 3, 5)
    h, cache = ref.lstm_forward(**inputs)
    h_t, c_t = inputs["h0"], np.zeros((2, 5))
    for t in range(4):
        h_t, c_t, _ = ref.lstm_step_forward(inputs["x"][:, t], h_t, c_t, inputs["Wx"], inputs["Wh"],
                                            inputs["b"])
        np.testing.assert_array_equal(h[:, t], h_t)
        np.testing.assert_array_equal(cache[t][9], c_t)  # cache[t][9] is c_t, as documented


def test_float32_in_float32_out(ref):
    inputs = {k: v.astype(np.float32) for k, v in _sequence_inputs(np.random.default_rng(2), 2, 3, 2, 3).items()}
    h, cache = ref.lstm_forward(**inputs)
    assert h.dtype == np.float32
    dx, dh0, dWx, dWh, db = ref.lstm_backward(np.ones((2, 3, 3), dtype=np.float32), cache)
    assert dWx.dtype == dWh.dtype == np.float32


def _ours_from_torch(weight):
    """(4H, K) in torch's i, f, g, o order -> (K, 4H) in ours, i, f, o, g; written out by hand."""
    i, f, g, o = weight.detach().chunk(4, dim=0)
    return torch.cat([i, f, o, g], dim=0).T.numpy().copy()


@pytest.mark.parametrize("N, T, D, H, batch_first", [(1, 1, 1, 1, True), (3, 6, 4, 5, True),
                                                      (2, 9, 3, 2, False), (4, 3, 5, 7, True)])
def test_agrees_with_torch_lstm_forward_and_every_gradient(ref, N, T, D, H, batch_first):
    torch.manual_seed(N + T + D + H)
    lstm = torch.nn.LSTM(D, H, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():  # nonzero, unequal biases, so that adding the two is tested
        lstm.bias_ih_l0.uniform_(-1, 1)
        lstm.bias_hh_l0.uniform_(-1, 1)
    Wx, Wh = _ours_from_torch(lstm.weight_ih_l0), _ours_from_torch(lstm.weight_hh_l0)
    b = _ours_from_torch((lstm.bias_ih_l0 + lstm.bias_hh_l0)[:, None])[0]
    rng = np.random.default_rng(0)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))

    x_t = torch.tensor(x, requires_grad=True)
    h0_t = torch.tensor(h0[None], requires_grad=True)
    out, _ = lstm(x_t if batch_first else x_t.transpose(0, 1), (h0_t, torch.zeros(1, N, H, dtype=torch.float64)))
    out = out if batch_first else out.transpose(0, 1)
    out.backward(torch.tensor(dh))

    h, cache = ref.lstm_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = ref.lstm_backward(dh, cache)
    expected = {"h": out.detach().numpy(), "dx": x_t.grad.numpy(), "dh0": h0_t.grad[0].numpy(),
                "dWx": _ours_from_torch(lstm.weight_ih_l0.grad), "dWh": _ours_from_torch(lstm.weight_hh_l0.grad),
                "db": _ours_from_torch(lstm.bias_ih_l0.grad[:, None])[0]}
    ours = {"h": h, "dx": dx, "dh0": dh0, "dWx": dWx, "dWh": dWh, "db": db}
    for name, value in expected.items():
        assert ours[name].shape == value.shape, name
        assert np.max(np.abs(ours[name] - value)) < TORCH_TOL, name
    # the two biases get the same gradient (computed separately: equal to rounding), and it
    # is db, not twice it
    np.testing.assert_allclose(lstm.bias_ih_l0.grad.numpy(), lstm.bias_hh_l0.grad.numpy(),
                               rtol=1e-12, atol=1e-15)
