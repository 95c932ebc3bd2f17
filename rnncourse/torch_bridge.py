"""Moving LSTM weights and gradients between PyTorch's layout and the course's.

The course's NumPy LSTM (notebook 03) stacks its four gates along the LAST axis, in the order
**i, f, o, g** (input, forget, output, candidate)::

    a = x @ Wx + h_prev @ Wh + b          # Wx (D, 4H), Wh (H, 4H), b (4H,), a (N, 4H)
    i, f, o, g = a[:, :H], a[:, H:2H], a[:, 2H:3H], a[:, 3H:]   (then sigmoid, ..., tanh)

``torch.nn.LSTM`` stacks them along the FIRST axis, in the order **i, f, g, o**, and has two
biases that are simply added::

    a = x @ weight_ih_l0.T + bias_ih_l0 + h_prev @ weight_hh_l0.T + bias_hh_l0
    # weight_ih_l0 (4H, D), weight_hh_l0 (4H, H), bias_ih_l0 and bias_hh_l0 (4H,)

So going from PyTorch to us: transpose, swap the last two gate blocks, add the biases. Since
``b = bias_ih + bias_hh``, the gradient of the loss is the same for b and for each of the two
biases: ``db = bias_ih.grad = bias_hh.grad`` (not their sum).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "OUR_LSTM_GATES",
    "TORCH_LSTM_GATES",
    "reorder_gates",
    "lstm_params_from_torch",
    "lstm_params_to_torch",
    "lstm_grads_from_torch",
    "torch_lstm_forward_backward",
]

OUR_LSTM_GATES = "ifog"
TORCH_LSTM_GATES = "ifgo"


def reorder_gates(array, source: str, target: str, axis: int = -1) -> np.ndarray:
    """Reorder the gate blocks of a stacked array from one gate order to another.

    Args:
        array: any array whose ``axis`` has ``len(source)`` equal blocks, one per gate.
        source: the gate order of ``array``, one letter per gate, e.g. ``"ifgo"``.
        target: the wanted order, a permutation of ``source``, e.g. ``"ifog"``.
        axis: the stacked axis.

    Returns:
        A new array of the same shape with its blocks in the ``target`` order.
    """
    array = np.asarray(array)
    if sorted(source) != sorted(target) or len(set(source)) != len(source):
        raise ValueError(f"{target!r} is not a reordering of the gates {source!r}")
    if array.shape[axis] % len(source):
        raise ValueError(f"axis {axis} of size {array.shape[axis]} is not {len(source)} equal gate blocks")
    blocks = dict(zip(source, np.split(array, len(source), axis=axis)))
    return np.concatenate([blocks[gate] for gate in target], axis=axis)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().to(torch.float64).numpy().copy()


def _check_single_layer(lstm: torch.nn.LSTM) -> None:
    if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size:
        raise ValueError("only a one-layer, one-direction LSTM without projection maps to "
                         "(Wx, Wh, b)")


def lstm_params_from_torch(lstm: torch.nn.LSTM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The course's (Wx, Wh, b) holding the weights of a one-layer ``torch.nn.LSTM``.

    Args:
        lstm: a ``torch.nn.LSTM(D, H)`` with one layer and one direction.

    Returns:
        Wx: float64, shape (D, 4H); Wh: float64, shape (H, 4H); b: float64, shape (4H,);
        gates in the order i, f, o, g. Copies: changing them does not change ``lstm``.
    """
    _check_single_layer(lstm)
    Wx = reorder_gates(_numpy(lstm.weight_ih_l0), TORCH_LSTM_GATES, OUR_LSTM_GATES, axis=0).T
    Wh = reorder_gates(_numpy(lstm.weight_hh_l0), TORCH_LSTM_GATES, OUR_LSTM_GATES, axis=0).T
    b = np.zeros(Wx.shape[1])
    if lstm.bias:
        b = reorder_gates(_numpy(lstm.bias_ih_l0) + _numpy(lstm.bias_hh_l0),
                          TORCH_LSTM_GATES, OUR_LSTM_GATES)
    return np.ascontiguousarray(Wx), np.ascontiguousarray(Wh), b


