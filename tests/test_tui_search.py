"""Pilot tests of the Search view (pane 5): the searched fields, the settings, starting and
stopping a search on the scripted engine, the live trials table, and a trial's run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pilot import make_app, pilot_test, ready
from scripted import STUDY_ID, ScriptedBackend
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Static

from engine.events import SearchStarted, TrialUpdate
from engine.presets import get_preset
from engine.runstore import RunStore
from engine.search_space import Param, loads
from engine.specs import Experiment
from engine.studies import ranked
from tui.app import SeqlabApp, SeqlabCommands
from tui.runs_pane import RunsPane, no_forecast_hint
from tui.screens import AskScreen, ConfirmScreen
from tui.search_pane import FieldPicker, SearchPane

WIDE = (120, 40)


def held_out(epochs: int = 8) -> Experiment:
    """The course's RNN with a holdout slice (a search chooses on it) and few epochs."""
    base = get_preset("course-rnn")
    train = dataclasses.replace(base.train, holdout=0.1, epochs=epochs)
    return dataclasses.replace(base, train=train)


def search_app(tmp_path: Path, experiment: Experiment | None = None, **backend) -> SeqlabApp:
    return make_app(tmp_path, experiment=experiment or held_out(), **backend)


def pane(app: SeqlabApp) -> SearchPane:
    return app.query_one(SearchPane)


def backend(app: SeqlabApp) -> ScriptedBackend:
    assert isinstance(app.backend, ScriptedBackend)
    return app.backend


def text_of(app: SeqlabApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def problem_line(app: SeqlabApp) -> str:
    assert isinstance(app.screen, AskScreen), app.screen
    return str(app.screen.query_one("#ask-problem", Static).render())


async def add_field(pilot, app: SeqlabApp, filter_text: str, domain: str | None) -> None:
    """a, the filter typed, enter picks the first match; the domain typed and entered (None:
    the dialog is left open with its suggestion)."""
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(app.screen, FieldPicker)
    await pilot.press(*filter_text)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, AskScreen)
    if domain is not None:
        app.screen.query_one("#ask-value", Input).value = domain
        await pilot.press("enter")
        await pilot.pause()


async def open_search(pilot, app: SeqlabApp) -> SearchPane:
    await ready(pilot, app)
    await pilot.press("5")
    await pilot.pause()
    return pane(app)


async def start_two_fields(pilot, app: SeqlabApp, trials: int = 6) -> SearchPane:
    view = await open_search(pilot, app)
    await add_field(pilot, app, "learning", "loguniform 1e-6 1e-4")
    await add_field(pilot, app, "window.window", "choice 10 20 30")
    app.query_one("#search-settings-trials", Input).value = str(trials)
    await pilot.pause()
    view.home().focus()
    await pilot.press("ctrl+g")
    await pilot.pause()
    return view


async def settle(pilot, app: SeqlabApp) -> None:
    """Waits until the events posted so far are handled and the trials table shows them (it
    redraws a few times a second while trial epochs stream in)."""
    await pilot.pause()
    for _ in range(100):
        if pane(app)._draw_timer is None:
            break
        await pilot.pause(0.05)
    await pilot.pause()


def trial_rows(app: SeqlabApp) -> list[dict[str, str]]:
    table = app.query_one("#search-trials", DataTable)
    keys = [str(k.value) for k in table.columns]
    return [
        dict(zip(keys, map(str, table.get_row_at(i)), strict=True)) for i in range(table.row_count)
    ]


