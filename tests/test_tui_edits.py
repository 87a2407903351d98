"""Pilot tests of safe edits: undo and redo over every pane's edits, the question before a load
replaces unsaved edits, tab kept within a pane, and the preset picker's descriptions."""

from __future__ import annotations

from pilot import log_text, make_app, make_runs, pilot_test, ready, type_into
from textual.widgets import Input, Label, OptionList, Select

from engine.presets import PRESETS
from tui.screens import ConfirmScreen, PickScreen


def prompts(app) -> list[str]:
    """The picker's choices as they are shown (one string per choice, lines joined by \\n)."""
    options = app.screen.query_one(OptionList)
    return [str(option.prompt) for option in options.options]


def assert_cut_at_words(shown: str, full: str, width: int) -> None:
    """``shown`` is ``full`` re-wrapped to ``width``, or its start cut after a whole word + "…"."""
    lines = shown.split("\n")
    assert all(len(line) <= width for line in lines), (shown, width)
    words = " ".join(line.strip() for line in lines).split()
    if words[-1] == "…":
        words = words[:-1]
        assert len(words) < len(full.split())
    assert words == full.split()[: len(words)], (shown, full)  # every word whole


async def open_picker(pilot, app) -> PickScreen:
    await ready(pilot, app)
    await pilot.press("2", "p")
    await pilot.pause(0.1)
    assert isinstance(app.screen, PickScreen)
    return app.screen


