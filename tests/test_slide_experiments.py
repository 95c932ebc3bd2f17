"""slides.experiments: what the decks compute, checked against what it must be."""
import numpy as np

from slides import experiments


def test_linear_rnn_gradient_norm_is_exactly_sigma_to_the_k():
    for sigma in (0.8, 1.25):
        norms = experiments.gradient_norms(sigma, with_tanh=False, T=20)
        np.testing.assert_allclose(norms, sigma ** np.arange(20), rtol=1e-10)


def test_tanh_only_shrinks_the_gradient():
    linear = experiments.gradient_norms(1.25, with_tanh=False, T=30)
    tanh = experiments.gradient_norms(1.25, with_tanh=True, T=30)
    assert np.all(tanh <= linear * (1 + 1e-12)) and tanh[-1] < 1e-2 * linear[-1]


def test_the_reference_lstm_matches_pytorch():
    assert max(experiments.torch_match().values()) < 1e-12


def test_the_pretrained_model_beats_a_uniform_guess():
    uniform, pretrained = experiments.held_out_loss(n_rows=4, length=100)
    assert np.isclose(uniform, np.log(65)) and pretrained < 0.5 * uniform


def test_schedules_start_at_one_and_decay():
    steps = np.arange(0, 10001, 100)
    for name, values in experiments.teacher_forcing_schedules(steps).items():
        assert np.isclose(values[0], 1.0, atol=2e-3), name
        assert np.all(np.diff(values) <= 1e-12) and values[-1] < 0.2, name


def test_synthetic_attention_rows_are_distributions():
    weights = experiments.synthetic_date_attention()
    assert weights.shape == (10, 10)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights[0].argmax() == 8 and weights[-1].argmax() == 3  # day first, year last


def test_toy_decoder_greedy_is_not_the_most_likely_sequence():
    sequences = experiments.toy_sequences()
    assert np.isclose(sum(p for _, p in sequences), 1.0)
    best, greedy = sequences[0], experiments.toy_greedy()
    assert best[0] == "bx" and greedy[0] == "ax" and greedy[1] < best[1]


def test_parameter_counts_are_pytorchs():
    table = experiments.parameter_counts(D=8, hidden_sizes=(4,))
    # GRU: 3H(D + H) + 6H = 3*4*12 + 24 = 168; LSTM: 4H(D + H) + 8H = 224
    assert "168" in table and "224" in table and "0.75" in table
