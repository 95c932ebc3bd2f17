"""Moving LSTM and GRU weights and gradients between PyTorch's layout and the course's.

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

The GRU (notebook 04) stacks its blocks in the order **r, z, n** (reset, update, candidate)
in both libraries, along the last axis here and the first in PyTorch, so only a transpose
separates the weights. The biases cannot be merged: ``torch.nn.GRU`` computes

    n = tanh(x @ W_in.T + b_in + r * (h_prev @ W_hn.T + b_hn))

with ``b_hn`` inside the reset gate's product, so the course keeps PyTorch's two biases apart
as ``bx`` (``bias_ih``) and ``bh`` (``bias_hh``), each (3H,). The lecture's GRU (Cho et al.,
2014) applies the reset to ``h_prev`` before the product and has one bias; it is a different
function, which :func:`lecture_gru_autograd` runs with autograd as a referee.
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
    "GRU_GATES",
    "gru_params_from_torch",
    "gru_params_to_torch",
    "lecture_gru_autograd",
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


# ------------------------------------------------------------------------------------ GRU
GRU_GATES = "rzn"  # the block order of both the course's GRU and torch.nn.GRU


def _gru_tensors(gru) -> tuple:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of a one-layer GRU or a GRUCell."""
    if isinstance(gru, torch.nn.GRUCell):
        return gru.weight_ih, gru.weight_hh, getattr(gru, "bias_ih", None), getattr(gru, "bias_hh", None)
    if not isinstance(gru, torch.nn.GRU):
        raise TypeError(f"expected a torch.nn.GRU or torch.nn.GRUCell, got {type(gru).__name__}")
    if gru.num_layers != 1 or gru.bidirectional:
        raise ValueError("only a one-layer, one-direction GRU maps to (Wx, Wh, bx, bh); take "
                         "a stack apart layer by layer")
    return (gru.weight_ih_l0, gru.weight_hh_l0, getattr(gru, "bias_ih_l0", None),
            getattr(gru, "bias_hh_l0", None))


def gru_params_from_torch(gru) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's (Wx, Wh, bx, bh) holding the weights of a ``torch.nn.GRU`` or ``GRUCell``.

    Args:
        gru: a ``torch.nn.GRU(D, H)`` with one layer and one direction, or a
            ``torch.nn.GRUCell(D, H)``.

    Returns:
        Wx: float64, shape (D, 3H); Wh: float64, shape (H, 3H); bx (``bias_ih``) and bh
        (``bias_hh``): float64, shape (3H,), zeros when the GRU has no bias; blocks in the
        order r, z, n. Copies: changing them does not change ``gru``.
    """
    weight_ih, weight_hh, bias_ih, bias_hh = _gru_tensors(gru)
    Wx, Wh = _numpy(weight_ih).T, _numpy(weight_hh).T  # (D, 3H), (H, 3H)
    zeros = np.zeros(Wx.shape[1])
    bx = _numpy(bias_ih) if bias_ih is not None else zeros
    bh = _numpy(bias_hh) if bias_hh is not None else zeros.copy()
    return np.ascontiguousarray(Wx), np.ascontiguousarray(Wh), bx, bh


def gru_params_to_torch(gru, Wx, Wh, bx, bh) -> None:
    """Copy the course's (Wx, Wh, bx, bh) into a one-layer ``torch.nn.GRU`` or a ``GRUCell``.

    Args:
        gru: a ``torch.nn.GRU(D, H)`` (one layer, one direction) or ``torch.nn.GRUCell(D, H)``,
            with biases.
        Wx: shape (D, 3H); Wh: shape (H, 3H); bx, bh: shape (3H,); blocks r, z, n.
    """
    tensors = _gru_tensors(gru)
    if tensors[2] is None:
        raise ValueError("this GRU has no bias parameters to hold bx and bh")
    with torch.no_grad():
        for param, value in zip(tensors, (np.asarray(Wx).T, np.asarray(Wh).T, bx, bh)):
            value = np.asarray(value)
            if value.shape != tuple(param.shape):
                raise ValueError(f"an array of shape {value.shape} (weights transposed) cannot "
                                 f"fill a parameter of shape {tuple(param.shape)}")
            param.copy_(torch.as_tensor(value, dtype=param.dtype))


def lecture_gru_autograd(x, h0, Wx, Wh, b, dh) -> dict[str, np.ndarray]:
    """PyTorch's autograd run on the lecture's GRU, in float64: a referee for a NumPy one.

    The equations are those of ``gru_forward`` in notebook 04 (reset before the product,
    next_h = z * h_prev + (1 - z) * h_tilde, one bias); autograd differentiates them.

    Args:
        x: the inputs, shape (N, T, D).
        h0: the initial hidden state, shape (N, H).
        Wx: shape (D, 3H); Wh: shape (H, 3H); b: shape (3H,); blocks r, z, candidate.
        dh: the upstream gradient of every hidden state, shape (N, T, H).

    Returns:
        A dict of float64 arrays: ``h`` (N, T, H), ``dx`` (N, T, D), ``dh0`` (N, H),
        ``dWx`` (D, 3H), ``dWh`` (H, 3H), ``db`` (3H,).
    """
    leaves = {name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
              for name, value in (("x", x), ("h0", h0), ("Wx", Wx), ("Wh", Wh), ("b", b))}
    x_, h, Wx_, Wh_, b_ = leaves.values()
    H = h.shape[1]
    states = []
    for t in range(x_.shape[1]):
        a = x_[:, t] @ Wx_ + b_  # (N, 3H)
        r = torch.sigmoid(a[:, :H] + h @ Wh_[:, :H])
        z = torch.sigmoid(a[:, H:2 * H] + h @ Wh_[:, H:2 * H])
        candidate = torch.tanh(a[:, 2 * H:] + (r * h) @ Wh_[:, 2 * H:])
        h = z * h + (1 - z) * candidate
        states.append(h)
    out = torch.stack(states, dim=1)  # (N, T, H)
    out.backward(torch.as_tensor(np.asarray(dh, dtype=np.float64)))
    grads = {f"d{name}": _numpy(leaf.grad) for name, leaf in leaves.items()}
    return {"h": _numpy(out), **grads}
