"""rnncourse.plots: each helper draws what it says, on a new figure or on a given axes."""
import matplotlib

matplotlib.use("Agg")  # before pyplot: tests never open a window

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from rnncourse.data import Vocab
from rnncourse.plots import (
    plot_grad_norms,
    plot_heatmap,
    plot_loss,
    plot_temperature,
    show_samples,
    smooth_curve,
    softmax_with_temperature,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- plot_loss ------------------------------------------------------------------------------

def test_plot_loss_draws_one_line_without_smoothing():
    fig = plot_loss([3.0, 2.0, 1.5], title="my run")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.lines) == 1
    assert np.array_equal(ax.lines[0].get_ydata(), [3.0, 2.0, 1.5])
    assert ax.get_title() == "my run"


def test_plot_loss_adds_the_smoothed_and_validation_curves():
    losses = np.linspace(4, 1, 50) + 0.3 * np.sin(np.arange(50))
    fig = plot_loss(losses, smooth=0.9, val=[(0, 4.0), (25, 2.5), (49, 1.2)])
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # raw, smoothed, validation
    raw, smoothed, val = ax.lines
    assert np.allclose(smoothed.get_ydata(), smooth_curve(losses, 0.9))
    assert np.ptp(np.diff(smoothed.get_ydata())) < np.ptp(np.diff(raw.get_ydata()))
    assert list(val.get_xdata()) == [0, 25, 49]
    assert len(ax.get_legend().get_texts()) == 3


def test_plot_loss_draws_on_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_loss([1.0, 0.5], ax=right) is fig
    assert len(right.lines) == 1 and len(left.lines) == 0


def test_smooth_curve_is_a_debiased_moving_average():
    assert np.allclose(smooth_curve([2.0, 2.0, 2.0], 0.9), 2.0)  # no pull towards 0
    assert np.array_equal(smooth_curve([1.0, 5.0], 0.0), [1.0, 5.0])
    assert smooth_curve([0.0, 1.0], 0.5)[1] == pytest.approx(0.5 / 0.75)
    with pytest.raises(ValueError, match="smooth"):
        plot_loss([1.0, 2.0], smooth=1.0)


# --- plot_temperature -----------------------------------------------------------------------

def test_plot_temperature_bars_are_softmax_probabilities():
    scores = np.random.default_rng(0).normal(size=6) * 3
    temperatures = [0.5, 1.0, 2.0]
    fig = plot_temperature(scores, temperatures, vocab="abcdef", top=10)
    ax = fig.axes[0]
    assert len(ax.containers) == 3
    heights = [[bar.get_height() for bar in bars] for bars in ax.containers]
    assert all(len(row) == 6 for row in heights)  # top is capped at V
    assert np.allclose([sum(row) for row in heights], 1.0)
    # sharper at low temperature: the most likely token gets more of the probability
    assert heights[0][0] > heights[1][0] > heights[2][0]
    assert heights[1] == sorted(heights[1], reverse=True)
    labels = [text.get_text() for text in ax.get_xticklabels()]
    assert labels == ["abcdef"[i] for i in np.argsort(-scores)]


def test_plot_temperature_shows_the_top_tokens_of_a_vocab():
    vocab = Vocab("\n abcdefghijklmnopqrstuvwxyz")
    scores = np.arange(len(vocab), dtype=float)[::-1]  # "\n" most likely, then " "
    fig = plot_temperature(scores, [1.0], vocab=vocab, top=5)
    ax = fig.axes[0]
    assert len(ax.patches) == 5
    assert [t.get_text() for t in ax.get_xticklabels()] == ["\\n", "space", "a", "b", "c"]


def test_softmax_with_temperature():
    scores = np.array([1.0, 2.0, 1000.0])
    assert np.allclose(softmax_with_temperature(scores, 1.0), [0, 0, 1])  # no overflow
    assert np.array_equal(softmax_with_temperature(scores, 0.0), [0, 0, 1])  # greedy
    assert np.allclose(softmax_with_temperature(np.zeros(4), 0.3), 0.25)
    with pytest.raises(ValueError):
        softmax_with_temperature(scores, -1.0)
    with pytest.raises(ValueError, match=r"\(V,\)"):
        plot_temperature(np.zeros((2, 3)), [1.0])


