"""Pilot tests of the runs pane: the saved runs' table, opening, comparing and editing them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from pilot import SAVED_BACKTEST, labels, make_app, make_runs, pilot_test, ready, trace
from textual.widgets import DataTable, Input, Static

from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import CsvSeries, Experiment
from tui.chart import Chart
from tui.figures import fitting_span
from tui.runs_pane import RunsPane
from tui.screens import AskScreen, ConfirmScreen


def cells_by_key(table: DataTable, row: int) -> dict[str, str]:
    """A table row's cells by column key."""
    return {
        str(key.value): str(cell)
        for key, cell in zip(table.columns, table.get_row_at(row), strict=True)
    }


@pilot_test
async def test_runs_table_sorted_open_compare_and_edit(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        table = app.query_one("#runs-table", DataTable)
        assert table.row_count == 4
        cells = [cells_by_key(table, i) for i in range(4)]
        assert [row["val_mae"] for row in cells[:2]] == ["5.400", "6.200"]
        assert [row["beat"] for row in cells[:2]] == ["✓ better", "✗ worse"]
        assert [(row["naive"], row["linear"], row["kept"]) for row in cells[:2]] == [
            ("5.938", "4.955", "3/4"),
            ("5.938", "4.955", "6/6"),
        ]
        assert {cells[2]["status"], cells[3]["status"]} == {"stopped", "finished"}
        assert {cells[2]["kept"], cells[3]["kept"]} == {"sweep", "–/3"}
        await pilot.press("enter")
        await pilot.pause(0.3)
        chart = app.query_one("#run-chart", Chart).figure
        assert len(chart.traces[0].x) == 4
        assert [t.label for t in chart.traces] == ["train loss", "holdout loss", "kept epoch 3"]
        assert "MAE 5.40" in app.query_one("#run-forecast", Chart).figure.title
        detail = str(app.query_one("#run-detail", Static).render())
        assert "validation MAE 5.400 · naive 5.938 · linear 4.955 · MASE 0.946" in detail
        assert "kept epoch 3 · worse than linear" in detail
        await pilot.press("space", "down", "space", "c")
        await pilot.pause(0.3)
        compare = app.query_one("#run-chart", Chart).figure
        assert [t.label for t in compare.traces] == ["1: course-lstm-2", "2: course-rnn"]
        assert "comparing" in str(app.query_one("#run-detail", Static).render())
        await pilot.press("e")
        await pilot.pause()
        assert app.experiment.name == "course-rnn" and app.experiment.window.batch_size == 128


@pilot_test
async def test_compare_needs_two_marked_runs(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "c")
        await pilot.pause()
        assert "Mark two" in str(app.query_one("#runs-status", Static).render())


@pilot_test
async def test_finished_run_appears_in_runs_view(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        runs = app.query_one(RunsPane)
        assert runs.runs == []
        make_runs(tmp_path / "runs")
        await pilot.press("ctrl+t")  # the scripted run saves nothing, but the view reloads
        await pilot.pause(0.3)
        assert len(runs.runs) == 4


@pilot_test
async def test_a_saved_run_shows_its_band_future_and_backtest_and_forecasts_again(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "enter")  # the best run: course-lstm-2, with a band and future
        await pilot.pause(0.3)
        pane = app.query_one(RunsPane)
        chart = app.query_one("#run-forecast", Chart)
        figure = chart.figure
        assert labels(figure) == ["80% interval", "forecast", "actual", "future"]
        assert list(trace(figure, "future").x) == list(range(1461, 1491))
        span = pane.controls.span  # as many points as the chart's width shows apart
        assert span == fitting_span(chart.size.width) and 30 < span < 120
        band = [t for t in figure.traces if t.color == "gray"]
        assert [len(t.x) for t in band] == [span, span, 10, 10]  # the future's band reaches 10
        assert figure.caption[0] == "80% interval covered 78% of the validation points"
        detail = str(app.query_one("#run-detail", Static).render())
        assert "80% interval covered 78% of the validation points" in detail
        assert "30 steps forecast past the data · backtest 1–5 steps ahead (b)" in detail
        await pilot.press("b")
        await pilot.pause(0.2)
        backtest = chart.figure
        assert backtest.title.startswith("backtest") and "457 origins" in backtest.title
        assert list(trace(backtest, "model").y) == list(SAVED_BACKTEST.model)
        assert list(trace(backtest, "seasonal naive").y) == list(SAVED_BACKTEST.seasonal)
        await pilot.press("b", "minus", "d")
        await pilot.pause(0.2)
        residuals = chart.figure
        assert residuals.title.startswith("residuals")
        assert len(trace(residuals, "actual − forecast").x) == 60  # the next narrower window
        assert residuals.caption[0].startswith("80% interval covered 78%")
        await pilot.press("d", "f")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        app.screen.query_one("#ask-value", Input).value = "45"
        await pilot.press("enter")
        await pilot.pause(0.3)
        info = pane.runs[0]
        assert app.backend.commands[-1] == ("forecast", str(info.path), 45)
        future = trace(chart.figure, "future")
        assert list(future.x) == list(range(1461, 1506))
        await pilot.press("down", "enter")  # a run without a band or future: neither is drawn
        await pilot.pause(0.3)
        assert labels(chart.figure) == ["forecast", "actual"]
        assert pane.check_action("forecast_backtest", ()) is False


# --- issue 14: what the runs pane says, compares and does -------------------------------------

COURSE_NOTE = "No forecast yet: it appears when a training run finishes."


def _saved_run(
    store: RunStore,
    exp: Experiment,
    status: str = "finished",
    epochs: int = 4,
    mae: float | None = 5.0,
    reason: str | None = None,
    shift: float = 1.0,
) -> Path:
    """A training run written through the run store: ``epochs`` epochs, and with ``mae`` its
    metrics and validation forecast (the actual values + ``shift``)."""
    handle = store.create(exp, "train", 10)
    for e in range(1, epochs + 1):
        loss = 20 * 0.7**e + 3 + shift
        handle.append({"epoch": e, "loss": loss, "mae": loss + 0.5, "seconds": 0.1})
    if mae is not None:
        t = np.arange(1000, 1461)
        actual = np.sin(t / 20) * 20 + 80
        handle.write_forecast(t, actual, actual + shift)
        handle.write_metrics(
            {"val_mae": mae, "naive_mae": 5.938, "linear_mae": 4.955, "best_epoch": epochs - 1}
        )
    if status != "running":
        handle.finish(status, reason)  # type: ignore[arg-type]
    return handle.path


def _edit_status(path: Path, **changes: object) -> None:
    status = json.loads((path / "status.json").read_text())
    status.update(changes)
    (path / "status.json").write_text(json.dumps(status))


def _course(name: str = "course-rnn", **train: Any) -> Experiment:
    base = get_preset("course-rnn")
    return dataclasses.replace(base, name=name, train=dataclasses.replace(base.train, **train))


def _forecast_hint(app) -> str:
    figure = app.query_one("#run-forecast", Chart).figure
    assert not figure.traces, labels(figure)
    return figure.hint


async def _open(pilot, app, run_id: str) -> None:
    pane = app.query_one(RunsPane)
    at = [r.run_id for r in pane.runs].index(run_id)
    pane.home().move_cursor(row=at)
    await pilot.press("enter")
    await pilot.pause(0.2)


@pilot_test
async def test_each_run_says_why_it_has_no_forecast_and_a_stopped_one_shows_what_it_kept(
    tmp_path,
):
    """Defect 5: a stopped, failed, interrupted or sweep run said "No forecast yet: it appears
    when a training run finishes." Each says why now; a stopped run that kept results shows its
    forecast."""
    store = make_runs(tmp_path / "runs")
    kept = _saved_run(store, _course(), "stopped", 5, 5.1, "stopped by request after 5 epochs")
    failed = _saved_run(store, _course(), "failed", 2, None, "the loss became NaN at epoch 2")
    killed = _saved_run(store, _course(), "running", 3, None)
    _edit_status(killed, pid_start=-7)  # another process instance: it died without saving
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        pane = app.query_one(RunsPane)
        by_status = {(r.kind, r.status, r.val_mae is None): r.run_id for r in pane.runs}
        await _open(pilot, app, by_status[("train", "stopped", True)])
        hint = _forecast_hint(app)
        assert hint != COURSE_NOTE and "stopped" in hint and "before it saved one" in hint
        await _open(pilot, app, by_status[("sweep", "finished", True)])
        hint = _forecast_hint(app)
        assert "learning-rate sweep" in hint and COURSE_NOTE not in hint
        sweep = app.query_one("#run-chart", Chart).figure  # its curve beside the note
        assert "sweep" in sweep.title.lower() and len(sweep.traces[0].x) == 60
        await _open(pilot, app, failed.name)
        assert "failed (the loss became NaN at epoch 2)" in _forecast_hint(app)
        await _open(pilot, app, killed.name)
        assert "interrupted" in _forecast_hint(app) and "killed or crashed" in _forecast_hint(app)
        await _open(pilot, app, kept.name)
        assert labels(app.query_one("#run-forecast", Chart).figure) == ["forecast", "actual"]
        detail = str(app.query_one("#run-detail", Static).render())
        assert (
            "stopped by request after 5 epochs · kept its results · validation MAE 5.100" in detail
        )


@pilot_test
async def test_compare_overlays_both_forecasts_and_says_which_is_better(tmp_path):
    """Defect 5 in compare: the forecast chart said "No forecast yet" though both runs had one.
    Now: both forecasts against the actual, the settings that differ as key paths, the MAE
    difference and each run beside naive; l turns the loss chart's y axis to log."""
    store = RunStore(tmp_path / "runs")
    a = _saved_run(store, _course("slow", learning_rate=5e-6), mae=6.2, shift=1.0)
    b = _saved_run(store, _course("fast", learning_rate=1e-5, epochs=300), mae=5.4, shift=-0.5)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "space", "down", "space", "c")
        await pilot.pause(0.3)
        forecast = app.query_one("#run-forecast", Chart).figure
        assert forecast.hint != COURSE_NOTE and forecast.title == "forecasts vs actual"
        assert labels(forecast) == ["1: fast", "2: slow", "actual"]
        pane = app.query_one(RunsPane)
        assert pane.comparing == (b.name, a.name)  # the better run first in the table
        assert len(trace(forecast, "1: fast").x) == len(trace(forecast, "actual").x) > 30
        detail = str(app.query_one("#run-detail", Static).render())
        assert f"comparing 1: fast ({b.name}) vs 2: slow ({a.name})" in detail
        assert "1: fast is better: validation MAE 5.400 vs 6.200 (0.800 lower, 12.9%)" in detail
        assert "vs naive 5.938: 1 ✓ 0.538 better, 2 ✗ 0.262 worse" in detail
        assert (
            "settings that differ: train.learning_rate 1e-05 → 5e-06 · train.epochs 300 → 500"
            in detail
        )
        assert "name" not in detail.split("settings that differ:")[1]
        loss = app.query_one("#run-chart", Chart).figure
        assert [t.label for t in loss.traces] == ["1: fast", "2: slow"] and not loss.ylog
        await pilot.press("l")
        await pilot.pause(0.2)
        assert app.query_one("#run-chart", Chart).figure.ylog


@pilot_test
async def test_compare_refuses_a_sweep_in_the_pane(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        pane = app.query_one(RunsPane)
        await pilot.press("4")
        await pilot.pause()
        sweep = [r.kind for r in pane.runs].index("sweep")
        await pilot.press("space", *["down"] * sweep, "space", "c")
        await pilot.pause()
        status = str(app.query_one("#runs-status", Static).render())
        assert "is a learning-rate sweep: it has no epochs or forecast to compare" in status
        assert pane.comparing is None


@pilot_test
async def test_the_table_tells_runs_apart_and_filters_to_this_series(tmp_path):
    """Columns for data, model, optimizer and rate, epochs kept, val MAE, naive and whether it
    beat naive; a run on a CSV file is hidden while the synthetic series is in force, and a
    shows every run, grouped by data."""
    store = RunStore(tmp_path / "runs")
    _saved_run(store, _course("beats-naive"), mae=5.4)
    _saved_run(store, get_preset("course-lstm-2"), mae=6.1, epochs=6)
    csv = dataclasses.replace(
        get_preset("lstm"), name="on-csv", series=CsvSeries(path=str(tmp_path / "sales.csv"))
    )
    csv = dataclasses.replace(csv, series=dataclasses.replace(csv.series, column="value"))
    _saved_run(store, csv, mae=1.0)  # the best MAE of all, on other data: not ranked with them
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        table = app.query_one("#runs-table", DataTable)
        titles = [str(c.label) for c in table.columns.values()]
        assert titles == [
            " ",
            "experiment",
            "data",
            "status",
            "model",
            "optimizer",
            "kept",
            "val MAE",
            "naive",
            "vs naive",
            "linear",
        ]
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [
            [" ", "beats-naive", "synthetic", "finished", "RNN40×2→D1", "sgd 5e-06", "3/4"]
            + ["5.400", "5.938", "✓ better", "4.955"],
            [" ", "course-lstm-2", "synthetic", "finished", "BiLSTM32×2→D1", "sgd 1e-06"]
            + ["5/6", "6.100", "5.938", "✗ worse", "4.955"],
        ]
        line = str(app.query_one("#runs-filter", Static).render())
        assert "2 runs on this series (synthetic) · 1 on other data hidden (a shows all)" in line
        await pilot.press("a")
        await pilot.pause()
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == ["beats-naive", "course-lstm-2", "on-csv"]  # grouped: this series first
        assert str(table.get_row_at(2)[2]) == "sales.csv:value"
        assert str(table.get_row_at(2)[4]) == "LSTM64→D1"
        line = str(app.query_one("#runs-filter", Static).render())
        assert "all 3 runs, grouped by data (a: only synthetic)" in line
        await pilot.press("a")
        await pilot.pause()
        assert table.row_count == 2


@pilot_test
async def test_the_table_fits_80_columns(tmp_path):
    store = make_runs(tmp_path / "runs")
    _saved_run(store, get_preset("course-conv-lstm"), mae=7.25)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        table = app.query_one("#runs-table", DataTable)
        assert table.virtual_size.width <= table.size.width <= 80
        keys = [k.value for k in table.columns]
        assert keys[:2] == ["mark", "name"] and {"val_mae", "beat", "status"} <= set(keys)
        line = str(app.query_one("#runs-filter", Static).render())
        assert line == "5 runs on this series (synthetic)"  # one line: F1 lists the keys


@pilot_test
async def test_a_runs_two_charts_keep_a_column_between_their_axes(tmp_path):
    """The loss chart's right axis labels and the forecast's left ones ran together
    ("├150110┤") with the two charts side by side and touching."""
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "enter")
        await pilot.pause()
        loss = app.query_one("#run-chart", Chart)
        forecast = app.query_one("#run-forecast", Chart)
        assert labels(loss.figure) and labels(forecast.figure)  # both drawn
        assert forecast.region.x - loss.region.right >= 1


@pilot_test
async def test_loading_a_run_says_so_in_the_pane(tmp_path):
    store = RunStore(tmp_path / "runs")
    _saved_run(store, _course("tuned", learning_rate=2e-6))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "e")
        await pilot.pause()
        assert app.experiment.name == "tuned" and app.experiment.train.learning_rate == 2e-6
        status = str(app.query_one("#runs-status", Static).render())
        assert status.startswith("Loaded run ") and "(tuned) into the panes" in status
        edited = _course("my-edit", learning_rate=3e-6)
        app.commit(edited)  # an unsaved edit: loading over it asks first
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.experiment.train.learning_rate == 3e-6
        status = str(app.query_one("#runs-status", Static).render())
        assert status.startswith("Kept the edits: run ") and "was not loaded" in status


