"""Visible checks of notebook 04: the GRU by hand, PyTorch's GRU step, stacks and both ways.

The blocks are stacked r, z, candidate (reset, update, candidate) along the last axis of
Wx (D, 3H), Wh (H, 3H) and b (3H,). Inputs are small and fixed (evenly spaced values), and each
check runs the same kinds of cases as the hidden check: a main case, one row with one unit
(N = 1, D = 1, H = 1), one step (T = 1), saturated gates, a loss on the last state only, one
layer. Expected outputs come from the stored fixture. A check reports every output it finds
wrong and every one it finds right, names which gate block of a (3H)-wide gradient is off,
and, when a wrong answer equals a typical mistake's (outputs stored in the fixture by the
grader, not computed here), names the mistake. A backward function is given the cache the
reference forward builds, in the documented layout, stored in the fixture, so its check does
not depend on your forward; the forwards' own checks test that layout.
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

ASSIGNMENT = "04_gru"
BLOCKS = ("r", "z", "candidate")
THREE_H = ("3H",)

# Typical mistakes, by key; the grader's hidden checks give the same words.
HINTS = {
    "reset_after": "the reset gate multiplies the product prev_h @ Wh_n (PyTorch's placement); "
                   "in the lecture's form it multiplies prev_h before the product",
    "update_swapped": "the update direction is swapped: in this course z is the share of the OLD "
                      "state that is kept (section 1's last equation)",
    "no_reset": "the reset gate is left out of the candidate",
    "order_zrn": "the blocks r and z are swapped: columns [0, H) are the reset gate r, [H, 2H) "
                 "the update gate z, [2H, 3H) the candidate",
    "order_other": "the blocks are in another order: [r | z | candidate] along the columns",
    "Wh_n_T": "the candidate's recurrent block Wh[:, 2H:] is used transposed (it is square, so no "
              "shape error shows it)",
    "no_bias": "the bias b is not added",
    "no_prev_h": "prev_h is ignored",
    "unstable_sigmoid": "the sigmoid overflows for large inputs (inf / inf is NaN): one of its "
                        "two algebraic forms stays finite for every a",
    "not_carried": "each step starts from h0: carry the new state into the next step",
    "h0_ignored": "h0 is ignored: the first step starts from h0, not zeros",
    "state_before": "h[:, t] holds the state before step t; store the state after the step",
    "no_direct": "dprev_h misses the direct road through the update gate: next_h contains "
                 "z * prev_h, whose gradient is not added into dprev_h",
    "no_reset_road": "dprev_h misses the road through r * prev_h inside the candidate",
    "no_gate_roads": "dprev_h misses the roads through the gates' pre-activations (prev_h @ Wh "
                     "for r and z)",
    "update_swapped_back": "the gradients follow the swapped update direction; here "
                           "next_h = z * prev_h + (1 - z) * h_tilde",
    "reset_after_back": "the gradients are those of PyTorch's form (reset after the product); "
                        "the lecture's form resets prev_h before the product with Wh_n",
    "order_zrn_back": "the pre-activation gradients are stacked z, r, candidate; stack them like "
                      "the forward: [r | z | candidate]",
    "Wh_n_T_back": "the candidate's block Wh[:, 2H:] is square and used without its transpose "
                   "on the way back",
    "dWh_n_from_h": "the candidate's block of dWh is built from prev_h; in the forward that block "
                    "multiplies r * prev_h",
    "dWx_T": "dWx is transposed: it has the shape (D, 3H) of Wx",
    "dWh_T": "dWh is transposed: it has the shape (H, 3H) of Wh",
    "db_not_summed": "db is not summed over the batch: it has shape (3H,)",
    "db_mean": "db is averaged over the batch; sum it (the loss already did any averaging)",
    "dh_not_carried": "the dprev_h of step t + 1 is not carried back into step t",
    "dh_t_not_added": "dh[:, t] is not added to the gradient carried back from step t + 1",
    "overwritten": "the weight gradients are overwritten at each step instead of summed over time",
    "forward_order": "the steps are visited forward in time; walk backward, from t = T - 1 to 0",
    "torch_reset_before": "the reset gate multiplies prev_h before the product (the lecture's "
                          "form); in PyTorch's form (section 5) r scales the whole recurrent term "
                          "of n, its bias included",
    "torch_bhn_outside": "bh_n is added outside the reset gate; in PyTorch r also scales bh_n",
    "torch_update_swapped": "the update direction is swapped: PyTorch keeps z * prev_h",
    "torch_no_bh": "the recurrent bias bh is not added",
    "torch_no_reset": "the reset gate is left out of n",
    "torch_order_zrn": "the blocks r and z are swapped: PyTorch's order is r, z, n",
    "stack_reads_x": "every layer reads x; layer l + 1 reads the hidden states of layer l",
    "stack_bottom_out": "the output is the bottom layer's states; it is the top layer's",
    "stack_same_h0": "every layer starts from h0[0]; layer l starts from h0[l]",
    "bi_not_flipped_back": "the backward direction's states are not flipped back in time: "
                           "out[:, t, H:] must sit beside x[:, t]",
    "bi_not_reversed": "the backward direction reads x forward in time; it reads x[:, T-1] first",
    "bi_halves_swapped": "the two halves are swapped: forward states first, then backward",
    "bi_same_h0": "both directions start from h0[0]; the backward one starts from h0[1]",
    "bi_batch_axis": "the sequence is flipped along the batch axis; time is axis 1",
}


def through_hint(key: str, outer: str, helper: str) -> str:
    """The hint of ``helper``'s mistake ``key`` as it shows through ``outer``."""
    return f"{HINTS[key]} ({outer} calls your {helper}: make its checks pass first)"


