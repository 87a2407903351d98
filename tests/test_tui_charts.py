"""Charts: figures from numbers, drawing that survives any number, text, repaint throttling."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual_plotext import Plot

from engine.events import EpochEnded
from tui.chart import Chart
from tui.figures import (
    History,
    compare_figure,
    forecast_figure,
    loss_figure,
    lr_figure,
    sweep_figure,
)
from tui.numbers import fmt_number
from tui.plotting import (
    Figure,
    Trace,
    clean,
    draw,
    envelope,
    linear_ticks,
    log_ticks,
    smooth,
    tick_labels,
    to_text,
    whole_ticks,
)

NASTY = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-300, 1e300, 5.0]


def build(figure: Figure, width: int = 60, height: int = 18) -> str | None:
    plot = Plot()
    if not draw(plot, figure, width):
        return None
    plot.plotsize(width, height)
    return plot.uncolorize(plot.build())


def history(n: int) -> History:
    h = History()
    for e in range(1, n + 1):
        h.add(EpochEnded("r", e, n, 20 * 0.8**e + 3, 20 * 0.8**e + 3.5, 5e-6, 0.1))
    return h


def test_clean_drops_non_finite_and_non_positive_on_log_axes():
    x, y = clean([1, 2, 3, 4, 5], [10, math.nan, -1, 0, 1000], ylog=True)
    assert x.tolist() == [1, 5] and y.tolist() == [1.0, 3.0]
    x, y = clean([1e-8, -1, math.inf, 1e-6], [1, 2, 3, 4], xlog=True)
    assert x.tolist() == [-8.0, -6.0] and y.tolist() == [1, 4]


@pytest.mark.parametrize("xlog", [False, True])
@pytest.mark.parametrize("ylog", [False, True])
def test_drawing_survives_nan_inf_zero_and_negative(xlog, ylog):
    x = np.arange(1, len(NASTY) + 1, dtype=float)
    figure = Figure(
        title="t", traces=(Trace(x, NASTY, "a"), Trace(NASTY, x, "b")), xlog=xlog, ylog=ylog
    )
    text = build(figure)
    assert text is not None and "t" in text


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(NASTY) | st.floats(allow_nan=True, allow_infinity=True), max_size=30),
    st.booleans(),
    st.booleans(),
)
def test_any_numbers_draw_or_give_the_hint(values, xlog, ylog):
    figure = Figure(traces=(Trace(list(range(1, len(values) + 1)), values),), xlog=xlog, ylog=ylog)
    text = build(figure)
    # drawable: finite, and positive on a log axis or below 1e30 in size on a linear one
    finite = [v for v in values if math.isfinite(v) and (v > 0 if ylog else abs(v) < 1e30)]
    assert (text is None) == (not finite)


def test_log_axis_redraws_identically():
    """plotext 5 rewrites its data in place on log axes; every draw starts from a clean figure."""
    plot = Plot()
    figure = sweep_figure(
        1e-8 * 10 ** (np.arange(60) / 20), 30 - np.arange(60) / 3, {"valley": 1e-6}
    )
    outputs = []
    for _ in range(3):
        draw(plot, figure, 60)
        plot.plotsize(60, 18)
        outputs.append(plot.uncolorize(plot.build()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert "1e-8" in outputs[0] and "1e-6" in outputs[0]


def test_empty_figure_draws_nothing():
    assert build(Figure(hint="nothing")) is None
    assert build(Figure(traces=(Trace([1, 2], [math.nan, math.inf]),))) is None


def test_ticks_and_numbers():
    assert log_ticks(-8, -3)[1] == ["1e-8", "1e-7", "1e-6", "1e-5", "1e-4", "1e-3"]
    float32_rates = np.float32([1e-8, 4e-4]).astype("float64")  # as a saved sweep holds them
    assert log_ticks(*np.log10(float32_rates))[1] == ["1e-8", "1e-7", "1e-6", "1e-5", "1e-4"]
    ticks, labels = log_ticks(math.log10(3e-6), math.log10(8e-6))
    assert labels == ["5e-6"] or len(labels) >= 2
    assert whole_ticks(1, 40) == [1, 9, 17, 25, 33] and whole_ticks(1, 1) == [1]
    assert linear_ticks(3.2, 31) == [10, 20, 30]
    assert tick_labels(linear_ticks(5, 5.001)) == ["5.0000", "5.0005", "5.0010"]
    assert [fmt_number(v) for v in (5e-6, 0.05, 12.34, 12345, 0)] == [
        "5e-6",
        "0.05",
        "12.3",
        "1.2e+4",
        "0",
    ]


def test_smooth_and_envelope():
    assert smooth([1, 1, 1]).tolist() == [1, 1, 1]
    out = smooth([1, math.nan, 3])
    assert math.isnan(out[1]) and 1 < out[2] < 3
    x = np.arange(1000.0)
    y = np.zeros(1000)
    y[500] = 9
    ex, ey = envelope(x, y, 20)
    assert len(ex) <= 42 and ey.max() == 9 and ex[0] == 0 and ex[-1] == 999


def test_figures_hold_the_numbers():
    loss = loss_figure(history(30), log_y=True, smoothed=True, last_n=20)
    assert loss.ylog and loss.title == "loss / MAE per epoch (log y, smoothed, last 20)"
    assert list(loss.traces[0].x) == list(range(11, 31))
    assert lr_figure(history(5)).ylog
    assert "No epochs yet" in loss_figure(History()).hint
    lrs = 1e-8 * 10 ** (np.arange(100) / 20)
    losses = np.concatenate([np.linspace(30, 5, 70), np.linspace(5, 500, 30)])
    sweep = sweep_figure(lrs, losses, {"valley": 3e-6, "steep": 1e-6, "minimum": 2e-6})
    assert [t.label for t in sweep.traces] == ["loss", "valley 3e-6", "steep 1e-6", "minimum 2e-6"]
    assert sweep.xlog and sweep.ylim is not None and sweep.ylim[1] < 40  # the explosion is cut off
    forecast = forecast_figure([1, 2, 3], [1, 2, 3], [1, 2, 2], {"val_mae": 0.33, "naive_mae": 0.5})
    assert forecast.title == "forecast · MAE 0.33 · naive 0.50"
    assert sweep_figure(lrs, losses, {"valley": 3e-6}, recommended="valley").traces[1].label == (
        "valley 3e-6 (recommended)"
    )
    assert forecast_figure(None, None, None).traces == ()
    compare = compare_figure([("a", history(3)), ("b", history(5))])
    assert [t.label for t in compare.traces] == ["a", "b"]


def test_loss_figure_shows_holdout_and_validation_curves_and_the_kept_epoch():
    course = history(10)
    course.kept = 10  # the last epoch: nothing restored, nothing to mark
    assert [t.label for t in loss_figure(course).traces] == ["loss", "MAE"]
    rows = [
        {"epoch": e, "loss": 10 / e, "mae": 11 / e, "holdout_loss": abs(e - 4) + 1.0}
        | {"holdout_mae": None, "val_loss": 2.0 + e / 10, "val_mae": None}
        for e in range(1, 7)
    ]
    figure = loss_figure(History.from_rows(rows, kept=4), log_y=True)
    assert figure.title == "loss per epoch (log y)"
    assert [t.label for t in figure.traces] == [
        "train loss",
        "holdout loss",
        "val loss",
        "kept epoch 4",
    ]
    marker = figure.traces[-1]
    assert list(marker.x) == [4, 4] and list(marker.y) == [1.0, 10.0]  # spans the curves
    zoomed = loss_figure(History.from_rows(rows, kept=1), last_n=3)
    assert [t.label for t in zoomed.traces][-1] == "val loss"  # the kept epoch is out of view
    text = to_text(figure, 60, 16)
    assert text is not None and "kept epoch 4" in text and "holdout loss" in text


def test_a_title_too_wide_for_its_chart_gives_way_to_a_shorter_one():
    """plotext leaves out a title wider than the chart, so figures offer shorter ones."""
    m = {"val_mae": 6.53, "naive_mae": 5.94, "linear_mae": 4.95, "val_mase": 1.1}
    figure = forecast_figure([1, 2, 3], [1, 2, 3], [1, 2, 2], m)
    titles = {w: (to_text(figure, w, 8) or "").splitlines()[0].strip() for w in (60, 40, 30, 20)}
    assert titles[60] == "forecast · MAE 6.53 · naive 5.94 · linear 4.95"
    assert titles[40] == "MAE 6.53 · naive 5.94 · linear 4.95"
    assert titles[30] == "MAE 6.53 · naive 5.94"
    assert titles[20] == ""  # nothing fits


def test_to_text_is_the_figure_at_the_size_asked_for():
    """The command line's charts: the same figure as plain text, colour codes only on request."""
    lrs = 1e-8 * 10 ** (np.arange(60) / 20)
    figure = sweep_figure(lrs, 30 - np.arange(60) / 3, {"valley": 1e-6, "steep": 3e-7})
    text = to_text(figure, 100, 20)
    assert text is not None and "\x1b[" not in text
    lines = text.splitlines()
    assert len(lines) == 20 and max(len(line) for line in lines) == 100
    assert "LR sweep: loss vs learning rate" in text and "1e-6" in text
    assert "valley 1e-6" in text and "steep 3e-7" in text  # the legend
    assert to_text(figure, 100, 20) == text  # plotext's global figure is cleared after each
    coloured = to_text(figure, 100, 20, color=True)
    assert coloured is not None and "\x1b[" in coloured
    assert to_text(Figure(hint="nothing"), 100, 20) is None


