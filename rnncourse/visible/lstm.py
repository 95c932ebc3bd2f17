"""Visible checks of notebook 03: the LSTM forward and backward passes.

The gates are stacked i, f, o, g (input, forget, output, candidate) along the last axis of
Wx (D, 4H), Wh (H, 4H) and b (4H,). Inputs are small and fixed (evenly spaced values), so a
student can rerun a check and get the same message. Expected outputs come from the stored
fixture. A backward function is given a cache in the layout that ``lstm_step_forward``
documents, built here from the fixed inputs and the forward values stored in the fixture, so
its check does not depend on the student's own forward pass.
"""
from __future__ import annotations

import numpy as np

from rnncourse.compare import expect, expect_array
from rnncourse.visible import load_fixture, passed

ASSIGNMENT = "03_lstm"
GATE_VALUES = ("i", "f", "o", "g", "c")  # the cache holds these after (x, h_prev, c_prev, Wx, Wh)
FOUR_H = ("4H",)  # a dimension name for messages: "(D, 4H) = (4, 12)"
STEP_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
SEQUENCE_GRADS = ("dx", "dh0", "dWx", "dWh", "db")
LETTERS = {"dx": "ND", "dh_prev": "NH", "dc_prev": "NH", "dh0": "NH", "dWx": ("D", *FOUR_H),
           "dWh": ("H", *FOUR_H), "db": FOUR_H}


def _spaced(low: float, high: float, *shape: int) -> np.ndarray:
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def visible_inputs() -> dict[str, dict]:
    """The fixed inputs of every visible check, by function name (fresh arrays on every call)."""
    N, T, D, H = 3, 4, 4, 3  # 4H = 12 differs from D, so a transposed dWx is a shape error
    # the columns are permuted so that no gate block is a shifted copy of another
    columns = [7, 2, 10, 0, 5, 11, 3, 8, 1, 6, 9, 4]
    Wx = _spaced(-0.8, 0.9, D, 4 * H)[:, columns]
    Wh = _spaced(-0.6, 0.7, H, 4 * H)[:, columns[::-1]]
    b = _spaced(-0.5, 0.6, 4 * H)[columns]
    step = (_spaced(-0.4, 0.7, N, D), _spaced(-0.3, 0.5, N, H), _spaced(-0.9, 0.6, N, H), Wx, Wh, b)
    sequence = (_spaced(-0.5, 0.5, N, T, D)[..., [2, 0, 3, 1]], _spaced(-0.2, 0.5, N, H), Wx, Wh, b)
    return {
        "lstm_step_forward": {"forward": step},
        "lstm_forward": {"forward": sequence},
        "lstm_step_backward": {"forward": step, "dh": _spaced(-1.0, 0.8, N, H)[:, [1, 2, 0]],
                               "dc": _spaced(-0.7, 0.9, N, H)[:, [2, 0, 1]]},
        "lstm_backward": {"forward": sequence, "dh": _spaced(-1.0, 1.0, N, T, H)[..., [2, 0, 1]]},
    }


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    inputs = visible_inputs()
    values = {}
    h, c, _ = impl.lstm_step_forward(*inputs["lstm_step_forward"]["forward"])
    values["lstm_step_forward/h"], values["lstm_step_forward/c"] = h, c
    values["lstm_forward/h"] = impl.lstm_forward(*inputs["lstm_forward"]["forward"])[0]

    step = inputs["lstm_step_backward"]
    _, _, cache = impl.lstm_step_forward(*step["forward"])
    for name, value in zip(GATE_VALUES, cache[5:]):
        values[f"lstm_step_backward/{name}"] = value
    for name, grad in zip(STEP_GRADS, impl.lstm_step_backward(step["dh"], step["dc"], cache)):
        values[f"lstm_step_backward/{name}"] = grad

    seq = inputs["lstm_backward"]
    _, cache = impl.lstm_forward(*seq["forward"])
    for k, name in enumerate(GATE_VALUES, start=5):  # each stacked over time: (N, T, H)
        values[f"lstm_backward/{name}"] = np.stack([step_cache[k] for step_cache in cache], axis=1)
    for name, grad in zip(SEQUENCE_GRADS, impl.lstm_backward(seq["dh"], cache)):
        values[f"lstm_backward/{name}"] = grad
    return values


def _expected(key: str) -> np.ndarray:
    return load_fixture(ASSIGNMENT)[key]


def _step_cache(forward_inputs) -> tuple:
    """(x, h_prev, c_prev, Wx, Wh, i, f, o, g, c), as lstm_step_forward documents it."""
    x, h_prev, c_prev, Wx, Wh, _ = forward_inputs
    gates = [_expected(f"lstm_step_backward/{name}") for name in GATE_VALUES]
    return (x, h_prev, c_prev, Wx, Wh, *gates)