# Where to look when an output is wrong, by function and output.
WHERE = {
    "gru_step_forward": {"next_h": "the four equations of section 1, and which columns hold which block"},
    "gru_forward": {"h": "the loop: which state each step starts from and what is stored at h[:, t]"},
    "gru_step_backward": {
        "dx": "the three pre-activation gradients, stacked like the forward; dx comes from all three",
        "dprev_h": "every road from prev_h to next_h (section 3): count them",
        "dWx": "which input each block of Wx multiplies in the forward, and the shape (D, 3H)",
        "dWh": "which input each block of Wh multiplies in the forward (the candidate's block is "
               "different), and the shape (H, 3H)",
        "db": "the bias is added to every row of the batch; its gradient has the shape (3H,)",
    },
    "gru_backward": {name: "what step t receives from step t + 1 and from dh[:, t], and what is "
                           "summed over the steps" for name in ("dx", "dh0", "dWx", "dWh", "db")},
    "pytorch_gru_step_forward": {"next_h": "PyTorch's equations in section 5: where r acts and "
                                           "where each bias goes"},
    "stacked_gru_forward": {"h": "what each layer reads, which h0 it starts from, and which "
                                 "layer's states are returned"},
    "bidirectional_gru_forward": {"out": "what the backward direction reads first, where its "
                                         "states end up in time, and the order of the halves"},
}

OUTPUTS = {  # function -> (name, index in the returned tuple, dimension letters)
    "gru_step_forward": [("next_h", 0, "NH")],
    "gru_forward": [("h", 0, "NTH")],
    "gru_step_backward": [("dx", 0, "ND"), ("dprev_h", 1, "NH"), ("dWx", 2, ("D", *THREE_H)),
                          ("dWh", 3, ("H", *THREE_H)), ("db", 4, THREE_H)],
    "gru_backward": [("dx", 0, "NTD"), ("dh0", 1, "NH"), ("dWx", 2, ("D", *THREE_H)),
                     ("dWh", 3, ("H", *THREE_H)), ("db", 4, THREE_H)],
    "pytorch_gru_step_forward": [("next_h", 0, "NH")],
    "stacked_gru_forward": [("h", 0, "NTH")],
    "bidirectional_gru_forward": [("out", 0, ("N", "T", "2H"))],
}
CACHE = ("x", "prev_h", "Wx", "Wh", "r", "z", "h_tilde")


