"""Display helpers the notebooks call: loss curves, temperature, samples, gradient norms, heat maps,
coloured text.

Each plot draws on ``ax`` when one is given (to compose figures) and otherwise on a new
pyplot figure, and returns the :class:`~matplotlib.figure.Figure`. Nothing here shows or
blocks: in a notebook, end the cell with ``plt.show()`` (or a ``;``) so that the figure is
drawn once, not once by the inline backend and again as the cell's returned value.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "smooth_curve",
    "plot_loss",
    "softmax_with_temperature",
    "plot_temperature",
    "format_samples",
    "show_samples",
    "plot_grad_norms",
    "plot_heatmap",
    "plot_char_activations",
]

# How a character that prints as blank or breaks a line appears as a tick label.
_VISIBLE = {"\n": "\\n", "\t": "\\t", " ": "space", "\r": "\\r"}


def _visible(token) -> str:
    text = str(token)
    return _VISIBLE.get(text, text)


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def smooth_curve(values: Sequence[float], smooth: float) -> np.ndarray:
    """Exponential moving average ``s_t = smooth * s_{t-1} + (1 - smooth) * v_t``, debiased.

    Dividing by ``1 - smooth**(t + 1)`` removes the pull towards the zero start (as in Adam and
    TensorBoard), so the smoothed curve starts at the first value instead of near 0.

    Args:
        values: shape (K,).
        smooth: in [0, 1); 0 returns the values unchanged, 0.9 averages over about 10 steps.

    Returns:
        float64, shape (K,).
    """
    values = np.asarray(values, dtype=np.float64)
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    out = np.empty_like(values)
    running = 0.0
    for t, value in enumerate(values):
        running = smooth * running + (1.0 - smooth) * value
        out[t] = running / (1.0 - smooth ** (t + 1))
    return out


def plot_loss(
    losses: Sequence[float],
    *,
    smooth: float = 0.0,
    val: Sequence[tuple[int, float]] | None = None,
    ax: Axes | None = None,
    title: str = "Training loss",
) -> Figure:
    """Plot a loss curve against the step, optionally smoothed, with an optional validation curve.

    Args:
        losses: the training loss at steps 0, 1, ..., shape (K,).
        smooth: exponential smoothing in [0, 1) (see :func:`smooth_curve`); when positive the
            raw curve is drawn faintly behind the smoothed one.
        val: validation losses as ``(step, loss)`` pairs, drawn with markers.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.

    Returns:
        The figure holding the plot.
    """
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    if losses.size == 0:
        raise ValueError("plot_loss needs at least one loss")
    smoothed = smooth_curve(losses, smooth)  # also rejects a smooth outside [0, 1)
    fig, ax = _figure_and_axes(ax, (7, 4))
    steps = np.arange(losses.size)
    if smooth > 0:
        ax.plot(steps, losses, color="C0", alpha=0.3, label="train")
        ax.plot(steps, smoothed, color="C0", label=f"train (smoothed {smooth:g})")
    else:
        ax.plot(steps, losses, color="C0", label="train")
    if val is not None and len(val) > 0:
        val_steps, val_losses = zip(*val)
        ax.plot(val_steps, val_losses, "o-", color="C1", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    return fig


def softmax_with_temperature(scores, temperature: float) -> np.ndarray:
    """``softmax(scores / temperature)``; temperature 0 puts all the probability on the argmax.

    Args:
        scores: shape (V,).
        temperature: >= 0.

    Returns:
        float64, shape (V,), summing to 1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    if temperature == 0:  # the limit T -> 0: greedy decoding
        probs = np.zeros_like(scores)
        probs[np.argmax(scores)] = 1.0
        return probs
    z = scores / temperature
    z = np.exp(z - z.max())  # subtracting the max keeps exp from overflowing
    return z / z.sum()


