"""What the decks compute for their figures and numbers.

Every computation runs the course's reference implementations, loaded from the solution
notebooks by :func:`autograder.checks.reference.load_reference` (the very functions the notebooks ask
students to write), on the course's data, tasks and pre-trained weights; every figure is drawn by
:mod:`rnncourse.plots` or :mod:`rnncourse.figures`. This module is the instructor's side of the
slides: it is not part of what students import, and a deck calls it in cells whose code the built
HTML leaves out, so no slide shows the body of a graded function.
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from autograder.checks.reference import load_reference
from rnncourse.data import load_text
from rnncourse.initializers import scaled_orthogonal
from rnncourse.plots import format_samples, plot_grad_norms, plot_temperature
from rnncourse.pretrained import load_char_rnn
from rnncourse.tasks import adding_problem


def use_slide_style() -> None:
    """Matplotlib settings for figures shown on a 1280 x 720 slide: large text, crisp PNGs."""
    plt.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 13,
        "axes.titlesize": 14,
        "axes.labelsize": 13,
        "legend.fontsize": 11,
    })
    try:  # inside IPython: PNG figures, cropped to their content
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
    except ImportError:
        pass


# --- deck 01: the pre-trained character model ---------------------------------------------

def _char_model():
    params, vocab = load_char_rnn("char_rnn_shakespeare")
    return load_reference("01_vanilla_rnn"), params, vocab


def next_char_scores(prompt: str) -> tuple[np.ndarray, object]:
    """The pre-trained model's scores for the character after ``prompt``, shape (V,), and its vocab.

    The state is carried through the prompt by the reference ``rnn_step_forward`` of notebook 01.
    """
    ref, params, vocab = _char_model()
    h = np.zeros((1, params["Wh"].shape[0]))
    for token in vocab.encode(prompt):
        h, _ = ref.rnn_step_forward(params["W_embed"][[token]], h, params["Wx"], params["Wh"], params["b"])
    return (h @ params["W_out"] + params["b_out"])[0], vocab


def temperature_figure(prompt: str, temperatures: Sequence[float] = (0.5, 1.0, 2.0), top: int = 12) -> Figure:
    """Bars of softmax(scores / T) for the character after ``prompt``, one series per temperature."""
    scores, vocab = next_char_scores(prompt)
    fig = plot_temperature(scores, list(temperatures), vocab=vocab, top=top,
                           title=f"next character after {prompt!r}: softmax(s / T)")
    fig.set_size_inches(11, 4.2)
    fig.tight_layout()
    return fig


def samples_text(prompt: str, temperatures: Sequence[float], length: int, seed: int = 1) -> str:
    """Continuations of ``prompt`` by the reference ``sample`` of notebook 01, one per temperature."""
    ref, params, vocab = _char_model()
    prefix = vocab.encode(prompt)[None, :]
    return format_samples({
        temperature: prompt + vocab.decode(ref.sample(params, prefix, length, temperature, seed=seed)[0])
        for temperature in temperatures
    })


def held_out_loss(n_rows: int = 32, length: int = 200) -> tuple[float, float]:
    """(log V, the pre-trained model's mean loss in nats per character) on the last 10% of the text.

    Computed with the reference forward functions of notebook 01, teacher forcing, every position
    counted; ``n_rows`` windows of ``length`` + 1 characters from the start of the held-out part.
    """
    ref, params, vocab = _char_model()
    text = load_text("tinyshakespeare")
    held_out = vocab.encode(text[int(0.9 * len(text)):])
    rows = held_out[: n_rows * (length + 1)].reshape(n_rows, length + 1)
    x, y = rows[:, :-1], rows[:, 1:]
    embedded, _ = ref.word_embedding_forward(x, params["W_embed"])
    h0 = np.zeros((n_rows, params["Wh"].shape[0]))
    h, _ = ref.rnn_forward(embedded, h0, params["Wx"], params["Wh"], params["b"])
    scores, _ = ref.temporal_affine_forward(h, params["W_out"], params["b_out"])
    loss, _ = ref.temporal_softmax_loss(scores, y, np.ones(y.shape, dtype=bool))
    return float(np.log(len(vocab))), float(loss)


# --- deck 02: gradients through time ------------------------------------------------------

def gradient_norms(sigma: float, with_tanh: bool, T: int = 60, D: int = 16, H: int = 64,
                   seed: int = 0) -> np.ndarray:
    """||dL/dh_{T-k}|| for k = 0 .. T-1 when the loss reads only the last state, shape (T,).

    ``Wh`` is ``sigma`` times a random orthogonal matrix; the unit gradient at the last state
    is carried back by the reference ``rnn_step_backward`` of notebook 02 (``with_tanh``) or by
    ``Wh.T`` alone (a linear RNN, where the norm is exactly ``sigma**k``).
    """
    ref = load_reference("02_bptt")
    rng = np.random.default_rng(seed)
    Wx = rng.normal(scale=1 / np.sqrt(D), size=(D, H))
    Wh = scaled_orthogonal(H, sigma, rng)
    x = rng.normal(size=(1, T, D))
    _, caches = ref.rnn_forward(x, np.zeros((1, H)), Wx, Wh, np.zeros(H))
    grad = rng.normal(size=(1, H))
    grad /= np.linalg.norm(grad)
    norms = []
    for cache in reversed(caches):
        norms.append(np.linalg.norm(grad))
        grad = ref.rnn_step_backward(grad, cache)[1] if with_tanh else grad @ Wh.T
    return np.array(norms)


def gradient_norms_figure(sigmas: Sequence[float] = (0.8, 1.0, 1.25, 2.0, 4.0), T: int = 60) -> Figure:
    """Two panels, linear RNN and tanh RNN: gradient norm against distance for several sigma."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3), sharey=True)
    for ax, with_tanh, title in [(axes[0], False, "linear RNN (no tanh)"), (axes[1], True, "tanh RNN")]:
        norms = {f"σ = {s:g}": gradient_norms(s, with_tanh, T=T) for s in sigmas}
        plot_grad_norms(np.arange(T), norms, ax=ax, title=title)
    fig.tight_layout()
    return fig


def clipping_demo(max_norm: float = 1.0, seed: int = 0) -> str:
    """One clipping by the reference ``clip_grad_norm``: the norms before and after, and the cosine."""
    ref = load_reference("02_bptt")
    rng = np.random.default_rng(seed)
    grads = {"Wx": rng.normal(size=(3, 4)), "Wh": 10 * rng.normal(size=(4, 4)), "b": rng.normal(size=4)}
    before = np.concatenate([g.ravel() for g in grads.values()])
    total = ref.clip_grad_norm(grads, max_norm)
    after = np.concatenate([g.ravel() for g in grads.values()])
    cosine = before @ after / (np.linalg.norm(before) * np.linalg.norm(after))
    return (f"global norm before: {total:.2f}   after: {np.linalg.norm(after):.2f}   "
            f"cosine(before, after): {cosine:.6f}")


# --- deck 03: the LSTM --------------------------------------------------------------------

def _init_model(kind: str, H: int, D: int = 2, forget_bias=0.0, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    G = 4 * H if kind == "lstm" else H  # the LSTM's four blocks i, f, o, g
    params = {
        "Wx": rng.normal(scale=1 / np.sqrt(D), size=(D, G)),
        "Wh": rng.normal(scale=1 / np.sqrt(H), size=(H, G)),
        "b": np.zeros(G),
    }
    if kind == "lstm":
        params["b"][H:2 * H] = forget_bias  # the f block
    return params


def chrono_forget_bias(H: int, t_max: int, seed: int = 0) -> np.ndarray:
    """b_f = log(u), u ~ U(1, t_max - 1) (Tallec and Ollivier, 2018), shape (H,)."""
    return np.log(np.random.default_rng(seed).uniform(1, t_max - 1, size=H))


def memory_grad_norms(kind: str, params: dict, T: int, seed: int = 0) -> np.ndarray:
    """||dL/dh_{T-k}|| (RNN) or ||dL/dc_{T-k}|| (LSTM) for a unit gradient on the last state.

    One adding-problem sequence is read by the reference forward of notebook 03 (its provided
    RNN, or its LSTM), and the gradient is carried back by the reference step backward.
    """
    ref = load_reference("03_lstm")
    H = params["Wh"].shape[0]
    x, _ = adding_problem(1, T, seed=seed)
    forward = ref.lstm_forward if kind == "lstm" else ref.rnn_forward
    _, cache = forward(x, np.zeros((1, H)), params["Wx"], params["Wh"], params["b"])
    grad = np.random.default_rng(seed).normal(size=(1, H))
    grad /= np.linalg.norm(grad)
    dc = np.zeros_like(grad)
    norms = []
    for step in reversed(range(T)):
        if kind == "rnn":
            norms.append(np.linalg.norm(grad))
            grad = ref.rnn_step_backward(grad, cache[step])[1]
        else:
            o, c = cache[step][7], cache[step][9]  # the cache layout notebook 03 documents
            norms.append(np.linalg.norm(dc + grad * o * (1 - np.tanh(c) ** 2)))
            _, grad, dc, _, _, _ = ref.lstm_step_backward(grad, dc, cache[step])
    return np.array(norms)


def memory_gradient_figure(T: int = 100, H: int = 16) -> Figure:
    """Gradient of the memory against distance at initialisation: RNN, LSTM with three forget biases."""
    norms = {
        "vanilla RNN": memory_grad_norms("rnn", _init_model("rnn", H), T),
        "LSTM, b_f = 0": memory_grad_norms("lstm", _init_model("lstm", H, forget_bias=0.0), T),
        "LSTM, b_f = 1": memory_grad_norms("lstm", _init_model("lstm", H, forget_bias=1.0), T),
        "LSTM, chrono b_f": memory_grad_norms(
            "lstm", _init_model("lstm", H, forget_bias=chrono_forget_bias(H, T)), T),
    }
    fig = plot_grad_norms(np.arange(T), norms,
                          title="At initialisation: gradient of the memory, k steps back")
    fig.set_size_inches(10, 4.3)
    fig.tight_layout()
    return fig


def torch_match(N: int = 3, T: int = 6, D: int = 4, H: int = 5, seed: int = 0) -> dict[str, float]:
    """The largest difference between the reference LSTM and ``torch.nn.LSTM`` (float64), per output.

    Forward and backward of both on the same weights, inputs and upstream gradient, PyTorch's
    side converted to the course's layout by :mod:`rnncourse.torch_bridge`.
    """
    import torch

    from rnncourse.torch_bridge import lstm_params_from_torch, torch_lstm_forward_backward

    ref = load_reference("03_lstm")
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    Wx, Wh, b = lstm_params_from_torch(lstm)
    rng = np.random.default_rng(seed + 1)
    x, h0, dh = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, T, H))
    h, cache = ref.lstm_forward(x, h0, Wx, Wh, b)
    ours = dict(zip(["dx", "dh0", "dWx", "dWh", "db"], ref.lstm_backward(dh, cache)), h=h)
    theirs = torch_lstm_forward_backward(lstm, x, h0, dh)
    return {name: float(np.max(np.abs(np.asarray(ours[name]) - value))) for name, value in theirs.items()}


