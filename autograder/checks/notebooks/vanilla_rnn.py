"""Hidden checks of notebook 01, the vanilla RNN forward pass and sampling.

The cases are
drawn from a fixed seed per exercise and cover N=1 and T=1; the mistakes are the bugs we see
most, each written as a small variant of the reference so the feedback can name it.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.declaration import Notebook, Sample
from autograder.checks.framework import LIKELY, Case, Exercise, Mistake, Output, state_before_step, through
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32, replaced, solved
from autograder.checks.visible_mistakes import mistake_outputs
from rnncourse.compare import CheckFailure, as_array, sampling_problem
from rnncourse.visible import vanilla_rnn as visible

ASSIGNMENT = "01_vanilla_rnn"


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


# ---------------------------------------------------------------- rnn_step_forward
def _step_cases(rng):
    sizes = [(1, 1, 1), (1, 3, 4), (2, 5, 3), (4, 3, 6), (3, 4, 4)]  # (N, D, H)
    cases = []
    for N, D, H in sizes:
        args = (_normal(rng, N, D), _normal(rng, N, H), _normal(rng, D, H, scale=0.5),
                _normal(rng, H, H, scale=0.5), _normal(rng, H))
        cases.append(Case(f"N={N}, D={D}, H={H}", args, {"N": N, "D": D, "H": H}))
    return cases


RNN_STEP_FORWARD = Exercise(
    ASSIGNMENT, "rnn_step_forward", points=2,
    outputs=(Output("h", 0, "NH"),),
    returns="(h, cache)",
    make_cases=_step_cases,
    mistakes=(
        Mistake("the tanh is missing", lambda ref: lambda x, h, Wx, Wh, b: (x @ Wx + h @ Wh + b, None)),
        Mistake("sigmoid used instead of tanh",
                lambda ref: lambda x, h, Wx, Wh, b: (1 / (1 + np.exp(-(x @ Wx + h @ Wh + b))), None)),
        Mistake("Wh is transposed: use h_prev @ Wh, shape (N, H) @ (H, H)",
                lambda ref: lambda x, h, Wx, Wh, b: ref.rnn_step_forward(x, h, Wx, Wh.T, b)),
        Mistake("the bias b is not added",
                lambda ref: lambda x, h, Wx, Wh, b: ref.rnn_step_forward(x, h, Wx, Wh, 0 * b)),
        Mistake("h_prev is ignored: the recurrence term h_prev @ Wh is missing",
                lambda ref: lambda x, h, Wx, Wh, b: ref.rnn_step_forward(x, 0 * h, Wx, Wh, b)),
    ),
)


# ---------------------------------------------------------------- rnn_forward
def _sequence_cases(rng):
    sizes = [(1, 1, 2, 3), (1, 4, 3, 2), (2, 1, 3, 4), (3, 5, 2, 4), (2, 7, 4, 3)]  # (N, T, D, H)
    cases = []
    for N, T, D, H in sizes:
        args = (_normal(rng, N, T, D), _normal(rng, N, H), _normal(rng, D, H, scale=0.5),
                _normal(rng, H, H, scale=0.5), _normal(rng, H))
        cases.append(Case(f"N={N}, T={T}, D={D}, H={H}", args, {"N": N, "T": T, "D": D, "H": H}))
    return cases


def _forward_without_carry(ref):
    """Every step starts again from h0 instead of the previous step's state."""
    def rnn_forward(x, h0, Wx, Wh, b):
        steps = [ref.rnn_step_forward(x[:, t], h0, Wx, Wh, b)[0] for t in range(x.shape[1])]
        return np.stack(steps, axis=1), None
    return rnn_forward


RNN_FORWARD = Exercise(
    ASSIGNMENT, "rnn_forward", points=3,
    calls=("rnn_step_forward",),
    outputs=(Output("h", 0, "NTH"),),
    returns="(h, cache)",
    make_cases=_sequence_cases,
    mistakes=(
        Mistake("each step starts from h0: carry the new state into the next step",
                _forward_without_carry),
        Mistake("h[:, t] holds the state before step t; store the state after the step",
                state_before_step("rnn_forward")),
        Mistake("h0 is ignored: the first step should start from h0, not zeros",
                lambda ref: lambda x, h0, Wx, Wh, b: ref.rnn_forward(x, 0 * h0, Wx, Wh, b)),
        *[through(m, "rnn_forward", "rnn_step_forward") for m in RNN_STEP_FORWARD.mistakes],
    ),
)


