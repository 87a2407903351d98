"""The figures both views show, built from plain numbers (pure functions, so tests need no screen).

The app shows them in ``tui.chart.Chart`` widgets; the command line prints them with
``tui.plotting.to_text``. A run's forecast is a ``ForecastView`` (from a finished run's event or
a saved run's files): ``forecast_figure`` draws a window of its validation period with the
interval band and the forecast past the data, or the residuals; ``backtest_figure`` the error
per step ahead. ``ForecastControls`` is what the chart keys change.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from engine.events import Backtest, EpochEnded, FutureForecast, RunFinished
from engine.runstore import SavedForecast
from engine.series import Series
from engine.sweep import EXPLODED, SUGGESTIONS
from tui.numbers import coverage_variants, fmt_number, ladder_text, percent
from tui.plotting import COLORS, Y_AXIS_COLUMNS, Figure, Trace, Values, drawable, smooth

ZOOMS = (None, 100, 50, 20)  # "last N epochs" choices the zoom key cycles through
# one per engine.sweep.SUGGESTIONS name, in the app and on the command line alike; each line has
# its own marker too, so that the lines are told apart without colour
SUGGESTION_COLORS = {"valley": "green+", "steep": "yellow", "minimum": "magenta+"}
SUGGESTION_MARKERS = {"valley": "┃", "steep": "+", "minimum": "x"}
# engine.sweep.SUGGESTIONS' meanings, shorter and shortest, for narrow charts' key lines
SUGGESTION_SHORT = {
    "valley": "middle of the longest fall",
    "steep": "where the loss falls fastest",
    "minimum": "rate at the lowest loss ÷ 10",
}
SUGGESTION_TINY = {"valley": "longest fall", "steep": "fastest fall", "minimum": "lowest loss ÷ 10"}
KEPT_COLOR, KEPT_MARKER = "yellow", "┊"  # the kept epoch's marker on the loss chart
# Markers in drawing order for curves that share a chart: their legend glyphs differ (⢕⢕, ▞▞,
# ••, ++, xx), so they are told apart without colour, in 16 colours or none.
MARKERS = ("braille", "hd", "dot", "+", "x")
# The forecast chart: actual values as points, the forecast a line, the forecast past the data
# in its own colour and marker, the interval a muted pair of dotted edges.
ACTUAL_COLOR, FORECAST_COLOR, FUTURE_COLOR = COLORS[1], COLORS[0], COLORS[3]
BAND_COLOR, SPLIT_COLOR = "gray", "gray+"
FUTURE_MARKER, BAND_MARKER, ACTUAL_MARKER = "hd", "·", "dot"
# Validation points the forecast chart shows where its width is not known (the command line's
# default): the actual values are drawn a point a cell, so a chart shows about as many apart as
# it has columns (``fitting_span``), and a window of 120 fits a 100-column terminal.
DEFAULT_SPAN = 120
POINTS_PER_COLUMN = 1.5  # validation points a column of plot that still read apart
MIN_SPAN = 30
SPANS = (30, 60, 120, 240, 480, 960)  # the windows the wider/narrower keys step through


@dataclass
class History:
    """Per-epoch numbers of one training run, as the charts and the runs view read them.

    ``kept`` is the epoch whose weights the run saved (its best on the holdout slice), once known.
    """

    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    holdout_loss: list[float] = field(default_factory=list)
    holdout_mae: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_mae: list[float] = field(default_factory=list)
    kept: int | None = None

    def add(self, event: EpochEnded) -> None:
        self.epochs.append(event.epoch)
        self.loss.append(event.loss)
        self.mae.append(event.mae)
        self.learning_rate.append(event.learning_rate)
        for name in ("holdout_loss", "holdout_mae", "val_loss", "val_mae"):
            value = getattr(event, name)
            getattr(self, name).append(math.nan if value is None else value)

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, float | None]], kept: int | None = None) -> History:
        """From ``RunStore.history`` rows (missing numbers become NaN)."""
        out = cls(kept=kept)

        def num(row: dict[str, float | None], key: str) -> float:
            value = row.get(key)
            return math.nan if value is None else float(value)

        for row in rows:
            out.epochs.append(int(num(row, "epoch")))
            for name in (
                "loss",
                "mae",
                "learning_rate",
                "holdout_loss",
                "holdout_mae",
                "val_loss",
                "val_mae",
            ):
                getattr(out, name).append(num(row, name))
        return out

    def __len__(self) -> int:
        return len(self.epochs)


def view_label(log_y: bool, smoothed: bool, last_n: int | None) -> str:
    parts = [
        "log y" if log_y else "",
        "smoothed" if smoothed else "",
        f"last {last_n}" if last_n else "",
    ]
    return ", ".join(p for p in parts if p)


def _window(values: Sequence[float], last_n: int | None) -> list[float]:
    return list(values[-last_n:]) if last_n else list(values)


def series_figure(series: Series | None, title: str = "") -> Figure:
    """The series, training part and validation part in two colours, the split marked; x ticks
    are the series' dates when it has a date column."""
    if series is None:
        return Figure(title=title, hint="No valid series: fix the marked field.")
    split = series.split_time
    time, values = series.time, series.values
    name = title or f"{series.name} · {len(series)} points · split t={split}"
    return Figure(
        title=name,
        traces=(
            Trace(time[:split], values[:split], "train", COLORS[0]),
            # points, as the forecast chart draws the validation period's actual values: a
            # dense line of blocks would smear into one shape
            Trace(time[split - 1 :], values[split - 1 :], "validation", COLORS[1], ACTUAL_MARKER),
        ),
        vlines=((float(split), "gray+"),),
        hint="The series is empty.",
        whole_x=True,
        xtick=series.dates.tick if series.dates is not None else None,
    )