@pilot_test
async def test_preset_picker_wraps_descriptions_at_words_using_the_room_at_120x40(tmp_path):
    """Defect 7: the picker cut descriptions mid-word ("…batch 3" for batch 32)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_picker(pilot, app)
        width = app.screen.query_one(OptionList).scrollable_content_region.width
        shown = prompts(app)
        for (name, exp), text in zip(PRESETS.items(), shown, strict=True):
            assert_cut_at_words(text, f"{name}: {exp.description}", width)
        # the room is used: the course's descriptions are shown whole, over two lines
        whole = f"course-lstm-1: {PRESETS['course-lstm-1'].description}"
        assert shown[1].count("\n") == 1 and " ".join(shown[1].split()) == whole
        assert shown[6].count("\n") == 2 and shown[6].endswith(" …")  # a long recipe: 3 lines


@pilot_test
async def test_preset_picker_cuts_at_a_word_with_an_ellipsis_at_80x24(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        width = app.screen.query_one(OptionList).scrollable_content_region.width
        shown = prompts(app)
        for (name, exp), text in zip(PRESETS.items(), shown, strict=True):
            assert "\n" not in text  # nine choices in 24 rows: one line each
            assert text.endswith(" …")
            assert_cut_at_words(text, f"{name}: {exp.description}", width)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.experiment == PRESETS["course-lstm-1"]


# --- undo and redo -------------------------------------------------------------------------------


def field_value(app, control_id: str) -> str:
    return app.query_one(f"#{control_id}", Input).value


@pilot_test
async def test_sixty_edits_undo_one_by_one_and_redo_again(tmp_path):
    """Well past 50 steps: each edit of a field (alternating two fields) is one step."""
    app = make_app(tmp_path)
    original = app.experiment
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        states = [app.experiment]
        for i in range(60):
            field = "train-epochs" if i % 2 == 0 else "train-seed"
            await type_into(pilot, app, field, str(100 + i))
            states.append(app.experiment)
        assert len(set(states)) == 61
        assert app.experiment.train.epochs == 158 and app.experiment.train.seed == 159
        await pilot.press("escape")  # out of the field: ctrl+z works anywhere, this too
        for back in range(60):
            await pilot.press("ctrl+z")
            await pilot.pause()
            assert app.experiment == states[-2 - back], back
        assert app.experiment == original
        assert field_value(app, "train-epochs") == "500"  # the form shows what is in force
        assert "Undid: train.epochs 100 → 500" in log_text(app)
        await pilot.press("ctrl+z")  # nothing left: said, and nothing changes
        await pilot.pause()
        assert app.experiment == original
        for forth in range(60):
            await pilot.press("ctrl+y")
            await pilot.pause()
            assert app.experiment == states[forth + 1], forth
        assert field_value(app, "train-seed") == "159"
        assert "Redid: train.seed 157 → 159" in log_text(app)


@pilot_test
async def test_typing_in_one_field_is_one_step_and_the_log_says_what_was_undone(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7", keys=True)  # commits 7 (and "" fails)
        await type_into(pilot, app, "train-epochs", "700", keys=True)  # 7, 70, 700: same field
        assert app.experiment.train.epochs == 700
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.experiment == PRESETS["course-rnn"]  # the name "(edited)" goes too
        assert field_value(app, "train-epochs") == "500"
        assert "Undid: train.epochs 700 → 500" in log_text(app)
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.experiment.train.epochs == 700
        assert app.experiment.name == "course-rnn (edited)"


@pilot_test
async def test_a_new_edit_clears_what_was_undone(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        await type_into(pilot, app, "train-seed", "8")
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.experiment.train.seed == 51 and app.history.can_redo
        await type_into(pilot, app, "train-learning_rate", "0.001")
        assert not app.history.can_redo
        await pilot.press("ctrl+y")  # nothing to redo: the new edit stays
        await pilot.pause()
        assert app.experiment.train.learning_rate == 0.001 and app.experiment.train.seed == 51
        await pilot.press("ctrl+z", "ctrl+z")
        await pilot.pause()
        assert app.experiment == PRESETS["course-rnn"]


@pilot_test
async def test_undo_goes_back_across_panes_in_the_order_of_the_edits(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "windows-window", "30")  # Series pane
        await pilot.press("escape", "2")
        app.query_one("#layers").focus()
        await pilot.press("x")  # Model pane: removes the selected layer
        await pilot.pause()
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "9")  # Training pane
        exp = app.experiment
        assert (exp.window.window, len(exp.model.layers), exp.train.epochs) == (30, 4, 9)
        await pilot.press("escape", "1")  # from another pane: one history for all
        await pilot.press("ctrl+z")
        await pilot.pause()
        exp = app.experiment
        assert (exp.window.window, len(exp.model.layers), exp.train.epochs) == (30, 4, 500)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert len(app.experiment.model.layers) == 5
        assert "Undid: model.layers[0] ExpandDims added" in log_text(app)
        assert len(app.query_one("#layers", OptionList).options) == 5
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert app.experiment == PRESETS["course-rnn"]
        assert field_value(app, "windows-window") == "20"
        assert "Undid: window.window 30 → 20" in log_text(app)
        for _ in range(3):
            await pilot.press("ctrl+y")
            await pilot.pause()
        exp = app.experiment
        assert (exp.window.window, len(exp.model.layers), exp.train.epochs) == (30, 4, 9)
        assert field_value(app, "train-epochs") == "9"


def test_history_keeps_a_hundred_steps_and_tells_changes_by_field():
    import dataclasses

    from tui.form import UNDO_STEPS, EditHistory, changes

    base = PRESETS["course-rnn"]
    history = EditHistory()
    states = [base]
    for i in range(UNDO_STEPS + 20):
        states.append(dataclasses.replace(base, train=dataclasses.replace(base.train, seed=i)))
        history.record(states[-2])
    current, undone = states[-1], 0
    while (step := history.undo(current)) is not None:
        current, undone = step.experiment, undone + 1
    assert UNDO_STEPS >= 50 and undone == UNDO_STEPS
    assert current == states[-1 - UNDO_STEPS]
    lstm = PRESETS["course-lstm-2"]
    told = changes(base, lstm)
    assert "train.loss huber → mse" in told and "train.learning_rate 5e-06 → 1e-06" in told
    assert not any(c.startswith(("name", "description")) for c in told)


# --- asking before a load replaces unsaved edits --------------------------------------------------


async def pick_preset(pilot, app, downs: int) -> None:
    """The preset picker (p in the Model pane), the preset ``downs`` below the first."""
    await pilot.press("2")
    app.query_one("#layers").focus()
    await pilot.press("p")
    await pilot.pause(0.1)
    await pilot.press(*["down"] * downs, "enter")
    await pilot.pause()


@pilot_test
async def test_a_preset_over_unsaved_edits_asks_no_and_escape_keep_them_yes_loads(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        await pilot.press("escape")
        edited = app.experiment
        for answer in ("n", "escape"):
            await pick_preset(pilot, app, 2)
            assert isinstance(app.screen, ConfirmScreen)
            title = str(app.screen.query_one(".modal-title", Label).render())
            assert "Load preset course-lstm-2 over the unsaved edits?" in title
            assert "train.epochs 500 → 7" in title  # what would be lost
            await pilot.press(answer)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert app.experiment == edited
        assert "Kept the edits: preset course-lstm-2 was not loaded." in log_text(app)
        await pick_preset(pilot, app, 2)
        await pilot.press("y")
        await pilot.pause()
        assert app.experiment == PRESETS["course-lstm-2"]
        assert "Loaded preset course-lstm-2" in log_text(app)
        await pick_preset(pilot, app, 3)  # nothing edited since that load: no question
        assert app.experiment == PRESETS["course-lstm-3"]
        await pilot.press("ctrl+z", "ctrl+z")  # the loads are undone too: the edits come back
        await pilot.pause()
        assert app.experiment == edited
        assert "Undid: loading preset course-lstm-2 (now course-rnn (edited))" in log_text(app)
        await pick_preset(pilot, app, 1)  # the edits count from before the loads again
        title = str(app.screen.query_one(".modal-title", Label).render())
        assert title.endswith("\ntrain.epochs 500 → 7")
        await pilot.press("n")
        await pilot.press("ctrl+y")  # redoing a load: nothing edited since it, no question
        await pilot.pause()
        assert app.experiment == PRESETS["course-lstm-2"] and not app.unsaved


@pilot_test
async def test_enter_on_the_question_keeps_the_edits(tmp_path):
    """ "No" is where the cursor starts: enter alone never throws edits away."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "windows-window", "30")
        await pilot.press("escape")
        await pick_preset(pilot, app, 1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.experiment.window.window == 30


@pilot_test
async def test_the_preset_select_asks_too_and_shows_the_experiment_again_on_no(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        await pilot.press("escape", "2")
        select = app.query_one("#preset", Select)
        assert select.is_blank()  # "(edited)"
        select.value = "lstm"
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.experiment.train.epochs == 7 and select.is_blank()


@pilot_test
async def test_saving_makes_edits_safe_to_replace_and_a_bad_field_counts_as_an_edit(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        assert app.unsaved
        app.save_experiment(tmp_path / "mine.toml")  # what ctrl+s does once it has a name
        assert not app.unsaved
        await type_into(pilot, app, "train-seed", "not a number")  # not in force, but typed
        assert app.experiment.train.epochs == 7 and app.unsaved
        await pilot.press("escape")
        await pick_preset(pilot, app, 1)
        assert isinstance(app.screen, ConfirmScreen)
        title = str(app.screen.query_one(".modal-title", Label).render())
        assert "fields not in force in Training" in title
        await pilot.press("y")
        await pilot.pause()
        assert app.experiment == PRESETS["course-lstm-1"] and not app.unsaved
        await pick_preset(pilot, app, 0)  # loaded, not edited: no question
        assert app.experiment == PRESETS["course-rnn"]


@pilot_test
async def test_loading_a_run_over_unsaved_edits_asks_first(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("3")
        await type_into(pilot, app, "train-epochs", "7")
        await pilot.press("escape", "4")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.experiment.train.epochs == 7
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.experiment.name == "course-lstm-2" and app.experiment.train.epochs == 500


# --- tab stays within a pane ----------------------------------------------------------------------


@pilot_test
async def test_tab_and_shift_tab_go_round_the_current_pane(tmp_path):
    make_runs(tmp_path / "runs")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        for digit, name in (("1", "series"), ("2", "model"), ("3", "training"), ("4", "runs")):
            await pilot.press("escape", digit)
            await pilot.pause()
            pane = app.pane(name)
            chain = [w for w in app.screen.focus_chain if pane in w.ancestors]
            assert chain, name
            seen = []
            for _ in range(len(chain) + 1):  # once round, and one more
                await pilot.press("tab")
                assert app.current_pane is pane and pane in app.focused.ancestors, name
                seen.append(app.focused)
            assert set(seen) == set(chain) and seen[-1] is seen[0], name
            for _ in range(len(chain) + 1):
                await pilot.press("shift+tab")
                assert app.current_pane is pane and pane in app.focused.ancestors, name
