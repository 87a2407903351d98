"""Snapshots of the CSV picker: its file tree and the column chooser, at 120x40 and 80x24.

The tree shows its folder, so the files are written to a fixed folder that the app is started in.
No cursor blink; the waits are for the tree and the preview, which are read in threads. Update
with ``pytest --snapshot-update tests/test_tui_snapshots_csv.py`` and look at every changed SVG.
"""

from __future__ import annotations

import calendar
import shutil
from pathlib import Path

import pytest
from scripted import ScriptedBackend

from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp
from tui.chart import Chart
from tui.csv_picker import CsvColumnsScreen, CsvPickerScreen, CsvTree

WIDE = (120, 40)
SMALL = (80, 24)
FOLDER = Path("/tmp/seqlab-snapshot-csv")


@pytest.fixture
def folder(monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fixed folder holding a Sunspots-shaped file, a file without header, one that is not a
    CSV and a sub-folder; the app runs in it."""
    shutil.rmtree(FOLDER, ignore_errors=True)
    (FOLDER / "archive").mkdir(parents=True)
    lines = [",Date,Monthly Mean Total Sunspot Number"]
    for i in range(240):
        year, month = 1749 + i // 12, i % 12 + 1
        day = calendar.monthrange(year, month)[1]
        lines.append(f"{i},{year}-{month:02d}-{day:02d},{(i * 37) % 150 + 0.5:.1f}")
    (FOLDER / "Sunspots.csv").write_text("\n".join(lines) + "\n")
    (FOLDER / "plain.csv").write_text("".join(f"{i % 7}.5,{100 - i}\n" for i in range(50)))
    (FOLDER / "notes.txt").write_text("meeting notes\nnothing numeric here\n")
    (FOLDER / "README.md").write_text("not listed: not a CSV\n")
    monkeypatch.chdir(FOLDER)
    yield FOLDER
    shutil.rmtree(FOLDER, ignore_errors=True)


def make_app(tmp_path: Path) -> SeqlabApp:
    return SeqlabApp(
        get_preset("course-rnn"), ScriptedBackend(), RunStore(tmp_path / "runs"), blink=False
    )


async def until(pilot, condition) -> None:
    for _ in range(300):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("the screen never got there")


def picker(*keys: str, chooser: tuple[str, ...] | None = None):
    """Opens the picker (ctrl+o), waits for the tree, presses ``keys``; with ``chooser``, waits
    for the column chooser and presses those keys in it."""

    async def run(pilot) -> None:
        app = pilot.app
        await until(pilot, lambda: app.panes_ready)
        await until(pilot, lambda: not any(chart._timer for chart in app.query(Chart)))
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, CsvPickerScreen))
        tree = app.screen.query_one(CsvTree)
        await until(pilot, lambda: len(tree.root.children) > 0)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        if chooser is not None:
            await until(pilot, lambda: isinstance(app.screen, CsvColumnsScreen))
            for key in chooser:
                await pilot.press(key)
                await pilot.pause()
        else:
            screen = app.screen
            assert isinstance(screen, CsvPickerScreen)
            await until(pilot, lambda: screen.reading is None)
        await pilot.pause(0.1)

    return run


def test_csv_picker_tree(snap_compare, folder, tmp_path):
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=picker())


def test_csv_picker_tree_bad_file_80x24(snap_compare, folder, tmp_path):
    # archive/, README.md left out, notes.txt, plain.csv, Sunspots.csv: enter on notes.txt
    keys = ("down", "down", "enter")
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=picker(*keys))


def test_csv_column_chooser(snap_compare, folder, tmp_path):
    keys = ("down", "down", "down", "down", "enter")  # Sunspots.csv
    run = picker(*keys, chooser=())
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=run)


def test_csv_column_chooser_80x24(snap_compare, folder, tmp_path):
    keys = ("down", "down", "down", "down", "enter")  # Sunspots.csv; then the Date column
    run = picker(*keys, chooser=("up",))
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run)
