"""Pilot tests: keys -> state and messages, with a scripted fake engine (no TensorFlow)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable, Input, OptionList, RichLog, Static

from engine.events import RunFailed, RunStarted
from engine.presets import PRESETS, get_preset
from engine.runstore import RunStore
from engine.specs import LSTM, Bidirectional, CsvSeries, SimpleRNN
from tui.app import SeqlabApp
from tui.charts import Chart
from tui.form import FieldRow
from tui.model_pane import ModelPane
from tui.runs_pane import RunsPane
from tui.screens import HelpScreen, LogScreen, PickScreen
from tui.scripted import ScriptedBackend
from tui.series_pane import SeriesPane
from tui.training_pane import TrainingPane


def pilot_test(fn):
    """Runs an async Pilot test in its own event loop (so the suite needs no asyncio plugin)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


async def ready(pilot, app: SeqlabApp) -> None:
    """Waits until the panes mounted after the first frame are there."""
    for _ in range(100):
        if app.panes_ready:
            return
        await pilot.pause(0.01)
    raise AssertionError("the panes were never mounted")


def make_app(tmp_path: Path, preset: str = "course-rnn", **backend_kwargs) -> SeqlabApp:
    backend = ScriptedBackend(**backend_kwargs)
    return SeqlabApp(get_preset(preset), backend, RunStore(tmp_path / "runs"), blink=False)


def log_text(app: SeqlabApp) -> str:
    return "\n".join(app.query_one(TrainingPane).log_lines)


def row(app: SeqlabApp, form: str, name: str) -> FieldRow:
    return app.query_one(f"#row-{form}-{name}", FieldRow)


def error_of(app: SeqlabApp, form: str, name: str) -> str:
    """The problem line under a field ("" if it never had one)."""
    lines = row(app, form, name).query(".field-error").results(Static)
    return "".join(str(line.render()) for line in lines)


async def type_into(pilot, app: SeqlabApp, control_id: str, text: str, keys: bool = False) -> None:
    """Puts text in a field: pasted whole, or typed key by key (each prefix is checked too)."""
    field = app.query_one(f"#{control_id}", Input)
    field.focus()
    await pilot.pause()
    if keys:
        await pilot.press("ctrl+u", *text)
    else:
        field.value = text
    await pilot.pause()


# --- start screen and engine state ----------------------------------------------------------------


