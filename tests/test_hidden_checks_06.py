"""The hidden checks of notebook 06 against the reference and its deliberately broken variants."""
import json

import numpy as np
import pytest

from autograder.checks.framework import check
from autograder.checks.notebooks import seq2seq
from autograder.checks.reference import load_reference
from rnncourse._grading.wire import decode, encode
from rnncourse.beam import TableStep
from rnncourse.compare import CheckFailure
from rnncourse.visible import seq2seq as visible

EXERCISES = {e.name: e for e in seq2seq.NOTEBOOK.exercises}
MISTAKES = [(name, key, m) for name, mistakes in seq2seq.MISTAKES.items() for key, m in mistakes.items()]
# mistakes whose own output says what is wrong: NaN (an overflow) and a step called with states
# that do not match the tokens (rnncourse.beam.TableStep's error names the fix)
SELF_EXPLAINED = {"unstable": "NaN", "state_not_selected": "new_state[index]"}


@pytest.fixture(scope="module")
def ref06():
    return load_reference(seq2seq.NOTEBOOK.id)


@pytest.mark.parametrize("name, key, mistake", MISTAKES, ids=[f"{n}:{k}" for n, k, _ in MISTAKES])
def test_each_mistake_loses_points_and_is_named(name, key, mistake, ref06):
    report = check(EXERCISES[name], mistake.make(ref06))
    assert report.passed < report.total
    assert (SELF_EXPLAINED.get(key) or mistake.hint) in report.feedback(), report.feedback()


@pytest.mark.parametrize("name, key, mistake", MISTAKES, ids=[f"{n}:{k}" for n, k, _ in MISTAKES])
def test_the_visible_check_names_the_same_mistake(name, key, mistake, ref06):
    with pytest.raises(CheckFailure) as failure:
        getattr(visible, f"check_{name}")(mistake.make(ref06))
    message = str(failure.value)
    assert (SELF_EXPLAINED.get(key) if key == "unstable" else mistake.hint) in message, message


@pytest.mark.parametrize("variant, name", [
    (seq2seq._attention_variant(), "attention_forward"),
    (seq2seq._attention_backward_variant(), "attention_backward"),
    (seq2seq._search_variant(), "beam_search"),
    (seq2seq._normalise_variant(), "length_normalise"),
])
def test_the_variant_builders_are_correct_with_their_defaults(variant, name, ref06):
    report = check(EXERCISES[name], variant(ref06))
    assert report.passed == report.total, report.feedback()


def test_the_cases_cover_the_edge_cases_the_visible_checks_show():
    labels = {e.name: " ".join(c.label for c in e.make_cases(np.random.default_rng(e.seed)))
              for e in seq2seq.NOTEBOOK.exercises}
    for name in ("attention_forward", "attention_backward"):
        assert "N=1" in labels[name] and "S=1" in labels[name] and "a row all padding" in labels[name]
    assert "very large scores" in labels["attention_forward"]
    for what in ("greedy", "every sequence", "max_len=1", "never emits eos"):
        assert what in labels["beam_search"]
    assert "1 hypotheses" in labels["length_normalise"] and "0 hypotheses" in labels["length_normalise"]
    # and the visible checks hold a case of each kind
    inputs = visible.visible_inputs()
    assert {"one", "empty_row", "large"} <= set(inputs["attention_forward"])
    assert {"one", "empty_row"} <= set(inputs["attention_backward"])
    assert {"greedy", "every", "one_step", "never_ends"} <= set(inputs["beam_search"])
    assert {"single", "empty", "zero"} <= set(inputs["length_normalise"])


def test_search_cases_have_no_ties_so_the_ranking_is_unique(ref06):
    for case in EXERCISES["beam_search"].make_cases(np.random.default_rng(EXERCISES["beam_search"].seed)):
        scores = [score for _, score in ref06.beam_search(*case.args)]
        assert len(set(np.round(scores, 9))) == len(scores)


def test_a_search_that_returns_the_same_answer_in_another_form_earns_full_marks(ref06):
    # tokens as lists, scores as NumPy scalars, pairs as lists: any plain form is accepted
    def beam_search(*args):
        return [[list(tokens), np.float64(score)] for tokens, score in ref06.beam_search(*args)]

    assert check(EXERCISES["beam_search"], beam_search).passed == len(seq2seq.SEARCHES)


def test_the_toy_model_crosses_to_a_kernel_as_data(ref06):
    # what RemoteFunction sends and the harness decodes: a TableStep arrives as a TableStep
    case = EXERCISES["beam_search"].make_cases(np.random.default_rng(0))[1]
    arrays = {}
    tree = json.loads(json.dumps(encode(case.args, arrays)))
    args = decode(tree, arrays)
    assert isinstance(args[0], TableStep) and args[0].to_data() == case.args[0].to_data()
    first, second = ref06.beam_search(*args), ref06.beam_search(*case.args)
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(first, second))


def test_only_the_listed_classes_are_rebuilt_from_data():
    with pytest.raises(ValueError):
        decode({"w": ["os.system", {"d": []}]}, {})
    with pytest.raises(ValueError):
        TableStep.from_data({"V": 3})


def test_wrong_return_forms_are_explained(ref06):
    feedback = check(EXERCISES["beam_search"], lambda *args: ref06.beam_search(*args)[0]).feedback()
    assert "is not a pair (tokens, score)" in feedback
    feedback = check(EXERCISES["attention_forward"],
                     lambda *args: ref06.attention_forward(*args)[0]).feedback()
    assert "should return a tuple (context, weights, cache)" in feedback


def test_a_state_modified_in_place_is_caught(ref06):
    def attention_forward(q, K, mask, Wq, Wk, v):
        out = ref06.attention_forward(q, K, mask, Wq, Wk, v)
        q *= 2
        return out

    assert "modified its input q in place" in check(EXERCISES["attention_forward"], attention_forward).feedback()