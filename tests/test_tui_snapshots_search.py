"""Snapshots of the Search view (pane 5): the searched fields and settings, a scripted study in
progress and ended, at 120x40 and 80x24, and a bad domain told in its dialog.

No cursor blink, no animation (``blink=False``), a scripted engine with fixed timings and study id,
and the view's elapsed-time clock fixed. Update with
``pytest tests/test_tui_snapshots_search.py --snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from pilot import ready
from scripted import ScriptedBackend
from textual.widgets import Input

import tui.search_pane
from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp
from tui.screens import AskScreen
from tui.search_pane import SearchPane

WIDE = (120, 40)
SMALL = (80, 24)
# started; trials 1 and 2 run 8 epochs; 3 is pruned at epoch 5 and 4 runs on; 5 and 6 run 2 each
PROGRESS = 1 + 2 * 8 + 2 * 5 + 3 + 2 * 2


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """The search starts at 0 s and every later reading is 83 s (elapsed 1:23)."""
    readings = iter([0.0])
    monkeypatch.setattr(tui.search_pane, "clock", lambda: next(readings, 83.0))


def make_app(tmp_path: Path, **backend) -> SeqlabApp:
    base = get_preset("course-rnn")
    exp = dataclasses.replace(base, train=dataclasses.replace(base.train, holdout=0.1, epochs=8))
    return SeqlabApp(exp, ScriptedBackend(**backend), RunStore(tmp_path / "runs"), blink=False)


def steps(start: bool = True, advance: int | None = None, bad_domain: bool = False):
    """Waits for every pane, opens the Search view, adds two fields (the learning rate and the
    window), starts the search and posts ``advance`` of its events (None: all of them)."""

    async def run(pilot) -> None:
        app = pilot.app
        await ready(pilot, app)
        await pilot.press("5")
        await pilot.pause()
        for filter_text, domain in (
            ("learning", "loguniform 1e-6 1e-4"),
            ("window.window", "choice 10 20 30"),
        ):
            await pilot.press("a", *filter_text, "enter")
            await pilot.pause()
            app.screen.query_one("#ask-value", Input).value = domain
            await pilot.press("enter")
            await pilot.pause()
        if bad_domain:
            await pilot.press("a", *"layers[1].units", "enter")
            await pilot.pause()
            app.screen.query_one("#ask-value", Input).value = "uniform 16 64"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, AskScreen)
        if start:
            await pilot.press("ctrl+g")
            await pilot.pause()
            backend = app.backend
            assert isinstance(backend, ScriptedBackend)
            backend.advance(len(backend.pending) if advance is None else advance)
        await pilot.pause()
        view = app.query_one(SearchPane)
        for _ in range(100):  # the trials table redraws a few times a second while epochs stream
            if view._draw_timer is None:
                break
            await pilot.pause(0.05)
        await pilot.pause()

    return run


def test_search_in_progress_120x40(snap_compare, tmp_path):
    """Trials ranked on the holdout MAE, the best one that ended marked, two still running; the
    status line: the study, 4 of 10 ended, where it runs, elapsed."""
    app = make_app(tmp_path, paced=True)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps(advance=PROGRESS))


def test_search_ended_120x40(snap_compare, tmp_path):
    """Every trial ended; the best trial's validation MAE beside naive, and that it beats it."""
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=steps())


def test_search_in_progress_80x24(snap_compare, tmp_path):
    """At 80 columns the trials take the width (s shows the settings again)."""
    app = make_app(tmp_path, paced=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps(advance=PROGRESS))


def test_search_ended_80x24(snap_compare, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=steps())


def test_search_fields_and_settings_80x24(snap_compare, tmp_path):
    """Before a search: the searched fields, the settings form and the Ray address."""
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=steps(start=False))


def test_search_bad_domain_80x24(snap_compare, tmp_path):
    """A domain the field cannot take is told in the dialog in one line; it stays open."""
    run_before = steps(start=False, bad_domain=True)
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run_before)
