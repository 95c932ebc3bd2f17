"""Hidden checks of notebook 02, backpropagation through time.

Cases are drawn
from a fixed seed per exercise and cover N=1 and T=1. A backward function is given a cache made
by the REFERENCE forward function, in the layout its docstring documents, so it is graded on its
own, whatever the student's forward did. Each mistake is a small variant of the reference;
several are built by swapping one broken helper into the reference's own code (``grading.rebind``), so
that a bug in ``rnn_step_backward`` is also named when it shows up through ``rnn_backward`` or
``tbptt_step``, which call the student's own helpers.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.declaration import MODEL, Answer, Notebook, Sample, Written
from autograder.checks.framework import Case, Exercise, Mistake, Output, rebind, through
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32, replaced, solved
from autograder.checks.visible_mistakes import mistake_outputs
from rnncourse.compare import CheckFailure
from rnncourse.visible import bptt as visible

ASSIGNMENT = "02_bptt"
PARAM_NAMES = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")
PARAM_LETTERS = {"W_embed": "VE", "Wx": "EH", "Wh": "HH", "b": "H", "W_out": "HV", "b_out": "V"}


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


# ---------------------------------------------------------------- rnn_step_backward
def _step_cases(rng):
    ref = load_reference(ASSIGNMENT)
    # (N, D, H); D == H in some cases, so that a transposed Wx still runs and can be named
    sizes = [(1, 1, 1), (1, 3, 4), (2, 4, 4), (4, 3, 6), (3, 5, 5), (2, 6, 3)]
    cases = []
    for N, D, H in sizes:
        _, cache = ref.rnn_step_forward(_normal(rng, N, D), _normal(rng, N, H),
                                        _normal(rng, D, H, scale=0.5), _normal(rng, H, H, scale=0.5),
                                        _normal(rng, H))
        cases.append(Case(f"N={N}, D={D}, H={H}", (_normal(rng, N, H), cache),
                          {"N": N, "D": D, "H": H}))
    return cases


def _step_with_cache(change):
    """The reference step backward on a changed cache: change(x, h_prev, Wx, Wh, h) -> cache."""
    return lambda ref: lambda dh, cache: ref.rnn_step_backward(dh, change(*cache))


def _step_with_output(index, change):
    """The reference step backward with its output number ``index`` changed."""
    def make(ref):
        def rnn_step_backward(dh, cache):
            grads = list(ref.rnn_step_backward(dh, cache))
            x, h_prev, Wx, Wh, h = cache
            grads[index] = change(grads[index], dh * (1 - h**2))
            return tuple(grads)
        return rnn_step_backward
    return make


STEP_MISTAKES = {
    "no_tanh": Mistake("the tanh derivative is missing: multiply dh by (1 - h**2) first",
                       _step_with_cache(lambda x, hp, Wx, Wh, h: (x, hp, Wx, Wh, 0 * h))),
    "tanh_twice": Mistake("h is already tanh(a): its derivative is 1 - h**2, not 1 - tanh(h)**2",
                          _step_with_cache(lambda x, hp, Wx, Wh, h: (x, hp, Wx, Wh, np.tanh(h)))),
    "Wh_not_T": Mistake("dh_prev uses Wh; it should be da @ Wh.T",
                        _step_with_cache(lambda x, hp, Wx, Wh, h: (x, hp, Wx, Wh.T, h))),
    "Wx_not_T": Mistake("a weight is not transposed: dx = da @ Wx.T",
                        _step_with_cache(lambda x, hp, Wx, Wh, h: (x, hp, Wx.T, Wh, h))),
    "dWh_T": Mistake("dWh is transposed: dWh = h_prev.T @ da, shape (H, H)",
                     _step_with_output(3, lambda g, da: g.T)),
    "db_not_summed": Mistake("db is not summed over the batch: db = da.sum(axis=0), shape (H,)",
                             _step_with_output(4, lambda g, da: da)),
    "db_mean": Mistake("db is averaged over the batch; sum it (the loss already did any averaging)",
                       _step_with_output(4, lambda g, da: da.mean(axis=0))),
}

RNN_STEP_BACKWARD = Exercise(
    ASSIGNMENT, "rnn_step_backward", points=2,
    outputs=(Output("dx", 0, "ND"), Output("dh_prev", 1, "NH"), Output("dWx", 2, "DH"),
             Output("dWh", 3, "HH"), Output("db", 4, "H")),
    returns="(dx, dh_prev, dWx, dWh, db)",
    make_cases=_step_cases,
    mistakes=tuple(STEP_MISTAKES.values()),
)


# ---------------------------------------------------------------- rnn_backward
def _sequence_cases(rng):
    ref = load_reference(ASSIGNMENT)
    sizes = [(1, 1, 2, 3), (1, 4, 3, 3), (2, 1, 3, 4), (3, 5, 4, 4), (2, 7, 3, 5), (4, 6, 5, 2)]
    cases = []
    for N, T, D, H in sizes:  # (N, T, D, H)
        _, cache = ref.rnn_forward(_normal(rng, N, T, D), _normal(rng, N, H),
                                   _normal(rng, D, H, scale=0.5), _normal(rng, H, H, scale=0.5),
                                   _normal(rng, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", (_normal(rng, N, T, H), cache),
                          {"N": N, "T": T, "D": D, "H": H}))
    return cases


def _sequence_variant(step_input, order=reversed, accumulate=True):
    """BPTT with one rule changed: what each step receives, the direction, or the summing.

    ``step_input(dh_t, carried, t, T)`` is the upstream gradient given to step t.
    """
    def make(ref):
        def rnn_backward(dh, cache):
            N, T, H = dh.shape
            dx = np.zeros((N, T, cache[0][2].shape[0]))
            sums = [0, 0, 0]
            carried = np.zeros((N, H))
            for t in order(range(T)):
                dx[:, t], carried, *grads = ref.rnn_step_backward(step_input(dh[:, t], carried, t, T),
                                                                 cache[t])
                sums = [s + g for s, g in zip(sums, grads)] if accumulate else grads
            return (dx, carried, *sums)
        return rnn_backward
    return make


RNN_BACKWARD = Exercise(
    ASSIGNMENT, "rnn_backward", points=3,
    calls=("rnn_step_backward",),
    outputs=(Output("dx", 0, "NTD"), Output("dh0", 1, "NH"), Output("dWx", 2, "DH"),
             Output("dWh", 3, "HH"), Output("db", 4, "H")),
    returns="(dx, dh0, dWx, dWh, db)",
    make_cases=_sequence_cases,
    mistakes=(
        Mistake("the weight gradients are overwritten at each step instead of summed over time "
                "(dWx += ..., not dWx = ...)",
                _sequence_variant(lambda dh_t, carried, t, T: dh_t + carried, accumulate=False)),
        Mistake("the gradient carried back from step t + 1 is dropped: step t gets "
                "dh[:, t] + the dh_prev of step t + 1",
                _sequence_variant(lambda dh_t, carried, t, T: dh_t)),
        Mistake("dh[:, t] is not added to the carried gradient: step t gets "
                "dh[:, t] + the dh_prev of step t + 1",
                _sequence_variant(lambda dh_t, carried, t, T: carried + (dh_t if t == T - 1 else 0))),
        Mistake("the steps are visited forward in time; walk backward, from t = T - 1 down to 0",
                _sequence_variant(lambda dh_t, carried, t, T: dh_t + carried, order=iter)),
        *[through(STEP_MISTAKES[key], "rnn_backward", "rnn_step_backward")
          for key in ("no_tanh", "tanh_twice", "Wh_not_T", "Wx_not_T", "dWh_T")],
    ),
)


# ---------------------------------------------------------------- word_embedding_backward
def _embedding_cases(rng):
    cases = []
    for N, T, V, D, kind in [(1, 1, 5, 3, "random"), (2, 4, 6, 2, "random"), (3, 5, 4, 3, "random"),
                             (2, 3, 10, 4, "random"), (4, 6, 3, 5, "random"), (2, 3, 5, 2, "same")]:
        x = np.full((N, T), 2) if kind == "same" else rng.integers(0, V, size=(N, T))
        label = f"N={N}, T={T}, V={V}, D={D}" + (", every id the same" if kind == "same" else "")
        cases.append(Case(label, (_normal(rng, N, T, D), (x, (V, D))),
                          {"N": N, "T": T, "V": V, "D": D}))
    return cases


def _embedding_overwrites(ref):
    """dW[x] += dout: buffered fancy indexing writes a repeated row once."""
    def word_embedding_backward(dout, cache):
        x, W_shape = cache
        dW = np.zeros(W_shape)
        dW[x] += dout
        return dW
    return word_embedding_backward


WORD_EMBEDDING_BACKWARD = Exercise(
    ASSIGNMENT, "word_embedding_backward", points=1,
    outputs=(Output("dW", None, "VD"),),
    make_cases=_embedding_cases,
    mistakes=(
        Mistake("a repeated id counts once: dW[x] += dout overwrites; use np.add.at(dW, x, dout)",
                _embedding_overwrites),
    ),
)


# ---------------------------------------------------------------- temporal_affine_backward
def _affine_cases(rng):
    sizes = [(1, 1, 2, 3), (2, 3, 4, 4), (3, 5, 3, 7), (4, 2, 6, 2), (2, 4, 5, 5), (1, 6, 3, 4)]
    return [
        Case(f"N={N}, T={T}, H={H}, V={V}",
             (_normal(rng, N, T, V), (_normal(rng, N, T, H), _normal(rng, H, V))),
             {"N": N, "T": T, "H": H, "V": V})
        for N, T, H, V in sizes  # H == V in some cases, so that a missing transpose still runs
    ]


def _affine_variant(change):
    """The reference with its outputs changed: change(dx, dw, db, dout, x, w) -> (dx, dw, db)."""
    def make(ref):
        def temporal_affine_backward(dout, cache):
            return change(*ref.temporal_affine_backward(dout, cache), dout, *cache)
        return temporal_affine_backward
    return make


AFFINE_MISTAKES = {
    "db_batch_only": Mistake(
        "db is summed over the batch only; sum over N and T: db = dout.sum(axis=(0, 1))",
        _affine_variant(lambda dx, dw, db, dout, x, w: (dx, dw, dout.sum(axis=0)))),
    "averaged": Mistake(
        "dw and db are averaged over the positions; sum them",
        _affine_variant(lambda dx, dw, db, dout, x, w: (
            dx, dw / (x.shape[0] * x.shape[1]), db / (x.shape[0] * x.shape[1])))),
    "w_not_T": Mistake(
        "a weight is not transposed: dx = dout @ w.T",
        _affine_variant(lambda dx, dw, db, dout, x, w: (dout @ w, dw, db))),
    "dw_T": Mistake(
        "dw is transposed: dw = x.T @ dout over the positions, shape (H, V)",
        _affine_variant(lambda dx, dw, db, dout, x, w: (dx, dw.T, db))),
}

TEMPORAL_AFFINE_BACKWARD = Exercise(
    ASSIGNMENT, "temporal_affine_backward", points=2,
    outputs=(Output("dx", 0, "NTH"), Output("dw", 1, "HV"), Output("db", 2, "V")),
    returns="(dx, dw, db)",
    make_cases=_affine_cases,
    mistakes=tuple(AFFINE_MISTAKES.values()),
)


# ---------------------------------------------------------------- clip_grad_norm
def _gradient_dict(rng, V, E, H, scale):
    return {name: _normal(rng, *(dict(V=V, E=E, H=H)[k] for k in PARAM_LETTERS[name]), scale=scale)
            for name in PARAM_NAMES}


def _clip_cases(rng):
    cases = []
    for V, E, H, kind in [(1, 1, 1, "above"), (5, 3, 4, "above"), (7, 2, 6, "below"),
                          (4, 4, 4, "one"), (6, 3, 2, "below"), (3, 2, 5, "zero")]:
        grads = _gradient_dict(rng, V, E, H, scale=0.0 if kind == "zero" else 1.0)
        if kind == "one":  # one array holds most of the norm: per-array clipping differs most
            grads["Wh"] *= 30.0
        norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
        # above: the norm is 1.5x to 4x max_norm; below: max_norm is 1.5x to 4x the norm
        ratio = rng.uniform(1.5, 4.0)
        max_norm = {"above": norm / ratio, "one": norm / ratio, "below": norm * ratio,
                    "zero": 1.0}[kind]
        label = {"above": "global norm above max_norm", "one": "above max_norm, mostly one array",
                 "below": "global norm below max_norm", "zero": "every gradient zero"}[kind]
        cases.append(Case(f"V={V}, E={E}, H={H}, {label}", (grads, float(max_norm)),
                          {"V": V, "E": E, "H": H}))
    return cases


def _clip_and_read(fn, args):
    """Clip a private copy of the gradients in place and read them back after the call."""
    grads, max_norm = args
    clipped = {name: np.array(g, copy=True) for name, g in grads.items()}
    total_norm = fn(clipped, max_norm)
    if sorted(clipped) != sorted(grads):
        raise CheckFailure("clip_grad_norm should keep the keys of grads: clip the arrays, "
                           "do not add or remove entries")
    return (total_norm, *(clipped[name] for name in PARAM_NAMES))


def _clip_variant(clip):
    """A clip_grad_norm that computes ``clip(grads, max_norm) -> (norm, new grads)``, stored back."""
    def make(ref):
        def clip_grad_norm(grads, max_norm):
            norm, new = clip({k: g.copy() for k, g in grads.items()}, max_norm)
            grads.update(new)
            return norm
        return clip_grad_norm
    return make


def _global_norm(grads):
    return float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))


def _per_array(grads, max_norm):
    norm = _global_norm(grads)
    return norm, {k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300)) for k, g in grads.items()}


def _always_rescale(grads, max_norm):
    norm = _global_norm(grads)
    return norm, {k: g * (max_norm / norm if norm else 1.0) for k, g in grads.items()}


def _norm_after(ref):
    def clip_grad_norm(grads, max_norm):
        ref.clip_grad_norm(grads, max_norm)
        return _global_norm(grads)
    return clip_grad_norm


def _squared_norm(grads, max_norm):
    squared = _global_norm(grads) ** 2
    scale = max_norm / squared if squared > max_norm else 1.0
    return squared, {k: g * scale for k, g in grads.items()}


def _not_in_place(ref):
    def clip_grad_norm(grads, max_norm):
        return ref.clip_grad_norm({k: g.copy() for k, g in grads.items()}, max_norm)
    return clip_grad_norm


CLIP_GRAD_NORM = Exercise(
    ASSIGNMENT, "clip_grad_norm", points=2,
    outputs=(Output("total_norm", 0, ""),
             *(Output(f"grads[{name!r}]", k + 1, PARAM_LETTERS[name]) for k, name in enumerate(PARAM_NAMES))),
    returns="total_norm",
    make_cases=_clip_cases,
    call=_clip_and_read,
    mistakes=(
        Mistake("each array is clipped by its own norm; use one global norm over all the arrays",
                _clip_variant(_per_array)),
        Mistake("the gradients are rescaled even under the limit; leave them unchanged when "
                "total_norm <= max_norm", _clip_variant(_always_rescale)),
        Mistake("the returned norm is the one after clipping; return the norm before clipping",
                _norm_after),
        Mistake("the norm is the sum of squares; take its square root",
                _clip_variant(_squared_norm)),
        Mistake("each entry is clipped to [-max_norm, max_norm]; scale all the gradients together",
                _clip_variant(lambda grads, m: (_global_norm(grads),
                                                {k: np.clip(g, -m, m) for k, g in grads.items()}))),
        Mistake("grads is left unchanged: clip in place (g *= scale, or store the clipped arrays "
                "in grads)", _not_in_place),
    ),
)


# ---------------------------------------------------------------- tbptt_step
def _model(rng, V, E, H):
    return {"W_embed": _normal(rng, V, E), "Wx": _normal(rng, E, H, scale=0.6),
            "Wh": _normal(rng, H, H, scale=0.5), "b": _normal(rng, H, scale=0.1),
            "W_out": _normal(rng, H, V), "b_out": _normal(rng, V, scale=0.1)}


def _tbptt_cases(rng):
    cases = []
    for N, T, chunks, start in [(1, 1, 1, "zero"), (1, 4, 2, "random"), (2, 1, 3, "random"),
                                (3, 5, 1, "zero"), (2, 3, 3, "zero"), (4, 6, 2, "random"),
                                (2, 4, 1, "random")]:
        V, E, H = 7, 4, 5
        x = rng.integers(0, V, size=(N, T * chunks))
        y = rng.integers(0, V, size=(N, T * chunks))
        h0 = _normal(rng, N, H, scale=0.5) if start == "random" else np.zeros((N, H))
        if chunks == 1 and start == "zero":
            label = f"N={N}, T={T}, one chunk from h_prev = 0 (this is full BPTT)"
        elif chunks == 1:
            label = f"N={N}, T={T}, one chunk from a random h_prev"
        else:
            label = f"N={N}, T={T}, {chunks} chunks in a row, the first from a {start} h_prev"
        cases.append(Case(label, (_model(rng, V, E, H), x, y, h0, T),
                          {"N": N, "T": T, "V": V, "E": E, "H": H}))
    return cases


def _run_chunks(fn, args):
    """Call fn on consecutive chunks, carrying h_last into h_prev; compare the last chunk."""
    params, x, y, h, T = args
    for start in range(0, x.shape[1], T):
        result = fn(params, x[:, start:start + T], y[:, start:start + T], h)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise CheckFailure(f"tbptt_step should return a tuple (loss, grads, h_last), "
                               f"got {type(result).__name__}")
        loss, grads, h = result
        if not isinstance(grads, dict) or sorted(grads) != sorted(PARAM_NAMES):
            keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise CheckFailure(f"grads should be a dict with the keys of params {list(PARAM_NAMES)}, "
                               f"got {keys}")
    return (loss, *(grads[name] for name in PARAM_NAMES), h)


def _tbptt_ignores_h_prev(ref):
    return lambda params, x, y, h_prev: ref.tbptt_step(params, x, y, np.zeros_like(h_prev))


def _tbptt_returns_h_prev(ref):
    def tbptt_step(params, x, y, h_prev):
        loss, grads, _ = ref.tbptt_step(params, x, y, h_prev)
        return loss, grads, h_prev
    return tbptt_step


def _tbptt_first_state(ref):
    def tbptt_step(params, x, y, h_prev):
        loss, grads, _ = ref.tbptt_step(params, x, y, h_prev)
        embedded, _ = ref.word_embedding_forward(x, params["W_embed"])
        h, _ = ref.rnn_forward(embedded, h_prev, params["Wx"], params["Wh"], params["b"])
        return loss, grads, h[:, 0]
    return tbptt_step


def _tbptt_leaks(ref):
    """Not truncated: dh0 flows on into every earlier chunk, whose caches it keeps.

    The chunks of one sequence share one params dict; a new dict starts a new sequence.
    """
    seen = {"params": None, "earlier": []}  # earlier: (embedding cache, rnn cache) per chunk

    def tbptt_step(params, x, y, h_prev):
        if seen["params"] is not params:
            seen.update(params=params, earlier=[])
        earlier = seen["earlier"]
        loss, grads, h_last = ref.tbptt_step(params, x, y, h_prev)
        embedded, embed_cache = ref.word_embedding_forward(x, params["W_embed"])
        h, rnn_cache = ref.rnn_forward(embedded, h_prev, params["Wx"], params["Wh"], params["b"])
        scores, affine_cache = ref.temporal_affine_forward(h, params["W_out"], params["b_out"])
        _, dscores = ref.temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))
        dh = ref.temporal_affine_backward(dscores, affine_cache)[0]
        dh_carried = ref.rnn_backward(dh, rnn_cache)[1]
        for old_embed_cache, old_rnn_cache in reversed(earlier):
            upstream = np.zeros((dh.shape[0], len(old_rnn_cache), dh.shape[2]))
            upstream[:, -1] = dh_carried
            dembedded, dh_carried, dWx, dWh, db = ref.rnn_backward(upstream, old_rnn_cache)
            grads = dict(grads, Wx=grads["Wx"] + dWx, Wh=grads["Wh"] + dWh, b=grads["b"] + db,
                         W_embed=grads["W_embed"] + ref.word_embedding_backward(dembedded, old_embed_cache))
        earlier.append((embed_cache, rnn_cache))
        return loss, grads, h_last
    return tbptt_step


def _tbptt_through(function, mistake):
    """tbptt_step calling a broken backward helper: ``function`` commits ``mistake``."""
    def make(ref):
        if function == "rnn_step_backward":  # reached through rnn_backward
            helper = rebind(ref.rnn_backward, rnn_step_backward=mistake.make(ref))
            return rebind(ref.tbptt_step, rnn_backward=helper)
        return rebind(ref.tbptt_step, **{function: mistake.make(ref)})
    return Mistake(f"your {function} seems to have this mistake: {mistake.hint} "
                   "(tbptt_step calls it: make its checks pass first)", make)


TBPTT_STEP = Exercise(
    ASSIGNMENT, "tbptt_step", points=3,
    calls=("rnn_backward", "temporal_affine_backward", "word_embedding_backward",),
    outputs=(Output("loss", 0, ""),
             *(Output(f"grads[{name!r}]", k + 1, PARAM_LETTERS[name]) for k, name in enumerate(PARAM_NAMES)),
             Output("h_last", 7, "NH")),
    returns="(loss, grads, h_last)",
    make_cases=_tbptt_cases,
    call=_run_chunks,
    mistakes=(
        Mistake("the state is not carried: run the chunk's RNN from h_prev, not from zeros",
                _tbptt_ignores_h_prev),
        Mistake("h_last is h_prev: return the last state of this chunk, h[:, -1], for the next chunk",
                _tbptt_returns_h_prev),
        Mistake("h_last is the first state of the chunk; return the last one, h[:, -1]",
                _tbptt_first_state),
        Mistake("the gradient flows on into the previous chunk: truncated BPTT stops at h_prev "
                "(drop dh0)", _tbptt_leaks),
        # the helpers' mistakes, except a missing transpose of Wx or w, which raises here (E != H,
        # H != V) in the student's own helper, with NumPy's shape message
        *[_tbptt_through("rnn_step_backward", STEP_MISTAKES[key])
          for key in ("no_tanh", "tanh_twice", "Wh_not_T", "dWh_T")],
        *[_tbptt_through("rnn_backward", mistake) for mistake in RNN_BACKWARD.mistakes[:4]],
        *[_tbptt_through("word_embedding_backward", mistake)
          for mistake in WORD_EMBEDDING_BACKWARD.mistakes],
        *[_tbptt_through("temporal_affine_backward", AFFINE_MISTAKES[key])
          for key in ("db_batch_only", "averaged", "dw_T")],
    ),
)


NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(RNN_STEP_BACKWARD, RNN_BACKWARD, WORD_EMBEDDING_BACKWARD, TEMPORAL_AFFINE_BACKWARD,
               CLIP_GRAD_NORM, TBPTT_STEP),
    visible=visible,
    # the named mistakes' outputs on the visible cases, so the visible checks name them too
    visible_mistakes=lambda reference: mistake_outputs(NOTEBOOK, reference),
    by_hand=True,
    provided_from=("01_vanilla_rnn",),
    written=(Written("rnn_jacobian", 2),),
    samples=(
        Sample("perfect", {"*": solved}, answers={"rnn_jacobian": Answer(MODEL, 2)}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"rnn_step_backward": solved, "word_embedding_backward": solved,
                           "clip_grad_norm": solved},
               {"rnn_backward": 0, "temporal_affine_backward": 0, "tbptt_step": 0},
               answers={"rnn_jacobian": Answer('The gradient is multiplied by $W_h$ at every step back, so it shrinks when $W_h$ is small and grows when it is large.', 0.5)}),
        Sample("float32", {"*": in_float32}),
        Sample("transposed", {"*": solved, "rnn_step_backward": replaced("da @ Wh.T", "da @ Wh")},
               {"rnn_step_backward": (0, 2)},
               why="dh_prev with Wh instead of Wh.T: right when nothing is carried back; "
                   "rnn_backward and tbptt_step, which call it, are graded over the student's own "
                   "functions, so the mistake costs the step's part only"),
        Sample("raises", {"*": solved, "temporal_affine_backward": replaced("axis=(0, 1)", "axis=(0, 3)")},
               {"temporal_affine_backward": 0, "tbptt_step": 0},
               why="a helper that raises fails tbptt_step too: the reference over it raises"),
    ),
)