def loss_figure(
    history: History, *, log_y: bool = False, smoothed: bool = False, last_n: int | None = None
) -> Figure:
    """The loss per epoch on the training windows, the holdout slice and the validation period,
    the kept epoch marked; a run with neither holdout nor validation curves (the course's) shows
    its training loss and MAE instead, the MAE on its own axis at the right (an MSE loss of
    ~3000 would flatten an MAE of ~40 along the bottom of a shared one). Each curve has its own
    marker as well as its colour."""
    view = view_label(log_y, smoothed, last_n)
    epochs = _window(history.epochs, last_n)
    curves = [
        (history.loss, "train loss"),
        (history.holdout_loss, "holdout loss"),
        (history.val_loss, "val loss"),
    ]
    found = [
        (_window(v, last_n), label, COLORS[(0, 2, 1)[i]], MARKERS[i], False)
        for i, (v, label) in enumerate(curves)
    ]
    shown = [c for c in found if any(math.isfinite(v) for v in c[0])]
    if len(shown) > 1:
        title, short = "loss per epoch", "loss"
    else:
        title, short = "loss / MAE per epoch", "loss / MAE"
        shown = [
            (_window(history.loss, last_n), "loss (left axis)", COLORS[0], MARKERS[0], False),
            (_window(history.mae, last_n), "MAE (right axis)", COLORS[1], MARKERS[1], True),
        ]
    traces = [
        Trace(epochs, smooth(y) if smoothed else y, label, color, marker, right=right)
        for y, label, color, marker, right in shown
    ]
    left = [y for y, _, _, _, right in shown if not right]
    marker = _kept_marker(history.kept, epochs, left, log_y)
    if marker is not None:
        traces.append(marker)
    notes = _dropped_note([v for y, *_ in shown for v in y], log_y)
    shorter = (f"{short} ({view})", f"loss ({view})", short) if view else (short,)
    return Figure(
        title=title + (f" ({view})" if view else ""),
        short_titles=shorter,
        traces=tuple(traces),
        ylog=log_y,
        xlabel="epoch",
        hint="No epochs yet. Press ctrl+t to train.",
        notes=notes,
        whole_x=True,
    )