# --- deck 04: the GRU's size ----------------------------------------------------------------

def parameter_counts(D: int, hidden_sizes: Sequence[int]) -> str:
    """A table of the parameters of one ``torch.nn`` RNN, GRU and LSTM layer, counted by PyTorch."""
    import torch

    lines = [f"{'H':>5} {'RNN':>9} {'GRU':>9} {'LSTM':>9}   GRU / LSTM"]
    for H in hidden_sizes:
        counts = [sum(p.numel() for p in layer(D, H).parameters())
                  for layer in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM)]
        lines.append(f"{H:>5} {counts[0]:>9,} {counts[1]:>9,} {counts[2]:>9,}   {counts[1] / counts[2]:.2f}")
    return f"one layer, input size D = {D}, both biases counted as PyTorch stores them\n" + "\n".join(lines)


# --- deck 05: scheduled sampling ------------------------------------------------------------

def teacher_forcing_schedules(steps: np.ndarray) -> dict[str, np.ndarray]:
    """The three decays of Bengio et al. (2015) for the probability of feeding the true token,
    computed by notebook 05's own schedules.

    Linear ``max(0.1, 1 - i / 5000)``, exponential ``0.9995 ** i`` and inverse sigmoid
    ``k / (k + exp(i / k))`` with ``k = 600``, at training steps ``i``; the constants are
    illustrative, picked so that the three curves cross 0.5 at similar steps.
    """
    ref = load_reference("05_scheduled_sampling")
    steps = np.asarray(steps)
    return {
        "linear: max(ε, 1 - c·i)": np.array([ref.linear_schedule(i, 1.0, 1 / 5000, 0.1) for i in steps]),
        "exponential: k^i": np.array([ref.exponential_schedule(i, 0.9995) for i in steps]),
        "inverse sigmoid: k / (k + exp(i / k))": np.array([ref.inverse_sigmoid_schedule(i, 600.0)
                                                          for i in steps]),
    }


