"""The text data the course ships, a character vocabulary, and language-modelling batches.

The two data files live in ``rnncourse/datafiles/`` with their attribution (``SOURCES.md``);
each is verified against its published SHA-256 when loaded. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

import numpy as np

# name -> (file, sha256), as published in datafiles/SOURCES.md
DATASETS = {
    "tinyshakespeare": (
        "tinyshakespeare.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
    "names": (
        "names.txt",
        "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    ),
}


class DataError(RuntimeError):
    """A shipped data file is missing or does not match its checksum."""


@lru_cache(maxsize=None)
def load_text(name: str) -> str:
    """Return the full text of a shipped dataset, verified by checksum.

    Args:
        name: ``"tinyshakespeare"`` or ``"names"``.

    Returns:
        The file's contents decoded as UTF-8.

    Raises:
        ValueError: ``name`` is not a shipped dataset.
        DataError: the file is missing or its SHA-256 differs from the published one.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the course ships {sorted(DATASETS)}")
    filename, sha256 = DATASETS[name]
    path = resources.files("rnncourse") / "datafiles" / filename
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{filename} is missing from the rnncourse package; reinstall it") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise DataError(
            f"{filename} is corrupt: sha256 {digest}, expected {sha256} (see datafiles/SOURCES.md)"
        )
    return raw.decode("utf-8")


class Vocab:
    """A character vocabulary: each distinct character gets an integer id, in sorted order."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError("vocabulary characters must be distinct")
        self.chars = "".join(chars)
        self._index = {ch: i for i, ch in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """The vocabulary of every distinct character in ``text``, sorted."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"Vocab({len(self)} characters)"

    def encode(self, text: str) -> np.ndarray:
        """Map a string to its ids, shape (len(text),), dtype int64.

        Raises:
            ValueError: a character of ``text`` is not in the vocabulary.
        """
        try:
            return np.array([self._index[ch] for ch in text], dtype=np.int64)
        except KeyError as err:
            position = text.index(err.args[0])
            raise ValueError(
                f"character {err.args[0]!r} at position {position} is not in the vocabulary "
                f"of {len(self)} characters"
            ) from None

    def decode(self, ids) -> str:
        """Map a sequence of ids (any integer array-like, 1-D) back to a string.

        Raises:
            ValueError: an id is outside ``[0, len(self))``.
        """
        ids = np.asarray(ids).reshape(-1)
        bad = ids[(ids < 0) | (ids >= len(self))]
        if bad.size:
            raise ValueError(f"id {int(bad[0])} is outside the vocabulary [0, {len(self)})")
        return "".join(self.chars[i] for i in ids)


def _check_batch_args(ids: np.ndarray, N: int, T: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D array of token ids, got shape {ids.shape}")
    if ids.size and ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be integer token ids, got dtype {ids.dtype}")
    # the batches are documented as int64 (what torch's embeddings and losses take), also
    # when the ids come as int32; an int64 array is not copied
    ids = ids.astype(np.int64, copy=False)
    if not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N (sequences per batch) must be a positive integer, got {N!r}")
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T (time steps per sequence) must be a positive integer, got {T!r}")
    if T + 1 > len(ids):
        raise ValueError(
            f"T={T} is too long for a text of {len(ids)} tokens: a window needs T + 1 tokens"
        )
    return ids


def random_batches(
    ids: np.ndarray, N: int, T: int, *, seed: int, n_batches: int | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield language-modelling batches of random windows of the text.

    Each target is the input shifted one step to the left: the model predicts the next token.

    Args:
        ids: the encoded text, shape (L,).
        N: windows per batch.
        T: time steps per window.
        seed: seeds the window positions; the same seed gives the same batches.
        n_batches: how many batches to yield; ``None`` yields for ever.

    Yields:
        ``(x, y)``, both int64 of shape (N, T), with ``y[:, t] == x[:, t + 1]`` for t < T - 1.
    """
    ids = _check_batch_args(ids, N, T)
    rng = np.random.default_rng(seed)
    offsets = np.arange(T + 1)
    count = 0
    while n_batches is None or count < n_batches:
        starts = rng.integers(0, len(ids) - T, size=N)
        window = ids[starts[:, None] + offsets]  # (N, T + 1)
        yield window[:, :-1], window[:, 1:]
        count += 1


def sequential_batches(
    ids: np.ndarray, N: int, T: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield consecutive chunks of N parallel streams of the text, for truncated BPTT.

    The text is cut into N equal streams; batch k holds chunk k of every stream, so row n of
    batch k + 1 continues row n of batch k and a hidden state can be carried across batches.

    Args:
        ids: the encoded text, shape (L,).
        N: parallel streams.
        T: time steps per chunk.

    Yields:
        ``(x, y)``, both int64 of shape (N, T), ``y`` being ``x`` shifted by one token.
    """
    ids = _check_batch_args(ids, N, T)
    stream_len = (len(ids) - 1) // N
    if stream_len < T:
        raise ValueError(
            f"N={N} streams of a {len(ids)}-token text are {stream_len} tokens long, "
            f"shorter than T={T}"
        )
    x_streams = ids[: N * stream_len].reshape(N, stream_len)  # (N, L // N)
    y_streams = ids[1 : N * stream_len + 1].reshape(N, stream_len)
    for start in range(0, stream_len - T + 1, T):
        yield x_streams[:, start : start + T], y_streams[:, start : start + T]


def stream_batches(ids: np.ndarray, N: int, T: int, *, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``sequential_batches`` of the text for ever, for training with the state carried
    from batch to batch; each pass over the text starts at a random offset below T, so the
    chunk boundaries move from one pass to the next."""
    rng = np.random.default_rng(seed)
    while True:
        yield from sequential_batches(ids[int(rng.integers(0, T)):], N, T)