def _kept_marker(
    kept: int | None, epochs: Sequence[float], curves: Sequence[Sequence[float]], log_y: bool
) -> Trace | None:
    """A labelled vertical line at the kept epoch, spanning the curves; None when the kept epoch
    is the last (nothing was restored) or out of view."""
    if kept is None or kept not in epochs or kept == max(epochs):
        return None
    values = np.asarray([v for y in curves for v in y], dtype="float64")
    values = values[drawable(values, log_y)]
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    return Trace([kept, kept], [lo, hi], f"kept epoch {kept}", KEPT_COLOR, KEPT_MARKER)


def _dropped_note(values: Sequence[float], log_y: bool) -> tuple[str, ...]:
    bad = int((~drawable(np.asarray(values, dtype="float64"), log_y)).sum())
    return (f"[{bad} value{'s' if bad != 1 else ''} not shown]",) if bad else ()


def lr_figure(history: History, *, last_n: int | None = None) -> Figure:
    """The optimizer's learning rate at the end of each epoch (log y)."""
    return Figure(
        title="learning rate per epoch",
        traces=(
            Trace(
                _window(history.epochs, last_n),
                _window(history.learning_rate, last_n),
                "",
                COLORS[5],
            ),
        ),
        ylog=True,
        xlabel="epoch",
        hint="No epochs yet.",
        whole_x=True,
    )


def sweep_figure(
    lrs: Values,
    losses: Values,
    suggestions: dict[str, float],
    *,
    log_y: bool = False,
    recommended: str | None = None,
) -> Figure:
    """Loss against learning rate on a log x axis, each suggested rate a labelled vertical line
    of its own colour and marker (the ``recommended`` one says so), and under the chart a key
    line per suggestion saying what it is (engine.sweep.SUGGESTIONS' meanings).

    On a linear axis the y range stops at 4x the lowest loss (the sweep's own "exploded" bound):
    the loss at the start of a sweep (rate too small to learn) and at its end (diverged) would
    otherwise flatten the part worth reading, which is why the course plots it with ylim 0..30.
    The log-y key shows the whole curve.
    """
    loss = np.asarray(losses, dtype="float64")
    finite = loss[np.isfinite(loss) & ((loss > 0) if log_y else True)]
    traces = [Trace(lrs, losses, "loss", COLORS[0])]
    key: list[tuple[str, ...]] = []
    ylim = None
    if len(finite):
        lo = float(finite.min())
        hi = float(finite.max()) if log_y else min(float(finite.max()), EXPLODED * lo)
        if hi > lo:
            ylim = (lo * 0.9 if log_y else min(0.0, lo), hi * 1.05)
        for s in SUGGESTIONS:
            lr = suggestions.get(s.name)
            if lr is not None and math.isfinite(lr) and lr > 0:
                ys = ylim or (lo, float(finite.max()))
                mark = " (recommended)" if s.name == recommended else ""
                label = f"{s.name} {fmt_number(lr)}{mark}"
                color, marker = SUGGESTION_COLORS[s.name], SUGGESTION_MARKERS[s.name]
                traces.append(Trace([lr, lr], list(ys), label, color, marker))
                key.append(_suggestion_key(s.name, s.meaning, fmt_number(lr), bool(mark)))
    return Figure(
        title="LR sweep: loss vs learning rate",
        short_titles=("LR sweep: loss vs rate", "LR sweep"),
        traces=tuple(traces),
        xlog=True,
        ylog=log_y,
        ylim=ylim,
        xlabel="learning rate",
        hint="No sweep yet. Press ctrl+r to sweep learning rates.",
        notes=_dropped_note(list(losses), log_y),
        key=tuple(key),
    )


def _suggestion_key(name: str, meaning: str, rate: str, recommended: bool) -> tuple[str, ...]:
    """A key line for one suggested rate, longest first: its marker, name and rate, what it is,
    and whether it is the one recommended."""
    glyph, short, tiny = SUGGESTION_MARKERS[name], SUGGESTION_SHORT[name], SUGGESTION_TINY[name]
    best = " · recommended" if recommended else ""
    return (
        f"{glyph} {name} {rate}: {meaning}{best}",
        f"{glyph} {name} {rate}: {short}{best}",
        f"{glyph} {name}: {short}{best}",
        f"{glyph} {'recommended ' if recommended else ''}{name}: {tiny}",
        f"{glyph} {name} {rate}{' (recommended)' if recommended else ''}",
    )


