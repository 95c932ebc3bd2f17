"""The three names of a language model's loss: nats, bits and perplexity per token.

A loss of L nats per character (the mean of -ln p of the true next character) is L / ln 2 bits
per character, the length of the code an ideal compressor driven by the model would need, and
e**L perplexity, the number of equally likely characters the model is as unsure as. A model
that spreads its bets evenly over V characters scores ln V nats, log2 V bits, perplexity V.
"""
from __future__ import annotations

import math

__all__ = ["bits", "perplexity", "describe_loss"]


def bits(nats: float) -> float:
    """A loss in nats per character as bits per character."""
    return nats / math.log(2)


def perplexity(nats: float) -> float:
    """The perplexity e ** nats of a loss in nats per token."""
    return math.exp(nats)


def describe_loss(nats: float) -> str:
    """The loss in its three units, e.g. ``"1.576 nats = 2.27 bits per character, perplexity 4.8"``."""
    nats = float(nats)
    if not math.isfinite(nats) or nats < 0:
        raise ValueError(f"a cross-entropy loss is a finite number >= 0 nats, got {nats!r}")
    return f"{nats:.3f} nats = {bits(nats):.2f} bits per character, perplexity {perplexity(nats):.1f}"
