"""Hidden checks of notebook 04, the GRU: the lecture's form by hand, PyTorch's form, stacks.

Cases are drawn
from a fixed seed per exercise and cover N=1, T=1, D=1 and H=1, and saturated gates. The blocks
are stacked r, z, candidate (reset, update, candidate) along the last axis of Wx (D, 3H),
Wh (H, 3H) and b (3H,). The lecture's step is next_h = z * prev_h + (1 - z) * h_tilde with
h_tilde = tanh(x Wx_n + (r * prev_h) Wh_n + b_n). A backward function is given a cache made by
the REFERENCE forward function, in the layout its docstring documents.

Each mistake is a small variant of the reference, written with switches whose defaults are the
correct computation (a test proves that). The hint of each mistake is the one the visible
check gives (``rnncourse.visible.gru.HINTS``), and the visible check names the mistake from the
outputs stored by :func:`visible_mistake_values`, so a student hears the same diagnosis from both.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.declaration import MODEL, Answer, Notebook, Sample, Written
from autograder.checks.framework import (
    Case,
    Exercise,
    Mistake,
    Output,
    rebind,
    replace_output,
    state_before_step,
)
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32, replaced, solved
from rnncourse.visible import gru as visible

ASSIGNMENT = "04_gru"
HINTS = visible.HINTS
THREE_H = ("3H",)


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


def _sigmoid(a):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-a))


def _sigmoid_unstable(a):
    """e^a / (1 + e^a): inf / inf = NaN once a passes about 710."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(a) / (1 + np.exp(a))


def _weights(rng, D, H, scale=0.5):
    return _normal(rng, D, 3 * H, scale=scale), _normal(rng, H, 3 * H, scale=scale), _normal(rng, 3 * H)


def _dims(**sizes):
    return {**sizes, "3H": 3 * sizes["H"]}


def _named(key: str, make) -> Mistake:
    return Mistake(HINTS[key], make)


def through(key: str, mistake: Mistake, outer: str, helper: str) -> Mistake:
    """``mistake`` of ``helper`` seen through ``outer``; the hint is the visible check's."""
    def make(ref):
        broken = mistake.make(ref)
        if helper == "gru_step_forward" and outer != "gru_forward":  # outer -> gru_forward -> step
            return rebind(getattr(ref, outer), gru_forward=rebind(ref.gru_forward, gru_step_forward=broken))
        return rebind(getattr(ref, outer), **{helper: broken})
    return Mistake(visible.through_hint(key, outer, helper), make)


# ---------------------------------------------------------------- gru_step_forward
def _step_forward_cases(rng):
    cases = []
    for N, D, H, kind in [(1, 1, 1, ""), (1, 3, 4, ""), (2, 5, 3, ""), (4, 3, 6, ""),
                          (3, 4, 2, ""), (2, 3, 4, "large")]:
        Wx, Wh, b = _weights(rng, D, H, 300.0 if kind else 0.5)  # saturated gates: sigmoid(+-1000)
        label = f"N={N}, D={D}, H={H}" + (", very large pre-activations" if kind else "")
        cases.append(Case(label, (_normal(rng, N, D), _normal(rng, N, H), Wx, Wh, b), _dims(N=N, D=D, H=H)))
    return cases


def _step_variant(order="rzn", reset="before", update="keep", transpose_hn=False, sigmoid=_sigmoid):
    """A GRU step with one rule changed; the defaults are the correct step."""
    def make(ref):
        def gru_step_forward(x, prev_h, Wx, Wh, b):
            H = prev_h.shape[1]
            blocks = dict(zip(order, np.split(np.arange(3 * H), 3)))  # which columns hold what
            pre = lambda g: x @ Wx[:, blocks[g]] + b[blocks[g]]  # (N, H)
            Wh_n = Wh[:, blocks["n"]].T if transpose_hn else Wh[:, blocks["n"]]
            r = sigmoid(pre("r") + prev_h @ Wh[:, blocks["r"]])
            z = sigmoid(pre("z") + prev_h @ Wh[:, blocks["z"]])
            recurrent = {"before": (r * prev_h) @ Wh_n, "after": r * (prev_h @ Wh_n),
                         "none": prev_h @ Wh_n}[reset]
            h_tilde = np.tanh(pre("n") + recurrent)
            next_h = z * prev_h + (1 - z) * h_tilde if update == "keep" else (1 - z) * prev_h + z * h_tilde
            return next_h, None
        return gru_step_forward
    return make


