"""Simple, readable features of a text, one value per character, to look for units that track them.

A unit of a character model is "interpretable" when its activation follows something a reader
can name: where the line is, whether a word has started, whether the line is a speaker's name.
:func:`text_features` computes such features; :func:`correlations` measures, for every unit and
every feature, how well the unit's activation follows it (Pearson's r over many characters),
so that a notebook finds the unit by measurement instead of picking it by eye.
"""
from __future__ import annotations

import numpy as np

__all__ = ["text_features", "correlations"]

def text_features(text: str) -> dict[str, np.ndarray]:
    """Features of ``text`` after reading each character, each float64 of shape (len(text),).

    Each needs memory: the character just read does not decide it, so a unit that tracks it
    carries information forward in its state.

    - ``"position in the line"``: characters read since the last newline (0 right after one);
    - ``"position in the word"``: letters read since the last non-letter (0 after a space);
    - ``"inside a speaker's name"``: 1 on the characters of a line that is a speaker's name in
      capitals ending with a colon (``ROMEO:``), else 0;
    - ``"line of the speech"``: lines read since the last speaker's name (1 on the first line
      of a speech, 0 on the name itself).
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    n = len(text)
    line_pos, word_pos = np.zeros(n), np.zeros(n)
    in_line = in_word = 0
    for t, ch in enumerate(text):
        in_line = 0 if ch == "\n" else in_line + 1
        in_word = in_word + 1 if ch.isalpha() else 0
        line_pos[t], word_pos[t] = in_line, in_word
    name, speech_line = np.zeros(n), np.zeros(n)
    start, lines_since_name = 0, 0
    for line in text.split("\n"):
        body = line.rstrip(":")
        is_name = line.endswith(":") and bool(body) and body.replace(" ", "").isalpha() and body.isupper()
        lines_since_name = 0 if is_name else lines_since_name + 1
        name[start:start + len(line)] = float(is_name)
        speech_line[start:start + len(line) + 1] = lines_since_name  # + 1: its newline
        start += len(line) + 1
    return {
        "position in the line": line_pos,
        "position in the word": word_pos,
        "inside a speaker's name": name,
        "line of the speech": speech_line,
    }


def correlations(activations: np.ndarray, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pearson's r between every unit's activation and every feature.

    Args:
        activations: shape (L, H), the hidden state after each of L characters.
        features: name -> shape (L,), as from :func:`text_features`.

    Returns:
        name -> shape (H,), r for each unit (0 where a unit or a feature is constant).
    """
    activations = np.asarray(activations, dtype=np.float64)
    if activations.ndim != 2:
        raise ValueError(f"activations must have shape (L, H), got {activations.shape}")
    a = activations - activations.mean(axis=0)
    a_norm = np.sqrt((a**2).sum(axis=0))
    out = {}
    for name, values in features.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != activations.shape[:1]:
            raise ValueError(f"feature {name!r} has shape {v.shape}, expected ({activations.shape[0]},)")
        v = v - v.mean()
        denominator = a_norm * np.sqrt((v**2).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(denominator > 0, (v @ a) / denominator, 0.0)
    return out
