"""Visible checks of notebook 02: the backward passes, clipping and truncated BPTT.

Inputs are small and fixed (evenly spaced values), so a student can rerun a check and get the
same message. Expected outputs come from the stored fixture. A backward function is given a
cache in the layout its forward function documents (notebook 01), built here from the fixed
inputs and the forward outputs stored in the fixture, so its check does not depend on the
student's own forward pass.
"""
from __future__ import annotations

import numpy as np

from rnncourse.compare import expect, expect_array
from rnncourse.visible import load_fixture, passed

ASSIGNMENT = "02_bptt"
PARAM_NAMES = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")
PARAM_LETTERS = {"W_embed": "VE", "Wx": "EH", "Wh": "HH", "b": "H", "W_out": "HV", "b_out": "V"}
CLIP_MAX_NORMS = {"above": 2.0, "below": 20.0}  # the fixed gradients have a global norm of 5.4


def _spaced(low: float, high: float, *shape: int) -> np.ndarray:
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def visible_inputs() -> dict[str, dict]:
    """The fixed inputs of every visible check, by function name (fresh arrays on every call)."""
    # D == H and a square w: a forgotten transpose then gives wrong values, which the check can
    # explain, rather than a shape error inside the student's code (the gradient checks in the
    # notebook use non-square shapes, where it gives a shape error)
    N, T, D, H, V, E = 3, 4, 4, 4, 6, 3
    Wx, Wh, b = _spaced(-0.1, 0.9, D, H), _spaced(-0.3, 0.7, H, H), _spaced(-0.2, 0.4, H)
    ids = np.array([[0, 3, 1, 5, 3, 3, 2, 0], [2, 2, 4, 0, 1, 5, 5, 2], [5, 1, 0, 3, 4, 4, 1, 0]])
    params = {"W_embed": _spaced(-1.0, 1.0, V, E), "Wx": _spaced(-0.6, 0.8, E, H), "Wh": Wh,
              "b": b, "W_out": _spaced(-2.0, 2.0, H, V)[:, [2, 5, 0, 4, 1, 3]],
              "b_out": _spaced(-0.5, 0.5, V)}
    return {
        "rnn_step_backward": {"forward": (_spaced(-0.4, 0.7, N, D), _spaced(-0.2, 0.5, N, H), Wx, Wh, b),
                              "dh": _spaced(-1.0, 0.8, N, H)[:, [1, 3, 0, 2]]},
        "rnn_backward": {"forward": (_spaced(-0.5, 0.5, N, T, D), _spaced(-0.2, 0.5, N, H), Wx, Wh, b),
                         "dh": _spaced(-1.0, 1.0, N, T, H)[..., [2, 0, 3, 1]]},
        "word_embedding_backward": {"x": ids[:, :T], "W_shape": (V, D),
                                    "dout": _spaced(-1.0, 1.0, N, T, D)},
        "temporal_affine_backward": {"x": _spaced(-1.0, 1.0, N, T, H), "w": _spaced(-0.5, 0.5, H, H),
                                     "dout": _spaced(-0.3, 0.3, N, T, H)[..., [2, 0, 3, 1]]},
        "clip_grad_norm": {"grads": {"Wx": _spaced(-1.0, 2.0, 3, 4), "Wh": _spaced(-0.5, 0.5, 4, 4),
                                     "b": _spaced(0.0, 3.0, 4)}},
        # two chunks of T steps; the first starts from h = 0, as training does
        "tbptt_step": {"params": params, "x": ids, "y": np.roll(ids, -1, axis=1),
                       "h0": np.zeros((N, H)), "T": T},
    }


def _step_cache(forward_inputs, h):
    x, h_prev, Wx, Wh, _ = forward_inputs
    return (x, h_prev, Wx, Wh, h)


def _sequence_cache(forward_inputs, h):
    x, h0, Wx, Wh, _ = forward_inputs
    states = [h0] + [h[:, t] for t in range(h.shape[1])]
    return [(x[:, t], states[t], Wx, Wh, states[t + 1]) for t in range(h.shape[1])]