def _step_with_inputs(change):
    """The reference step on changed inputs: change(x, prev_h, Wx, Wh, b) -> inputs."""
    return lambda ref: lambda *args: ref.gru_step_forward(*change(*args))


STEP_FORWARD_MISTAKES = {
    "reset_after": _named("reset_after", _step_variant(reset="after")),
    "update_swapped": _named("update_swapped", _step_variant(update="write")),
    "no_reset": _named("no_reset", _step_variant(reset="none")),
    "order_zrn": _named("order_zrn", _step_variant(order="zrn")),
    "order_other": _named("order_other", _step_variant(order="rnz")),
    "Wh_n_T": _named("Wh_n_T", _step_variant(transpose_hn=True)),
    "no_bias": _named("no_bias", _step_with_inputs(lambda x, h, Wx, Wh, b: (x, h, Wx, Wh, 0 * b))),
    "no_prev_h": _named("no_prev_h", _step_with_inputs(lambda x, h, Wx, Wh, b: (x, 0 * h, Wx, Wh, b))),
    # e^a / (1 + e^a) gives NaN, which the feedback names by itself
    "unstable_sigmoid": _named("unstable_sigmoid", _step_variant(sigmoid=_sigmoid_unstable)),
}

GRU_STEP_FORWARD = Exercise(
    ASSIGNMENT, "gru_step_forward", points=3,
    outputs=(Output("next_h", 0, "NH"),),
    returns="(next_h, cache)",
    make_cases=_step_forward_cases,
    mistakes=tuple(STEP_FORWARD_MISTAKES.values()),
)


# ---------------------------------------------------------------- gru_forward
SEQUENCE_SIZES = [(1, 1, 2, 3), (1, 4, 3, 2), (2, 1, 3, 4), (3, 5, 2, 4), (2, 7, 4, 3), (2, 3, 1, 1)]


def _forward_cases(rng):
    cases = []
    for N, T, D, H in SEQUENCE_SIZES:
        args = (_normal(rng, N, T, D), _normal(rng, N, H), *_weights(rng, D, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args, _dims(N=N, T=T, D=D, H=H)))
    return cases


def _forward_variant(carry=True, h0_used=True):
    """The sequence loop with one rule changed; the defaults are the correct loop."""
    def make(ref):
        def gru_forward(x, h0, Wx, Wh, b):
            start = h0 if h0_used else np.zeros_like(h0)
            h, states = start, []
            for t in range(x.shape[1]):
                h, _ = ref.gru_step_forward(x[:, t], h if carry else start, Wx, Wh, b)
                states.append(h)
            return np.stack(states, axis=1), None
        return gru_forward
    return make


STEP_THROUGH = ("reset_after", "update_swapped", "no_reset", "order_zrn", "Wh_n_T")
FORWARD_MISTAKES = {
    "not_carried": _named("not_carried", _forward_variant(carry=False)),
    "h0_ignored": _named("h0_ignored", _forward_variant(h0_used=False)),
    "state_before": _named("state_before", state_before_step("gru_forward")),
    **{f"{k}@step": through(k, STEP_FORWARD_MISTAKES[k], "gru_forward", "gru_step_forward")
       for k in STEP_THROUGH},
}

GRU_FORWARD = Exercise(
    ASSIGNMENT, "gru_forward", points=2,
    calls=("gru_step_forward",),
    outputs=(Output("h", 0, "NTH"),),
    returns="(h, cache)",
    make_cases=_forward_cases,
    mistakes=tuple(FORWARD_MISTAKES.values()),
)


# ---------------------------------------------------------------- gru_step_backward
def _step_backward_cases(rng):
    ref = load_reference(ASSIGNMENT)
    cases = []
    for N, D, H, kind in [(1, 1, 1, ""), (1, 3, 4, ""), (2, 5, 3, ""), (4, 3, 6, ""),
                          (3, 4, 2, ""), (2, 3, 4, "saturated")]:
        Wx, Wh, b = _weights(rng, D, H, 5.0 if kind else 0.5)  # gates close to 0 or 1
        _, cache = ref.gru_step_forward(_normal(rng, N, D), _normal(rng, N, H), Wx, Wh, b)
        label = f"N={N}, D={D}, H={H}" + (", nearly saturated gates" if kind else "")
        cases.append(Case(label, (_normal(rng, N, H), cache), _dims(N=N, D=D, H=H)))
    return cases


