"""Visible checks of notebook 01: the vanilla RNN forward pass, the loss, and sampling.

Inputs are small and fixed (evenly spaced values, as in CS231n), so a student can rerun a
check and get the same message. Expected outputs come from the stored fixture.
"""
from __future__ import annotations

import numpy as np

from rnncourse.compare import CheckFailure, as_array, expect, expect_array, sampling_problem
from rnncourse.visible import (
    cache_problem,
    flatten_cache,
    load_fixture,
    passed,
    stored_cache,
    verify_outputs,
)

ASSIGNMENT = "01_vanilla_rnn"


def _spaced(low: float, high: float, *shape: int) -> np.ndarray:
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def visible_inputs() -> dict[str, tuple]:
    """The fixed inputs of every visible check, by function name."""
    N, T, D, H, V = 3, 4, 5, 4, 6
    x_step, h_prev = _spaced(-0.4, 0.7, N, D), _spaced(-0.2, 0.5, N, H)
    Wx, Wh, b = _spaced(-0.1, 0.9, D, H), _spaced(-0.3, 0.7, H, H), _spaced(-0.2, 0.4, H)
    ids = np.array([[0, 3, 1, 5], [2, 2, 4, 0], [5, 1, 0, 3]])  # (N, T)
    scores = _spaced(-2.0, 3.0, N, T, V)
    # a permutation so that the scores are not monotone along V
    scores = scores[..., [3, 0, 5, 1, 4, 2]]
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool)
    params = {"W_embed": _spaced(-1.0, 1.0, V, D), "Wx": Wx * 2, "Wh": Wh, "b": b,
              "W_out": _spaced(-2.0, 2.0, H, V)[:, [2, 5, 0, 4, 1, 3]], "b_out": _spaced(-0.5, 0.5, V)}
    return {
        "rnn_step_forward": (x_step, h_prev, Wx, Wh, b),
        "rnn_forward": (_spaced(-0.5, 0.5, N, T, D), h_prev, Wx, Wh, b),
        "word_embedding_forward": (ids, _spaced(0.0, 1.0, V, D)),
        "temporal_affine_forward": (_spaced(-1.0, 1.0, N, T, H), _spaced(-0.5, 0.5, H, V),
                                    _spaced(-0.1, 0.1, V)),
        "temporal_softmax_loss": (scores, ids, mask),
        "sample": (params, ids[:, :2], 8, 0.7, 0),
    }


SAMPLE_RUNS = 4000  # runs per prefix row when the distribution of the draws is checked


