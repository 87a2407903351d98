"""Terminal charts for the command line (plotext): loss per epoch, forecast, LR sweep.

plotext 5.3's own log scale rewrites its stored data on every build, so a log axis here plots
log10 values and labels the ticks ``1e-8`` ... instead. Non-finite points are dropped (``inf``
crashes a build; a log axis also drops non-positive values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from engine.sweep import EXPLODED

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUGGESTION_COLORS = {"valley": "green", "minimum": "cyan", "steep": "magenta"}


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks at whole powers of ten over log10 values [lo, hi], labelled like ``1e-6``."""
    powers = list(range(math.floor(lo), math.ceil(hi) + 1)) or [math.floor(lo)]
    return [float(k) for k in powers], [f"1e{k}" for k in powers]


def _finite(*columns: Sequence[float]) -> list[np.ndarray]:
    arrays = [np.asarray(c, dtype="float64") for c in columns]
    keep = np.logical_and.reduce([np.isfinite(a) for a in arrays])
    return [a[keep] for a in arrays]


def _figure(width: int, height: int, title: str):
    import plotext as plt

    plt.clear_figure()
    plt.limitsize(False, False)  # the size asked for, also when stdout is not a terminal
    plt.plotsize(width, height)
    plt.theme("clear")
    plt.title(title)
    return plt


def _done(plt, color: bool) -> str:
    text = plt.build()
    plt.clear_figure()
    return text if color else _ANSI.sub("", text)


def loss_chart(
    epochs: Sequence[float],
    loss: Sequence[float],
    mae: Sequence[float],
    *,
    width: int = 80,
    height: int = 18,
    color: bool = False,
) -> str:
    """Loss and MAE per epoch (the course's "MAE and Loss" plot)."""
    plt = _figure(width, height, "loss and MAE per epoch")
    e1, l1 = _finite(epochs, loss)
    e2, m2 = _finite(epochs, mae)
    if len(e1):
        plt.plot(e1.tolist(), l1.tolist(), label="loss", marker="braille", color="blue")
    if len(e2):
        plt.plot(e2.tolist(), m2.tolist(), label="MAE", marker="braille", color="red")
    plt.xlabel("epoch")
    return _done(plt, color)


def forecast_chart(
    time: Sequence[float],
    actual: Sequence[float],
    forecast: Sequence[float],
    *,
    width: int = 80,
    height: int = 18,
    color: bool = False,
) -> str:
    """The validation period: actual values and the forecast."""
    plt = _figure(width, height, "validation period: actual and forecast")
    t, a, f = _finite(time, actual, forecast)
    plt.plot(t.tolist(), a.tolist(), label="actual", marker="braille", color="blue")
    plt.plot(t.tolist(), f.tolist(), label="forecast", marker="braille", color="orange")
    plt.xlabel("time")
    return _done(plt, color)


def sweep_chart(
    lrs: Sequence[float],
    losses: Sequence[float],
    suggestions: dict[str, float] | None = None,
    *,
    width: int = 80,
    height: int = 18,
    color: bool = False,
) -> str:
    """Loss against learning rate on a log axis, the suggestions as vertical lines.

    The loss axis stops at 4x the best loss, like the course's zoomed plots: above it the curve
    only says "not learning yet" or "diverged".
    """
    lr, loss = _finite(lrs, losses)
    keep = lr > 0
    lr, loss = lr[keep], loss[keep]
    plt = _figure(width, height, "loss vs learning rate (log axis)")
    if len(lr):
        x = np.log10(lr)
        top = min(float(loss.max()), EXPLODED * float(loss.min()))
        top = top if top > 0 else 1.0
        plt.plot(x.tolist(), loss.tolist(), label="loss", marker="braille", color="blue")
        marks = []
        for row, (name, rate) in enumerate((suggestions or {}).items()):
            if rate > 0:  # a labelled vertical line, labels staggered so close rates stay legible
                hue = SUGGESTION_COLORS.get(name, "red")
                plt.vertical_line(math.log10(rate), color=hue)
                plt.text(
                    name, math.log10(rate), top * (0.9 - 0.12 * row), color=hue, alignment="left"
                )
                marks.append(math.log10(rate))
        ticks, labels = log_ticks(min([x.min(), *marks]), max([x.max(), *marks]))
        plt.xticks(ticks, labels)
        plt.ylim(0, top)
    plt.xlabel("learning rate")
    return _done(plt, color)
