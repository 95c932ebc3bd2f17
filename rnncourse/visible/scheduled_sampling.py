"""Visible checks of notebook 05: decay schedules, mixing inputs, scheduled-sampling losses.

Coins and samples may be drawn from ``rng`` in any order and by any recipe, so a check never
compares them with one recipe's draws. It tests what every correct answer does: the share of
true tokens is eps within a bound that a correct function misses with probability below 1e-7
(Hoeffding's inequality), the coins are independent per token (or constant per sequence),
the same rng state gives the same result, and the loss and the gradients are those of the
tokens the function says it fed. The property tests below are shared with the hidden checks,
so both name the same mistakes.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from rnncourse.compare import CheckFailure, expect, expect_array
from rnncourse.decoder import PARAMETER_NAMES, GRUDecoder, one_thread, teacher_forced_loss
from rnncourse.visible import load_fixture, passed

ASSIGNMENT = "05_scheduled_sampling"
FAIL_PROBABILITY = 1e-7  # a correct function fails a statistical test with at most this

OFF_BY_ONE = "the schedule is one step off: the first update is i = 0 and gets eps_0"
FLOOR = "the floor is ignored: the linear schedule never goes below eps_min"
BATCH_COIN = ("one coin is shared by the whole batch (or a whole column): every position "
              "of every sequence needs a coin of its own")
SEQUENCE_COIN = ("one coin per sequence (row) for all its positions: every position needs a "
                 "coin of its own")
TOKEN_COIN = ("the coin changes within a sequence: draw ONE coin per sequence and use it at "
              "every step")
FREQUENCY = ("the truth is taken with a probability far from eps: is the comparison of "
             "the coin with eps the right way round?")
SAME_RNG = ("two calls with the same rng state gave different results: draw every coin "
            "and every sample from rng, nothing from np.random or torch's global generator")
TRUTH_TOKEN = ("a position marked as truth was not fed the true token: before step t the "
               "truth is x[:, t]")
START_TOKEN = "step 0 reads the start token x[:, 0], with no coin: used_truth[:, 0] is True"
ARGMAX = ("a position marked as the model's was not fed the argmax of the previous step's "
          "scores (greedy=True)")
SAMPLE = ("with greedy=False the fed tokens do not follow softmax of the previous step's "
          "scores: sample from it (greedy=True is the argmax)")
PADDING = "the loss counts padding: average over the real tokens (mask) only"
LOSS = ("the loss is not the mean cross-entropy over the real tokens of the sequence you "
        "fed; check the targets (y), the mask and the division")
GRAD_THROUGH_TOKEN = ("the gradients differ from those of the tokens you fed: gradient "
                      "flows through the fed token; feed the previous output as a token id "
                      "chosen without gradient")


# ------------------------------------------------------------------- property tests (shared)
def hoeffding_bound(n: int, categories: int = 1) -> float:
    """t with P(|share - p| >= t) <= FAIL_PROBABILITY for n draws, for each of ``categories``."""
    return math.sqrt(math.log(2 * categories / FAIL_PROBABILITY) / (2 * n))


def coin_problem(took, eps: float, per: str = "token") -> str | None:
    """What is wrong with the coins ``took`` (bool (N, K): sequences x positions with a coin).

    ``per`` is "token" (one independent coin per position) or "sequence" (one per row).
    Each test runs only where a correct answer fails it with probability below 1e-7.
    """
    took = np.asarray(took, dtype=bool)
    N, K = took.shape
    if took.size == 0:
        return None
    if eps in (0.0, 1.0):
        return None if took.all() == bool(eps) and took.any() == bool(eps) else FREQUENCY

    def constant(n):  # the chance that n independent coins all come out the same
        return eps ** n + (1 - eps) ** n

    rows_constant = (took == took[:, :1]).all(axis=1)  # (N,)
    if per == "sequence":
        if K > 1 and not rows_constant.all():
            return TOKEN_COIN
        if constant(N) < FAIL_PROBABILITY and (took[:, 0] == took[0, 0]).all():
            return BATCH_COIN
        units = took[:, 0]
    else:
        if constant(took.size) < FAIL_PROBABILITY and (took == took.flat[0]).all():
            return BATCH_COIN
        if constant(N) < FAIL_PROBABILITY / K and (took == took[:1]).all(axis=0).mean() > 0.5:
            return BATCH_COIN  # most columns constant: one coin per step for the whole batch
        if N >= 50 and constant(K) <= 0.05 and rows_constant.mean() > 0.5:  # P <= (4 p)**(N/2)
            return SEQUENCE_COIN
        units = took.ravel()
    if abs(units.mean() - eps) > hoeffding_bound(units.size):
        return FREQUENCY
    return None


def sample_problem(tokens, probs) -> str | None:
    """Do ``tokens`` (n,) look drawn from ``probs`` (V,)? Hoeffding per token, union over V."""
    tokens, probs = np.asarray(tokens), np.asarray(probs, dtype=np.float64)
    share = np.bincount(tokens.astype(np.int64).ravel(), minlength=probs.size)[:probs.size] / tokens.size
    if np.abs(share - probs).max() > hoeffding_bound(tokens.size, probs.size):
        return SAMPLE
    return None


def _grads(model) -> dict[str, np.ndarray]:
    return {name: (np.zeros(tuple(p.shape)) if p.grad is None else p.grad.detach().double().numpy())
            for name, p in ((n, model.get_parameter(n)) for n in PARAMETER_NAMES)}


def _close(got, want, rtol=1e-5, atol=1e-7) -> bool:
    got = np.asarray(got, dtype=np.float64)
    return got.shape == np.shape(want) and bool(np.allclose(got, want, rtol=rtol, atol=atol))


def decode_problem(model, x, y, mask, eps, greedy, loss, inputs, used_truth, grads=None) -> str | None:
    """Is (loss, inputs, used_truth[, grads]) right for the coins the function reports?

    Given the tokens a function says it fed, the right loss and gradients are those of one
    teacher-forced forward over THOSE tokens (no gradient flows through a chosen token), and
    every fed token is fixed by its coin: the truth, or the model's previous argmax (greedy).

    Args:
        model: the GRUDecoder the function was called with (its parameters unchanged).
        x, y, mask: the tensors it was called with, (N, T).
        eps, greedy: its other arguments.
        loss, inputs, used_truth: what it returned, as arrays or tensors.
        grads: the parameter gradients of its loss by name, or None to skip that test.
    """
    x, y, mask = (torch.as_tensor(np.asarray(a)) for a in (x, y, mask))
    N, T = x.shape
    inputs = np.asarray(inputs.detach().cpu() if isinstance(inputs, torch.Tensor) else inputs)
    used = np.asarray(used_truth.detach().cpu() if isinstance(used_truth, torch.Tensor) else used_truth)
    if inputs.shape != (N, T) or inputs.dtype.kind not in "iu":
        return f"inputs should be integer token ids of shape (N, T) = {(N, T)}, got {inputs.dtype} {inputs.shape}"
    if used.shape != (N, T) or used.dtype != np.bool_:
        return f"used_truth should be bool of shape (N, T) = {(N, T)}, got {used.dtype} {used.shape}"
    truth, real = x.numpy(), mask.numpy().astype(bool)  # a padded step may be fed anything
    if not used[:, 0].all() or not (inputs[:, 0] == truth[:, 0]).all():
        return START_TOKEN
    if not (inputs[used & real] == truth[used & real]).all():
        return TRUTH_TOKEN
    fed = torch.as_tensor(inputs.astype(np.int64))
    model.zero_grad(set_to_none=True)
    logits, _ = model(fed)  # (N, T, V): causal, so column t - 1 saw exactly inputs[:, :t]
    if greedy and T > 1:
        own = ~used[:, 1:] & real[:, 1:]
        if not (inputs[:, 1:][own] == logits[:, :-1].argmax(dim=-1).numpy()[own]).all():
            return ARGMAX
    want = teacher_forced_loss(model, fed, y, mask)
    dtype_tol = (2e-4, 2e-5) if np.asarray(loss).dtype == np.float32 else (1e-6, 1e-9)
    if not _close(loss, float(want.detach()), *dtype_tol):
        padded = teacher_forced_loss(model, fed, y, torch.ones_like(mask)).detach()
        return PADDING if _close(loss, float(padded), *dtype_tol) else LOSS
    if grads is not None:
        want.backward()
        for name, value in _grads(model).items():
            if not _close(grads.get(name), value, *dtype_tol):
                return GRAD_THROUGH_TOKEN
    return None


def same_rng_problem(first, second) -> str | None:
    """SAME_RNG unless two results (tuples of arrays/tensors/numbers) are identical."""
    for a, b in zip(first, second):
        a, b = (np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v) for v in (a, b))
        if a.shape != b.shape or not np.array_equal(a, b):
            return SAME_RNG
    return None


# ------------------------------------------------------------------------- fixed inputs
SCHEDULE_POINTS = {
    "linear_schedule": [(0, 1.0, 0.01, 0.2), (1, 1.0, 0.01, 0.2), (30, 0.9, 0.02, 0.1),
                        (100, 1.0, 0.01, 0.2), (2000, 1.0, 0.001, 0.05), (40, 0.7, 0.0, 0.2),
                        (300, 1.0, 0.005, 0.0)],
    "exponential_schedule": [(0, 0.99), (1, 0.99), (50, 0.95), (500, 0.999)],
    "inverse_sigmoid_schedule": [(0, 10.0), (0, 1.0), (1, 10.0), (40, 10.0), (500, 100.0), (100000, 10.0)],
}


def visible_model(dtype=torch.float64) -> GRUDecoder:
    """The small decoder of the visible checks: V = 6, E = 4, H = 5, fixed weights."""
    return GRUDecoder(6, 4, 5, seed=5, dtype=dtype)


def visible_batch():
    """(x, y, mask), int64/bool tensors (3, 5): lengths 5, 3 and 0 (a row of pure padding)."""
    y = torch.tensor([[1, 2, 3, 4, 5], [2, 4, 1, 0, 0], [0, 0, 0, 0, 0]])
    x = torch.cat([torch.zeros(3, 1, dtype=torch.int64), y[:, :-1]], dim=1)
    mask = torch.arange(5)[None, :] < torch.tensor([[5], [3], [0]])
    return x, y, mask


def visible_long_batch(N: int = 300, T: int = 10):
    """(x, y, mask) of random tokens, shape (N, T), no padding: for the coin tests.

    Without padding, because what a function feeds at a padded position changes nothing, so
    any choice there is right and must not count in the share of true tokens.
    """
    rng = np.random.default_rng(11)
    y = rng.integers(0, 6, size=(N, T))
    x = np.concatenate([np.zeros((N, 1), dtype=np.int64), y[:, :-1]], axis=1)
    mask = np.ones((N, T), dtype=bool)
    return torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(mask)


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    values = {name: np.array([getattr(impl, name)(*args) for args in points])
              for name, points in SCHEDULE_POINTS.items()}
    for name in ("scheduled_sampling_loss", "sequence_coin_loss"):
        x, y, mask = visible_batch()
        model = visible_model()
        loss, _, _ = getattr(impl, name)(model, x, y, mask, 0.0, np.random.default_rng(0), True)
        values[f"{name}/free_loss"] = loss.detach().numpy()
    return values


def _expected(key: str) -> np.ndarray:
    return load_fixture(ASSIGNMENT)[key]


# ---------------------------------------------------------------------- the checks
def _check_schedule(name, fn, hint) -> None:
    for args, want in zip(SCHEDULE_POINTS[name], _expected(name)):
        got = fn(*args)
        expect(np.ndim(got) == 0, f"{name} should return one number, got shape {np.shape(got)}")
        expect(np.isfinite(float(got)), f"{name}{args} is not a finite number")
        if not np.isclose(float(got), want, rtol=1e-6, atol=1e-12):
            shifted = [fn(*((args[0] + s,) + args[1:])) for s in (-1, 1) if args[0] + s >= 0]
            if args[0] > 0 and any(np.isclose(float(v), want, rtol=1e-9) for v in shifted):
                raise CheckFailure(f"{name}{args} is wrong. Likely mistake: {OFF_BY_ONE}")
            raise CheckFailure(f"{name}{args} is wrong. {hint}")
    passed(name)


def check_linear_schedule(linear_schedule) -> None:
    """Visible check of ``linear_schedule``: five steps, from the start to past the floor."""
    _check_schedule("linear_schedule", linear_schedule,
                    f"Look at the formula for steps before and after it reaches the floor ({FLOOR}?)")


def check_exponential_schedule(exponential_schedule) -> None:
    """Visible check of ``exponential_schedule``."""
    _check_schedule("exponential_schedule", exponential_schedule,
                    "Look at the exponential decay's formula: how eps changes from one step to the next")


def check_inverse_sigmoid_schedule(inverse_sigmoid_schedule) -> None:
    """Visible check of ``inverse_sigmoid_schedule``, including a step where exp(i/k) overflows."""
    with np.errstate(all="raise"):  # an overflow warning would reach the grader as an error
        try:
            _check_schedule("inverse_sigmoid_schedule", inverse_sigmoid_schedule,
                            "Look at the inverse sigmoid decay's formula term by term: its value at i = 0 and "
                            "the sign of the exponent")
        except (OverflowError, FloatingPointError) as err:
            raise CheckFailure(f"inverse_sigmoid_schedule(100000, 10) overflowed ({err}): "
                               "exp(i / k) is too large for a float there; the schedule is "
                               "about 0, so return 0.0 without an error or warning") from None


def _as_numpy(value, name):
    expect(isinstance(value, np.ndarray), f"{name} should be a NumPy array, got {type(value).__name__}")
    return value


def check_mix_inputs(mix_inputs) -> None:
    """Visible check of ``mix_inputs``: eps 0 and 1, N = 1, 2-D arrays, coins, same rng."""
    rng = np.random.default_rng(0)
    for shape in [(1,), (7,), (1, 1), (4, 1), (3, 4)]:
        truth = rng.integers(0, 9, size=shape)
        predicted = truth + 10  # never equal to the truth
        for eps in (0.0, 1.0):
            result = mix_inputs(truth.copy(), predicted.copy(), eps, np.random.default_rng(1))
            expect(isinstance(result, tuple) and len(result) == 2,
                   "mix_inputs should return a tuple (inputs, used_truth)")
            inputs, used = (_as_numpy(v, n) for v, n in zip(result, ("inputs", "used_truth")))
            expect(inputs.dtype == truth.dtype, f"inputs should have the dtype of truth "
                   f"({truth.dtype}), got {inputs.dtype}")
            expect(used.dtype == np.bool_, f"used_truth should be bool, got {used.dtype}")
            expect_array("inputs", inputs, truth if eps else predicted, hint=FREQUENCY)
            expect_array("used_truth", used, np.full(shape, bool(eps)),
                         hint="used_truth is True where inputs took the TRUTH")
    for shape, eps in [((4000,), 0.3), ((200, 20), 0.6)]:
        truth = rng.integers(0, 9, size=shape)
        predicted = truth + 10
        inputs, used = mix_inputs(truth.copy(), predicted.copy(), eps, np.random.default_rng(2))
        expect(np.array_equal(inputs, np.where(used, truth, predicted)),
               "inputs should hold the truth exactly where used_truth is True, else the prediction")
        problem = coin_problem(np.reshape(used, (-1, shape[-1]) if len(shape) > 1 else (1, -1)), eps)
        expect(problem is None, f"mix_inputs with eps = {eps}: {problem}")
        again = mix_inputs(truth.copy(), predicted.copy(), eps, np.random.default_rng(2))
        expect(same_rng_problem((inputs, used), again) is None, SAME_RNG)
    passed("mix_inputs")


def _call(fn, model, x, y, mask, eps, seed, greedy):
    result = fn(model, x.clone(), y.clone(), mask.clone(), eps, np.random.default_rng(seed), greedy)
    expect(isinstance(result, tuple) and len(result) == 3,
           f"{fn.__name__} should return a tuple (loss, inputs, used_truth)")
    expect(isinstance(result[0], torch.Tensor) and result[0].requires_grad,
           "the loss should be a tensor connected to the model's parameters")
    return result


def _check_decode(fn, name, per) -> None:
    model = visible_model()
    x, y, mask = visible_batch()
    # eps = 1 is teacher forcing: the same loss as one forward over x, float32 weights too
    for net, greedy, tol in [(model, True, 1e-12), (model, False, 1e-12),
                             (visible_model(torch.float32), True, 2e-5)]:
        loss, inputs, used = _call(fn, net, x, y, mask, 1.0, 0, greedy)
        want = float(teacher_forced_loss(net, x, y, mask).detach())
        expect(_close(loss.detach(), want, tol, tol),
               f"with eps = 1 (greedy={greedy}, {net.embed.weight.dtype} weights) the loss should "
               f"equal teacher_forced_loss(model, x, y, mask). "
               f"{decode_problem(net, x, y, mask, 1.0, greedy, loss.detach(), inputs, used) or LOSS}")
    # eps = 0 feeds only the model's own outputs; a row of padding and T = 1 included
    for xs, ys, ms in [(x, y, mask), (x[:1, :1], y[:1, :1], mask[:1, :1]),
                       (x[:, :1], y[:, :1], mask[:, :1]), (x[:1], y[:1], mask[:1]),
                       (x, y, torch.zeros_like(mask))]:
        loss, inputs, used = _call(fn, model, xs, ys, ms, 0.0, 0, True)
        model.zero_grad(set_to_none=True)
        loss.backward()
        grads = _grads(model)
        problem = decode_problem(model, xs, ys, ms, 0.0, True, loss.detach(), inputs, used, grads)
        expect(problem is None, f"{name} with eps = 0, shape {tuple(xs.shape)}"
               f"{', everything padding' if not ms.any() else ''}: {problem}")
        expect(coin_problem(np.asarray(used)[:, 1:], 0.0, per) is None, FREQUENCY)
    expect_array("loss (eps = 0)", _call(fn, model, x, y, mask, 0.0, 0, True)[0].detach(),
                 _expected(f"{name}/free_loss"))
    # 0 < eps < 1 on a large batch: coins, consistency, the same rng state, sampling
    big = visible_long_batch()
    for eps, greedy in [(0.4, True), (0.7, False)]:
        first = _call(fn, model, *big, eps, 3, greedy)
        expect(same_rng_problem(first, _call(fn, model, *big, eps, 3, greedy)) is None, SAME_RNG)
        loss, inputs, used = first
        model.zero_grad(set_to_none=True)
        loss.backward()
        grads = _grads(model)
        problem = (decode_problem(model, *big, eps, greedy, loss.detach(), inputs, used, grads)
                   or coin_problem(np.asarray(used)[:, 1:], eps, per))
        expect(problem is None, f"{name} with eps = {eps}, greedy = {greedy}: {problem}")
    xs, ys, ms = (t[:1, :2].repeat(3000, 1) for t in (x, y, mask))  # one prefix, 3000 times
    _, inputs, _ = _call(fn, model, xs, ys, ms, 0.0, 4, False)
    with torch.no_grad():
        probs = torch.softmax(model(xs[:1, :1])[0][0, 0], dim=-1).numpy()
    expect(sample_problem(np.asarray(inputs)[:, 1], probs) is None, SAMPLE)
    passed(name)


def check_scheduled_sampling_loss(scheduled_sampling_loss) -> None:
    """Visible check of ``scheduled_sampling_loss`` (one coin per token)."""
    with one_thread():
        _check_decode(scheduled_sampling_loss, "scheduled_sampling_loss", "token")


def check_sequence_coin_loss(sequence_coin_loss) -> None:
    """Visible check of ``sequence_coin_loss`` (one coin per sequence)."""
    with one_thread():
        _check_decode(sequence_coin_loss, "sequence_coin_loss", "sequence")
