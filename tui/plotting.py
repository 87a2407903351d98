"""Charts as values: a ``Figure`` of ``Trace`` lines, drawn onto plotext by ``draw``.

Both views use this model (no Textual here): the app's ``tui.chart.Chart`` widget draws a figure
into a textual-plotext plot, and the command line prints ``to_text(figure, ...)``. Every figure is
a value built by a pure function from numbers (``tui.figures``), so figures are testable without a
screen. ``draw`` starts from a cleared plot each time: plotext 5 rewrites its stored data in place
when it builds a log-scale plot, so keeping a figure between builds would crash or blank the second
one. Log axes are therefore drawn as log10 values on a linear axis with ``10^k`` tick labels, and
non-finite values (and non-positive ones on log axes) are dropped before plotext sees them.

Each trace has its own marker (braille dots, "dot" points, "hd" blocks, any one character) so
that lines stay apart where they cross and the legend's glyphs differ even without colour. A
band (an interval) is two muted traces, its lower and upper edge: plotext 5 cannot fill between
two curves, and a filled area would bury the lines drawn over it. x ticks can be labelled by a
function of the position (dates: ``DateAxis.tick``) while x stays the series' index. A trace can
sit on a second y axis at the right (``Trace.right``: MAE beside a loss of another scale).

Titles always show: plotext silently leaves out a title that does not fit beside the y axis'
labels, so ``draw`` picks the first of the figure's titles that fits the canvas and cuts the
shortest with an ellipsis when none does (``fit_title``). Under the plot go the caption and the
key lines (``Figure.key``, e.g. what each suggested rate means), each in its longest form that
fits.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np

from tui.numbers import fmt_number, shown

Values: TypeAlias = Sequence[float] | np.ndarray  # one coordinate of a trace
TickLabel: TypeAlias = Callable[[float], str]  # an x position's tick label ("" for none)

ENVELOPE_POINTS_PER_COLUMN = 2  # the lowest and highest point of each column keep every spike
LARGEST = 1e30  # beyond this plotext's arithmetic overflows; such a loss has diverged anyway
Y_AXIS_COLUMNS = 8  # what plotext's y tick labels and frame take of a chart's width
TICK_GAP = 2  # columns between two x tick labels

# plotext colour names map to the 16 ANSI colours, so they stay distinct in a 16-colour terminal.
COLORS = ("cyan+", "orange", "green+", "magenta+", "red+", "yellow", "blue+", "gray+")


@dataclass(frozen=True)
class Trace:
    """One line of a chart; with ``points`` its points alone, unconnected."""

    x: Values
    y: Values
    label: str = ""
    color: str = COLORS[0]
    marker: str = "braille"  # a plotext marker name ("braille", "dot", "hd") or one character
    points: bool = False
    right: bool = False  # on the second y axis, at the right (a quantity on another scale)


@dataclass(frozen=True)
class Figure:
    """What a chart shows; ``hint`` is shown instead of axes when there is nothing to draw."""

    title: str = ""
    traces: tuple[Trace, ...] = ()
    short_titles: tuple[
        str, ...
    ] = ()  # used in turn where the title is too wide (plotext drops it)
    xlog: bool = False
    ylog: bool = False
    xlabel: str = ""
    ylim: tuple[float, float] | None = None
    vlines: tuple[tuple[float, str], ...] = ()  # (x, colour) markers, e.g. the split time
    hlines: tuple[tuple[float, str], ...] = ()  # (y, colour) lines, e.g. zero on residuals
    hint: str = "No data yet."
    notes: tuple[str, ...] = field(default=())  # shown after the title, e.g. values not drawn
    whole_x: bool = False  # x holds counts (epochs): ticks on whole numbers
    # x tick labels: a function of the position (dates), or fixed (positions, labels)
    xtick: TickLabel | None = None
    xticks: tuple[tuple[float, ...], tuple[str, ...]] | None = None
    caption: tuple[str, ...] = ()  # one line under the chart, then shorter forms of it
    # lines under the caption (what the lines mean), each a tuple of forms, longest first
    key: tuple[tuple[str, ...], ...] = ()


def is_empty(figure: Figure) -> bool:
    """Whether the figure has no point at all (it shows its hint): told without plotext."""
    return all(min(len(t.x), len(t.y)) == 0 for t in figure.traces)


def same_hint(a: Figure, b: Figure) -> bool:
    """Whether two empty figures show the same: an empty chart shows its title and hint."""
    return (a.title, a.hint) == (b.title, b.hint)


def clean(
    x: Values,
    y: Values,
    xlog: bool = False,
    ylog: bool = False,
    max_points: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The finite (and, on log axes, positive) points, log10-transformed where the axis is log.

    With ``max_points``, long series are thinned to the minimum and maximum of each bucket of
    consecutive points: plotext's time grows with the points it is given, and a chart a few
    dozen columns wide cannot show more than this anyway.
    """
    xa = np.asarray(x, dtype="float64").ravel()
    ya = np.asarray(y, dtype="float64").ravel()
    n = min(len(xa), len(ya))
    xa, ya = xa[:n], ya[:n]
    keep = drawable(xa, xlog) & drawable(ya, ylog)
    xa, ya = xa[keep], ya[keep]
    if xlog:
        xa = np.log10(xa)
    if ylog:
        ya = np.log10(ya)
    if max_points and len(xa) > max_points:
        xa, ya = envelope(xa, ya, max(2, max_points // 2))
    return xa, ya


def drawable(values: np.ndarray, log: bool) -> np.ndarray:
    """Which values a chart can place: finite, not absurdly large, and positive on a log axis."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & ((values > 0) if log else (np.abs(values) < LARGEST))


def envelope(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest point of each of ``buckets`` runs of points, in x order."""
    edges = np.linspace(0, len(x), buckets + 1).astype(int)
    keep: list[int] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi <= lo:
            continue
        part = y[lo:hi]
        keep.extend(sorted({lo + int(np.argmin(part)), lo + int(np.argmax(part))}))
    index = np.asarray(sorted({0, *keep, len(x) - 1}))  # the ends fix the x range
    return x[index], y[index]


def _power_of_ten(exponent: float) -> float:
    """``10**exponent``, at most the largest float: log10 of a value near it rounds up past it."""
    try:
        return float(10**exponent)
    except OverflowError:
        return sys.float_info.max


def log_ticks(lo: float, hi: float, max_ticks: int = 6) -> tuple[list[float], list[str]]:
    """Tick positions (log10 units) and labels (the values) for a log axis spanning lo..hi."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi - lo < 1e-9:
        return [lo], [fmt_number(_power_of_ten(lo))]
    # a rate saved as float32 is a hair off its decade (log10 gives -8.0000000026 for 1e-8)
    first, last = math.floor(lo + 1e-6), math.ceil(hi - 1e-6)
    decades = list(range(first, last + 1))
    step = max(1, math.ceil(len(decades) / max_ticks))
    ticks = [float(d) for d in decades[::step] if lo - 1e-9 <= d <= hi + 1e-9]
    if len(ticks) < 2:  # less than a decade shown: add 2x and 5x marks
        ticks = [
            math.log10(m) + d
            for d in decades
            for m in (1, 2, 5)
            if lo - 1e-9 <= math.log10(m) + d <= hi + 1e-9
        ]
    if len(ticks) < 2:
        ticks = [lo, hi]
    return ticks, [fmt_number(_power_of_ten(t)) for t in ticks]


def linear_ticks(lo: float, hi: float, max_ticks: int = 5) -> list[float]:
    """Round-numbered ticks (steps of 1, 2 or 5 times a power of ten) from lo to hi.

    plotext labels its own ticks with every digit (a loss of 1e38 gets a 38-character label), so
    the charts always set ticks and labels themselves.
    """
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max_ticks
    if not raw > 0:  # a range of a few subnormals: the step underflows
        return [lo, hi]
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    ticks = [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]
    return ticks or [lo]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Labels for evenly spaced ticks, with just enough decimals to tell them apart."""
    if len(ticks) < 2:
        return [fmt_number(t) for t in ticks]
    step = abs(ticks[1] - ticks[0])
    if step >= 1e-4 and max(abs(t) for t in ticks) < 1e5:
        decimals = max(0, -math.floor(math.log10(step)))
        return [f"{t:.{decimals}f}" for t in ticks]
    return [fmt_number(t) for t in ticks]


def whole_ticks(lo: float, hi: float, max_ticks: int = 6) -> list[float]:
    """Up to ``max_ticks`` whole-number ticks from lo to hi (epochs are never 2.5)."""
    first, last = math.ceil(lo), math.floor(hi)
    if last <= first:
        return [float(first)]
    step = max(1, math.ceil((last - first) / (max_ticks - 1)))
    return [float(t) for t in range(first, last + 1, step)]


def smooth(values: Values, weight: float = 0.6) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard smooths); non-finite values stay."""
    out = np.asarray(values, dtype="float64").copy()
    last, debias = 0.0, 0.0
    for i, v in enumerate(out):
        if not math.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        debias = debias * weight + (1 - weight)
        out[i] = last / debias
    return out


def labelled_ticks(
    lo: float, hi: float, label: TickLabel, width: int | None, whole: bool = True
) -> tuple[list[float], list[str]]:
    """As many ticks from lo to hi as their labels (from ``label``, e.g. dates) leave room for
    in a chart ``width`` columns wide; positions without a label are left out."""
    for count in range(6, 1, -1):
        ticks = whole_ticks(lo, hi, count) if whole else linear_ticks(lo, hi, count)
        pairs = [(t, text) for t in ticks if (text := label(t))]
        if width is None or not pairs:
            break
        room = width - Y_AXIS_COLUMNS
        if len(pairs) * (max(len(text) for _, text in pairs) + TICK_GAP) <= room:
            break
    return [t for t, _ in pairs], [text for _, text in pairs]


def _longest_fitting(forms: Sequence[str], width: int | None) -> str:
    """The first of ``forms`` that fits ``width`` (the last, cut with an ellipsis, if none
    does); the first when the width is not known."""
    if width is None:
        return shown(forms[0])
    fitting = [line for line in forms if len(line) <= width]
    return shown(fitting[0] if fitting else cut(forms[-1], width))


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, an ellipsis marking where it was cut."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)].rstrip() + "…" if width > 0 else ""


def caption_line(figure: Figure, width: int | None) -> str:
    """The longest of the figure's caption lines that fits ``width`` (the shortest, cut, if
    none does); "" without a caption."""
    return _longest_fitting(figure.caption, width) if figure.caption else ""


def under_lines(figure: Figure, width: int | None) -> list[str]:
    """What goes under the plot: the caption's line, then each key line, as they fit."""
    lines = [caption_line(figure, width)] if figure.caption else []
    return lines + [_longest_fitting(forms, width) for forms in figure.key if forms]


