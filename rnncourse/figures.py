"""Diagrams drawn with Matplotlib: unrolled recurrent networks, their input/output patterns,
stacked and bidirectional layers, and plain curves.

They draw structure, not results: no function here computes anything a notebook grades. Like
:mod:`rnncourse.plots`, each draws on ``ax`` when one is given and otherwise on a new figure,
returns the :class:`~matplotlib.figure.Figure`, and never shows or blocks.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["plot_unrolled", "plot_io_patterns", "plot_layers", "plot_curves"]

_BOX = dict(boxstyle="round,pad=0.02,rounding_size=0.08", linewidth=1.5)
_STEP_COLOUR = "#dbe9f6"
_ENCODER_COLOUR = "#e3f1e0"


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def _box(ax: Axes, x: float, y: float, label: str, colour: str, size=(0.7, 0.55)) -> None:
    w, h = size
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, facecolor=colour, edgecolor="0.25", **_BOX))
    ax.text(x, y, label, ha="center", va="center", fontsize=11)


def _arrow(ax: Axes, start, end, colour="0.25", style="-|>", dashed=False) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=colour,
                                 linewidth=1.5, linestyle="--" if dashed else "-",
                                 shrinkA=0, shrinkB=0))


def _labels(labels: Sequence[str | None] | None, T: int, what: str) -> list[str | None]:
    if labels is None:
        return [None] * T
    if len(labels) != T:
        raise ValueError(f"{len(labels)} {what} for {T} steps")
    return list(labels)


def plot_unrolled(
    T: int,
    inputs: Sequence[str | None] | None = None,
    outputs: Sequence[str | None] | None = None,
    *,
    step_labels: Sequence[str] | None = None,
    state_label: str = "h",
    backward: bool = False,
    cuts: Sequence[int] = (),
    encoder_steps: int = 0,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A recurrent network unrolled over T steps: one box per step, the state passed rightwards.

    Args:
        T: the number of steps drawn, >= 1.
        inputs: T labels of the inputs drawn below the boxes; ``None`` (or a ``None`` entry)
            draws no input at that step.
        outputs: T labels of the outputs drawn above the boxes, like ``inputs``.
        step_labels: T labels written in the boxes; ``"step"`` in each when ``None``.
        state_label: the state's letter; the arrows are labelled ``h0``, ``h1``, ...
        backward: also draw the gradient flowing leftwards (red, dashed) under the state arrows.
        cuts: step indices k at which the backward flow is cut between steps k - 1 and k
            (truncated backpropagation); a vertical dotted line marks each cut.
        encoder_steps: the first ``encoder_steps`` boxes are drawn in the encoder's colour.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.

    Returns:
        The figure holding the diagram.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    inputs, outputs = _labels(inputs, T, "inputs"), _labels(outputs, T, "outputs")
    steps = list(step_labels) if step_labels is not None else ["step"] * T
    if len(steps) != T:
        raise ValueError(f"{len(steps)} step_labels for {T} steps")
    if any(not 0 < k < T for k in cuts):
        raise ValueError(f"cuts must lie in [1, {T - 1}], got {list(cuts)}")
    fig, ax = _figure_and_axes(ax, (1.6 * T + 1.2, 3.0))
    gap = 1.6  # distance between two boxes
    for t in range(T):
        x = gap * (t + 1)
        _box(ax, x, 0, steps[t], _ENCODER_COLOUR if t < encoder_steps else _STEP_COLOUR)
        if inputs[t] is not None:
            _arrow(ax, (x, -0.95), (x, -0.3))
            ax.text(x, -1.15, inputs[t], ha="center", va="center", fontsize=11)
        if outputs[t] is not None:
            _arrow(ax, (x, 0.3), (x, 0.95))
            ax.text(x, 1.15, outputs[t], ha="center", va="center", fontsize=11)
    for t in range(T + 1):  # the state entering step t (t = T: the last state)
        left, right = gap * t + 0.38, gap * (t + 1) - 0.38
        if t == 0:
            left = right - 0.75
        if t == T:
            right = left + 0.75
        _arrow(ax, (left, 0.08), (right, 0.08))
        ax.text((left + right) / 2, 0.22, f"{state_label}{t}", ha="center", va="bottom", fontsize=10)
        if backward and 0 < t < T and t not in cuts:
            _arrow(ax, (right, -0.1), (left, -0.1), colour="C3", dashed=True)
    for k in cuts:
        ax.axvline(gap * (k + 0.5), color="0.4", linestyle=":", linewidth=1.5)
    ax.set_xlim(0.2, gap * (T + 1) - 0.2)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_io_patterns(figsize: tuple[float, float] = (13, 5.2)) -> Figure:
    """The four ways a recurrent network maps sequences: one-to-many, many-to-one, many-to-many
    (one output per input) and encoder-decoder (read everything, then write), on a 2 x 2 grid.

    Returns:
        The figure, one panel per pattern.
    """
    fig, axes = plt.subplots(2, 2, figsize=figsize)
    plot_unrolled(4, ["x", None, None, None], ["y1", "y2", "y3", "y4"], ax=axes[0, 0],
                  title="one-to-many (e.g. describe an image)")
    plot_unrolled(4, ["x1", "x2", "x3", "x4"], [None, None, None, "y"], ax=axes[0, 1],
                  title="many-to-one (e.g. classify a sentence)")
    plot_unrolled(4, ["x1", "x2", "x3", "x4"], ["y1", "y2", "y3", "y4"], ax=axes[1, 0],
                  title="many-to-many, aligned (e.g. a language model)")
    plot_unrolled(5, ["x1", "x2", "x3", "<go>", "y1"], [None, None, None, "y1", "y2"],
                  step_labels=["enc", "enc", "enc", "dec", "dec"], encoder_steps=3, ax=axes[1, 1],
                  title="encoder-decoder (e.g. translate)")
    fig.tight_layout()
    return fig


def plot_layers(
    T: int,
    layers: int,
    *,
    bidirectional: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Stacked recurrent layers over T steps: the states of layer l are the inputs of layer l + 1.

    With ``bidirectional``, every layer carries two states between its boxes: one left to
    right (black, above) and one right to left (orange, below); the layer above (or the
    output) reads both, concatenated.

    Args:
        T: steps, >= 1.
        layers: how many layers, >= 1.
        bidirectional: draw the right-to-left state of every layer too.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.

    Returns:
        The figure holding the diagram.
    """
    if T < 1 or layers < 1:
        raise ValueError(f"need T >= 1 and layers >= 1, got T={T}, layers={layers}")
    gap, row = 1.6, 1.5
    top = (layers - 1) * row
    fig, ax = _figure_and_axes(ax, (1.5 * T + 1.6, 1.1 * (top + 3.0)))
    for t in range(T):
        x = gap * (t + 1)
        ax.text(x, -1.05, f"x{t + 1}", ha="center", va="center", fontsize=11)
        _arrow(ax, (x, -0.85), (x, -0.3))
        _arrow(ax, (x, top + 0.3), (x, top + 0.9))
        ax.text(x, top + 1.1, f"y{t + 1}", ha="center", va="center", fontsize=11)
    for layer in range(layers):
        y = layer * row
        for t in range(T):
            x = gap * (t + 1)
            _box(ax, x, y, f"L{layer + 1}", _STEP_COLOUR, size=(0.8, 0.55))
            if layer < layers - 1:
                _arrow(ax, (x, y + 0.3), (x, y + row - 0.3), colour="0.45")
        for t in range(T - 1):
            start, end = gap * (t + 1) + 0.45, gap * (t + 2) - 0.45
            if bidirectional:
                _arrow(ax, (start, y + 0.12), (end, y + 0.12))
                _arrow(ax, (end, y - 0.12), (start, y - 0.12), colour="C1")
            else:
                _arrow(ax, (start, y), (end, y))
    ax.set_xlim(0.4, gap * (T + 1) - 0.4)
    ax.set_ylim(-1.35, top + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return fig


def plot_curves(
    x,
    curves: Mapping[str, np.ndarray],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logy: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Plot one or more curves against a shared x axis, one labelled line each.

    Args:
        x: shape (K,).
        curves: label -> values, each shape (K,).
        xlabel: the x-axis name.
        ylabel: the y-axis name.
        title: the axes' title.
        logy: a log-scale y axis.
        ax: the axes to draw on; a new figure when ``None``.

    Returns:
        The figure holding the plot.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must have shape (K,), got {x.shape}")
    if not curves:
        raise ValueError("plot_curves needs at least one curve")
    fig, ax = _figure_and_axes(ax, (7, 4))
    for label, values in curves.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != x.shape:
            raise ValueError(f"curve {label!r} has shape {values.shape}, expected {x.shape} like x")
        ax.plot(x, values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return fig
