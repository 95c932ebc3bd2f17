"""Character models in PyTorch: nn.RNN, nn.LSTM or nn.GRU between an embedding and a readout.

Shared by notebook 04 (its char-LM and names experiments) and the benchmark command
``python -m autograder.tools.bench_charlm``, so the two train and measure in exactly the same way.
Losses are in nats per character (natural log); ``bits = nats / ln 2`` and
``perplexity = e ** nats``. Randomness comes only from explicit seeds.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .metrics import bits, perplexity  # re-exported: notebook 04 and bench_charlm import them here

__all__ = ["KINDS", "shakespeare_split", "CharModel", "count_parameters", "hidden_for_budget", "pick_device",
           "sequence_loss", "evaluate", "evaluate_streams", "train_for", "pad_batch", "bits", "perplexity"]

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}  # weight blocks per hidden unit


def shakespeare_split(held_out: float = 0.1):
    """Tiny Shakespeare as ids: (vocab, training ids, validation ids), the last ``held_out``
    share of the text being the validation split (never trained on)."""
    from .data import Vocab, load_text

    text = load_text("tinyshakespeare")
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(round((1 - held_out) * len(ids)))
    return vocab, ids[:split], ids[split:]


def pick_device() -> torch.device:
    """A GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class CharModel(nn.Module):
    """Embedding (V, E) -> one recurrent layer of H units -> linear readout to V scores.

    Args:
        kind: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.
        V: vocabulary size; E: embedding size; H: hidden size.
    """

    def __init__(self, kind: str, V: int, E: int, H: int):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        self.kind = kind
        self.embed = nn.Embedding(V, E)
        self.rnn = KINDS[kind](E, H, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, object]:
        """Scores (N, T, V) for ids x (N, T), and the state after the last step."""
        h, state = self.rnn(self.embed(x), state)  # (N, T, H)
        return self.out(h), state


def count_parameters(model: nn.Module) -> int:
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _size(kind: str, V: int, E: int, H: int) -> int:
    # embedding + the layer's two weights and PyTorch's two biases per block + readout
    return V * E + BLOCKS[kind] * H * (E + H + 2) + H * V + V


def hidden_for_budget(kind: str, V: int, E: int, budget: int) -> int:
    """The largest H whose ``CharModel(kind, V, E, H)`` has at most ``budget`` parameters."""
    H = 1
    while _size(kind, V, E, H + 1) <= budget:
        H += 1
    return H


def sequence_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy in nats over the positions of y (N, T) where ``mask`` (N, T) is true."""
    return _mean_loss(model(x)[0], y, mask)


def _mean_loss(scores: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    losses = nn.functional.cross_entropy(scores.flatten(0, 1), y.flatten(), reduction="none")
    if mask is None:
        return losses.mean()
    mask = mask.flatten().to(losses.dtype)
    return (losses * mask).sum() / mask.sum().clamp(min=1)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[tuple], device: torch.device | None = None) -> float:
    """Mean loss in nats per predicted token over ``batches`` of (x, y) or (x, y, mask) arrays."""
    device = device or next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0.0
    for batch in batches:
        x, y, *mask = [torch.as_tensor(np.asarray(a), device=device) for a in batch]
        weight = float(mask[0].sum()) if mask else float(y.numel())
        total += float(sequence_loss(model, x, y, mask[0] if mask else None)) * weight
        count += weight
    model.train()
    return total / max(count, 1.0)


@torch.no_grad()
def evaluate_streams(model: nn.Module, batches: Iterable[tuple], device: torch.device | None = None) -> float:
    """Mean loss in nats per character over consecutive chunks of parallel text streams
    (``rnncourse.data.sequential_batches``), the state carried from each chunk to the next.

    Every character is then predicted from all the text before it in its stream, as a model
    reading the text would; ``evaluate`` on the same chunks starts each one from a zero state,
    which costs the first characters of every chunk their context.
    """
    device = device or next(model.parameters()).device
    model.eval()
    total, count, state = 0.0, 0, None
    for x, y in batches:
        x, y = (torch.as_tensor(np.asarray(a), device=device) for a in (x, y))
        scores, state = model(x, state)
        total += float(nn.functional.cross_entropy(scores.flatten(0, 1), y.flatten(), reduction="sum"))
        count += y.numel()
    model.train()
    return total / max(count, 1)


def train_for(model: nn.Module, batches: Iterator[tuple], *, seconds: float | None = None,
              steps: int | None = None, lr: float = 3e-3, clip: float = 1.0,
              evaluate_fn: Callable[[nn.Module], float] | None = None, evals: int = 8,
              seed: int = 0, anneal: bool = False, carry_state: bool = False) -> dict:
    """Train ``model`` with Adam on ``batches`` until a wall-time or step budget runs out.

    Args:
        model: a module whose ``forward(x)`` returns ``(scores, state)``.
        batches: yields (x, y) or (x, y, mask) arrays of shape (N, T).
        seconds: the wall-time budget of training (evaluations not counted), or None.
        steps: the step budget, or None; at least one of the two must be given.
        lr: Adam's learning rate. clip: the largest global gradient norm.
        evaluate_fn: model -> validation loss in nats, called ``evals`` times, evenly over the
            budget, and once at the end.
        seed: seeds PyTorch's generator (dropout-free models: only the order of float sums).
        anneal: lower the learning rate from ``lr`` to ``lr / 20`` along a half cosine over the
            budget (time or steps, whichever runs out first): large steps early, small steps to
            settle at the end.
        carry_state: truncated backpropagation through time: each batch starts from the
            state the last one ended in (detached, so gradients stop at the batch's start), for
            batches that continue the last one's rows (``rnncourse.data.stream_batches``).

    Returns:
        A dict: ``steps`` (int), ``seconds`` (training time), ``step_time`` (seconds per step),
        ``history``: a list of (training seconds so far, steps so far, validation nats),
        ``last_lr``: the learning rate of the last step.
    """
    if seconds is None and steps is None:
        raise ValueError("give a budget: seconds, steps or both")
    torch.manual_seed(seed)
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history, done, trained, state = [], 0, 0.0, None
    fraction = lambda: max(trained / seconds if seconds else 0.0, done / steps if steps else 0.0)
    next_eval = 1.0 / evals
    model.train()
    while fraction() < 1.0:
        x, y, *mask = [torch.as_tensor(np.asarray(a), device=device) for a in next(batches)]
        if anneal:
            for group in optimizer.param_groups:
                group["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(fraction(), 1.0))))
        started = time.perf_counter()
        scores, last = model(x, state)
        loss = _mean_loss(scores, y, mask[0] if mask else None)
        if carry_state:  # the next batch starts here; its gradients stop here
            state = tuple(s.detach() for s in last) if isinstance(last, tuple) else last.detach()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        trained += time.perf_counter() - started
        done += 1
        if evaluate_fn and (fraction() >= next_eval or fraction() >= 1.0):
            history.append((trained, done, evaluate_fn(model)))
            next_eval += 1.0 / evals
    return {"steps": done, "seconds": trained, "step_time": trained / max(done, 1),
            "history": history, "last_lr": optimizer.param_groups[0]["lr"]}


def pad_batch(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack id sequences of different lengths into one padded batch and its mask.

    Args:
        sequences: N 1-D integer arrays.
        pad_id: the id written after the end of each shorter sequence.

    Returns:
        ids: int64, shape (N, T) with T the longest length; mask: bool, shape (N, T), true
        where ids holds a real token and false on padding.
    """
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for n, s in enumerate(sequences):
        ids[n, :len(s)] = s
        mask[n, :len(s)] = True
    return ids, mask
