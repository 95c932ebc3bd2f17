"""Hidden checks of notebook 06: additive attention, its backward pass, beam search and length
normalisation.

Cases are drawn
from a fixed seed per exercise: N = 1 and S = 1, padded rows, a row that is all padding, very
large scores; for the search, beam 1 (greedy), a beam that holds every sequence (exhaustive),
max_len = 1 and a model that never ends. The visible checks hold a case of every kind.

beam_search takes a Python function ``step``; a function cannot cross to a student's sandboxed
kernel, so the cases use :class:`rnncourse.beam.TableStep`, a toy model made of numbers only,
which ``rnncourse/wire.py`` sends as data and rebuilds in the kernel. Its distributions are
continuous random numbers, so no two sequences tie and the best-first list is unique. A search's
answer (a list of (tokens, score) pairs) is compared as two arrays: tokens (K, max_len) padded
with -1, and scores (K,).

A backward function is given a cache made by the REFERENCE forward function, in the layout its
docstring documents, so it is graded on its own. Each mistake is a variant of the reference
written out with switches whose defaults are the correct computation (a test proves that); the
hints are the visible checks' (``rnncourse.visible.seq2seq.HINTS``), one copy for both.
"""
from __future__ import annotations

import numpy as np

from autograder.checks.declaration import Notebook, Sample
from autograder.checks.framework import Case, Exercise, Mistake, Output
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32, replaced, solved
from autograder.checks.visible_mistakes import mistake_outputs
from rnncourse.beam import TableStep
from rnncourse.visible import seq2seq as visible
from rnncourse.visible.seq2seq import HINTS, LETTERS, OUTPUTS, outputs_of

ASSIGNMENT = "06_seq2seq"


def _normal(rng, *shape, scale=1.0):
    return rng.normal(scale=scale, size=shape)


def _outputs(function: str) -> tuple[Output, ...]:
    return tuple(Output(name, k, LETTERS[name]) for k, name in enumerate(OUTPUTS[function]))


def _compared(function: str):
    """Exercise.call: the function's outputs in comparable form (see ``outputs_of``)."""
    return lambda fn, args: tuple(outputs_of(function, args, fn(*args)))


# ---------------------------------------------------------------- attention_forward
def _mask(rng, N, S, kind):
    if kind == "full":
        return np.ones((N, S), dtype=bool)
    lengths = rng.integers(1, S + 1, size=N)
    if kind == "empty row":
        lengths[rng.integers(N)] = 0
    return np.arange(S)[None, :] < lengths[:, None]


def _attention_args(rng, N, S, Hq, Hk, A, kind):
    return (_normal(rng, N, Hq), _normal(rng, N, S, Hk), _mask(rng, N, S, "full" if kind == "large" else kind),
            _normal(rng, Hq, A, scale=0.7), _normal(rng, Hk, A, scale=0.7),
            _normal(rng, A, scale=3000.0 if kind == "large" else 1.0))  # scores past exp's range


ATTENTION_SIZES = [(1, 1, 2, 3, 4, "full"), (1, 4, 3, 2, 5, "padded"), (3, 5, 4, 6, 3, "padded"),
                   (2, 1, 3, 3, 2, "full"), (4, 6, 2, 5, 3, "empty row"), (2, 7, 3, 4, 5, "large"),
                   (5, 3, 4, 2, 6, "padded")]  # (N, S, Hq, Hk, A, kind)


def _attention_cases(rng):
    cases = []
    for N, S, Hq, Hk, A, kind in ATTENTION_SIZES:
        label = f"N={N}, S={S}, Hq={Hq}, Hk={Hk}, A={A}" + {
            "full": "", "padded": ", padded rows", "empty row": ", a row all padding",
            "large": ", very large scores"}[kind]
        cases.append(Case(label, _attention_args(rng, N, S, Hq, Hk, A, kind),
                          {"N": N, "S": S, "Hq": Hq, "Hk": Hk, "A": A}))
    return cases