class DateTicks(Protocol):
    """What a chart needs of a date axis (``engine.dates.DateAxis``): a tick label for a
    (fractional) position on the series' index axis."""

    def tick(self, position: float) -> str: ...


class ShiftedTicks:
    """A date axis over the validation points only, placed at their positions on the series'
    index axis (a saved run keeps the validation period's dates, not the whole column's)."""

    def __init__(self, axis: DateTicks, first: float) -> None:
        self.axis, self.first = axis, first

    def tick(self, position: float) -> str:
        return self.axis.tick(position - self.first)


def saved_dates(saved: SavedForecast) -> DateTicks | None:
    """Tick labels for a saved run's charts from the dates its forecast.csv holds (None
    without); past the last one they continue the dates' frequency (the future's)."""
    if not saved.dates or not len(saved.time):
        return None
    from engine.dates import date_axis  # parses dates with numpy: not before the first frame

    return ShiftedTicks(date_axis(saved.dates), float(saved.time[0]))


def _array(values: Values | None) -> np.ndarray:
    return np.asarray([] if values is None else values, dtype="float64").ravel()


@dataclass(frozen=True, eq=False)
class ForecastView:
    """What the forecast charts show of one run: the validation period's actual values, the
    one-step forecast and its interval band (empty without one), the forecast past the end of the
    data, the backtest, the metrics (for titles) and the date axis (None: index ticks)."""

    time: np.ndarray
    actual: np.ndarray
    forecast: np.ndarray
    lower: np.ndarray = field(default_factory=lambda: np.zeros(0))
    upper: np.ndarray = field(default_factory=lambda: np.zeros(0))
    level: float | None = None
    coverage: float | None = None
    future: FutureForecast | None = None
    backtest: Backtest | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    dates: DateTicks | None = None

    @classmethod
    def of(
        cls,
        time: Values | None,
        actual: Values | None,
        forecast: Values | None,
        metrics: Mapping[str, Any] | None = None,
        *,
        lower: Values | None = None,
        upper: Values | None = None,
        future: FutureForecast | None = None,
        backtest: Backtest | None = None,
        dates: DateTicks | None = None,
    ) -> ForecastView:
        """From plain numbers: the last points of each where lengths differ; the band only
        where it matches the forecast point for point. Level and coverage come from the metrics
        ("interval_level", "coverage")."""
        t, a, f = _array(time), _array(actual), _array(forecast)
        n = min(len(t), len(a), len(f))
        t, a, f = t[len(t) - n :], a[len(a) - n :], f[len(f) - n :]
        lo, hi = _array(lower), _array(upper)
        band = n > 0 and len(lo) == len(hi) and len(lo) >= n
        m = dict(metrics or {})
        level, coverage = m.get("interval_level"), m.get("coverage")
        return cls(
            time=t,
            actual=a,
            forecast=f,
            lower=lo[len(lo) - n :] if band else np.zeros(0),
            upper=hi[len(hi) - n :] if band else np.zeros(0),
            level=float(level) if isinstance(level, (int, float)) else None,
            coverage=float(coverage) if isinstance(coverage, (int, float)) else None,
            future=future if future is not None and len(future.values) else None,
            backtest=backtest,
            metrics=m,
            dates=dates,
        )

    @classmethod
    def from_event(cls, event: RunFinished, series: Series | None) -> ForecastView:
        """A training run just finished: its forecast over ``series``' validation period."""
        time = series.time_valid if series is not None else None
        actual = series.valid if series is not None else None
        return cls.of(
            time,
            actual,
            event.forecast,
            event.metrics,
            lower=event.lower,
            upper=event.upper,
            future=event.future,
            backtest=event.backtest,
            dates=series.dates if series is not None else None,
        )

    @classmethod
    def from_saved(
        cls,
        saved: SavedForecast | None,
        future: FutureForecast | None = None,
        metrics: Mapping[str, Any] | None = None,
        dates: DateTicks | None = None,
        backtest: Backtest | None = None,
    ) -> ForecastView:
        """A saved run (``RunStore.forecast``/``future``/``metrics``/``backtest``); its dates
        from forecast.csv unless a date axis over the whole series is given."""
        if saved is None:
            return cls.of(None, None, None, metrics, future=future, backtest=backtest)
        return cls.of(
            saved.time,
            saved.actual,
            saved.forecast,
            metrics,
            lower=saved.lower,
            upper=saved.upper,
            future=future,
            backtest=backtest,
            dates=dates or saved_dates(saved),
        )

    def with_future(self, future: FutureForecast | None) -> ForecastView:
        """The same run with a new forecast past the end (the set-N key's answer)."""
        return dataclasses.replace(self, future=future)

    def __len__(self) -> int:
        return len(self.forecast)

    @property
    def has_band(self) -> bool:
        return len(self.lower) == len(self.forecast) > 0


