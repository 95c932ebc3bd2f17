"""Pre-trained weights the course ships, for students to run with their own forward pass.

``char_rnn_shakespeare`` is a one-layer character RNN trained on the first 90% of tiny
Shakespeare (by ``python -m autograder.tools.pretrain``, which graders have). Its six arrays follow
notebook 01's equations, batch-first, with V = 65 characters, E = 64, H = 256:

    W_embed (V, E):  x ids (N, T) -> embeddings W_embed[x] (N, T, E)
    Wx (E, H), Wh (H, H), b (H,):  h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b), h_0 = 0
    W_out (H, V), b_out (V,):  scores of the next character h_t @ W_out + b_out (N, T, V)

This module only loads them; the forward pass is the students' to write.
"""
from __future__ import annotations

import zipfile
from importlib import resources

import numpy as np

from rnncourse.data import DataError, Vocab

WEIGHTS = resources.files("rnncourse") / "weights"
PARAM_NAMES = ("W_embed", "Wx", "Wh", "b", "W_out", "b_out")
SHIPPED = ("char_rnn_shakespeare",)  # a missing one of these is a broken install, not a typo


def available() -> list[str]:
    """The names of the weight files in ``rnncourse/weights/``, sorted."""
    if not WEIGHTS.is_dir():
        return []
    return sorted(f.name[: -len(".npz")] for f in WEIGHTS.iterdir() if f.name.endswith(".npz"))


def load_char_rnn(name: str = "char_rnn_shakespeare") -> tuple[dict[str, np.ndarray], Vocab]:
    """Load a pre-trained character RNN: its parameters as float64 and its vocabulary.

    Args:
        name: the weight file's name without ``.npz``; see ``available()``.

    Returns:
        ``(params, vocab)``: ``params`` maps ``W_embed`` (V, E), ``Wx`` (E, H), ``Wh`` (H, H),
        ``b`` (H,), ``W_out`` (H, V) and ``b_out`` (V,) to float64 arrays; ``vocab`` is the
        ``Vocab`` of V characters the model was trained with (id i is row i of ``W_embed``).

    Raises:
        ValueError: ``name`` is not a weight file the course ships.
        DataError: the file is missing from the package or cannot be read.
    """
    names = available()
    if name not in names:
        if name in SHIPPED:
            raise DataError(f"{name}.npz is missing from rnncourse/weights/; reinstall rnncourse")
        raise ValueError(f"unknown pre-trained model {name!r}; available: {names}")
    try:
        with (WEIGHTS / f"{name}.npz").open("rb") as f, np.load(f) as data:
            params = {key: data[key].astype(np.float64) for key in PARAM_NAMES}
            vocab = Vocab(str(data["vocab"]))
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{name}.npz in rnncourse/weights/ is corrupt ({err}); reinstall rnncourse"
        ) from None
    if params["W_embed"].shape[0] != len(vocab):
        raise DataError(
            f"{name}.npz is corrupt: W_embed has {params['W_embed'].shape[0]} rows "
            f"for a vocabulary of {len(vocab)} characters"
        )
    return params, vocab