# ---------------------------------------------------------------- word_embedding_forward
def _embedding_cases(rng):
    sizes = [(1, 1, 5, 3), (2, 4, 6, 2), (3, 2, 10, 4), (4, 6, 3, 5)]  # (N, T, V, D)
    cases = []
    for N, T, V, D in sizes:
        x = rng.integers(0, V, size=(N, T))
        cases.append(Case(f"N={N}, T={T}, V={V}, D={D}", (x, _normal(rng, V, D)),
                          {"N": N, "T": T, "V": V, "D": D}))
    return cases


WORD_EMBEDDING_FORWARD = Exercise(
    ASSIGNMENT, "word_embedding_forward", points=1,
    outputs=(Output("out", 0, "NTD"),),
    returns="(out, cache)",
    make_cases=_embedding_cases,
    mistakes=(
        Mistake("ids are off by one: row x[n, t] of W is the embedding of token x[n, t]",
                lambda ref: lambda x, W: (W[(x + 1) % W.shape[0]], None)),
        Mistake("W is indexed by column: the embedding of token i is the row W[i]",
                lambda ref: lambda x, W: ref.word_embedding_forward(x, W[::-1])),
    ),
)


# ---------------------------------------------------------------- temporal_affine_forward
def _affine_cases(rng):
    sizes = [(1, 1, 2, 3), (2, 3, 4, 5), (3, 5, 3, 7), (4, 2, 6, 2)]  # (N, T, H, V)
    return [
        Case(f"N={N}, T={T}, H={H}, V={V}",
             (_normal(rng, N, T, H), _normal(rng, H, V), _normal(rng, V)),
             {"N": N, "T": T, "H": H, "V": V})
        for N, T, H, V in sizes
    ]


TEMPORAL_AFFINE_FORWARD = Exercise(
    ASSIGNMENT, "temporal_affine_forward", points=1,
    outputs=(Output("out", 0, "NTV"),),
    returns="(out, cache)",
    make_cases=_affine_cases,
    mistakes=(
        Mistake("the bias b is not added",
                lambda ref: lambda x, w, b: ref.temporal_affine_forward(x, w, 0 * b)),
    ),
)


# ---------------------------------------------------------------- temporal_softmax_loss
def _loss_cases(rng):
    cases = []
    for N, T, V, kind in [(1, 1, 3, "all"), (2, 4, 5, "random"), (3, 6, 7, "prefix"),
                          (4, 3, 6, "random"), (2, 5, 4, "large"), (2, 3, 5, "none")]:
        x = _normal(rng, N, T, V) * (300.0 if kind == "large" else 1.0)
        y = rng.integers(0, V, size=(N, T))
        if kind in ("all", "large"):
            mask = np.ones((N, T), dtype=bool)
        elif kind == "none":
            mask = np.zeros((N, T), dtype=bool)
        elif kind == "prefix":  # padded sequences: each row is valid up to its own length
            mask = np.arange(T)[None, :] < rng.integers(1, T + 1, size=(N, 1))
        else:
            mask = rng.random((N, T)) < 0.6
        label = f"N={N}, T={T}, V={V}, " + {
            "all": "no padding", "random": "random mask", "prefix": "padded sequences",
            "large": "very large scores", "none": "everything masked"}[kind]
        cases.append(Case(label, (x, y, mask), {"N": N, "T": T, "V": V}))
    return cases


def _loss_unstable(ref):
    """The softmax without the maximum subtracted: NaN once a score passes about 710."""
    def temporal_softmax_loss(x, y, mask):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the NaN is the mistake
            probs = np.exp(x) / np.exp(x).sum(axis=2, keepdims=True)
            count = max(mask.sum(), 1)
            picked = np.take_along_axis(probs, y[..., None], axis=2)[..., 0]
            dx = probs.copy()
            dx[np.arange(x.shape[0])[:, None], np.arange(x.shape[1]), y] -= 1
            return -(np.log(picked) * mask).sum() / count, dx * mask[..., None] / count
    return temporal_softmax_loss


def _loss_divided_by(divisor):
    def make(ref):
        def temporal_softmax_loss(x, y, mask):
            loss, dx = ref.temporal_softmax_loss(x, y, mask)
            scale = max(mask.sum(), 1) / divisor(x, mask)
            return loss * scale, dx * scale
        return temporal_softmax_loss
    return make


