"""The exposure-bias experiment of notebook 05: a task, a training loop, free-running metrics.

The task, :func:`progressions`, is a tiny "captioning" problem whose answer is known exactly:
a start token names a pair (a, d) of digits, and the sequence that follows is the arithmetic
progression a, a + d, a + 2d, ... (mod 10), cut at a random length and padded. A decoder that
reads the start token can in principle write the whole sequence without looking at its own
previous outputs, and every generated token is either right or wrong, so free-running quality
(exact match, error rate at each position) is measured without any proxy.

The training loop takes the student's training step as an argument (the scheduled-sampling
loss of the notebook) and a schedule ``eps(i)``; nothing here implements scheduled sampling.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from .decoder import GRUDecoder, teacher_forced_loss

__all__ = ["DIGITS", "START", "PAD", "VOCAB", "progressions", "train_decoder", "evaluate",
           "plot_schedules", "plot_error_by_position"]

DIGITS = 10  # tokens 0..9 are digits
START = DIGITS  # tokens 10..109 are start tokens, one per pair (a, b): 10 + 10 a + b
PAD = START + DIGITS * DIGITS  # token 110 pads the end of short sequences
VOCAB = PAD + 1


def progressions(n: int, T: int = 12, min_length: int = 4,
                 seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arithmetic progressions mod 10 after a start token that names them.

    Sequence n has a start digit a and a step d (1..9) drawn uniformly and a length L drawn
    uniformly from [min_length, T]; its tokens are s_j = (a + j d) mod 10 for j < L.

    Args:
        n: how many sequences.
        T: the longest length, and the number of columns.
        min_length: the shortest length, 1 <= min_length <= T.
        seed: an int or a ``np.random.Generator``.

    Returns:
        x: int64 (n, T), the decoder's inputs: the start token, then s_0 .. s_{L-2}, then PAD.
        y: int64 (n, T), the targets: s_0 .. s_{L-1}, then PAD.
        mask: bool (n, T), True on the L real targets of each row.
    """
    if not 1 <= min_length <= T:
        raise ValueError(f"need 1 <= min_length <= T, got {min_length} and {T}")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, DIGITS, size=n)
    b = rng.integers(0, DIGITS, size=n)
    lengths = rng.integers(min_length, T + 1, size=(n, 1))
    s = np.zeros((n, T + 1), dtype=np.int64)
    s[:, 0], s[:, 1] = a, b
    for j in range(2, T + 1):
        s[:, j] = (s[:, j - 1] + s[:, j - 2]) % DIGITS
    s = s[:, :T]  # (n, T)
    mask = np.arange(T)[None, :] < lengths  # (n, T)
    y = np.where(mask, s, PAD)
    start = (START + DIGITS * a + b)[:, None]  # (n, 1)
    x = np.concatenate([start, np.where(mask[:, :-1], s[:, :-1], PAD)], axis=1)
    return x.astype(np.int64), y.astype(np.int64), mask


def train_decoder(step: Callable, schedule: Callable[[int], float], steps: int, seed: int,
                  batch: int = 32, T: int = 12, E: int = 16, H: int = 48, lr: float = 0.01,
                  greedy: bool = False, device: str = "cpu") -> tuple[GRUDecoder, dict]:
    """Train a fresh :class:`GRUDecoder` on :func:`progressions` with a training step.

    Args:
        step: ``step(model, x, y, mask, eps, rng, greedy) -> (loss, inputs, used_truth)``,
            e.g. the notebook's ``scheduled_sampling_loss``.
        schedule: ``schedule(i) -> eps`` for update i = 0, 1, ...
        steps: how many updates (Adam, gradient norm clipped at 1).
        seed: the seed of the weights, the data and the coins.
        batch, T, E, H, lr: batch size, sequence length, embedding and hidden sizes, Adam's
            learning rate.
        greedy: passed to ``step``: feed argmax outputs (True) or samples (False).
        device: where the model and the batches live ("cpu" or "cuda").

    Returns:
        The trained model and a history dict: ``eps`` (per update), ``loss``, ``truth_share``
        (the share of fed tokens after the start that were true), ``seconds``.
    """
    model = GRUDecoder(VOCAB, E, H, seed=seed).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    history = {"eps": [], "loss": [], "truth_share": []}
    started = time.perf_counter()
    for i in range(steps):
        x, y, mask = (torch.as_tensor(a, device=device) for a in progressions(batch, T, seed=rng))
        eps = float(schedule(i))
        loss, _, used_truth = step(model, x, y, mask, eps, rng, greedy)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history["eps"].append(eps)
        history["loss"].append(float(loss.detach()))
        history["truth_share"].append(float(torch.as_tensor(used_truth)[:, 1:].float().mean())
                                      if x.shape[1] > 1 else 1.0)
    history["seconds"] = time.perf_counter() - started
    return model, history


