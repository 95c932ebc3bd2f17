"""The references of notebook 06: numeric gradients (float64), PyTorch's autograd, and beam search
against exhaustive and greedy search on small vocabularies."""
import numpy as np
import pytest
import torch

from autograder.checks.notebooks import seq2seq
from autograder.checks.reference import load_reference
from rnncourse.beam import TableStep, exhaustive_search
from rnncourse.gradcheck import check_gradients
from rnncourse.seq2seq import AdditiveAttention, torch_attention_forward_backward

GRAD_TOL = 1e-7
TORCH_TOL = 1e-12


@pytest.fixture(scope="module")
def ref():
    return load_reference(seq2seq.NOTEBOOK.id)


def _inputs(rng, N, S, Hq, Hk, A):
    return {"q": rng.normal(size=(N, Hq)), "K": rng.normal(size=(N, S, Hk)),
            "Wq": rng.normal(scale=0.7, size=(Hq, A)), "Wk": rng.normal(scale=0.7, size=(Hk, A)),
            "v": rng.normal(size=A)}


def _mask(lengths, S):
    return np.arange(S)[None, :] < np.array(lengths)[:, None]


SIZES = [(1, 1, 2, 3, 2, [1]), (3, 5, 4, 6, 3, [5, 3, 1]), (2, 4, 3, 2, 5, [4, 0])]


@pytest.mark.parametrize("N, S, Hq, Hk, A, lengths", SIZES)
def test_attention_backward_matches_numeric_gradients(ref, N, S, Hq, Hk, A, lengths):
    rng = np.random.default_rng(S)
    inputs, mask = _inputs(rng, N, S, Hq, Hk, A), _mask(lengths, S)
    dcontext = rng.normal(size=(N, Hk))

    def loss(q, K, Wq, Wk, v):
        return np.sum(ref.attention_forward(q, K, mask, Wq, Wk, v)[0] * dcontext)

    _, _, cache = ref.attention_forward(mask=mask, **inputs)
    grads = dict(zip(["q", "K", "Wq", "Wk", "v"], ref.attention_backward(dcontext, cache)))
    errors = check_gradients(loss, inputs, grads, tol=GRAD_TOL)
    assert max(errors.values()) < GRAD_TOL


def _torch_attention(q, K, mask, Wq, Wk, v):
    """The notebook's equations written again in PyTorch, independently of rnncourse.seq2seq."""
    scores = torch.tanh(torch.einsum("nq,qa->na", q, Wq)[:, None, :] + torch.einsum("nsk,ka->nsa", K, Wk))
    scores = torch.einsum("nsa,a->ns", scores, v)
    top = torch.where(mask, scores, torch.full_like(scores, -torch.inf)).amax(1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))  # a row all padding
    exp = torch.exp(torch.where(mask, scores - top, torch.full_like(scores, -torch.inf)))
    weights = exp / exp.sum(1, keepdim=True).clamp(min=1e-300)
    return torch.einsum("ns,nsk->nk", weights, K), weights


@pytest.mark.parametrize("N, S, Hq, Hk, A, lengths", SIZES)
def test_attention_matches_pytorch_autograd(ref, N, S, Hq, Hk, A, lengths):
    rng = np.random.default_rng(10 + S)
    inputs, mask = _inputs(rng, N, S, Hq, Hk, A), _mask(lengths, S)
    dcontext = rng.normal(size=(N, Hk))
    context, weights, cache = ref.attention_forward(mask=mask, **inputs)
    ours = dict(zip(["q", "K", "Wq", "Wk", "v"], ref.attention_backward(dcontext, cache)))
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inputs.items()}
    t_context, t_weights = _torch_attention(mask=torch.tensor(mask), **tensors)
    (t_context * torch.tensor(dcontext)).sum().backward()
    assert np.max(np.abs(context - t_context.detach().numpy())) < TORCH_TOL
    assert np.max(np.abs(weights - t_weights.detach().numpy())) < TORCH_TOL
    for name, tensor in tensors.items():
        assert np.max(np.abs(ours[name] - tensor.grad.numpy())) < TORCH_TOL, name


