"""Snapshots of the lecture view (f3): the course's RNN, the two-layer Bidirectional LSTM, the
quiz's broken stack at 120x40, the RNN at 80x24, and the RNN after r made it sequence to
sequence. No cursor blink, no animation; the scripted engine reports fixed timings. Update with
``pytest tests/test_tui_snapshots_lecture.py --snapshot-update`` and look at every changed SVG."""

from __future__ import annotations

from pathlib import Path

from pilot import ready
from scripted import ScriptedBackend

from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp

WIDE = (120, 40)
SMALL = (80, 24)


def make_app(tmp_path: Path, preset: str) -> SeqlabApp:
    return SeqlabApp(
        get_preset(preset), ScriptedBackend(), RunStore(tmp_path / "runs"), blink=False
    )


def lecture(*keys: str):
    """A run_before that waits for every pane, opens the lecture view, then presses keys."""

    async def run(pilot) -> None:
        await ready(pilot, pilot.app)
        await pilot.press("f3")
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.1)  # the scroll to the selected layer lands after a refresh

    return run


def test_lecture_course_rnn(snap_compare, tmp_path):
    app = make_app(tmp_path, "course-rnn")
    assert snap_compare(app, terminal_size=WIDE, run_before=lecture())


def test_lecture_course_lstm_2(snap_compare, tmp_path):
    app = make_app(tmp_path, "course-lstm-2")
    assert snap_compare(app, terminal_size=WIDE, run_before=lecture())


def test_lecture_quiz_q8_broken(snap_compare, tmp_path):
    app = make_app(tmp_path, "quiz-q8")
    assert snap_compare(app, terminal_size=WIDE, run_before=lecture())


def test_lecture_course_rnn_80x24(snap_compare, tmp_path):
    app = make_app(tmp_path, "course-rnn")
    assert snap_compare(app, terminal_size=SMALL, run_before=lecture())


def test_lecture_sequence_to_sequence(snap_compare, tmp_path):
    """r on layer 3: every Ŷₜ goes up, and the Dense runs at every step."""
    app = make_app(tmp_path, "course-rnn")
    assert snap_compare(app, terminal_size=WIDE, run_before=lecture("up", "r", "up"))
