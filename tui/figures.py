"""The figures both views show, built from plain numbers (pure functions, so tests need no screen).

The app shows them in ``tui.chart.Chart`` widgets; the command line prints them with
``tui.plotting.to_text``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.events import EpochEnded
from engine.series import Series
from engine.sweep import EXPLODED, SUGGESTIONS
from tui.numbers import fmt_number, ladder_text
from tui.plotting import COLORS, Figure, Trace, Values, drawable, smooth

ZOOMS = (None, 100, 50, 20)  # "last N epochs" choices the zoom key cycles through
# one per engine.sweep.SUGGESTIONS name, in the app and on the command line alike
SUGGESTION_COLORS = {"valley": "green+", "steep": "yellow", "minimum": "magenta+"}
KEPT_COLOR = "yellow"  # the kept epoch's marker on the loss chart


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
    """The series, training part and validation part in two colours, the split marked."""
    if series is None:
        return Figure(title=title, hint="No valid series: fix the marked field.")
    split = series.split_time
    time, values = series.time, series.values
    name = title or f"{series.name} · {len(series)} points · split t={split}"
    return Figure(
        title=name,
        traces=(
            Trace(time[:split], values[:split], "train", COLORS[0]),
            Trace(time[split - 1 :], values[split - 1 :], "validation", COLORS[1]),
        ),
        vlines=((float(split), "gray+"),),
        hint="The series is empty.",
        whole_x=True,
    )


def loss_figure(
    history: History, *, log_y: bool = False, smoothed: bool = False, last_n: int | None = None
) -> Figure:
    """The loss per epoch on the training windows, the holdout slice and the validation period,
    the kept epoch marked; a run with neither holdout nor validation curves (the course's) shows
    its training loss and MAE instead."""
    view = view_label(log_y, smoothed, last_n)
    epochs = _window(history.epochs, last_n)
    curves = [
        (history.loss, "train loss", COLORS[0]),
        (history.holdout_loss, "holdout loss", COLORS[2]),
        (history.val_loss, "val loss", COLORS[1]),
    ]
    shown = [(_window(v, last_n), label, color) for v, label, color in curves]
    shown = [(y, label, color) for y, label, color in shown if any(math.isfinite(v) for v in y)]
    if len(shown) > 1:
        title = "loss per epoch"
    else:
        title = "loss / MAE per epoch"
        shown = [
            (_window(history.loss, last_n), "loss", COLORS[0]),
            (_window(history.mae, last_n), "MAE", COLORS[1]),
        ]
    traces = [
        Trace(epochs, smooth(y) if smoothed else y, label, color) for y, label, color in shown
    ]
    marker = _kept_marker(history.kept, epochs, [y for y, _, _ in shown], log_y)
    if marker is not None:
        traces.append(marker)
    notes = _dropped_note([v for y, _, _ in shown for v in y], log_y)
    return Figure(
        title=title + (f" ({view})" if view else ""),
        short_titles=(f"loss ({view})",) if view else (),
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
    return Trace([kept, kept], [lo, hi], f"kept epoch {kept}", KEPT_COLOR)


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
    (the ``recommended`` one says so).

    On a linear axis the y range stops at 4x the lowest loss (the sweep's own "exploded" bound):
    the loss at the start of a sweep (rate too small to learn) and at its end (diverged) would
    otherwise flatten the part worth reading, which is why the course plots it with ylim 0..30.
    The log-y key shows the whole curve.
    """
    loss = np.asarray(losses, dtype="float64")
    finite = loss[np.isfinite(loss) & ((loss > 0) if log_y else True)]
    traces = [Trace(lrs, losses, "loss", COLORS[0])]
    ylim = None
    if len(finite):
        lo = float(finite.min())
        hi = float(finite.max()) if log_y else min(float(finite.max()), EXPLODED * lo)
        if hi > lo:
            ylim = (lo * 0.9 if log_y else min(0.0, lo), hi * 1.05)
        for name in (s.name for s in SUGGESTIONS):
            lr = suggestions.get(name)
            if lr is not None and math.isfinite(lr) and lr > 0:
                ys = ylim or (lo, float(finite.max()))
                label = f"{name} {fmt_number(lr)}" + (
                    " (recommended)" if name == recommended else ""
                )
                traces.append(Trace([lr, lr], list(ys), label, SUGGESTION_COLORS[name]))
    return Figure(
        title="LR sweep: loss vs learning rate",
        traces=tuple(traces),
        xlog=True,
        ylog=log_y,
        ylim=ylim,
        xlabel="learning rate",
        hint="No sweep yet. Press ctrl+r to sweep learning rates.",
        notes=_dropped_note(list(losses), log_y),
    )


def forecast_figure(
    time: Values | None,
    actual: Values | None,
    forecast: Values | None,
    metrics: dict[str, float] | None = None,
) -> Figure:
    """The validation forecast against the actual series, titled with its MAE and the naive and
    linear baselines' (MASE is left to the results line: a chart title has little room)."""
    metrics = {k: v for k, v in (metrics or {}).items() if k != "val_mase"}
    if forecast is None or actual is None or time is None or not len(forecast):
        return Figure(
            title="forecast", hint="No forecast yet: it appears when a training run finishes."
        )
    n = min(len(time), len(actual), len(forecast))
    ladder = ladder_text(metrics)
    shorter = ladder_text({k: v for k, v in metrics.items() if k != "linear_mae"})
    return Figure(
        title="forecast" + (f" · {ladder}" if ladder else ""),
        short_titles=(ladder, shorter) if ladder else (),
        traces=(
            Trace(list(time)[-n:], list(actual)[-n:], "actual", COLORS[1]),
            Trace(list(time)[-n:], list(forecast)[-n:], "forecast", COLORS[0]),
        ),
        xlabel="time",
        whole_x=True,
    )


def compare_figure(runs: Sequence[tuple[str, History]], *, log_y: bool = False) -> Figure:
    """Loss curves of several runs on one chart."""
    traces = tuple(
        Trace(h.epochs, h.loss, name, COLORS[i % len(COLORS)]) for i, (name, h) in enumerate(runs)
    )
    return Figure(
        title="loss per epoch: " + " vs ".join(name for name, _ in runs),
        traces=traces,
        ylog=log_y,
        xlabel="epoch",
        hint="These runs have no epochs to compare.",
        whole_x=True,
    )
