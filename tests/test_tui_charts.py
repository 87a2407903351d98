"""Charts: figures from numbers, drawing that survives any number, text, repaint throttling."""

from __future__ import annotations

import asyncio
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual_plotext import Plot

from engine.dates import date_axis
from engine.events import Backtest, EpochEnded, FutureForecast, RunFinished
from engine.runstore import SavedForecast
from engine.series import Series
from tui.chart import Chart
from tui.figures import (
    DEFAULT_SPAN,
    ForecastControls,
    ForecastView,
    History,
    backtest_figure,
    compare_figure,
    fitting_span,
    forecast_figure,
    forecast_window,
    loss_figure,
    lr_figure,
    series_figure,
    sweep_figure,
)
from tui.numbers import backtest_lines, backtest_steps, coverage_text, fmt_number
from tui.plotting import (
    Figure,
    Trace,
    clean,
    draw,
    envelope,
    labelled_ticks,
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
    figure = loss_figure(course)
    assert [t.label for t in figure.traces] == ["loss (left axis)", "MAE (right axis)"]
    assert [t.right for t in figure.traces] == [False, True]  # the MAE on its own axis
    assert len({t.marker for t in figure.traces}) == 2  # told apart without colour
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
    """plotext leaves out a title wider than the chart, so figures offer shorter ones; where
    none fits, the shortest is cut with an ellipsis rather than left out."""
    m = {"val_mae": 6.53, "naive_mae": 5.94, "linear_mae": 4.95, "val_mase": 1.1}
    figure = forecast_figure([1, 2, 3], [1, 2, 3], [1, 2, 2], m)
    titles = {w: (to_text(figure, w, 8) or "").splitlines()[0].strip() for w in (60, 40, 30, 20)}
    assert titles[60] == "forecast · MAE 6.53 · naive 5.94 · linear 4.95"
    assert titles[40] == "MAE 6.53 · naive 5.94 · linear 4.95"
    assert titles[30] == "MAE 6.53 · naive 5.94"
    assert titles[20].startswith("MAE 6.53") and titles[20].endswith("…")  # cut, not gone


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


def forecast_view(n: int = 461, future: int = 30, band: int = 10, **kwargs) -> ForecastView:
    """A validation period of ``n`` points from t=1000 with a ±2 band, and ``future`` steps
    past it whose band reaches ``band``."""
    t = np.arange(1000, 1000 + n, dtype="float64")
    actual = 80 + 20 * np.sin(t / 25)
    forecast = actual + np.cos(t / 7)
    ahead = np.arange(1000 + n, 1000 + n + future, dtype="float64")
    values = 80 + 20 * np.sin(ahead / 25)
    fut = FutureForecast(
        tuple(ahead), tuple(values), tuple(values[:band] - 3), tuple(values[:band] + 3), 0.8
    )
    metrics = {"val_mae": 0.64, "naive_mae": 0.8, "interval_level": 0.8, "coverage": 0.784}
    return ForecastView.of(
        t,
        actual,
        forecast,
        metrics,
        lower=forecast - 2,
        upper=forecast + 2,
        future=fut if future else None,
        **kwargs,
    )


class Quarters:
    """A stand-in date axis: position p is quarter p of 1900."""

    def tick(self, position: float) -> str:
        p = int(round(position))
        return f"{1900 + p // 4}-Q{p % 4 + 1}" if position >= 0 else ""


def test_forecast_figure_windows_the_validation_period_and_adds_the_future():
    view = forecast_view()
    figure = forecast_figure(view)
    names = [(t.label, t.marker, t.points) for t in figure.traces]
    assert names == [
        ("", "·", False),  # the band's lower edge
        ("80% interval", "·", False),
        ("forecast", "braille", False),
        ("actual", "dot", True),  # drawn over the forecast
        ("", "·", False),  # the future's band, labelled once
        ("", "·", False),
        ("future", "hd", False),
    ]
    assert len({m for _, m, _ in names if m}) == 4  # every legend glyph differs
    actual = figure.traces[3]
    assert len(actual.x) == DEFAULT_SPAN and actual.x[-1] == 1460
    assert [len(t.x) for t in figure.traces[4:6]] == [10, 10]  # the band is shorter
    assert figure.vlines == ((1460.0, "gray+"),)
    assert figure.xlabel == "last 120 of 461 · 30 ahead"
    assert figure.caption[0] == "80% interval covered 78% of the validation points"
    scrolled = forecast_figure(view, span=50, offset=100)
    assert list(scrolled.traces[3].x) == list(range(1311, 1361))
    assert "future" not in [t.label for t in scrolled.traces] and scrolled.vlines == ()
    assert scrolled.xlabel == "points 312–361 of 461"
    everything = forecast_figure(view, span=None)
    assert len(everything.traces[3].x) == 461 and everything.xlabel == "all 461 points · 30 ahead"
    assert forecast_window(461, 50, 10_000) == (0, 50)  # scrolled no further than the start
    assert forecast_window(10, 50, 3) == (0, 10)
    text = to_text(figure, 80, 24)
    assert text is not None and "future" in text and "80% interval" in text
    lines = text.splitlines()
    assert len(lines) == 24 and lines[-1] == "80% interval covered 78% of the validation points"
    legend = dict(
        (m.group(2), m.group(1))
        for line in lines
        if (m := re.search(r"(\S\S) (actual|forecast|future)\b", line))
    )
    assert len(set(legend.values())) == 3, legend  # actual, forecast and future look different


def test_residual_view_is_actual_minus_forecast_around_zero_with_the_band_as_distances():
    view = forecast_view()
    figure = forecast_figure(view, span=60, residuals=True)
    assert figure.title == "residuals (actual − forecast) · MAE 0.64"
    assert figure.hlines == ((0.0, "gray+"),)
    residual = [t for t in figure.traces if t.label == "actual − forecast"][0]
    assert np.allclose(residual.y, -np.cos(np.arange(1401, 1461) / 7))
    lower, upper = figure.traces[0], figure.traces[1]
    assert np.allclose(lower.y, -2) and np.allclose(upper.y, 2)
    assert "future" not in [t.label for t in figure.traces]  # nothing to subtract there
    assert to_text(figure, 60, 16) is not None
    plain = forecast_figure(forecast_view(future=0).with_future(None), residuals=True)
    assert plain.caption and plain.traces[-1].label == "actual − forecast"


def test_forecast_figure_without_band_or_future_and_the_old_signature():
    figure = forecast_figure([1, 2, 3], [1, 2, 3], [1, 2, 2], {"val_mae": 0.33})
    assert [t.label for t in figure.traces] == ["forecast", "actual"] and figure.caption == ()
    mismatched = ForecastView.of([1, 2, 3], [1, 2, 3], [1, 2, 2], lower=[0, 1], upper=[2, 3])
    assert not mismatched.has_band  # a band that does not match point for point is not drawn
    assert forecast_figure(None).hint.startswith("No forecast yet")
    assert forecast_figure(ForecastView.of(None, None, None), residuals=True).traces == ()


def test_dates_label_the_x_ticks_as_many_as_fit():
    figure = forecast_figure(forecast_view(n=200, future=20, dates=Quarters()))
    assert figure.xtick is not None
    text = to_text(figure, 100, 20)
    assert text is not None and re.search(r"2[12]\d\d-Q[1-4]", text)  # positions 1080 to 1219
    narrow = to_text(figure, 40, 20)
    assert narrow is not None
    tick_line = [line for line in narrow.splitlines() if "-Q" in line][0]
    assert tick_line.count("-Q") <= 3  # 7-character labels: no more than fit in 40 columns
    ticks, labels = labelled_ticks(0, 100, lambda p: "" if p > 50 else f"d{p:g}", 100)
    assert labels and all(t <= 50 for t in ticks)  # positions without a label are left out
    series = Series(
        np.arange(8, dtype="float32"),
        np.arange(8, dtype="float32"),
        6,
        dates=date_axis([f"2020-0{m}-01" for m in range(1, 9)]),
    )
    assert series_figure(series).xtick is not None


def test_a_saved_runs_dates_label_its_forecast_and_continue_into_the_future():
    t = np.arange(40.0, 48.0)
    months = tuple(f"2020-{m:02d}-01" for m in range(1, 9))
    saved = SavedForecast(t, t, t + 1, t - 1, t + 2, months)
    future = FutureForecast((48.0, 49.0), (48.0, 49.0), level=0.8, dates=("2020-09-01", ""))
    view = ForecastView.from_saved(saved, future, {"interval_level": 0.8, "coverage": 0.75})
    assert view.has_band and view.level == 0.8 and view.coverage == 0.75
    assert view.dates is not None
    assert [view.dates.tick(p) for p in (40, 47, 49)] == ["2020-01", "2020-08", "2020-10"]
    assert ForecastView.from_saved(SavedForecast(t, t, t)).dates is None
    assert not len(ForecastView.from_saved(None, future))


def test_forecast_view_from_a_finished_run():
    series = Series(np.arange(10, dtype="float32") * 2, np.arange(10, dtype="float32"), 6)
    event = RunFinished(
        "r",
        "train",
        3,
        1.0,
        {"val_mae": 1.0, "interval_level": 0.9, "coverage": 0.5},
        forecast=(12.0, 14.0, 16.0, 18.0),
        lower=(11.0, 13.0, 15.0, 17.0),
        upper=(13.0, 15.0, 17.0, 19.0),
    )
    view = ForecastView.from_event(event, series)
    assert list(view.time) == [6, 7, 8, 9] and list(view.actual) == [12, 14, 16, 18]
    assert view.has_band and (view.level, view.coverage) == (0.9, 0.5)
    assert view.future is None and view.backtest is None
    assert not len(ForecastView.from_event(event, None))  # no series: nothing to draw against


def test_forecast_controls_step_the_window_within_the_data():
    c = ForecastControls()
    assert c.span == DEFAULT_SPAN
    c.back(461)
    assert c.offset == 60  # half a window
    c.wider(461)
    assert (c.span, c.offset) == (240, 60)
    c.wider(461)
    c.wider(461)
    assert c.span is None and c.offset == 0  # past 480 of 461: all of them, nothing to scroll
    c.narrower(461)
    assert c.span == 240
    for _ in range(5):
        c.narrower(461)
    assert c.span == 30  # the narrowest
    for _ in range(40):
        c.back(461)
    assert c.offset == 431  # the window's left edge at the first point
    for _ in range(40):
        c.forward(461)
    assert c.offset == 0
    c.toggle_backtest(461)
    c.toggle_residuals(461)  # from the backtest: the residuals
    assert (c.backtest, c.residuals) == (False, True)
    c.reset()
    assert (c.offset, c.residuals, c.backtest, c.span) == (0, False, False, 30)


def test_the_window_fits_the_chart_until_a_key_sets_it():
    c, view = ForecastControls(), forecast_view()
    figure = c.figure(view, 44)  # an 80-column screen's forecast chart
    assert c.span == fitting_span(44) == 50 and len(figure.traces[3].x) == 50
    c.figure(view, 100)
    assert c.span == 130  # a wider chart shows more points apart
    c.narrower(461)
    assert c.span == 120 and not c.fit
    c.figure(view, 44)
    assert c.span == 120  # the key's choice stays, whatever the width
    assert fitting_span(0) == 30


def test_backtest_figure_and_table():
    bt = Backtest(
        horizon=30,
        origins=432,
        model=tuple(3 + 0.1 * h for h in range(30)),
        naive=tuple(5 + 0.2 * h for h in range(30)),
        seasonal=tuple(7.0 for _ in range(30)),
        coverage=tuple(0.8 - 0.002 * h for h in range(30)),
        level=0.8,
    )
    figure = backtest_figure(bt)
    assert [t.label for t in figure.traces] == ["model", "naive", "seasonal naive"]
    assert list(figure.traces[0].x) == list(range(1, 31)) and figure.whole_x
    assert figure.xlabel == "steps ahead"
    assert figure.caption[0] == "80% interval covered 74–80% of the points, by step · 432 origins"
    text = to_text(figure, 70, 18)
    assert text is not None and "seasonal naive" in text
    monthly = date_axis([f"2020-{m:02d}-01" for m in range(1, 13)])
    assert backtest_figure(bt, monthly).xlabel.startswith("steps ahead · one step: monthly")
    assert backtest_figure(None).hint == "This run has no backtest."
    lines = backtest_lines(bt)
    assert lines[0] == "step  model  naive season 80% in"
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3", "5", "10", "20", "30"]
    assert lines[1] == "1      3.00   5.00   7.00    80%"
    assert max(len(line) for line in lines) <= 32  # fits the app's run log
    bare = Backtest(2, 10, (1.0, math.nan), (2.0, 3.0))
    assert backtest_lines(bare) == [
        "step  model  naive",
        "1      1.00   2.00",
        "2         –   3.00",
    ]
    assert backtest_steps(1000)[-1] == 1000 and len(backtest_steps(1000)) <= 12
    assert coverage_text(0.8, 0.784) == "80% interval covered 78% of the validation points"


def test_a_caption_shows_under_the_chart_in_the_app():
    async def scenario() -> None:
        app = ChartApp()
        async with app.run_test(size=(70, 20)) as pilot:
            chart = app.query_one(Chart)
            chart.show(forecast_figure(forecast_view()))
            await pilot.pause(0.2)
            lines = str(chart.render()).splitlines()
            assert len(lines) == 20
            assert lines[-1] == "80% interval covered 78% of the validation points"

    asyncio.run(scenario())


def test_a_log_axis_at_the_largest_float_still_gets_a_label():
    top = math.log10(1.7976931348622103e308)
    ticks, labels = log_ticks(top, top)
    assert ticks == [top] and len(labels) == 1


def test_a_title_shows_at_every_width_shortened_if_it_must():
    """plotext leaves out a title that does not fit beside the y axis' labels: the figure's
    title, its shorter forms, or the shortest cut with an ellipsis always shows."""
    epochs = list(range(1, 501))
    history = History(
        epochs=epochs,
        loss=[3000 / e for e in epochs],
        mae=[40 / e**0.5 for e in epochs],
        learning_rate=[1e-5] * 500,
    )
    for view in ({"smoothed": True, "last_n": 100}, {"log_y": True, "smoothed": True}):
        figure = loss_figure(history, **view)
        for width in range(24, 90):
            text = build(figure, width)
            assert text is not None
            first = text.splitlines()[0].strip()
            assert first.startswith("loss"), (view, width, first)


def test_loss_and_mae_on_two_axes_each_with_its_own_ticks():
    """An MSE loss of ~3000 beside an MAE of ~40: the MAE's axis at the right has its own
    ticks, so its curve is not flat along the bottom."""
    epochs = list(range(1, 101))
    h = History(
        epochs=epochs,
        loss=[3000 - 10 * e for e in epochs],
        mae=[50 - 0.2 * e for e in epochs],
        learning_rate=[1e-5] * 100,
    )
    text = to_text(loss_figure(h), 70, 16)
    assert text is not None
    right_labels = [line.rsplit("├", 1)[1].strip() for line in text.splitlines() if "├" in line]
    assert right_labels and all(float(label) < 60 for label in right_labels), text
    legend = [line for line in text.splitlines() if "axis)" in line]
    glyphs = [line.split()[2] for line in legend]  # after the frame and the side mark (L, ⅃)
    assert len(legend) == 2 and glyphs[0] != glyphs[1], glyphs  # ⢕⢕ vs ▞▞


def test_sweep_key_lines_say_what_each_rate_is_and_which_is_recommended():
    lrs = 1e-8 * 10 ** (np.arange(100) / 20)
    losses = np.concatenate([np.linspace(30, 5, 70), np.linspace(5, 500, 30)])
    rates = {"valley": 3e-6, "steep": 1e-6, "minimum": 2e-6}
    figure = sweep_figure(lrs, losses, rates, recommended="valley")
    assert figure.key[0][0] == (
        "┃ valley 3e-6: middle of the longest falling stretch (usually the best start)"
        " · recommended"
    )
    assert figure.key[2][0] == "x minimum 2e-6: the rate at the lowest loss ÷ 10"
    assert len({t.marker for t in figure.traces}) == 4
    text = to_text(figure, 50, 22)
    assert text is not None
    under = text.splitlines()[-3:]
    assert under == [
        "┃ valley: middle of the longest fall · recommended",
        "+ steep 1e-6: where the loss falls fastest",
        "x minimum 2e-6: the rate at the lowest loss ÷ 10",
    ]
    narrow = (to_text(figure, 38, 22) or "").splitlines()[-3:]  # a chart of the 120x40 grid
    assert narrow == [
        "┃ recommended valley: longest fall",
        "+ steep: where the loss falls fastest",
        "x minimum: lowest loss ÷ 10",
    ]


def test_the_chart_draws_plotexts_own_characters_and_colours():
    """The lines the chart gives the screen are plotext's build of the figure, cell for cell:
    the same characters in the same colours as its ANSI text decoded by Rich."""
    from rich.text import Text

    from tui.plotting import draw, under_lines

    async def scenario() -> None:
        app = ChartApp()
        async with app.run_test(size=(70, 20)) as pilot:
            chart = app.query_one(Chart)
            figure = forecast_figure(forecast_view())
            chart.show(figure, at_once=True)
            await pilot.pause()
            drawn = [chart.render_line(y) for y in range(chart.size.height)]
            plot = chart.plt  # the same figure through plotext's own text
            draw(plot, figure, chart.size.width)
            height = chart.size.height - len(under_lines(figure, chart.size.width))
            plot.plotsize(chart.size.width, height)
            plot._set_size(chart.size.width, height)
            plot.theme(chart._get_plotext_theme_name(app.theme))
            expected = Text.from_ansi(plot.build().removesuffix("\n")).split("\n")
            assert len(expected) == height
            colours, base = set(), chart.visual_style.rich_style
            for strip, text in zip(drawn, expected, strict=False):
                assert strip.text == text.plain
                for x in range(len(text.plain)):
                    # on the widget's own style, as the screen draws any text of it
                    want = base + text.get_style_at_offset(app.console, x)
                    got = strip.crop(x, x + 1)
                    style = next(iter(got)).style
                    assert (style.color, style.bgcolor) == (want.color, want.bgcolor), (
                        x,
                        strip.text,
                    )
                    colours.add(style.color)
            assert len(colours) >= 3  # axes, the actual values and the forecast at least
            assert drawn[-1].text == figure.caption[0]  # then the line under the plot

    asyncio.run(scenario())


points = st.lists(st.tuples(st.integers(-20, 200), st.integers(-20, 200)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(points, st.sampled_from(["braille", "hd", "dot"]))
def test_the_fast_line_and_braille_helpers_give_what_plotexts_own_give(xy, marker):
    """tui.plotext_speedups stands in for plotext's get_lines and hd_group in every build: the
    points of the lines, the cells they fall in, and the dots set in each are plotext's own."""
    from tui import plotext_speedups

    x, y = [p[0] for p in xy], [p[1] for p in xy]
    n = len(x)
    other = ([marker] * n, [("red", 3)[i % 2] for i in range(n)], ["default"] * n)
    lines = plotext_speedups.get_lines(x, y, *other)
    assert lines == plotext_speedups.ORIGINAL["get_lines"](x, y, *other)
    dots = {"braille": (2, 4), "hd": (2, 2), "dot": (1, 1)}[marker]
    xf, yf = [dots[0]] * len(lines[0]), [dots[1]] * len(lines[0])
    cells = plotext_speedups.hd_group(lines[0], lines[1], xf, yf)
    expected = plotext_speedups.ORIGINAL["hd_group"](lines[0], lines[1], xf, yf)
    assert [list(part) for part in cells] == [list(part) for part in expected]


def test_plotexts_builds_use_the_fast_helpers_once_a_chart_is_imported():
    from plotext import _utility

    from tui import plotext_speedups

    assert _utility.get_lines is plotext_speedups.get_lines
    assert _utility.hd_group is plotext_speedups.hd_group
