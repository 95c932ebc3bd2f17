"""Visible checks of notebook 06: additive attention, its backward pass, beam search and length
normalisation.

Inputs are small and drawn from fixed seeds, so a check gives the same message every time.
They contain every kind of case the hidden checks draw (N = 1 and S = 1, padded rows, a row that
is all padding, very large scores; for the search: beam 1, a beam that holds every sequence,
max_len = 1, a model that never ends), without the hidden values. Expected outputs come from
the stored fixture, and so do the outputs of the typical mistakes the hidden checks name (the
hints below are the grader's): a check reports every output it finds wrong and every one it
finds right, and names the mistake when an answer equals one of them. A backward function is
given the cache the reference attention_forward builds, in the documented layout, stored in the
fixture, so its check does not depend on the student's own forward pass.
"""
from __future__ import annotations

import numpy as np

from rnncourse.beam import TableStep, exhaustive_search, ranked_arrays
from rnncourse.compare import CheckFailure, as_array, expect
from rnncourse.visible import flatten_cache, passed, stored_cache, verify_outputs

ASSIGNMENT = "06_seq2seq"

# The typical mistakes, by function and id: one copy of the hints, shown by the visible checks
# and by the hidden checks (autograder/checks/seq2seq.py builds the broken variants).
HINTS = {
    "attention_forward": {
        "wrong_axis": "the softmax runs over the wrong axis: normalise each row over the S "
                      "positions (axis 1), not over the batch",
        "mask_after": "the mask is applied after the softmax: padded positions must be left out "
                      "BEFORE normalising, so the real positions' weights sum to 1",
        "mask_ignored": "the mask is ignored: padded positions must get weight exactly 0",
        "mask_inverted": "the mask is read the wrong way round: True marks a REAL position",
        "no_tanh": "the scores miss the tanh of section 2's additive score",
        "unstable": "exp of large scores overflows (inf / inf is NaN): the softmax is unchanged "
                    "by a shift of a row's scores, which can keep every exponent <= 0",
        "context_scores": "the context weights K by the raw scores; weight it by the softmax",
    },
    "attention_backward": {
        "no_sum_path": "dK misses the path through the weighted sum: context = sum_s a[n, s] "
                       "K[n, s] depends on K directly, not only through the scores",
        "no_score_path": "dK misses the path through the scores: K also enters e = tanh(q Wq "
                         "+ K Wk) v",
        "softmax_diag": "the softmax's backward keeps only its diagonal: every weight depends on "
                        "every score of its row (the weights sum to 1)",
        "softmax_skipped": "the softmax is skipped in the backward pass: the gradient of the "
                           "weights is not the gradient of the scores",
        "no_tanh_grad": "the derivative of the tanh is missing",
        "mean_over_s": "dq and dWq average over the positions; the query is used at every "
                       "position, so its gradients SUM over S",
        "dWk_T": "dWk is transposed: it has the shape (Hk, A) of Wk",
    },
    "beam_search": {
        "not_accumulated": "scores are not accumulated: a hypothesis' score is the SUM of the "
                           "log-probabilities of all its tokens, not the last one's",
        "finished_compete": "finished hypotheses are left competing: a hypothesis that emitted "
                            "eos is finished and must not be extended again",
        "fixed_beam": "finished hypotheses do not keep their places: at each step extend only "
                      "beam_size minus (hypotheses finished so far) hypotheses",
        "state_not_selected": "the states are not selected: after choosing the hypotheses to "
                              "keep, step must get the state of each kept hypothesis, one row per "
                              "hypothesis in the same order",
        "bos_kept": "bos is part of the returned tokens; a sequence starts after it",
        "unsorted": "the list is not ranked: return the hypotheses best (highest score) first",
        "unfinished_dropped": "hypotheses still unfinished after max_len steps are dropped; "
                              "return them too",
    },
    "length_normalise": {
        "twice": "the length penalty is applied twice: the score is divided by L**alpha once",
        "multiplied": "the score is multiplied by L**alpha; divide it",
        "not_ranked": "the hypotheses are not ranked again by their new scores",
        "old_scores": "the old scores are returned: return each hypothesis with its NEW score",
        "no_eos": "the length leaves out eos: L counts every token, eos included",
    },
}


