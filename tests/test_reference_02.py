"""The references of notebook 02 against numeric gradients (float64) and PyTorch autograd."""
import numpy as np
import pytest
import torch

from autograder.checks.notebooks import bptt
from autograder.checks.reference import load_reference
from rnncourse.gradcheck import numeric_grad, numeric_grad_array, rel_error

STEP_TOL = 1e-8  # one step: central differences are good to ~1e-10 here
SEQUENCE_TOL = 1e-6  # a whole sequence: the errors of the steps add up
PARAMS = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")


@pytest.fixture(scope="module")
def ref02():
    return load_reference(bptt.NOTEBOOK.id)


def _model(rng, V=7, E=4, H=5):
    return {"W_embed": rng.normal(size=(V, E)), "Wx": rng.normal(scale=0.6, size=(E, H)),
            "Wh": rng.normal(scale=0.5, size=(H, H)), "b": rng.normal(scale=0.1, size=H),
            "W_out": rng.normal(size=(H, V)), "b_out": rng.normal(scale=0.1, size=V)}


def _chunk_loss(ref, params, x, y, h_prev):
    embedded, _ = ref.word_embedding_forward(x, params["W_embed"])
    h, _ = ref.rnn_forward(embedded, h_prev, params["Wx"], params["Wh"], params["b"])
    scores, _ = ref.temporal_affine_forward(h, params["W_out"], params["b_out"])
    return ref.temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))[0]


# ---------------------------------------------------------------- numeric gradients
@pytest.mark.parametrize("N, D, H", [(1, 1, 1), (3, 5, 4), (2, 4, 6)])
def test_rnn_step_backward_matches_numeric_gradients(ref02, N, D, H):
    rng = np.random.default_rng(N * 100 + D * 10 + H)
    inputs = [rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(scale=0.5, size=(D, H)),
              rng.normal(scale=0.5, size=(H, H)), rng.normal(size=H)]
    dh = rng.normal(size=(N, H))
    _, cache = ref02.rnn_step_forward(*inputs)
    analytic = ref02.rnn_step_backward(dh, cache)
    for k, grad in enumerate(analytic):
        def h_of(value, k=k):
            args = list(inputs)
            args[k] = value
            return ref02.rnn_step_forward(*args)[0]
        assert rel_error(grad, numeric_grad_array(h_of, inputs[k], dh)) < STEP_TOL, k


@pytest.mark.parametrize("N, T, D, H", [(1, 1, 2, 3), (2, 6, 3, 4), (3, 4, 4, 2)])
def test_rnn_backward_matches_numeric_gradients(ref02, N, T, D, H):
    rng = np.random.default_rng(N * 1000 + T * 100 + D * 10 + H)
    inputs = [rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(scale=0.5, size=(D, H)),
              rng.normal(scale=0.5, size=(H, H)), rng.normal(size=H)]
    dh = rng.normal(size=(N, T, H))
    _, cache = ref02.rnn_forward(*inputs)
    analytic = ref02.rnn_backward(dh, cache)
    for k, grad in enumerate(analytic):
        def h_of(value, k=k):
            args = list(inputs)
            args[k] = value
            return ref02.rnn_forward(*args)[0]
        assert rel_error(grad, numeric_grad_array(h_of, inputs[k], dh)) < SEQUENCE_TOL, k


def test_word_embedding_backward_matches_numeric_gradients_with_repeated_ids(ref02):
    rng = np.random.default_rng(0)
    x = np.array([[1, 3, 3, 0], [3, 2, 1, 3], [0, 0, 0, 0]])
    W = rng.normal(size=(5, 3))
    dout = rng.normal(size=(3, 4, 3))
    _, cache = ref02.word_embedding_forward(x, W)
    numeric = numeric_grad_array(lambda W: ref02.word_embedding_forward(x, W)[0], W, dout)
    assert rel_error(ref02.word_embedding_backward(dout, cache), numeric) < STEP_TOL


