"""Visible checks of notebook 03: the LSTM forward and backward passes.

The gates are stacked i, f, o, g (input, forget, output, candidate) along the last axis of
Wx (D, 4H), Wh (H, 4H) and b (4H,). Inputs are small and fixed (evenly spaced values), and each
check runs the kinds of cases the hidden check draws (a main case, one row with one unit, one
step, saturated gates, an upstream gradient of zero, a loss on the last state only), without its
values. Expected outputs come from the stored fixture. A check reports every output it finds
wrong and every one it finds right, says which gate block of a (4H)-wide gradient is off, and
names the hidden check's mistake when a wrong answer equals that mistake's (outputs stored in
the fixture by the grader). A backward function is given the cache the reference forward builds,
in the documented layout, stored in the fixture, so its check does not depend on your forward;
the forward's own check tests that layout.
"""
from __future__ import annotations

import numpy as np

from rnncourse.visible import (
    case_values,
    expect_cache,
    passed,
    run_cases,
    spaced,
    stored_cache,
)

ASSIGNMENT = "03_lstm"
GATES = ("i", "f", "o", "g")
FOUR_H = ("4H",)  # a dimension name for messages: "(D, 4H) = (4, 12)"
CACHE = ("x", "h_prev", "c_prev", "Wx", "Wh", "i", "f", "o", "g", "c")
OUTPUTS = {  # function -> (name, index in the returned tuple, dimension letters)
    "lstm_step_forward": [("h", 0, "NH"), ("c", 1, "NH")],
    "lstm_forward": [("h", 0, "NTH")],
    "lstm_step_backward": [("dx", 0, "ND"), ("dh_prev", 1, "NH"), ("dc_prev", 2, "NH"),
                           ("dWx", 3, ("D", *FOUR_H)), ("dWh", 4, ("H", *FOUR_H)), ("db", 5, FOUR_H)],
    "lstm_backward": [("dx", 0, "NTD"), ("dh0", 1, "NH"), ("dWx", 2, ("D", *FOUR_H)),
                      ("dWh", 3, ("H", *FOUR_H)), ("db", 4, FOUR_H)],
}
# Where to look when an output is wrong: which equation, which factor, which shape.
SEQUENCE_WHERE = ("what step t receives from dh[:, t] and, through both h and c, from step t + 1; "
                  "and what is summed over the steps (if lstm_step_backward fails its check, fix it first)")
WHERE = {
    "lstm_step_forward": {
        "c": "the cell update of section 1: which block of the pre-activation is which gate "
             "(the order i, f, o, g), which nonlinearity each gets, and which previous state f scales",
        "h": "the output equation: which block is o, and whether the cell state is squashed first"},
    "lstm_forward": {"h": "the loop: which two states each step starts from and carries on, where "
                          "the cell state starts, and what is stored at h[:, t] (if "
                          "lstm_step_forward fails its check, fix it first)"},
    "lstm_step_backward": {
        "dx": "the four blocks of the pre-activation gradient (each gate's derivative, in the "
              "forward's order i, f, o, g), then the factor of a = x Wx + h_prev Wh + b that x meets",
        "dh_prev": "the same pre-activation gradient as dx, through the other product in a",
        "dc_prev": "every road from c_prev to the loss passes through c: gather the total gradient "
                   "of c (the upstream dc and the road through h) before going back",
        "dWx": "which array multiplies Wx in a, and the shape (D, 4H) of Wx",
        "dWh": "which array multiplies Wh in a, and the shape (H, 4H) of Wh",
        "db": "b is added to every row of the batch; its gradient has the shape (4H,)"},
    "lstm_backward": {"dx": SEQUENCE_WHERE, "dh0": "what is carried out of step 0, after the loop",
                      "dWx": SEQUENCE_WHERE, "dWh": SEQUENCE_WHERE, "db": SEQUENCE_WHERE},
}


def _params(D: int, H: int, scale: float = 1.0) -> tuple:
    return (scale * spaced(-0.8, 0.9, D, 4 * H), scale * spaced(-0.6, 0.7, H, 4 * H),
            spaced(-0.5, 0.6, 4 * H))


def _step(N, D, H, scale=1.0):
    return (spaced(-0.4, 0.7, N, D), spaced(-0.3, 0.5, N, H), spaced(-0.9, 0.6, N, H),
            *_params(D, H, scale))


def _sequence(N, T, D, H):
    return (spaced(-0.5, 0.5, N, T, D), spaced(-0.2, 0.5, N, H), *_params(D, H))


