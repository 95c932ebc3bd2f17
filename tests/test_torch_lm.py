"""rnncourse.torch_lm: the character models, budgets, masked losses and training of notebook 04."""
import math

import numpy as np
import pytest
import torch

from rnncourse.torch_lm import (
    CharModel,
    bits,
    count_parameters,
    evaluate,
    evaluate_streams,
    hidden_for_budget,
    pad_batch,
    perplexity,
    sequence_loss,
    train_for,
)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_hidden_for_budget_is_the_largest_model_within_it(kind):
    H = hidden_for_budget(kind, 65, 16, 50_000)
    assert count_parameters(CharModel(kind, 65, 16, H)) <= 50_000 < count_parameters(CharModel(kind, 65, 16, H + 1))


def test_at_one_budget_the_gru_gets_more_units_than_the_lstm():
    sizes = {kind: hidden_for_budget(kind, 65, 32, 100_000) for kind in ("rnn", "lstm", "gru")}
    assert sizes["lstm"] < sizes["gru"] < sizes["rnn"]


def test_pad_batch_pads_and_masks():
    ids, mask = pad_batch([np.array([1, 2, 3]), np.array([4])], pad_id=0)
    np.testing.assert_array_equal(ids, [[1, 2, 3], [4, 0, 0]])
    np.testing.assert_array_equal(mask, [[True, True, True], [True, False, False]])


def test_the_masked_loss_ignores_padding():
    torch.manual_seed(0)
    model = CharModel("gru", 5, 3, 4)
    x = torch.tensor([[1, 2, 3], [4, 1, 1]])
    y = torch.tensor([[2, 3, 0], [1, 0, 0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    other = y.clone()
    other[1, 1:] = 4  # change only padded targets
    assert torch.equal(sequence_loss(model, x, y, mask), sequence_loss(model, x, other, mask))
    assert not torch.equal(sequence_loss(model, x, y), sequence_loss(model, x, other))


def test_a_causal_model_scores_position_t_from_the_prefix_only():
    torch.manual_seed(0)
    model = CharModel("lstm", 6, 3, 4)
    x = torch.tensor([[1, 2, 3, 4]])
    changed = x.clone()
    changed[0, 3] = 5
    with torch.no_grad():
        assert torch.equal(model(x)[0][:, :3], model(changed)[0][:, :3])


def test_training_lowers_the_loss_and_counts_steps():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2, size=(400, 9)) * 2  # ids 0 or 2, and y repeats x: easy to learn

    def batches():
        while True:
            rows = data[rng.integers(0, 400, size=16)]
            yield rows[:, :-1], rows[:, :-1]

    model = CharModel("gru", 3, 4, 8)
    before = evaluate(model, [(data[:, :-1], data[:, :-1])])
    run = train_for(model, batches(), steps=60, lr=1e-2, evaluate_fn=lambda m: evaluate(m, [(data[:, :-1], data[:, :-1])]), evals=3)
    assert run["steps"] == 60 and len(run["history"]) == 3
    assert run["history"][-1][2] < 0.5 * before


def test_units():
    assert bits(math.log(2)) == pytest.approx(1.0)
    assert perplexity(math.log(65)) == pytest.approx(65.0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_the_streamed_evaluation_equals_reading_each_stream_in_one_go(kind):
    # oracle: carrying the state from chunk to chunk must give exactly the loss of one call over
    # each whole stream; a zero state per chunk (evaluate) must give a different, higher figure
    from rnncourse.data import sequential_batches

    torch.manual_seed(0)
    model = CharModel(kind, 7, 4, 6).double()
    ids = np.random.default_rng(0).integers(0, 7, size=3 * 40 + 1)
    chunks = list(sequential_batches(ids, 3, 10))
    x = torch.as_tensor(np.concatenate([c[0] for c in chunks], axis=1))
    y = torch.as_tensor(np.concatenate([c[1] for c in chunks], axis=1))
    with torch.no_grad():
        whole = float(torch.nn.functional.cross_entropy(model(x)[0].flatten(0, 1), y.flatten()))
    assert evaluate_streams(model, chunks) == pytest.approx(whole, rel=1e-12)
    assert evaluate(model, chunks) != pytest.approx(whole, rel=1e-6)


def test_annealing_lowers_the_learning_rate_to_a_twentieth_by_the_end():
    def batches():
        while True:
            yield np.zeros((2, 5), dtype=np.int64), np.ones((2, 5), dtype=np.int64)

    model = CharModel("gru", 3, 2, 2)
    flat = train_for(model, batches(), steps=20, lr=1e-2)
    decayed = train_for(model, batches(), steps=20, lr=1e-2, anneal=True)
    assert flat["last_lr"] == 1e-2
    # the last step runs at fraction 19/20 of the budget: just above lr / 20
    expected = 1e-2 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 19 / 20)))
    assert decayed["last_lr"] == pytest.approx(expected) and expected < 1e-2 / 15


def test_carrying_the_state_starts_each_batch_where_the_last_ended():
    seen = []

    class Recording(CharModel):
        def forward(self, x, state=None):
            seen.append(state)
            return super().forward(x, state)

    def batches():
        while True:
            yield np.zeros((2, 5), dtype=np.int64), np.ones((2, 5), dtype=np.int64)

    model = Recording("lstm", 3, 2, 4)
    train_for(model, batches(), steps=3, lr=1e-2)
    assert seen == [None, None, None]
    seen.clear()
    train_for(model, batches(), steps=3, lr=1e-2, carry_state=True)
    assert seen[0] is None and all(isinstance(s, tuple) and s[0].shape == (1, 2, 4) for s in seen[1:])
    assert not any(t.requires_grad for s in seen[1:] for t in s)  # detached: gradients stop there