def test_the_provided_pytorch_attention_is_the_same_function(ref):
    # the notebook compares the student's NumPy attention with this module on the same weights
    rng = np.random.default_rng(3)
    N, S, Hq, Hk, A = 3, 6, 5, 4, 3
    module = AdditiveAttention(Hq, Hk, A)
    q, K, mask = rng.normal(size=(N, Hq)), rng.normal(size=(N, S, Hk)), _mask([6, 2, 4], S)
    dcontext = rng.normal(size=(N, Hk))
    theirs = torch_attention_forward_backward(module, q, K, mask, dcontext)
    Wq, Wk, v = (p.detach().double().numpy() for p in (module.Wq, module.Wk, module.v))
    context, weights, cache = ref.attention_forward(q, K, mask, Wq, Wk, v)
    grads = dict(zip(["dq", "dK", "dWq", "dWk", "dv"], ref.attention_backward(dcontext, cache)))
    for name, value in {"context": context, "weights": weights, **grads}.items():
        assert np.max(np.abs(value - theirs[name])) < 1e-10, name
    with torch.no_grad():  # and the module's own forward, in float32, as in training
        own, own_weights = module(torch.tensor(q, dtype=torch.float32), torch.tensor(K, dtype=torch.float32),
                                  torch.tensor(mask))
    assert np.max(np.abs(own.numpy() - context)) < 1e-5


def test_masked_weights_are_exactly_zero_and_the_rest_sum_to_one(ref):
    rng = np.random.default_rng(4)
    inputs, mask = _inputs(rng, 4, 7, 3, 3, 2), _mask([7, 3, 1, 0], 7)
    _, weights, _ = ref.attention_forward(mask=mask, **inputs)
    assert np.all(weights[~mask] == 0)
    assert np.allclose(weights.sum(axis=1), [1, 1, 1, 0])
    # padding content cannot change anything
    inputs["K"][~mask] = 1e6
    context, _, _ = ref.attention_forward(mask=mask, **{**inputs})
    assert np.all(np.isfinite(context)) and np.abs(context).max() < 10


@pytest.mark.parametrize("V, max_len, seed", [(2, 5, 0), (3, 3, 1), (3, 4, 2), (4, 3, 3), (5, 2, 4)])
def test_a_beam_that_holds_every_sequence_is_exhaustive_search(ref, V, max_len, seed):
    model = TableStep(V, eos=seed % V, seed=seed, eos_slope=0.4)
    every = exhaustive_search(model, V, max_len)
    found = ref.beam_search(model, model.initial_state(), V, model.eos, len(every), max_len)
    assert [tuple(t) for t, _ in found] == [t for t, _ in every]
    assert np.allclose([s for _, s in found], [s for _, s in every], rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_beam_size_one_is_greedy_decoding(ref, seed):
    model = TableStep(6, eos=0, seed=seed, eos_slope=0.3)
    tokens, prefix, score = [], (6,), 0.0
    while len(tokens) < 7 and (not tokens or tokens[-1] != 0):
        log_probs = model.log_probs(prefix)
        tokens.append(int(np.argmax(log_probs)))
        score += log_probs[tokens[-1]]
        prefix += (tokens[-1],)
    (found, found_score), = ref.beam_search(model, model.initial_state(), 6, 0, 1, 7)
    assert found.tolist() == tokens and found_score == pytest.approx(score, abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_a_wider_beam_never_finds_a_worse_best_on_the_toy_model(ref, seed):
    model = TableStep(5, eos=1, seed=seed, eos_slope=0.3)
    best = [ref.beam_search(model, model.initial_state(), 5, 1, k, 5)[0][1] for k in (1, 3, 10, 400)]
    exhaustive = exhaustive_search(model, 5, 5)[0][1]
    assert best[-1] == pytest.approx(exhaustive)
    assert all(b <= exhaustive + 1e-12 for b in best)


def test_finished_hypotheses_end_with_eos_and_are_never_extended(ref):
    model = TableStep(6, eos=3, seed=7, eos_slope=0.6)
    for tokens, score in ref.beam_search(model, model.initial_state(), 6, 3, 4, 6):
        assert 3 not in tokens[:-1].tolist() and 6 not in tokens.tolist()
        assert tokens[-1] == 3 or len(tokens) == 6


def test_length_normalisation(ref):
    hypotheses = [(np.array([1, 2]), -2.0), (np.array([1, 1, 1, 2]), -3.0), (np.array([2]), -1.5)]
    assert [s for _, s in ref.length_normalise(hypotheses, 0.0)] == [-1.5, -2.0, -3.0]
    assert [s for _, s in ref.length_normalise(hypotheses, 1.0)] == [-0.75, -1.0, -1.5]
    assert ref.length_normalise([], 1.0) == []
