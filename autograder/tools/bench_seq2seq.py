"""Benchmark of notebook 06's model: exact-match accuracy on held-out dates after a fixed amount
of CPU training, with the training code the notebook uses (``rnncourse.seq2seq_train``).

    .venv/bin/python -m autograder.tools.bench_seq2seq [--seconds 120] [--threads 2] [--seed 0]

The target: at least 99.5% exact match on the test split, every prediction a valid date, within
2 minutes of training on 2 threads. It prints the numbers and exits with status 1 if the target
is missed; a loaded machine does fewer steps in the same wall time, so the step count is printed
too.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from rnncourse.dates import date_pairs
from rnncourse.seq2seq_train import evaluate, new_model, train

TARGET_ACCURACY = 0.995


def run(seconds: float, n_threads: int, seed: int, steps: int, log=print) -> dict:
    """Train the attention model for at most ``seconds`` (and ``steps``) and evaluate it."""
    pairs = date_pairs(20000, 500, 2000, seed=seed)
    model = new_model(attention=True, seed=seed)
    history = train(model, pairs["train"], steps, batch_size=128, seed=seed, n_threads=n_threads,
                    seconds=seconds, log=log)
    start = time.perf_counter()
    valid = evaluate(model, pairs["valid"], n_threads=n_threads)
    test = evaluate(model, pairs["test"], n_threads=n_threads)
    wrong = [(s, p, t) for (s, t), p, ok in zip(pairs["test"], test["predictions"], test["correct"]) if not ok]
    return {"steps": history["steps"], "seconds": history["seconds"], "cpu_seconds": history["cpu_seconds"],
            "final_loss": history["loss"][-1], "valid_accuracy": valid["accuracy"],
            "test_accuracy": test["accuracy"], "test_valid_dates": test["valid"],
            "test_size": len(pairs["test"]), "eval_seconds": time.perf_counter() - start, "wrong": wrong[:10]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="training wall-time budget")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads for training "
                        "and evaluation (1 is faster on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1500, help="at most this many steps (the "
                        "learning rate decays over them)")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {args.threads} threads, device "
          f"{'cuda' if torch.cuda.is_available() else 'cpu'}; training for at most {args.seconds:g} s")
    result = run(args.seconds, args.threads, args.seed, args.steps)
    print(f"trained {result['steps']} steps in {result['seconds']:.1f} s wall "
          f"({result['cpu_seconds']:.1f} s of CPU time), last batch loss {result['final_loss']:.4f}")
    print(f"validation exact match {result['valid_accuracy']:.2%}")
    print(f"test exact match {result['test_accuracy']:.2%} of {result['test_size']} dates, "
          f"valid dates {result['test_valid_dates']:.2%} (evaluation {result['eval_seconds']:.1f} s)")
    for source, predicted, target in result["wrong"]:
        print(f"  wrong: {source!r} -> {predicted!r}, expected {target!r}")
    met = result["test_accuracy"] >= TARGET_ACCURACY and result["test_valid_dates"] == 1.0
    print(f"target (>= {TARGET_ACCURACY:.1%}, every prediction a valid date): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