CHART_MODEL_IMPORTS = """
import sys
from tui.figures import loss_figure, History
from tui.plotting import to_text
before = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich", "plotext"})
to_text(loss_figure(History([1, 2], [3.0, 2.0], [3.5, 2.5])), 60, 10)
after = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich", "plotext"})
print(before, after)
"""


def test_the_chart_model_imports_no_textual(python_subprocess):
    done = python_subprocess(CHART_MODEL_IMPORTS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] ['plotext']"


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield Chart(hint="Nothing here yet.")


def test_chart_shows_hint_and_repaints_at_most_ten_times_a_second():
    async def scenario() -> None:
        app = ChartApp()
        async with app.run_test(size=(60, 20)) as pilot:
            chart = app.query_one(Chart)
            await pilot.pause()
            assert "Nothing here yet." in str(chart.render())
            first = chart.renders
            h = History()
            for e in range(1, 101):  # 100 epochs arrive at once
                h.add(EpochEnded("r", e, 100, 1 / e, 1 / e, 1e-3, 0.0))
                chart.show(loss_figure(h))
                await asyncio.sleep(0)
            await pilot.pause(0.3)
            assert chart.renders - first <= 3
            assert len(chart.figure.traces[0].x) == 100  # the last figure is the one drawn

    asyncio.run(scenario())


def test_slow_chart_repaints_less_often(monkeypatch):
    """A chart whose build takes 50 ms waits ~1 s between repaints (REPAINT_COST_FACTOR), so
    drawing cannot take the training process's CPU however fast epochs come."""
    import time

    from tui import chart as chart_module

    real_draw = chart_module.draw

    def slow_draw(*args, **kwargs):
        time.sleep(0.05)
        return real_draw(*args, **kwargs)

    monkeypatch.setattr(chart_module, "draw", slow_draw)

    async def scenario() -> None:
        app = ChartApp()
        async with app.run_test(size=(60, 20)) as pilot:
            chart = app.query_one(Chart)
            h = History()
            h.add(EpochEnded("r", 1, 100, 1.0, 1.0, 1e-3, 0.0))
            chart.show(loss_figure(h))
            await pilot.pause(0.1)
            first = chart.renders
            for e in range(2, 26):  # an epoch every 50 ms for 1.2 s
                h.add(EpochEnded("r", e, 100, 1 / e, 1 / e, 1e-3, 0.0))
                chart.show(loss_figure(h))
                await pilot.pause(0.05)
            assert 1 <= chart.renders - first <= 3  # at MAX_FPS alone it would be ~12

    asyncio.run(scenario())
