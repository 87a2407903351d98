"""Pilot tests of saving and exporting from the app: ctrl+s writes the experiment as TOML, the runs
pane's export menu (x) writes a run as a script, a notebook or its experiment file and shows where
its model is, and the training form's TensorBoard switch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pilot import log_text, make_app, make_runs, pilot_test, ready, type_into
from textual import events
from textual.widgets import Checkbox, Input, OptionList, Static

from engine import config
from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp, SeqlabCommands
from tui.runs_pane import RunsPane
from tui.screens import AskScreen, ConfirmScreen, HelpScreen, PickScreen


def notes(app: SeqlabApp) -> list[str]:
    return [n.message for n in app._notifications]


def ask_value(app: SeqlabApp) -> str:
    assert isinstance(app.screen, AskScreen), app.screen
    return app.screen.query_one("#ask-value", Input).value


def ask_problem(app: SeqlabApp) -> str:
    return str(app.screen.query_one("#ask-problem", Static).render())


async def answer(pilot, app: SeqlabApp, text: str) -> None:
    """Types ``text`` over the dialog's answer and presses enter."""
    app.screen.query_one("#ask-value", Input).value = text
    await pilot.press("enter")
    await pilot.pause()


def status_line(app: SeqlabApp) -> str:
    line = app.query_one("#runs-status", Static)
    assert line.display
    return str(line.render())


# --- ctrl+s ---------------------------------------------------------------------------------------


@pilot_test
async def test_ctrl_s_saves_the_edited_experiment_where_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        await pilot.press("escape")
        assert app.experiment.name == "course-rnn (edited)"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert ask_value(app) == "course-rnn-edited.toml"  # in the current folder, by its name
        assert str(tmp_path) in str(app.screen.query_one(".modal-note", Static).render())
        await pilot.press("enter")
        await pilot.pause()
        path = tmp_path / "course-rnn-edited.toml"
        assert not isinstance(app.screen, AskScreen)
        assert config.load(path) == app.experiment
        assert config.load(path).train.epochs == 7
        assert f"Saved course-rnn (edited) to {path}" in log_text(app)
        assert str(path) in notes(app)
        await pilot.press("ctrl+s")  # the next save offers the file it was saved to
        await pilot.pause()
        assert ask_value(app) == "course-rnn-edited.toml"


@pilot_test
async def test_ctrl_s_asks_before_overwriting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "course-rnn.toml"
    target.write_text("mine\n")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert str(target) in str(app.screen.query_one(".modal-title").render())
        await pilot.press("enter")  # the cursor starts on "no": enter alone keeps the file
        await pilot.pause()
        assert target.read_text() == "mine\n"
        assert ask_value(app) == "course-rnn.toml"  # asked again for a name
        await pilot.press("enter", "n")
        await pilot.pause()
        assert target.read_text() == "mine\n" and isinstance(app.screen, AskScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, (AskScreen, ConfirmScreen))
        assert target.read_text() == "mine\n"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter", "y")
        await pilot.pause()
        assert config.load(target) == get_preset("course-rnn")


@pilot_test
async def test_ctrl_s_tells_a_bad_path_in_the_dialog_and_a_refused_write_in_one_line(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await answer(pilot, app, "no/such/x.toml")
        assert ask_problem(app) == f"the folder {tmp_path / 'no/such'} does not exist"
        await answer(pilot, app, str(tmp_path))
        assert ask_problem(app) == f"{tmp_path} is a folder; give a file name in it"
        await answer(pilot, app, "a-file/x.toml")
        assert ask_problem(app) == f"{tmp_path / 'a-file'} is a file, not a folder"
        await answer(pilot, app, "  ")
        assert ask_problem(app) == "give a file name"
        assert isinstance(app.screen, AskScreen)  # still open, to correct the name

        def refused(path, data):
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr("engine.runstore.atomic_write", refused)
        await answer(pilot, app, "x.toml")
        assert not isinstance(app.screen, AskScreen)
        message = f"Cannot save the experiment to {tmp_path / 'x.toml'}: Permission denied"
        assert message in log_text(app) and "Traceback" not in log_text(app)
        assert f"{tmp_path / 'x.toml'}: Permission denied" in notes(app)
        assert not (tmp_path / "x.toml").exists()


@pilot_test
async def test_ctrl_s_offers_the_file_the_app_was_opened_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "mine" / "exp.toml"
    source.parent.mkdir()
    source.write_text(config.dumps(get_preset("course-lstm-2")))
    app = SeqlabApp(
        config.load(source),
        make_app(tmp_path).backend,
        RunStore(tmp_path / "runs"),
        blink=False,
        source=source,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert ask_value(app) == str(Path("mine") / "exp.toml")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)  # it exists: asked before writing
        await pilot.press("y")
        await pilot.pause()
        assert config.load(source) == app.experiment


# --- the runs pane's export menu --------------------------------------------------------------


@pilot_test
async def test_runs_pane_exports_the_selected_run_and_says_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "x")
        await pilot.pause()
        pane = app.query_one(RunsPane)
        info = pane.runs[0]
        assert isinstance(app.screen, PickScreen)
        assert app.screen.query_one(OptionList).option_count == 4
        await pilot.press("t")  # the experiment file
        await pilot.pause()
        assert ask_value(app) == f"{info.run_id}.toml"
        await pilot.press("enter")
        await pilot.pause()
        written = tmp_path / f"{info.run_id}.toml"
        assert config.load(written) == pane.store.experiment(info.path)
        line = status_line(app)
        assert line.startswith(f"Wrote the experiment file to {written}")
        assert f"seqlab run {written.name} trains it again" in line
        assert f"Wrote the experiment file to {written}" in log_text(app)
        await pilot.press("x", "s")  # the script, as a name of the user's choosing
        await pilot.pause()
        assert ask_value(app) == f"{info.run_id}.py"
        await answer(pilot, app, "mine.py")
        assert (tmp_path / "mine.py").is_file()
        compile((tmp_path / "mine.py").read_text(), "mine.py", "exec")
        assert status_line(app).startswith(f"Wrote the script to {tmp_path / 'mine.py'}")
        await pilot.press("x", "s")  # again: it exists, so the app asks first
        await pilot.pause()
        await answer(pilot, app, "mine.py")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        await pilot.press("down", "x", "n")  # the second run's notebook
        await pilot.pause()
        assert ask_value(app) == f"{pane.runs[1].run_id}.ipynb"


