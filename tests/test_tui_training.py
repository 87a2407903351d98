"""Pilot tests of the training pane: runs, sweeps, their log and charts, failures."""

from __future__ import annotations

import dataclasses

from pilot import error_of, log_text, make_app, modern, pilot_test, ready, row, type_into
from textual.widgets import Input, Static

from engine.events import RunFailed, RunStarted
from engine.presets import get_preset
from tui.chart import Chart
from tui.numbers import fmt_number
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
        assert "validation MAE 2.969 · naive 5.938 · linear 4.955 · MASE 0.520" in log
        assert "note: trained all 6 epochs" in log
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