def _step_backward_variant(order="rzn", direct=True, reset_road=True, gate_roads=True,
                           update="keep", reset="before", transpose_hn=False, Wh_n_from="r*h",
                           change=None):
    """The step backward with one rule changed; the defaults are the correct gradients.

    ``change(grads, da)`` may replace the five outputs at the end.
    """
    def make(ref):
        def gru_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, r, z, h_tilde = cache
            H = prev_h.shape[1]
            Wh_n = Wh[:, 2 * H:].T if transpose_hn else Wh[:, 2 * H:]
            keep = z if update == "keep" else 1 - z  # the share of prev_h in next_h
            dz = dnext_h * (prev_h - h_tilde) * (1 if update == "keep" else -1)
            da_n = dnext_h * (1 - keep) * (1 - h_tilde**2)
            if reset == "before":
                d_reset_h = da_n @ Wh_n.T
                dr, via_reset = d_reset_h * prev_h, d_reset_h * r
                dWh_n = ((r * prev_h) if Wh_n_from == "r*h" else prev_h).T @ da_n
            else:  # the reset applied after the product: h_tilde = tanh(... + r * (prev_h @ Wh_n))
                dr = da_n * (prev_h @ Wh_n)
                via_reset = (da_n * r) @ Wh_n.T
                dWh_n = prev_h.T @ (da_n * r)
            blocks = {"r": dr * r * (1 - r), "z": dz * z * (1 - z), "n": da_n}
            da = np.concatenate([blocks[g] for g in order], axis=1)  # (N, 3H)
            gates = np.concatenate([blocks["r"], blocks["z"]], axis=1)
            dprev_h = ((dnext_h * keep if direct else 0) + (via_reset if reset_road else 0)
                       + (gates @ Wh[:, :2 * H].T if gate_roads else 0))
            dWh = np.concatenate([prev_h.T @ gates, dWh_n], axis=1)
            grads = [da @ Wx.T, dprev_h, x.T @ da, dWh, da.sum(axis=0)]
            return tuple(change(grads, da) if change else grads)
        return gru_step_backward
    return make


STEP_BACKWARD_MISTAKES = {
    "no_direct": _named("no_direct", _step_backward_variant(direct=False)),
    "no_reset_road": _named("no_reset_road", _step_backward_variant(reset_road=False)),
    "no_gate_roads": _named("no_gate_roads", _step_backward_variant(gate_roads=False)),
    "update_swapped_back": _named("update_swapped_back", _step_backward_variant(update="write")),
    "reset_after_back": _named("reset_after_back", _step_backward_variant(reset="after")),
    "order_zrn_back": _named("order_zrn_back", _step_backward_variant(order="zrn")),
    "Wh_n_T_back": _named("Wh_n_T_back", _step_backward_variant(transpose_hn=True)),
    "dWh_n_from_h": _named("dWh_n_from_h", _step_backward_variant(Wh_n_from="h")),
    "dWx_T": _named("dWx_T", _step_backward_variant(change=replace_output(2, lambda g, da: g[2].T))),
    "dWh_T": _named("dWh_T", _step_backward_variant(change=replace_output(3, lambda g, da: g[3].T))),
    "db_not_summed": _named("db_not_summed", _step_backward_variant(change=replace_output(4, lambda g, da: da))),
    "db_mean": _named("db_mean", _step_backward_variant(change=replace_output(4, lambda g, da: da.mean(axis=0)))),
}

GRU_STEP_BACKWARD = Exercise(
    ASSIGNMENT, "gru_step_backward", points=4,
    outputs=(Output("dx", 0, "ND"), Output("dprev_h", 1, "NH"), Output("dWx", 2, ("D", *THREE_H)),
             Output("dWh", 3, ("H", *THREE_H)), Output("db", 4, THREE_H)),
    returns="(dx, dprev_h, dWx, dWh, db)",
    make_cases=_step_backward_cases,
    mistakes=tuple(STEP_BACKWARD_MISTAKES.values()),
)


# ---------------------------------------------------------------- gru_backward
def _backward_cases(rng):
    ref = load_reference(ASSIGNMENT)
    cases = []
    for (N, T, D, H), kind in zip(SEQUENCE_SIZES + [(2, 6, 3, 2)], [""] * 6 + ["last"]):
        _, cache = ref.gru_forward(_normal(rng, N, T, D), _normal(rng, N, H), *_weights(rng, D, H))
        dh = _normal(rng, N, T, H)
        if kind == "last":  # a loss on the last state only, as in a sequence classifier
            dh[:, :-1] = 0
        label = f"N={N}, T={T}, D={D}, H={H}" + (", a loss on the last state only" if kind else "")
        cases.append(Case(label, (dh, cache), _dims(N=N, T=T, D=D, H=H)))
    return cases


