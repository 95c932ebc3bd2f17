"""The char-LM benchmark of notebook 04: nn.RNN, nn.LSTM and nn.GRU at one parameter budget.

    .venv/bin/python -m autograder.tools.bench_charlm [--minutes 3] [--threads 2] [--budget 250000]

Each model (``rnncourse.torch_lm.CharModel``, the notebook's) trains for the same wall time on
tiny Shakespeare's first 90% with the notebook's training loop (``rnncourse.torch_lm.train_for``)
and is then scored on the WHOLE held-out last 10%, cut into windows of 100 characters, each read
from a zero state (so the first characters of each window are predicted with little context: a
slightly pessimistic figure). It prints, per model: H, parameters, steps, time per step, and the
validation loss in nats per character, bits per character and perplexity. The course's target:
the best model at most 1.50 nats per character within 3 minutes on 2 CPU threads.
"""
from __future__ import annotations

import argparse
import time

import torch

from rnncourse.data import random_batches, sequential_batches
from rnncourse.torch_lm import (
    CharModel,
    bits,
    count_parameters,
    evaluate,
    hidden_for_budget,
    perplexity,
    pick_device,
    shakespeare_split,
    train_for,
)

TARGET = 1.50  # nats per character on the held-out split


def run(minutes: float, threads: int, budget: int, E: int = 48, N: int = 32, T: int = 100,
        lr: float = 3e-3, kinds=("rnn", "lstm", "gru"), log=print) -> dict[str, dict]:
    """Train and score each kind; returns kind -> measured figures."""
    torch.set_num_threads(threads)
    device = pick_device()
    vocab, train_ids, val_ids = shakespeare_split()
    probe = list(random_batches(val_ids, 64, T, seed=1, n_batches=4))  # for the curve during training
    everything = list(sequential_batches(val_ids, 50, T))  # the whole held-out split
    log(f"tiny Shakespeare: {len(train_ids)} training and {len(val_ids)} held-out characters, "
        f"V = {len(vocab)}; {minutes:g} min per model on {threads} thread(s), {device}; budget {budget} parameters")
    results = {}
    for kind in kinds:
        torch.manual_seed(0)
        model = CharModel(kind, len(vocab), E, hidden_for_budget(kind, len(vocab), E, budget)).to(device)
        started = time.perf_counter()
        fit = train_for(model, random_batches(train_ids, N, T, seed=0), seconds=60 * minutes, lr=lr,
                        evaluate_fn=lambda m: evaluate(m, probe), evals=6)
        nats = evaluate(model, everything)
        results[kind] = {"H": model.rnn.hidden_size, "parameters": count_parameters(model), "steps": fit["steps"],
                         "ms_per_step": 1000 * fit["step_time"], "nats": nats, "bits": bits(nats),
                         "perplexity": perplexity(nats), "wall_s": time.perf_counter() - started,
                         "curve": [(round(t), round(v, 3)) for t, _, v in fit["history"]]}
        r = results[kind]
        log(f"{kind:5s} H={r['H']:4d} params={r['parameters']:7d} steps={r['steps']:6d} "
            f"{r['ms_per_step']:6.1f} ms/step  val {nats:.3f} nats/char = {r['bits']:.3f} bits/char, "
            f"perplexity {r['perplexity']:.2f}  (curve, s -> nats on 4 probe batches: {r['curve']})")
    best = min(results, key=lambda k: results[k]["nats"])
    verdict = "reached" if results[best]["nats"] <= TARGET else "NOT reached"
    log(f"best: {best} at {results[best]['nats']:.3f} nats/char; target <= {TARGET} {verdict}")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.bench_charlm", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training wall time per model (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads (default 2)")
    parser.add_argument("--budget", type=int, default=250_000, help="parameters per model (default 250000)")
    args = parser.parse_args(argv)
    run(args.minutes, args.threads, args.budget)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
