"""The provided PyTorch model of notebook 06: masks, packing, the masked loss, decoding."""
import numpy as np
import pytest
import torch

from rnncourse.dates import BOS, EOS, TARGET_VOCAB, date_pairs, is_valid_date, make_batch
from rnncourse.seq2seq_train import beam_step, evaluate, greedy_decode, masked_loss, new_model, tensors, train


@pytest.fixture(scope="module")
def pairs():
    return date_pairs(256, 0, 32, seed=1)


@pytest.mark.parametrize("attention", [True, False])
def test_padding_changes_nothing_a_row_computes(attention, pairs):
    model = new_model(attention=attention, seed=0).double()
    alone = tensors(make_batch(pairs["train"][:1]))
    padded = tensors(make_batch([pairs["train"][0], ("Wednesday the 23rd of September 1998", "1998-09-23")]))
    assert padded["source"].shape[1] > alone["source"].shape[1]
    with torch.no_grad():
        logits_alone, _ = model(alone["source"], alone["source_lengths"], alone["target_in"])
        logits_padded, weights = model(padded["source"], padded["source_lengths"], padded["target_in"])
    assert torch.allclose(logits_alone[0], logits_padded[0], atol=1e-12)
    if attention:  # the padded positions of the shorter row get exactly zero weight
        assert torch.all(weights[0, :, alone["source"].shape[1]:] == 0)


def test_the_masked_loss_ignores_masked_positions():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 3, 5), torch.randint(0, 5, (2, 3))
    mask = torch.tensor([[True, True, False], [True, False, False]])
    changed = logits.clone()
    changed[~mask] = 100.0
    assert torch.allclose(masked_loss(logits, target, mask), masked_loss(changed, target, mask))
    expected = torch.nn.functional.cross_entropy(logits[mask], target[mask])
    assert torch.allclose(masked_loss(logits, target, mask), expected)


def test_training_lowers_the_loss_and_decoding_gives_strings(pairs):
    model = new_model(attention=True, seed=0)
    history = train(model, pairs["train"], 30, batch_size=32)
    assert np.mean(history["loss"][-5:]) < np.mean(history["loss"][:5])
    result = evaluate(model, pairs["test"])
    assert len(result["predictions"]) == 32 and 0 <= result["accuracy"] <= 1
    texts, maps = greedy_decode(model, [s for s, _ in pairs["test"][:3]])
    for text, source, weights in zip(texts, pairs["test"][:3], maps):
        assert weights.shape == (min(len(text) + 1, 11), len(source[0]))
        assert np.allclose(weights.sum(axis=1), 1, atol=1e-5)


def test_beam_step_gives_log_probabilities_per_hypothesis(pairs):
    model = new_model(attention=True, seed=0)
    step, state = beam_step(model, pairs["test"][0][0])
    log_probs, new_state = step(np.array([BOS, BOS, 5]), np.repeat(state, 3, axis=0))
    assert log_probs.shape == (3, len(TARGET_VOCAB)) and new_state.shape == (3, state.shape[1])
    assert np.allclose(np.exp(log_probs).sum(axis=1), 1) and np.allclose(log_probs[0], log_probs[1])
    assert EOS < len(TARGET_VOCAB) and not is_valid_date("")