def compounding_errors(lengths: np.ndarray, error_rates: Sequence[float]) -> dict[str, np.ndarray]:
    """P(no mistake in the first t tokens) = (1 - p)^t, if each token were wrong independently with p."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return {f"p = {p:g} per token": (1.0 - p) ** lengths for p in error_rates}


# --- deck 06: attention and decoding ----------------------------------------------------------

def synthetic_date_attention(source: str = "2024-03-07", target: str = "07/03/2024",
                             sharpness: float = 3.0) -> np.ndarray:
    """Made-up attention weights for a date reformatting, shape (len(target), len(source)).

    Not a trained model: each target character is given the source position it copies (day,
    month and year swapped; a separator looks at the separators), and its weights are
    ``softmax(-sharpness * |s - aligned|)`` over the source positions s.
    """
    aligned = []
    for t, char in enumerate(target):
        if t < 2:            # day digits <- source positions 8, 9
            aligned.append(8 + t)
        elif t == 2:         # "/" <- the second "-"
            aligned.append(7)
        elif t < 5:          # month digits <- 5, 6
            aligned.append(t + 2)
        elif t == 5:         # "/" <- the first "-"
            aligned.append(4)
        else:                # year digits <- 0 .. 3
            aligned.append(t - 6)
    positions = np.arange(len(source))
    scores = -sharpness * np.abs(positions[None, :] - np.array(aligned)[:, None])
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


# A toy decoder: the probability of each next token given the tokens so far ("" = start).
# Made up to show a case where the greedy choice is not the most likely sequence.
TOY_DECODER = {
    "": {"a": 0.55, "b": 0.45},
    "a": {"x": 0.40, "y": 0.35, "<end>": 0.25},
    "b": {"x": 0.90, "<end>": 0.10},
    "ax": {"<end>": 1.0}, "ay": {"<end>": 1.0}, "bx": {"<end>": 1.0},
}


def toy_sequences(decoder: dict = TOY_DECODER) -> list[tuple[str, float]]:
    """Every complete sequence of a toy decoder and its probability, most likely first (by enumeration)."""
    done, frontier = [], [("", 1.0)]
    while frontier:
        prefix, p = frontier.pop()
        for token, q in decoder[prefix].items():
            if token == "<end>":
                done.append((prefix, p * q))
            else:
                frontier.append((prefix + token, p * q))
    return sorted(done, key=lambda item: -item[1])


def toy_greedy(decoder: dict = TOY_DECODER) -> tuple[str, float]:
    """The toy decoder's greedy sequence: the most likely token at every step."""
    prefix, p = "", 1.0
    while True:
        token, q = max(decoder[prefix].items(), key=lambda item: item[1])
        p *= q
        if token == "<end>":
            return prefix, p
        prefix += token
