"""The GRU references of notebook 04: numeric gradients (float64) and PyTorch.

PyTorch is the referee twice: ``torch.nn.GRU`` for PyTorch's form (weights transposed by hand
here, not through rnncourse.torch_bridge, so that a mistake shared by the bridge and the
reference could not cancel out), and autograd on the lecture's equations written out here.
"""
import numpy as np
import pytest
import torch

from autograder.checks.notebooks import gru
from autograder.checks.reference import load_reference
from rnncourse.gradcheck import check_gradients, numeric_grad_array4, rel_error

STEP_TOL = 1e-8  # relative error of a step's gradients against a fourth-order difference
SEQUENCE_TOL = 1e-6
TORCH_TOL = 1e-10  # largest absolute difference from PyTorch in float64


@pytest.fixture(scope="module")
def ref():
    return load_reference(gru.NOTEBOOK.id)


def _step_inputs(rng, N, D, H):
    return {"x": rng.normal(size=(N, D)), "prev_h": rng.normal(size=(N, H)),
            "Wx": rng.normal(scale=0.5, size=(D, 3 * H)), "Wh": rng.normal(scale=0.5, size=(H, 3 * H)),
            "b": rng.normal(scale=0.5, size=3 * H)}


def _sequence_inputs(rng, N, T, D, H):
    return {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
            "Wx": rng.normal(scale=0.5, size=(D, 3 * H)), "Wh": rng.normal(scale=0.5, size=(H, 3 * H)),
            "b": rng.normal(scale=0.5, size=3 * H)}


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))



def test_the_blocks_are_r_z_candidate_and_z_keeps_the_old_state(ref):
    # no weights on x; Wh only in the candidate block, so r matters through (r * prev_h) @ Wh_n
    H = 2
    b = np.repeat([0.3, -1.2, 0.7], H)  # r, z, candidate
    Wh = np.zeros((H, 3 * H))
    Wh[:, 2 * H:] = [[0.5, -0.4], [0.2, 0.9]]
    prev_h = np.array([[0.5, -2.0]])
    next_h, cache = ref.gru_step_forward(np.zeros((1, 3)), prev_h, np.zeros((3, 3 * H)), Wh, b)
    r, z = _sigmoid(0.3), _sigmoid(-1.2)
    h_tilde = np.tanh(0.7 + (r * prev_h) @ Wh[:, 2 * H:])
    np.testing.assert_allclose(next_h, z * prev_h + (1 - z) * h_tilde, rtol=1e-15)
    for k, value in [(4, r), (5, z)]:
        np.testing.assert_allclose(cache[k], np.full((1, H), value), rtol=1e-15)
    np.testing.assert_allclose(cache[6], h_tilde, rtol=1e-15)


def test_saturated_gates_are_finite_and_silent(ref):
    inputs = _step_inputs(np.random.default_rng(3), 2, 3, 4)
    inputs["Wx"] *= 2000
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        next_h, _ = ref.gru_step_forward(**inputs)
        torch_h, _ = ref.pytorch_gru_step_forward(inputs["x"], inputs["prev_h"], inputs["Wx"], inputs["Wh"],
                                                  inputs["b"], inputs["b"])
    assert np.all(np.isfinite(next_h)) and np.all(np.isfinite(torch_h))


@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (3, 4, 5), (2, 6, 3), (4, 2, 2)])
@pytest.mark.parametrize("seed", [0, 1])
def test_step_backward_matches_numeric_gradients(ref, N, D, H, seed):
    rng = np.random.default_rng([seed, N, D, H])
    inputs = _step_inputs(rng, N, D, H)
    dnext_h = rng.normal(size=(N, H))
    _, cache = ref.gru_step_forward(**inputs)
    grads = ref.gru_step_backward(dnext_h, cache)
    for name, grad in zip(["x", "prev_h", "Wx", "Wh", "b"], grads):
        numeric = numeric_grad_array4(lambda value: ref.gru_step_forward(**{**inputs, name: value})[0],
                                inputs[name], dnext_h)
        assert grad.shape == inputs[name].shape, name
        assert rel_error(grad, numeric) < STEP_TOL, name


def test_dprev_h_is_diag_z_when_nothing_else_depends_on_prev_h(ref):
    # with Wh = 0 the only road from prev_h to next_h is z * prev_h: dprev_h = dnext_h * z
    rng = np.random.default_rng(7)
    inputs = {**_step_inputs(rng, 3, 2, 4), "Wh": np.zeros((4, 12))}
    dnext_h = rng.normal(size=(3, 4))
    _, cache = ref.gru_step_forward(**inputs)
    np.testing.assert_array_equal(ref.gru_step_backward(dnext_h, cache)[1], dnext_h * cache[5])


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 2, 3), (2, 5, 3, 4), (3, 8, 2, 2)])
def test_sequence_backward_matches_numeric_gradients(ref, N, T, D, H):
    rng = np.random.default_rng(N * 1000 + T * 100 + D * 10 + H)
    inputs = _sequence_inputs(rng, N, T, D, H)
    dh = rng.normal(size=(N, T, H))

    def loss(x, h0, Wx, Wh, b):
        return np.sum(ref.gru_forward(x, h0, Wx, Wh, b)[0] * dh)

    _, cache = ref.gru_forward(**inputs)
    grads = dict(zip(["x", "h0", "Wx", "Wh", "b"], ref.gru_backward(dh, cache)))
    errors = check_gradients(loss, inputs, grads, tol=SEQUENCE_TOL)
    assert max(errors.values()) < SEQUENCE_TOL