def _attention_variant(axis=1, mask_rule="before", squash=np.tanh, stable=True, weigh="softmax"):
    """Attention with one rule changed; the defaults are the correct forward pass."""
    def make(ref):
        def attention_forward(q, K, mask, Wq, Wk, v):
            mask = {"before": mask, "after": mask, "ignored": np.ones_like(mask), "inverted": ~mask}[mask_rule]
            scores = squash((q @ Wq)[:, None, :] + K @ Wk) @ v  # (N, S)
            use = mask if mask_rule != "after" else np.ones_like(mask)
            with np.errstate(all="ignore"):  # an overflow is the unstable variant's mistake
                top = np.where(use, scores, -np.inf).max(axis=axis, keepdims=True) if stable else 0
                exp = np.where(use, np.exp(np.where(use, scores, 0) - np.where(np.isfinite(top), top, 0)), 0)
                total = exp.sum(axis=axis, keepdims=True)
                weights = exp / np.where(total > 0, total, 1)
            if mask_rule == "after":
                weights = weights * mask
            weights = scores if weigh == "scores" else weights
            return np.einsum("ns,nsh->nh", weights, K), weights, None
        return attention_forward
    return make


def _mistakes(function: str, makers: dict) -> dict[str, Mistake]:
    return {key: Mistake(HINTS[function][key], make) for key, make in makers.items()}


ATTENTION_FORWARD_MISTAKES = _mistakes("attention_forward", {
    "wrong_axis": _attention_variant(axis=0),
    "mask_after": _attention_variant(mask_rule="after"),
    "mask_ignored": _attention_variant(mask_rule="ignored"),
    "mask_inverted": _attention_variant(mask_rule="inverted"),
    "no_tanh": _attention_variant(squash=lambda a: a),
    "unstable": _attention_variant(stable=False),
    "context_scores": _attention_variant(weigh="scores"),
})

ATTENTION_FORWARD = Exercise(
    ASSIGNMENT, "attention_forward", points=3,
    outputs=_outputs("attention_forward"),
    returns="(context, weights, cache)",
    make_cases=_attention_cases,
    call=_compared("attention_forward"),
    mistakes=tuple(ATTENTION_FORWARD_MISTAKES.values()),
    by_hand=True,
)


# ---------------------------------------------------------------- attention_backward
def _attention_backward_cases(rng):
    ref = load_reference(ASSIGNMENT)
    cases = []
    for N, S, Hq, Hk, A, kind in ATTENTION_SIZES:
        if kind == "large":  # saturated softmax: gradients of 0 and 1 test nothing new
            kind = "padded"
        _, _, cache = ref.attention_forward(*_attention_args(rng, N, S, Hq, Hk, A, kind))
        label = f"N={N}, S={S}, Hq={Hq}, Hk={Hk}, A={A}" + {
            "full": "", "padded": ", padded rows", "empty row": ", a row all padding"}[kind]
        cases.append(Case(label, (_normal(rng, N, Hk), cache), {"N": N, "S": S, "Hq": Hq, "Hk": Hk, "A": A}))
    return cases


def _attention_backward_variant(sum_path=True, score_path=True, softmax="full", tanh_grad=True,
                                over_s="sum", dWk_T=False):
    """The backward pass with one rule changed; the defaults are the correct gradients."""
    def make(ref):
        def attention_backward(dcontext, cache):
            q, K, mask, Wq, Wk, v, u, weights = cache
            dweights = np.einsum("nh,nsh->ns", dcontext, K)
            dscores = {"full": weights * (dweights - (weights * dweights).sum(axis=1, keepdims=True)),
                       "diag": weights * (1 - weights) * dweights, "skipped": dweights}[softmax]
            dv = np.einsum("nsa,ns->a", u, dscores)
            dpre = dscores[:, :, None] * v * ((1 - u**2) if tanh_grad else 1)
            pooled = dpre.sum(axis=1) if over_s == "sum" else dpre.mean(axis=1)
            dK = (weights[:, :, None] * dcontext[:, None, :] if sum_path else 0) + \
                 (dpre @ Wk.T if score_path else 0)
            dWk = np.einsum("nsh,nsa->ha", K, dpre)
            return pooled @ Wq.T, dK, q.T @ pooled, dWk.T if dWk_T else dWk, dv
        return attention_backward
    return make


