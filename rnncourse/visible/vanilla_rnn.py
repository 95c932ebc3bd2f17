"""Visible checks of notebook 01: the vanilla RNN forward pass, the loss, and sampling.

Inputs are small and fixed (evenly spaced values, as in CS231n), so a student can rerun a
check and get the same message. Expected outputs come from the stored fixture.
"""
from __future__ import annotations

import numpy as np

from rnncourse.compare import CheckFailure, as_array, expect, expect_array, sampling_problem
from rnncourse.visible import load_fixture, passed

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


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    inputs = visible_inputs()
    params, prefix, n, temperature, seed = inputs["sample"]
    probs0, probs1 = first_draw_probabilities(impl.rnn_step_forward, params, prefix, temperature)
    loss, dx = impl.temporal_softmax_loss(*inputs["temporal_softmax_loss"])
    return {
        "rnn_step_forward/h": impl.rnn_step_forward(*inputs["rnn_step_forward"])[0],
        "rnn_forward/h": impl.rnn_forward(*inputs["rnn_forward"])[0],
        "word_embedding_forward/out": impl.word_embedding_forward(*inputs["word_embedding_forward"])[0],
        "temporal_affine_forward/out": impl.temporal_affine_forward(*inputs["temporal_affine_forward"])[0],
        "temporal_softmax_loss/loss": np.asarray(loss),
        "temporal_softmax_loss/dx": dx,
        "sample/argmax": impl.sample(params, prefix, n, 0.0, seed),
        "sample/probs0": probs0,
        "sample/probs1": probs1,
    }


def _expected(key: str) -> np.ndarray:
    return load_fixture(ASSIGNMENT)[key]


def check_rnn_step_forward(rnn_step_forward) -> None:
    """Visible check of ``rnn_step_forward``: shape, then values on fixed inputs."""
    h, _ = rnn_step_forward(*visible_inputs()["rnn_step_forward"])
    h = expect_array("h", h, _expected("rnn_step_forward/h"), "NH",
                     hint="Compute h = tanh(x @ Wx + h_prev @ Wh + b)")
    expect(np.all(np.abs(h) <= 1), "h should lie in [-1, 1]: did you apply tanh?")
    passed("rnn_step_forward")


def check_rnn_forward(rnn_forward) -> None:
    """Visible check of ``rnn_forward`` on a (3, 4, 5) input sequence."""
    h, _ = rnn_forward(*visible_inputs()["rnn_forward"])
    expect_array("h", h, _expected("rnn_forward/h"), "NTH",
                 hint="Start from h0, call rnn_step_forward once per time step, and store "
                      "each new state at h[:, t]")
    passed("rnn_forward")


def check_word_embedding_forward(word_embedding_forward) -> None:
    """Visible check of ``word_embedding_forward``."""
    out, _ = word_embedding_forward(*visible_inputs()["word_embedding_forward"])
    expect_array("out", out, _expected("word_embedding_forward/out"), "NTD",
                 hint="out[n, t] is the row W[x[n, t]]")
    passed("word_embedding_forward")


def check_temporal_affine_forward(temporal_affine_forward) -> None:
    """Visible check of ``temporal_affine_forward``."""
    out, _ = temporal_affine_forward(*visible_inputs()["temporal_affine_forward"])
    expect_array("out", out, _expected("temporal_affine_forward/out"), "NTV",
                 hint="Apply the same w and b at every time step")
    passed("temporal_affine_forward")


def check_temporal_softmax_loss(temporal_softmax_loss) -> None:
    """Visible check of ``temporal_softmax_loss``: the loss, its gradient, the mask, stability."""
    scores, y, mask = visible_inputs()["temporal_softmax_loss"]
    loss, dx = temporal_softmax_loss(scores, y, mask)
    expect_array("loss", loss, _expected("temporal_softmax_loss/loss"),
                 hint="Average -log p(y) over the unmasked positions only")
    expect_array("dx", dx, _expected("temporal_softmax_loss/dx"), "NTV",
                 hint="dx is (softmax - one_hot(y)) * mask / mask.sum()")
    big_loss, big_dx = temporal_softmax_loss(scores * 1000, y, mask)
    expect(np.isfinite(big_loss) and np.all(np.isfinite(big_dx)),
           "scores of size 1000 give NaN or inf: subtract each row's maximum before exp")
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
                 hint="At temperature 0 take the most likely token at every step, after reading "
                      "the whole prefix")
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
        raise CheckFailure(problem + ". Divide the scores by the temperature, take the softmax, "
                           "draw from it, and feed the drawn token back to the RNN")
    passed("sample")
