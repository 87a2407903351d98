"""The lecture view (f3): it opens in the panes' place, its keys change the model in force, and
the drawing, the model pane and the shapes follow at once; esc closes it."""

from __future__ import annotations

from pilot import make_app, pilot_test, ready
from textual.widgets import ContentSwitcher, Input

from engine.specs import Bidirectional, SimpleRNN
from tui.lecture import LectureView
from tui.model_pane import ModelPane
from tui.screens import AskScreen, HelpScreen


async def opened(pilot, app) -> LectureView:
    await ready(pilot, app)
    await pilot.press("f3")
    await pilot.pause()
    views = list(app.query(LectureView))
    assert len(views) == 1, "f3 did not open the lecture view"
    return views[0]


def shown(view: LectureView) -> str:
    """What the view's drawing shows, as plain text."""
    assert view.drawing is not None
    return str(view.query_one("#lecture-drawing").render())


def block_text(view: LectureView, index: int) -> str:
    assert view.drawing is not None
    return next(b for b in view.drawing.blocks if b.index == index).text()


@pilot_test
async def test_f3_opens_it_in_place_of_the_panes_and_esc_closes_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        assert not app.query_one("#panes", ContentSwitcher).display
        assert app.focused is view
        assert "SimpleRNN 40, seq: (128, 20, 1) → (128, 20, 40)" in shown(view)
        assert view.selected == 1  # the first recurrent layer
        await pilot.press("escape")
        await pilot.pause()
        assert not app.query(LectureView)
        assert app.query_one("#panes", ContentSwitcher).display
        assert app.focused is not None and app.current_pane in app.focused.ancestors
        await pilot.press("f3", "f3")  # f3 toggles
        await pilot.pause()
        assert not app.query(LectureView)


@pilot_test
async def test_r_toggles_return_sequences_and_the_drawing_follows(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        await pilot.press("up")  # layer 3, SimpleRNN 40 without return_sequences
        assert view.selected == 2
        assert "only Ŷ₁₉ goes up" in " ".join(block_text(view, 2).split())
        await pilot.press("r")
        await pilot.pause()
        layer = app.experiment.model.layers[2]
        assert isinstance(layer, SimpleRNN) and layer.return_sequences
        assert app.experiment.name == "course-rnn (edited)"
        assert "(128, 20, 40) → (128, 20, 40)" in shown(view)
        assert "ignored" not in block_text(view, 2)
        # the Dense above now runs at every step: sequence to sequence
        assert "the same Dense" in " ".join(block_text(view, 3).split())
        assert "sequence-to-sequence" in view.query_one("#lecture-head").render().plain
        model = app.pane("model")
        assert isinstance(model, ModelPane) and model.report is not None
        assert model.report.mode == "sequence-to-sequence"  # the model pane follows too


@pilot_test
async def test_units_keys_change_the_selected_layer(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        await pilot.press("plus")
        await pilot.pause()
        assert app.experiment.model.layers[1].units == 41
        assert "(128, 41)" in block_text(view, 1)
        assert "(128, 20, 1) → (128, 20, 41) · 1,763 params" in shown(view)  # 41·(1+41+1)
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert app.experiment.model.layers[1].units == 39
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)
        field = app.screen.query_one(Input)
        field.value = "0"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen)  # told, and still asking
        problem = str(app.screen.query_one("#ask-problem").render())
        assert "model.layers[1].units = 0" in problem and "4096" in problem.replace(",", "")
        field.value = "3"
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AskScreen)
        assert app.experiment.model.layers[1].units == 3
        assert "(128, 3)" in block_text(view, 1)
        assert app.focused is view