def first_draw_probabilities(step, params: dict, prefix: np.ndarray, temperature: float):
    """The exact probabilities of a character RNN's first two sampled tokens.

    Args:
        step: the RNN step, ``step(x, h_prev, Wx, Wh, b) -> (h, cache)``.
        params: the model, as ``sample`` takes it.
        prefix: token ids read first, shape (N, P).
        temperature: 0 for the most likely token (one-hot), else the softmax temperature.

    Returns:
        (N, V) for the first token, and (N, V, V) for the second given the first.
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
    after = np.stack([advance(np.full(N, token), h) for token in range(V)], axis=1)  # (N, V, H)
    return probabilities(h), probabilities(after)


CASES = {  # function -> case -> inputs, beside the main case: the kinds the hidden check draws
    "rnn_step_forward": {"N=1, D=1, H=1": lambda: (_spaced(-0.4, 0.7, 1, 1), _spaced(0.3, 0.3, 1, 1),
                                                   _spaced(0.8, 0.8, 1, 1), _spaced(-0.6, -0.6, 1, 1),
                                                   _spaced(0.1, 0.1, 1))},
    "rnn_forward": {"N=1, T=1": lambda: (_spaced(-0.5, 0.5, 1, 1, 5), _spaced(-0.2, 0.5, 1, 4),
                                         _spaced(-0.1, 0.9, 5, 4), _spaced(-0.3, 0.7, 4, 4), _spaced(-0.2, 0.4, 4))},
    "word_embedding_forward": {"N=1, T=1": lambda: (np.array([[4]]), _spaced(0.0, 1.0, 6, 5))},
    "temporal_affine_forward": {"N=1, T=1": lambda: (_spaced(-1.0, 1.0, 1, 1, 4), _spaced(-0.5, 0.5, 4, 6),
                                                     _spaced(-0.1, 0.1, 6))},
    "temporal_softmax_loss": {
        "N=1, T=1": lambda: (_spaced(-2.0, 3.0, 1, 1, 6)[..., [3, 0, 5, 1, 4, 2]], np.array([[2]]),
                             np.ones((1, 1), dtype=bool)),
        "everything masked": lambda: (visible_inputs()["temporal_softmax_loss"][0], visible_inputs()["temporal_softmax_loss"][1],
                                      np.zeros((3, 4), dtype=bool)),
        "very large scores": lambda: (1000 * visible_inputs()["temporal_softmax_loss"][0],
                                      *visible_inputs()["temporal_softmax_loss"][1:])},
}
OUTPUTS = {  # function -> (name, index in the returned tuple, dimension letters)
    "rnn_step_forward": [("h", 0, "NH")], "rnn_forward": [("h", 0, "NTH")],
    "word_embedding_forward": [("out", 0, "NTD")], "temporal_affine_forward": [("out", 0, "NTV")],
    "temporal_softmax_loss": [("loss", 0, ""), ("dx", 1, "NTV")],
}
# Where to look when an output is wrong: which equation, which part of the notes, which shape.
WHERE = {
    "rnn_step_forward": {"h": "the recurrence of section 1: which product each weight takes part in, "
                              "the bias, and the nonlinearity (h lies in [-1, 1])"},
    "rnn_forward": {"h": "the loop: which state each step starts from and what is stored at h[:, t] "
                         "(if rnn_step_forward fails its check, fix it first)"},
    "word_embedding_forward": {"out": "what a row of W stands for, and how NumPy's integer-array "
                                      "indexing picks rows"},
    "temporal_affine_forward": {"out": "the same w and b at every time step; the shape (N, T, V)"},
    "temporal_softmax_loss": {
        "loss": "which positions count and what the sum is divided by (the docstring's mean); "
                "with every position masked the docstring asks for 0.0; and the softmax's "
                "stability for large scores",
        "dx": "the derivative of the cross-entropy of a softmax with respect to its scores, then "
              "the same mask and the same division as the loss"},
}
CACHE = ("x", "h_prev", "Wx", "Wh", "h")


def _expected(key: str) -> np.ndarray:
    return load_fixture(ASSIGNMENT)[key]


def visible_cases(function: str) -> dict[str, tuple]:
    """Every visible call of ``function``, by case; ``"main"`` comes first."""
    return {"main": visible_inputs()[function], **{label: make() for label, make in CASES.get(function, {}).items()}}


def call_args(function: str, impl) -> dict[str, tuple]:
    """The arguments of every visible call of ``function`` whose outputs are compared, by case
    (the grader stores the named mistakes' outputs on them)."""
    return visible_cases(function) if function in OUTPUTS else {}


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    inputs = visible_inputs()
    params, prefix, n, temperature, seed = inputs["sample"]
    probs0, probs1 = first_draw_probabilities(impl.rnn_step_forward, params, prefix, temperature)
    values = {
        "sample/argmax": impl.sample(params, prefix, n, 0.0, seed),
        "sample/probs0": probs0,
        "sample/probs1": probs1,
        "sample/one/probs0": first_draw_probabilities(impl.rnn_step_forward, params, prefix[:1, :1], 1.0)[0],
    }
    for function in OUTPUTS:
        for label, args in visible_cases(function).items():
            with np.errstate(over="ignore"):
                result = getattr(impl, function)(*args)
            for name, index, _ in OUTPUTS[function]:
                values[f"{function}/{label}/{name}"] = np.asarray(result[index])
            if function in ("rnn_step_forward", "rnn_forward") and label == "main":
                values.update(flatten_cache(f"{function}/main/cache", result[1]))
    return values


def _run(function: str, fn):
    """Call ``fn`` on every case of ``function`` and verify it; the main case's result."""
    results = []
    for label, args in visible_cases(function).items():
        result = fn(*args)
        verify_outputs(ASSIGNMENT, function, label, "the main case" if label == "main" else label,
                       OUTPUTS[function], result, WHERE[function])
        results.append(result)
    return results[0]


def _expect_cache(function: str, cache, step: int | None = None) -> None:
    prefix = f"{function}/main/cache" + ("" if step is None else f"/{step}")
    problem = cache_problem(function if step is None else f"{function} (step {step})", cache, CACHE,
                            stored_cache(ASSIGNMENT, prefix), "rnn_step_backward (notebook 02)")
    if problem:
        raise CheckFailure(problem)


def check_rnn_step_forward(rnn_step_forward) -> None:
    """Visible check of ``rnn_step_forward``: h on a main case and one unit, then the cache."""
    _, cache = _run("rnn_step_forward", rnn_step_forward)
    _expect_cache("rnn_step_forward", cache)
    passed("rnn_step_forward")


def check_rnn_forward(rnn_forward) -> None:
    """Visible check of ``rnn_forward``: a (3, 4, 5) input sequence and one step; then the caches."""
    h, cache = _run("rnn_forward", rnn_forward)
    T = visible_inputs()["rnn_forward"][0].shape[1]
    expect(isinstance(cache, list) and len(cache) == T,
           f"the cache of rnn_forward should be a list of the T = {T} step caches, got "
           f"{type(cache).__name__}: rnn_backward (notebook 02) is graded with a cache in that layout")
    for t, step in enumerate(cache):
        _expect_cache("rnn_forward", step, t)
    passed("rnn_forward")


def check_word_embedding_forward(word_embedding_forward) -> None:
    """Visible check of ``word_embedding_forward``: a main case and N = T = 1."""
    _run("word_embedding_forward", word_embedding_forward)
    passed("word_embedding_forward")


def check_temporal_affine_forward(temporal_affine_forward) -> None:
    """Visible check of ``temporal_affine_forward``: a main case and N = T = 1."""
    _run("temporal_affine_forward", temporal_affine_forward)
    passed("temporal_affine_forward")


def check_temporal_softmax_loss(temporal_softmax_loss) -> None:
    """Visible check of ``temporal_softmax_loss``: padded rows, N = T = 1, everything masked
    (the loss is 0.0 there, not NaN), and very large scores."""
    _run("temporal_softmax_loss", temporal_softmax_loss)
    passed("temporal_softmax_loss")


def check_sample(sample) -> None:
    """Visible check of ``sample``: reproducible, argmax at temperature 0, and at a positive
    temperature draws distributed as softmax(scores / temperature), however they are drawn."""
    params, prefix, n, temperature, seed = visible_inputs()["sample"]
    N, V = prefix.shape[0], params["W_out"].shape[1]
    ids = as_array("ids", sample(params, prefix, n, temperature, seed))
    expect(ids.shape == (N, n) and ids.dtype.kind in "iu",
           f"sample should return integer ids of shape (N, n) = {(N, n)}, got {ids.dtype} {ids.shape}")
    expect(np.array_equal(ids, sample(params, prefix, n, temperature, seed)),
           "the same seed gave different samples: draw only from np.random.default_rng(seed)")
    cold = [np.asarray(sample(params, prefix, n, 0.0, s)) for s in (0, 1)]
    expect(np.array_equal(*cold), "at temperature 0 the seed should not matter: take the argmax")
    expect_array("ids at temperature 0", cold[0], _expected("sample/argmax"), "NT",
                 hint="At temperature 0 look at which token is most likely at each step, and at "
                      "how much of the prefix the RNN has read")
    draws = as_array("ids", sample(params, np.repeat(prefix, SAMPLE_RUNS, axis=0), 2, temperature, seed))
    expect(draws.shape == (N * SAMPLE_RUNS, 2) and draws.min() >= 0 and draws.max() < V,
           f"sample should return ids in [0, V) with V = {V}")
    draws = draws.reshape(N, SAMPLE_RUNS, 2)
    probs0 = _expected("sample/probs0")
    if np.all(draws[:, :, 0] == probs0.argmax(axis=1)[:, None]):
        raise CheckFailure("at temperature 0.7 every draw is the most likely token: sample from "
                           "softmax(scores / temperature) instead of taking the argmax")
    problem = sampling_problem("sample", draws, probs0, _expected("sample/probs1"))
    if problem:
        raise CheckFailure(problem + ". Look at the sampling equation of section 6: where the "
                           "temperature enters, which distribution is drawn from, and what the RNN "
                           "reads at the next step")
    # the smallest case the hidden check draws: one row, a prefix of one token, n = 1, temperature 1
    one = sample(params, prefix[:1, :1], 1, 1.0, seed)
    expect(np.shape(one) == (1, 1) and np.array_equal(one, sample(params, prefix[:1, :1], 1, 1.0, seed)),
           f"with N = 1, a prefix of one token and n = 1, sample should return the same (1, 1) ids "
           f"for the same seed, got {np.shape(one)}")
    draws = as_array("ids", sample(params, np.repeat(prefix[:1, :1], SAMPLE_RUNS, axis=0), 1, 1.0, seed))
    expect(draws.shape == (SAMPLE_RUNS, 1), f"sample should return ids of shape (N, n) = {(SAMPLE_RUNS, 1)}")
    problem = sampling_problem("sample", draws.reshape(1, SAMPLE_RUNS, 1), _expected("sample/one/probs0"))
    expect(problem is None, f"{problem} (temperature 1, n = 1, every row the same one-token prefix)")
    passed("sample")