@pilot_test
async def test_fields_are_added_edited_and_removed_by_keyboard(tmp_path):
    app = search_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        assert app.query_one("#panes").current == "search"
        assert "No field searched yet" in text_of(app, "#space-note")
        # the picker filters as you type; the dialog suggests a domain around the current value
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"units")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["model.layers[1].units", "model.layers[2].units", "model.layers[3].units"]
        await pilot.press("escape")
        await pilot.pause()
        await add_field(pilot, app, "learning", None)
        assert app.screen.query_one("#ask-value", Input).value == "loguniform 5e-07 5e-05"
        assert "now 5e-06" in str(app.screen.query_one(".modal-title", Static).render())
        app.screen.query_one("#ask-value", Input).value = "loguniform 1e-4 1e-2"
        await pilot.press("enter")
        await pilot.pause()
        assert view.space == [Param("train.learning_rate", "loguniform", (1e-4, 1e-2))]
        table = app.query_one("#search-space", DataTable)
        assert [str(c) for c in table.get_row_at(0)] == [
            "train.learning_rate",
            "loguniform",
            "0.0001 to 0.01",
        ]
        assert "10 trials" in text_of(app, "#space-note")
        # e (and enter) edits the selected field, pre-filled with its domain
        table.focus()
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#ask-value", Input).value == "loguniform 0.0001 0.01"
        app.screen.query_one("#ask-value", Input).value = "choice 1e-3 1e-2"
        await pilot.press("enter")
        await pilot.pause()
        assert view.space == [Param("train.learning_rate", "choice", (1e-3, 1e-2))]
        await add_field(pilot, app, "window.window", "choice 10 20")
        assert [p.path for p in view.space] == ["train.learning_rate", "window.window"]
        await pilot.press("enter")  # on the table: edits the selected (last added) field
        await pilot.pause()
        assert app.screen.query_one("#ask-value", Input).value == "choice 10 20"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("delete")
        await pilot.pause()
        assert [p.path for p in view.space] == ["train.learning_rate"]
        assert "No longer searching window.window" in text_of(app, "#search-message")


@pilot_test
async def test_a_bad_domain_is_told_in_the_dialog_in_one_line(tmp_path):
    app = search_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        await add_field(pilot, app, "window.window", "loguniform 1 5")
        problem = problem_line(app)
        assert 'search.space."window.window".loguniform' in problem
        assert "randint or choice" in problem and "\n" not in problem
        assert "Traceback" not in problem
        app.screen.query_one("#ask-value", Input).value = "between 10 30"
        await pilot.press("enter")
        await pilot.pause()
        assert "a domain then its values" in problem_line(app)
        await pilot.press("escape")
        await pilot.pause()
        # a value the model cannot work with is told before the search starts
        await add_field(pilot, app, "layers[3].units", "choice 1 2")
        problem = problem_line(app)
        assert problem.startswith('search.space."model.layers[3].units" = 2: the model cannot')
        await pilot.press("escape")
        await pilot.pause()
        assert view.space == []


@pilot_test
async def test_a_search_without_a_holdout_slice_is_refused(tmp_path):
    app = search_app(tmp_path, get_preset("course-rnn"))  # train.holdout = 0
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert "no field to vary" in text_of(app, "#search-message")
        await add_field(pilot, app, "learning", "loguniform 1e-6 1e-4")
        await pilot.press("ctrl+g")
        await pilot.pause()
        message = text_of(app, "#search-message")
        assert message.startswith("Cannot search: train.holdout = 0: a search chooses")
        assert "\n" not in message
        assert not [c for c in backend(app).commands if c[0] == "search"]
        assert view.study is None and not view.running
        # a bad setting is refused too, naming its key path
        app.query_one("#search-settings-trials", Input).value = "0"
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert text_of(app, "#search-message").startswith("Cannot search: search.trials = 0")


