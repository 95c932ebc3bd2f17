"""Visible checks of notebook 02: the backward passes, clipping and truncated BPTT.

Inputs are small and fixed (evenly spaced values), and each check runs the kinds of cases the
hidden check draws (a main case, N = 1 with one unit, one step, repeated ids, all-zero
gradients), without its values. Expected outputs come from the stored fixture. A check reports
every output it finds wrong and every one it finds right, and names the hidden check's mistake
when a wrong answer equals that mistake's (outputs stored in the fixture by the grader). A
backward function is given the cache the reference forward builds, in the layout notebook 01
documents, stored in the fixture, so its check does not depend on the student's forward pass.
"""
from __future__ import annotations

import numpy as np

from rnncourse.compare import CheckFailure, expect
from rnncourse.visible import (
    case_values,
    likely_mistake,
    passed,
    run_cases,
    spaced,
    stored_cache,
    verify_outputs,
)

ASSIGNMENT = "02_bptt"
PARAM_NAMES = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")
PARAM_LETTERS = {"W_embed": "VE", "Wx": "EH", "Wh": "HH", "b": "H", "W_out": "HV", "b_out": "V"}
CLIP_MAX_NORMS = {"above": 2.0, "below": 40.0}  # the main case's gradients have a global norm of 9.5
CACHE = "(x, h_prev, Wx, Wh, h)"
OUTPUTS = {  # function -> (name, index in the returned tuple or None, dimension letters)
    "rnn_step_backward": [("dx", 0, "ND"), ("dh_prev", 1, "NH"), ("dWx", 2, "DH"), ("dWh", 3, "HH"),
                          ("db", 4, "H")],
    "rnn_backward": [("dx", 0, "NTD"), ("dh0", 1, "NH"), ("dWx", 2, "DH"), ("dWh", 3, "HH"), ("db", 4, "H")],
    "word_embedding_backward": [("dW", None, "VD")],
    "temporal_affine_backward": [("dx", 0, "NTH"), ("dw", 1, "HV"), ("db", 2, "V")],
}
CHAIN = ("the chain rule through h = tanh(a), a = x Wx + h_prev Wh + b (section 1): the tanh's "
         "derivative written with h, then the factor of a that {input} meets, and the shape {shape}")
SUMMED = ("what step t receives (from dh[:, t] and from step t + 1) and what is summed over the "
          "steps (if rnn_step_backward fails its check, fix it first)")
WHERE = {
    "rnn_step_backward": {"dx": CHAIN.format(input="x", shape="(N, D)"),
                          "dh_prev": CHAIN.format(input="h_prev", shape="(N, H)"),
                          "dWx": CHAIN.format(input="Wx", shape="(D, H)"),
                          "dWh": CHAIN.format(input="Wh", shape="(H, H)"),
                          "db": "b is added to every row of the batch; its gradient has the shape (H,)"},
    "rnn_backward": {"dx": SUMMED, "dh0": "what is carried out of step 0, after the loop",
                     "dWx": SUMMED, "dWh": SUMMED, "db": SUMMED},
    "word_embedding_backward": {"dW": "every position where an id occurs adds to its row, a "
                                      "repeated id once per occurrence (NumPy's indexing docs on "
                                      "repeated indices)"},
    "temporal_affine_backward": {
        "dx": "out[n, t] = x[n, t] w + b at every position: which factor x meets, and the shape (N, T, H)",
        "dw": "the same w is used at every position n, t, so its gradient gathers all of them; "
              "the shape (H, V)",
        "db": "the bias is added at every position n, t"},
}


def _rnn(N, D, H):
    return spaced(-0.1, 0.9, D, H), spaced(-0.3, 0.7, H, H), spaced(-0.2, 0.4, H)


def _model(V, E, H):
    return {"W_embed": spaced(-1.0, 1.0, V, E), "Wx": spaced(-0.6, 0.8, E, H),
            "Wh": spaced(-0.3, 0.7, H, H), "b": spaced(-0.2, 0.4, H),
            "W_out": spaced(-2.0, 2.0, H, V), "b_out": spaced(-0.5, 0.5, V)}