def visible_inputs() -> dict[str, dict]:
    """The fixed inputs of every visible check, by function and case (fresh on every call)."""
    rng = np.random.default_rng(606)
    N, S, Hq, Hk, A = 3, 5, 4, 6, 3  # all different, so a transposed matrix is a shape error

    def attention_case(N, S, lengths, v_scale=1.0):
        return (rng.normal(size=(N, Hq)), rng.normal(size=(N, S, Hk)),
                np.arange(S)[None, :] < np.array(lengths)[:, None],
                rng.normal(scale=0.7, size=(Hq, A)), rng.normal(scale=0.7, size=(Hk, A)),
                rng.normal(scale=v_scale, size=A))

    attention = {"padded": attention_case(N, S, [5, 3, 1]),
                 "one": attention_case(1, 1, [1]),
                 "empty_row": attention_case(2, 4, [4, 0]),
                 "large": attention_case(2, S, [5, 2], v_scale=3000.0)}
    backward = {case: {"forward": args, "dcontext": rng.normal(size=(args[0].shape[0], Hk))}
                for case, args in attention.items() if case != "large"}
    searches = {"greedy": (TableStep(6, eos=0, seed=1), 6, 1, 5),  # (model, bos, beam, max_len)
                "beam": (TableStep(6, eos=2, seed=2, eos_slope=0.8), 7, 3, 5),
                "every": (TableStep(3, eos=1, seed=3), 0, 15, 3),  # 15 = all sequences
                "one_step": (TableStep(5, eos=4, seed=4), 1, 3, 1),
                "never_ends": (TableStep(4, eos=3, seed=5, eos_slope=-30.0), 4, 2, 4)}
    search = {case: (model, model.initial_state(), bos, model.eos, beam, max_len)
              for case, (model, bos, beam, max_len) in searches.items()}
    hypotheses = [(np.array(t), s) for t, s in [([3, 1, 2], -2.0), ([4, 2], -1.9), ([1, 1, 1, 1, 2], -3.1),
                                                 ([2], -1.2), ([5, 5, 2], -2.6)]]
    normalise = {"alpha": (hypotheses, 0.7), "mean": (hypotheses, 1.0), "zero": (hypotheses, 0.0),
                 "single": (hypotheses[1:2], 0.8), "empty": ([], 0.5)}
    return {"attention_forward": attention, "attention_backward": backward,
            "beam_search": search, "length_normalise": normalise}


OUTPUTS = {"attention_forward": ("context", "weights"),
           "attention_backward": ("dq", "dK", "dWq", "dWk", "dv"),
           "beam_search": ("tokens", "scores"), "length_normalise": ("tokens", "scores")}
LETTERS = {"context": ("N", "Hk"), "weights": "NS", "dq": ("N", "Hq"), "dK": ("N", "S", "Hk"),
           "dWq": ("Hq", "A"), "dWk": ("Hk", "A"), "dv": "A", "tokens": ("K", "max_len"),
           "scores": "K"}


def outputs_of(function: str, args: tuple, result) -> list:
    """The compared outputs of ``function``'s ``result`` on ``args`` (the grader uses this too)."""
    if function == "beam_search":
        return list(ranked_arrays("beam_search", result, int(args[5])))
    if function == "length_normalise":
        longest = max([len(np.asarray(tokens).reshape(-1)) for tokens, _ in args[0]], default=0)
        return list(ranked_arrays("length_normalise", result, longest))
    count = len(OUTPUTS[function])
    if not isinstance(result, (tuple, list)) or len(result) < count:
        raise CheckFailure(f"{function} should return a tuple "
                           f"({', '.join(OUTPUTS[function])}{', cache' * (function == 'attention_forward')}), "
                           f"got {type(result).__name__}")
    return list(result[:count])


# Where to look when an output is wrong: which equation, which road, which shape.
WHERE = {
    "attention_forward": {
        "weights": "the softmax of section 2 over the real positions of each row, and what a padded "
                   "position gets; for very large scores, the softmax's stability",
        "context": "the weighted sum of section 2: which array is weighted, by which weights, over "
                   "which axis"},
    "attention_backward": {
        "dq": "back through the softmax (every weight of a row depends on every score of the row), "
              "then the tanh, then the product the query enters; the query meets every position s",
        "dK": "the roads from K to the context in section 3: count them and add them",
        "dWq": "which array multiplies Wq in the scores, what is summed over the positions, and the "
               "shape (Hq, A)",
        "dWk": "which array multiplies Wk in the scores, what is summed over n and s, and the shape (Hk, A)",
        "dv": "v scores every position n, s, so its gradient gathers all of them; the shape (A,)"},
    "beam_search": {
        "tokens": "the docstring: which hypotheses are extended at each step, which are kept, what "
                  "happens to one that emitted eos, and the order of the list",
        "scores": "how a hypothesis' score grows with each token it takes (the docstring)"},
    "length_normalise": {
        "tokens": "the order of the list once the scores are normalised",
        "scores": "the length normalisation of section 6: what L counts and where alpha enters"},
}


