"""Pilot tests of the series pane: its forms, their problems and the chart that follows them."""

from __future__ import annotations

import os

import numpy as np
import pytest
from pilot import error_of, make_app, pilot_test, ready, row, type_into
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from engine.presets import PRESETS
from engine.specs import CsvSeries
from tui.chart import Chart
from tui.series_pane import SeriesPane


@pilot_test
async def test_series_form_is_filled_on_mount_and_the_chart_follows(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(SeriesPane)
        assert app.query_one("#synthetic-length", Input).value == "1461"  # set on mount
        assert app.query_one("#windows-window", Input).value == "20"
        await ready(pilot, app)
        await pilot.pause()
        assert [t.label for t in app.query_one("#series-chart", Chart).figure.traces] == [
            "train",
            "validation",
        ]
        assert pane.series is not None and len(pane.series.values) == 1461
        assert "train 1000 pts" in str(app.query_one("#series-summary", Static).render())


@pilot_test
async def test_bad_series_value_is_marked_and_last_valid_experiment_stays(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await type_into(pilot, app, "synthetic-length", "abc", keys=True)
        assert row(app, "synthetic", "length").has_class("-invalid")
        assert "series.length = 'abc': a whole number from 10" in error_of(
            app, "synthetic", "length"
        )
        assert app.experiment == before
        assert app.query_one("#series", SeriesPane).problems == 1
        assert "1 invalid" in str(app.query_one("#state", Static).render())
        await type_into(pilot, app, "synthetic-length", "1200")
        assert not row(app, "synthetic", "length").has_class("-invalid")
        assert app.experiment.series.length == 1200
        assert app.experiment.model == before.model


@pilot_test
async def test_split_time_beyond_length_is_marked_at_split_time(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "synthetic-split_time", "2000", keys=True)
        assert "less than series.length (1461)" in error_of(app, "synthetic", "split_time")
        # typed key by key, 200 was the last valid value on the way to 2000: it stays in force
        assert app.experiment.series.split_time == 200


@pytest.mark.parametrize(
    ("control", "text", "wording"),
    [
        ("synthetic-noise_level", "-1", "series.noise_level = -1.0: a number from 0"),
        ("synthetic-period", "1", "series.period = 1: a whole number from 2"),
        ("windows-batch_size", "0", "window.batch_size = 0: a whole number from 1"),
        ("windows-window", "2.5", "window.window = '2.5': a whole number from 1"),
    ],
)
@pilot_test
async def test_each_bad_field_names_field_value_and_range(tmp_path, control, text, wording):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await type_into(pilot, app, control, text)
        form, name = control.split("-", 1)
        assert wording in error_of(app, form, name)
        assert app.experiment == before


@pilot_test
async def test_window_too_long_for_the_training_part_is_marked_at_the_window_field(tmp_path):
    """The window is what does not fit, so the problem is shown at window.window (it was shown
    under split time, a field the user had not touched)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "windows-window", "1000")
        problem = error_of(app, "windows", "window")
        assert "too short for window 1000" in problem
        assert "window.window = 1000" in problem and "series.split_time = 1000" in problem
        assert error_of(app, "synthetic", "split_time") == ""
        assert not row(app, "synthetic", "split_time").has_class("-invalid")
        assert app.experiment.window.window == 20
        await type_into(pilot, app, "windows-window", "5000")  # longer than the whole series
        assert "the series has only 1461 points" in error_of(app, "windows", "window")
        await type_into(pilot, app, "windows-window", "30")
        assert error_of(app, "windows", "window") in ("", "✗ ")
        assert app.experiment.window.window == 30


@pilot_test
async def test_series_chart_follows_valid_values(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        chart = app.query_one("#series-chart", Chart)
        assert "1461 points" in chart.figure.title
        await type_into(pilot, app, "synthetic-length", "1300")
        assert "1300 points" in chart.figure.title
        await type_into(pilot, app, "synthetic-length", "x")  # invalid: the chart keeps the last
        assert "1300 points" in chart.figure.title


@pilot_test
async def test_csv_source_with_file_and_column(tmp_path):
    csv_path = tmp_path / "data.csv"
    values = np.sin(np.arange(300) / 10) * 10 + 20
    csv_path.write_text("date,value\n" + "".join(f"d{i},{v:.4f}\n" for i, v in enumerate(values)))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.query_one("#series-source").value = "csv"
        await pilot.pause()
        from tui.csv_picker import CsvPickerScreen

        assert isinstance(app.screen, CsvPickerScreen)  # no file yet: the picker opens
        await pilot.press("escape")  # cancelled: the path can be typed instead
        assert not isinstance(app.screen, ModalScreen)
        assert "the path of a CSV file" in error_of(app, "csv", "path")
        assert app.experiment.series == PRESETS["course-rnn"].series
        await type_into(pilot, app, "csv-path", str(tmp_path / "missing.csv"))
        assert "no such file" in error_of(app, "csv", "path")
        await type_into(pilot, app, "csv-path", str(csv_path))
        await type_into(pilot, app, "csv-column", "nope")
        assert "unknown column 'nope'" in error_of(app, "csv", "column")
        await type_into(pilot, app, "csv-column", "value")
        await type_into(pilot, app, "csv-split_time", "250")
        series = app.experiment.series
        assert (
            isinstance(series, CsvSeries) and series.column == "value" and series.split_time == 250
        )
        assert "300 points" in app.query_one("#series-chart", Chart).figure.title
        await type_into(pilot, app, "csv-date_column", "date")
        summary = str(app.query_one("#series-summary").render())
        assert "date column kept as labels: row 1 holds 'd0', not a date" in summary
        dated = tmp_path / "dated.csv"
        days = [f"2020-01-{d:02d}" for d in range(1, 32)] + [
            f"2020-02-{d:02d}" for d in range(1, 30)
        ]
        dated.write_text("date,value\n" + "".join(f"{d},{i % 7}\n" for i, d in enumerate(days)))
        await type_into(pilot, app, "csv-path", str(dated))
        await type_into(pilot, app, "csv-split_time", "40")
        summary = str(app.query_one("#series-summary").render())
        assert "dates daily" in summary
        chart = app.query_one("#series-chart", Chart).figure
        assert chart.xtick is not None and chart.xtick(59.0) == "2020-02-29"


# --- the CSV picker -----------------------------------------------------------------------------


def sunspots_like(folder, rows: int = 240):
    """A file shaped as Kaggle's Sunspots.csv: an unnamed row counter, month-end dates, values."""
    import calendar

    lines = [",Date,Monthly Mean Total Sunspot Number"]
    for i in range(rows):
        year, month = 1749 + i // 12, i % 12 + 1
        day = calendar.monthrange(year, month)[1]
        lines.append(f"{i},{year}-{month:02d}-{day:02d},{50 + 40 * np.sin(i / 20):.1f}")
    path = folder / "sunspots.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def wait_for(pilot, condition, what: str) -> None:
    """Pauses until ``condition()`` holds (the tree loads, and the file is read, in threads)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def open_file(pilot, app, name: str) -> None:
    """In the open picker, moves the tree's cursor to ``name`` and presses enter."""
    from tui.csv_picker import CsvTree

    tree = app.screen.query_one(CsvTree)
    await wait_for(pilot, lambda: len(tree.root.children) > 0, "the tree lists the folder")
    names = [str(node.label) for node in tree.root.children]
    assert name in names, names
    for _ in range(names.index(name) + 1):  # the root is line 0
        await pilot.press("down")
    assert tree.cursor_node is not None and str(tree.cursor_node.label) == name
    await pilot.press("enter")


def problem_line(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@pilot_test
async def test_csv_picker_end_to_end_with_header_and_dates(tmp_path, monkeypatch):
    """Choosing the CSV source opens the picker in the working folder; the file's columns show
    with their types; the proposed value and date columns and the 80/20 split are applied
    through the pane's normal commit."""
    from textual.widgets import DataTable

    from tui.csv_picker import CsvColumnsScreen, CsvPickerScreen, CsvTree

    monkeypatch.chdir(tmp_path)
    sunspots_like(tmp_path)
    (tmp_path / "notes.md").write_text("not listed")
    (tmp_path / "sub").mkdir()
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        app.query_one("#series-source", Select).value = "csv"
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        tree = app.screen.query_one(CsvTree)
        await wait_for(pilot, lambda: len(tree.root.children) > 0, "the tree lists the folder")
        listed = [str(node.label) for node in tree.root.children]
        assert listed == ["sub", "sunspots.csv"]  # folders and CSV files only
        await open_file(pilot, app, "sunspots.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvColumnsScreen), "the chooser")
        screen = app.screen
        assert isinstance(screen, CsvColumnsScreen)
        table = screen.query_one("#csv-table", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[1] for r in rows] == ["(no name)", "Date", "Monthly Mean Total Sunspot Number"]
        assert [r[2] for r in rows] == ["number", "date, monthly (month ends)", "number"]
        assert rows[1][3].startswith("1749-01-31, 1749-02-28")
        assert [r[4] for r in rows] == ["", "date", "value"]  # the row counter is not proposed
        assert "240 data rows · first row is the header" in str(
            screen.query_one("#csv-columns-title", Label).render()
        )
        assert screen.query_one("#csv-split", Input).value == "192"  # 80% of 240
        assert "192 for training, 48 for validation (80/20)" in problem_line(app, "#csv-split-note")
        before = app.experiment
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModalScreen), "the apply")
        assert app.experiment.series == CsvSeries(
            path="sunspots.csv",
            column="Monthly Mean Total Sunspot Number",
            header=True,
            date_column="Date",
            split_time=192,
        )
        assert app.experiment.model == before.model
        assert app.query_one("#csv-path", Input).value == "sunspots.csv"
        assert app.query_one("#csv-split_time", Input).value == "192"
        summary = str(app.query_one("#series-summary", Static).render())
        assert "train 192 pts" in summary and "dates monthly (month ends)" in summary
        assert app.query_one(SeriesPane).problems == 0


@pilot_test
async def test_csv_picker_keys_pick_columns_edit_the_split_and_go_back(tmp_path, monkeypatch):
    """Without a header: h reads the first row as data, v and d pick columns (a text column is
    refused in one line), a typed split out of range is refused, esc goes back to the files and
    esc again cancels with nothing changed."""
    from textual.widgets import DataTable

    from tui.csv_picker import CsvColumnsScreen, CsvPickerScreen

    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.csv").write_text("".join(f"{i % 7}.5,{100 - i},x{i}\n" for i in range(50)))
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, "plain.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvColumnsScreen), "the chooser")
        screen = app.screen
        assert isinstance(screen, CsvColumnsScreen)
        assert not screen.preview.header  # detected: every row is data
        table = screen.query_one("#csv-table", DataTable)
        assert [str(table.get_row_at(i)[2]) for i in range(3)] == ["number", "number", "text"]
        assert table.cursor_row == 0 and screen.value is not None and screen.value.index == 0
        await pilot.press("down", "v")
        assert screen.value.key == "1"
        await pilot.press("down", "v")
        assert "column 2 holds text, not numbers" in problem_line(app, "#csv-columns-problem")
        assert screen.value.key == "1"
        await pilot.press("d")  # text as the date column: kept as labels
        assert screen.date is not None and screen.date.key == "2"
        await pilot.press("d")  # again: no date column
        assert screen.date is None
        await pilot.press("d", "h")  # the first row as a header: the proposals follow
        assert screen.preview.header and screen.preview.rows == 49
        await pilot.press("h")
        assert not screen.preview.header and screen.value.key == "0"
        await pilot.press("down", "v", "tab")
        assert isinstance(app.focused, Input) and app.focused.id == "csv-split"
        await pilot.press("ctrl+u", *"50", "enter")
        assert (
            "series.split_time = '50': allowed: a whole number from 1 to 49 "
            "(the file has 50 data rows)" in problem_line(app, "#csv-columns-problem")
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "back to files")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModalScreen), "cancelled")
        assert app.experiment == before
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, "plain.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvColumnsScreen), "the chooser")
        await pilot.press("down", "v", "tab", "ctrl+u", *"45", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModalScreen), "the apply")
        assert app.experiment.series == CsvSeries(
            path="plain.csv", column="1", header=False, date_column=None, split_time=45
        )


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        (
            "words.csv",
            b"name,colour\nann,red\nbob,blue\n",
            "words.csv: no column holds numbers in its 3 rows; a series needs a column of numbers",
        ),
        (
            "image.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "image.txt: cannot read the file (not a CSV text file: byte 0x89 is not UTF-8 text)",
        ),
    ],
)
@pilot_test
async def test_a_bad_file_is_one_line_in_the_picker(tmp_path, monkeypatch, name, content, says):
    from tui.csv_picker import CsvPickerScreen

    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(content)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, name)
        await wait_for(pilot, lambda: "Reading" not in problem_line(app, "#csv-problem"), "read")
        line = problem_line(app, "#csv-problem")
        assert line == says
        assert "\n" not in line and "Traceback" not in line
        assert isinstance(app.screen, CsvPickerScreen)  # the picker stays open
        assert app.experiment == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