def _token_labels(ids: np.ndarray, vocab) -> list[str]:
    """Readable tick labels for token ids: the characters of ``vocab`` (a Vocab, str or list)."""
    if vocab is None:
        return [str(int(i)) for i in ids]
    tokens = getattr(vocab, "chars", vocab)  # a rnncourse.data.Vocab keeps its characters in .chars
    return [_visible(tokens[int(i)]) for i in ids]


def plot_temperature(
    scores,
    temperatures: Sequence[float],
    vocab=None,
    top: int = 15,
    ax: Axes | None = None,
    title: str = "softmax(scores / τ): τ < 1 sharpens, τ > 1 flattens",
) -> Figure:
    """Bar plot of ``softmax(scores / τ)`` over the most likely tokens, one group per token.

    τ is the temperature (the notebooks keep T for the number of time steps).

    The tokens are the ``top`` highest scores (the same for every T, as the softmax keeps the
    order); each temperature τ is one bar series, so the bars of a series sum to 1 when ``top``
    covers the whole vocabulary.

    Args:
        scores: the scores of one step, shape (V,).
        temperatures: the temperatures to compare, each >= 0.
        vocab: a :class:`~rnncourse.data.Vocab`, a string or a list of V token strings for
            the tick labels; the ids are shown when ``None``.
        top: how many tokens to show (at most V).
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.

    Returns:
        The figure holding the plot.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (V,), got {scores.shape}")
    if len(temperatures) == 0:
        raise ValueError("plot_temperature needs at least one temperature")
    top = min(int(top), scores.size)
    ids = np.argsort(-scores, kind="stable")[:top]  # most likely first
    fig, ax = _figure_and_axes(ax, (max(6.0, 0.45 * top * len(temperatures) ** 0.5), 4))
    width = 0.8 / len(temperatures)
    positions = np.arange(top)
    for k, temperature in enumerate(temperatures):
        probs = softmax_with_temperature(scores, temperature)[ids]
        offset = (k - (len(temperatures) - 1) / 2) * width
        ax.bar(positions + offset, probs, width, label=f"τ = {temperature:g}")
    ax.set_xticks(positions, _token_labels(ids, vocab))
    ax.set_xlabel("token (most likely first)")
    ax.set_ylabel("probability")
    ax.set_title(title)
    ax.legend()
    return fig


def format_samples(samples: Mapping[float, str], note: str = "") -> str:
    """The samples as one block, lowest temperature first, each under ``--- temperature 0.5 ---``,
    after a first line ``note`` (stripped) when one is given."""
    blocks = [note.strip()] if note.strip() else []
    for temperature in sorted(samples):
        label = f"{temperature:g}" + (" (greedy)" if temperature == 0 else "")
        blocks.append(f"--- temperature {label} ---\n{samples[temperature]}")
    return "\n\n".join(blocks)


class _PrintedText(str):
    """A string that IPython does not echo as a cell's value: it has already been printed."""

    def _ipython_display_(self) -> None:
        pass


def show_samples(samples: Mapping[float, str], note: str = "") -> str:
    """Print sampled texts keyed by temperature in a readable block, and return that block.

    Args:
        samples: temperature -> sampled text.
        note: printed first when not blank, e.g. :func:`rnncourse.budget.budget_note` for
            samples of a model trained at the grading budget.

    Returns:
        The printed text (see :func:`format_samples`). When it is the value of a notebook
        cell, IPython does not echo it a second time.
    """
    text = format_samples(samples, note)
    print(text)
    return _PrintedText(text)