def _chunks(inputs):
    x, y, T = inputs["x"], inputs["y"], inputs["T"]
    return [(x[:, s:s + T], y[:, s:s + T]) for s in range(0, x.shape[1], T)]


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    inputs = visible_inputs()
    values = {}

    step = inputs["rnn_step_backward"]
    h, cache = impl.rnn_step_forward(*step["forward"])
    values["rnn_step_backward/h"] = h
    for name, grad in zip(("dx", "dh_prev", "dWx", "dWh", "db"), impl.rnn_step_backward(step["dh"], cache)):
        values[f"rnn_step_backward/{name}"] = grad

    seq = inputs["rnn_backward"]
    h, cache = impl.rnn_forward(*seq["forward"])
    values["rnn_backward/h"] = h
    for name, grad in zip(("dx", "dh0", "dWx", "dWh", "db"), impl.rnn_backward(seq["dh"], cache)):
        values[f"rnn_backward/{name}"] = grad

    emb = inputs["word_embedding_backward"]
    dW = impl.word_embedding_backward(emb["dout"], (emb["x"], emb["W_shape"]))
    values["word_embedding_backward/dW"] = dW

    aff = inputs["temporal_affine_backward"]
    grads = impl.temporal_affine_backward(aff["dout"], (aff["x"], aff["w"]))
    for name, grad in zip(("dx", "dw", "db"), grads):
        values[f"temporal_affine_backward/{name}"] = grad

    grads = inputs["clip_grad_norm"]["grads"]
    values["clip_grad_norm/total_norm"] = np.asarray(impl.clip_grad_norm(grads, CLIP_MAX_NORMS["above"]))
    for name, grad in grads.items():
        values[f"clip_grad_norm/{name}"] = grad

    tb = inputs["tbptt_step"]
    h = tb["h0"]
    for k, (x, y) in enumerate(_chunks(tb), start=1):
        loss, chunk_grads, h = impl.tbptt_step(tb["params"], x, y, h)
        values[f"tbptt_step/{k}/loss"] = np.asarray(loss)
        values[f"tbptt_step/{k}/h_last"] = h
        for name in PARAM_NAMES:
            values[f"tbptt_step/{k}/{name}"] = chunk_grads[name]
    return values


def _expected(key: str) -> np.ndarray:
    return load_fixture(ASSIGNMENT)[key]


def _returned(name: str, result, count: int, form: str) -> tuple:
    expect(isinstance(result, (tuple, list)) and len(result) == count,
           f"{name} should return a tuple {form}, got {type(result).__name__}")
    return tuple(result)


STEP_HINTS = {
    "dx": "da = dh * (1 - h**2), then dx = da @ Wx.T",
    "dh_prev": "dh_prev = da @ Wh.T, with da = dh * (1 - h**2)",
    "dWx": "dWx = x.T @ da, with da = dh * (1 - h**2)",
    "dWh": "dWh = h_prev.T @ da",
    "db": "db sums da over the batch: da.sum(axis=0)",
}


def check_rnn_step_backward(rnn_step_backward) -> None:
    """Visible check of ``rnn_step_backward``: every gradient on fixed inputs."""
    inputs = visible_inputs()["rnn_step_backward"]
    cache = _step_cache(inputs["forward"], _expected("rnn_step_backward/h"))
    grads = _returned("rnn_step_backward", rnn_step_backward(inputs["dh"], cache), 5,
                      "(dx, dh_prev, dWx, dWh, db)")
    for (name, hint), got, letters in zip(STEP_HINTS.items(), grads, ("ND", "NH", "DH", "HH", "H")):
        expect_array(name, got, _expected(f"rnn_step_backward/{name}"), letters, hint=hint)
    passed("rnn_step_backward")


def check_rnn_backward(rnn_backward) -> None:
    """Visible check of ``rnn_backward`` on a sequence of T = 4 steps."""
    inputs = visible_inputs()["rnn_backward"]
    cache = _sequence_cache(inputs["forward"], _expected("rnn_backward/h"))
    grads = _returned("rnn_backward", rnn_backward(inputs["dh"], cache), 5, "(dx, dh0, dWx, dWh, db)")
    hints = {
        "dx": "walk t from T - 1 down to 0; step t gets dh[:, t] plus the dh_prev carried back "
              "from step t + 1, and dx[:, t] is its dx",
        "dh0": "dh0 is the gradient carried out of step 0, after the loop",
        "dWx": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
        "dWh": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
        "db": "dWx, dWh and db are the SUMS of the steps' gradients (+=)",
    }
    for (name, hint), got, letters in zip(hints.items(), grads, ("NTD", "NH", "DH", "HH", "H")):
        expect_array(name, got, _expected(f"rnn_backward/{name}"), letters,
                     hint=hint + ". If rnn_step_backward fails its check, fix it first")
    passed("rnn_backward")


