"""Pilot tests of the runs pane: the saved runs' table, opening, comparing and editing them."""

from __future__ import annotations

from pilot import SAVED_BACKTEST, labels, make_app, make_runs, pilot_test, ready, trace
from textual.widgets import DataTable, Input, Static

from tui.chart import Chart
from tui.figures import fitting_span
from tui.runs_pane import RunsPane
from tui.screens import AskScreen


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
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(4)]
        assert [row[5] for row in cells[:2]] == ["5.400 ✗", "6.200 ✗"]  # worse than a baseline
        assert [row[6:9] for row in cells[:2]] == [["5.938", "4.955", "3"], ["5.938", "4.955", "6"]]
        assert {table.get_row_at(2)[3], table.get_row_at(3)[3]} == {"stopped", "finished"}
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
        assert any("Mark two" in n.message for n in app._notifications)


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
