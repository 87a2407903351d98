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
from tui.numbers import fmt_number
from tui.plotting import COLORS, Figure, Trace, Values, drawable, smooth

ZOOMS = (None, 100, 50, 20)  # "last N epochs" choices the zoom key cycles through
# one per engine.sweep.SUGGESTIONS name, in the app and on the command line alike
SUGGESTION_COLORS = {"valley": "green+", "steep": "yellow", "minimum": "magenta+"}


@dataclass
class History:
    """Per-epoch numbers of one training run, as the charts and the runs view read them."""

    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_mae: list[float] = field(default_factory=list)

    def add(self, event: EpochEnded) -> None:
        self.epochs.append(event.epoch)
        self.loss.append(event.loss)
        self.mae.append(event.mae)
        self.learning_rate.append(event.learning_rate)
        self.val_loss.append(math.nan if event.val_loss is None else event.val_loss)
        self.val_mae.append(math.nan if event.val_mae is None else event.val_mae)

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, float | None]]) -> History:
        """From ``RunStore.history`` rows (missing numbers become NaN)."""
        out = cls()

        def num(row: dict[str, float | None], key: str) -> float:
            value = row.get(key)
            return math.nan if value is None else float(value)

        for row in rows:
            out.epochs.append(int(num(row, "epoch")))
            out.loss.append(num(row, "loss"))
            out.mae.append(num(row, "mae"))
            out.learning_rate.append(num(row, "learning_rate"))
            out.val_loss.append(num(row, "val_loss"))
            out.val_mae.append(num(row, "val_mae"))
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
    """Loss and MAE per epoch (validation curves too when the run reports them)."""
    view = view_label(log_y, smoothed, last_n)
    title = "loss / MAE per epoch" + (f" ({view})" if view else "")
    epochs = _window(history.epochs, last_n)
    traces = []
    for values, label, color in (
        (history.loss, "loss", COLORS[0]),
        (history.mae, "MAE", COLORS[1]),
        (history.val_loss, "val loss", COLORS[2]),
        (history.val_mae, "val MAE", COLORS[3]),
    ):
        y = _window(values, last_n)
        if not any(math.isfinite(v) for v in y):
            continue
        traces.append(Trace(epochs, smooth(y) if smoothed else y, label, color))
    notes = _dropped_note(history.loss + history.mae, log_y)
    return Figure(
        title=title,
        traces=tuple(traces),
        ylog=log_y,
        xlabel="epoch",
        hint="No epochs yet. Press ctrl+t to train.",
        notes=notes,
        whole_x=True,
    )


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
) -> Figure:
    """Loss against learning rate on a log x axis, each suggested rate a labelled vertical line.

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
                traces.append(
                    Trace([lr, lr], list(ys), f"{name} {fmt_number(lr)}", SUGGESTION_COLORS[name])
                )
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
    """The validation forecast against the actual series, titled with MAE and the naive MAE."""
    metrics = metrics or {}
    parts = ["forecast"]
    if "val_mae" in metrics:
        parts.append(f"MAE {metrics['val_mae']:.2f}")
    if "naive_mae" in metrics:
        parts.append(f"naive {metrics['naive_mae']:.2f}")
    if forecast is None or actual is None or time is None or not len(forecast):
        return Figure(
            title=parts[0], hint="No forecast yet: it appears when a training run finishes."
        )
    n = min(len(time), len(actual), len(forecast))
    return Figure(
        title=" · ".join(parts),
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