@pilot_test
async def test_units_on_a_layer_without_units_is_refused_with_a_reason(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        before = app.experiment
        await pilot.press("up", "up", "up")  # Scale ×100, the top
        await pilot.press("up")  # past the top: stays
        assert view.selected == 4
        await pilot.press("plus")
        await pilot.pause()
        assert app.experiment == before
        messages = [n.message for n in app._notifications]
        assert any("units applies to" in m and "layer 5 is Scale" in m for m in messages)


@pilot_test
async def test_units_past_the_limit_is_refused_naming_field_value_and_range(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app)
        await pilot.press("down")  # ExpandDims
        await pilot.press("up")  # back to layer 2
        for _ in range(40):
            await pilot.press("minus")
        await pilot.pause()
        assert app.experiment.model.layers[1].units == 1
        messages = [n.message for n in app._notifications]
        assert any("model.layers[1].units = 0" in m for m in messages)


@pilot_test
async def test_quiz_q8_shows_the_break_and_r_on_the_layer_below_fixes_it(tmp_path):
    app = make_app(tmp_path, preset="quiz-q8")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        assert view.selected == 2  # the layer where the shape breaks
        broken = block_text(view, 2)
        assert "(32, 64) ✗" in broken and "one vector per window" in " ".join(broken.split())
        assert "cannot work yet" in view.query_one("#lecture-head").render().plain
        await pilot.press("down", "r")
        await pilot.pause()
        first = app.experiment.model.layers[1]
        assert isinstance(first, Bidirectional) and first.layer.return_sequences
        assert "✗" not in shown(view)
        assert "X₀" in block_text(view, 2)  # now unrolled, over (32, 64) steps
        assert "(32, 20, 64) → (32, 64)" in shown(view)
        model = app.pane("model")
        assert isinstance(model, ModelPane) and model.report is not None and model.report.ok


@pilot_test
async def test_f_applies_the_fix_and_b_toggles_bidirectional(tmp_path):
    app = make_app(tmp_path, preset="quiz-q8")
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        await pilot.press("f")
        await pilot.pause()
        assert app.experiment.model.layers[1].layer.return_sequences
        assert view.drawing is not None and view.drawing.report.ok
        await pilot.press("b")  # the selected layer (the fixed one) loses its wrapper
        await pilot.pause()
        layer = app.experiment.model.layers[view.selected]
        assert not isinstance(layer, Bidirectional)
        assert "← backward" not in block_text(view, view.selected)


@pilot_test
async def test_return_sequences_on_a_dense_layer_warns(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        before = app.experiment
        await pilot.press("up", "up")
        assert view.selected == 3
        await pilot.press("r")
        await pilot.pause()
        assert app.experiment == before
        assert any("return_sequences applies" in n.message for n in app._notifications)


@pilot_test
async def test_an_edit_elsewhere_redraws_the_view(tmp_path):
    """Whatever commits an experiment (a preset, another pane), the open view shows it."""
    from engine.presets import get_preset

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        app.load_experiment(get_preset("course-lstm-2"), "preset course-lstm-2")
        await pilot.pause()
        assert "Bidirectional(LSTM 32, seq): (32, 20, 1) → (32, 20, 64)" in shown(view)


@pilot_test
async def test_digits_leave_the_view_for_that_pane_and_tab_stays(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await opened(pilot, app)
        await pilot.press("tab")
        assert app.focused is view
        await pilot.press("3")
        await pilot.pause()
        assert not app.query(LectureView)
        assert app.query_one("#panes", ContentSwitcher).current == "training"


@pilot_test
async def test_it_fits_80x24_and_scrolls_to_the_selected_layer(tmp_path):
    app = make_app(tmp_path, preset="course-lstm-2")
    async with app.run_test(size=(80, 24)) as pilot:
        view = await opened(pilot, app)
        await pilot.pause(0.1)
        body = view.query_one("#lecture-body")
        assert body.max_scroll_y > 0  # taller than the screen: it scrolls
        top, _ = view._offsets[view.selected]
        assert body.scroll_y <= top < body.scroll_y + body.scrollable_content_region.height
        for b in view.drawing.blocks:
            for line in b.lines:
                assert len("".join(t for t, _ in line)) <= body.scrollable_content_region.width
        await pilot.press("down")  # ExpandDims, further down
        await pilot.pause(0.1)
        top, _ = view._offsets[0]
        assert body.scroll_y <= top < body.scroll_y + body.scrollable_content_region.height


@pilot_test
async def test_help_and_palette_list_it(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Lecture view (f3)" in text and "Toggle return_sequences on the selected" in text
        await pilot.press("escape")
        from tui.app import SeqlabCommands

        titles = [title for title, _, _ in SeqlabCommands(app.screen).commands()]
        assert any(t.startswith("Lecture view") and t.endswith("(f3)") for t in titles)
