"""The char-LM benchmark of notebook 04: nn.RNN, nn.LSTM and nn.GRU at one parameter budget.

    .venv/bin/python -m autograder.tools.bench_charlm [--minutes 3] [--threads 2] [--budget 400000] [--kinds lstm gru]

Each model (``rnncourse.torch_lm.CharModel``, the notebook's) trains for the same wall time on
tiny Shakespeare's first 90% with the notebook's training loop (``rnncourse.torch_lm.train_for``,
Adam with the learning rate decayed along a half cosine over the time budget), on consecutive
chunks of 32 parallel streams of the text with the state carried from batch to batch
(truncated backpropagation through time over 50 characters; ``--random-windows`` trains on
random windows from a zero state instead, as the notebook's short run does), and is then scored
on the WHOLE held-out last 10%, read as 50 parallel streams whose state is carried from chunk to
chunk (``evaluate_streams``: every character predicted from all the text before it in its
stream). It prints, per model: H, parameters, steps, time per step, and the validation loss in
nats per character, bits per character and perplexity, and the same loss with every chunk of 100
characters read from a zero state (``evaluate``, as the notebook's short run measures it). The
course's target: the best model at most 1.50 nats per character within 3 minutes on 2 CPU threads.
"""
from __future__ import annotations

import argparse
import time

import torch

from rnncourse.data import random_batches, sequential_batches, stream_batches
from rnncourse.torch_lm import (
    CharModel,
    bits,
    count_parameters,
    evaluate,
    evaluate_streams,
    hidden_for_budget,
    perplexity,
    pick_device,
    shakespeare_split,
    train_for,
)

TARGET = 1.50  # nats per character on the held-out split


def run(minutes: float, threads: int, budget: int, E: int = 48, N: int = 32, T: int = 50,
        lr: float = 6e-3, anneal: bool = True, carry_state: bool = True, kinds=("rnn", "lstm", "gru"),
        log=print) -> dict[str, dict]:
    """Train and score each kind; returns kind -> measured figures."""
    torch.set_num_threads(threads)
    device = pick_device()
    vocab, train_ids, val_ids = shakespeare_split()
    probe = list(random_batches(val_ids, 64, T, seed=1, n_batches=4))  # for the curve during training
    everything = list(sequential_batches(val_ids, 50, 100))  # the whole held-out split, 50 streams
    log(f"tiny Shakespeare: {len(train_ids)} training and {len(val_ids)} held-out characters, "
        f"V = {len(vocab)}; {minutes:g} min per model on {threads} thread(s), {device}; budget {budget} parameters")
    results = {}
    for kind in kinds:
        torch.manual_seed(0)
        model = CharModel(kind, len(vocab), E, hidden_for_budget(kind, len(vocab), E, budget)).to(device)
        started = time.perf_counter()
        batches = stream_batches(train_ids, N, T, seed=0) if carry_state else random_batches(train_ids, N, T, seed=0)
        fit = train_for(model, batches, seconds=60 * minutes, lr=lr, anneal=anneal, carry_state=carry_state,
                        evaluate_fn=lambda m: evaluate(m, probe), evals=6)
        nats = evaluate_streams(model, everything)
        cold = evaluate(model, everything)
        results[kind] = {"H": model.rnn.hidden_size, "parameters": count_parameters(model), "steps": fit["steps"],
                         "ms_per_step": 1000 * fit["step_time"], "nats": nats, "bits": bits(nats),
                         "perplexity": perplexity(nats), "cold_start_nats": cold,
                         "wall_s": time.perf_counter() - started,
                         "curve": [(round(t), round(v, 3)) for t, _, v in fit["history"]]}
        r = results[kind]
        log(f"{kind:5s} H={r['H']:4d} params={r['parameters']:7d} steps={r['steps']:6d} "
            f"{r['ms_per_step']:6.1f} ms/step  val {nats:.3f} nats/char = {r['bits']:.3f} bits/char, "
            f"perplexity {r['perplexity']:.2f}; {cold:.3f} nats/char from a zero state per chunk  (curve, s -> nats on 4 probe batches: {r['curve']})")
    best = min(results, key=lambda k: results[k]["nats"])
    verdict = "reached" if results[best]["nats"] <= TARGET else "NOT reached"
    log(f"best: {best} at {results[best]['nats']:.3f} nats/char; target <= {TARGET} {verdict}")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.bench_charlm", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training wall time per model (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads (default 2)")
    parser.add_argument("--budget", type=int, default=400_000, help="parameters per model (default 400000)")
    parser.add_argument("--batch", type=int, default=32, help="sequences per step (default 32)")
    parser.add_argument("--seq-len", type=int, default=50, help="characters per sequence (default 50)")
    parser.add_argument("--lr", type=float, default=6e-3, help="Adam's first learning rate (default 6e-3)")
    parser.add_argument("--kinds", nargs="+", choices=("rnn", "lstm", "gru"), default=["rnn", "lstm", "gru"],
                        help="the models to train (default: all three)")
    parser.add_argument("--random-windows", action="store_true",
                        help="train on random windows, each from a zero state (default: consecutive chunks of "
                             "parallel streams, the state carried between batches)")
    parser.add_argument("--constant-lr", action="store_true", help="keep the learning rate constant (no cosine decay)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.threads < 1 or args.budget < 1000 or args.lr <= 0 or args.batch < 1 or args.seq_len < 2:
        parser.error("--minutes and --lr must be positive, --threads and --batch at least 1, --seq-len at least 2, "
                     "--budget at least 1000")
    run(args.minutes, args.threads, args.budget, N=args.batch, T=args.seq_len, lr=args.lr, anneal=not args.constant_lr,
        carry_state=not args.random_windows, kinds=args.kinds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