# --- show_samples ---------------------------------------------------------------------------

def test_show_samples_prints_and_returns_a_block_per_temperature(capsys):
    samples = {1.0: "ROMEO: thou", 0.0: "ROMEO: the the", 0.5: "ROMEO: I"}
    text = show_samples(samples)
    assert capsys.readouterr().out == text + "\n"
    for header in ["--- temperature 0 (greedy) ---", "--- temperature 0.5 ---", "--- temperature 1 ---"]:
        assert header in text
    for sample in samples.values():
        assert sample in text
    assert text.index("temperature 0.5") < text.index("temperature 1 ")  # coolest first
    assert isinstance(text, str) and text == str(text)


# --- plot_grad_norms ------------------------------------------------------------------------

def test_plot_grad_norms_one_line_per_label_on_a_log_scale():
    distances = np.arange(1, 21)
    norms = {"tanh RNN": 0.8 ** distances, "LSTM": 0.99 ** distances, "exploding": 1.2 ** distances}
    fig = plot_grad_norms(distances, norms)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(norms)
    assert np.allclose(ax.lines[1].get_ydata(), norms["LSTM"])


def test_plot_grad_norms_checks_each_curve_has_a_norm_per_distance():
    with pytest.raises(ValueError, match="LSTM"):
        plot_grad_norms(np.arange(5), {"LSTM": np.ones(4)})


# --- plot_heatmap ---------------------------------------------------------------------------

def test_plot_heatmap_draws_the_matrix_with_its_labels():
    weights = np.random.default_rng(0).dirichlet(np.ones(4), size=3)  # (3 outputs, 4 inputs)
    fig = plot_heatmap(weights, xlabels=["a", "b", " ", "d"], ylabels=["x", "y", "z"],
                       title="attention", vmin=0, vmax=1)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    assert np.array_equal(ax.images[0].get_array(), weights)
    assert ax.images[0].get_clim() == (0, 1)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "space", "d"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "z"]
    assert len(fig.axes) == 2  # the plot and its colour bar


def test_plot_heatmap_rejects_labels_that_do_not_fit():
    with pytest.raises(ValueError, match="xlabels"):
        plot_heatmap(np.zeros((2, 3)), xlabels=["a", "b"])
    with pytest.raises(ValueError, match=r"\(R, C\)"):
        plot_heatmap(np.zeros(3))


def test_plot_temperature_names_the_temperature_tau_not_T():
    fig = plot_temperature(np.array([1.0, 0.0, -1.0]), [0.5, 2.0])
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["τ = 0.5", "τ = 2"]
    assert "τ" in ax.get_title() and "T" not in ax.get_title()


def test_show_samples_prints_a_note_first(capsys):
    text = show_samples({1.0: "abc"}, note=" (grading budget: not the real experiment)")
    assert text.splitlines()[0] == "(grading budget: not the real experiment)"
    assert show_samples({1.0: "abc"}) == "--- temperature 1 ---\nabc"


def test_plot_char_activations_lays_text_out_as_it_reads():
    from rnncourse.plots import plot_char_activations

    text = "AB:\nabcdef"
    values = np.linspace(-1, 1, len(text))
    fig = plot_char_activations(text, values, width=4, title="unit 3")
    ax = fig.axes[0]
    assert ax.get_title() == "unit 3"
    drawn = [(t.get_text(), t.get_position()) for t in ax.texts]
    assert [ch for ch, _ in drawn] == ["A", "B", ":", "⏎", "a", "b", "c", "d", "e", "f"]
    assert drawn[3][1] == (3, 0) and drawn[4][1] == (0, 1)  # the newline ends row 0
    assert drawn[8][1] == (0, 2)  # row 1 is full at width 4: "e" wraps to row 2
    grid = ax.images[0].get_array()
    assert grid.shape == (3, 4) and grid[0, 0] == -1 and grid[2, 1] == 1
    assert np.ma.is_masked(grid[2, 2])  # no character there


def test_plot_char_activations_rejects_values_that_do_not_fit():
    from rnncourse.plots import plot_char_activations

    with pytest.raises(ValueError, match="one per character"):
        plot_char_activations("abc", np.zeros(2))
    with pytest.raises(ValueError, match="width"):
        plot_char_activations("abc", np.zeros(3), width=0)