def _bptt_variant(add_own=True, carry=True, order=reversed, accumulate=True):
    """BPTT with one rule changed; the defaults are the correct loop."""
    def make(ref):
        def gru_backward(dh, cache):
            N, T, H = dh.shape
            dx = np.zeros((N, T, cache[0][0].shape[1]))
            sums, carried = [0, 0, 0], np.zeros((N, H))
            for t in order(range(T)):
                upstream = (dh[:, t] if add_own or t == T - 1 else 0) + (carried if carry else 0)
                dx[:, t], carried, *grads = ref.gru_step_backward(upstream, cache[t])
                sums = [s + g for s, g in zip(sums, grads)] if accumulate else grads
            return (dx, carried, *sums)
        return gru_backward
    return make


BACKWARD_MISTAKES = {
    "dh_not_carried": _named("dh_not_carried", _bptt_variant(carry=False)),
    "dh_t_not_added": _named("dh_t_not_added", _bptt_variant(add_own=False)),
    "overwritten": _named("overwritten", _bptt_variant(accumulate=False)),
    "forward_order": _named("forward_order", _bptt_variant(order=iter)),
    **{f"{k}@step": through(k, STEP_BACKWARD_MISTAKES[k], "gru_backward", "gru_step_backward")
       for k in ("no_direct", "no_reset_road", "update_swapped_back", "order_zrn_back", "Wh_n_T_back")},
}

GRU_BACKWARD = Exercise(
    ASSIGNMENT, "gru_backward", points=3,
    calls=("gru_step_backward",),
    outputs=(Output("dx", 0, "NTD"), Output("dh0", 1, "NH"), Output("dWx", 2, ("D", *THREE_H)),
             Output("dWh", 3, ("H", *THREE_H)), Output("db", 4, THREE_H)),
    returns="(dx, dh0, dWx, dWh, db)",
    make_cases=_backward_cases,
    mistakes=tuple(BACKWARD_MISTAKES.values()),
)


# ---------------------------------------------------------------- pytorch_gru_step_forward
def _torch_step_cases(rng):
    cases = []
    for N, D, H, kind in [(1, 1, 1, ""), (1, 3, 4, ""), (2, 5, 3, ""), (4, 3, 6, ""),
                          (3, 4, 2, ""), (2, 3, 4, "large")]:
        scale = 300.0 if kind else 0.5
        Wx, Wh = _normal(rng, D, 3 * H, scale=scale), _normal(rng, H, 3 * H, scale=scale)
        args = (_normal(rng, N, D), _normal(rng, N, H), Wx, Wh, _normal(rng, 3 * H), _normal(rng, 3 * H))
        label = f"N={N}, D={D}, H={H}" + (", very large pre-activations" if kind else "")
        cases.append(Case(label, args, _dims(N=N, D=D, H=H)))
    return cases


def _torch_step_variant(order="rzn", reset="after", bias_hn="inside", update="keep", use_bh=True):
    """PyTorch's GRU step with one rule changed; the defaults are the correct step."""
    def make(ref):
        def pytorch_gru_step_forward(x, prev_h, Wx, Wh, bx, bh):
            H = prev_h.shape[1]
            bh = bh if use_bh else 0 * bh
            cols = dict(zip(order, np.split(np.arange(3 * H), 3)))
            gx = {g: x @ Wx[:, c] + bx[c] for g, c in cols.items()}
            r = _sigmoid(gx["r"] + prev_h @ Wh[:, cols["r"]] + bh[cols["r"]])
            z = _sigmoid(gx["z"] + prev_h @ Wh[:, cols["z"]] + bh[cols["z"]])
            Wh_n, bh_n = Wh[:, cols["n"]], bh[cols["n"]]
            inside = bh_n if bias_hn == "inside" else 0
            outside = bh_n if bias_hn == "outside" else 0
            recurrent = {"after": r * (prev_h @ Wh_n + inside), "before": (r * prev_h) @ Wh_n + inside,
                         "none": prev_h @ Wh_n + inside}[reset]
            n = np.tanh(gx["n"] + recurrent + outside)
            next_h = (1 - z) * n + z * prev_h if update == "keep" else z * n + (1 - z) * prev_h
            return next_h, None
        return pytorch_gru_step_forward
    return make


