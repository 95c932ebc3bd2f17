"""Toy "models" for testing a beam search: a step function defined entirely by data.

A beam search calls ``step(tokens, state) -> (log_probs, new_state)``. :class:`TableStep` is
such a step whose distribution over the next token depends on the WHOLE prefix read so far, so
it behaves like a real decoder (a beam search that forgets to reorder the states, or mixes up
hypotheses, reads the wrong distributions). It is made of numbers only (a seed and a few
sizes), so the course's grader can send it to a kernel as data and rebuild it there
(``rnncourse/wire.py``); notebook 06 uses it in the visible checks.

The state is the prefix itself: an integer array (B, L) whose row b holds the tokens
hypothesis b has been given so far (the first one is ``bos``). The next-token log-probabilities
of a prefix are a log-softmax of ``scale`` times normal numbers drawn from a generator seeded
with (seed, *prefix), plus ``eos_slope`` times the prefix length on the end token, so
hypotheses end at different lengths. Ties between sequences have probability zero.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["TableStep", "exhaustive_search"]


class TableStep:
    """A deterministic next-token distribution for every prefix.

    Args:
        V: vocabulary size (>= 2).
        eos: the end token's id, in [0, V).
        seed: selects the distributions.
        scale: how peaked they are (0: uniform).
        eos_slope: added to the end token's score per token of prefix.
    """

    def __init__(self, V: int, eos: int, seed: int = 0, scale: float = 1.5, eos_slope: float = 0.5):
        if int(V) < 2 or not 0 <= int(eos) < int(V):
            raise ValueError(f"need V >= 2 and 0 <= eos < V, got V={V}, eos={eos}")
        self.V, self.eos, self.seed = int(V), int(eos), int(seed)
        self.scale, self.eos_slope = float(scale), float(eos_slope)

    def log_probs(self, prefix) -> np.ndarray:
        """The next-token log-probabilities (V,) after ``prefix`` (bos first)."""
        scores = self.scale * np.random.default_rng([self.seed, *map(int, prefix)]).normal(size=self.V)
        scores[self.eos] += self.eos_slope * len(prefix)
        scores -= scores.max()
        return scores - np.log(np.exp(scores).sum())

    def initial_state(self) -> np.ndarray:
        """The state before the first step: one empty prefix, shape (1, 0)."""
        return np.zeros((1, 0), dtype=np.int64)

    def __call__(self, tokens, state) -> tuple[np.ndarray, np.ndarray]:
        tokens, state = np.asarray(tokens).astype(np.int64), np.asarray(state).astype(np.int64)
        if tokens.ndim != 1 or state.ndim != 2 or state.shape[0] != tokens.shape[0]:
            raise ValueError(f"step expects tokens (B,) and a state (B, L) with the same B, got "
                             f"{tokens.shape} and {state.shape}: one state row per hypothesis, "
                             "selected with new_state[index]")
        if np.any(tokens < 0):
            raise ValueError("step got a negative token id")
        new_state = np.concatenate([state, tokens[:, None]], axis=1)  # (B, L + 1)
        log_probs = np.array([self.log_probs(row) for row in new_state]).reshape(-1, self.V)
        return log_probs, new_state

    # ---------------------------------------------------------------- as plain data
    def to_data(self) -> dict:
        return {"V": self.V, "eos": self.eos, "seed": self.seed, "scale": self.scale,
                "eos_slope": self.eos_slope}

    @classmethod
    def from_data(cls, data: dict) -> "TableStep":
        if not isinstance(data, dict) or set(data) != {"V", "eos", "seed", "scale", "eos_slope"}:
            raise ValueError("not the data of a TableStep")
        return cls(int(data["V"]), int(data["eos"]), int(data["seed"]), float(data["scale"]),
                   float(data["eos_slope"]))

    def __repr__(self) -> str:
        return f"TableStep(V={self.V}, eos={self.eos}, ...)"


def exhaustive_search(model: TableStep, bos: int, max_len: int) -> list[tuple[tuple, float]]:
    """Every sequence a search can produce, best first: each ends with ``eos`` at or before
    ``max_len`` tokens, or has ``max_len`` tokens and no ``eos``; with its summed log-probability.

    For tests on small vocabularies (V ** max_len sequences are scored)."""
    found = []
    others = [v for v in range(model.V) if v != model.eos]
    for length in range(1, max_len + 1):
        for body in itertools.product(others, repeat=length - 1):
            for last in (model.eos, *others) if length == max_len else (model.eos,):
                tokens = (*body, last)
                prefix, score = (bos,), 0.0
                for token in tokens:
                    score += model.log_probs(prefix)[token]
                    prefix += (token,)
                found.append((tokens, score))
    return sorted(found, key=lambda item: -item[1])


def ranked_arrays(name: str, result, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """A search's answer, a list of (tokens, score) pairs, as two arrays to compare.

    Returns:
        tokens: float (K, max_len), row k holding hypothesis k's tokens, then -1s.
        scores: float (K,).

    Raises:
        CheckFailure: the answer is not such a list, or a hypothesis has more than max_len tokens.
    """
    from rnncourse.compare import CheckFailure, as_array

    if not isinstance(result, (list, tuple)):
        raise CheckFailure(f"{name} should return a list of (tokens, score) pairs, "
                           f"got {type(result).__name__}")
    tokens, scores = np.full((len(result), max_len), -1.0), np.zeros(len(result))
    for k, item in enumerate(result):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise CheckFailure(f"{name}: item {k} of the list is not a pair (tokens, score)")
        row = as_array(f"the tokens of hypothesis {k}", item[0]).reshape(-1)
        if row.size > max_len:
            raise CheckFailure(f"{name}: hypothesis {k} has {row.size} tokens, more than the "
                               f"{max_len} allowed (is bos in it, or does it go on after eos?)")
        score = as_array(f"the score of hypothesis {k}", item[1])
        if score.size != 1:
            raise CheckFailure(f"{name}: the score of hypothesis {k} should be one number")
        tokens[k, :row.size], scores[k] = row, float(score.reshape(()))
    return tokens, scores