def title_fits(length: int, width: int, left: int, right: int) -> bool:
    """Whether plotext shows a title ``length`` long on a chart ``width`` wide whose y tick
    labels take ``left`` and ``right`` columns: it centres the title on the canvas and leaves it
    out unless it fits inside the chart with a space on each side (plotext's ``_build``)."""
    canvas = width - 2 - left - right
    col = left + 1 + canvas // 2 - length // 2
    return col >= 1 and col + length + 1 <= width


def fit_title(titles: Sequence[str], width: int | None, left: int, right: int) -> str:
    """The first title that plotext will show, else the shortest cut with an ellipsis to fit."""
    titles = [t for t in titles if t]
    if not titles or width is None:
        return titles[0] if titles else ""
    for title in titles:
        if title_fits(len(title), width, left, right):
            return title
    shortest = titles[-1]
    for length in range(len(shortest) - 1, 0, -1):
        if title_fits(length, width, left, right):
            return cut(shortest, length)
    return ""


def _label_width(labels: Sequence[str]) -> int:
    return max((len(label) for label in labels), default=0)


def draw(plt: Any, figure: Figure, width: int | None = None) -> bool:
    """Draws the figure onto a plotext plot (cleared first); False when there is no point to draw.

    ``plt`` is the ``plotext`` module or a textual-plotext ``Plot``: both have its functions.
    Traces with ``right`` go on a second y axis with its own ticks (``ylim`` is the left one's).
    """
    plt.clear_figure()
    drawn: list[tuple[np.ndarray, np.ndarray, Trace]] = []
    max_points = width * ENVELOPE_POINTS_PER_COLUMN if width else None
    for trace in figure.traces:
        xa, ya = clean(trace.x, trace.y, figure.xlog, figure.ylog, max_points)
        if len(xa):
            drawn.append((xa, ya, trace))
    if not drawn:
        return False
    sides = {d[2].right for d in drawn}
    for xa, ya, trace in drawn:
        kwargs: dict[str, Any] = {"label": shown(trace.label)} if trace.label else {}
        if len(sides) > 1:  # a single axis stays at the left, whichever side it was meant for
            kwargs["yside"] = "right" if trace.right else "left"
        if len(xa) == 1 or trace.points:
            marker = "dot" if trace.marker == "braille" and len(xa) == 1 else trace.marker
            plt.scatter(xa.tolist(), ya.tolist(), marker=marker, color=trace.color, **kwargs)
        else:
            plt.plot(xa.tolist(), ya.tolist(), marker=trace.marker, color=trace.color, **kwargs)
    all_x = np.concatenate([d[0] for d in drawn])
    left_y = [d[1] for d in drawn if not d[2].right or len(sides) == 1]
    right_y = [d[1] for d in drawn if d[2].right and len(sides) > 1]
    all_y = np.concatenate(left_y)
    for x, color in figure.vlines:
        if math.isfinite(x) and (not figure.xlog or x > 0):
            plt.vertical_line(math.log10(x) if figure.xlog else x, color=color)
    for y, color in figure.hlines:
        if math.isfinite(y) and (not figure.ylog or y > 0):
            plt.horizontal_line(math.log10(y) if figure.ylog else y, color=color)
    ylo, yhi = float(all_y.min()), float(all_y.max())
    if figure.ylim is not None:
        lo, hi = figure.ylim
        if figure.ylog:
            lo, hi = (math.log10(lo), math.log10(hi)) if lo > 0 and hi > 0 else (ylo, yhi)
        if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            plt.ylim(lo, hi)
            ylo, yhi = lo, hi
    xlo, xhi = float(all_x.min()), float(all_x.max())
    if figure.xticks is not None:
        fixed = [(t, s) for t, s in zip(*figure.xticks, strict=False) if xlo <= t <= xhi]
        plt.xticks([t for t, _ in fixed], [s for _, s in fixed])
    elif figure.xtick is not None and not figure.xlog:
        plt.xticks(*labelled_ticks(xlo, xhi, figure.xtick, width, figure.whole_x))
    elif figure.xlog:
        plt.xticks(*log_ticks(xlo, xhi))
    elif figure.whole_x:
        ticks = whole_ticks(xlo, xhi)
        plt.xticks(ticks, [str(int(t)) for t in ticks])
    else:
        ticks = linear_ticks(xlo, xhi)
        plt.xticks(ticks, tick_labels(ticks))
    left = _y_ticks(plt, ylo, yhi, figure.ylog)
    right = 0
    if right_y:
        values = np.concatenate(right_y)
        right = _y_ticks(plt, float(values.min()), float(values.max()), figure.ylog, "right")
    notes = "  " + " ".join(figure.notes) if figure.notes else ""
    titles = [shown(t + notes) for t in (figure.title, *figure.short_titles) if t]
    title = fit_title(titles, width, left, right)
    if title:
        plt.title(title)  # titles quote names from files
    if figure.xlabel:
        plt.xlabel(shown(figure.xlabel))
    return True