def visible_inputs() -> dict[str, dict[str, dict]]:
    """function -> case -> inputs (fresh arrays on every call); ``"main"`` comes first."""
    # D == H and a square w: a forgotten transpose then gives wrong values, which the check can
    # explain, rather than a shape error inside the student's code
    N, T, D, H, V, E = 3, 4, 4, 4, 6, 3
    ids = np.array([[0, 3, 1, 5, 3, 3, 2, 0], [2, 2, 4, 0, 1, 5, 5, 2], [5, 1, 0, 3, 4, 4, 1, 0]])
    step = lambda N, D, H: {"forward": (spaced(-0.4, 0.7, N, D), spaced(-0.2, 0.5, N, H), *_rnn(N, D, H)),
                            "dout": spaced(-1.0, 0.8, N, H)}
    seq = lambda N, T, D, H: {"forward": (spaced(-0.5, 0.5, N, T, D), spaced(-0.2, 0.5, N, H), *_rnn(N, D, H)),
                              "dout": spaced(-1.0, 1.0, N, T, H)}
    embedding = lambda x, D: {"args": (spaced(-1.0, 1.0, *x.shape, D), (x, (V, D)))}
    affine = lambda N, T, H, V: {"args": (spaced(-0.3, 0.3, N, T, V),
                                          (spaced(-1.0, 1.0, N, T, H), spaced(-0.5, 0.5, H, V)))}
    grads = lambda V, E, H, scale: {name: scale * spaced(-1.0, 2.0, *(dict(V=V, E=E, H=H)[k] for k in letters))
                                    for name, letters in PARAM_LETTERS.items()}
    return {
        "rnn_step_backward": {"main": step(N, D, H), "N=1, D=1, H=1": step(1, 1, 1)},
        "rnn_backward": {"main": seq(N, T, D, H), "T=1": seq(2, 1, D, H), "N=1, D=1, H=1": seq(1, 3, 1, 1)},
        "word_embedding_backward": {"main": embedding(ids[:, :T], D), "N=1, T=1": embedding(ids[:1, :1], 2),
                                    "every id the same": embedding(np.full((2, 3), 4), D)},
        "temporal_affine_backward": {"main": affine(N, T, H, H), "N=1, T=1": affine(1, 1, 2, 3)},
        "clip_grad_norm": {"main": {"args": (grads(V, E, H, 1.0), CLIP_MAX_NORMS["above"])},
                           "under the limit": {"args": (grads(V, E, H, 1.0), CLIP_MAX_NORMS["below"])},
                           "V=1, E=1, H=1": {"args": (grads(1, 1, 1, 1.0), 0.5)},
                           "every gradient zero": {"args": (grads(2, 1, 1, 0.0), 1.0)}},
        # chunks of T steps; the first starts from h = 0, as training does
        "tbptt_step": {"main": {"args": (_model(V, E, H), ids, np.roll(ids, -1, axis=1), np.zeros((N, H)), T)},
                       "N=1, T=1": {"args": (_model(V, E, H), ids[:1, :2], ids[:1, 1:3], spaced(-0.5, 0.5, 1, H), 1)},
                       "every target the same": {"args": (_model(V, E, H), ids[1:, :3], np.full((2, 3), 4),
                                                          spaced(-0.5, 0.5, 2, H), 3)}},
    }


def _args(function: str, label: str, case: dict, impl=None) -> tuple:
    """The arguments of one call; a backward's cache is ``impl``'s forward's, or the stored one."""
    if "args" in case:
        return case["args"]
    if impl is None:
        return case["dout"], stored_cache(ASSIGNMENT, f"{function}/{label}/cache", steps=function == "rnn_backward")
    forward = impl.rnn_step_forward if function == "rnn_step_backward" else impl.rnn_forward
    return case["dout"], forward(*case["forward"])[1]


def call_args(function: str, impl) -> dict[str, tuple]:
    """The arguments of every visible call of ``function``, by case (the grader stores the named
    mistakes' outputs on them)."""
    return {label: _args(function, label, case, impl) for label, case in visible_inputs()[function].items()}


def _clipped(clip_grad_norm, grads: dict, max_norm: float) -> tuple:
    """Clip a copy in place; (total_norm, each clipped array in PARAM_NAMES order)."""
    grads = {name: np.array(value, copy=True) for name, value in grads.items()}
    total_norm = clip_grad_norm(grads, max_norm)
    expect(sorted(grads) == sorted(PARAM_NAMES), "clip_grad_norm should keep the keys of grads: "
                                                 "clip the arrays, do not add or remove entries")
    return (total_norm, *(grads[name] for name in PARAM_NAMES))


def _chunks(tbptt_step, params, x, y, h, T) -> list[tuple]:
    """Run consecutive chunks of T steps, carrying h_last; each chunk's flat outputs."""
    results = []
    for start in range(0, x.shape[1], T):
        result = tbptt_step(params, x[:, start:start + T], y[:, start:start + T], h)
        expect(isinstance(result, (tuple, list)) and len(result) == 3,
               f"tbptt_step should return a tuple (loss, grads, h_last), got {type(result).__name__}")
        loss, grads, h = result
        expect(isinstance(grads, dict) and sorted(grads) == sorted(PARAM_NAMES),
               f"grads should be a dict with the keys of params {list(PARAM_NAMES)}")
        results.append((loss, *(grads[name] for name in PARAM_NAMES), h))
    return results


