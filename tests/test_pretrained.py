"""The shipped pre-trained character RNN loads with the documented layout and still predicts."""
import numpy as np
import pytest

from rnncourse import pretrained
from rnncourse.data import DataError, Vocab, load_text
from rnncourse.pretrained import load_char_rnn

V, E, H = 65, 64, 256


@pytest.fixture(scope="module")
def char_rnn():
    return load_char_rnn()


def test_shapes_and_dtypes(char_rnn):
    params, _ = char_rnn
    expected = {"W_embed": (V, E), "Wx": (E, H), "Wh": (H, H), "b": (H,), "W_out": (H, V),
                "b_out": (V,)}
    assert {k: v.shape for k, v in params.items()} == expected
    assert all(v.dtype == np.float64 for v in params.values())


def test_vocab_is_tinyshakespeare(char_rnn):
    _, vocab = char_rnn
    assert vocab.chars == Vocab.from_text(load_text("tinyshakespeare")).chars


def test_unknown_name():
    with pytest.raises(ValueError, match="char_rnn_shakespeare"):
        load_char_rnn("char_rnn_klingon")


def test_missing_or_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS", tmp_path)
    with pytest.raises(DataError, match="missing"):
        load_char_rnn()
    (tmp_path / "char_rnn_shakespeare.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="corrupt"):
        load_char_rnn()


def test_validation_loss(char_rnn):
    """A NumPy forward over the held-out last 10% of the text reproduces the stored loss.

    The windows are the ones ``autograder/pretrain.py`` evaluates on (100 characters, each from
    h_0 = 0), so only float32 -> float64 rounding separates the two numbers; a wrong layout
    (say ``Wx`` untransposed or one of PyTorch's two biases dropped) misses by far more.
    """
    params, vocab = char_rnn
    ids = vocab.encode(load_text("tinyshakespeare"))
    val = ids[int(len(ids) * 0.9) :]
    n = (len(val) - 1) // 100
    x, y = val[: n * 100].reshape(n, 100), val[1 : n * 100 + 1].reshape(n, 100)  # (N, T)
    e = params["W_embed"][x]  # (N, T, E)
    h = np.zeros((n, H))
    loss = 0.0
    for t in range(x.shape[1]):
        h = np.tanh(e[:, t] @ params["Wx"] + h @ params["Wh"] + params["b"])  # (N, H)
        scores = h @ params["W_out"] + params["b_out"]  # (N, V)
        scores -= scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        loss -= log_probs[np.arange(n), y[:, t]].sum()
    loss /= x.size
    with (pretrained.WEIGHTS / "char_rnn_shakespeare.npz").open("rb") as f:
        stored = float(np.load(f)["val_loss"])
    assert loss < 2.0, f"validation loss {loss:.3f} nats/char: the weights are barely trained"
    assert abs(loss - stored) < 1e-3, f"NumPy forward gives {loss:.4f}, the file says {stored:.4f}"