def _params(D: int, H: int, scale: float = 1.0) -> tuple:
    return (scale * spaced(-0.8, 0.9, D, 3 * H), scale * spaced(-0.7, 0.6, H, 3 * H),
            spaced(-0.5, 0.6, 3 * H))


def visible_inputs() -> dict[str, dict[str, dict]]:
    """function -> case label -> inputs (fresh arrays on every call). ``"main"`` comes first.

    A backward case holds ``forward`` (the inputs of the forward whose cache it needs) and the
    upstream gradient; every other case holds ``args``.
    """
    N, T, D, H = 3, 4, 4, 3  # 3H = 9 differs from D, so a transposed dWx is a shape error
    step = lambda N, D, H, scale=1.0: (spaced(-0.4, 0.7, N, D), spaced(-0.3, 0.5, N, H), *_params(D, H, scale))
    seq = lambda N, T, D, H: (spaced(-0.5, 0.5, N, T, D), spaced(-0.2, 0.5, N, H), *_params(D, H))
    return {
        "gru_step_forward": {"main": {"args": step(N, D, H)},
                             "N=1, D=1, H=1": {"args": step(1, 1, 1)},
                             "very large pre-activations": {"args": step(N, D, H, 3000.0)}},
        "gru_forward": {"main": {"args": seq(N, T, D, H)}, "T=1": {"args": seq(2, 1, D, H)},
                        "N=1, D=1, H=1": {"args": seq(1, 3, 1, 1)}},
        "gru_step_backward": {
            "main": {"forward": step(N, D, H), "dout": spaced(-1.0, 0.8, N, H)},
            "N=1, D=1, H=1": {"forward": step(1, 1, 1), "dout": np.array([[0.7]])},
            "nearly saturated gates": {"forward": step(N, D, H, 6.0), "dout": spaced(-1.0, 0.8, N, H)}},
        "gru_backward": {
            "main": {"forward": seq(N, T, D, H), "dout": spaced(-1.0, 1.0, N, T, H)},
            "T=1": {"forward": seq(2, 1, D, H), "dout": spaced(-1.0, 1.0, 2, 1, H)},
            "N=1, D=1, H=1": {"forward": seq(1, 3, 1, 1), "dout": spaced(-1.0, 1.0, 1, 3, 1)},
            "a loss on the last state only": {"forward": seq(N, T, D, H),
                                              "dout": np.concatenate([np.zeros((N, T - 1, H)),
                                                                      spaced(-1.0, 1.0, N, 1, H)], axis=1)}},
        "pytorch_gru_step_forward": {
            "main": {"args": (*step(N, D, H), spaced(-0.6, 0.4, 3 * H))},
            "N=1, D=1, H=1": {"args": (*step(1, 1, 1), spaced(-0.6, 0.4, 3))},
            "very large pre-activations": {"args": (*step(N, D, H, 3000.0), spaced(-0.6, 0.4, 3 * H))}},
        "stacked_gru_forward": {  # D == H: feeding x to every layer is then a wrong value
            "main": {"args": (spaced(-0.5, 0.5, N, T, H), spaced(-0.3, 0.4, 3, N, H),
                              [_params(H, H, s) for s in (1.0, 0.8, 1.2)])},
            "L=1": {"args": (spaced(-0.5, 0.5, N, T, D), spaced(-0.3, 0.4, 1, N, H), [_params(D, H)])},
            "N=1, T=1": {"args": (spaced(-0.5, 0.5, 1, 1, D), spaced(-0.3, 0.4, 2, 1, H),
                                  [_params(D, H), _params(H, H, 0.9)])},
            "D=1, H=1": {"args": (spaced(-0.5, 0.5, 2, 3, 1), spaced(-0.3, 0.4, 2, 2, 1),
                                  [_params(1, 1), _params(1, 1, 0.9)])}},
        "bidirectional_gru_forward": {
            "main": {"args": (spaced(-0.5, 0.5, N, T, D), spaced(-0.3, 0.4, 2, N, H),
                              _params(D, H), _params(D, H, 0.7))},
            "T=1": {"args": (spaced(-0.5, 0.5, 2, 1, D), spaced(-0.3, 0.4, 2, 2, H),
                             _params(D, H), _params(D, H, 0.7))},
            "N=1, D=1, H=1": {"args": (spaced(-0.5, 0.5, 1, 3, 1), spaced(-0.3, 0.4, 2, 1, 1),
                                       _params(1, 1), _params(1, 1, 0.7))}},
    }