TORCH_STEP_MISTAKES = {
    "torch_reset_before": _named("torch_reset_before", _torch_step_variant(reset="before")),
    "torch_bhn_outside": _named("torch_bhn_outside", _torch_step_variant(bias_hn="outside")),
    "torch_update_swapped": _named("torch_update_swapped", _torch_step_variant(update="write")),
    "torch_no_bh": _named("torch_no_bh", _torch_step_variant(use_bh=False)),
    "torch_no_reset": _named("torch_no_reset", _torch_step_variant(reset="none")),
    "torch_order_zrn": _named("torch_order_zrn", _torch_step_variant(order="zrn")),
}

PYTORCH_GRU_STEP_FORWARD = Exercise(
    ASSIGNMENT, "pytorch_gru_step_forward", points=2,
    outputs=(Output("next_h", 0, "NH"),),
    returns="(next_h, cache)",
    make_cases=_torch_step_cases,
    mistakes=tuple(TORCH_STEP_MISTAKES.values()),
)


# ---------------------------------------------------------------- stacked_gru_forward
def _stacked_cases(rng):
    cases = []
    # D == H in some cases, so that feeding x to every layer is a wrong value, not a shape error
    for N, T, D, H, L in [(1, 1, 2, 2, 1), (1, 4, 3, 3, 2), (2, 1, 3, 4, 2), (3, 5, 2, 4, 3),
                          (2, 3, 4, 4, 3), (2, 3, 1, 1, 2)]:
        layers = [_weights(rng, D if l == 0 else H, H) for l in range(L)]
        args = (_normal(rng, N, T, D), _normal(rng, L, N, H), layers)
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}, L={L}", args, _dims(N=N, T=T, D=D, H=H)))
    return cases


def _stacked_variant(feed="h", output="top", starts="own"):
    """The stack with one rule changed; the defaults are the correct stack."""
    def make(ref):
        def stacked_gru_forward(x, h0, layers):
            h, outputs = x, []
            for l, (Wx, Wh, b) in enumerate(layers):
                h, _ = ref.gru_forward(h if feed == "h" else x, h0[l if starts == "own" else 0], Wx, Wh, b)
                outputs.append(h)
            return (outputs[-1] if output == "top" else outputs[0]), None
        return stacked_gru_forward
    return make


STACKED_MISTAKES = {
    "stack_reads_x": _named("stack_reads_x", _stacked_variant(feed="x")),
    "stack_bottom_out": _named("stack_bottom_out", _stacked_variant(output="bottom")),
    "stack_same_h0": _named("stack_same_h0", _stacked_variant(starts="first")),
    **{f"{k}@step": through(k, STEP_FORWARD_MISTAKES[k], "stacked_gru_forward", "gru_step_forward")
       for k in ("reset_after", "update_swapped")},
}

STACKED_GRU_FORWARD = Exercise(
    ASSIGNMENT, "stacked_gru_forward", points=1,
    calls=("gru_forward",),
    outputs=(Output("h", 0, "NTH"),),
    returns="(h, cache)",
    make_cases=_stacked_cases,
    mistakes=tuple(STACKED_MISTAKES.values()),
)


# ---------------------------------------------------------------- bidirectional_gru_forward
def _bidirectional_cases(rng):
    cases = []
    for N, T, D, H in SEQUENCE_SIZES:
        args = (_normal(rng, N, T, D), _normal(rng, 2, N, H), _weights(rng, D, H), _weights(rng, D, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args, _dims(N=N, T=T, D=D, H=H)))
    return cases


def _bidirectional_variant(flip_back=True, reverse_input=True, halves="fb", starts="own",
                           time_axis=1):
    """The bidirectional layer with one rule changed; the defaults are the correct layer."""
    def make(ref):
        def bidirectional_gru_forward(x, h0, forward_params, backward_params):
            h_fwd, _ = ref.gru_forward(x, h0[0], *forward_params)
            flip = lambda a: np.flip(a, axis=time_axis)
            h_rev, _ = ref.gru_forward(flip(x) if reverse_input else x,
                                       h0[1 if starts == "own" else 0], *backward_params)
            h_bwd = flip(h_rev) if flip_back else h_rev
            parts = [h_fwd, h_bwd] if halves == "fb" else [h_bwd, h_fwd]
            return np.concatenate(parts, axis=2), None
        return bidirectional_gru_forward
    return make


