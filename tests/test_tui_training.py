"""Pilot tests of the training pane: runs, sweeps, their log and charts, failures."""

from __future__ import annotations

import dataclasses

from pilot import (
    error_of,
    labels,
    log_text,
    make_app,
    modern,
    pilot_test,
    ready,
    row,
    trace,
    type_into,
)
from scripted import script_sweep, script_train
from textual.widgets import Input, ProgressBar, RichLog, Static

from engine.events import BatchProgress, EpochEnded, RunFailed, RunStarted, RunStopped
from engine.presets import get_preset
from engine.specs import ForecastSpec
from tui.chart import Chart
from tui.figures import SPLIT_COLOR, fitting_span
from tui.model_pane import ModelPane
from tui.numbers import fmt_number
from tui.screens import AskScreen, PickScreen
from tui.training_pane import CHARTS, TrainingPane, epoch_lines


@pilot_test
async def test_training_fills_log_and_charts_and_forecast(tmp_path):
    app = make_app(tmp_path, epochs=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        assert app.current_pane.id == "training"
        assert app.live is None and len(pane.history) == 6
        log = log_text(app)
        assert "▶ train course-rnn: 6 epochs × 8 batches, 4,961 params" in log
        assert (
            sum(
                line.lstrip().startswith(f"{e}/6 loss")
                for e in range(1, 7)
                for line in log.splitlines()
            )
            == 6
        )
        assert "validation MAE 2.969 · naive 5.938 · linear 4.955 · MASE 0.520" in log
        assert "note: trained all 6 epochs" in log
        loss = app.query_one("#loss-chart", Chart).figure
        assert [t.label for t in loss.traces] == ["loss (left axis)", "MAE (right axis)"]
        assert len(loss.traces[0].x) == 6
        assert len(app.query_one("#lr-chart", Chart).figure.traces[0].y) == 6
        chart = app.query_one("#forecast-chart", Chart)
        forecast = chart.figure
        assert "naive 5.94" in forecast.title
        assert labels(forecast) == ["80% interval", "forecast", "actual", "future"]
        span = fitting_span(chart.size.width)  # the points its width shows apart
        assert 30 <= span < 120 and len(trace(forecast, "forecast").y) == span
        assert list(trace(forecast, "future").x) == list(range(1461, 1491))  # 30 past the data
        assert forecast.vlines == ((1460.0, SPLIT_COLOR),)  # the last actual point
        assert forecast.xlabel == f"last {span} of 461 · 30 ahead"
        assert forecast.caption[0] == "80% interval covered 78% of the validation points"
        assert "80% interval covered 78% of the validation points" in log
        assert "30 steps forecast past the data, 80% interval for 20 (f: another N)" in log
        assert "backtest" not in log  # a horizon of 1 has none
        assert "MAE" in str(app.query_one("#state", Static).render())


@pilot_test
async def test_chart_keys_toggle_log_smoothing_zoom_and_cycle(tmp_path):
    app = make_app(tmp_path, epochs=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        app.query_one("#charts").focus()
        await pilot.press("l", "s", "z")
        await pilot.pause(0.3)
        figure = app.query_one("#loss-chart", Chart).figure
        assert figure.ylog and "log y, smoothed, last 100" in figure.title
        await pilot.press("z", "z")
        await pilot.pause(0.3)
        figure = app.query_one("#loss-chart", Chart).figure
        assert "last 20" in figure.title and len(figure.traces[0].x) == 20
        assert pane.current_chart == 3  # a finished run brings the forecast forward
        await pilot.press("c")
        await pilot.pause()
        assert pane.current_chart == 0
        assert app.query_one("#loss-chart").display and not app.query_one("#sweep-chart").display


@pilot_test
async def test_start_is_disabled_while_a_run_is_live_and_stop_ends_it(tmp_path):
    app = make_app(tmp_path, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        app.backend.advance(3)  # RunStarted + two epochs
        await pilot.pause()
        assert app.live is not None and app.live.epoch == 2
        assert app.check_action("train", ()) is None and app.check_action("sweep", ()) is None
        await pilot.press("ctrl+t", "ctrl+r")
        await pilot.pause()
        assert [c[0] for c in app.backend.commands] == ["train"]
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert app.backend.commands[-1] == ("stop",)
        assert app.live is None
        assert "■ stopped after 2 epochs: stopped by user" in log_text(app)
        assert app.check_action("train", ()) is True and app.check_action("stop", ()) is False


@pilot_test
async def test_sweep_suggestion_is_applied_to_training(tmp_path):
    app = make_app(tmp_path, epochs=100)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert app.check_action("use_lr", ()) is False
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        assert set(pane.suggestions) == {"minimum", "steep", "valley"}
        sweep = app.query_one("#sweep-chart", Chart).figure
        assert sweep.xlog and [t.label.split()[0] for t in sweep.traces] == [
            "loss",
            "valley",
            "steep",
            "minimum",
        ]
        assert pane.recommended == "valley"
        status = str(app.query_one("#run-status", Static).render())
        assert (
            status
            == f"sweep: finished · recommended valley {fmt_number(pane.suggestions['valley'])}"
        )
        assert "recommended: valley" in log_text(app)
        assert sweep.traces[1].label.endswith("(recommended)")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        first = app.screen.choices[0]
        assert first[0] == "valley" and "  recommended: middle of the longest" in first[1]
        await pilot.press("enter")  # the first choice: the recommended one
        await pilot.pause()
        valley = float(f"{pane.suggestions['valley']:.3g}")
        assert app.experiment.train.learning_rate == valley
        assert float(app.query_one("#train-learning_rate", Input).value) == valley
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.backend.commands[-1][1].train.learning_rate == valley


@pilot_test
async def test_bad_training_value_is_marked_and_not_used(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-learning_rate", "0")
        assert "train.learning_rate = 0.0: a number above 0" in error_of(
            app, "train", "learning_rate"
        )
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.backend.commands[-1][1].train.learning_rate == 5e-6
        assert "are not in force" in log_text(app)


@pilot_test
async def test_settings_that_do_nothing_are_greyed_out(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)

        def disabled() -> set[str]:
            names = ("momentum", "nesterov", "weight_decay", "min_delta", "plateau_factor")
            return {
                n
                for n in (*names, "plateau_patience", "min_lr_ratio")
                if row(app, "train", n).disabled
            }

        # the course's sgd, a constant rate, no early stopping
        assert disabled() == {
            "weight_decay",
            "min_delta",
            "plateau_factor",
            "plateau_patience",
            "min_lr_ratio",
        }
        for optimizer, off in (
            ("adam", {"momentum", "nesterov", "weight_decay"}),
            ("adamw", {"momentum", "nesterov"}),
            ("rmsprop", {"nesterov", "weight_decay"}),
        ):
            app.query_one("#train-optimizer").value = optimizer
            await pilot.pause()
            assert app.experiment.train.optimizer == optimizer
            assert disabled() & {"momentum", "nesterov", "weight_decay"} == off, optimizer
        app.query_one("#train-schedule").value = "cosine"
        await pilot.pause()
        assert {"plateau_factor", "plateau_patience"} <= disabled()
        assert "min_lr_ratio" not in disabled()
        await type_into(pilot, app, "train-patience", "7")
        assert "min_delta" not in disabled() and app.experiment.train.patience == 7


@pilot_test
async def test_new_training_and_sweep_settings_are_edited_and_committed(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        assert app.query_one("#train-clipnorm", Input).placeholder == "(off)"
        assert app.query_one("#sweep-start", Input).placeholder == "(by optimizer)"
        app.query_one("#train-normalise").value = "minmax"
        app.query_one("#train-schedule").value = "plateau"
        app.query_one("#sweep-mode").value = "batch"
        await pilot.pause()
        for field, text in (
            ("train-holdout", "30"),
            ("train-clipnorm", "1.5"),
            ("train-patience", "12"),
            ("train-plateau_patience", "4"),
            ("sweep-start", ""),
        ):
            await type_into(pilot, app, field, text)
        train, sweep = app.experiment.train, app.experiment.sweep
        assert (train.normalise, train.holdout, train.clipnorm) == ("minmax", 30.0, 1.5)
        assert (train.patience, train.schedule, train.plateau_patience) == (12, "plateau", 4)
        assert (sweep.start, sweep.mode) == (None, "batch")
        await type_into(pilot, app, "train-patience", "")  # empty: early stopping off
        assert app.experiment.train.patience is None
        await type_into(pilot, app, "train-holdout", "2.5")  # a count must be whole
        assert "train.holdout = 2.5: a fraction from 0 to below 1, or a whole number" in error_of(
            app, "train", "holdout"
        )
        assert app.experiment.train.holdout == 30.0  # the last valid value stays in force
        await pilot.press("ctrl+t")
        await pilot.pause()
        sent = app.backend.commands[-1][1]
        assert (sent.train.normalise, sent.train.clipnorm, sent.sweep.mode) == (
            "minmax",
            1.5,
            "batch",
        )


@pilot_test
async def test_loss_chart_shows_holdout_and_validation_and_marks_the_kept_epoch(tmp_path):
    app = make_app(tmp_path, experiment=modern(), epochs=30)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        kept = pane.history.kept
        assert kept is not None and 1 < kept < 30
        figure = app.query_one("#loss-chart", Chart).figure
        labels = [t.label for t in figure.traces]
        assert labels == ["train loss", "holdout loss", "val loss", f"kept epoch {kept}"]
        assert figure.title == "loss per epoch"
        marker = figure.traces[-1]
        assert list(marker.x) == [kept, kept] and marker.y[0] < marker.y[1]
        holdout = list(figure.traces[1].y)
        assert holdout.index(min(holdout)) + 1 == kept  # the lowest holdout loss is kept
        status = str(app.query_one("#run-status", Static).render())
        assert status.startswith("finished · MAE 2.97 · naive 5.94 · linear 4.95 · MASE 0.52")
        assert f"kept epoch {kept}" in status and "worse" not in status
        log = log_text(app)
        assert f"note: kept epoch {kept} of 30: lowest holdout loss" in log
        assert any(" holdout MAE " in line and " val MAE " in line for line in log.splitlines())
        app.query_one("#charts").focus()
        await pilot.press("z", "z", "z")  # the last 20 epochs: 11 to 30
        await pilot.pause()
        zoomed = app.query_one("#loss-chart", Chart).figure
        assert list(zoomed.traces[0].x) == list(range(11, 31))
        assert zoomed.traces[-1].label == f"kept epoch {kept}"


@pilot_test
async def test_a_run_worse_than_the_baselines_says_so(tmp_path):
    app = make_app(tmp_path, epochs=5, worse=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        status = str(app.query_one("#run-status", Static).render())
        assert status == (
            "finished · MAE 6.53 · naive 5.94 · linear 4.95 · MASE 1.14 · "
            "worse than naive and linear"
        )
        top = str(app.query_one("#state", Static).render())
        assert "MAE 6.53" in top and "worse than naive and linear" in top
        log = log_text(app)
        assert "note: worse than the naive forecast (MAE 6.527 vs 5.938)" in log
        assert "note: worse than the linear autoregression (MAE 6.527 vs 4.955)" in log
        forecast = app.query_one("#forecast-chart", Chart).figure
        assert forecast.title == "forecast · MAE 6.53 · naive 5.94 · linear 4.95"
    async with make_app(tmp_path, epochs=5, worse=True).run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        top = str(app.query_one("#state", Static).render())
        assert top.strip() == "MAE 6.53 · worse than naive and linear"  # fits beside the tabs


@pilot_test
async def test_lints_show_beside_the_training_fields_and_in_the_model_pane(tmp_path):
    base = modern(momentum=0.5)  # momentum does nothing with adam
    scaled = dataclasses.replace(base, model=get_preset("course-rnn").model)  # Scale ×100 too
    app = make_app(tmp_path, experiment=scaled)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await pilot.pause()
        lints = app.query_one("#train-lints", Static)
        assert lints.display
        assert str(lints.render()).startswith("⚠ train.momentum = 0.5 does nothing with optimizer")
        assert row(app, "train", "momentum").has_class("-lint")
        assert "⚠ 1 to check" in str(app.query_one("#train-heading", Static).render())
        await pilot.press("2")
        await pilot.pause()
        problems = str(app.query_one("#problems", Static).render())
        assert "✓ The stack works." in problems
        assert "layer 5 (Scale ×100): with train.normalise = 'standard'" in problems
        assert "drop the Scale layer" in problems
        app.query_one("#train-optimizer").value = "sgd"  # momentum now does something
        await pilot.pause()
        assert not app.query_one("#train-lints", Static).display
        assert not row(app, "train", "momentum").has_class("-lint")
        assert str(app.query_one("#train-heading", Static).render()) == "Training"


@pilot_test
async def test_run_failure_is_shown_and_the_app_carries_on(tmp_path):
    def fail(kind, exp):
        return [
            RunStarted("r1", kind, exp.name, 5, 8, 10),
            RunFailed("r1", kind, "loss became NaN at epoch 1"),
        ]

    app = make_app(tmp_path, script=fail)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.live is None and app.last_result == "failed"
        assert "✗ train failed: loss became NaN at epoch 1" in log_text(app)
        assert any("loss became NaN" in n.message for n in app._notifications)
        assert app.is_running


@pilot_test
async def test_events_of_an_old_run_are_ignored(tmp_path):
    app = make_app(tmp_path, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        from tui.backend import RunEvent

        app.post_message(RunEvent(99, RunFailed("x", "train", "not ours")))
        await pilot.pause()
        assert app.live is not None and "not ours" not in log_text(app)


def horizon(steps: int, **forecast) -> object:
    """The course's experiment forecasting ``steps`` ahead (a backtest over as many)."""
    base = get_preset("course-rnn")
    return dataclasses.replace(base, forecast=ForecastSpec(horizon=steps, **forecast))


@pilot_test
async def test_forecast_chart_keys_window_scroll_residuals_and_backtest(tmp_path):
    app = make_app(tmp_path, experiment=horizon(5), epochs=6)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        chart = app.query_one("#forecast-chart", Chart)
        assert "backtest: MAE 1 to 5 steps ahead from 457 origins (b)" in log_text(app)
        assert "step  model  naive season 80% in" in log_text(app)
        app.query_one("#charts").focus()
        await pilot.press("c")  # another chart in front: the forecast keys bring it back
        await pilot.press("minus")
        await pilot.pause(0.2)
        assert pane.current_chart == 3
        assert pane.controls.span == 30  # from the 50 the chart fits, the next narrower
        assert list(trace(chart.figure, "forecast").x) == list(range(1431, 1461))
        await pilot.press("left_square_bracket")  # half a window back: the future is out of view
        await pilot.pause(0.2)
        figure = chart.figure
        assert list(trace(figure, "forecast").x) == list(range(1416, 1446))
        assert "future" not in labels(figure) and figure.vlines == ()
        assert figure.xlabel == "points 417–446 of 461"
        await pilot.press("right_square_bracket", "plus", "plus")  # at the end, 120 points
        await pilot.pause(0.2)
        figure = chart.figure
        assert len(trace(figure, "forecast").x) == 120 and "future" in labels(figure)
        await pilot.press("plus", "plus")  # 240, then past 461: every point
        await pilot.pause(0.2)
        assert chart.figure.xlabel == "all 461 points · 30 ahead"
        await pilot.press("d")
        await pilot.pause(0.2)
        figure = chart.figure
        assert figure.title.startswith("residuals (actual − forecast)")
        assert labels(figure) == ["80% interval", "actual − forecast"]
        assert figure.hlines == ((0.0, SPLIT_COLOR),)
        view = pane.view
        assert view is not None
        residual = trace(figure, "actual − forecast")
        assert list(residual.y) == list(view.actual - view.forecast)
        band = [t for t in figure.traces if t.color == "gray"]
        assert [round(float(t.y[0]), 9) for t in band] == [
            round(float(view.lower[0] - view.forecast[0]), 9),
            round(float(view.upper[0] - view.forecast[0]), 9),
        ]
        await pilot.press("b")
        await pilot.pause(0.2)
        figure = chart.figure
        assert figure.title.startswith("backtest")
        assert labels(figure) == ["model", "naive", "seasonal naive"]
        assert list(trace(figure, "model").x) == [1, 2, 3, 4, 5]
        model = list(trace(figure, "model").y)
        assert model == sorted(model)  # the error grows with the step
        assert figure.caption[-1] == "80% interval: 78–80% in"
        await pilot.press("b")  # back to the view it left: the residuals
        await pilot.pause(0.2)
        assert chart.figure.title.startswith("residuals")
        await pilot.press("d")
        await pilot.pause(0.2)
        assert chart.figure.title.startswith("forecast ·")


@pilot_test
async def test_forecast_keys_wait_for_a_forecast_and_backtest_key_for_a_backtest(tmp_path):
    app = make_app(tmp_path, epochs=3)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        pane = app.query_one(TrainingPane)
        assert pane.check_action("forecast_wider", ()) is False
        await pilot.press("3")
        app.query_one("#charts").focus()
        await pilot.press("minus", "d")
        await pilot.pause()
        assert app.query_one("#forecast-chart", Chart).figure.traces == ()
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        assert pane.check_action("forecast_wider", ()) is True
        assert pane.check_action("forecast_backtest", ()) is False  # horizon 1: no backtest
        await pilot.press("f")  # this run was not saved: no model to forecast with
        await pilot.pause()
        assert not isinstance(app.screen, AskScreen)
        assert any("not saved" in n.message for n in app._notifications)
        assert not [c for c in app.backend.commands if c[0] == "forecast"]


@pilot_test
async def test_set_future_steps_asks_the_engine_and_shows_the_answer(tmp_path):
    run_dir = str(tmp_path / "runs" / "run-train")
    app = make_app(tmp_path, epochs=3, run_dir=run_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        app.query_one("#charts").focus()
        await pilot.press("d", "f")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        field = app.screen.query_one("#ask-value", Input)
        assert field.value == "30"  # the steps forecast so far
        for bad, message in (
            ("0", "forecast.future = 0: a whole number from 1 to 10,000"),
            ("10001", "forecast.future = 10001: a whole number from 1 to 10,000"),
            ("2.5", "forecast.future = 2.5: a whole number from 1 to 10,000"),
            ("ten", "forecast.future = 'ten': a whole number from 1 to 10,000"),
        ):
            field.value = bad
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, AskScreen), bad
            assert str(app.screen.query_one("#ask-problem", Static).render()) == message
        assert not [c for c in app.backend.commands if c[0] == "forecast"]
        field.value = "12"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, AskScreen)
        assert app.backend.commands[-1] == ("forecast", run_dir, 12)
        figure = app.query_one("#forecast-chart", Chart).figure
        assert not figure.title.startswith("residuals")  # the answer is shown as a forecast
        future = trace(figure, "future")
        assert list(future.x) == list(range(1461, 1473))
        assert "12 steps forecast past the data, 80% interval for all (f: another N)" in log_text(
            app
        )
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.query_one("#ask-value", Input).value == "12"
        await pilot.press("escape")  # cancels: nothing is asked of the engine
        await pilot.pause()
        assert not isinstance(app.screen, AskScreen)
        assert [c for c in app.backend.commands if c[0] == "forecast"] == [
            ("forecast", run_dir, 12)
        ]


@pilot_test
async def test_a_failed_forecast_is_notified_and_the_chart_keeps_its_future(tmp_path):
    run_dir = str(tmp_path / "runs" / "run-train")
    app = make_app(
        tmp_path, epochs=3, run_dir=run_dir, forecast_fails="the run folder has no model.keras"
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        app.query_one("#charts").focus()
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#ask-value", Input).value = "50"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.backend.commands[-1] == ("forecast", run_dir, 50)
        assert any("no model.keras" in n.message for n in app._notifications)
        assert "Forecast of 50 steps failed: the run folder has no model.keras" in log_text(app)
        future = trace(app.query_one("#forecast-chart", Chart).figure, "future")
        assert len(future.x) == 30  # the run's own forecast past the data stays


@pilot_test
async def test_forecast_settings_are_edited_and_the_model_pane_offers_the_direct_head(tmp_path):
    app = make_app(tmp_path, experiment=modern())
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "forecast-horizon", "6")
        app.query_one("#forecast-strategy").value = "direct"
        await pilot.pause()
        assert app.experiment.forecast.horizon == 6
        assert app.experiment.forecast.strategy == "direct"
        await type_into(pilot, app, "forecast-level", "0.3")
        assert "a number from 0.5 to 0.99" in error_of(app, "forecast", "level")
        assert app.experiment.forecast.level == 0.8  # the bad value is not committed
        await type_into(pilot, app, "forecast-level", "0.9")
        await pilot.press("2")
        await pilot.pause()
        [problem] = app.query_one(ModelPane).report.problems
        assert "a direct forecast needs 6" in problem.message
        await pilot.press("ctrl+f")
        await pilot.pause()
        last = app.experiment.model.layers[-1]
        assert (last.kind, last.units) == ("dense", 6)
        assert app.query_one(ModelPane).report.ok


# --- issue 14: defects and readable charts ------------------------------------------------------


def chart_lines(app, chart_id: str) -> list[str]:
    """The lines a chart draws now (its plot, then the lines under it), as plain text."""
    chart = app.query_one(f"#{chart_id}", Chart)
    rendered = chart.render()
    return getattr(rendered, "plain", str(rendered)).splitlines()


def footer_keys(app) -> list[str]:
    """The footer's keys as shown: "c Chart", "^t Train", ..."""
    from textual.widgets._footer import FooterKey

    return [f"{k.key_display} {k.description}" for k in app.query(FooterKey)]


@pilot_test
async def test_a_long_loss_chart_title_shortens_and_never_vanishes(tmp_path):
    app = make_app(tmp_path, epochs=500)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        app.query_one("#charts").focus()
        await pilot.press("c", "l", "s")  # the loss chart in front, log y, smoothed
        await pilot.pause(0.3)
        title = chart_lines(app, "loss-chart")[0].strip()
        assert title and "smoothed" in title, title
        await pilot.press("l", "z")  # smoothed, last 100
        await pilot.pause(0.3)
        title = chart_lines(app, "loss-chart")[0].strip()
        assert title and "last 100" in title, title


@pilot_test
async def test_a_sweep_belongs_to_the_experiment_it_swept(tmp_path):
    app = make_app(tmp_path, epochs=100)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        assert pane.suggestions and app.check_action("use_lr", ()) is True
        # a rate of its own (what ctrl+l sets) or another epoch count keeps the sweep's results
        app.commit(
            dataclasses.replace(
                app.experiment,
                train=dataclasses.replace(app.experiment.train, learning_rate=1e-6, epochs=50),
            )
        )
        await pilot.pause()
        assert pane.suggestions
        app.load_experiment(get_preset("course-lstm-2"), "preset")
        await pilot.pause(0.3)
        assert pane.suggestions == {} and app.check_action("use_lr", ()) is False
        sweep = app.query_one("#sweep-chart", Chart).figure
        assert sweep.traces == () and "another experiment" in sweep.hint
        assert "the sweep's rates were for course-rnn" in log_text(app)


@pilot_test
async def test_a_sweep_chart_goes_when_the_series_changes(tmp_path):
    csv = tmp_path / "data.csv"
    csv.write_text("value\n" + "\n".join(str(i % 17) for i in range(400)) + "\n")
    app = make_app(tmp_path, epochs=100)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        from engine.specs import CsvSeries

        series = CsvSeries(path=str(csv), column="value", split_time=300)
        app.commit(dataclasses.replace(app.experiment, series=series))
        await pilot.pause(0.3)
        assert app.query_one("#sweep-chart", Chart).figure.traces == ()
        assert app.query_one(TrainingPane).suggestions == {}


@pilot_test
async def test_the_top_bar_forgets_a_result_once_the_experiment_changes(tmp_path):
    app = make_app(tmp_path, epochs=5)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        assert "MAE" in str(app.query_one("#state", Static).render())
        app.load_experiment(get_preset("course-lstm-2"), "preset")
        await pilot.pause(0.3)
        top = str(app.query_one("#state", Static).render())
        assert "MAE" not in top and "edited since the last run" in top
        status = str(app.query_one("#run-status", Static).render())
        assert "earlier experiment" in status
        caption = app.query_one("#forecast-chart", Chart).figure.caption
        assert caption and "earlier experiment" in caption[0]


@pilot_test
async def test_use_lr_sets_the_rate_and_trains(tmp_path):
    app = make_app(tmp_path, epochs=100)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        pane = app.query_one(TrainingPane)
        valley = float(f"{pane.suggestions['valley']:.3g}")
        await pilot.press("ctrl+l")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause(0.3)
        kind, sent, _ = app.backend.commands[-1]
        assert kind == "train" and sent.train.learning_rate == valley
        assert "Learning rate set to" in log_text(app) and "training" in log_text(app)
        assert pane.suggestions  # the run used the rate: the sweep's results still apply


@pilot_test
async def test_log_lines_written_while_the_pane_is_hidden_fit_its_width(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("3", "1")  # the training pane shown once, then hidden
        await pilot.pause()
        app.log_line("Removed layer 3 from the stack of layers, so the model has fewer weights.")
        await pilot.pause(0.7)
        await pilot.press("3")
        await pilot.pause(0.3)
        from textual.widgets import RichLog

        log = app.query_one("#log", RichLog)

        def first_line() -> str:
            texts = [strip.text.rstrip() for strip in log.lines]
            return next(t for t in texts if t.startswith("Removed layer 3"))

        width = log.scrollable_content_region.width
        narrow = first_line()
        assert width > 24 and len(narrow) > 24 and len(narrow) <= width  # not at ~20 columns
        await pilot.resize_terminal(120, 40)  # a wider form column: the log is wrapped again
        await pilot.pause(0.5)
        wider = log.scrollable_content_region.width
        assert wider > width and width < len(first_line()) <= wider


def test_epoch_lines_drop_a_trailing_dot():
    from engine.events import EpochEnded

    line = epoch_lines(EpochEnded("r", 7, 500, 3368.0, 41.0, 1e-6, 0.05))[0]
    assert "loss 3368 " in line and "MAE 41.00" in line and "3368." not in line


@pilot_test
async def test_a_stop_is_said_once_and_the_bar_shows_the_end(tmp_path):
    def stopped(kind, exp):
        return [
            RunStarted("r1", kind, exp.name, 10, 8, 10),
            *script_train(exp, 10)[1:3],
            RunStopped("r1", kind, 2, "stopped by request after 2 epochs"),
        ]

    app = make_app(tmp_path, script=stopped)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        log = log_text(app)
        assert "■ stopped by request after 2 epochs" in log
        assert log.count("after 2 epochs") == 1
        bar = app.query_one("#progress", ProgressBar)
        assert bar.percentage == 1.0
        status = str(app.query_one("#run-status", Static).render())
        assert status == "train: stopped after 2 of 10 epochs"


@pilot_test
async def test_a_sweep_stopped_early_shows_its_end_on_the_bar(tmp_path):
    def exploded(kind, exp):
        events = script_sweep(exp, 100)[:94]  # RunStarted and 93 points
        return [*events, RunStopped("run-sweep", "sweep", 93, "the loss exploded")]

    app = make_app(tmp_path, script=exploded)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        assert app.query_one("#progress", ProgressBar).percentage == 1.0
        assert "sweep: stopped after 93 of 100 epochs" in str(
            app.query_one("#run-status", Static).render()
        )


@pilot_test
async def test_the_top_bar_knows_the_total_while_compiling(tmp_path):
    app = make_app(tmp_path, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        top = str(app.query_one("#state", Static).render())
        assert "train 0/500" in top and "?" not in top


@pilot_test
async def test_batch_progress_and_an_eta_show_within_a_long_epoch(tmp_path):
    def slow(kind, exp):
        return [
            RunStarted("r1", kind, exp.name, 10, 8, 10),
            EpochEnded("r1", 1, 10, 30.0, 30.5, 5e-6, 15.0),
            BatchProgress("r1", 2, 4, 8),
        ]

    app = make_app(tmp_path, script=slow, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        app.backend.advance(3)
        await pilot.pause(0.7)
        status = str(app.query_one("#run-status", Static).render())
        # 8.5 epochs left at 15 s each
        assert status == "train: epoch 2/10 · batch 4/8 · ETA 2:08", status
        assert app.query_one("#progress", ProgressBar).progress == 1.5


# --- charts people can read ---------------------------------------------------------------------


@pilot_test
async def test_a_chart_is_maximised_and_back(tmp_path):
    app = make_app(tmp_path, epochs=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        app.query_one("#charts").focus()
        await pilot.press("c")  # the loss chart
        await pilot.press("m")
        await pilot.pause(0.2)
        charts = {c.id: c for c in app.query(Chart) if c.id in CHARTS}
        assert [i for i, c in charts.items() if c.display] == ["loss-chart"]
        deck = app.query_one("#charts").region
        assert charts["loss-chart"].region.width >= deck.width - 2
        assert charts["loss-chart"].region.height >= deck.height - 1
        assert "chart 1/4" in str(app.query_one("#chart-nav", Static).render())
        await pilot.press("c")  # still maximised: the next chart
        await pilot.pause(0.2)
        assert [i for i, c in charts.items() if c.display] == ["lr-chart"]
        await pilot.press("m")
        await pilot.pause(0.2)
        assert all(c.display for c in charts.values())
        ids = [b.id for b in TrainingPane.BINDINGS]
        assert "training.maximise" in ids


@pilot_test
async def test_at_80x24_the_footer_keeps_the_chart_keys_and_says_which_chart(tmp_path):
    app = make_app(tmp_path, epochs=6)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await pilot.pause(0.3)
        app.query_one("#charts").focus()
        await pilot.pause(0.3)
        keys = footer_keys(app)
        assert "c Chart" in keys and "m Max" in keys and "^t Train" in keys, keys
        assert "chart 1/4" in str(app.query_one("#chart-nav", Static).render())
        await pilot.press("c")
        await pilot.pause()
        assert "chart 2/4" in str(app.query_one("#chart-nav", Static).render())


@pilot_test
async def test_loss_and_mae_have_their_own_axes_and_markers(tmp_path):
    app = make_app(tmp_path, epochs=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        figure = app.query_one("#loss-chart", Chart).figure
        loss, mae = figure.traces[:2]
        assert not loss.right and mae.right and loss.marker != mae.marker
        lines = chart_lines(app, "loss-chart")
        legend = [line for line in lines if "loss" in line or "MAE" in line]
        glyphs = {line.split("loss")[0].strip()[-2:] for line in legend if "loss (" in line}
        glyphs |= {line.split("MAE")[0].strip()[-2:] for line in legend if "MAE (" in line}
        assert len(glyphs) == 2, legend


@pilot_test
async def test_the_sweep_chart_says_what_each_suggestion_is(tmp_path):
    app = make_app(tmp_path, epochs=100)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        lines = chart_lines(app, "sweep-chart")
        text = "\n".join(lines)
        assert "lowest loss ÷ 10" in text and "recommended" in text
        assert "falls fastest" in text
        markers = {t.marker for t in app.query_one("#sweep-chart", Chart).figure.traces}
        assert len(markers) == 4  # the loss and each suggestion apart without colour


async def stream(pilot, app, events: int, wait: float) -> None:
    """Starts a paced training run from the Training pane and lets its first ``events`` events
    through (RunStarted, then epochs), then ``wait`` seconds for the screen to follow."""
    await ready(pilot, app)
    await pilot.press("3", "ctrl+t")
    await pilot.pause()
    app.backend.advance(events)
    await pilot.pause(wait)


@pilot_test
async def test_streamed_charts_wait_after_a_key_drew_them_and_the_log_does_not(tmp_path):
    app = make_app(tmp_path, paced=True, epochs=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await stream(pilot, app, 6, 0.7)  # RunStarted and epochs 1-5
        app.query_one("#charts").focus()
        await pilot.press("l")  # a key draws the loss chart at once, with every epoch so far
        await pilot.pause()
        chart = app.query_one("#loss-chart", Chart)
        assert chart.figure.ylog and len(chart.figure.traces[0].x) == 5
        app.backend.advance(5)  # epochs 6-10 stream in
        await pilot.pause(0.7)  # one streamed update (UPDATE_INTERVAL) later
        drawn = "\n".join(strip.text for strip in app.query_one("#log", RichLog).lines)
        assert "10/40 loss" in drawn  # the log follows the stream
        assert len(chart.figure.traces[0].x) == 5  # the charts wait (CHART_INTERVAL)
        for _ in range(30):  # then they follow, at a later streamed update
            await pilot.pause(0.1)
            if len(chart.figure.traces[0].x) == 10:
                break
        assert len(chart.figure.traces[0].x) == 10


@pilot_test
async def test_streamed_log_lines_repaint_the_log_without_laying_out_the_screen(tmp_path):
    app = make_app(tmp_path, paced=True, epochs=80)
    async with app.run_test(size=(120, 40)) as pilot:
        await stream(pilot, app, 41, 0.7)  # RunStarted and 40 epochs: more than the log's height
        log = app.query_one("#log", RichLog)
        assert log.show_vertical_scrollbar  # the scrollbar appeared (that lays the screen out)
        layouts = []
        screen = app.screen
        refresh_layout = screen._refresh_layout

        def counted(*args, **kwargs):
            layouts.append(kwargs.get("scroll", False))
            return refresh_layout(*args, **kwargs)

        screen._refresh_layout = counted
        app.backend.advance(20)  # epochs 41-60
        await pilot.pause(0.7)
        screen._refresh_layout = refresh_layout
        assert not [scroll for scroll in layouts if not scroll]  # no full layout for the lines
        assert log.virtual_size.height == len(log.lines)
        assert log.vertical_scrollbar.window_virtual_size == len(log.lines)
        assert log.scroll_y == log.max_scroll_y  # still following the end
        bottom = log.lines[-1].text
        assert "60/80 loss" in bottom


@pilot_test
async def test_keys_faster_than_the_chart_interval_hold_back_only_the_charts_they_draw(tmp_path):
    app = make_app(tmp_path, paced=True, epochs=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await stream(pilot, app, 6, 1.2)  # RunStarted and epochs 1-5
        app.query_one("#charts").focus()
        lr = app.query_one("#lr-chart", Chart)
        app.backend.advance(5)  # epochs 6-10 stream in while "l" redraws the loss chart
        for _ in range(8):  # a press every 0.3 s: the loss chart is never a second old
            await pilot.press("l")
            await pilot.pause(0.3)
        assert len(lr.figure.traces[0].x) == 10  # the learning-rate chart followed the stream
