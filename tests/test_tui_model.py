"""Pilot tests of the model pane: the layer builder, its editor, fixes and presets."""

from __future__ import annotations

from pilot import error_of, log_text, make_app, pilot_test, ready, type_into
from textual.widgets import DataTable, OptionList, Static

from engine.presets import PRESETS
from engine.specs import LSTM, Bidirectional, SimpleRNN
from tui.model_pane import ModelPane
from tui.screens import PickScreen


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