BIDIRECTIONAL_MISTAKES = {
    "bi_not_flipped_back": _named("bi_not_flipped_back", _bidirectional_variant(flip_back=False)),
    "bi_not_reversed": _named("bi_not_reversed", _bidirectional_variant(reverse_input=False)),
    "bi_halves_swapped": _named("bi_halves_swapped", _bidirectional_variant(halves="bf")),
    "bi_same_h0": _named("bi_same_h0", _bidirectional_variant(starts="first")),
    "bi_batch_axis": _named("bi_batch_axis", _bidirectional_variant(time_axis=0)),
    **{f"{k}@step": through(k, STEP_FORWARD_MISTAKES[k], "bidirectional_gru_forward", "gru_step_forward")
       for k in ("reset_after", "update_swapped")},
}

BIDIRECTIONAL_GRU_FORWARD = Exercise(
    ASSIGNMENT, "bidirectional_gru_forward", points=1,
    calls=("gru_forward",),
    outputs=(Output("out", 0, ("N", "T", "2H")),),
    returns="(out, cache)",
    make_cases=_bidirectional_cases,
    mistakes=tuple(BIDIRECTIONAL_MISTAKES.values()),
)


MISTAKES = {"gru_step_forward": STEP_FORWARD_MISTAKES, "gru_forward": FORWARD_MISTAKES,
            "gru_step_backward": STEP_BACKWARD_MISTAKES, "gru_backward": BACKWARD_MISTAKES,
            "pytorch_gru_step_forward": TORCH_STEP_MISTAKES, "stacked_gru_forward": STACKED_MISTAKES,
            "bidirectional_gru_forward": BIDIRECTIONAL_MISTAKES}


def visible_mistake_values(ref) -> dict[str, np.ndarray]:
    """The outputs of every named mistake on the visible checks' main inputs, for the fixture.

    Stored as ``"<function>/mistake/<key>/<output>"``, so the visible check can say which
    mistake a wrong answer matches without holding any broken code itself.
    """
    exercises = {e.name: e for e in NOTEBOOK.exercises}
    values = {}
    for name, mistakes in MISTAKES.items():
        args = visible.main_args(name, ref)
        for key, mistake in mistakes.items():
            with np.errstate(all="ignore"):
                result = mistake.make(ref)(*args)
            for output in exercises[name].outputs:
                values[f"{name}/mistake/{key}/{output.name}"] = np.asarray(result[output.index], dtype=np.float64)
    return values


NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(GRU_STEP_FORWARD, GRU_FORWARD, GRU_STEP_BACKWARD, GRU_BACKWARD,
               PYTORCH_GRU_STEP_FORWARD, STACKED_GRU_FORWARD, BIDIRECTIONAL_GRU_FORWARD),
    visible=visible,
    by_hand=True,  # the graded functions are NumPy; the PyTorch parts are ungraded experiments
    provided_from=("01_vanilla_rnn", "02_bptt", "03_lstm"),
    visible_mistakes=visible_mistake_values,
    written=(Written("gru_update_path", 2),),
    samples=(
        Sample("perfect", {"*": solved}, answers={"gru_update_path": Answer(MODEL, 2)}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"gru_step_forward": solved, "gru_forward": solved, "pytorch_gru_step_forward": solved},
               {"gru_step_backward": 0, "gru_backward": 0, "stacked_gru_forward": 0,
                "bidirectional_gru_forward": 0},
               answers={"gru_update_path": Answer('$\\operatorname{diag}(z)$, because $h_t$ contains $z \\odot h_{t-1}$: like the forget gate of the LSTM.', 1)}),
        Sample("float32", {"*": in_float32}),
        Sample("reset_after", {"*": solved, "gru_step_forward": replaced(
            "(r * prev_h) @ Wh[:, 2 * H:]", "r * (prev_h @ Wh[:, 2 * H:])")},
               {"gru_step_forward": (0, 3)},
               why="PyTorch's placement of the reset gate in the lecture's GRU: right only where "
                   "r * (h W) = (r * h) W (one unit, saturated gates); the sequence, the stack and "
                   "both directions call the step and are graded over the student's own functions, "
                   "so they keep their points; the backward checks use the reference's caches"),
        Sample("raises", {"*": solved, "gru_backward": replaced("cache[0][2], cache[0][3]",
                                                                "cache[0][2], cache[0][7]")},
               {"gru_backward": 0}, why="a wrong index into the step cache: an IndexError in every "
                                        "case of gru_backward only"),
    ),
)
