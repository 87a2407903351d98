"""Pilot tests of the app as a whole: start-up, engine state, panes, keys, help, palette, quit."""

from __future__ import annotations

import asyncio
import gc

from pilot import log_text, make_app, pilot_test, ready, type_into
from textual.events import ScreenResume
from textual.widgets import Input, RichLog, Select, Static

from engine.presets import PRESETS
from tui.app import MainScreen, SeqlabCommands
from tui.entry import main
from tui.screens import HelpScreen, LogScreen

FIRST_FRAME_IMPORTS = """
import sys
import tui.entry, tui.launch, tui.app, tui.backend, tui.series_pane
heavy = ("numpy", "plotext", "textual_plotext", "tensorflow", "keras")
heavy += ("engine.events", "engine.protocol")
print(" ".join(m for m in heavy if m in sys.modules))
"""


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


def test_first_frame_imports_no_numpy_plotext_tensorflow_or_engine_messages(python_subprocess):
    """What the app imports before its first frame: the series and its chart load after it, and
    so do the engine's events and protocol (their dataclasses are slow to create), with the
    engine."""
    done = python_subprocess(FIRST_FRAME_IMPORTS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pilot_test
async def test_a_collector_paused_for_the_start_up_runs_again_after_the_first_frame(tmp_path):
    """The entry point pauses garbage collection for the start-up; the app resumes it."""
    gc.disable()
    try:
        app = make_app(tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await ready(pilot, app)
            assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_launch_that_fails_before_the_app_leaves_the_collector_running(tmp_path, capsys):
    assert main([str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err
    assert gc.isenabled()


@pilot_test
async def test_the_first_resume_keeps_the_mount_styles_a_later_one_restyles(tmp_path, monkeypatch):
    restyled: list[str] = []
    original = MainScreen.update_node_styles

    def update_node_styles(screen: MainScreen, animate: bool = True) -> None:
        restyled.append(screen.id or "")
        original(screen, animate)

    monkeypatch.setattr(MainScreen, "update_node_styles", update_node_styles)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert restyled == []  # styled once, as the widgets mounted
        app.screen.post_message(ScreenResume())  # as Textual resumes it (e.g. a theme change)
        await pilot.pause()
        assert restyled == ["_default"]  # a later resume styles again, as Textual asks


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


@pilot_test
async def test_digits_and_escape_move_between_panes_tab_stays_in_one(tmp_path):
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
        for _ in range(5):  # shift+tab before the first widget: this pane's last one
            await pilot.press("shift+tab")
        assert app.current_pane.id == "model"
        assert app.focused is not None and app.pane("model") in app.focused.ancestors


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
            "^z",
            "^y",
            "a",
            "x / del",
            "l",
            "enter",
            "space",
        } <= shown
        rows = dict(row for _, group in app.screen.groups for row in group)
        assert rows["^z"].startswith("Undo") and rows["^y"].startswith("Redo")
        assert "of the pane" in rows["tab / shift+tab"]
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
        titles = [hit.text async for hit in SeqlabCommands(app.screen).discover()]
        textual_titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" in textual_titles and "Keys" not in textual_titles  # ours replaces it
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
async def test_quit_when_idle_exits_with_code_0(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+q")
        await asyncio.sleep(0.1)
    assert app.return_code == 0 and app.backend.closed


@pilot_test
async def test_an_edited_preset_gets_its_own_name_and_loading_the_preset_restores_it(tmp_path):
    """Saved runs must never carry the course's published figures for a model they are not."""
    app = make_app(tmp_path)
    preset = PRESETS["course-rnn"]
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-learning_rate", "1e-05")
        exp = app.experiment
        assert (exp.name, exp.description) == ("course-rnn (edited)", "")
        assert exp.train.learning_rate == 1e-5
        assert "course-rnn (edited) · TF ready" in str(app.query_one("#state", Static).render())
        about = str(app.query_one("#preset-about", Static).render())
        assert about == "Edited from the preset course-rnn: its description no longer applies."
        assert app.query_one("#preset", Select).is_blank()  # the picker shows "(edited)"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.backend.commands[-1][1].name == "course-rnn (edited)"
        await type_into(pilot, app, "train-learning_rate", "5e-06")  # back to the preset's value
        assert app.experiment == preset
        await type_into(pilot, app, "train-epochs", "20")
        await pilot.press("2")
        app.query_one("#layers").focus()
        await pilot.press("x")  # another pane's edit keeps the edited name
        await pilot.pause()
        assert (
            app.experiment.name == "course-rnn (edited)" and len(app.experiment.model.layers) == 4
        )
        app.query_one("#preset", Select).value = "course-rnn"  # the preset again, unedited
        await pilot.pause()
        await pilot.press("y")  # over unsaved edits: yes, load it
        await pilot.pause()
        assert app.experiment == preset and preset.description
        assert str(app.query_one("#preset-about", Static).render()) == preset.description


@pilot_test
async def test_an_experiment_that_is_no_preset_keeps_its_name(tmp_path):
    import dataclasses

    mine = dataclasses.replace(PRESETS["course-rnn"], name="mine", description="my notes")
    app = make_app(tmp_path, experiment=mine)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "train-epochs", "20")
        assert (app.experiment.name, app.experiment.description) == ("mine", "my notes")


@pilot_test
async def test_the_main_screens_frame_timer_draws_a_change_after_a_slow_frame_at_once(tmp_path):
    """Textual's interval skips to the period after next when a tick ran long; the screen's frame
    timer must not, or a key pressed after a slow frame waits up to two periods for its own."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert app.screen._update_timer._skip is False