def lstm_params_to_torch(lstm: torch.nn.LSTM, Wx, Wh, b) -> None:
    """Copy the course's (Wx, Wh, b) into a one-layer ``torch.nn.LSTM``, in place.

    The whole bias goes into ``bias_ih_l0``; ``bias_hh_l0`` is set to zero.

    Args:
        lstm: a ``torch.nn.LSTM(D, H)`` with one layer, one direction and biases.
        Wx: shape (D, 4H); Wh: shape (H, 4H); b: shape (4H,); gates in the order i, f, o, g.
    """
    _check_single_layer(lstm)
    if not lstm.bias:
        raise ValueError("this LSTM has no bias parameters to hold b")
    with torch.no_grad():
        for param, value in [(lstm.weight_ih_l0, np.asarray(Wx).T),
                             (lstm.weight_hh_l0, np.asarray(Wh).T),
                             (lstm.bias_ih_l0, np.asarray(b))]:
            value = reorder_gates(value, OUR_LSTM_GATES, TORCH_LSTM_GATES, axis=0)
            if value.shape != tuple(param.shape):
                raise ValueError(f"a weight of shape {value.shape} (after transposing) cannot "
                                 f"fill a parameter of shape {tuple(param.shape)}")
            param.copy_(torch.as_tensor(value, dtype=param.dtype))
        lstm.bias_hh_l0.zero_()


def lstm_grads_from_torch(lstm: torch.nn.LSTM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients (dWx, dWh, db) in the course's layout, from ``.grad`` after ``backward()``.

    Returns:
        dWx: float64, shape (D, 4H); dWh: float64, shape (H, 4H); db: float64, shape (4H,).
    """
    _check_single_layer(lstm)
    if lstm.weight_ih_l0.grad is None:
        raise ValueError("the LSTM has no gradients: call backward() first")
    dWx = reorder_gates(_numpy(lstm.weight_ih_l0.grad), TORCH_LSTM_GATES, OUR_LSTM_GATES, axis=0).T
    dWh = reorder_gates(_numpy(lstm.weight_hh_l0.grad), TORCH_LSTM_GATES, OUR_LSTM_GATES, axis=0).T
    db = np.zeros(dWx.shape[1])
    if lstm.bias:  # b = bias_ih + bias_hh, so dL/db = dL/dbias_ih (= dL/dbias_hh)
        db = reorder_gates(_numpy(lstm.bias_ih_l0.grad), TORCH_LSTM_GATES, OUR_LSTM_GATES)
    return np.ascontiguousarray(dWx), np.ascontiguousarray(dWh), db


def torch_lstm_forward_backward(lstm: torch.nn.LSTM, x, h0, dh) -> dict[str, np.ndarray]:
    """PyTorch's answer to ``lstm_forward`` and ``lstm_backward``, in the course's layout.

    Runs ``lstm`` on ``x`` from the state (h0, c0 = 0), then back-propagates the upstream
    gradient ``dh`` of every hidden state with autograd.

    Args:
        lstm: a one-layer ``torch.nn.LSTM(D, H)``; use float64 to compare to ~1e-15.
        x: the inputs, shape (N, T, D).
        h0: the initial hidden state, shape (N, H).
        dh: the upstream gradient of every hidden state, shape (N, T, H).

    Returns:
        A dict of float64 arrays: ``h`` (N, T, H), ``dx`` (N, T, D), ``dh0`` (N, H),
        ``dWx`` (D, 4H), ``dWh`` (H, 4H), ``db`` (4H,).
    """
    _check_single_layer(lstm)
    dtype = lstm.weight_ih_l0.dtype
    x_t = torch.tensor(np.asarray(x), dtype=dtype, requires_grad=True)
    h0_t = torch.tensor(np.asarray(h0)[None], dtype=dtype, requires_grad=True)  # (1, N, H)
    c0_t = torch.zeros_like(h0_t)
    lstm.zero_grad(set_to_none=True)
    inputs = x_t if lstm.batch_first else x_t.transpose(0, 1)
    out, _ = lstm(inputs, (h0_t, c0_t))
    h = out if lstm.batch_first else out.transpose(0, 1)  # (N, T, H)
    h.backward(torch.as_tensor(np.asarray(dh), dtype=dtype))
    dWx, dWh, db = lstm_grads_from_torch(lstm)
    return {"h": _numpy(h), "dx": _numpy(x_t.grad), "dh0": _numpy(h0_t.grad[0]),
            "dWx": dWx, "dWh": dWh, "db": db}