def _y_ticks(plt: Any, lo: float, hi: float, log: bool, side: str = "left") -> int:
    """Sets one y axis' ticks; returns the width of their labels."""
    if log:
        ticks, labels = log_ticks(lo, hi, max_ticks=4)
    else:
        ticks = linear_ticks(lo, hi)
        labels = tick_labels(ticks)
    plt.yticks(ticks, labels, yside=side)
    return _label_width(labels)


def to_text(figure: Figure, width: int, height: int, color: bool = False) -> str | None:
    """The figure as terminal text, ``width`` x ``height`` characters; None if nothing to draw.

    For the command line: plotext's own module-level figure, at exactly the size asked for (also
    when stdout is not a terminal), with no background colour; ANSI codes only with ``color``.
    The caption and key lines, if any, are the last of the ``height`` lines.
    """
    import plotext as plt  # here, so that importing the model loads no plotext

    from tui import plotext_speedups

    plotext_speedups.install()
    under = under_lines(figure, width)
    try:
        if not draw(plt, figure, width):
            return None
        plt.limitsize(False, False)
        plt.plotsize(width, max(3, height - len(under)))
        plt.theme("clear")
        text = plt.build()
    finally:
        plt.clear_figure()
    text = text if color else plt.uncolorize(text)
    # plotext ends its text with a newline
    return "\n".join([text.removesuffix("\n"), *under]) if under else text
