"""Train the pre-trained character RNN of notebook 01 on tiny Shakespeare and store its weights.

Notebook 01 has students write a vanilla RNN forward pass in NumPy and generate text with it;
backpropagation only comes in notebook 02, so the course ships these weights. The model is

    e_t = W_embed[x_t]                                  # (N, E)
    h_t = tanh(e_t @ Wx + h_{t-1} @ Wh + b), h_0 = 0    # (N, H)
    s_t = h_t @ W_out + b_out                           # (N, V) scores of the next character

trained with softmax cross-entropy, Adam and gradient-norm clipping on random windows of the
first 90% of the text (every window starts from h_0 = 0, as the students' sampling does); the last
10% is held out. PyTorch's fused ``nn.RNN`` does the work and its weights are converted to the
layout above at the end: ``Wx = weight_ih_l0.T``, ``Wh = weight_hh_l0.T``,
``b = bias_ih_l0 + bias_hh_l0``.

Rerun (about 5 minutes on 2 idle CPU cores; same seed and step count, same weights)::

    python -m autograder.tools.pretrain [--steps 12000] [--seed 0] [--out PATH]
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import rnncourse
from rnncourse.data import Vocab, load_text, random_batches

OUT = Path(rnncourse.__file__).parent / "weights" / "char_rnn_shakespeare.npz"
E, H = 64, 256  # H = 384 costs 1.5x as much per step on 2 cores; 256 already reaches ~1.58
N, T = 64, 64  # windows per batch, characters per window: ~25 ms per step on 2 idle cores
EVAL_T = 100  # validation windows: non-overlapping, each from h_0 = 0 (as tests/test_pretrained.py)
LR = 3e-3  # Adam's peak rate, decayed along a cosine to LR / 20 by the last step
CLIP = 5.0  # gradient-norm clipping: vanilla RNN gradients occasionally explode
VAL_FRACTION = 0.1
LOG_EVERY = 1000


class CharRNN(nn.Module):
    """Embedding -> tanh RNN -> affine scores; one layer, batch-first."""

    def __init__(self, V: int):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.rnn = nn.RNN(E, H, nonlinearity="tanh", batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        """Scores (N, T, V) of the next character for ids x (N, T), and the last state (1, N, H)."""
        h, state = self.rnn(self.embed(x), state)  # (N, T, H)
        return self.out(h), state


def evaluate(model: CharRNN, ids: np.ndarray) -> float:
    """Mean cross-entropy (nats per character) over non-overlapping EVAL_T windows of ``ids``."""
    n = (len(ids) - 1) // EVAL_T
    x = torch.from_numpy(ids[: n * EVAL_T].reshape(n, EVAL_T))
    y = torch.from_numpy(ids[1 : n * EVAL_T + 1].reshape(n, EVAL_T))
    with torch.no_grad():
        scores, _ = model(x)
        return nn.functional.cross_entropy(scores.flatten(0, 1), y.flatten()).item()


def to_course_layout(model: CharRNN) -> dict[str, np.ndarray]:
    """The six arrays of the notebook's equations, float32, from the PyTorch parameters."""
    rnn = model.rnn
    params = {
        "W_embed": model.embed.weight,  # (V, E)
        "Wx": rnn.weight_ih_l0.T,  # (E, H)
        "Wh": rnn.weight_hh_l0.T,  # (H, H)
        "b": rnn.bias_ih_l0 + rnn.bias_hh_l0,  # (H,)
        "W_out": model.out.weight.T,  # (H, V)
        "b_out": model.out.bias,  # (V,)
    }
    return {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}


def train(steps: int, seed: int) -> tuple[dict[str, np.ndarray], Vocab, float]:
    """Train for ``steps`` Adam steps; returns (weights, vocab, validation loss in nats/char).

    ``seed`` seeds both PyTorch's initialisation and the NumPy generator of the window positions.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(2)  # float sums depend on the thread split: fix it for reproducibility
    torch.use_deterministic_algorithms(True)
    text = load_text("tinyshakespeare")
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * (1 - VAL_FRACTION))
    train_ids, val_ids = ids[:split], ids[split:]

    model = CharRNN(len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * k / steps))
    )
    batches = random_batches(train_ids, N, T, seed=seed, n_batches=steps)
    start, running = time.time(), []
    for step, (x, y) in enumerate(batches, start=1):
        scores, _ = model(torch.from_numpy(x))
        loss = nn.functional.cross_entropy(scores.flatten(0, 1), torch.from_numpy(y).flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        schedule.step()
        running.append(loss.item())
        if step % LOG_EVERY == 0 or step == steps:
            print(f"step {step:6d}/{steps}  train {np.mean(running):.3f}  "
                  f"val {evaluate(model, val_ids):.3f}  ({time.time() - start:.0f} s)", flush=True)
            running = []
    val_loss = evaluate(model, val_ids)
    print(f"final validation loss {val_loss:.4f} nats/char; wall time {time.time() - start:.0f} s")
    return to_course_layout(model), vocab, val_loss


def main(argv: list[str] | None = None) -> Path:
    """Parse the command line, train, and write the weights file; returns its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    weights, vocab, val_loss = train(args.steps, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, **weights, vocab=np.array(vocab.chars), val_loss=np.array(val_loss),
        steps=np.array(args.steps), seed=np.array(args.seed),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return args.out


if __name__ == "__main__":
    main()