TEMPORAL_SOFTMAX_LOSS = Exercise(
    ASSIGNMENT, "temporal_softmax_loss", points=3,
    outputs=(Output("loss", 0, ""), Output("dx", 1, "NTV")),
    returns="(loss, dx)",
    make_cases=_loss_cases,
    mistakes=(
        Mistake("the mask is ignored: masked positions must contribute nothing",
                lambda ref: lambda x, y, mask: ref.temporal_softmax_loss(x, y, np.ones_like(mask))),
        Mistake("averaged over N*T positions; average over the unmasked positions (mask.sum())",
                _loss_divided_by(lambda x, mask: x.shape[0] * x.shape[1])),
        Mistake("averaged over the batch N; average over the unmasked positions (mask.sum())",
                _loss_divided_by(lambda x, mask: x.shape[0])),
        Mistake("not averaged: divide the summed loss by the number of unmasked positions",
                _loss_divided_by(lambda x, mask: 1)),
        Mistake("exp of large scores overflows: subtract each row's maximum before exp",
                _loss_unstable),
    ),
)


# ---------------------------------------------------------------- sample
def _model(rng, V, E, H):
    return {"W_embed": _normal(rng, V, E), "Wx": _normal(rng, E, H, scale=0.7),
            "Wh": _normal(rng, H, H, scale=0.5), "b": _normal(rng, H, scale=0.1),
            "W_out": _normal(rng, H, V, scale=1.5), "b_out": _normal(rng, V, scale=0.1)}


def _sample_cases(rng):
    cases = []
    for N, P, n, temperature in [(1, 1, 1, 1.0), (1, 3, 12, 1.0), (3, 5, 10, 0.0),
                                 (2, 2, 15, 0.5), (4, 1, 8, 2.0), (2, 4, 20, 1.0)]:
        V, E, H = 7, 4, 5
        prefix = rng.integers(0, V, size=(N, P))
        seed = int(rng.integers(0, 2**31))
        args = (_model(rng, V, E, H), prefix, n, temperature, seed)
        cases.append(Case(f"N={N}, prefix of {P}, n={n}, temperature {temperature:g}",
                          args, {"N": N, "T": n}))
    return cases


REPEATS = 4000  # runs per starting row when the distribution is checked: ~0.05 of slack


def _probabilities(step, params, prefix, temperature):
    """The exact probabilities of the first two tokens a correct sampler over the RNN step
    ``step`` draws after ``prefix``: (N, V) for the first, (N, V, V) for the second given the
    first.

    Grader-side only: the visible check reads them from the fixture, so the student package
    holds no temperature softmax of the solution.
    """
    N, V = prefix.shape[0], params["W_out"].shape[1]

    def advance(ids, h):
        return step(params["W_embed"][ids], h, params["Wx"], params["Wh"], params["b"])[0]

    def probabilities(h):
        scores = h @ params["W_out"] + params["b_out"]  # (..., V)
        if temperature == 0:
            return np.eye(V)[scores.argmax(axis=-1)]
        z = scores / temperature
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    h = np.zeros((N, params["Wh"].shape[0]))
    for t in range(prefix.shape[1]):
        h = advance(prefix[:, t], h)
    # every possible first token at once, one batch of N * V rows (a step is one call)
    after = advance(np.tile(np.arange(V), N), np.repeat(h, V, axis=0)).reshape(N, V, -1)  # (N, V, H)
    return probabilities(h), probabilities(after)


def _sample_probabilities(ref) -> dict[str, np.ndarray]:
    """The probabilities the visible check of ``sample`` compares its draws with, for the fixture."""
    params, prefix, _, temperature, _ = visible.visible_inputs()["sample"]
    probs0, probs1 = _probabilities(ref.rnn_step_forward, params, prefix, temperature)
    one = _probabilities(ref.rnn_step_forward, params, prefix[:1, :1], 1.0)[0]
    return {"sample/probs0": probs0, "sample/probs1": probs1, "sample/one/probs0": one}


def _sample_ids(fn, args) -> np.ndarray:
    """The student's ids for one case, checked for form and reproducibility."""
    params, prefix, n, temperature, seed = args
    first = as_array("ids", fn(*args))
    if first.shape != (prefix.shape[0], n) or first.dtype.kind not in "iu":
        raise CheckFailure(f"sample should return integer ids of shape (N, n) = {(prefix.shape[0], n)}, "
                           f"got {first.dtype} of shape {first.shape}")
    V = params["W_out"].shape[1]
    if first.size and (first.min() < 0 or first.max() >= V):
        raise CheckFailure(f"sample returned ids outside [0, V) with V = {V}")
    if not np.array_equal(first, as_array("ids", fn(*args))):
        raise CheckFailure("sample gave different ids for the same seed: draw every random "
                           "number from one np.random.default_rng(seed) made inside sample")
    return first


