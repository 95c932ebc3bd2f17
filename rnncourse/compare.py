"""Comparing a student's outputs with expected ones: shapes first, then values.

One copy of the comparison rules, used by the visible checks in the notebooks (which raise
:class:`CheckFailure` with a message) and by the hidden checks of the autograder (which record
the message as feedback). Messages say what is wrong and where to look; they never print the
expected values.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# (rtol, atol) by the dtype of the submitted array. Float32 arithmetic is good to ~1e-7
# relative per operation and errors grow over a sequence, so float32 work is judged at 2e-4; a
# float64 array may still hold values computed in float32 (a float64 buffer filled step by
# step), hence 1e-5 rather than machine precision. The bugs the checks look for are off by
# far more than either.
TOLERANCES = {
    np.dtype(np.float64): (1e-5, 1e-8),
    np.dtype(np.float32): (2e-4, 2e-5),
}


class CheckFailure(AssertionError):
    """A visible check found a wrong output; the message says what and where to look."""


def as_array(name: str, value) -> np.ndarray:
    """Convert a returned value to a plain numeric NumPy array, or explain why it cannot be.

    Anything array-like (lists, NumPy arrays, torch tensors on the CPU) is accepted; objects,
    strings and ``None`` are not. Subclasses of ``ndarray`` are stripped to plain arrays, so a
    returned object cannot change how it compares.

    Raises:
        CheckFailure: the value is not numeric.
    """
    if value is None:
        raise CheckFailure(f"{name} is None: did you forget to return it?")
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.array(value, copy=True, subok=False)
    except Exception as err:  # any failure to convert means the value is not an array
        raise CheckFailure(f"{name} cannot be read as an array ({type(value).__name__}): {err}")
    if array.dtype.kind not in "biuf":
        raise CheckFailure(
            f"{name} should be a numeric array, got dtype {array.dtype} "
            f"(from a {type(value).__name__})"
        )
    return array


def describe_shape(shape: Sequence[int], dims: Mapping[str, int] | None, letters: str | None) -> str:
    """'(N, H) = (3, 4)' when the dimension letters are known, else '(3, 4)'."""
    if letters:
        return f"({', '.join(letters)}) = {tuple(shape)}"
    return str(tuple(shape))


def shape_problem(
    name: str, got: Sequence[int], expected: Sequence[int], letters: str | None = None
) -> str | None:
    """Return a message if ``got`` is not ``expected``, with a hint for the common causes.

    Args:
        name: the output's name, e.g. ``"h"``.
        got: the submitted shape.
        expected: the expected shape.
        letters: the dimension letters of the expected shape, e.g. ``"NH"``.
    """
    got, expected = tuple(got), tuple(expected)
    if got == expected:
        return None
    message = f"{name} has shape {got}, expected {describe_shape(expected, None, letters)}"
    if len(got) == len(expected) and sorted(got) == sorted(expected):
        message += ": the right sizes in the wrong order; did you transpose or multiply in the wrong order?"
    elif int(np.prod(got)) == int(np.prod(expected)):
        message += ": the right number of elements; check your reshape"
    elif len(got) != len(expected):
        message += f": {len(got)} dimensions instead of {len(expected)}; check for a missing or extra axis"
    return message


def value_problem(name: str, got: np.ndarray, expected: np.ndarray) -> str | None:
    """Return a message if ``got`` differs from ``expected`` beyond the tolerance of its dtype.

    Both arrays must already have the same shape. The message names how many elements are off
    and where the worst one is, but not the expected values.
    """
    if not np.all(np.isfinite(got)):
        bad = int(np.size(got) - np.count_nonzero(np.isfinite(got)))
        return f"{name} contains {bad} NaN or infinite values: look for an overflow (exp of a large number?) or a division by zero"
    rtol, atol = TOLERANCES.get(got.dtype, TOLERANCES[np.dtype(np.float64)])
    got64 = got.astype(np.float64)
    close = np.isclose(got64, expected, rtol=rtol, atol=atol)
    if close.all():
        return None
    if close.size == 1:
        return f"{name} has the wrong value"
    error = np.abs(got64 - expected) / (atol + rtol * np.abs(expected))
    worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    return (
        f"{name} has the right shape but wrong values at {int((~close).sum())} of "
        f"{close.size} elements (the worst at index {tuple(int(i) for i in worst)})"
    )


def block_problem(name: str, got: np.ndarray, expected: np.ndarray, letters, blocks: tuple[str, ...]) -> str:
    """" (wrong in the block f; the others are right)" for an output whose last dimension
    stacks the gate blocks ``blocks`` (its letter names the count, e.g. "4H"), else "".
    """
    if not letters or not str(letters[-1]).startswith(str(len(blocks))) or not np.all(np.isfinite(got)):
        return ""
    wrong = [block for block, mine, want in zip(blocks, np.split(got, len(blocks), axis=-1),
                                                np.split(expected, len(blocks), axis=-1))
             if value_problem(name, mine, want)]
    if not wrong or len(wrong) == len(blocks):
        return " (wrong in every gate block)" if wrong else ""
    return f" (wrong in the block{'s' * (len(wrong) > 1)} {', '.join(wrong)}; the others are right)"


def expect_array(
    name: str,
    got,
    expected,
    letters: str | None = None,
    hint: str | None = None,
) -> np.ndarray:
    """Assert that ``got`` matches ``expected``: numeric, same shape, then same values.

    Args:
        name: the output's name, used in the message.
        got: what the student's code returned.
        expected: the expected array.
        letters: dimension letters of the expected shape, e.g. ``"NTH"``.
        hint: what to look at if the values are wrong.

    Returns:
        ``got`` as a plain array.

    Raises:
        CheckFailure: with a message that says what is wrong and what to look at.
    """
    array = as_array(name, got)
    expected = np.asarray(expected, dtype=np.float64)
    problem = shape_problem(name, array.shape, expected.shape, letters) or value_problem(
        name, array, expected
    )
    if problem:
        raise CheckFailure(problem + (f". {hint}" if hint else ""))
    return array


def expect(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailure` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailure(message)


def sampling_problem(name: str, ids: np.ndarray, probs0: np.ndarray, probs1: np.ndarray | None = None,
                     delta: float = 1e-7, min_count: int = 200) -> str | None:
    """Return a message if many draws of a sampler are not distributed as they should be.

    Any correct sampler passes, whatever recipe it uses (inverse CDF, the Gumbel-max trick,
    ``rng.choice``...): only the frequencies are compared, within Hoeffding's bound for the
    number of draws, with a union bound over every comparison, so a correct sampler fails with
    probability below ``delta``.

    Args:
        name: the function's name, used in the message.
        ids: integer draws, shape (N, R, S): for each of N starting points, R independent runs
            of S = 1 or 2 steps.
        probs0: the probability of each first token, shape (N, V).
        probs1: the probability of each second token given the first, shape (N, V, V); only
            read when S == 2.
        delta: the largest probability that a correct sampler fails.
        min_count: second tokens are compared after a first token drawn at least this often.
    """
    N, R, S = ids.shape
    V = probs0.shape[1]
    tests = N * V * (1 + (V if S > 1 else 0))
    slack = np.log(2 * tests / delta) / 2
    for row in range(N):
        where = _off(ids[row, :, 0], probs0[row], slack)
        if where is not None:
            return (f"{name}: the first sampled token of row {row} is not distributed as "
                    f"softmax(scores / temperature): over {R} draws, token {where[0]} came up far "
                    f"too {where[1]}")
        if S < 2 or probs1 is None:
            continue
        for first in range(V):
            after = ids[row, ids[row, :, 0] == first, 1]
            if len(after) < min_count:
                continue
            where = _off(after, probs1[row, first], slack)
            if where is not None:
                return (f"{name}: after token {first}, the next sampled token of row {row} is not "
                        f"distributed as it should be (token {where[0]} came up far too "
                        f"{where[1]}): is the sampled token fed back to the RNN?")
    return None


def _off(draws: np.ndarray, probs: np.ndarray, slack: float) -> tuple[int, str] | None:
    """(token, "often" or "rarely") for a token whose frequency is out of bounds, or None.

    ``draws`` must lie in [0, len(probs)).
    """
    freq = np.bincount(draws, minlength=len(probs)) / len(draws)
    gap = freq - probs
    worst = int(np.argmax(np.abs(gap)))
    if abs(gap[worst]) <= np.sqrt(slack / len(draws)):
        return None
    return worst, "often" if gap[worst] > 0 else "rarely"