@pilot_test
async def test_an_unreadable_file_is_one_line_in_the_picker(tmp_path, monkeypatch):
    from tui.csv_picker import CsvPickerScreen

    monkeypatch.chdir(tmp_path)
    locked = tmp_path / "locked.csv"
    locked.write_text("v\n1\n2\n")
    locked.chmod(0)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, "locked.csv")
        await wait_for(pilot, lambda: "Reading" not in problem_line(app, "#csv-problem"), "read")
        assert problem_line(app, "#csv-problem") == (
            "locked.csv: cannot read the file (Permission denied)"
        )


@pilot_test
async def test_a_picked_file_shorter_than_the_window_is_marked_at_the_window(tmp_path, monkeypatch):
    """The picker's series goes through the pane's checks: a window longer than its training
    part is marked at window.window and nothing is committed."""
    from tui.csv_picker import CsvColumnsScreen, CsvPickerScreen

    monkeypatch.chdir(tmp_path)
    sunspots_like(tmp_path, rows=20)  # 16 rows for training; the course's window is 20
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, "sunspots.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvColumnsScreen), "the chooser")
        assert "no training window of 20 fits" in problem_line(app, "#csv-split-note")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModalScreen), "the apply")
        assert "too short for window 20" in error_of(app, "windows", "window")
        assert error_of(app, "csv", "split_time") == ""
        assert app.experiment == before
        await type_into(pilot, app, "windows-window", "8")
        assert app.experiment.series.split_time == 16 and app.experiment.window.window == 8


def test_the_tree_starts_in_the_current_csvs_folder(tmp_path, monkeypatch):
    from tui.csv_picker import start_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert start_folder(CsvSeries(path="data/x.csv")) == tmp_path / "data"
    assert start_folder(CsvSeries(path="gone/x.csv")) == tmp_path
    assert start_folder(PRESETS["course-rnn"].series) == tmp_path


@pilot_test
async def test_a_file_of_one_data_row_cannot_be_split(tmp_path, monkeypatch):
    from tui.csv_picker import CsvColumnsScreen, CsvPickerScreen

    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.csv").write_text("v\n7\n")
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        before = app.experiment
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvPickerScreen), "the picker")
        await open_file(pilot, app, "one.csv")
        await wait_for(pilot, lambda: isinstance(app.screen, CsvColumnsScreen), "the chooser")
        assert "1 data row: too few to train and validate" in problem_line(app, "#csv-split-note")
        await pilot.press("enter")
        assert problem_line(app, "#csv-columns-problem") == (
            "one.csv: 1 data row; a series needs at least 2 (one to train on, one to validate)"
        )
        assert isinstance(app.screen, CsvColumnsScreen) and app.experiment == before
