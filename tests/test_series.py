"""The course's synthetic series, the split, and CSV import with one clear message per bad file."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import DataError, SeqlabError
from engine.series import (
    PREVIEW_CELL,
    PREVIEW_COLUMNS,
    PREVIEW_ROWS,
    load_series,
    period_of,
    preview_csv,
    read_csv,
    seasonal_pattern,
    synthetic_values,
)
from engine.specs import CsvSeries, SyntheticSeries

# --- the course series --------------------------------------------------------------------------


def test_course_series_values(course_series):
    s = course_series.values
    assert s.dtype == np.float32
    assert len(s) == 1461
    assert s[:5] == pytest.approx([52.4836, 49.3528, 53.3147, 57.7118, 48.9344], abs=1e-3)
    assert s[1000] == pytest.approx(71.3447, abs=1e-3)
    assert s[1460] == pytest.approx(122.3077, abs=1e-3)
    assert s.max() == s[1460]  # the course notes it is the maximum
    assert s.min() == pytest.approx(-21.60, abs=1e-2)


def test_course_split(course_series):
    assert course_series.split_time == 1000
    assert len(course_series.train) == 1000
    assert len(course_series.valid) == 461
    assert course_series.time[0] == 0 and course_series.time[-1] == 1460
    assert course_series.time_valid[0] == 1000
    assert course_series.valid[0] == course_series.values[1000]
    assert course_series.labels is None
    assert period_of(SyntheticSeries()) == 365


def test_seasonal_pattern_pieces():
    s = np.array([0.0, 0.25, 0.39, 0.4, 0.9], dtype="float32")
    expected = [1.0, np.cos(0.5 * np.pi), np.cos(0.78 * np.pi), np.exp(-1.2), np.exp(-2.7)]
    assert seasonal_pattern(s) == pytest.approx(expected, abs=1e-6)


def test_components_add_up():
    """Without noise the series is baseline + slope*t + amplitude*pattern(t mod period / period)."""
    spec = SyntheticSeries(
        length=100, baseline=3.0, slope=0.5, period=10, amplitude=2.0, noise_level=0.0
    )
    t = np.arange(100)
    expected = 3.0 + 0.5 * t + 2.0 * seasonal_pattern((t % 10) / 10)
    assert synthetic_values(spec) == pytest.approx(expected, abs=1e-4)


def test_noise_is_seeded():
    a = synthetic_values(SyntheticSeries(length=50, seed=1))
    b = synthetic_values(SyntheticSeries(length=50, seed=1))
    c = synthetic_values(SyntheticSeries(length=50, seed=2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@settings(max_examples=30)
@given(period=st.integers(2, 50), shift=st.integers(0, 60), amplitude=st.floats(-100, 100))
def test_phase_shifts_the_season(period, shift, amplitude):
    """phase = k gives the same seasonality as looking k steps later."""
    base = SyntheticSeries(
        length=200, baseline=0.0, slope=0.0, period=period, amplitude=amplitude, noise_level=0.0
    )
    shifted = replace(base, phase=float(shift))
    longer = replace(base, length=200 + shift)
    assert synthetic_values(shifted) == pytest.approx(synthetic_values(longer)[shift:], abs=1e-3)


def test_synthetic_split_must_leave_training_windows():
    with pytest.raises(DataError, match=r"too short for window 20.*split_time") as err:
        load_series(SyntheticSeries(length=100, split_time=20), window=20)
    assert err.value.field == "window.window"  # the window is what does not fit
    assert len(load_series(SyntheticSeries(length=100, split_time=21), window=20).train) == 21


# --- CSV import ---------------------------------------------------------------------------------

GOOD = "idx,Date,Value,Other\n0,2000-01-31,1.5,x\n1,2000-02-29,2.5,y\n2,2000-03-31,-3,z\n"


def csv_spec(path: str, **kw) -> CsvSeries:
    kw.setdefault("split_time", 2)
    return CsvSeries(path=path, **kw)


def test_csv_by_header_name_keeps_dates(write_csv):
    path = write_csv(GOOD)
    series = load_series(csv_spec(path, column="Value", date_column="Date"))
    assert series.values.dtype == np.float32
    assert series.values.tolist() == [1.5, 2.5, -3.0]
    assert series.labels == ("2000-01-31", "2000-02-29", "2000-03-31")
    assert series.time.tolist() == [0, 1, 2]
    assert series.name == "data.csv"
    assert series.train.tolist() == [1.5, 2.5] and series.valid.tolist() == [-3.0]


def test_csv_date_column_gives_dates(write_csv):
    series = load_series(csv_spec(write_csv(GOOD), column="Value", date_column="Date"))
    assert series.dates is not None
    assert series.dates.labels == series.labels
    assert series.dates.frequency is not None
    assert series.dates.frequency.describe() == "monthly (month ends)"
    assert series.dates.future(2) == ("2000-04-30", "2000-05-31")
    assert series.time.tolist() == [0, 1, 2]  # the index stays the time axis


def test_csv_date_column_that_is_not_dates_keeps_labels(write_csv):
    path = write_csv("t,v\nmon,1\ntue,2\nwed,3\n")
    series = load_series(csv_spec(path, column="v", date_column="t"))
    assert series.labels == ("mon", "tue", "wed")
    assert series.dates is not None and series.dates.dates is None
    assert series.dates.note == "date column kept as labels: row 1 holds 'mon', not a date"


def test_no_date_column_no_dates(write_csv, course_series):
    assert load_series(csv_spec(write_csv(GOOD), column="Value")).dates is None
    assert course_series.dates is None


def test_csv_by_index_with_header(write_csv):
    path = write_csv(GOOD)
    values, labels = read_csv(csv_spec(path, column="2", date_column="1"))
    assert values.tolist() == [1.5, 2.5, -3.0]
    assert labels == ("2000-01-31", "2000-02-29", "2000-03-31")


def test_csv_without_header(write_csv):
    path = write_csv("2000-01,10\n2000-02,11.25\n\n2000-03,  12 \n")  # a blank line is skipped
    values, labels = read_csv(csv_spec(path, column="1", header=False, date_column="0"))
    assert values.tolist() == [10.0, 11.25, 12.0]
    assert labels == ("2000-01", "2000-02", "2000-03")
    values, labels = read_csv(csv_spec(path, column="1", header=False))
    assert labels is None


def test_csv_header_name_wins_over_index_and_bom_is_ignored(write_csv):
    path = write_csv("\ufeff1,0\n5,6\n7,8\n")  # a header named "1" and a byte-order mark
    assert read_csv(csv_spec(path, column="1"))[0].tolist() == [5.0, 7.0]
    assert read_csv(csv_spec(path, column="0"))[0].tolist() == [6.0, 8.0]


def test_csv_quoted_cells(write_csv):
    path = write_csv('"a","b"\n"1,5",2\n"3,5",4\n')
    assert read_csv(csv_spec(path, column="b"))[0].tolist() == [2.0, 4.0]


def test_csv_many_rows(write_csv):
    rows = "\n".join(f"{i},{i * 0.5}" for i in range(5000))
    path = write_csv("t,v\n" + rows + "\n")
    series = load_series(csv_spec(path, column="v", split_time=4000), window=30)
    assert len(series) == 5000 and series.values[-1] == pytest.approx(2499.5)


# --- one clear message per bad file -------------------------------------------------------------


def one_line(err: SeqlabError) -> str:
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.csv")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert one_line(err.value) == f"{path}: no such file"
    assert err.value.field == "series.path"


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(str(tmp_path)))
    assert "is a folder, not a CSV file" in one_line(err.value)
    assert err.value.field == "series.path"


def test_file_that_is_not_text(write_csv):
    path = write_csv(b"\xff\xfe\x00\x81binary\x9c")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert one_line(err.value).startswith(f"{path}: cannot read the file (")
    assert err.value.field == "series.path"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(write_csv):
    path = write_csv(GOOD)
    os.chmod(path, 0)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert "cannot read the file" in one_line(err.value)
    assert err.value.field == "series.path"


def test_file_that_is_not_csv(write_csv, monkeypatch):
    monkeypatch.setenv("SEQLAB_MAX_CSV_LINE", "1000")
    # a quoted cell spanning short lines, past the field limit (the line limit, 1000 here)
    path = write_csv('v\n1\n"' + ("9" * 50 + "\n") * 100 + "\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="v"))
    assert one_line(err.value).startswith(f"{path}: line 3: not readable as CSV (")
    assert err.value.field == "series.path"


@pytest.mark.parametrize("text", ["", "\n\n", " , \n"])
def test_empty_file(write_csv, text):
    path = write_csv(text)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert one_line(err.value) == f"{path}: the file is empty"
    assert err.value.field == "series.path"


def test_header_only(write_csv):
    path = write_csv("Date,Value\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="Value"))
    assert one_line(err.value) == f"{path}: the file has a header row but no data rows"
    assert err.value.field == "series.path"


def test_unknown_column_name_lists_the_columns(write_csv):
    path = write_csv(GOOD)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="value"))
    assert one_line(err.value) == (
        f"{path}: unknown column 'value'; columns are 'idx', 'Date', 'Value', 'Other'"
    )
    assert err.value.field == "series.column"


def test_unknown_date_column(write_csv):
    path = write_csv(GOOD)
    with pytest.raises(DataError, match=r"unknown column 'When'") as err:
        read_csv(csv_spec(path, column="Value", date_column="When"))
    assert err.value.field == "series.date_column"
    with pytest.raises(DataError, match=r"column 7 does not exist") as err:
        read_csv(csv_spec(path, column="Value", date_column="7"))
    assert err.value.field == "series.date_column"


@pytest.mark.parametrize("column", ["4", "-1"])
def test_column_index_out_of_range(write_csv, column):
    path = write_csv(GOOD)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column=column))
    assert one_line(err.value) == (
        f"{path}: column {column} does not exist: the first row has 4 columns, numbered 0 to 3"
    )
    assert err.value.field == "series.column"


def test_column_name_without_header(write_csv):
    path = write_csv("1,2\n3,4\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="Value", header=False))
    assert "no header row, so give a column index from 0 to 1" in one_line(err.value)
    assert err.value.field == "series.column"


def test_non_numeric_cell_names_its_line(write_csv):
    path = write_csv("Date,Value\n2000-01,1\n\n2000-02,abc\n2000-03,3\n")  # line 3 is blank
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="Value"))
    assert one_line(err.value) == f"{path}: line 4: column 'Value' holds 'abc', not a number"
    assert err.value.field == "series.path"  # the file holds the bad cell


def test_line_numbers_count_lines_not_rows(write_csv):
    """A quoted cell spanning two lines: the bad cell after it is still on the right line."""
    path = write_csv('note,v\n"two\nlines",1\nok,x\n')
    with pytest.raises(DataError, match=r": line 4: column 'v' holds 'x', not a number"):
        read_csv(csv_spec(path, column="v"))


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", "1e39"])
def test_non_finite_cell_names_its_line(write_csv, cell):
    path = write_csv(f"v\n1\n{cell}\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="v"))
    assert one_line(err.value).startswith(f"{path}: line 3: column 'v' holds '{cell}'; allowed: ")
    assert err.value.field == "series.path"


@pytest.mark.parametrize("row", ["2000-02,", "2000-02", "2000-02,  "])
def test_missing_cell_names_its_line(write_csv, row):
    path = write_csv(f"Date,Value\n2000-01,1\n{row}\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="Value"))
    assert one_line(err.value) == f"{path}: line 3: column 'Value' is missing a value"
    assert err.value.field == "series.path"


def test_missing_cell_without_header_names_the_index(write_csv):
    path = write_csv("1,2\n3\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="1", header=False))
    assert one_line(err.value) == f"{path}: line 2: column 1 is missing a value"


def test_too_short_for_the_split(write_csv):
    path = write_csv("v\n" + "\n".join(map(str, range(10))) + "\n")
    with pytest.raises(DataError) as err:
        load_series(csv_spec(path, column="v", split_time=10), window=3)
    assert one_line(err.value) == (
        "data.csv: series.split_time = 10 but the series has only 10 points; "
        "choose a split time below 10"
    )
    assert err.value.field == "series.split_time"


def test_too_short_for_the_window(write_csv):
    path = write_csv("v\n" + "\n".join(map(str, range(10))) + "\n")
    with pytest.raises(DataError) as err:
        load_series(csv_spec(path, column="v", split_time=5), window=5)
    assert one_line(err.value) == (
        "data.csv: too short for window 5: window.window = 5 needs more than 5 training points "
        "and series.split_time = 5 gives 5; allowed: a window below 5, or a split time from 6 to 9"
    )
    assert err.value.field == "window.window"
    assert len(load_series(csv_spec(path, column="v", split_time=6), window=5).valid) == 4


def test_a_window_longer_than_the_series_is_the_window_fields(write_csv):
    path = write_csv("v\n" + "\n".join(map(str, range(10))) + "\n")
    with pytest.raises(DataError) as err:
        load_series(csv_spec(path, column="v", split_time=8), window=12)
    assert one_line(err.value) == (
        "data.csv: too short for window 12: window.window = 12 but the series has only 10 points; "
        "allowed: a window below series.split_time (8)"
    )
    assert err.value.field == "window.window"


# --- a CSV file's preview (the app's CSV picker) ------------------------------------------------


def test_preview_reads_types_header_and_proposals_like_sunspots(write_csv):
    rows = [f"{i},{1749 + i // 12}-{i % 12 + 1:02d}-28,{i * 1.5:.1f}" for i in range(300)]
    path = write_csv(",Date,Monthly Mean Total Sunspot Number\n" + "\n".join(rows) + "\n")
    preview = preview_csv(path)
    assert preview.header and preview.detected_header
    assert preview.rows == 300 and preview.count == 301  # counted to the end
    assert len(preview.sample) == PREVIEW_ROWS + 1  # kept: the header and the first rows only
    counter, date, value = preview.columns
    assert (counter.key, counter.kind, counter.counter) == ("0", "number", True)
    assert (date.key, date.kind, date.frequency) == ("Date", "date", "monthly")
    assert date.first == ("1749-01-28", "1749-02-28", "1749-03-28", "1749-04-28", "1749-05-28")
    assert (value.key, value.kind, value.counter) == (
        "Monthly Mean Total Sunspot Number",
        "number",
        False,
    )
    assert preview.value_column() == value  # the row counter is not proposed
    assert preview.date_column() == date
    assert preview.proposed_split() == 240  # 80% of the rows
    assert date.described == "date, monthly"


def test_preview_without_a_header_and_switching_it(write_csv):
    path = write_csv("1.5,2020-01-01\n2.5,2020-01-02\n3.5,2020-01-03\n")
    preview = preview_csv(path)
    assert not preview.header and preview.rows == 3
    assert [c.kind for c in preview.columns] == ["number", "date"]
    assert [c.key for c in preview.columns] == ["0", "1"]
    assert preview.columns[1].frequency == "daily"
    as_header = preview.with_header(True)
    assert as_header.rows == 2 and as_header.columns[0].name == "1.5"
    assert as_header.with_header(False) == preview
    forced = preview_csv(path, header=True)
    assert forced.header and not forced.detected_header


def test_preview_kinds_blanks_years_and_text(write_csv):
    path = write_csv("year,v,label,gappy\n1990,1,a,1\n1991,2,b,\n1992,3,c,3\n")
    year, v, label, gappy = preview_csv(path).columns
    assert (year.kind, year.frequency) == ("date", "yearly")  # 4-digit years a year apart
    assert (v.kind, v.counter) == ("number", True)
    assert label.kind == "text"
    assert (gappy.kind, gappy.blanks, gappy.described) == ("number", 1, "number, 1 blank")
    assert preview_csv(path).value_column() == gappy  # the counter comes last, even gappy first


def test_preview_irregular_dates_and_split_bounds(write_csv):
    path = write_csv("d,v\n2020-01-01,1\n2020-01-05,2\n2020-01-06,3\n")
    preview = preview_csv(path)
    assert preview.columns[0].frequency == "irregular"
    assert preview.proposed_split() == 2  # 2.4, rounded
    two = preview_csv(write_csv("v\n1\n2\n", name="two.csv"))
    assert two.proposed_split() == 1  # two rows: one for each side
    one = preview_csv(write_csv("v\n7\n", name="one.csv"))
    assert one.rows == 1 and one.proposed_split() == 1


def test_preview_cuts_long_cells_and_wide_files(write_csv):
    path = write_csv("1,2\n3," + "9" * 200 + "\n")
    first, long = preview_csv(path).columns
    assert len(long.first[1]) == PREVIEW_CELL + 1 and long.kind == "text"  # cut: not a number
    wide = preview_csv(write_csv(",".join(["1"] * (PREVIEW_COLUMNS + 50)) + "\n", name="w.csv"))
    assert wide.width == PREVIEW_COLUMNS + 50 and len(wide.columns) == PREVIEW_COLUMNS


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (
            b"a,b\nx,y\n",
            "no column holds numbers in its 2 rows; a series needs a column of numbers",
        ),
        (b"\x89PNG\r\n\x1a\n\x00", "cannot read the file (not a CSV text file: byte 0x89 is not"),
        (b"word\n", "no column holds numbers in its 1 row; a series needs a column of numbers"),
    ],
)
def test_preview_refuses_bad_files_in_one_line(write_csv, content, says):
    path = write_csv(content)
    with pytest.raises(DataError) as err:
        preview_csv(path)
    assert one_line(err.value).startswith(f"{path}: {says}")
    assert err.value.field == "series.path"


def test_preview_of_a_header_without_rows(write_csv):
    path = write_csv("Date,Value\n")
    with pytest.raises(DataError) as err:
        preview_csv(path, header=True)
    assert one_line(err.value) == f"{path}: the file has a header row but no data rows"


def test_preview_no_numbers_in_the_sample(write_csv):
    path = write_csv("v\n" + "x\n" * (PREVIEW_ROWS + 5) + "1\n")
    with pytest.raises(
        DataError, match=rf"no column holds numbers in the first {PREVIEW_ROWS} rows"
    ):
        preview_csv(path)


def test_preview_keeps_read_csvs_limits(write_csv, monkeypatch, tmp_path):
    path = write_csv("v\n" + "1\n" * 50)
    monkeypatch.setenv("SEQLAB_MAX_CSV_ROWS", "20")
    with pytest.raises(DataError, match=r"line 21: more than the 20 rows allowed"):
        preview_csv(path)  # counted to the end, within the row limit
    monkeypatch.delenv("SEQLAB_MAX_CSV_ROWS")
    monkeypatch.setenv("SEQLAB_MAX_CSV_BYTES", "10")
    with pytest.raises(DataError, match=r"more than the 10 allowed"):
        preview_csv(path)
    monkeypatch.delenv("SEQLAB_MAX_CSV_BYTES")
    monkeypatch.setenv("SEQLAB_MAX_CSV_LINE", "10")
    with pytest.raises(DataError, match=r"line 2: longer than the 10 characters allowed"):
        preview_csv(write_csv("v\n" + "1" * 11 + "\n", name="long.csv"))
    with pytest.raises(DataError, match="is a folder, not a CSV file"):
        preview_csv(str(tmp_path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_preview_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"is a FIFO \(named pipe\)"):
        preview_csv(str(fifo))
