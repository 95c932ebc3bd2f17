"""rnncourse.threads, rnncourse.budget and rnncourse.metrics: the helpers every notebook shares."""
import math

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from rnncourse.budget import BUDGET_NOTE, budget_note, graded
from rnncourse.metrics import bits, describe_loss, perplexity
from rnncourse.threads import training_threads, use_training_threads
from rnncourse.torch_lm import bits as torch_lm_bits


def blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_training_threads_limits_blas_and_torch_then_restores_them():
    np.ones(2) @ np.ones(2)  # make sure NumPy's BLAS is loaded
    torch.set_num_threads(2)
    blas_before = blas_threads()
    assert blas_before, "NumPy's BLAS should be visible to threadpoolctl"
    with training_threads(1):
        assert blas_threads() == [1] * len(blas_before)
        assert torch.get_num_threads() == 1
    assert blas_threads() == blas_before
    assert torch.get_num_threads() == 2


def test_training_threads_restores_after_an_exception():
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError), training_threads(1):
        raise RuntimeError("training failed")
    assert torch.get_num_threads() == 2


def test_use_training_threads_stays_set():
    before = torch.get_num_threads()
    try:
        use_training_threads(1)
        assert torch.get_num_threads() == 1
        assert set(blas_threads()) == {1}
    finally:
        use_training_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_thread_counts_must_be_positive_ints(bad):
    with pytest.raises(ValueError, match="positive int"):
        use_training_threads(bad)
    with pytest.raises(ValueError, match="positive int"), training_threads(bad):
        pass


def test_budget_note_only_when_nbgrader_executes(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not graded() and budget_note() == ""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert graded() and budget_note() == f" ({BUDGET_NOTE})"
    assert "not the real experiment" in BUDGET_NOTE
    monkeypatch.setenv("NBGRADER_EXECUTION", "")
    assert not graded()


def test_loss_units():
    assert bits(math.log(2)) == pytest.approx(1.0)
    assert perplexity(math.log(65)) == pytest.approx(65.0)
    assert torch_lm_bits is bits  # one copy, re-exported
    assert describe_loss(1.576) == "1.576 nats = 2.27 bits per character, perplexity 4.8"
    for bad in [float("nan"), -0.1, float("inf")]:
        with pytest.raises(ValueError, match="finite number >= 0"):
            describe_loss(bad)


def test_scaled_orthogonal_has_every_singular_value_sigma():
    from rnncourse.initializers import scaled_orthogonal

    W = scaled_orthogonal(6, 0.9, np.random.default_rng(0))
    assert W.shape == (6, 6)
    assert np.allclose(np.linalg.svd(W, compute_uv=False), 0.9)
    assert np.array_equal(W, scaled_orthogonal(6, 0.9, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="H must be"):
        scaled_orthogonal(0, 1.0, np.random.default_rng(0))


def test_text_features_need_memory_and_correlations_find_a_tracking_unit():
    from rnncourse.interpret import correlations, text_features

    text = "AB:\nhi yo\nok\nCD:\nx"
    features = text_features(text)
    assert features["position in the line"].tolist() == [1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 0, 1]
    assert features["position in the word"].tolist() == [1, 2, 0, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1]
    assert features["inside a speaker's name"].tolist() == [1] * 3 + [0] * 10 + [1] * 3 + [0] * 2
    assert features["line of the speech"].tolist() == [0] * 4 + [1] * 6 + [2] * 3 + [0] * 4 + [1]
    rng = np.random.default_rng(0)
    line = features["position in the line"]
    activations = np.stack([rng.normal(size=line.size), -2 * line + 1, np.ones(line.size)], axis=1)
    r = correlations(activations, features)
    assert r["position in the line"][1] == pytest.approx(-1.0)
    assert r["position in the line"][2] == 0.0  # a constant unit correlates with nothing
    assert abs(r["position in the line"][0]) < 0.9
    with pytest.raises(ValueError, match="expected"):
        correlations(activations[:-1], features)
    with pytest.raises(ValueError, match="non-empty"):
        text_features("")