def _sample_checked(fn, args, step=None):
    """What any correct sampler does: the argmax path at temperature 0, and at a positive
    temperature the right distribution of the first two tokens over many runs (their ids
    themselves depend on how the random stream is used, so they are not compared). The
    distribution is that of the reference's RNN step, or of ``step``: the student's own."""
    params, prefix, n, temperature, seed = args
    ids = _sample_ids(fn, args)
    step = step or load_reference(ASSIGNMENT).rnn_step_forward
    if temperature == 0:
        return ids  # deterministic: compared with the reference's, and diagnosed as usual
    draws = _sample_ids(fn, _many_runs(args)).reshape(prefix.shape[0], REPEATS, -1)
    problem = sampling_problem("sample", draws, *_probabilities(step, params, prefix, temperature))
    if problem:
        for hint, change in SAMPLE_MISTAKES:  # which wrong distribution do the draws follow?
            wrong_prefix, _, wrong_temperature, _ = change(prefix, n, temperature, seed)
            if sampling_problem("sample", draws, *_probabilities(step, params, wrong_prefix,
                                                                  wrong_temperature)) is None:
                problem += f"{LIKELY}{hint}"
                break
        raise CheckFailure(problem)
    return np.zeros(ids.shape)  # what the reference returns here too: the case passes


def _many_runs(args):
    """A case's inputs with each starting row repeated ``REPEATS`` times, for the first two tokens."""
    params, prefix, n, temperature, seed = args
    return params, np.repeat(prefix, REPEATS, axis=0), min(n, 2), temperature, seed


def _sample_calls(args) -> list[tuple]:
    """Every call ``_sample_checked`` makes for one case, in order (each twice: reproducibility)."""
    return [args, args] + ([_many_runs(args)] * 2 if args[3] != 0 else [])


def _sample_mistake(change):
    def make(ref):
        return lambda params, prefix, n, temperature, seed: ref.sample(
            params, *change(prefix, n, temperature, seed))
    return make


# hint, and how the mistake changes (prefix, n, temperature, seed) for the reference
SAMPLE_MISTAKES = (
    ("temperature 0 should pick the most likely token (argmax) at every step",
     lambda p, n, t, s: (p, n, 1.0 if t == 0 else t, s)),
    ("scores are multiplied by the temperature; divide them by it",
     lambda p, n, t, s: (p, n, 1 / t if t else t, s)),
    ("only the last prefix token warms up the state; run the RNN over the whole prefix",
     lambda p, n, t, s: (p[:, -1:], n, t, s)),
    ("always picks the most likely token: sample from the softmax instead",
     lambda p, n, t, s: (p, n, 0.0, s)),
)

SAMPLE = Exercise(
    ASSIGNMENT, "sample", points=3,
    calls=("rnn_step_forward",),
    outputs=(Output("ids", None, "NT"),),
    make_cases=_sample_cases,
    call=_sample_checked,
    call_over_own=lambda fn, args, helpers: _sample_checked(fn, args, helpers["rnn_step_forward"]),
    calls_ahead=_sample_calls,
    mistakes=tuple(Mistake(hint, _sample_mistake(change)) for hint, change in SAMPLE_MISTAKES),
)


NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(RNN_STEP_FORWARD, RNN_FORWARD, WORD_EMBEDDING_FORWARD, TEMPORAL_AFFINE_FORWARD,
               TEMPORAL_SOFTMAX_LOSS, SAMPLE),
    visible=visible,
    # the named mistakes' outputs on the visible cases, so the visible checks name them too,
    # and the sampling probabilities the visible check of sample compares its draws with
    visible_mistakes=lambda reference: {**mistake_outputs(NOTEBOOK, reference),
                                        **_sample_probabilities(reference)},
    by_hand=True,
    samples=(
        Sample("perfect", {"*": solved}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"rnn_step_forward": solved, "word_embedding_forward": solved,
                           "temporal_affine_forward": solved},
               {"rnn_forward": 0, "temporal_softmax_loss": 0, "sample": 0}),
        Sample("float32", {"*": in_float32}),
        Sample("transposed", {"*": solved, "rnn_step_forward": replaced("h_prev @ Wh", "h_prev @ Wh.T")},
               {"rnn_step_forward": (0, 2)},
               why="h_prev @ Wh.T: right only where Wh is symmetric; rnn_forward and sample are "
                   "graded over the student's own step, so they keep their points"),
        Sample("raises", {"*": solved, "temporal_softmax_loss": replaced("y[..., None]", "y")},
               {"temporal_softmax_loss": 0}),
        Sample("unstable", {"*": solved,
                            "temporal_softmax_loss": replaced("x - x.max(axis=2, keepdims=True)", "x")},
               {"temporal_softmax_loss": 2.5}, why="five of six cases: all but the large scores"),
    ),
)