@pilot_test
async def test_runs_pane_export_failure_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        pane = app.query_one(RunsPane)
        await pilot.press("4")
        await pilot.pause()
        (Path(pane.runs[0].path) / "experiment.toml").unlink()  # removed since it was listed
        await pilot.press("x", "t", "enter")
        await pilot.pause()
        line = status_line(app)
        assert line.startswith("Cannot export the experiment file: ") and "\n" not in line
        assert "experiment.toml" in line
        assert not list(tmp_path.glob("*.toml"))


@pilot_test
async def test_model_path_is_shown_copied_and_a_sweep_has_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = make_runs(tmp_path / "runs")
    best = store.runs()[0]
    model = Path(best.path).absolute() / "model.keras"
    model.write_bytes(b"PK a stand-in")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "x", "m")
        await pilot.pause()
        line = status_line(app)
        assert line == (
            f"Model (path copied): {model}\n"
            f"Load it in Python: keras.saving.load_model({str(model)!r})"
        )
        assert app.clipboard == str(model)
        assert str(model) in log_text(app)
        pane = app.query_one(RunsPane)
        sweep = [i for i, r in enumerate(pane.runs) if r.kind == "sweep"][0]
        await pilot.press(*["down"] * sweep, "x", "m")
        await pilot.pause()
        assert "is a learning-rate sweep: it saves no model" in status_line(app)
        await pilot.press("up", "x", "m")  # a training run without model.keras
        await pilot.pause()
        assert "saved no model" in status_line(app)


@pilot_test
async def test_a_menu_key_typed_fast_after_x_is_not_lost(tmp_path, monkeypatch):
    """x then t typed in one go (as a terminal delivers them): the t arrives before the menu
    is up, and still picks the experiment file."""
    monkeypatch.chdir(tmp_path)
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        app.post_message(events.Key("x", "x"))
        app.post_message(events.Key("t", "t"))
        await pilot.pause(0.3)
        assert ask_value(app) == f"{app.query_one(RunsPane).runs[0].run_id}.toml"


@pilot_test
async def test_export_with_no_runs_says_so(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4", "x")
        await pilot.pause()
        assert not isinstance(app.screen, PickScreen)
        assert "No run to export" in status_line(app)


@pilot_test
async def test_palette_and_f1_list_save_and_the_exports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        titles = [hit.text async for hit in SeqlabCommands(app.screen).discover()]
        assert "Save the experiment as a TOML file (asks where) (ctrl+s)" in titles
        assert not any("Export the selected run" in str(t) for t in titles)  # not in this pane
        await pilot.press("4")
        await pilot.pause()
        titles = [hit.text async for hit in SeqlabCommands(app.screen).discover()]
        for expected in (
            "Export the selected run as a Python script (x s)",
            "Export the selected run as a Jupyter notebook (x n)",
            "Export the selected run's experiment (TOML) (x t)",
            "Show (and copy) the selected run's model path (x m)",
        ):
            assert expected in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"jupyter notebook")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert ask_value(app).endswith(".ipynb")
        await pilot.press("escape", "f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(row for _, rows in app.screen.groups for row in rows)
        assert rows["^s"].startswith("Save the experiment")
        runs = [key for title, rows in app.screen.groups if title == "Runs" for key, _ in rows]
        at = runs.index("x")  # the menu's keys follow x
        assert runs[at : at + 5] == ["x", "x s", "x n", "x t", "x m"]
        assert rows["x s"] == "Export the selected run as a Python script"


# --- the training form's TensorBoard switch -----------------------------------------------------


@pilot_test
async def test_training_form_has_the_tensorboard_switch(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await pilot.pause()
        box = app.query_one("#train-tensorboard", Checkbox)
        assert box.value is False and "TensorBoard" in str(box.label)
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.experiment.train.tensorboard is True
        exp = get_preset("course-lstm-2")
        on = dataclasses.replace(exp, train=dataclasses.replace(exp.train, tensorboard=True))
        app.load_experiment(on, "a file")
        await pilot.pause()
        assert box.value is True
