"""rnncourse.torch_bridge: PyTorch's LSTM layout (i, f, g, o; (4H, K); two biases) and ours."""
import numpy as np
import pytest
import torch

from rnncourse.torch_bridge import (
    lstm_grads_from_torch,
    lstm_params_from_torch,
    lstm_params_to_torch,
    reorder_gates,
    torch_lstm_forward_backward,
)


def test_reorder_gates_moves_whole_blocks():
    blocks = np.repeat(np.arange(4), 2)  # block k holds k: i=0, f=1, g=2, o=3 in torch's order
    np.testing.assert_array_equal(reorder_gates(blocks, "ifgo", "ifog"), [0, 0, 1, 1, 3, 3, 2, 2])
    matrix = np.arange(24).reshape(8, 3)
    there_and_back = reorder_gates(reorder_gates(matrix, "ifgo", "ifog", axis=0), "ifog", "ifgo", axis=0)
    np.testing.assert_array_equal(there_and_back, matrix)


@pytest.mark.parametrize("array, source, target", [(np.zeros(8), "ifgo", "ifgx"), (np.zeros(6), "ifgo", "ifog"),
                                                   (np.zeros(8), "iigo", "igio")])
def test_reorder_gates_refuses_what_is_not_a_reordering(array, source, target):
    with pytest.raises(ValueError):
        reorder_gates(array, source, target)


def _lstm(D=3, H=2, seed=0):
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.bias_hh_l0.uniform_(-1, 1)
    return lstm


def test_params_from_torch_transpose_reorder_and_add_the_biases():
    lstm = _lstm(D=3, H=2)
    Wx, Wh, b = lstm_params_from_torch(lstm)
    assert Wx.shape == (3, 8) and Wh.shape == (2, 8) and b.shape == (8,) and Wx.dtype == np.float64
    W_ih, W_hh = lstm.weight_ih_l0.detach().numpy(), lstm.weight_hh_l0.detach().numpy()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    # our output gate, block 2, is torch's block 3; our candidate, block 3, is torch's block 2
    np.testing.assert_array_equal(Wx[:, 4:6], W_ih[6:8].T)
    np.testing.assert_array_equal(Wx[:, 6:8], W_ih[4:6].T)
    np.testing.assert_array_equal(Wh[:, 0:4], W_hh[0:4].T)
    np.testing.assert_array_equal(b, bias[[0, 1, 2, 3, 6, 7, 4, 5]])


def test_params_to_torch_and_back_is_the_identity_and_zeroes_bias_hh():
    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.normal(size=(3, 8)), rng.normal(size=(2, 8)), rng.normal(size=8)
    lstm = _lstm(D=3, H=2)
    lstm_params_to_torch(lstm, Wx, Wh, b)
    assert not lstm.bias_hh_l0.detach().any()
    for ours, back in zip((Wx, Wh, b), lstm_params_from_torch(lstm)):
        np.testing.assert_array_equal(ours, back)


def test_params_to_torch_refuses_a_wrong_size():
    with pytest.raises(ValueError, match="cannot fill"):
        lstm_params_to_torch(_lstm(D=3, H=2), np.zeros((4, 8)), np.zeros((2, 8)), np.zeros(8))


def test_a_stacked_or_two_way_lstm_is_refused():
    for lstm in (torch.nn.LSTM(3, 2, num_layers=2), torch.nn.LSTM(3, 2, bidirectional=True)):
        with pytest.raises(ValueError, match="one-layer"):
            lstm_params_from_torch(lstm)


def test_grads_need_a_backward_first():
    with pytest.raises(ValueError, match="backward"):
        lstm_grads_from_torch(_lstm())


def test_forward_backward_reads_batch_first_either_way():
    rng = np.random.default_rng(1)
    x, h0, dh = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 4, 2))
    first = _lstm(seed=5)
    second = torch.nn.LSTM(3, 2, batch_first=False, dtype=torch.float64)
    second.load_state_dict(first.state_dict())
    a, b = torch_lstm_forward_backward(first, x, h0, dh), torch_lstm_forward_backward(second, x, h0, dh)
    assert a.keys() == {"h", "dx", "dh0", "dWx", "dWh", "db"}
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-14)


def test_gradients_do_not_accumulate_across_calls():
    rng = np.random.default_rng(2)
    x, h0, dh = rng.normal(size=(1, 3, 3)), rng.normal(size=(1, 2)), rng.normal(size=(1, 3, 2))
    lstm = _lstm()
    once, twice = torch_lstm_forward_backward(lstm, x, h0, dh), torch_lstm_forward_backward(lstm, x, h0, dh)
    np.testing.assert_array_equal(once["dWx"], twice["dWx"])


