"""Hidden checks of notebook 05: decay schedules, mixing inputs, scheduled-sampling losses.

Randomness. ``mix_inputs`` and the two losses draw coins (and samples) from a
``numpy.random.Generator`` they are given; every correct recipe (``rng.random(S) < eps``,
``rng.binomial``, one draw per step or all at once, sample then coin or the other way round)
uses the stream differently, so only the cases where nothing random matters (eps = 0 or 1,
greedy outputs) are compared value by value with the reference, and diagnosed with the named
mistakes. The other cases test properties every correct answer has (the shared tests of
``rnncourse.visible.scheduled_sampling``): the share of true tokens is eps within Hoeffding's
bound for a failure probability of 1e-7; coins are independent per token (or constant per
sequence); the same rng state gives the same result; with greedy=False the fed tokens follow
the softmax; and the loss and gradients are those of the tokens the function says it fed. Such
a case returns fixed zeros when every property holds (so it passes like the reference) and
fails with the named mistake otherwise. A Generator crosses to the student's kernel as its
bit generator's state (``rnncourse._grading.wire``).

Models. A PyTorch module cannot cross to the kernel, so the grade cells of the losses name
``on_plain_data(fn)`` (``rnncourse.decoder``): the grader sends the parameters of a GRUDecoder
as arrays, the wrapper rebuilds the model next to the student's function, back-propagates the
loss it returns and sends back the loss, the fed tokens, the coins and every gradient. The
reference and the mistakes are wrapped the same way here.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np
import torch
from torch.nn import functional as F

from autograder.checks.declaration import Notebook, Sample
from autograder.checks.framework import Case, Exercise, Mistake, Output
from autograder.checks.samples import in_float32, replaced, solved
from rnncourse.compare import CheckFailure
from rnncourse.decoder import PARAMETER_NAMES, decoder_from_arrays, on_plain_data, one_thread
from rnncourse.visible import scheduled_sampling as props

ASSIGNMENT = "05_scheduled_sampling"
THREE_H = ("3H",)


def _shifted(name, shift):
    """The reference schedule ``name`` read one step late (+1) or early (-1)."""
    return lambda ref: lambda i, *rest: getattr(ref, name)(i + shift, *rest)


# ---------------------------------------------------------------- the three schedules
def _schedule_cases(points):
    def make(rng):
        return [Case(label, args) for label, args in points]
    return make


SCHEDULE_OUTPUT = (Output("eps", None, ""),)

LINEAR_SCHEDULE = Exercise(
    ASSIGNMENT, "linear_schedule", points=1, outputs=SCHEDULE_OUTPUT, returns="eps",
    make_cases=_schedule_cases([
        ("i = 0", (0, 1.0, 0.002, 0.1)), ("i = 1", (1, 0.95, 0.01, 0.0)),
        ("before the floor", (120, 1.0, 0.005, 0.3)), ("past the floor", (900, 1.0, 0.005, 0.3)),
        ("long past the floor", (10 ** 6, 0.8, 0.001, 0.05)), ("c = 0", (50, 0.7, 0.0, 0.2)),
        ("a floor of 0", (400, 1.0, 0.004, 0.0))]),
    mistakes=(
        Mistake(props.FLOOR, lambda ref: lambda i, k, c, eps_min: k - c * i),
        Mistake(props.OFF_BY_ONE, _shifted("linear_schedule", 1)),
        Mistake(props.OFF_BY_ONE, _shifted("linear_schedule", -1)),
        Mistake("min(eps_min, ...) is the smaller one: the floor is max(eps_min, k - c * i)",
                lambda ref: lambda i, k, c, eps_min: min(eps_min, k - c * i)),
    ),
)

EXPONENTIAL_SCHEDULE = Exercise(
    ASSIGNMENT, "exponential_schedule", points=1, outputs=SCHEDULE_OUTPUT, returns="eps",
    make_cases=_schedule_cases([
        ("i = 0", (0, 0.99)), ("i = 1", (1, 0.9)), ("i = 10", (10, 0.5)), ("i = 700", (700, 0.999)),
        ("very late", (20000, 0.99))]),
    mistakes=(
        Mistake(props.OFF_BY_ONE, _shifted("exponential_schedule", 1)),
        Mistake(props.OFF_BY_ONE, _shifted("exponential_schedule", -1)),
        Mistake("eps_i = k ** i, a power, not a product", lambda ref: lambda i, k: k * i),
    ),
)

INVERSE_SIGMOID_SCHEDULE = Exercise(
    ASSIGNMENT, "inverse_sigmoid_schedule", points=1, outputs=SCHEDULE_OUTPUT, returns="eps",
    make_cases=_schedule_cases([
        ("i = 0, k = 1", (0, 1.0)), ("i = 0", (0, 20.0)), ("i = 1", (1, 20.0)),
        ("i = 60", (60, 20.0)), ("i = 700", (700, 150.0)),
        ("exp(i / k) beyond a float", (10 ** 6, 50.0))]),
    mistakes=(
        Mistake(props.OFF_BY_ONE, _shifted("inverse_sigmoid_schedule", 1)),
        Mistake(props.OFF_BY_ONE, _shifted("inverse_sigmoid_schedule", -1)),
        Mistake("the sign of the exponent: exp(i / k) grows with i, so eps decays",
                lambda ref: lambda i, k: k / (k + np.exp(-i / k))),
        Mistake("the numerator is k, not 1: eps_0 = k / (k + 1)",
                lambda ref: lambda i, k: 1 / (k + np.exp(i / k))),
    ),
)


# ---------------------------------------------------------------- mix_inputs
def _mix_cases(rng):
    cases = []
    for shape, eps in [((1,), 1.0), ((1,), 0.0), ((6,), 1.0), ((1, 1), 0.0), ((3, 4), 1.0),
                       ((2, 5), 0.0), ((4, 1), 1.0),
                       ((5000,), 0.3), ((300, 12), 0.5), ((120, 25), 0.85)]:
        truth = rng.integers(0, 20, size=shape)
        # predictions never equal to the truth, so every position shows where it came from
        predicted = truth + rng.integers(1, 20, size=shape)
        seed = int(rng.integers(2 ** 31))
        kind = "exact" if eps in (0.0, 1.0) else "coins"
        what = f"eps = {eps:g}" if kind == "exact" else "0 < eps < 1, many coins"
        cases.append(Case(f"shape {shape}, {what}",
                          (truth, predicted, eps, np.random.default_rng(seed))))
    return cases


def _two_arrays(result, names=("inputs", "used_truth")):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(f"should return a tuple ({', '.join(names)}), got {type(result).__name__}")
    return [np.asarray(value) for value in result]


def _call_mix(fn, args):
    truth, predicted, eps, _ = args
    spare = copy.deepcopy(args)
    result = fn(*args)
    inputs, used = _two_arrays(result)
    if inputs.dtype != truth.dtype:
        raise CheckFailure(f"inputs should be token ids with the dtype of truth ({truth.dtype}), "
                           f"got {inputs.dtype}")
    if used.dtype != np.bool_:
        raise CheckFailure(f"used_truth should be a bool array, got {used.dtype}")
    if eps in (0.0, 1.0):
        return result
    if inputs.shape != truth.shape or used.shape != truth.shape:
        raise CheckFailure(f"inputs and used_truth should have the shape of truth {truth.shape}")
    if not np.array_equal(inputs, np.where(used, truth, predicted)):
        raise CheckFailure("inputs should hold the truth exactly where used_truth is True, "
                           "else the prediction")
    coins = used.reshape(-1, truth.shape[-1]) if truth.ndim > 1 else used.reshape(1, -1)
    problem = props.coin_problem(coins, eps) or props.same_rng_problem(result, _two_arrays(fn(*spare)))
    if problem:
        raise CheckFailure(f"mix_inputs: {problem}")
    return np.zeros(truth.shape, dtype=truth.dtype), np.zeros(truth.shape, dtype=bool)


def _mix_variant(coin="token", inverted=False, flip_mask=False):
    def make(ref):
        def mix_inputs(truth, predicted, eps, rng):
            if coin == "token":
                draws = rng.random(truth.shape)
            elif coin == "batch":
                draws = np.full(truth.shape, rng.random())
            else:  # one coin per row
                draws = np.broadcast_to(rng.random(truth.shape[:-1] + (1,)), truth.shape)
            used = draws < eps
            if inverted:
                used = ~used
            inputs = np.where(used, truth, predicted)
            return inputs, (~used if flip_mask else used)
        return mix_inputs
    return make


MIX_INPUTS = Exercise(
    ASSIGNMENT, "mix_inputs", points=2,
    outputs=(Output("inputs", 0, ""), Output("used_truth", 1, "")),
    returns="(inputs, used_truth)",
    make_cases=_mix_cases,
    call=staticmethod(_call_mix),
    mistakes=(
        Mistake("eps is the probability of taking the TRUTH; the coin is the wrong way round",
                _mix_variant(inverted=True)),
        Mistake("used_truth marks the positions that took the prediction; it should mark the truth",
                _mix_variant(flip_mask=True)),
        Mistake(props.BATCH_COIN, _mix_variant(coin="batch")),
        Mistake(props.SEQUENCE_COIN, _mix_variant(coin="row")),
    ),
)


# ---------------------------------------------------------------- the two losses
def _params(rng, V, E, H, out_scale=1.0, dtype=np.float64):
    shapes = {"embed.weight": (V, E), "gru.weight_ih_l0": (3 * H, E), "gru.weight_hh_l0": (3 * H, H),
              "gru.bias_ih_l0": (3 * H,), "gru.bias_hh_l0": (3 * H,), "out.weight": (V, H),
              "out.bias": (V,)}
    params = {name: rng.normal(scale=0.6, size=shape) for name, shape in shapes.items()}
    params["out.weight"] *= out_scale * 3  # spread scores: argmax ties never happen
    params["out.bias"] *= out_scale
    return {name: value.astype(dtype) for name, value in params.items()}


def _batch(rng, N, T, V, lengths="random", same_start=False):
    y = rng.integers(0, V, size=(N, T))
    x = np.concatenate([rng.integers(0, V, size=(N, 1)), y[:, :-1]], axis=1)
    if same_start:
        x[:, 0] = x[0, 0]
    if lengths == "random":  # lengths 0..T: a row may be pure padding
        mask = np.arange(T)[None, :] < rng.integers(0, T + 1, size=(N, 1))
    else:
        mask = np.full((N, T), lengths == "full")
    return x, y, mask


def _decode_cases(rng):
    cases = []
    for N, T, V, eps, greedy, kind in [
            (1, 1, 5, 1.0, True, "full"), (3, 5, 6, 1.0, True, "random"),
            (2, 6, 5, 0.0, True, "random"), (1, 4, 7, 0.0, True, "full"),
            (4, 7, 6, 1.0, False, "random"), (3, 1, 4, 0.0, True, "random"),
            (2, 3, 5, 0.0, True, "padding"), (5, 6, 6, 0.0, True, "float32"),
            # coins and samples are measured without padding: what a function feeds at a
            # padded position changes nothing, so any choice there is right
            (300, 10, 6, 0.4, True, "full"), (300, 10, 6, 0.7, False, "full"),
            (3000, 2, 6, 0.0, False, "sample")]:
        E, H = int(rng.integers(2, 5)), int(rng.integers(2, 6))
        dtype = np.float32 if kind == "float32" else np.float64
        params = _params(rng, V, E, H, out_scale=0.3 if kind == "sample" else 1.0, dtype=dtype)
        lengths = {"padding": "none", "full": "full", "sample": "full"}.get(kind, "random")
        x, y, mask = _batch(rng, N, T, V, lengths, same_start=kind == "sample")
        args = (params, x, y, mask, eps, np.random.default_rng(int(rng.integers(2 ** 31))), greedy)
        label = (f"N={N}, T={T}, V={V}, " + (f"eps = {eps:g}" if eps in (0.0, 1.0) else "0 < eps < 1")
                 + f", greedy={greedy}"
                 + {"padding": ", every position padding", "float32": ", float32 parameters",
                    "sample": ", the distribution of sampled tokens",
                    "full": ", no padding"}.get(kind, "")
                 + (", properties of the coins and of the tokens fed" if 0 < eps < 1 else ""))
        cases.append(Case(label, args, {"N": N, "T": T, "V": V, "E": E, "H": H, "3H": 3 * H}))
    return cases


def _on_data(fn):
    """A function taking a model, wrapped to take parameters as arrays (see module docstring)."""
    if inspect.isfunction(fn) and not getattr(fn, "takes_plain_data", False):
        return on_plain_data(fn)
    return fn


def _flat(result):
    if not isinstance(result, (tuple, list)) or len(result) != 4 or not isinstance(result[3], dict):
        raise CheckFailure("should return a tuple (loss, inputs, used_truth)")
    loss, inputs, used, grads = result
    return (loss, inputs, used, *[grads.get(name) for name in PARAMETER_NAMES])


def _decode_call(per):
    def call(fn, args):
        with one_thread():  # the grader's own computations; the kernel's wrapper does the same
            return _decode_checked(per, _on_data(fn), args)
    return call


def _real_positions_only(flat, mask):
    """``flat`` with inputs -1 and used_truth False where the step's target is padding.

    What a function feeds at such a step changes neither the loss nor the gradients, so any
    choice there is right (a coin, or the truth without one).
    """
    loss, inputs, used, *grads = flat
    pad = ~np.asarray(mask, dtype=bool)
    if np.shape(inputs) == pad.shape and np.shape(used) == pad.shape:
        inputs = np.where(pad, -1, np.asarray(inputs))
        used = np.where(pad, False, np.asarray(used))
    return (loss, inputs, used, *grads)


def _decode_checked(per, fn, args):
    """One case of a loss: its outputs (nothing random) or fixed zeros once its properties hold."""
    params, x, y, mask, eps, _, greedy = args
    spare = copy.deepcopy(args)
    flat = _flat(fn(*args))
    if eps == 1.0 or (eps == 0.0 and greedy):  # nothing random reaches the result
        return _real_positions_only(flat, mask)
    model = decoder_from_arrays(params)
    loss, inputs, used, *grads = flat
    problem = props.decode_problem(model, x, y, mask, eps, greedy, loss, inputs, used,
                                   dict(zip(PARAMETER_NAMES, grads)))
    if problem is None and 0 < eps < 1:
        problem = props.coin_problem(np.asarray(used)[:, 1:], eps, per)
        if problem and per == "token":
            problem += " (if it calls your mix_inputs, make the checks of mix_inputs pass first)"
    if problem is None and eps == 0.0 and not greedy:
        with torch.no_grad():
            probs = torch.softmax(model(torch.as_tensor(x[:1, :1]))[0][0, 0].double(), dim=-1)
        problem = props.sample_problem(np.asarray(inputs)[:, 1], probs.numpy())
    if problem is None:
        problem = props.same_rng_problem(flat[:3], _flat(fn(*spare))[:3])
    if problem:
        raise CheckFailure(problem)
    return tuple(np.zeros(np.shape(value)) for value in flat)


def _decode_variant(coin="token", truth="x", feed="id", count_padding=False, carry_state=True,
                    inverted=False, choose="asked"):
    """The scheduled-sampling loss with one rule changed; the defaults are the correct loss."""
    def make(ref):
        def decode(model, x, y, mask, eps, rng, greedy=True):
            N, T = x.shape
            forced = rng.random(N) < eps  # used when coin is "sequence" or "batch once"
            if coin == "batch once":  # one coin for the whole batch and the whole sequence
                forced = np.full(N, forced[0])
            token, state = x[:, :1], None
            fed, took, scores = [token], [torch.ones(N, 1, dtype=torch.bool)], []
            logits = None  # the previous step's scores, from t = 1 on
            for t in range(T):
                if t > 0:
                    probs = torch.softmax(logits[:, -1], dim=-1)  # (N, V), with gradient
                    use_argmax = greedy if choose == "asked" else choose == "argmax"
                    if use_argmax:
                        previous = probs.argmax(dim=1)
                    else:
                        u = torch.as_tensor(rng.random((N, 1)))
                        cdf = probs.detach().double().cumsum(dim=1)
                        previous = (cdf < u).sum(dim=1).clamp(max=probs.shape[1] - 1)
                    draws = {"token": rng.random(N), "batch": np.full(N, rng.random())}.get(coin)
                    use = forced if draws is None else (draws < eps)
                    use = torch.as_tensor(~use if inverted else use)
                    true = (x if truth == "x" else y)[:, t]
                    ids = torch.where(use, true, previous)
                    if feed == "id":
                        token = ids[:, None]
                    else:
                        one_hot = F.one_hot(ids, probs.shape[1]).to(probs.dtype)
                        soft = probs if feed == "probs" else one_hot + probs - probs.detach()
                        token = torch.where(use[:, None], one_hot, soft)[:, None]  # (N, 1, V)
                    fed.append(ids[:, None])
                    took.append(use[:, None])
                logits, state = model(token, state if carry_state else None)
                scores.append(logits)
            losses = F.cross_entropy(torch.cat(scores, dim=1).transpose(1, 2), y, reduction="none")
            weights = torch.ones_like(mask) if count_padding else mask
            return (losses * weights).sum() / weights.sum().clamp(min=1), torch.cat(fed, 1), torch.cat(took, 1)
        return decode  # takes a model, like the student's function; _on_data wraps it
    return make


def _decode_mistakes(coin):
    return (
        Mistake(props.PADDING, _decode_variant(coin, count_padding=True)),
        Mistake(props.GRAD_THROUGH_TOKEN, _decode_variant(coin, feed="straight_through")),
        Mistake("the previous output is fed as a vector of probabilities; feed a token: the "
                "argmax (greedy=True) or a sample", _decode_variant(coin, feed="probs")),
        Mistake("the truth fed before step t is y[:, t], the very target of step t; it is x[:, t]",
                _decode_variant(coin, truth="y")),
        Mistake("eps is the probability of feeding the TRUTH; the coin is the wrong way round",
                _decode_variant(coin, inverted=True)),
        Mistake("the hidden state is not carried from one step to the next",
                _decode_variant(coin, carry_state=False)),
        Mistake("greedy=True feeds the argmax of the previous scores, not a sample",
                _decode_variant(coin, choose="sample")),
        Mistake(props.SAMPLE, _decode_variant(coin, choose="argmax")),
        Mistake(props.BATCH_COIN, _decode_variant("batch" if coin == "token" else "batch once")),
        Mistake(props.SEQUENCE_COIN if coin == "token" else props.TOKEN_COIN,
                _decode_variant("sequence" if coin == "token" else "token")),
    )


DECODE_OUTPUTS = (Output("loss", 0, ""), Output("inputs", 1, "NT"), Output("used_truth", 2, "NT"),
                  Output("d embed.weight", 3, "VE"), Output("d gru.weight_ih_l0", 4, ("3H", "E")),
                  Output("d gru.weight_hh_l0", 5, ("3H", "H")), Output("d gru.bias_ih_l0", 6, THREE_H),
                  Output("d gru.bias_hh_l0", 7, THREE_H), Output("d out.weight", 8, "VH"),
                  Output("d out.bias", 9, "V"))

SCHEDULED_SAMPLING_LOSS = Exercise(
    ASSIGNMENT, "scheduled_sampling_loss", points=4, outputs=DECODE_OUTPUTS,
    calls=("mix_inputs",),
    returns="(loss, inputs, used_truth)", make_cases=_decode_cases,
    call=staticmethod(_decode_call("token")), mistakes=_decode_mistakes("token"),
    adapter="on_plain_data",
)

SEQUENCE_COIN_LOSS = Exercise(
    ASSIGNMENT, "sequence_coin_loss", points=2, outputs=DECODE_OUTPUTS,
    returns="(loss, inputs, used_truth)", make_cases=_decode_cases,
    call=staticmethod(_decode_call("sequence")), mistakes=_decode_mistakes("sequence"),
    adapter="on_plain_data",
)

# the losses compute their cross-entropy in float32 (the schedules and mix_inputs have no
# float inputs to convert)
_LOSS_IN_FLOAT32 = replaced('F.cross_entropy(logits.transpose(1, 2), y, reduction="none")',
                            'F.cross_entropy(logits.float().transpose(1, 2), y, reduction="none")')

NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(LINEAR_SCHEDULE, EXPONENTIAL_SCHEDULE, INVERSE_SIGMOID_SCHEDULE, MIX_INPUTS,
               SCHEDULED_SAMPLING_LOSS, SEQUENCE_COIN_LOSS),
    visible=props,
    by_hand=False,  # the losses are PyTorch by design
    samples=(
        Sample("perfect", {"*": solved}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"linear_schedule": solved, "exponential_schedule": solved,
                           "inverse_sigmoid_schedule": solved, "mix_inputs": solved},
               {"scheduled_sampling_loss": 0, "sequence_coin_loss": 0}),
        Sample("float32", {"*": in_float32, "scheduled_sampling_loss": _LOSS_IN_FLOAT32,
                           "sequence_coin_loss": _LOSS_IN_FLOAT32}),
        Sample("padding", {"*": solved, "scheduled_sampling_loss": replaced(
            "loss = (losses * mask).sum() / mask.sum().clamp(min=1)", "loss = losses.mean()")},
               {"scheduled_sampling_loss": (0, 4)},
               why="the mean over every position, padding included: right only where nothing is padded"),
        Sample("raises", {"*": solved, "sequence_coin_loss": replaced("    N, T = x.shape\n",
                                                                      "    N, T, V = x.shape\n")},
               {"sequence_coin_loss": 0}, why="x read as (N, T, V): a ValueError in every case"),
    ),
)