@torch.no_grad()
def evaluate(model: GRUDecoder, step: Callable, n: int = 500, T: int = 12,
             seed: int = 12345) -> dict:
    """Teacher-forced loss and free-running errors on fresh sequences.

    Free running is ``step`` with eps = 0 and greedy outputs: the model reads only its own
    previous argmax after the start token.

    Returns:
        A dict: ``tf_loss`` (nats per token), ``tf_error`` and ``free_error`` (share of real
        tokens predicted wrong), ``exact`` (share of sequences generated entirely right),
        ``tf_by_position`` and ``free_by_position`` (error rate at each position, shape (T,)).
    """
    device = next(model.parameters()).device
    x, y, mask = (torch.as_tensor(a, device=device) for a in progressions(n, T, seed=seed))
    tf_logits, _ = model(x)
    _, fed, _ = step(model, x, y, mask, 0.0, np.random.default_rng(seed), True)
    free_logits, _ = model(fed)  # the logits it produced while reading its own outputs
    result = {"tf_loss": float(teacher_forced_loss(model, x, y, mask))}
    for name, logits in (("tf", tf_logits), ("free", free_logits)):
        wrong = (logits.argmax(dim=-1) != y) & mask  # (n, T)
        result[f"{name}_error"] = float(wrong.sum() / mask.sum())
        result[f"{name}_by_position"] = (wrong.sum(0) / mask.sum(0).clamp(min=1)).cpu().numpy()
        if name == "free":
            result["exact"] = float((~wrong.any(dim=1)).float().mean())
    return result


def plot_schedules(schedules: dict[str, Callable[[int], float]], steps: int, ax=None,
                   title: str = "Teacher-forcing probability over training"):
    """Plot eps_i = schedule(i) for i < steps, one line per schedule; returns the axes."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    i = np.arange(steps)
    for name, schedule in schedules.items():
        ax.plot(i, [schedule(int(k)) for k in i], label=name)
    ax.set_xlabel("training step i")
    ax.set_ylabel(r"$\epsilon_i$ (probability of feeding the truth)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_error_by_position(results: dict[str, list[dict]], ax=None, title: str = ""):
    """Free-running (solid) and teacher-forced (dotted) error rate by position, seed means.

    Args:
        results: method name -> one :func:`evaluate` dict per seed.
    """
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for k, (name, runs) in enumerate(results.items()):
        color = f"C{k}"
        free = np.mean([r["free_by_position"] for r in runs], axis=0)
        tf = np.mean([r["tf_by_position"] for r in runs], axis=0)
        positions = np.arange(1, len(free) + 1)
        ax.plot(positions, free, "-o", color=color, ms=3, label=f"{name}: free running")
        ax.plot(positions, tf, ":", color=color)
    ax.set_xlabel("position in the generated sequence")
    ax.set_ylabel("error rate (dotted: teacher forced)")
    ax.set_title(title or "Error by position, mean over seeds")
    ax.legend(fontsize=7)
    return ax