def visible_inputs() -> dict[str, dict[str, dict]]:
    """function -> case -> inputs (fresh arrays on every call); ``"main"`` comes first.

    A backward case holds ``forward`` (the inputs of the forward whose cache it is given) and
    its upstream gradients; every other case holds ``args``.
    """
    N, T, D, H = 3, 4, 4, 3  # 4H = 12 differs from D, so a transposed dWx is a shape error
    zeros = np.zeros((N, H))
    last_only = np.concatenate([np.zeros((N, T - 1, H)), spaced(-1.0, 1.0, N, 1, H)], axis=1)
    return {
        "lstm_step_forward": {"main": {"args": _step(N, D, H)},
                              "N=1, D=1, H=1": {"args": _step(1, 1, 1)},
                              "very large pre-activations": {"args": _step(N, D, H, 1000.0)}},
        "lstm_forward": {"main": {"args": _sequence(N, T, D, H)}, "T=1": {"args": _sequence(2, 1, D, H)},
                         "N=1, D=1, H=1": {"args": _sequence(1, 3, 1, 1)}},
        "lstm_step_backward": {
            "main": {"forward": _step(N, D, H), "dh": spaced(-1.0, 0.8, N, H), "dc": spaced(-0.7, 0.9, N, H)},
            "N=1, D=1, H=1": {"forward": _step(1, 1, 1), "dh": np.array([[0.7]]), "dc": np.array([[-0.4]])},
            "dh = 0 (only dc)": {"forward": _step(N, D, H), "dh": zeros, "dc": spaced(-0.7, 0.9, N, H)},
            "dc = 0 (only dh)": {"forward": _step(N, D, H), "dh": spaced(-1.0, 0.8, N, H), "dc": zeros}},
        "lstm_backward": {
            "main": {"forward": _sequence(N, T, D, H), "dh": spaced(-1.0, 1.0, N, T, H)},
            "T=1": {"forward": _sequence(2, 1, D, H), "dh": spaced(-1.0, 1.0, 2, 1, H)},
            "N=1, D=1, H=1": {"forward": _sequence(1, 3, 1, 1), "dh": spaced(-1.0, 1.0, 1, 3, 1)},
            "a loss on the last state only": {"forward": _sequence(N, T, D, H), "dh": last_only}},
    }


def _cache(function: str, label: str, case: dict, impl=None):
    """The cache a backward case is given: ``impl``'s forward's, or the one stored in the fixture."""
    if impl is None:
        return stored_cache(ASSIGNMENT, f"{function}/{label}/cache", steps=function == "lstm_backward")
    if function == "lstm_step_backward":
        return impl.lstm_step_forward(*case["forward"])[2]
    return impl.lstm_forward(*case["forward"])[1]


def _args(function: str, label: str, case: dict, impl=None) -> tuple:
    if "args" in case:
        return case["args"]
    upstream = (case["dh"], case["dc"]) if function == "lstm_step_backward" else (case["dh"],)
    return (*upstream, _cache(function, label, case, impl))


def call_args(function: str, impl) -> dict[str, tuple]:
    """The arguments of every visible call of ``function``, by case (the grader stores the named
    mistakes' outputs on them)."""
    return {label: _args(function, label, case, impl) for label, case in visible_inputs()[function].items()}


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of every visible case, and the caches the backward cases are given."""
    values = {}
    for function, cases in visible_inputs().items():
        for label, case in cases.items():
            args = _args(function, label, case, impl)
            with np.errstate(over="ignore"):
                result = getattr(impl, function)(*args)
            values.update(case_values(function, label, case, args, result, OUTPUTS[function],
                                      own_cache=label == "main"))
    return values


def _run(function: str, fn):
    """Call ``fn`` on every case of ``function`` and verify it; the main case's result."""
    layout = f"({', '.join(CACHE)})" if "forward" in visible_inputs()[function]["main"] else ""
    return run_cases(ASSIGNMENT, function, fn, call_args(function, None), OUTPUTS[function],
                     WHERE[function], layout, blocks=GATES)


def check_lstm_step_forward(lstm_step_forward) -> None:
    """Visible check of ``lstm_step_forward``: h and c on three cases, then the cache's layout."""
    _, _, cache = _run("lstm_step_forward", lstm_step_forward)
    expect_cache(ASSIGNMENT, "lstm_step_forward", cache, CACHE, "lstm_step_backward")
    passed("lstm_step_forward")


def check_lstm_forward(lstm_forward) -> None:
    """Visible check of ``lstm_forward``: T = 4, one step, one unit; then the caches' layout."""
    _, cache = _run("lstm_forward", lstm_forward)
    T = visible_inputs()["lstm_forward"]["main"]["args"][0].shape[1]
    expect_cache(ASSIGNMENT, "lstm_forward", cache, CACHE, "lstm_backward", steps=T)
    passed("lstm_forward")


def check_lstm_step_backward(lstm_step_backward) -> None:
    """Visible check of ``lstm_step_backward``: all six gradients on four cases."""
    _run("lstm_step_backward", lstm_step_backward)
    passed("lstm_step_backward")


def check_lstm_backward(lstm_backward) -> None:
    """Visible check of ``lstm_backward``: all five gradients on four cases."""
    _run("lstm_backward", lstm_backward)
    passed("lstm_backward")