def _args(function: str, label: str, case: dict, impl=None) -> tuple:
    """The arguments of one call; a backward's cache is ``impl``'s forward's, or the stored one."""
    if "args" in case:
        return case["args"]
    if impl is None:
        return case["dout"], stored_cache(ASSIGNMENT, f"{function}/{label}/cache", steps=function == "gru_backward")
    forward = impl.gru_step_forward if function == "gru_step_backward" else impl.gru_forward
    return case["dout"], forward(*case["forward"])[1]


def call_args(function: str, impl) -> dict[str, tuple]:
    """The arguments of every visible call of ``function``, by case (the grader stores the named
    mistakes' outputs on them)."""
    return {label: _args(function, label, case, impl) for label, case in visible_inputs()[function].items()}


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of every visible case, the caches the backward cases are given, and
    the forwards' caches on their main case (to check their layout)."""
    values = {}
    for function, cases in visible_inputs().items():
        for label, case in cases.items():
            args = _args(function, label, case, impl)
            with np.errstate(over="ignore"):
                result = getattr(impl, function)(*args)
            values.update(case_values(function, label, case, args, result, OUTPUTS[function],
                                      own_cache=label == "main" and function in ("gru_step_forward", "gru_forward")))
    return values


def _run(function: str, fn):
    """Call ``fn`` on every case of ``function`` and verify it; the main case's result."""
    layout = f"({', '.join(CACHE)})" if "forward" in visible_inputs()[function]["main"] else ""
    return run_cases(ASSIGNMENT, function, fn, call_args(function, None), OUTPUTS[function],
                     WHERE[function], layout, blocks=BLOCKS)


def check_gru_step_forward(gru_step_forward) -> None:
    """Visible check of ``gru_step_forward``: next_h on three cases, then the cache's layout."""
    _, cache = _run("gru_step_forward", gru_step_forward)
    expect_cache(ASSIGNMENT, "gru_step_forward", cache, CACHE, "gru_step_backward")
    passed("gru_step_forward")


def check_gru_forward(gru_forward) -> None:
    """Visible check of ``gru_forward``: T = 4, one step, one unit; then the caches' layout."""
    _, cache = _run("gru_forward", gru_forward)
    T = visible_inputs()["gru_forward"]["main"]["args"][0].shape[1]
    expect_cache(ASSIGNMENT, "gru_forward", cache, CACHE, "gru_backward", steps=T)
    passed("gru_forward")


def check_gru_step_backward(gru_step_backward) -> None:
    """Visible check of ``gru_step_backward``: all five gradients, three cases."""
    _run("gru_step_backward", gru_step_backward)
    passed("gru_step_backward")


def check_gru_backward(gru_backward) -> None:
    """Visible check of ``gru_backward``: all five gradients, four cases."""
    _run("gru_backward", gru_backward)
    passed("gru_backward")


def check_pytorch_gru_step_forward(pytorch_gru_step_forward) -> None:
    """Visible check of ``pytorch_gru_step_forward`` (PyTorch's form, biases bx and bh)."""
    _run("pytorch_gru_step_forward", pytorch_gru_step_forward)
    passed("pytorch_gru_step_forward")


def check_stacked_gru_forward(stacked_gru_forward) -> None:
    """Visible check of ``stacked_gru_forward``: three layers, one layer, one step."""
    _run("stacked_gru_forward", stacked_gru_forward)
    passed("stacked_gru_forward")


def check_bidirectional_gru_forward(bidirectional_gru_forward) -> None:
    """Visible check of ``bidirectional_gru_forward``: T = 4, one step, one unit."""
    _run("bidirectional_gru_forward", bidirectional_gru_forward)
    passed("bidirectional_gru_forward")
