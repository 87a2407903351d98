"""Snapshots of safe edits: the question before a load replaces unsaved edits, the preset picker
with its descriptions cut at words, a focused checkbox (reverse video, readable in 16 colours).

No cursor blink, no animation (``blink=False``), a scripted engine with fixed timings. Update with
``pytest tests/test_tui_snapshots_app.py --snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

from pathlib import Path

from pilot import ready
from scripted import ScriptedBackend
from textual.widgets import Input

from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp

WIDE = (120, 40)
SMALL = (80, 24)


def make_app(tmp_path: Path) -> SeqlabApp:
    return SeqlabApp(
        get_preset("course-rnn"), ScriptedBackend(), RunStore(tmp_path / "runs"), blink=False
    )


def steps(*keys: str, focus: str = "", epochs: str = ""):
    """Waits for every pane; ``epochs`` types into the epochs field (an unsaved edit) first;
    then presses ``keys``, ``focus`` takes focus, and the screen settles."""

    async def run(pilot) -> None:
        app = pilot.app
        await ready(pilot, app)
        if epochs:
            await pilot.press("3")
            app.query_one("#train-epochs", Input).value = epochs
            await pilot.pause()
            await pilot.press("escape")
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        if focus:
            app.query_one(focus).focus()
        await pilot.pause(0.3)  # the picker fits its choices once laid out

    return run


def test_load_over_unsaved_edits_asks(snap_compare, tmp_path):
    run_before = steps("2", "p", "down", "down", "enter", epochs="7")
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=run_before)


def test_load_over_unsaved_edits_asks_80x24(snap_compare, tmp_path):
    run_before = steps("2", "p", "down", "down", "enter", epochs="7")
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run_before)


def test_preset_picker(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=steps("2", "p"))


def test_preset_picker_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=steps("2", "p"))


def test_focused_checkbox(snap_compare, tmp_path):
    """The Nesterov box has focus (its box in reverse video); the others do not."""
    run_before = steps("3", focus="#train-nesterov")
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run_before)