@pilot_test
async def test_delete_asks_first_keeps_on_no_and_refuses_a_running_run(tmp_path):
    store = RunStore(tmp_path / "runs")
    gone = _saved_run(store, _course("to-delete"), mae=5.0)
    live = store.create(_course("live"), "train", 10)  # this process: it is running
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        pane = app.query_one(RunsPane)
        await pilot.press("4")
        await pilot.pause()
        assert [r.run_id for r in pane.runs] == [gone.name, live.run_id]
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the cursor starts on "keep it"
        await pilot.pause()
        assert gone.is_dir()
        assert str(app.query_one("#runs-status", Static).render()) == f"Kept run {gone.name}."
        await pilot.press("enter")  # open it, then delete it: its charts go too
        await pilot.pause(0.2)
        await pilot.press("delete", "y")
        await pilot.pause()
        assert not gone.exists() and [r.run_id for r in pane.runs] == [live.run_id]
        status = str(app.query_one("#runs-status", Static).render())
        assert status.startswith(f"Deleted run {gone.name} (to-delete)")
        assert pane.opened is None
        await pilot.press("delete")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        status = str(app.query_one("#runs-status", Static).render())
        assert status == f"Run {live.run_id} is running: stop it (ctrl+x) before deleting it."
        assert live.path.is_dir()