def test_temporal_affine_backward_matches_numeric_gradients(ref02):
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5)), rng.normal(size=5)]
    dout = rng.normal(size=(2, 3, 5))
    _, cache = ref02.temporal_affine_forward(*inputs)
    for k, grad in enumerate(ref02.temporal_affine_backward(dout, cache)):
        def out_of(value, k=k):
            args = list(inputs)
            args[k] = value
            return ref02.temporal_affine_forward(*args)[0]
        assert rel_error(grad, numeric_grad_array(out_of, inputs[k], dout)) < STEP_TOL, k


@pytest.mark.parametrize("h_prev_scale", [0.0, 0.7])
def test_tbptt_step_gradients_match_numeric_gradients_of_the_chunk_loss(ref02, h_prev_scale):
    rng = np.random.default_rng(2)
    params = _model(rng)
    x, y = rng.integers(0, 7, size=(3, 6)), rng.integers(0, 7, size=(3, 6))
    h_prev = h_prev_scale * rng.normal(size=(3, 5))
    loss, grads, h_last = ref02.tbptt_step(params, x, y, h_prev)
    assert loss == pytest.approx(_chunk_loss(ref02, params, x, y, h_prev), rel=1e-12)
    for name in PARAMS:
        def loss_of(value, name=name):
            return _chunk_loss(ref02, dict(params, **{name: value}), x, y, h_prev)
        assert rel_error(grads[name], numeric_grad(loss_of, params[name])) < SEQUENCE_TOL, name