def _band_label(level: float | None) -> str:
    return f"{percent(level)} interval" if level is not None else "interval"


def _window_text(n: int, start: int, stop: int, future: int) -> str:
    """Where the chart's window lies: "last 120 of 461 · 30 ahead", "points 101–220 of 461"."""
    if start == 0 and stop == n:
        where = f"all {n} points"
    elif stop == n:
        where = f"last {stop - start} of {n}"
    else:
        where = f"points {start + 1}–{stop} of {n}"
    return where + (f" · {future} ahead" if future else "")


def fitting_span(width: int) -> int:
    """The window of validation points a forecast chart ``width`` columns wide shows apart (a
    multiple of 10, at least ``MIN_SPAN``)."""
    columns = max(0, width - Y_AXIS_COLUMNS)
    return max(MIN_SPAN, int(columns * POINTS_PER_COLUMN) // 10 * 10)


def forecast_window(n: int, span: int | None, offset: int) -> tuple[int, int]:
    """The validation points shown, as a slice (start, stop): the last ``span`` (all with
    None), ``offset`` points back from the end (kept inside the period)."""
    shown = n if span is None else max(1, min(span, n))
    back = max(0, min(offset, n - shown))
    return n - shown - back, n - back


def forecast_figure(
    view: ForecastView | Values | None,
    actual: Values | None = None,
    forecast: Values | None = None,
    metrics: Mapping[str, Any] | None = None,
    *,
    span: int | None = DEFAULT_SPAN,
    offset: int = 0,
    residuals: bool = False,
) -> Figure:
    """The validation forecast against the actual values, over a window of the last ``span``
    validation points (None: all), ``offset`` points back: the interval band, and, when the
    window reaches the end, the forecast past the data after a line at the last actual point.
    ``residuals``: actual − forecast instead, around zero, the band as its distance from the
    forecast. Titled with the MAE and the naive and linear baselines' (MASE is left to the
    results line: a chart title has little room); the band's coverage is the caption.

    ``forecast_figure(time, actual, forecast, metrics)`` still works (a view of those numbers).
    """
    if not isinstance(view, ForecastView):
        view = ForecastView.of(view, actual, forecast, metrics)
    ladder_metrics = {k: v for k, v in view.metrics.items() if k != "val_mase"}
    if not len(view):
        return Figure(
            title="residuals" if residuals else "forecast",
            hint="No forecast yet: it appears when a training run finishes.",
        )
    n = len(view)
    start, stop = forecast_window(n, span, offset)
    future = view.future if stop == n and not residuals else None
    steps = len(future.values) if future is not None else 0
    ladder = ladder_text(ladder_metrics)
    shorter = ladder_text({k: v for k, v in ladder_metrics.items() if k != "linear_mae"})
    caption = (
        coverage_variants(view.level, view.coverage)
        if view.level is not None and view.coverage is not None
        else ()
    )
    time = view.time[start:stop]
    axes = Figure(
        xlabel=_window_text(n, start, stop, steps),
        whole_x=True,
        xtick=view.dates.tick if view.dates is not None else None,
        caption=caption,
    )
    if residuals:
        return _residual_figure(view, start, stop, axes)
    traces: list[Trace] = []
    if view.has_band:
        traces += _band(time, view.lower[start:stop], view.upper[start:stop], view.level)
    traces += [  # the actual points over the forecast's line, which they would otherwise hide
        Trace(time, view.forecast[start:stop], "forecast", FORECAST_COLOR),
        Trace(time, view.actual[start:stop], "actual", ACTUAL_COLOR, ACTUAL_MARKER, points=True),
    ]
    vlines: tuple[tuple[float, str], ...] = ()
    if future is not None:
        band = min(len(future.lower), len(future.upper), len(future.values))
        if band:
            labelled = not view.has_band
            traces += _band(
                future.time[:band],
                future.lower[:band],
                future.upper[:band],
                future.level,
                labelled=labelled,
            )
        traces.append(Trace(future.time, future.values, "future", FUTURE_COLOR, FUTURE_MARKER))
        vlines = ((float(time[-1]), SPLIT_COLOR),)
    return dataclasses.replace(
        axes,
        title="forecast" + (f" · {ladder}" if ladder else ""),
        short_titles=(ladder, shorter) if ladder else (),
        traces=tuple(traces),
        vlines=vlines,
    )


def _band(
    time: Values, lower: Values, upper: Values, level: float | None, labelled: bool = True
) -> list[Trace]:
    """An interval as two muted edges, labelled once."""
    label = _band_label(level) if labelled else ""
    return [
        Trace(time, lower, "", BAND_COLOR, BAND_MARKER),
        Trace(time, upper, label, BAND_COLOR, BAND_MARKER),
    ]


def _residual_figure(view: ForecastView, start: int, stop: int, axes: Figure) -> Figure:
    """Actual − forecast over the window, around a zero line; a point outside the band's edges
    (their distance from the forecast) is one the interval missed."""
    time = view.time[start:stop]
    forecast = view.forecast[start:stop]
    traces: list[Trace] = []
    if view.has_band:
        traces += _band(
            time, view.lower[start:stop] - forecast, view.upper[start:stop] - forecast, view.level
        )
    residual = view.actual[start:stop] - forecast
    traces.append(Trace(time, residual, "actual − forecast", ACTUAL_COLOR, "dot", points=True))
    mae = view.metrics.get("val_mae")
    mae_text = f" · MAE {mae:.2f}" if isinstance(mae, (int, float)) and math.isfinite(mae) else ""
    return dataclasses.replace(
        axes,
        title=f"residuals (actual − forecast){mae_text}",
        short_titles=(f"residuals{mae_text}", "residuals"),
        traces=tuple(traces),
        hlines=((0.0, SPLIT_COLOR),),
    )


@dataclass
class ForecastControls:
    """How a pane shows its forecast chart (the chart keys change it): the window's width
    (``span``, None for all) and how far back it is scrolled, and which view is shown. Until
    the window is widened or narrowed (``fit``), it is as wide as the chart shows apart."""

    span: int | None = DEFAULT_SPAN
    offset: int = 0
    residuals: bool = False
    backtest: bool = False
    fit: bool = True

    def wider(self, n: int) -> None:
        """The next wider window (all the points after the widest)."""
        self.fit = False
        if self.span is None:
            return
        wider = [s for s in SPANS if s > self.span]
        self.span = wider[0] if wider and wider[0] < n else None
        self.offset = min(self.offset, max(0, n - (self.span or n)))

    def narrower(self, n: int) -> None:
        """The next narrower window, keeping its right edge where it is."""
        self.fit = False
        current = n if self.span is None else min(self.span, n)
        narrower = [s for s in SPANS if s < current]
        if narrower:
            self.span = narrower[-1]

    def back(self, n: int) -> None:
        """Half a window towards the start of the validation period."""
        shown = n if self.span is None else min(self.span, n)
        self.offset = min(self.offset + max(1, shown // 2), max(0, n - shown))

    def forward(self, n: int) -> None:
        """Half a window towards the end (where the forecast past the data is)."""
        shown = n if self.span is None else min(self.span, n)
        self.offset = max(0, self.offset - max(1, shown // 2))

    def toggle_residuals(self, n: int) -> None:
        """Residuals (actual − forecast) / the forecast; from the backtest view, residuals."""
        self.residuals = True if self.backtest else not self.residuals
        self.backtest = False

    def toggle_backtest(self, n: int) -> None:
        """The backtest / back to the forecast (or its residuals)."""
        self.backtest = not self.backtest

    def reset(self) -> None:
        """A new run: its window starts at the end, on the forecast."""
        self.offset, self.residuals, self.backtest = 0, False, False

    def figure(self, view: ForecastView | None, width: int = 0) -> Figure:
        """The forecast chart of ``view`` as these controls say: the backtest view when asked
        for and the run has one, else the forecast or its residuals over the window (fitted to
        a chart ``width`` columns wide, when known and not set by a key)."""
        if self.fit and width > 0:
            self.span = fitting_span(width)
        if self.backtest and view is not None and view.backtest is not None:
            return backtest_figure(view.backtest, view.dates)
        return forecast_figure(view, span=self.span, offset=self.offset, residuals=self.residuals)


def backtest_figure(backtest: Backtest | None, dates: object | None = None) -> Figure:
    """The rolling-origin backtest: MAE per step ahead (1..H) of the model beside the naive and
    seasonal naive forecasts over the same origins; the interval's coverage per step is the
    caption. ``dates``: the series' date axis, whose frequency names the step."""
    if backtest is None or not backtest.model:
        return Figure(title="backtest", hint="This run has no backtest.")
    steps = list(range(1, len(backtest.model) + 1))
    traces = [
        Trace(steps, backtest.model, "model", FORECAST_COLOR),
        Trace(steps[: len(backtest.naive)], backtest.naive, "naive", ACTUAL_COLOR, "dot"),
    ]
    if backtest.seasonal:
        traces.append(
            Trace(
                steps[: len(backtest.seasonal)],
                backtest.seasonal,
                "seasonal naive",
                COLORS[2],
                "+",
            )
        )
    caption: tuple[str, ...] = ()
    covered = [c for c in backtest.coverage if math.isfinite(c)]
    if covered and backtest.level is not None:
        low, high = percent(min(covered)), percent(max(covered))
        spread = low if low == high else f"{low.removesuffix('%')}–{high}"
        level = percent(backtest.level)
        caption = (
            f"{level} interval covered {spread} of the points, by step · "
            f"{backtest.origins} origins",
            f"{level} interval covered {spread}, by step",
            f"{level} interval: {spread} in",
        )
    frequency = getattr(dates, "frequency", None)
    unit = f"one step: {frequency.describe()}" if frequency is not None else ""
    return Figure(
        title=f"backtest · MAE by steps ahead · {backtest.origins} origins",
        short_titles=("backtest · MAE by steps ahead", "backtest MAE"),
        traces=tuple(traces),
        xlabel="steps ahead" + (f" · {unit}" if unit else ""),
        hint="This run has no backtest.",
        whole_x=True,
        caption=caption,
    )


def compare_figure(runs: Sequence[tuple[str, History]], *, log_y: bool = False) -> Figure:
    """Loss curves of several runs on one chart."""
    traces = tuple(
        Trace(h.epochs, h.loss, name, COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)])
        for i, (name, h) in enumerate(runs)
    )
    return Figure(
        title="loss per epoch: " + " vs ".join(name for name, _ in runs),
        traces=traces,
        ylog=log_y,
        xlabel="epoch",
        hint="These runs have no epochs to compare.",
        whole_x=True,
    )