def _sequence_cache(forward_inputs) -> list[tuple]:
    """The list of T step caches, as lstm_forward documents it (c0 = 0)."""
    x, h0, Wx, Wh, _ = forward_inputs
    i, f, o, g, c = (_expected(f"lstm_backward/{name}") for name in GATE_VALUES)
    h = o * np.tanh(c)  # (N, T, H): the hidden states, from the stored gates
    T = x.shape[1]
    h_prev = [h0] + [h[:, t] for t in range(T - 1)]
    c_prev = [np.zeros_like(h0)] + [c[:, t] for t in range(T - 1)]
    return [(x[:, t], h_prev[t], c_prev[t], Wx, Wh, i[:, t], f[:, t], o[:, t], g[:, t], c[:, t])
            for t in range(T)]


def _returned(name: str, result, count: int, form: str) -> tuple:
    expect(isinstance(result, (tuple, list)) and len(result) == count,
           f"{name} should return a tuple {form}, got {type(result).__name__}")
    return tuple(result)


def check_lstm_step_forward(lstm_step_forward) -> None:
    """Visible check of ``lstm_step_forward``: c, then h, then saturated gates without NaN."""
    x, h_prev, c_prev, Wx, Wh, b = visible_inputs()["lstm_step_forward"]["forward"]
    h, c, _ = _returned("lstm_step_forward", lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b), 3,
                        "(h, c, cache)")
    expect_array("c", c, _expected("lstm_step_forward/c"), "NH",
                 hint="a = x @ Wx + h_prev @ Wh + b; i = sigmoid(a[:, :H]), f = sigmoid(a[:, H:2H]), "
                      "g = tanh(a[:, 3H:]); then c = f * c_prev + i * g")
    expect_array("h", h, _expected("lstm_step_forward/h"), "NH",
                 hint="h = o * tanh(c), with the output gate o = sigmoid(a[:, 2H:3H])")
    with np.errstate(over="ignore"):  # exp(-a) may overflow to inf, which is harmless here
        h, c, _ = lstm_step_forward(x, h_prev, c_prev, 1000 * Wx, 1000 * Wh, b)
    expect(np.all(np.isfinite(h)) and np.all(np.isfinite(c)),
           "pre-activations of size 1000 give NaN or inf: write the sigmoid as 1 / (1 + np.exp(-a))")
    passed("lstm_step_forward")


def check_lstm_forward(lstm_forward) -> None:
    """Visible check of ``lstm_forward`` on a sequence of T = 4 steps."""
    h, _ = _returned("lstm_forward", lstm_forward(*visible_inputs()["lstm_forward"]["forward"]), 2,
                     "(h, cache)")
    expect_array("h", h, _expected("lstm_forward/h"), "NTH",
                 hint="start from h0 and c = zeros; call lstm_step_forward once per step, carrying "
                      "BOTH h and c into the next step, and store each new h at h[:, t]")
    passed("lstm_forward")


STEP_HINTS = {
    "dc_prev": "the total gradient of c is dc + dh * o * (1 - tanh(c)**2); dc_prev is that "
               "times f",
    "dx": "dx = da @ Wx.T, where da (N, 4H) stacks the gradients of the pre-activations in the "
          "gate order i, f, o, g: di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), "
          "dg * (1 - g**2)",
    "dh_prev": "dh_prev = da @ Wh.T",
    "dWx": "dWx = x.T @ da, shape (D, 4H)",
    "dWh": "dWh = h_prev.T @ da, shape (H, 4H)",
    "db": "db sums da over the batch: da.sum(axis=0), shape (4H,)",
}


def check_lstm_step_backward(lstm_step_backward) -> None:
    """Visible check of ``lstm_step_backward``: all six gradients on fixed inputs."""
    inputs = visible_inputs()["lstm_step_backward"]
    cache = _step_cache(inputs["forward"])
    grads = _returned("lstm_step_backward", lstm_step_backward(inputs["dh"], inputs["dc"], cache),
                      6, "(dx, dh_prev, dc_prev, dWx, dWh, db)")
    got = dict(zip(STEP_GRADS, grads))
    for name, hint in STEP_HINTS.items():  # dc_prev first: most other mistakes show there
        expect_array(name, got[name], _expected(f"lstm_step_backward/{name}"), LETTERS[name],
                     hint=hint)
    passed("lstm_step_backward")


SEQUENCE_HINTS = {
    "dx": "walk t from T - 1 down to 0; step t gets dh[:, t] plus the dh_prev carried back from "
          "step t + 1, and the dc_prev carried back from step t + 1 (zeros for the last step)",
    "dh0": "dh0 is the dh_prev carried out of step 0, after the loop",
    "dWx": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
    "dWh": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
    "db": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
}


def check_lstm_backward(lstm_backward) -> None:
    """Visible check of ``lstm_backward`` on a sequence of T = 4 steps."""
    inputs = visible_inputs()["lstm_backward"]
    cache = _sequence_cache(inputs["forward"])
    grads = _returned("lstm_backward", lstm_backward(inputs["dh"], cache), 5,
                      "(dx, dh0, dWx, dWh, db)")
    for (name, hint), got in zip(SEQUENCE_HINTS.items(), grads):
        expect_array(name, got, _expected(f"lstm_backward/{name}"), LETTERS[name],
                     hint=hint + ". If lstm_step_backward fails its check, fix it first")
    passed("lstm_backward")