# ------------------------------------------------------------------------------------ GRU
from rnncourse.torch_bridge import (  # noqa: E402
    gru_params_from_torch,
    gru_params_to_torch,
    lecture_gru_autograd,
)


@pytest.mark.parametrize("module", [torch.nn.GRU(3, 2, dtype=torch.float64),
                                    torch.nn.GRUCell(3, 2, dtype=torch.float64)], ids=["GRU", "GRUCell"])
def test_gru_params_from_torch_transpose_and_keep_both_biases(module):
    Wx, Wh, bx, bh = gru_params_from_torch(module)
    weight_ih = module.weight_ih if isinstance(module, torch.nn.GRUCell) else module.weight_ih_l0
    bias_hh = module.bias_hh if isinstance(module, torch.nn.GRUCell) else module.bias_hh_l0
    assert Wx.shape == (3, 6) and Wh.shape == (2, 6) and bx.shape == bh.shape == (6,)
    np.testing.assert_array_equal(Wx, weight_ih.detach().numpy().T)  # blocks r, z, n in both
    np.testing.assert_array_equal(bh, bias_hh.detach().numpy())
    Wx[0, 0] = 99.0  # copies: the module is untouched
    assert weight_ih[0, 0].item() != 99.0


def test_gru_params_round_trip_and_cell_matches_layer():
    torch.manual_seed(1)
    layer = torch.nn.GRU(3, 4, batch_first=True, dtype=torch.float64)
    cell = torch.nn.GRUCell(3, 4, dtype=torch.float64)
    gru_params_to_torch(cell, *gru_params_from_torch(layer))
    for mine, theirs in zip(gru_params_from_torch(cell), gru_params_from_torch(layer)):
        np.testing.assert_array_equal(mine, theirs)
    x, h0 = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(cell(x, h0).numpy(), layer(x[:, None], h0[None])[0][:, 0].numpy(), atol=1e-14)


def test_gru_bridge_refuses_stacks_and_missing_biases():
    with pytest.raises(ValueError):
        gru_params_from_torch(torch.nn.GRU(3, 2, num_layers=2))
    with pytest.raises(ValueError):
        gru_params_from_torch(torch.nn.GRU(3, 2, bidirectional=True))
    no_bias = torch.nn.GRU(3, 2, bias=False)
    np.testing.assert_array_equal(gru_params_from_torch(no_bias)[3], np.zeros(6))
    with pytest.raises(ValueError):
        gru_params_to_torch(no_bias, np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6), np.zeros(6))
    with pytest.raises(ValueError):
        gru_params_to_torch(torch.nn.GRU(3, 2), np.zeros((6, 3)), np.zeros((2, 6)), np.zeros(6), np.zeros(6))


def test_lecture_gru_autograd_is_the_lecture_gru_and_its_gradients():
    rng = np.random.default_rng(0)
    N, T, D, H = 2, 3, 3, 2
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    Wx, Wh, b = rng.normal(size=(D, 3 * H)), rng.normal(size=(H, 3 * H)), rng.normal(size=3 * H)
    out = lecture_gru_autograd(x, h0, Wx, Wh, b, dh)
    sigmoid = lambda a: 1 / (1 + np.exp(-a))
    h = h0
    for t in range(T):  # the lecture's equations, once more by hand
        r = sigmoid(x[:, t] @ Wx[:, :H] + h @ Wh[:, :H] + b[:H])
        z = sigmoid(x[:, t] @ Wx[:, H:2 * H] + h @ Wh[:, H:2 * H] + b[H:2 * H])
        h = z * h + (1 - z) * np.tanh(x[:, t] @ Wx[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + b[2 * H:])
        np.testing.assert_allclose(out["h"][:, t], h, rtol=1e-13)
    # the gradient of b by a central difference on one element
    step = 1e-6
    bump = np.zeros_like(b)
    bump[4] = step
    loss = lambda bias: np.sum(lecture_gru_autograd(x, h0, Wx, Wh, bias, dh)["h"] * dh)
    assert abs((loss(b + bump) - loss(b - bump)) / (2 * step) - out["db"][4]) < 1e-7
    assert set(out) == {"h", "dx", "dh0", "dWx", "dWh", "db"}