ATTENTION_BACKWARD_MISTAKES = _mistakes("attention_backward", {
    "no_sum_path": _attention_backward_variant(sum_path=False),
    "no_score_path": _attention_backward_variant(score_path=False),
    "softmax_diag": _attention_backward_variant(softmax="diag"),
    "softmax_skipped": _attention_backward_variant(softmax="skipped"),
    "no_tanh_grad": _attention_backward_variant(tanh_grad=False),
    "mean_over_s": _attention_backward_variant(over_s="mean"),
    "dWk_T": _attention_backward_variant(dWk_T=True),
})

ATTENTION_BACKWARD = Exercise(
    ASSIGNMENT, "attention_backward", points=4,
    outputs=_outputs("attention_backward"),
    returns="(dq, dK, dWq, dWk, dv)",
    make_cases=_attention_backward_cases,
    mistakes=tuple(ATTENTION_BACKWARD_MISTAKES.values()),
    by_hand=True,
)


# ---------------------------------------------------------------- beam_search
SEARCHES = [  # (V, max_len, beam_size, eos_slope, what)
    (5, 6, 1, 0.5, "beam_size=1 (greedy)"), (6, 5, 3, 0.8, "beam_size=3"),
    (8, 6, 5, 0.6, "beam_size=5"), (3, 3, 15, 0.5, "a beam that holds every sequence"),
    (4, 1, 3, 0.5, "max_len=1"), (5, 4, 2, -30.0, "a model that never emits eos"),
    (7, 7, 4, 1.2, "beam_size=4, hypotheses ending early"), (2, 4, 1, 0.3, "V=2, greedy"),
]


def _search_cases(rng):
    cases = []
    for V, max_len, beam, slope, what in SEARCHES:
        eos = int(rng.integers(V))
        bos = int(rng.integers(V + 1))  # the start token may or may not be an output token
        model = TableStep(V, eos, seed=int(rng.integers(2**31)), scale=float(rng.uniform(1.0, 2.5)),
                          eos_slope=slope)
        cases.append(Case(f"V={V}, max_len={max_len}, {what}",
                          (model, model.initial_state(), bos, eos, beam, max_len),
                          {"max_len": max_len}))
    return cases


def _search_variant(accumulate=True, finish=True, shrink=True, select_state=True, bos_kept=False,
                    rank=True, keep_unfinished=True):
    """Beam search with one rule changed; the defaults are the correct search."""
    def make(ref):
        def beam_search(step, state, bos, eos, beam_size, max_len):
            alive, finished = [((bos,) if bos_kept else (), 0.0)], []
            for _ in range(max_len):
                last = np.array([tokens[-1] if tokens else bos for tokens, _ in alive])
                log_probs, new_state = step(last, state)
                base = np.array([score for _, score in alive])[:, None] if accumulate else 0
                totals = base + np.asarray(log_probs)
                places = beam_size - len(finished) if shrink else beam_size
                best = np.argsort(-totals, axis=None, kind="stable")[:places]
                alive_next, keep = [], []
                for b, token in zip(*np.unravel_index(best, totals.shape)):
                    hypothesis = (alive[b][0] + (int(token),), float(totals[b, token]))
                    if token == eos and finish:
                        finished.append(hypothesis)
                    else:
                        alive_next.append(hypothesis)
                        keep.append(b)
                alive = alive_next
                if not alive:
                    break
                state = new_state[np.array(keep)] if select_state else new_state
            every = finished + (alive if keep_unfinished else [])
            ranked = sorted(every, key=lambda h: -h[1]) if rank else every
            return [(np.array(tokens, dtype=np.int64), score) for tokens, score in ranked]
        return beam_search
    return make


BEAM_SEARCH_MISTAKES = _mistakes("beam_search", {
    "not_accumulated": _search_variant(accumulate=False),
    "finished_compete": _search_variant(finish=False),
    "fixed_beam": _search_variant(shrink=False),
    "state_not_selected": _search_variant(select_state=False),
    "bos_kept": _search_variant(bos_kept=True),
    "unsorted": _search_variant(rank=False),
    "unfinished_dropped": _search_variant(keep_unfinished=False),
})

