"""Synthetic tasks whose answer depends on something far back in the sequence.

They are the classic probes of long-range memory: a model can only solve them if what it read
T steps ago still reaches its output, and if the gradient of the loss still reaches back that
far. Every array is generated from ``seed``, so an experiment is reproducible to the bit.

- :func:`recall_first`: read T tokens, then name the first one (a classification, chance
  level ``1 / n_symbols``).
- :func:`adding_problem`: read T numbers, two of them marked, then output the sum of the two
  marked numbers (a regression; Hochreiter and Schmidhuber, 1997).
"""
from __future__ import annotations

import numpy as np

__all__ = ["recall_first", "adding_problem", "one_hot"]


def _generator(seed: int | np.random.Generator) -> np.random.Generator:
    # default_rng returns a Generator it is given unchanged, so a caller can share one stream
    return np.random.default_rng(seed)


def recall_first(
    n: int,
    T: int,
    n_symbols: int = 4,
    n_distractors: int = 4,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose label is their first token, followed by T - 1 distractors.

    Ids ``0 .. n_symbols - 1`` are the symbols to remember; ids ``n_symbols ..
    n_symbols + n_distractors - 1`` are distractors, drawn uniformly for positions 1 to T - 1.
    The vocabulary size is ``V = n_symbols + n_distractors``. The answer is ``T - 1`` steps
    before the end of the sequence.

    Args:
        n: how many sequences.
        T: the sequence length, >= 1.
        n_symbols: how many symbols the first token is drawn from (the classes), >= 2.
        n_distractors: how many distractor ids fill the rest, >= 1.
        seed: an int, or a ``np.random.Generator`` to draw from.

    Returns:
        ids: integer token ids (int64), shape (n, T).
        y: the labels (int64), shape (n,), equal to ``ids[:, 0]``.
    """
    if T < 1 or n < 0:
        raise ValueError(f"need T >= 1 and n >= 0, got T={T}, n={n}")
    if n_symbols < 2 or n_distractors < 1:
        raise ValueError(f"need n_symbols >= 2 and n_distractors >= 1, "
                         f"got {n_symbols} and {n_distractors}")
    rng = _generator(seed)
    y = rng.integers(0, n_symbols, size=n)
    ids = rng.integers(n_symbols, n_symbols + n_distractors, size=(n, T))
    ids[:, 0] = y
    return ids, y.copy()


def adding_problem(
    n: int, T: int, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: add the two marked numbers of a sequence of T random numbers.

    Channel 0 holds numbers drawn uniformly from [0, 1); channel 1 is 1 at exactly two
    positions, one in the first half ``[0, T // 2)`` and one in the second half
    ``[T // 2, T)``, and 0 elsewhere. Always answering 1 (the mean of the sum) gives a mean
    squared error of 1/6: a model must beat that to have learned anything.

    Args:
        n: how many sequences.
        T: the sequence length, >= 2.
        seed: an int, or a ``np.random.Generator`` to draw from.

    Returns:
        x: float64, shape (n, T, 2): numbers and markers.
        y: float64, shape (n,): the sum of the two marked numbers, in [0, 2).
    """
    if T < 2 or n < 0:
        raise ValueError(f"need T >= 2 and n >= 0, got T={T}, n={n}")
    rng = _generator(seed)
    x = np.zeros((n, T, 2))
    x[:, :, 0] = rng.random((n, T))
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    rows = np.arange(n)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = x[rows, first, 0] + x[rows, second, 0]
    return x, y


def one_hot(ids: np.ndarray, V: int) -> np.ndarray:
    """Token ids as one-hot vectors: ``out[..., v] = 1.0 if ids[...] == v``.

    Args:
        ids: integer ids of any shape, each in [0, V).
        V: the vocabulary size.

    Returns:
        float64, shape ``ids.shape + (V,)``.
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"ids must lie in [0, {V}), got values from {ids.min()} to {ids.max()}")
    return np.eye(V)[ids]
