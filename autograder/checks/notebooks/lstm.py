"""Hidden checks of notebook 03, the LSTM forward and backward passes.

Cases are drawn
from a fixed seed per exercise and cover N=1, T=1 and H=1. The gates are stacked i, f, o, g
(input, forget, output, candidate) along the last axis of Wx (D, 4H), Wh (H, 4H) and b (4H,).
A backward function is given a cache made by the REFERENCE forward function, in the layout its
docstring documents, so it is graded on its own, whatever the student's forward did.

Each mistake is a small variant of the reference. The variants of a whole function are written
out with switches (``_step_variant``, ``_step_backward_variant``, ...) whose defaults are the
correct computation; a test proves that, so each variant differs from the reference only by
the mistake it names.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.declaration import MODEL, Answer, Notebook, Sample, Written
from autograder.checks.framework import (
    Case,
    Exercise,
    Mistake,
    Output,
    replace_output,
    state_before_step,
    through,
)
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32, replaced, solved
from autograder.checks.visible_mistakes import mistake_outputs
from rnncourse.visible import lstm as visible

ASSIGNMENT = "03_lstm"
GATES = "ifog"  # the course's gate order along the 4H axis
FOUR_H = ("4H",)  # a dimension name for messages: "(D, 4H) = (3, 8)"


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _sigmoid_unstable(a):
    """The sigmoid written as e^a / (1 + e^a): inf / inf = NaN once a passes about 710."""
    with np.errstate(over="ignore", invalid="ignore"):  # the NaN is the mistake; no warning
        return np.exp(a) / (1 + np.exp(a))


def _weights(rng, D, H, scale=0.5):
    return _normal(rng, D, 4 * H, scale=scale), _normal(rng, H, 4 * H, scale=scale), _normal(rng, 4 * H)


def _dims(**sizes):
    return {**sizes, "4H": 4 * sizes["H"]}


# ---------------------------------------------------------------- lstm_step_forward
def _step_forward_cases(rng):
    cases = []
    for N, D, H, kind in [(1, 1, 1, ""), (1, 3, 4, ""), (2, 5, 3, ""), (4, 3, 6, ""),
                          (3, 4, 2, ""), (2, 3, 4, "large")]:
        scale = 300.0 if kind == "large" else 0.5  # saturated gates: sigmoid(+-1000)
        Wx, Wh, b = _weights(rng, D, H, scale)
        args = (_normal(rng, N, D), _normal(rng, N, H), _normal(rng, N, H), Wx, Wh, b)
        label = f"N={N}, D={D}, H={H}" + (", very large pre-activations" if kind else "")
        cases.append(Case(label, args, _dims(N=N, D=D, H=H)))
    return cases


def _step_variant(order=GATES, forget="c_prev", squash_c=True, candidate=np.tanh, sigmoid=_sigmoid):
    """An LSTM step with one rule changed; the defaults are the correct step."""
    def make(ref):
        def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
            a = x @ Wx + h_prev @ Wh + b  # (N, 4H)
            blocks = dict(zip(order, np.split(a, 4, axis=1)))
            i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
            g = candidate(blocks["g"])
            c = f * (c_prev if forget == "c_prev" else h_prev) + i * g
            h = o * (np.tanh(c) if squash_c else c)
            return h, c, None
        return lstm_step_forward
    return make


def _step_with_inputs(change):
    """The reference step on changed inputs: change(x, h_prev, c_prev, Wx, Wh, b) -> inputs."""
    return lambda ref: lambda *args: ref.lstm_step_forward(*change(*args))


STEP_FORWARD_MISTAKES = (
    Mistake("the gates are read in PyTorch's order i, f, g, o; this course stacks them i, f, o, g: "
            "o = sigmoid(a[:, 2H:3H]) and g = tanh(a[:, 3H:])", _step_variant(order="ifgo")),
    Mistake("the gate blocks are in the wrong order: a[:, :H] is i, a[:, H:2H] is f, "
            "a[:, 2H:3H] is o, a[:, 3H:] is g", _step_variant(order="fiog")),
    Mistake("the forget gate multiplies h_prev; it scales the previous CELL state: "
            "c = f * c_prev + i * g", _step_variant(forget="h_prev")),
    Mistake("h = o * c is missing a tanh: h = o * tanh(c)", _step_variant(squash_c=False)),
    Mistake("the candidate g uses a sigmoid; g = tanh(a[:, 3H:]) (only i, f and o are sigmoids)",
            _step_variant(candidate=_sigmoid)),
    Mistake("the gates i, f, o use tanh; they are sigmoids, with values in (0, 1)",
            _step_variant(sigmoid=np.tanh)),
    Mistake("c_prev is ignored: c = f * c_prev + i * g",
            _step_with_inputs(lambda x, h, c, Wx, Wh, b: (x, h, 0 * c, Wx, Wh, b))),
    Mistake("h_prev is ignored: the recurrent term h_prev @ Wh is missing",
            _step_with_inputs(lambda x, h, c, Wx, Wh, b: (x, 0 * h, c, Wx, Wh, b))),
    Mistake("the bias b is not added",
            _step_with_inputs(lambda x, h, c, Wx, Wh, b: (x, h, c, Wx, Wh, 0 * b))),
    # e^a / (1 + e^a) gives NaN, which the feedback names by itself
    Mistake("the sigmoid overflows for large inputs: use 1 / (1 + np.exp(-a))",
            _step_variant(sigmoid=_sigmoid_unstable)),
)

LSTM_STEP_FORWARD = Exercise(
    ASSIGNMENT, "lstm_step_forward", points=3,
    outputs=(Output("h", 0, "NH"), Output("c", 1, "NH")),
    returns="(h, c, cache)",
    make_cases=_step_forward_cases,
    mistakes=STEP_FORWARD_MISTAKES,
)


# ---------------------------------------------------------------- lstm_forward
def _forward_cases(rng):
    cases = []
    for N, T, D, H in [(1, 1, 2, 3), (1, 4, 3, 2), (2, 1, 3, 4), (3, 5, 2, 4), (2, 7, 4, 3),
                       (2, 3, 1, 1)]:
        args = (_normal(rng, N, T, D), _normal(rng, N, H), *_weights(rng, D, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args, _dims(N=N, T=T, D=D, H=H)))
    return cases


def _forward_variant(carry_h=True, carry_c=True, c0="zeros", store="h", h0_used=True):
    """The sequence loop with one rule changed; the defaults are the correct loop."""
    def make(ref):
        step_forward = ref.lstm_step_forward

        def lstm_forward(x, h0, Wx, Wh, b):
            h0 = h0 if h0_used else np.zeros_like(h0)
            c_start = np.zeros_like(h0) if c0 == "zeros" else h0
            h, c, states = h0, c_start, []
            for t in range(x.shape[1]):
                h, c, _ = step_forward(x[:, t], h if carry_h else h0,
                                       c if carry_c else c_start, Wx, Wh, b)
                states.append(h if store == "h" else c)
            return np.stack(states, axis=1), None
        return lstm_forward
    return make


LSTM_FORWARD = Exercise(
    ASSIGNMENT, "lstm_forward", points=2,
    calls=("lstm_step_forward",),
    outputs=(Output("h", 0, "NTH"),),
    returns="(h, cache)",
    make_cases=_forward_cases,
    mistakes=(
        Mistake("the cell state is not carried: each step should start from the previous "
                "step's c, not zeros", _forward_variant(carry_c=False)),
        Mistake("each step starts from h0: carry the new hidden state into the next step",
                _forward_variant(carry_h=False)),
        Mistake("c0 is h0; the cell state starts at zeros", _forward_variant(c0="h0")),
        Mistake("h[:, t] holds the cell state; store the hidden state h of each step",
                _forward_variant(store="c")),
        Mistake("h0 is ignored: the first step should start from h0, not zeros",
                _forward_variant(h0_used=False)),
        Mistake("h[:, t] holds the state before step t; store the state after the step",
                state_before_step("lstm_forward")),
        # a broken step shows up here too: the first four mistakes of lstm_step_forward
        *[through(m, "lstm_forward", "lstm_step_forward") for m in STEP_FORWARD_MISTAKES[:4]],
    ),
)


# ---------------------------------------------------------------- lstm_step_backward
def _step_backward_cases(rng):
    ref = load_reference(ASSIGNMENT)
    cases = []
    for N, D, H, kind in [(1, 1, 1, ""), (1, 3, 4, ""), (2, 5, 3, ""), (4, 3, 6, ""),
                          (3, 4, 2, ""), (2, 3, 4, "no dh"), (3, 2, 3, "no dc")]:
        _, _, cache = ref.lstm_step_forward(_normal(rng, N, D), _normal(rng, N, H),
                                            _normal(rng, N, H), *_weights(rng, D, H))
        dh, dc = _normal(rng, N, H), _normal(rng, N, H)
        if kind == "no dh":  # only the cell state has an upstream gradient
            dh = np.zeros((N, H))
        if kind == "no dc":  # the last step of a sequence: nothing comes back through c
            dc = np.zeros((N, H))
        label = f"N={N}, D={D}, H={H}" + {"": "", "no dh": ", dh = 0 (only dc)",
                                          "no dc": ", dc = 0 (only dh)"}[kind]
        cases.append(Case(label, (dh, dc, cache), _dims(N=N, D=D, H=H)))
    return cases


def _step_backward_variant(order=GATES, tanh_grad=True, dh_reaches_c=True, dc_used=True,
                           dc_prev="total", g_grad="tanh", sigmoid_grad="s(1-s)",
                           do_reads="tanh_c", change=None):
    """The step backward with one rule changed; the defaults are the correct gradients.

    ``change(grads, da)`` may replace the six outputs at the end.
    """
    def make(ref):
        def lstm_step_backward(dh, dc, cache):
            x, h_prev, c_prev, Wx, Wh, i, f, o, g, c = cache
            tanh_c = np.tanh(c)
            do = dh * (tanh_c if do_reads == "tanh_c" else c)
            through_h = dh * o * ((1 - tanh_c**2) if tanh_grad else 1)
            dc_total = (dc if dc_used else 0) + (through_h if dh_reaches_c else 0)
            back = {"total": dc_total * f, "upstream": dc * f, "no f": dc_total}[dc_prev]
            d_sigmoid = (lambda s: s * (1 - s)) if sigmoid_grad == "s(1-s)" else (lambda s: 1 - s**2)
            blocks = {"i": dc_total * g * d_sigmoid(i), "f": dc_total * c_prev * d_sigmoid(f),
                      "o": do * d_sigmoid(o),
                      "g": dc_total * i * ((1 - g**2) if g_grad == "tanh" else g * (1 - g))}
            da = np.concatenate([blocks[gate] for gate in order], axis=1)  # (N, 4H)
            grads = [da @ Wx.T, da @ Wh.T, back, x.T @ da, h_prev.T @ da, da.sum(axis=0)]
            return tuple(change(grads, da) if change else grads)
        return lstm_step_backward
    return make


STEP_BACKWARD_MISTAKES = {
    "no_tanh_grad": Mistake(
        "the derivative of tanh(c) is missing: the part of dh that reaches c is "
        "dh * o * (1 - tanh(c)**2)", _step_backward_variant(tanh_grad=False)),
    "dh_not_into_c": Mistake(
        "dh does not reach the cell state: the total dc is the upstream dc plus "
        "dh * o * (1 - tanh(c)**2)", _step_backward_variant(dh_reaches_c=False)),
    "dc_ignored": Mistake(
        "the upstream dc is ignored: add it to the part of dh that reaches c",
        _step_backward_variant(dc_used=False)),
    "dc_prev_upstream": Mistake(
        "dc_prev uses only the upstream dc; it is the TOTAL gradient of c (upstream dc plus the "
        "part through h) times f", _step_backward_variant(dc_prev="upstream")),
    "dc_prev_no_f": Mistake(
        "dc_prev is missing the forget gate: dc_prev = (total dc) * f",
        _step_backward_variant(dc_prev="no f")),
    "torch_order": Mistake(
        "da is stacked in PyTorch's gate order i, f, g, o; stack it like the forward: i, f, o, g",
        _step_backward_variant(order="ifgo")),
    "g_sigmoid_grad": Mistake(
        "g is a tanh: its derivative is 1 - g**2, not g * (1 - g)",
        _step_backward_variant(g_grad="sigmoid")),
    "gate_tanh_grad": Mistake(
        "i, f and o are sigmoids: the derivative of s = sigmoid(a) is s * (1 - s), not 1 - s**2",
        _step_backward_variant(sigmoid_grad="1-s^2")),
    "do_reads_c": Mistake(
        "do = dh * tanh(c), not dh * c", _step_backward_variant(do_reads="c")),
    "dWx_T": Mistake(
        "dWx is transposed: dWx = x.T @ da has the shape (D, 4H) of Wx",
        _step_backward_variant(change=replace_output(3, lambda grads, da: grads[3].T))),
    "dWh_T": Mistake(
        "dWh is transposed: dWh = h_prev.T @ da has the shape (H, 4H) of Wh",
        _step_backward_variant(change=replace_output(4, lambda grads, da: grads[4].T))),
    "db_not_summed": Mistake(
        "db is not summed over the batch: db = da.sum(axis=0), shape (4H,)",
        _step_backward_variant(change=replace_output(5, lambda grads, da: da))),
    "db_mean": Mistake(
        "db is averaged over the batch; sum it (the loss already did any averaging)",
        _step_backward_variant(change=replace_output(5, lambda grads, da: da.mean(axis=0)))),
}

LSTM_STEP_BACKWARD = Exercise(
    ASSIGNMENT, "lstm_step_backward", points=4,
    outputs=(Output("dx", 0, "ND"), Output("dh_prev", 1, "NH"), Output("dc_prev", 2, "NH"),
             Output("dWx", 3, ("D", *FOUR_H)), Output("dWh", 4, ("H", *FOUR_H)),
             Output("db", 5, FOUR_H)),
    returns="(dx, dh_prev, dc_prev, dWx, dWh, db)",
    make_cases=_step_backward_cases,
    mistakes=tuple(STEP_BACKWARD_MISTAKES.values()),
)


# ---------------------------------------------------------------- lstm_backward
def _backward_cases(rng):
    ref = load_reference(ASSIGNMENT)
    cases = []
    for N, T, D, H, kind in [(1, 1, 2, 3, ""), (1, 4, 3, 2, ""), (2, 1, 3, 4, ""),
                             (3, 5, 2, 4, ""), (2, 7, 4, 3, ""), (2, 6, 3, 2, "last"),
                             (1, 3, 1, 1, "")]:
        _, cache = ref.lstm_forward(_normal(rng, N, T, D), _normal(rng, N, H), *_weights(rng, D, H))
        dh = _normal(rng, N, T, H)
        if kind == "last":  # a loss on the last state only, as in a sequence classifier
            dh[:, :-1] = 0
        label = f"N={N}, T={T}, D={D}, H={H}" + (", a loss on the last state only" if kind else "")
        cases.append(Case(label, (dh, cache), _dims(N=N, T=T, D=D, H=H)))
    return cases


def _bptt_variant(step_input=lambda dh_t, carried, t, T: dh_t + carried, carry_dc=True,
                  order=reversed, accumulate=True):
    """BPTT with one rule changed; the defaults are the correct loop.

    ``step_input(dh_t, carried, t, T)`` is the dh given to step t.
    """
    def make(ref):
        step_backward = ref.lstm_step_backward

        def lstm_backward(dh, cache):
            N, T, H = dh.shape
            dx = np.zeros((N, T, cache[0][0].shape[1]))
            sums = [0, 0, 0]
            dh_carried, dc_carried = np.zeros((N, H)), np.zeros((N, H))
            for t in order(range(T)):
                dx[:, t], dh_carried, dc_back, *grads = step_backward(
                    step_input(dh[:, t], dh_carried, t, T), dc_carried, cache[t])
                dc_carried = dc_back if carry_dc else np.zeros((N, H))
                sums = [s + g for s, g in zip(sums, grads)] if accumulate else grads
            return (dx, dh_carried, *sums)
        return lstm_backward
    return make


LSTM_BACKWARD = Exercise(
    ASSIGNMENT, "lstm_backward", points=3,
    calls=("lstm_step_backward",),
    outputs=(Output("dx", 0, "NTD"), Output("dh0", 1, "NH"), Output("dWx", 2, ("D", *FOUR_H)),
             Output("dWh", 3, ("H", *FOUR_H)), Output("db", 4, FOUR_H)),
    returns="(dx, dh0, dWx, dWh, db)",
    make_cases=_backward_cases,
    mistakes=(
        # a step whose dc_prev uses only the upstream dc computes exactly this too: the dc
        # carried into the last step is zero, so it stays zero
        Mistake("dc is not carried back through time: step t gets the dc_prev of step t + 1 "
                "(zeros for the last step); if it does, check that dc_prev in lstm_step_backward "
                "is the TOTAL gradient of c times f", _bptt_variant(carry_dc=False)),
        Mistake("the dh_prev carried back from step t + 1 is dropped: step t gets "
                "dh[:, t] + that dh_prev", _bptt_variant(step_input=lambda dh_t, carried, t, T: dh_t)),
        Mistake("dh[:, t] is not added to the carried gradient: step t gets "
                "dh[:, t] + the dh_prev of step t + 1",
                _bptt_variant(step_input=lambda dh_t, carried, t, T: carried + (dh_t if t == T - 1 else 0))),
        Mistake("the weight gradients are overwritten at each step instead of summed over time "
                "(dWx += ..., not dWx = ...)", _bptt_variant(accumulate=False)),
        Mistake("the steps are visited forward in time; walk backward, from t = T - 1 down to 0",
                _bptt_variant(order=iter)),
        *[through(STEP_BACKWARD_MISTAKES[key], "lstm_backward", "lstm_step_backward")
          for key in ("no_tanh_grad", "dh_not_into_c", "dc_prev_no_f", "torch_order",
                      "g_sigmoid_grad", "do_reads_c")],
    ),
)


NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(LSTM_STEP_FORWARD, LSTM_FORWARD, LSTM_STEP_BACKWARD, LSTM_BACKWARD),
    visible=visible,
    # the named mistakes' outputs on the visible cases, so the visible checks name them too
    visible_mistakes=lambda reference: mistake_outputs(NOTEBOOK, reference),
    by_hand=True,
    provided_from=("01_vanilla_rnn", "02_bptt"),
    written=(Written("lstm_cell_path", 2),),
    samples=(
        Sample("perfect", {"*": solved}, answers={"lstm_cell_path": Answer(MODEL, 2)}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"lstm_step_forward": solved, "lstm_forward": solved},
               {"lstm_step_backward": 0, "lstm_backward": 0},
               answers={"lstm_cell_path": Answer('The cell state: the forget gate lets the gradient pass from $c_t$ to $c_{t-1}$.', 0.5)}),
        Sample("float32", {"*": in_float32}),
        Sample("gate_order", {"*": solved, "lstm_step_forward": replaced(
            "    o = gates[:, 2 * H:]  # output gate: how much of the memory to show\n"
            "    g = np.tanh(a[:, 3 * H:])  # candidate: what could be written\n",
            "    o = 1 / (1 + np.exp(-a[:, 3 * H:]))  # output gate\n"
            "    g = np.tanh(a[:, 2 * H:3 * H])  # candidate\n")},
               {"lstm_step_forward": 0},
               why="PyTorch's gate order i, f, g, o read into our layout: o and g swapped; "
                   "lstm_forward calls the step and is graded over it, so it keeps its points; "
                   "the backward checks use the reference's caches"),
        Sample("raises", {"*": solved, "lstm_backward": replaced("cache[0][3], cache[0][4]",
                                                                 "cache[0][3], cache[0][10]")},
               {"lstm_backward": 0}, why="a wrong index into the step cache: an IndexError "
                                         "in every case of lstm_backward only"),
    ),
)