@pilot_test
async def test_opens_on_course_series_and_rnn_ready_to_train(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.pause()
        assert app.experiment == PRESETS["course-rnn"]
        assert app.current_pane.id == "series"
        assert app.engine_state == "ready"
        assert "TF ready 1.5s" in str(app.query_one("#state", Static).render())
        await pilot.press("ctrl+t")  # one key trains
        await pilot.pause()
        kind, exp, runs = app.backend.commands[0]
        assert (kind, exp, runs) == ("train", PRESETS["course-rnn"], str(tmp_path / "runs"))


FIRST_FRAME_IMPORTS = """
import sys
import tui.entry, tui.launch, tui.app, tui.backend, tui.series_pane
heavy = ("numpy", "plotext", "textual_plotext", "tensorflow", "keras")
print(" ".join(m for m in heavy if m in sys.modules))
"""


def test_first_frame_imports_no_numpy_plotext_or_tensorflow(python_subprocess):
    """What the app imports before its first frame: the series and its chart load after it."""
    done = python_subprocess(FIRST_FRAME_IMPORTS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pilot_test
async def test_series_form_is_filled_on_mount_and_the_chart_follows(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SeriesPane)
        assert app.query_one("#synthetic-length", Input).value == "1461"  # set on mount
        assert app.query_one("#windows-window", Input).value == "20"
        await ready(pilot, app)
        await pilot.pause()
        assert [t.label for t in app.query_one("#series-chart", Chart).figure.traces] == [
            "train",
            "validation",
        ]
        assert pane.series is not None and len(pane.series.values) == 1461
        assert "train 1000 pts" in str(app.query_one("#series-summary", Static).render())


@pilot_test
async def test_shapes_show_before_tensorflow_loads(tmp_path):
    app = make_app(tmp_path, ready_seconds=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        assert app.engine_state == "loading"
        assert "TF loading" in str(app.query_one("#state", Static).render())
        assert "total params 4,961" in str(app.query_one("#shape-summary", Static).render())
        app.backend.make_ready(2.25)
        await pilot.pause()
        assert "TF ready 2.2s" in str(app.query_one("#state", Static).render())
        assert "TensorFlow ready in 2.2s" in log_text(app)


@pilot_test
async def test_train_before_tensorflow_is_ready_is_queued_and_said(tmp_path):
    app = make_app(tmp_path, ready_seconds=None, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.live is not None and len(app.backend.commands) == 1
        assert "starts once TensorFlow has loaded" in log_text(app)

        def run_status() -> str:
            return str(app.query_one("#run-status", Static).render())

        assert run_status() == "train: waiting for TensorFlow…"
        app.backend.make_ready(2.0)
        await pilot.pause()
        # TensorFlow is ready; the run is reported once its first batches ran (XLA compiles).
        assert run_status() == "train: compiling the model…"
        app.backend.advance()  # RunStarted
        await pilot.pause(0.7)  # status lines are drawn every UPDATE_INTERVAL
        assert run_status().startswith("train: started, 8 epochs")


@pilot_test
async def test_train_once_tensorflow_is_ready_says_the_model_is_compiling(tmp_path):
    app = make_app(tmp_path, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        status = str(app.query_one("#run-status", Static).render())
        assert status == "train: compiling the model…"


# --- series pane ----------------------------------------------------------------------------------


@pilot_test
async def test_bad_series_value_is_marked_and_last_valid_experiment_stays(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await type_into(pilot, app, "synthetic-length", "abc", keys=True)
        assert row(app, "synthetic", "length").has_class("-invalid")
        assert "series.length = 'abc': a whole number from 10" in error_of(
            app, "synthetic", "length"
        )
        assert app.experiment == before
        assert app.query_one("#series", SeriesPane).problems == 1
        assert "1 invalid" in str(app.query_one("#state", Static).render())
        await type_into(pilot, app, "synthetic-length", "1200")
        assert not row(app, "synthetic", "length").has_class("-invalid")
        assert app.experiment.series.length == 1200
        assert app.experiment.model == before.model


@pilot_test
async def test_split_time_beyond_length_is_marked_at_split_time(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "synthetic-split_time", "2000", keys=True)
        assert "less than series.length (1461)" in error_of(app, "synthetic", "split_time")
        # typed key by key, 200 was the last valid value on the way to 2000: it stays in force
        assert app.experiment.series.split_time == 200


@pytest.mark.parametrize(
    ("control", "text", "wording"),
    [
        ("synthetic-noise_level", "-1", "series.noise_level = -1.0: a number from 0"),
        ("synthetic-period", "1", "series.period = 1: a whole number from 2"),
        ("windows-batch_size", "0", "window.batch_size = 0: a whole number from 1"),
        ("windows-window", "2.5", "window.window = '2.5': a whole number from 1"),
    ],
)
@pilot_test
async def test_each_bad_field_names_field_value_and_range(tmp_path, control, text, wording):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await type_into(pilot, app, control, text)
        form, name = control.split("-", 1)
        assert wording in error_of(app, form, name)
        assert app.experiment == before


@pilot_test
async def test_window_too_long_for_split_is_a_data_error_at_split_time(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "windows-window", "1000")
        assert "too short for window 1000" in error_of(app, "synthetic", "split_time")
        assert app.experiment.window.window == 20


@pilot_test
async def test_series_chart_follows_valid_values(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        chart = app.query_one("#series-chart", Chart)
        assert "1461 points" in chart.figure.title
        await type_into(pilot, app, "synthetic-length", "1300")
        assert "1300 points" in chart.figure.title
        await type_into(pilot, app, "synthetic-length", "x")  # invalid: the chart keeps the last
        assert "1300 points" in chart.figure.title


@pilot_test
async def test_csv_source_with_file_and_column(tmp_path):
    csv_path = tmp_path / "data.csv"
    values = np.sin(np.arange(300) / 10) * 10 + 20
    csv_path.write_text("date,value\n" + "".join(f"d{i},{v:.4f}\n" for i, v in enumerate(values)))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.query_one("#series-source").value = "csv"
        await pilot.pause()
        assert "the path of a CSV file" in error_of(app, "csv", "path")
        assert app.experiment.series == PRESETS["course-rnn"].series
        await type_into(pilot, app, "csv-path", str(tmp_path / "missing.csv"))
        assert "no such file" in error_of(app, "csv", "path")
        await type_into(pilot, app, "csv-path", str(csv_path))
        await type_into(pilot, app, "csv-column", "nope")
        assert "unknown column 'nope'" in error_of(app, "csv", "column")
        await type_into(pilot, app, "csv-column", "value")
        await type_into(pilot, app, "csv-split_time", "250")
        series = app.experiment.series
        assert (
            isinstance(series, CsvSeries) and series.column == "value" and series.split_time == 250
        )
        assert "300 points" in app.query_one("#series-chart", Chart).figure.title


# --- model builder -------------------------------------------------------------------------------


@pilot_test
async def test_quiz_q8_problem_is_explained_and_ctrl_f_applies_the_fix(tmp_path):
    app = make_app(tmp_path, preset="quiz-q8")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        problems = str(app.query_one("#problems", Static).render())
        assert "does not return sequences" in problems
        assert "ctrl+f applies the fix: set return_sequences on layer 2" in problems
        assert app.check_action("fix", ()) is True
        await pilot.press("ctrl+t")  # a model that cannot work is not sent to the engine
        await pilot.pause()
        assert app.backend.commands == []
        await pilot.press("ctrl+f")
        await pilot.pause()
        layer = app.experiment.model.layers[1]
        assert isinstance(layer, Bidirectional) and layer.layer.return_sequences
        assert "✓ The stack works" in str(app.query_one("#problems", Static).render())
        assert "Applied fix: set return_sequences on layer 2." in log_text(app)
        assert app.check_action("fix", ()) is False


@pilot_test
async def test_builder_add_remove_move_and_toggle_by_keyboard(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.focused, OptionList)
        await pilot.press("down", "down")  # layer 3: SimpleRNN 40 (no sequences)
        pane = app.query_one(ModelPane)
        assert pane.selected == 2
        await pilot.press("b")  # wrap it in Bidirectional
        await pilot.pause()
        assert isinstance(app.experiment.model.layers[2], Bidirectional)
        await pilot.press("b", "r")  # unwrap, then return_sequences on
        await pilot.pause()
        assert app.experiment.model.layers[2] == SimpleRNN(units=40, return_sequences=True)
        await pilot.press("r", "left_square_bracket")  # off again, move it up
        await pilot.pause()
        assert app.experiment.model.layers[1] == SimpleRNN(units=40)
        assert pane.selected == 1
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.experiment.model == PRESETS["course-rnn"].model
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        await pilot.press("down", "enter")  # second choice: LSTM, inserted after layer 3
        await pilot.pause()
        assert app.experiment.model.layers[3] == LSTM()
        assert len(app.experiment.model.layers) == 6
        assert "Layer 4 (LSTM 40) receives (128, 40)" in str(
            app.query_one("#problems", Static).render()
        )
        await pilot.press("x")
        await pilot.pause()
        assert app.experiment.model == PRESETS["course-rnn"].model


@pilot_test
async def test_layer_editor_marks_bad_units_and_applies_good_ones(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2", "down", "enter")  # edit layer 2 (SimpleRNN 40, seq)
        await pilot.pause()
        kind = app.focused
        assert kind is not None and kind.id and kind.id.startswith("kind-")
        form_id = app.query_one(".layer-form").id
        await type_into(pilot, app, f"{form_id}-units", "0")
        assert "model.layers[1].units = 0: a whole number from 1 to 4" in error_of(
            app, form_id, "units"
        )
        assert app.experiment.model.layers[1].units == 40
        await type_into(pilot, app, f"{form_id}-units", "64")
        assert app.experiment.model.layers[1] == SimpleRNN(units=64, return_sequences=True)
        assert "(128, 20, 64)" in str(app.query_one("#shapes", DataTable).get_row_at(2))


@pilot_test
async def test_layer_kind_changes_keep_units(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2", "down")
        await pilot.pause()
        app.query_one(".editor-kind").value = "lstm"
        await pilot.pause()
        assert app.experiment.model.layers[1] == LSTM(units=40, return_sequences=True)


@pilot_test
async def test_preset_picker_replaces_the_experiment(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2", "p")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        await pilot.press("down", "down", "enter")  # third preset: course-lstm-2
        await pilot.pause()
        assert app.experiment == PRESETS["course-lstm-2"]
        assert "total params 33,601" in str(app.query_one("#shape-summary", Static).render())
        assert "Loaded preset course-lstm-2" in log_text(app)


# --- training -----------------------------------------------------------------------------------


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


@pilot_test
async def test_quit_during_a_run_stops_it_and_exits(tmp_path):
    app = make_app(tmp_path, paced=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        app.backend.advance(2)
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
    assert ("close", 1.5) in app.backend.commands and ("stop",) in app.backend.commands
    assert app.backend.closed
    assert app.return_code == 0


@pilot_test
async def test_engine_failure_is_shown(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        from tui.backend import EngineState

        await pilot.pause()
        app.post_message(EngineState("exited", detail="the training process ended unexpectedly"))
        await pilot.pause()
        assert "TF exited (F2 log)" in str(app.query_one("#state", Static).render())
        assert "ended unexpectedly" in log_text(app)


# --- runs view ------------------------------------------------------------------------------------


def make_runs(root: Path) -> RunStore:
    """Three training runs (one stopped) and a sweep, written through the real run store."""
    store = RunStore(root)
    base = get_preset("course-rnn")
    for name, epochs, mae, status in (
        ("course-rnn", 6, 6.2, "finished"),
        ("course-lstm-2", 4, 5.4, "finished"),
        ("course-rnn", 3, None, "stopped"),
    ):
        handle = store.create(dataclasses.replace(base, name=name), "train", 10)
        for e in range(1, epochs + 1):
            loss = 20 * 0.7**e + 3
            handle.append(
                {"epoch": e, "loss": loss, "mae": loss + 0.5, "learning_rate": 5e-6, "seconds": 0.1}
            )
        if mae is not None:
            handle.write_metrics(
                {"val_mae": mae, "val_mse": mae**2, "naive_mae": 5.938, "naive_mse": 61.83}
            )
            t = np.arange(1000, 1461)
            actual = np.sin(t / 20) * 20 + 80
            handle.write_forecast(t, actual, actual + 1)
        handle.finish(status, None if status == "finished" else "stopped by user")
    handle = store.create(base, "sweep", 100)
    for e in range(1, 61):
        handle.append(
            {"epoch": e, "learning_rate": 1e-8 * 10 ** (e / 20), "loss": 30 - e / 3, "seconds": 0.1}
        )
    handle.finish("finished")
    return store


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
        assert [table.get_row_at(i)[5] for i in range(2)] == ["5.400", "6.200"]
        assert {table.get_row_at(2)[3], table.get_row_at(3)[3]} == {"stopped", "finished"}
        await pilot.press("enter")
        await pilot.pause(0.3)
        chart = app.query_one("#run-chart", Chart).figure
        assert len(chart.traces[0].x) == 4
        assert "MAE 5.40" in app.query_one("#run-forecast", Chart).figure.title
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


# --- navigation, help, log, palette ---------------------------------------------------------------


@pilot_test
async def test_digits_tab_and_escape_move_between_panes(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        for key, pane in (("2", "model"), ("3", "training"), ("4", "runs"), ("1", "series")):
            await pilot.press(key)
            await pilot.pause()
            assert app.current_pane.id == pane
        await pilot.press("tab")  # into the first field; digits now type into it
        assert isinstance(app.focused, Input)
        await pilot.press("escape", "2")
        await pilot.pause()
        assert app.current_pane.id == "model"
        for _ in range(5):  # shift+tab before the first widget: the previous pane's last one
            await pilot.press("shift+tab")
            if app.current_pane.id != "model":
                break
        assert app.current_pane.id == "series"
        assert app.focused is app.query("#series Input").last()
        for _ in range(20):
            await pilot.press("tab")
            if app.current_pane.id != "series":
                break
        assert app.current_pane.id == "model"


@pilot_test
async def test_f1_lists_every_key_and_f2_shows_the_log(tmp_path):
    log = tmp_path / "seqlab.log"
    log.write_text("I0000 tensorflow said something\n")
    app = make_app(tmp_path)
    app.backend.log_path = log
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = {key for _, rows in app.screen.groups for key, _ in rows}
        assert {
            "^t",
            "^r",
            "^x",
            "^f",
            "^l",
            "f1",
            "f2",
            "^q",
            "a",
            "x / del",
            "l",
            "enter",
            "space",
        } <= shown
        await pilot.press("escape", "f2")
        await pilot.pause()
        assert isinstance(app.screen, LogScreen)
        text = "\n".join(line.text for line in app.screen.query_one(RichLog).lines)
        assert "tensorflow said something" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LogScreen)


@pilot_test
async def test_command_palette_offers_the_actions(tmp_path):
    app = make_app(tmp_path, preset="quiz-q8")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("2")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in (
            "Train the experiment in force (ctrl+t)",
            "Run the learning-rate sweep (ctrl+r)",
            "Apply the fix of the model's first problem (ctrl+f)",
            "Show TensorFlow's log (f2)",
            "Add a layer after the selected one (a)",
            "Keys",
        ):
            assert expected in titles
        assert not any(t.startswith("Stop the live run") for t in titles)  # nothing to stop
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"apply the fix")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.experiment.model.layers[1].layer.return_sequences


@pilot_test
async def test_quit_when_idle_exits_with_code_0(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+q")
        await asyncio.sleep(0.1)
    assert app.return_code == 0 and app.backend.closed
