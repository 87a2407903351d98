"""Pilot tests of the training pane: runs, sweeps, their log and charts, failures."""

from __future__ import annotations

from pilot import error_of, log_text, make_app, pilot_test, ready, row, type_into
from textual.widgets import Input, Static

from engine.events import RunFailed, RunStarted
from tui.chart import Chart
from tui.screens import PickScreen
from tui.training_pane import TrainingPane


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
        assert "validation MAE" in log and "naive MAE 5.938" in log
        loss = app.query_one("#loss-chart", Chart).figure
        assert [t.label for t in loss.traces] == ["loss", "MAE"] and len(loss.traces[0].x) == 6
        assert len(app.query_one("#lr-chart", Chart).figure.traces[0].y) == 6
        forecast = app.query_one("#forecast-chart", Chart).figure
        assert "naive 5.94" in forecast.title and len(forecast.traces[1].y) == 461
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
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        await pilot.press("enter")  # the first choice: valley
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
async def test_momentum_is_disabled_for_adam(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.query_one("#train-optimizer").value = "adam"
        await pilot.pause()
        assert app.experiment.train.optimizer == "adam"
        assert row(app, "train", "momentum").disabled


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
