"""Series: the course's synthetic generator, CSV import and the train/validation split (numpy)."""

from __future__ import annotations

import array
import contextlib
import csv
import itertools
import os
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from engine.dates import DateAxis, date_axis
from engine.errors import DataError
from engine.specs import CsvSeries, SeriesSpec, SyntheticSeries

FLOAT32_MAX = float(np.finfo(np.float32).max)  # series are float32, as in the course

# The fields data errors belong to: an unreadable file or a bad cell is the file's.
_PATH = "series.path"
_SPLIT_TIME = "series.split_time"

# Limits on a CSV file, checked while it streams in; each can be set by the environment variable
# of the same name with a SEQLAB_ prefix (read_csv).
MAX_CSV_BYTES = 1 << 30  # 1 GiB
MAX_CSV_LINE = 1 << 20  # characters in one line, and in one cell
MAX_CSV_ROWS = 10_000_000
EXCERPT_CHARS = 40  # characters of a bad cell quoted in an error


@dataclass(frozen=True, eq=False)
class Series:
    """Values (float32) with their time axis, optional date labels and the split point.

    ``time`` is always the index 0..n-1; ``dates`` (from a CSV's date column) says what each
    index is, and what comes after the last, for axes and forecasts.
    """

    values: np.ndarray
    time: np.ndarray
    split_time: int
    name: str = "series"
    labels: tuple[str, ...] | None = None
    dates: DateAxis | None = None

    @property
    def train(self) -> np.ndarray:
        return self.values[: self.split_time]

    @property
    def valid(self) -> np.ndarray:
        return self.values[self.split_time :]

    @property
    def time_valid(self) -> np.ndarray:
        return self.time[self.split_time :]

    def __len__(self) -> int:
        return len(self.values)


def seasonal_pattern(season_time: np.ndarray) -> np.ndarray:
    """The course's pattern: cos(2πs) for s < 0.4, else exp(-3s)."""
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))


def synthetic_values(spec: SyntheticSeries) -> np.ndarray:
    """Computes the series exactly as the course does (float32 time, RandomState noise)."""
    time = np.arange(spec.length, dtype="float32")
    season_time = ((time + spec.phase) % spec.period) / spec.period
    values = spec.baseline + spec.slope * time + spec.amplitude * seasonal_pattern(season_time)
    noise = np.random.RandomState(spec.seed).randn(spec.length) * spec.noise_level
    return (values + noise).astype("float32")


def _column_index(
    name_or_index: str, header: list[str] | None, width: int, path: str, field: str
) -> int:
    """The 0-based index of a column given by header name or index; ``width``: cells in row 1.

    ``field`` is the key path of the setting that named the column, for the error.
    """
    if header is not None and name_or_index in header:
        return header.index(name_or_index)
    text = str(name_or_index).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if index < 0 or index >= width:
            raise DataError(
                f"{path}: column {index} does not exist: the first row has {width} columns, "
                f"numbered 0 to {width - 1}",
                field=field,
            )
        return index
    if header is None:
        raise DataError(
            f"{path}: unknown column {name_or_index!r}; the file has no header row, so give a "
            f"column index from 0 to {width - 1}",
            field=field,
        )
    names = ", ".join(repr(h) for h in header)
    raise DataError(f"{path}: unknown column {name_or_index!r}; columns are {names}", field=field)


def _limit(variable: str, default: int) -> int:
    """A CSV limit: the environment variable when set (a whole number of at least 1), else
    ``default``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(
            f"{variable} = {text!r} is not allowed: a whole number of at least 1", field=_PATH
        )
    return value


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` quoted for a message: control characters escaped (``repr``), and cut to
    ``limit`` characters with its length, so a bad cell cannot flood or drive the terminal."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def _open_regular(path: str) -> TextIO:
    """Opens ``path`` for reading only when it is a regular file (symlinks followed).

    A device (/dev/zero never ends), FIFO (opening one blocks until a writer comes) or socket is
    refused from ``os.stat`` before opening; the file is then opened non-blocking and checked
    again, in case it was swapped in between.
    """
    where = Path(path).expanduser()
    try:
        info = os.stat(where)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", field=_PATH) from None
    except OSError as exc:
        raise DataError(
            f"{path}: cannot read the file ({exc.strerror or exc})", field=_PATH
        ) from None
    _check_regular(path, info)
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataError(
            f"{path}: cannot read the file ({exc.strerror or exc})", field=_PATH
        ) from None
    try:
        _check_regular(path, os.fstat(fd))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed by the caller)


def _check_regular(path: str, info: os.stat_result) -> None:
    """Refuses anything but a regular file, and a file over the byte limit."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a folder, not a CSV file", field=_PATH)
    if not stat.S_ISREG(mode):
        what = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a plain file"
        )
        raise DataError(f"{path}: is {what}; series.path must be a regular CSV file", field=_PATH)
    max_bytes = _limit("SEQLAB_MAX_CSV_BYTES", MAX_CSV_BYTES)
    if info.st_size > max_bytes:
        raise DataError(
            f"{path}: the file has {info.st_size:,} bytes, more than the {max_bytes:,} allowed "
            "(SEQLAB_MAX_CSV_BYTES)",
            field=_PATH,
        )


