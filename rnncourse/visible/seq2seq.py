"""Visible checks of notebook 06: additive attention, its backward pass, beam search and length
normalisation.

Inputs are small and drawn from fixed seeds, so a check gives the same message every time.
They contain every kind of case the hidden checks draw (N = 1 and S = 1, padded rows, a row that
is all padding, very large scores; for the search: beam 1, a beam that holds every sequence,
max_len = 1, a model that never ends), without the hidden values. Expected outputs come from
the stored fixture, and so do the outputs of the typical mistakes the hidden checks name: when
an answer equals one of them, the check names the mistake (the hints below are the grader's).
A backward function is given a cache in the layout attention_forward documents, built from
the fixture, so its check does not depend on the student's own forward pass.
"""
from __future__ import annotations

import numpy as np

from rnncourse.beam import TableStep, exhaustive_search, ranked_arrays
from rnncourse.compare import CheckFailure, as_array, expect, shape_problem, value_problem
from rnncourse.visible import load_fixture, passed

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
        "no_tanh": "the scores miss the tanh: e = tanh(q Wq + K Wk) v",
        "unstable": "exp of large scores overflows: subtract each row's largest real score "
                    "before exp",
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
                              "keep, pass step their states, new_state[index], one row per "
                              "hypothesis in the same order",
        "bos_kept": "bos is part of the returned tokens; a sequence starts after it",
        "unsorted": "the list is not ranked: return the hypotheses best (highest score) first",
        "unfinished_dropped": "hypotheses still unfinished after max_len steps are dropped; "
                              "return them too",
    },
    "length_normalise": {
        "twice": "the length penalty is applied twice: divide the score by L**alpha once",
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


def fixture_values(impl) -> dict[str, np.ndarray]:
    """The expected outputs of the visible checks, computed with ``impl``'s functions."""
    values = {}
    for function, cases in visible_inputs().items():
        for case, args in cases.items():
            if function == "attention_backward":
                context, weights, cache = impl.attention_forward(*args["forward"])
                values[f"{function}/{case}/u"] = cache[6]
                values[f"{function}/{case}/a"] = weights
                args = (args["dcontext"], cache)
            result = getattr(impl, function)(*args)
            for name, value in zip(OUTPUTS[function], outputs_of(function, args, result)):
                values[f"{function}/{case}/{name}"] = np.asarray(value, dtype=np.float64)
    return values


def _cache(case: str, forward_args: tuple) -> tuple:
    """(q, K, mask, Wq, Wk, v, u, weights), as attention_forward documents it."""
    fixture = load_fixture(ASSIGNMENT)
    return (*forward_args, fixture[f"attention_backward/{case}/u"], fixture[f"attention_backward/{case}/a"])


def _matches(got, stored: np.ndarray) -> bool:
    try:
        array = as_array("output", got)
    except CheckFailure:
        return False
    return array.shape == stored.shape and value_problem("output", array, stored) is None


def named_mistake(function: str, case: str, got: list) -> str | None:
    """The hint of the typical mistake whose outputs on this case equal ``got``, if any."""
    fixture = load_fixture(ASSIGNMENT)
    for mistake, hint in HINTS[function].items():
        keys = [f"mistake/{function}/{case}/{mistake}/{name}" for name in OUTPUTS[function]]
        if all(key in fixture for key in keys) and all(_matches(g, fixture[k]) for g, k in zip(got, keys)):
            return hint
    return None


def _compare(function: str, case: str, about: str, got: list, hints: dict) -> None:
    """Every output of ``function`` on ``case`` against the fixture; a named mistake if known."""
    fixture = load_fixture(ASSIGNMENT)
    for name, value in zip(OUTPUTS[function], got):
        array = as_array(name, value)
        want = fixture[f"{function}/{case}/{name}"]
        problem = shape_problem(name, array.shape, want.shape, LETTERS[name]) or value_problem(name, array, want)
        if problem:
            mistake = named_mistake(function, case, got)
            where = f" ({about})"
            raise CheckFailure(problem + where + (f". Likely mistake: {mistake}" if mistake
                                                  else f". {hints.get(name, '')}"))


def _run(function: str, fn, args: tuple) -> list:
    return outputs_of(function, args, fn(*args))


ATTENTION_ABOUT = {"padded": "N=3, S=5, rows padded after 5, 3 and 1 positions",
                   "one": "N=1, S=1", "empty_row": "N=2, S=4, the second row all padding",
                   "large": "very large scores"}


def check_attention_forward(attention_forward) -> None:
    """Visible check of ``attention_forward``: padded rows, N = S = 1, an empty row, large scores."""
    cases = visible_inputs()["attention_forward"]
    hints = {"weights": "the weights are a softmax of the scores over the real positions of each "
                        "row, exactly 0 at padding", "context": "the context is the weighted sum "
                        "of the encoder states over the positions s"}
    for case, args in cases.items():
        got = _run("attention_forward", attention_forward, args)
        _compare("attention_forward", case, ATTENTION_ABOUT[case], got, hints)
        expect(np.all(as_array("weights", got[1])[~args[2]] == 0),
               "the weights at padded positions must be exactly 0 (not just small)")
    passed("attention_forward")


def check_attention_backward(attention_backward) -> None:
    """Visible check of ``attention_backward``: all five gradients on three cases."""
    hints = {"dq": "go back through the softmax, then the tanh, then q Wq (the query is added "
                   "at every position)", "dK": "K reaches the loss twice: through the weighted "
                   "sum and through the scores", "dWq": "", "dWk": "", "dv": ""}
    for case, inputs in visible_inputs()["attention_backward"].items():
        args = (inputs["dcontext"], _cache(case, inputs["forward"]))
        got = _run("attention_backward", attention_backward, args)
        _compare("attention_backward", case, ATTENTION_ABOUT[case], got, hints)
    passed("attention_backward")


SEARCH_ABOUT = {"greedy": "beam_size=1, i.e. greedy decoding", "beam": "beam_size=3",
                "every": "a beam as large as the number of sequences, i.e. exhaustive search",
                "one_step": "max_len=1", "never_ends": "a model that never emits eos"}


def check_beam_search(beam_search) -> None:
    """Visible check of ``beam_search`` on a toy model: greedy, beam 3, exhaustive, max_len = 1,
    no eos; the exhaustive case is also compared with a brute-force search."""
    hints = {"tokens": "see the docstring for which hypotheses are extended and kept",
             "scores": "how a hypothesis' score grows with each token it takes (the docstring)"}
    answers = {}
    for case, args in visible_inputs()["beam_search"].items():
        try:
            answers[case] = _run("beam_search", beam_search, args)
        except ValueError as err:
            if "step expects" not in str(err):
                raise
            raise CheckFailure(f"beam_search called step with a state that does not match the "
                               f"tokens ({SEARCH_ABOUT[case]}): {err}. Likely mistake: "
                               f"{HINTS['beam_search']['state_not_selected']}") from None
        _compare("beam_search", case, SEARCH_ABOUT[case], answers[case], hints)
    model, _, bos, _, beam, max_len = visible_inputs()["beam_search"]["every"]
    every = exhaustive_search(model, bos, max_len)
    expect(len(every) == beam and np.allclose(answers["every"][1], [score for _, score in every]),
           "with a beam that holds every sequence, beam_search must find them all")
    passed("beam_search")


def check_length_normalise(length_normalise) -> None:
    """Visible check of ``length_normalise``: alpha 0.7, 1 and 0, one hypothesis, none."""
    hints = {"tokens": "rank the hypotheses by their normalised scores, best first",
             "scores": "the length normalisation of section 6: what L counts and where alpha enters"}
    about = {"alpha": "alpha=0.7", "mean": "alpha=1", "zero": "alpha=0", "single": "one hypothesis",
             "empty": "an empty list"}
    for case, args in visible_inputs()["length_normalise"].items():
        got = _run("length_normalise", length_normalise, args)
        _compare("length_normalise", case, about[case], got, hints)
    passed("length_normalise")