def _lecture_gru_autograd(x, h0, Wx, Wh, b, dh):
    """The lecture's equations with tensors, written out here (independent of the bridge)."""
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, h0, Wx, Wh, b)]
    x_, h, Wx_, Wh_, b_ = leaves
    H, states = h.shape[1], []
    Wr, Wz, Wn = Wh_.split(H, dim=1)
    br, bz, bn = b_.split(H)
    Xr, Xz, Xn = Wx_.split(H, dim=1)
    for t in range(x_.shape[1]):
        r = torch.sigmoid(x_[:, t] @ Xr + h @ Wr + br)
        z = torch.sigmoid(x_[:, t] @ Xz + h @ Wz + bz)
        h = z * h + (1 - z) * torch.tanh(x_[:, t] @ Xn + (r * h) @ Wn + bn)
        states.append(h)
    out = torch.stack(states, dim=1)
    out.backward(torch.tensor(dh))
    return [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (3, 6, 4, 5), (2, 9, 3, 2)])
def test_agrees_with_autograd_on_the_lecture_equations(ref, N, T, D, H):
    inputs = _sequence_inputs(np.random.default_rng(T), N, T, D, H)
    dh = np.random.default_rng(99).normal(size=(N, T, H))
    h, cache = ref.gru_forward(**inputs)
    ours = [h, *ref.gru_backward(dh, cache)]
    theirs = _lecture_gru_autograd(*inputs.values(), dh)
    theirs = [theirs[0], theirs[1], theirs[2], theirs[3], theirs[4], theirs[5]]
    for name, mine, expected in zip(["h", "dx", "dh0", "dWx", "dWh", "db"], ours, theirs):
        assert mine.shape == expected.shape, name
        assert np.max(np.abs(mine - expected)) < TORCH_TOL, name


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 1, 1), (3, 6, 4, 5), (2, 4, 3, 7)])
def test_pytorch_form_agrees_with_torch_nn_gru(ref, N, T, D, H):
    torch.manual_seed(N + T + D + H)
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # unequal biases, so that keeping b_hn inside the reset is tested
        gru.bias_ih_l0.uniform_(-1, 1)
        gru.bias_hh_l0.uniform_(-1, 1)
    Wx, Wh = gru.weight_ih_l0.detach().numpy().T, gru.weight_hh_l0.detach().numpy().T
    bx, bh = gru.bias_ih_l0.detach().numpy(), gru.bias_hh_l0.detach().numpy()
    rng = np.random.default_rng(0)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    with torch.no_grad():
        expected = gru(torch.tensor(x), torch.tensor(h0)[None])[0].numpy()
    h = h0
    for t in range(T):
        h, _ = ref.pytorch_gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
        assert np.max(np.abs(h - expected[:, t])) < TORCH_TOL
    # and the lecture's form is a different function on the same weights
    lecture = ref.gru_forward(x, h0, Wx, Wh, bx + bh)[0]
    assert np.max(np.abs(lecture - expected)) > 1e-3


def test_stacked_layers_feed_each_other_and_one_layer_is_gru_forward(ref):
    rng = np.random.default_rng(5)
    N, T, D, H = 2, 4, 3, 5
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(2, N, H))
    layers = [tuple(_sequence_inputs(rng, N, T, d, H)[k] for k in ("Wx", "Wh", "b")) for d in (D, H)]
    out, cache = ref.stacked_gru_forward(x, h0, layers)
    bottom = ref.gru_forward(x, h0[0], *layers[0])[0]
    np.testing.assert_array_equal(out, ref.gru_forward(bottom, h0[1], *layers[1])[0])
    assert len(cache) == 2
    one, _ = ref.stacked_gru_forward(x, h0[:1], layers[:1])
    np.testing.assert_array_equal(one, bottom)


def test_bidirectional_layer_matches_torch_layout_of_directions(ref):
    # PyTorch's bidirectional GRU computes its backward direction the same way; with PyTorch's
    # form in place of the lecture's the two must agree, which tests the flips and the halves
    torch.manual_seed(0)
    N, T, D, H = 2, 5, 3, 4
    gru = torch.nn.GRU(D, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    x, h0 = np.random.default_rng(1).normal(size=(N, T, D)), np.random.default_rng(2).normal(size=(2, N, H))
    with torch.no_grad():
        expected = gru(torch.tensor(x), torch.tensor(h0))[0].numpy()

    def params(suffix):
        return tuple(getattr(gru, f"{name}_l0{suffix}").detach().numpy().T
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def torch_form_forward(x, h0, Wx, Wh, bx, bh):  # PyTorch's GRU over a sequence, from the reference step
        h, states = h0, []
        for t in range(x.shape[1]):
            h, _ = ref.pytorch_gru_step_forward(x[:, t], h, Wx, Wh, bx, bh)
            states.append(h)
        return np.stack(states, axis=1), None

    from autograder.checks.framework import rebind
    bidirectional = rebind(ref.bidirectional_gru_forward, gru_forward=torch_form_forward)
    out, _ = bidirectional(x, h0, params(""), params("_reverse"))
    assert out.shape == (N, T, 2 * H)
    assert np.max(np.abs(out - expected)) < TORCH_TOL


def test_float32_in_float32_out(ref):
    inputs = {k: v.astype(np.float32) for k, v in _sequence_inputs(np.random.default_rng(2), 2, 3, 2, 3).items()}
    h, cache = ref.gru_forward(**inputs)
    assert h.dtype == np.float32
    dx, dh0, dWx, dWh, db = ref.gru_backward(np.ones((2, 3, 3), dtype=np.float32), cache)
    assert dWx.dtype == dWh.dtype == np.float32