BEAM_SEARCH = Exercise(
    ASSIGNMENT, "beam_search", points=4,
    outputs=_outputs("beam_search"),
    returns="[(tokens, score), ...]",
    make_cases=_search_cases,
    call=_compared("beam_search"),
    mistakes=tuple(BEAM_SEARCH_MISTAKES.values()),
    by_hand=True,
)


# ---------------------------------------------------------------- length_normalise
def _hypotheses(rng, K):
    lengths = rng.integers(1, 9, size=K)
    return [(rng.integers(0, 9, size=L), float(-rng.uniform(0.3, 1.5) * L)) for L in lengths]


def _normalise_cases(rng):
    cases = []
    for K, alpha in [(1, 0.8), (4, 0.6), (6, 1.0), (5, 0.0), (8, 1.5), (0, 0.7), (3, 2.0)]:
        cases.append(Case(f"{K} hypotheses, alpha={alpha:g}", (_hypotheses(rng, K), alpha), {}))
    return cases


def _normalise_variant(power=1, divide=True, rerank=True, new_scores=True, count_eos=True):
    """Length normalisation with one rule changed; the defaults are the correct rescoring."""
    def make(ref):
        def length_normalise(hypotheses, alpha):
            rescored = []
            for tokens, score in hypotheses:
                penalty = max(len(tokens) - (0 if count_eos else 1), 1) ** (alpha * power)
                new = score / penalty if divide else score * penalty
                rescored.append((tokens, new, score))
            if rerank:
                rescored = sorted(rescored, key=lambda h: -h[1])
            return [(tokens, new if new_scores else old) for tokens, new, old in rescored]
        return length_normalise
    return make


LENGTH_NORMALISE_MISTAKES = _mistakes("length_normalise", {
    "twice": _normalise_variant(power=2),
    "multiplied": _normalise_variant(divide=False),
    "not_ranked": _normalise_variant(rerank=False),
    "old_scores": _normalise_variant(new_scores=False),
    "no_eos": _normalise_variant(count_eos=False),
})

LENGTH_NORMALISE = Exercise(
    ASSIGNMENT, "length_normalise", points=1,
    outputs=_outputs("length_normalise"),
    returns="[(tokens, score), ...]",
    make_cases=_normalise_cases,
    call=_compared("length_normalise"),
    mistakes=tuple(LENGTH_NORMALISE_MISTAKES.values()),
    by_hand=True,
)


MISTAKES = {"attention_forward": ATTENTION_FORWARD_MISTAKES,
            "attention_backward": ATTENTION_BACKWARD_MISTAKES,
            "beam_search": BEAM_SEARCH_MISTAKES, "length_normalise": LENGTH_NORMALISE_MISTAKES}


NOTEBOOK = Notebook(
    id=ASSIGNMENT,
    exercises=(ATTENTION_FORWARD, ATTENTION_BACKWARD, BEAM_SEARCH, LENGTH_NORMALISE),
    visible=visible,
    by_hand=True,  # the graded functions are NumPy; the PyTorch model is provided code
    # the named mistakes' outputs on the visible cases, so the visible checks name them too
    visible_mistakes=lambda reference: mistake_outputs(NOTEBOOK, reference),
    samples=(
        Sample("perfect", {"*": solved}),
        Sample("blank", {}, {"*": 0}),
        Sample("partial", {"attention_forward": solved, "length_normalise": solved},
               {"attention_backward": 0, "beam_search": 0}),
        Sample("float32", {"*": in_float32}),
        Sample("fixed_beam", {"*": solved, "beam_search": replaced("places = beam_size - len(finished)",
                                                                    "places = beam_size")},
               {"beam_search": (0, 4)},
               why="finished hypotheses keep no place: the beam always extends beam_size "
                   "hypotheses, wrong only where a hypothesis finishes early"),
        Sample("raises", {"*": solved, "length_normalise": replaced("max(len(tokens), 1)",
                                                                    "max(tokens.size(), 1)")},
               {"length_normalise": (0, 0.5)},
               why="the length of a NumPy array asked for with a call: a TypeError on every "
                   "non-empty list; the empty list still passes"),
    ),
)