def check_word_embedding_backward(word_embedding_backward) -> None:
    """Visible check of ``word_embedding_backward``; the ids repeat."""
    inputs = visible_inputs()["word_embedding_backward"]
    dW = word_embedding_backward(inputs["dout"], (inputs["x"], inputs["W_shape"]))
    expect_array("dW", dW, _expected("word_embedding_backward/dW"), "VD",
                 hint="row v of dW sums dout[n, t] over EVERY position where x[n, t] == v; "
                      "dW[x] += dout counts a repeated id once, np.add.at(dW, x, dout) does not")
    passed("word_embedding_backward")


def check_temporal_affine_backward(temporal_affine_backward) -> None:
    """Visible check of ``temporal_affine_backward``."""
    inputs = visible_inputs()["temporal_affine_backward"]
    grads = _returned("temporal_affine_backward",
                      temporal_affine_backward(inputs["dout"], (inputs["x"], inputs["w"])), 3,
                      "(dx, dw, db)")
    hints = {"dx": "dx = dout @ w.T", "dw": "dw sums x[n, t].T @ dout[n, t] over N and T: reshape "
             "x to (N*T, H) and dout to (N*T, V)", "db": "db sums dout over N and T"}
    for (name, hint), got, letters in zip(hints.items(), grads, ("NTH", "HV", "V")):
        expect_array(name, got, _expected(f"temporal_affine_backward/{name}"), letters, hint=hint)
    passed("temporal_affine_backward")


def check_clip_grad_norm(clip_grad_norm) -> None:
    """Visible check of ``clip_grad_norm``: above the limit, under it, and all zeros."""
    grads = visible_inputs()["clip_grad_norm"]["grads"]
    total_norm = clip_grad_norm(grads, CLIP_MAX_NORMS["above"])
    expect_array("total_norm", total_norm, _expected("clip_grad_norm/total_norm"),
                 hint="return the global norm BEFORE clipping: the square root of the sum of "
                      "the squares of every entry of every array")
    for name, grad in grads.items():
        expect_array(f"grads[{name!r}]", grad, _expected(f"clip_grad_norm/{name}"),
                     hint="above the limit, multiply EVERY array by max_norm / total_norm "
                          "(one global norm), in place")
    untouched = visible_inputs()["clip_grad_norm"]["grads"]
    clip_grad_norm(untouched, CLIP_MAX_NORMS["below"])
    for name, grad in untouched.items():
        expect(np.array_equal(np.asarray(grad), visible_inputs()["clip_grad_norm"]["grads"][name]),
               f"grads[{name!r}] changed although the global norm is below max_norm: "
               "leave the gradients alone when total_norm <= max_norm")
    zeros = {name: np.zeros_like(grad) for name, grad in grads.items()}
    zero_norm = clip_grad_norm(zeros, 1.0)
    expect(np.all([np.all(np.isfinite(g)) for g in zeros.values()]) and np.isfinite(zero_norm),
           "all-zero gradients gave NaN or inf: do not divide by a zero norm")
    passed("clip_grad_norm")


def check_tbptt_step(tbptt_step) -> None:
    """Visible check of ``tbptt_step`` on two consecutive chunks, carrying the state."""
    inputs = visible_inputs()["tbptt_step"]
    params, h = inputs["params"], inputs["h0"]
    for k, (x, y) in enumerate(_chunks(inputs), start=1):
        result = _returned("tbptt_step", tbptt_step(params, x, y, h), 3, "(loss, grads, h_last)")
        loss, grads, h = result
        where = "In the first chunk" if k == 1 else "In the second chunk (the first was right)"
        carry = ("" if k == 1 else "; it starts from the first chunk's h_last: run rnn_forward "
                 "from h_prev, not from zeros")
        expect_array("h_last", h, _expected(f"tbptt_step/{k}/h_last"), "NH",
                     hint=f"{where}: h_last should be the last hidden state h[:, -1]{carry}")
        expect_array("loss", loss, _expected(f"tbptt_step/{k}/loss"),
                     hint=f"{where}: the loss is the mean cross-entropy over all N * T positions{carry}")
        expect(isinstance(grads, dict) and sorted(grads) == sorted(PARAM_NAMES),
               f"grads should be a dict with the keys of params {list(PARAM_NAMES)}")
        for name in PARAM_NAMES:
            expect_array(f"grads[{name!r}]", grads[name], _expected(f"tbptt_step/{k}/{name}"),
                         PARAM_LETTERS[name],
                         hint=f"{where}: tbptt_step calls your backward functions, so make their "
                              "checks pass first; and drop dh0, no gradient flows into h_prev")
    passed("tbptt_step")