FLAT = {  # the flat outputs of clip_grad_norm and tbptt_step, as the hidden checks name them
    "clip_grad_norm": [("total_norm", 0, "")] + [(f"grads[{name!r}]", k + 1, PARAM_LETTERS[name])
                                                 for k, name in enumerate(PARAM_NAMES)],
    "tbptt_step": [("loss", 0, "")] + [(f"grads[{name!r}]", k + 1, PARAM_LETTERS[name])
                                       for k, name in enumerate(PARAM_NAMES)] + [("h_last", 7, "NH")],
}


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of every visible case, and the caches the backward cases are given."""
    values = {}
    for function, cases in visible_inputs().items():
        for label, case in cases.items():
            args = _args(function, label, case, impl)
            if function == "clip_grad_norm":
                results = {"": _clipped(impl.clip_grad_norm, *args)}
            elif function == "tbptt_step":
                results = {f"/{k}": flat for k, flat in enumerate(_chunks(impl.tbptt_step, *args))}
            else:
                values.update(case_values(function, label, case, args, getattr(impl, function)(*args),
                                          OUTPUTS[function]))
                continue
            for suffix, flat in results.items():
                for name, index, _ in FLAT[function]:
                    values[f"{function}/{label}{suffix}/{name}"] = np.asarray(flat[index])
    return values


def _run(function: str, fn) -> None:
    layout = CACHE if "forward" in visible_inputs()[function]["main"] else ""
    run_cases(ASSIGNMENT, function, fn, call_args(function, None), OUTPUTS[function], WHERE[function], layout)
    passed(function)


def check_rnn_step_backward(rnn_step_backward) -> None:
    """Visible check of ``rnn_step_backward``: every gradient, on a main case and one unit."""
    _run("rnn_step_backward", rnn_step_backward)


def check_rnn_backward(rnn_backward) -> None:
    """Visible check of ``rnn_backward``: T = 4, one step, one unit."""
    _run("rnn_backward", rnn_backward)


def check_word_embedding_backward(word_embedding_backward) -> None:
    """Visible check of ``word_embedding_backward``: repeated ids, one position, one id only."""
    _run("word_embedding_backward", word_embedding_backward)


def check_temporal_affine_backward(temporal_affine_backward) -> None:
    """Visible check of ``temporal_affine_backward``: a main case and N = T = 1."""
    _run("temporal_affine_backward", temporal_affine_backward)


CLIP_WHERE = {"total_norm": "the global norm before clipping: one number over every entry of every array",
              "grads": "one scale for all the arrays together, applied in place, and only above the limit"}
TBPTT_WHERE = {"loss": "the mean cross-entropy over the chunk's positions",
               "h_last": "which state the next chunk starts from",
               "grads": "tbptt_step calls your backward functions (make their checks pass first); "
                        "where truncated BPTT stops"}


def _verify_flat(function: str, label: str, suffix: str, about: str, flat, where: dict,
                 named: tuple | None) -> None:
    """Verify flat outputs; name a hidden mistake from ``named`` = (case, outputs) if given."""
    outputs = FLAT[function]
    wheres = {name: where.get(name, where["grads"]) for name, _, _ in outputs}
    try:
        verify_outputs(ASSIGNMENT, function, f"{label}{suffix}", about, outputs, flat, wheres,
                       named=False)
    except CheckFailure as failure:
        message = str(failure)
        likely = None
        if named is not None:
            likely = likely_mistake(ASSIGNMENT, function, named[0],
                                    {name: named[1][index] for name, index, _ in outputs})
        raise CheckFailure(message + (f"\n  Likely mistake: {likely}" if likely else "")) from None


def check_clip_grad_norm(clip_grad_norm) -> None:
    """Visible check of ``clip_grad_norm``: above the limit, under it, one unit, all zeros."""
    for label, case in visible_inputs()["clip_grad_norm"].items():
        flat = _clipped(clip_grad_norm, *case["args"])
        _verify_flat("clip_grad_norm", label, "", "the main case, above the limit" if label == "main" else label,
                     flat, CLIP_WHERE, (label, flat))
        expect(all(np.all(np.isfinite(np.asarray(value, dtype=np.float64))) for value in flat),
               f"clip_grad_norm [{label}] gave NaN or inf: look at what happens when the norm is 0")
    passed("clip_grad_norm")


def check_tbptt_step(tbptt_step) -> None:
    """Visible check of ``tbptt_step`` on consecutive chunks, carrying the state: two chunks of
    T = 4, two chunks of one step for one sequence, one chunk where every target is the same."""
    for label, case in visible_inputs()["tbptt_step"].items():
        chunks = _chunks(tbptt_step, *case["args"])
        for k, flat in enumerate(chunks):
            about = (f"{'the main case' if label == 'main' else label}, chunk {k + 1} of {len(chunks)}"
                     + (" (the earlier chunks were right)" if k else ""))
            last = (label, chunks[-1]) if k == len(chunks) - 1 else None
            _verify_flat("tbptt_step", label, f"/{k}", about, flat, TBPTT_WHERE, last)
    passed("tbptt_step")