@pilot_test
async def test_start_sends_the_search_file_the_engine_reads(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        await add_field(pilot, app, "learning", "loguniform 1e-6 1e-4")
        await add_field(pilot, app, "layers[1].units", "randint 16 64")
        app.query_one("#search-settings-trials", Input).value = "4"
        app.query_one("#search-settings-grace_period", Input).value = "2"
        app.query_one("#search-address", Input).value = " 10.0.0.5:6379 "
        await pilot.pause()
        await pilot.press("ctrl+g")
        await pilot.pause()
        [command] = [c for c in backend(app).commands if c[0] == "search"]
        _, toml, runs_dir, address, resume = command
        assert (runs_dir, address, resume) == (str(app.store.root), "10.0.0.5:6379", None)
        search = loads(toml)
        assert search.base == app.experiment
        assert search.space == (
            Param("train.learning_rate", "loguniform", (1e-6, 1e-4)),
            Param("model.layers[1].units", "randint", (16, 64)),
        )
        assert (search.settings.trials, search.settings.grace_period) == (4, 2)
        assert view.running and app.search_running
        assert "Starting the search" in text_of(app, "#search-status")


@pilot_test
async def test_trials_are_ranked_on_the_holdout_mae_with_the_best_marked(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await start_two_fields(pilot, app)
        scripted = backend(app)
        scripted.advance(1 + 2 * 3)  # started, three epochs of trials 1 and 2
        await settle(pilot, app)
        status = text_of(app, "#search-status")
        assert status.startswith("● searching") and "0 of 6 trials ended" in status
        assert STUDY_ID in status and "local Ray, 2 CPUs" in status
        rows = trial_rows(app)
        assert [r["status"] for r in rows] == ["running", "running"]
        assert [r["epoch"] for r in rows] == ["3/8", "3/8"]
        assert "No trial has ended yet" in text_of(app, "#search-result")
        assert "● search 0/6 trials" in str(app.query_one("#state", Static).render())
        # a search keeps the engine busy: training and sweeping wait for it
        assert app.check_action("train", ()) is None and app.check_action("sweep", ()) is None
        assert app.check_action("stop", ()) is True
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not [c for c in scripted.commands if c[0] == "train"]
        scripted.advance(len(scripted.pending))
        await settle(pilot, app)
        assert not view.running and app.check_action("train", ()) is True
        ended = view.study.ended
        assert ended is not None and ended.status == "finished"
        rows = trial_rows(app)
        order = [t.trial for t in ranked(list(ended.trials))]
        assert [int(r["trial"]) for r in rows] == order
        holdouts = [float(r["holdout"]) for r in rows]
        assert holdouts == sorted(holdouts)
        assert rows[0]["mark"] == "best" and int(rows[0]["trial"]) == ended.best_trial
        assert [r["mark"] for r in rows[1:]] == [""] * (len(rows) - 1)
        assert {r["status"] for r in rows} == {"finished", "pruned"}
        assert "finished · " in text_of(app, "#search-status")
        assert "6 of 6 trials ended" in text_of(app, "#search-status")
        result = text_of(app, "#search-result")
        assert result.startswith(f"Best trial: trial {ended.best_trial} (lr ")
        assert "vs naive 5.938: beats the naive forecast" in result
        header = app.query_one("#search-trials", DataTable).columns
        assert [str(c.label) for c in header.values()][1:4] == ["#", "lr", "window"]
        assert "val MAE" in text_of(app, "#trials-heading")
        assert "holdout" in text_of(app, "#trials-heading")


@pilot_test
async def test_a_best_trial_worse_than_naive_says_so(tmp_path):
    app = search_app(tmp_path, worse=True)
    async with app.run_test(size=WIDE) as pilot:
        await start_two_fields(pilot, app, trials=2)
        await settle(pilot, app)
        assert "does NOT beat the naive forecast" in text_of(app, "#search-result")


@pilot_test
async def test_events_of_another_token_are_not_the_views(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await start_two_fields(pilot, app)
        assert view.study is not None
        other = view.study.token + 100
        assert not view.show_event(other, SearchStarted("x", "x", 3, "random", "asha", "here"))
        assert not view.show_event(other, TrialUpdate("x", 1, {}, "running"))
        assert view.study.started is None and view.study.trials == {}


@pilot_test
async def test_stop_stops_the_search(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await start_two_fields(pilot, app)
        backend(app).advance(5)
        await pilot.pause()
        await pilot.press("ctrl+x")
        await settle(pilot, app)
        assert ("stop",) in backend(app).commands
        assert not view.running
        assert view.study is not None and view.study.ended is not None
        assert view.study.ended.status == "stopped"
        assert text_of(app, "#search-status").startswith("stopped · ")
        assert {r["status"] for r in trial_rows(app)} == {"stopped"}
        assert "no best trial" in text_of(app, "#search-result")
        assert app.check_action("train", ()) is True
        assert app.check_action("stop", ()) is False


@pilot_test
async def test_no_search_starts_while_a_run_is_live(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        await add_field(pilot, app, "learning", "loguniform 1e-6 1e-4")
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        assert view.check_action("start", ()) is None
        view.action_start()
        await pilot.pause()
        assert "A train run is live" in text_of(app, "#search-message")
        assert not [c for c in backend(app).commands if c[0] == "search"]


@pilot_test
async def test_a_trial_opens_in_the_runs_pane_and_its_experiment_loads(tmp_path):
    app = search_app(tmp_path, write_trials=True)
    async with app.run_test(size=WIDE) as pilot:
        view = await start_two_fields(pilot, app, trials=4)
        await settle(pilot, app)
        assert view.study is not None and view.study.ended is not None
        best = view.study.best()
        assert best is not None and best.run_id
        trials = app.query_one("#search-trials", DataTable)
        assert app.focused is trials and trials.cursor_row == 0  # on the best trial
        await pilot.press("o")
        await pilot.pause()
        runs = app.query_one(RunsPane)
        assert app.query_one("#panes").current == "runs" and runs.opened == best.run_id
        await pilot.press("5")
        await pilot.pause()
        # the cursor moved by the user stays on its trial; enter opens it too
        trials.focus()
        await pilot.press("down")
        await pilot.pause()
        second = view._selected_trial()
        assert second is not None and second.trial != best.trial
        await pilot.press("enter")
        await pilot.pause()
        assert runs.opened == second.run_id
        await pilot.press("5")
        await pilot.pause()
        trials.focus()
        await pilot.press("up", "l")
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):  # the held-out course RNN counts as an edit
            await pilot.press("y")
            await pilot.pause()
        store = RunStore(app.store.root)
        expected = store.experiment(store.find(best.run_id).path)
        assert app.experiment == expected
        assert app.experiment.train.learning_rate == best.params["train.learning_rate"]
        assert app.experiment.window.window == best.params["window.window"]
        assert "Loaded trial" in text_of(app, "#search-message")
        # a pruned trial's run says why it has no forecast
        pruned = next(i for i in store.runs() if i.status == "pruned")
        assert pruned.study == STUDY_ID and pruned.trial is not None
        assert "pruned" in no_forecast_hint(pruned)


@pilot_test
async def test_at_80_columns_the_trials_take_the_width_and_s_shows_the_settings(tmp_path):
    app = search_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_search(pilot, app)
        left = app.query_one("#search-left")
        assert left.display and view.check_action("settings", ()) is False
        await start_two_fields(pilot, app, trials=2)
        await settle(pilot, app)
        assert left.styles.display == "none"
        assert app.query_one("#search-trials", DataTable).size.width >= 70
        await pilot.press("s")
        await pilot.pause()
        assert left.styles.display == "block"


@pilot_test
async def test_a_field_the_new_experiment_lacks_is_marked(tmp_path):
    app = search_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        view = await open_search(pilot, app)
        await add_field(pilot, app, "layers[4].factor", "choice 50 100")
        assert [p.path for p in view.space] == ["model.layers[4].factor"]
        exp = app.experiment
        app.commit(
            dataclasses.replace(
                exp, model=dataclasses.replace(exp.model, layers=exp.model.layers[:-1])
            )
        )
        await pilot.pause()
        assert "model.layers[4].factor" in view.space_problems
        assert "no such layer" in text_of(app, "#space-note")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert text_of(app, "#search-message").startswith("Cannot search: ")
        assert view.study is None


@pilot_test
async def test_the_search_is_in_the_palette_the_help_and_the_tabs(tmp_path):
    app = search_app(tmp_path, paced=True)
    async with app.run_test(size=WIDE) as pilot:
        await ready(pilot, app)
        assert " 5 Search " in str(app.query_one("#tabs", Static).render())
        view = pane(app)
        titles = [title for title, _, _ in SeqlabCommands(app.screen).commands()]
        assert "Start the search (5, ctrl+g)" in titles  # from the series pane
        # from another pane it opens the Search view, where a refusal is told
        start = next(
            c for t, _, c in SeqlabCommands(app.screen).commands() if t.startswith("Start the s")
        )
        start()
        await pilot.pause()
        assert app.query_one("#panes").current == "search"
        assert "no field to vary" in text_of(app, "#search-message")
        titles = [title for title, _, _ in SeqlabCommands(app.screen).commands()]
        assert "Start the search (checked first; ctrl+x stops it) (^g)" in titles
        assert "Add a field to search: pick it, type its domain (a)" in titles
        await add_field(pilot, app, "learning", "loguniform 1e-6 1e-4")
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert view.running
        titles = [title for title, _, _ in SeqlabCommands(app.screen).commands()]
        assert not any(t.startswith("Train the experiment") for t in titles)  # the engine is busy
        assert any(t.startswith("Stop the live run") for t in titles)
        await pilot.press("f1")
        await pilot.pause()
        help_text = str(app.screen.query_one(VerticalScroll).query_one(Static).render())
        assert "Search (5)" in help_text and "Series, Model, Training, Runs, Search" in help_text