def _args(function: str, case: str, args, impl=None) -> tuple:
    """The arguments of one call; the backward's cache is ``impl``'s forward's, or the stored one."""
    if function != "attention_backward":
        return args
    if impl is None:
        return args["dcontext"], stored_cache(ASSIGNMENT, f"{function}/{case}/cache")
    return args["dcontext"], impl.attention_forward(*args["forward"])[2]


def call_args(function: str, impl) -> dict[str, tuple]:
    """The arguments of every visible call of ``function``, by case (the grader stores the named
    mistakes' outputs on them)."""
    return {case: _args(function, case, args, impl) for case, args in visible_inputs()[function].items()}


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions, and the
    caches the backward's cases are given."""
    values = {}
    for function, cases in visible_inputs().items():
        for case, args in call_args(function, impl).items():
            result = getattr(impl, function)(*args)
            for name, value in zip(OUTPUTS[function], outputs_of(function, args, result)):
                values[f"{function}/{case}/{name}"] = np.asarray(value, dtype=np.float64)
            if function == "attention_backward":
                values.update(flatten_cache(f"{function}/{case}/cache", args[1]))
    return values


def _verify(function: str, fn, case: str, about: str) -> list:
    """Call ``fn`` on one case and compare every output with the fixture; the outputs."""
    args = _args(function, case, visible_inputs()[function][case])
    got = outputs_of(function, args, fn(*args))
    outputs = [(name, k, LETTERS[name]) for k, name in enumerate(OUTPUTS[function])]
    verify_outputs(ASSIGNMENT, function, case, about, outputs, got, WHERE[function])
    return got


ATTENTION_ABOUT = {"padded": "N=3, S=5, rows padded after 5, 3 and 1 positions",
                   "one": "N=1, S=1", "empty_row": "N=2, S=4, the second row all padding",
                   "large": "very large scores"}


def check_attention_forward(attention_forward) -> None:
    """Visible check of ``attention_forward``: padded rows, N = S = 1, an empty row, large scores."""
    for case, args in visible_inputs()["attention_forward"].items():
        got = _verify("attention_forward", attention_forward, case, ATTENTION_ABOUT[case])
        expect(np.all(as_array("weights", got[1])[~args[2]] == 0),
               "the weights at padded positions must be exactly 0 (not just small)")
    passed("attention_forward")


def check_attention_backward(attention_backward) -> None:
    """Visible check of ``attention_backward``: all five gradients on three cases."""
    for case in visible_inputs()["attention_backward"]:
        _verify("attention_backward", attention_backward, case, ATTENTION_ABOUT[case])
    passed("attention_backward")


SEARCH_ABOUT = {"greedy": "beam_size=1, i.e. greedy decoding", "beam": "beam_size=3",
                "every": "a beam as large as the number of sequences, i.e. exhaustive search",
                "one_step": "max_len=1", "never_ends": "a model that never emits eos"}


def check_beam_search(beam_search) -> None:
    """Visible check of ``beam_search`` on a toy model: greedy, beam 3, exhaustive, max_len = 1,
    no eos; the exhaustive case is also compared with a brute-force search."""
    answers = {}
    for case in visible_inputs()["beam_search"]:
        try:
            answers[case] = _verify("beam_search", beam_search, case, SEARCH_ABOUT[case])
        except ValueError as err:
            if "step expects" not in str(err):
                raise
            raise CheckFailure(f"beam_search called step with a state that does not match the "
                               f"tokens ({SEARCH_ABOUT[case]}): {err}. Likely mistake: "
                               f"{HINTS['beam_search']['state_not_selected']}") from None
    model, _, bos, _, beam, max_len = visible_inputs()["beam_search"]["every"]
    every = exhaustive_search(model, bos, max_len)
    expect(len(every) == beam and np.allclose(answers["every"][1], [score for _, score in every]),
           "with a beam that holds every sequence, beam_search must find them all")
    passed("beam_search")


NORMALISE_ABOUT = {"alpha": "alpha=0.7", "mean": "alpha=1", "zero": "alpha=0", "single": "one hypothesis",
                   "empty": "an empty list"}


def check_length_normalise(length_normalise) -> None:
    """Visible check of ``length_normalise``: alpha 0.7, 1 and 0, one hypothesis, none."""
    for case in visible_inputs()["length_normalise"]:
        _verify("length_normalise", length_normalise, case, NORMALISE_ABOUT[case])
    passed("length_normalise")