def plot_grad_norms(
    distances,
    norms: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    title: str = "Gradient norm against distance in time",
) -> Figure:
    """Plot gradient norms against the distance in time, log-scale y, one line per label.

    Args:
        distances: how many steps back from the loss each norm was measured, shape (K,).
        norms: label -> norms ``||dL/dh_{T-k}||``, each shape (K,). Norms of exactly 0
            (a gradient that underflowed) cannot be drawn on a log scale and are left out.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.

    Returns:
        The figure holding the plot.
    """
    distances = np.asarray(distances)
    if distances.ndim != 1:
        raise ValueError(f"distances must have shape (K,), got {distances.shape}")
    fig, ax = _figure_and_axes(ax, (7, 4))
    for label, values in norms.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != distances.shape:
            raise ValueError(
                f"norms[{label!r}] has shape {values.shape}, expected {distances.shape} like distances"
            )
        ax.plot(distances, values, marker=".", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("distance in time (steps back from the loss)")
    ax.set_ylabel("gradient norm")
    ax.set_title(title)
    if norms:
        ax.legend()
    return fig


def _check_labels(labels: Sequence[str] | None, size: int, what: str) -> None:
    if labels is not None and len(labels) != size:
        raise ValueError(f"{len(labels)} {what} for a matrix with {size} of them")


def plot_heatmap(
    matrix,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Heat map of a matrix, e.g. attention weights (rows: output steps, columns: input
    tokens) or gate activations (rows: units, columns: time steps).

    Args:
        matrix: shape (R, C).
        xlabels: C column labels (every column is labelled, so keep C small), or ``None``.
        ylabels: R row labels, or ``None``.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.
        xlabel: the x-axis name.
        ylabel: the y-axis name.
        vmin: the value of the darkest colour; the matrix's minimum when ``None``
            (pass 0 and 1 for probabilities, so that plots compare).
        vmax: the value of the brightest colour.

    Returns:
        The figure holding the plot, with a colour bar.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must have shape (R, C), got {matrix.shape}")
    _check_labels(xlabels, matrix.shape[1], "xlabels (columns)")
    _check_labels(ylabels, matrix.shape[0], "ylabels (rows)")
    rows, columns = matrix.shape
    fig, ax = _figure_and_axes(ax, (max(4.0, 0.4 * columns + 2), max(3.0, 0.4 * rows + 1)))
    image = ax.imshow(matrix, aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
    if xlabels is not None:
        ax.set_xticks(np.arange(matrix.shape[1]), [_visible(s) for s in xlabels], rotation=90)
    if ylabels is not None:
        ax.set_yticks(np.arange(matrix.shape[0]), [_visible(s) for s in ylabels])
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax)
    return fig


def plot_char_activations(
    text: str,
    values,
    ax: Axes | None = None,
    title: str | None = None,
    *,
    width: int = 80,
    vmin: float = -1.0,
    vmax: float = 1.0,
) -> Figure:
    """Each character of ``text`` on a background coloured by one value, e.g. a unit's activation.

    The text is laid out as it reads: a newline (drawn as ``⏎``) ends a row, and a row longer
    than ``width`` characters wraps. Blue is ``vmin``, white the middle, red ``vmax``.

    Args:
        text: L characters.
        values: shape (L,), the value after reading each character.
        ax: the axes to draw on; a new figure when ``None``.
        title: the axes' title.
        width: the most characters in a row, an int >= 1.
        vmin: the value drawn darkest blue (-1 for a tanh unit).
        vmax: the value drawn darkest red.

    Returns:
        The figure holding the plot, with a colour bar.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(text),):
        raise ValueError(f"values must have shape ({len(text)},), one per character, got {values.shape}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be an int >= 1, got {width!r}")
    cells, row, column = [], 0, 0  # (row, column, character, value)
    for ch, value in zip(text, values):
        if column == width:
            row, column = row + 1, 0
        cells.append((row, column, "⏎" if ch == "\n" else ch, value))
        column += 1
        if ch == "\n":
            row, column = row + 1, 0
    rows = cells[-1][0] + 1 if cells else 1
    grid = np.full((rows, width), np.nan)  # NaN: no character there, drawn blank
    for r, c, _, value in cells:
        grid[r, c] = value
    fig, ax = _figure_and_axes(ax, (0.14 * width + 1.5, 0.3 * rows + 0.8))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="bwr", vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest", alpha=0.65)  # light enough to read the text on
    for r, c, ch, _ in cells:
        ax.text(c, r, ch, ha="center", va="center", fontsize=8, family="monospace")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01)
    return fig