# ---------------------------------------------------------------- PyTorch as the oracle
def _torch(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


def test_rnn_step_and_sequence_backward_match_torch_autograd(ref02):
    rng = np.random.default_rng(3)
    N, T, D, H = 3, 7, 4, 5
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    Wx, Wh, b = rng.normal(scale=0.5, size=(D, H)), rng.normal(scale=0.5, size=(H, H)), rng.normal(size=H)
    dh = rng.normal(size=(N, T, H))
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # our layout: h @ Wh, PyTorch's: h @ weight_hh.T
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
    tx, th0 = _torch(x), _torch(h0)
    out, _ = rnn(tx, th0[None])
    out.backward(torch.from_numpy(dh))

    h, cache = ref02.rnn_forward(x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    dx, dh0, dWx, dWh, db = ref02.rnn_backward(dh, cache)
    for ours, theirs in [(dx, tx.grad), (dh0, th0.grad), (dWx, rnn.weight_ih_l0.grad.T),
                         (dWh, rnn.weight_hh_l0.grad.T), (db, rnn.bias_ih_l0.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)

    # one step is the sequence of length 1
    step_dx, step_dh_prev, *_ = ref02.rnn_step_backward(dh[:, 0], cache[0])
    tx1, th = _torch(x[:, 0]), _torch(h0)
    torch.tanh(tx1 @ torch.from_numpy(Wx) + th @ torch.from_numpy(Wh) + torch.from_numpy(b)).backward(
        torch.from_numpy(dh[:, 0]))
    np.testing.assert_allclose(step_dx, tx1.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(step_dh_prev, th.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_embedding_and_temporal_affine_backward_match_torch(ref02):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 6, size=(4, 5))
    W, dout = _torch(rng.normal(size=(6, 3))), rng.normal(size=(4, 5, 3))
    torch.nn.functional.embedding(torch.from_numpy(x), W).backward(torch.from_numpy(dout))
    dW = ref02.word_embedding_backward(dout, (x, (6, 3)))
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-12, atol=1e-14)

    h, w, b = _torch(rng.normal(size=(4, 5, 3))), _torch(rng.normal(size=(3, 6))), _torch(rng.normal(size=6))
    dscores = rng.normal(size=(4, 5, 6))
    (h @ w + b).backward(torch.from_numpy(dscores))
    dx, dw, db = ref02.temporal_affine_backward(dscores, (h.detach().numpy(), w.detach().numpy()))
    for ours, theirs in [(dx, h.grad), (dw, w.grad), (db, b.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("max_norm", [0.5, 1e6])  # above and below the global norm
def test_clip_grad_norm_matches_torch_clip_grad_norm_(ref02, max_norm):
    rng = np.random.default_rng(5)
    grads = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5), "c": 10 * rng.normal(size=(2, 2))}
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for tensor, g in zip(tensors, grads.values()):
        tensor.grad = torch.from_numpy(g.copy())
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm).item()
    arrays = list(grads.values())  # the same array objects: clipping is in place
    assert ref02.clip_grad_norm(grads, max_norm) == pytest.approx(expected_norm, rel=1e-12)
    for array, tensor in zip(arrays, tensors):
        # torch divides by (norm + 1e-6): equal to about 1e-6 relative
        np.testing.assert_allclose(array, tensor.grad.numpy(), rtol=1e-5)
    assert all(array is grads[name] for array, name in zip(arrays, grads))


class _TorchCharRNN(torch.nn.Module):
    """The notebook's model in PyTorch, float64, its weights copied from a parameter dict."""

    def __init__(self, params):
        super().__init__()
        self.p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}

    def loss(self, x, y, h):
        p = self.p
        e = p["W_embed"][torch.from_numpy(x)]  # (N, T, E)
        states = []
        for t in range(x.shape[1]):
            h = torch.tanh(e[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"])
            states.append(h)
        scores = torch.stack(states, 1) @ p["W_out"] + p["b_out"]
        loss = torch.nn.functional.cross_entropy(scores.flatten(0, 1), torch.from_numpy(y).flatten())
        return loss, h


def test_tbptt_over_chunks_matches_torch_with_detach(ref02):
    rng = np.random.default_rng(6)
    params = _model(rng)
    N, T, chunks = 3, 4, 3
    x, y = rng.integers(0, 7, size=(N, T * chunks)), rng.integers(0, 7, size=(N, T * chunks))
    model = _TorchCharRNN(params)
    h_ours, h_torch = np.zeros((N, 5)), torch.zeros(N, 5, dtype=torch.float64)
    for k in range(chunks):
        window = slice(k * T, (k + 1) * T)
        loss, grads, h_ours = ref02.tbptt_step(params, x[:, window], y[:, window], h_ours)
        for p in model.p.values():
            p.grad = None
        torch_loss, h_torch = model.loss(x[:, window], y[:, window], h_torch)
        torch_loss.backward()
        h_torch = h_torch.detach()  # the truncation
        assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
        np.testing.assert_allclose(h_ours, h_torch.numpy(), rtol=1e-12, atol=1e-14)
        for name in PARAMS:
            np.testing.assert_allclose(grads[name], model.p[name].grad.numpy(), rtol=1e-9, atol=1e-13,
                                       err_msg=f"chunk {k}: {name}")


def test_one_chunk_from_zero_is_full_bptt_and_more_chunks_are_not(ref02):
    rng = np.random.default_rng(7)
    params = _model(rng)
    N, T = 2, 8
    x, y = rng.integers(0, 7, size=(N, T)), rng.integers(0, 7, size=(N, T))
    model = _TorchCharRNN(params)
    full_loss, _ = model.loss(x, y, torch.zeros(N, 5, dtype=torch.float64))
    full_loss.backward()
    _, grads, _ = ref02.tbptt_step(params, x, y, np.zeros((N, 5)))
    for name in PARAMS:
        np.testing.assert_allclose(grads[name], model.p[name].grad.numpy(), rtol=1e-9, atol=1e-13)
    # the second half of the sequence as its own chunk: Wh loses the gradient through the cut
    _, _, h_mid = ref02.tbptt_step(params, x[:, :4], y[:, :4], np.zeros((N, 5)))
    _, truncated, _ = ref02.tbptt_step(params, x[:, 4:], y[:, 4:], h_mid)
    second = _TorchCharRNN(params)
    _, h_first = second.loss(x[:, :4], y[:, :4], torch.zeros(N, 5, dtype=torch.float64))
    untruncated, _ = second.loss(x[:, 4:], y[:, 4:], h_first)  # no detach: flows into the first half
    untruncated.backward()
    assert rel_error(truncated["Wh"], second.p["Wh"].grad.numpy()) > 1e-3
