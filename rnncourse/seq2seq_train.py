"""Training and decoding the dates model of ``seq2seq.py``: one copy, used by notebook 06 and by
``python -m autograder.tools.bench_seq2seq``.

- :func:`train`: teacher forcing with a masked cross-entropy, Adam, gradient clipping, a step
  or time budget and an explicit thread count (so BLAS threads do not fight over the cores).
- :func:`greedy_decode`, :func:`evaluate`: batched greedy decoding; exact-match accuracy and
  the share of predictions that are real dates.
- :func:`beam_step`: a one-source ``step(tokens, state) -> (log_probs, new_state)`` for a beam
  search written in NumPy.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from .dates import BOS, SOURCE_VOCAB, TARGET_VOCAB, batches, is_valid_date, make_batch
from .seq2seq import DEVICE, Seq2Seq

__all__ = ["threads", "tensors", "masked_loss", "train", "greedy_decode", "evaluate", "beam_step"]

TARGET_STEPS = 11  # an ISO date has 10 characters, then the end token


@contextmanager
def threads(n: int):
    """Run the block with ``n`` PyTorch threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tensors(batch) -> dict[str, torch.Tensor]:
    """The arrays of a :class:`rnncourse.dates.Batch` as tensors on :data:`DEVICE`."""
    return {name: torch.as_tensor(getattr(batch, name), device=DEVICE)
            for name in ("source", "source_lengths", "source_mask", "target_in", "target_out",
                         "target_mask")}


def masked_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the positions where ``mask`` (N, T) is True; logits (N, T, V)."""
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
    return (losses * mask).sum() / mask.sum().clamp(min=1)


def train(model: Seq2Seq, pairs: Sequence[tuple[str, str]], steps: int, batch_size: int = 128,
          lr: float = 3e-3, seed: int = 0, reverse_source: bool = False, n_threads: int = 1,
          seconds: float | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Train ``model`` with teacher forcing for ``steps`` steps (or until ``seconds`` have passed).

    The learning rate decays linearly to a tenth of ``lr`` over the ``steps``. One thread by
    default: the model's operations are small, and on a busy 2-core machine a second thread
    mostly waits for the first (measured here: 0.1 s per step with one thread, several seconds
    with two while other processes held the cores).

    Returns:
        ``{"loss": [...] one per step, "steps": steps done, "seconds": wall time,
        "cpu_seconds": process CPU time}``.
    """
    model.to(DEVICE).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 1 - 0.9 * min(k / max(steps, 1), 1))
    data = batches(pairs, batch_size, seed=seed, reverse_source=reverse_source)
    losses, start, cpu = [], time.perf_counter(), time.process_time()
    with threads(n_threads):
        for k in range(steps):
            if seconds is not None and time.perf_counter() - start > seconds:
                break
            b = tensors(next(data))
            logits, _ = model(b["source"], b["source_lengths"], b["target_in"])
            loss = masked_loss(logits, b["target_out"], b["target_mask"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if log and (k + 1) % 200 == 0:
                log(f"step {k + 1}: loss {np.mean(losses[-200:]):.4f}")
    model.eval()
    return {"loss": losses, "steps": len(losses), "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu}


@torch.no_grad()
def greedy_decode(model: Seq2Seq, sources: Sequence[str], reverse_source: bool = False,
                  batch_size: int = 500, n_threads: int = 1) -> tuple[list[str], list[np.ndarray]]:
    """The most likely character at every step, for each source (on ``n_threads`` threads).

    Returns:
        the predicted strings, and for each source its attention weights (T_out, S) as a float
        array (an empty array without attention); T_out counts the steps up to the end token.
    """
    model.eval()
    texts, maps = [], []
    with threads(n_threads):
        for start in range(0, len(sources), batch_size):
            _decode_chunk(model, list(sources[start:start + batch_size]), reverse_source, texts, maps)
    return texts, maps


@torch.no_grad()
def _decode_chunk(model: Seq2Seq, chunk: list[str], reverse_source: bool, texts: list, maps: list) -> None:
    """Greedy decoding of one batch of sources, appended to ``texts`` and ``maps``."""
    b = tensors(make_batch([(s, "2000-01-01") for s in chunk], reverse_source))
    memory = model.encode(b["source"], b["source_lengths"])
    tokens = torch.full((len(chunk),), BOS, dtype=torch.long, device=DEVICE)
    state, out, weights = memory["state"], [], []
    for _ in range(TARGET_STEPS):
        logits, state, w = model.step(tokens, state, memory)
        tokens = logits.argmax(dim=1)
        out.append(tokens)
        weights.append(w)
    ids = torch.stack(out, 1).cpu().numpy()  # (N, TARGET_STEPS)
    w = torch.stack(weights, 1).cpu().numpy() if model.uses_attention else None
    for n, row in enumerate(ids):
        text = TARGET_VOCAB.decode(row)
        texts.append(text)
        length = min(len(text) + 1, TARGET_STEPS)  # the steps up to and including the end token
        maps.append(w[n, :length, :len(chunk[n])] if w is not None else np.zeros((0, 0)))


def evaluate(model: Seq2Seq, pairs: Sequence[tuple[str, str]], reverse_source: bool = False,
             n_threads: int = 1) -> dict:
    """Greedy decoding of every pair: exact-match accuracy and the share of valid dates.

    Returns:
        ``{"accuracy": ..., "valid": ..., "predictions": [...], "correct": bool array (n,)}``.
    """
    predictions, _ = greedy_decode(model, [s for s, _ in pairs], reverse_source, n_threads=n_threads)
    correct = np.array([p == t for p, (_, t) in zip(predictions, pairs)])
    return {"accuracy": float(correct.mean()), "valid": float(np.mean([is_valid_date(p) for p in predictions])),
            "predictions": predictions, "correct": correct}


def beam_step(model: Seq2Seq, source: str, reverse_source: bool = False
              ) -> tuple[Callable, np.ndarray]:
    """A decoder step for a beam search over the translations of one ``source``.

    Returns:
        ``step(tokens, state) -> (log_probs, new_state)``, with tokens an integer array (B,),
        state a float array (B, Hd) whose row b is hypothesis b's decoder state, and
        log_probs (B, V) float64; and the first state, shape (1, Hd).
    """
    model.eval()
    b = tensors(make_batch([(source, "2000-01-01")], reverse_source))
    with torch.no_grad():
        memory = model.encode(b["source"], b["source_lengths"])

    @torch.no_grad()
    def step(tokens, state):
        B = len(tokens)
        shared = {k: (v.expand(B, *v.shape[1:]) if v is not None else None) for k, v in memory.items()}
        logits, new_state, _ = model.step(torch.as_tensor(np.asarray(tokens), dtype=torch.long, device=DEVICE),
                                          torch.as_tensor(np.asarray(state), dtype=torch.float32, device=DEVICE),
                                          shared)
        return (torch.log_softmax(logits, dim=1).double().cpu().numpy(), new_state.cpu().numpy())

    return step, memory["state"].cpu().numpy()


def new_model(attention: bool = True, seed: int = 0) -> Seq2Seq:
    """A :class:`Seq2Seq` sized for the dates task, on :data:`DEVICE`."""
    return Seq2Seq(len(SOURCE_VOCAB), len(TARGET_VOCAB), attention=attention, seed=seed).to(DEVICE)
