"""rnncourse.figures: the diagrams draw what they say, on a new figure or on a given axes."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnncourse.figures import plot_curves, plot_io_patterns, plot_layers, plot_unrolled


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def _arrows(ax, colour=None):
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    if colour is not None:
        arrows = [a for a in arrows if np.allclose(a.get_edgecolor()[:3], plt.matplotlib.colors.to_rgb(colour))]
    return arrows


def test_plot_unrolled_draws_one_box_per_step_and_labels_every_state():
    fig = plot_unrolled(3, ["x1", "x2", "x3"], [None, None, "y"], title="t")
    ax = fig.axes[0]
    assert len(_boxes(ax)) == 3
    texts = _texts(ax)
    assert ["h0", "h1", "h2", "h3"] == [t for t in texts if t.startswith("h")]
    assert {"x1", "x2", "x3", "y"} <= set(texts) and texts.count("step") == 3
    # 4 state arrows, 3 inputs, 1 output
    assert len(_arrows(ax)) == 8
    plt.close(fig)


def test_plot_unrolled_backward_arrows_stop_at_the_cuts():
    fig = plot_unrolled(6, backward=True, cuts=[3])
    red = _arrows(fig.axes[0], "C3")
    assert len(red) == 4  # between steps 1-2, 2-3, 4-5, 5-6; none across the cut
    plt.close(fig)


def test_plot_unrolled_on_given_axes_and_rejects_bad_arguments():
    fig, ax = plt.subplots()
    assert plot_unrolled(2, ax=ax) is fig
    with pytest.raises(ValueError, match="T must be"):
        plot_unrolled(0)
    with pytest.raises(ValueError, match="2 inputs for 3 steps"):
        plot_unrolled(3, ["a", "b"])
    with pytest.raises(ValueError, match="cuts"):
        plot_unrolled(3, cuts=[3])
    plt.close("all")


def test_plot_io_patterns_has_the_four_patterns():
    fig = plot_io_patterns()
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4
    assert any("one-to-many" in t for t in titles) and any("many-to-one" in t for t in titles)
    assert any("many-to-many" in t for t in titles) and any("encoder-decoder" in t for t in titles)
    plt.close(fig)


def test_plot_layers_stacked_and_bidirectional():
    fig = plot_layers(4, 3)
    ax = fig.axes[0]
    assert len(_boxes(ax)) == 12 and len(_arrows(ax, "C1")) == 0
    plt.close(fig)
    fig = plot_layers(4, 2, bidirectional=True)
    assert len(_arrows(fig.axes[0], "C1")) == 2 * 3  # one right-to-left state arrow per gap and layer
    plt.close(fig)
    with pytest.raises(ValueError):
        plot_layers(0, 1)


def test_plot_curves_draws_each_curve_and_checks_shapes():
    x = np.arange(5)
    fig = plot_curves(x, {"a": x ** 2, "b": np.ones(5)}, xlabel="i", ylabel="v", logy=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), x ** 2)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "i"
    plt.close(fig)
    with pytest.raises(ValueError, match="shape"):
        plot_curves(x, {"a": np.ones(4)}, xlabel="i", ylabel="v")
    with pytest.raises(ValueError, match="at least one"):
        plot_curves(x, {}, xlabel="i", ylabel="v")