def _lines(handle: TextIO, path: str, max_line: int) -> Iterator[str]:
    """The file's lines, each read with a bound, so one endless line cannot fill memory."""
    number = 0
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        number += 1
        if len(line.rstrip("\r\n")) > max_line:
            raise DataError(
                f"{path}: line {number}: longer than the {max_line:,} characters allowed "
                "(SEQLAB_MAX_CSV_LINE)",
                field=_PATH,
            )
        yield line


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """csv's field size limit (process-wide) set for one read, then restored."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _rows(path: str) -> Generator[tuple[int, list[str]], None, None]:
    """(first line of the row, cells) for each non-blank row, streamed within the limits."""
    max_line = _limit("SEQLAB_MAX_CSV_LINE", MAX_CSV_LINE)
    max_rows = _limit("SEQLAB_MAX_CSV_ROWS", MAX_CSV_ROWS)
    line = 1
    try:
        with _open_regular(path) as handle, _field_limit(max_line):
            reader = csv.reader(_lines(handle, path, max_line))
            count = 0
            for row in reader:
                if any(c.strip() for c in row):
                    count += 1
                    if count > max_rows:
                        raise DataError(
                            f"{path}: line {line}: more than the {max_rows:,} rows allowed "
                            "(SEQLAB_MAX_CSV_ROWS)",
                            field=_PATH,
                        )
                    yield line, row
                line = reader.line_num + 1  # a quoted cell may span lines
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})", field=_PATH) from None
    except csv.Error as exc:
        raise DataError(
            f"{path}: line {line}: not readable as CSV ({excerpt(str(exc), 120)[1:-1]})",
            field=_PATH,
        ) from None


def read_csv(spec: CsvSeries) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Reads the chosen column (and date labels) of a CSV file; every bad cell names its line.

    The file is streamed into a float32 array within limits, checked before memory grows:
    bytes (``SEQLAB_MAX_CSV_BYTES``, default 1 GiB), characters per line and per cell
    (``SEQLAB_MAX_CSV_LINE``, default 1 MiB) and rows (``SEQLAB_MAX_CSV_ROWS``, default
    10,000,000). Only a regular file is read: devices, FIFOs, sockets and folders are refused.
    """
    path = spec.path
    with contextlib.closing(_rows(path)) as rows:
        return _read_rows(spec, rows)


def _read_rows(
    spec: CsvSeries, rows: Iterator[tuple[int, list[str]]]
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """read_csv's body: the header, the columns, and the cells parsed as they stream in."""
    path = spec.path
    first = next(rows, None)
    if first is None:
        raise DataError(f"{path}: the file is empty", field=_PATH)
    header = [c.strip() for c in first[1]] if spec.header else None
    body = rows if spec.header else itertools.chain([first], rows)
    width = len(first[1])
    col = _column_index(spec.column, header, width, path, "series.column")
    date_col = None
    if spec.date_column not in (None, ""):
        date_col = _column_index(spec.date_column, header, width, path, "series.date_column")
    col_name = excerpt(header[col], 60) if header else str(col)
    values = array.array("f")  # C floats: the same rounding as a float32 numpy array
    labels: list[str] = []
    for line, row in body:
        cell = row[col].strip() if col < len(row) else ""
        if cell == "":
            raise DataError(
                f"{path}: line {line}: column {col_name} is missing a value", field=_PATH
            )
        try:
            value = float(cell)
        except ValueError:
            raise DataError(
                f"{path}: line {line}: column {col_name} holds {excerpt(cell)}, not a number",
                field=_PATH,
            ) from None
        if not abs(value) <= FLOAT32_MAX:  # also catches nan and inf
            raise DataError(
                f"{path}: line {line}: column {col_name} holds {excerpt(cell)}; allowed: a finite "
                f"number of magnitude at most {FLOAT32_MAX:.4g}",
                field=_PATH,
            )
        values.append(value)
        if date_col is not None:
            labels.append(row[date_col].strip() if date_col < len(row) else "")
    if not values:
        raise DataError(f"{path}: the file has a header row but no data rows", field=_PATH)
    out = np.frombuffer(values, dtype="float32").copy()
    return out, (tuple(labels) if date_col is not None else None)


def load_series(spec: SeriesSpec, window: int | None = None) -> Series:
    """Builds the series a spec describes; checks it is long enough for the split (and window)."""
    if isinstance(spec, SyntheticSeries):
        values, labels, name = synthetic_values(spec), None, "synthetic"
    else:
        values, labels = read_csv(spec)
        name = Path(spec.path).name
    check_split(len(values), spec.split_time, window, name)
    time = np.arange(len(values), dtype="float32")
    dates = date_axis(labels) if labels is not None else None
    return Series(
        values=values,
        time=time,
        split_time=spec.split_time,
        name=name,
        labels=labels,
        dates=dates,
    )


def check_split(length: int, split_time: int, window: int | None, name: str = "series") -> None:
    """A series must leave at least one training window and one validation point."""
    if split_time >= length:
        raise DataError(
            f"{name}: series.split_time = {split_time} but the series has only {length} points; "
            f"choose a split time below {length}",
            field=_SPLIT_TIME,
        )
    if window is not None and split_time <= window:
        raise DataError(
            f"{name}: too short for window {window}: the training part has {split_time} points "
            f"and needs more than {window} (raise series.split_time or lower window.window)",
            field=_SPLIT_TIME,
        )


def period_of(spec: SeriesSpec) -> int | None:
    """The season length used by the seasonal baselines, if the series has one."""
    return spec.period
