"""Series: the course's synthetic generator, CSV import and the train/validation split (numpy)."""

from __future__ import annotations

import array
import contextlib
import csv
import itertools
import os
import re
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

import numpy as np

from engine.dates import DateAxis, date_axis
from engine.errors import DataError
from engine.specs import CsvSeries, SeriesSpec, SyntheticSeries

FLOAT32_MAX = float(np.finfo(np.float32).max)  # series are float32, as in the course

# The fields data errors belong to: an unreadable file or a bad cell is the file's.
_PATH = "series.path"
_SPLIT_TIME = "series.split_time"
_WINDOW = "window.window"

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
    except UnicodeDecodeError as exc:  # a binary file, a spreadsheet, another encoding
        byte = exc.object[exc.start : exc.start + 1].hex() if exc.object else "?"
        raise DataError(
            f"{path}: cannot read the file (not a CSV text file: byte 0x{byte} is not UTF-8 text)",
            field=_PATH,
        ) from None
    except OSError as exc:
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
    if window is None or split_time > window:
        return
    # The window is what does not fit (the split time is in range), so the problem is the window
    # field's: a window at least the series' length cannot fit whatever the split.
    if window >= length:
        raise DataError(
            f"{name}: too short for window {window}: window.window = {window} but the series "
            f"has only {length} points; allowed: a window below series.split_time ({split_time})",
            field=_WINDOW,
        )
    raise DataError(
        f"{name}: too short for window {window}: window.window = {window} needs more than "
        f"{window} training points and series.split_time = {split_time} gives {split_time}; "
        f"allowed: a window below {split_time}, or a split time from {window + 1} to {length - 1}",
        field=_WINDOW,
    )


def period_of(spec: SeriesSpec) -> int | None:
    """The season length used by the seasonal baselines, if the series has one."""
    return spec.period


# --- a CSV file's preview, for choosing its columns ---------------------------------------------

PREVIEW_ROWS = 100  # data rows whose cells decide a column's type
PREVIEW_VALUES = 5  # first values kept per column, for display
PREVIEW_COLUMNS = 200  # columns described; a wider file says how many more it has
PREVIEW_CELL = 64  # characters kept of a cell: a longer one is text, whatever it starts with
SPLIT_FRACTION = 0.8  # the proposed training share of the rows

ColumnKind = Literal["number", "date", "text"]
_YEAR = re.compile(r"\d{4}")


@dataclass(frozen=True)
class ColumnPreview:
    """One column of a CSV preview: what its first cells hold.

    ``kind`` is decided by the sampled cells that are not blank: ``number`` when all are finite
    numbers, ``date`` when they read as dates in one format (``engine.dates``) or are 4-digit
    years a year apart, else ``text``. ``frequency`` describes the dates' step ("monthly (month
    ends)", "irregular"); ``counter`` is a number column that counts rows (0, 1, 2, …), which a
    pandas export writes first and which is no series.
    """

    index: int
    name: str
    kind: ColumnKind
    first: tuple[str, ...]
    blanks: int = 0
    frequency: str | None = None
    counter: bool = False

    @property
    def key(self) -> str:
        """What ``series.column`` takes for it: the header name when it has one, else the index."""
        return self.name if self.name else str(self.index)

    @property
    def title(self) -> str:
        """The column as a message names it: 'Date' (header) or column 1."""
        return excerpt(self.name, 40) if self.name else f"column {self.index}"

    @property
    def described(self) -> str:
        """Its type for the user: "number", "date, monthly (month ends)", "text"."""
        kind = f"{self.kind}, {self.frequency}" if self.frequency else self.kind
        return f"{kind}, {self.blanks} blank" if self.blanks else kind


@dataclass(frozen=True)
class CsvPreview:
    """A CSV file's first rows read as columns, with the whole file's row count.

    ``sample`` holds the first rows as read (cells cut to ``PREVIEW_CELL`` characters);
    ``count`` is every non-blank row of the file, the header included when there is one.
    """

    path: str
    sample: tuple[tuple[str, ...], ...]
    count: int
    header: bool
    detected_header: bool
    width: int
    columns: tuple[ColumnPreview, ...]
    limit: int = PREVIEW_ROWS  # data rows the types are decided on

    @property
    def rows(self) -> int:
        """The data rows: the series' length if a column is chosen."""
        return self.count - int(self.header)

    def with_header(self, header: bool) -> CsvPreview:
        """The same file read with or without its first row as the header."""
        return _preview_of(
            self.path, self.sample, self.count, header, self.detected_header, self.limit
        )

    def value_column(self) -> ColumnPreview | None:
        """The proposed value column: the first number column that is not a row counter,
        preferring one without blanks in the sample."""
        numbers = [c for c in self.columns if c.kind == "number"]
        ranked = sorted(numbers, key=lambda c: (c.counter, c.blanks > 0, c.index))
        return ranked[0] if ranked else None

    def date_column(self) -> ColumnPreview | None:
        """The proposed date column: the first that holds dates."""
        return next((c for c in self.columns if c.kind == "date"), None)

    def column(self, key: str) -> ColumnPreview | None:
        return next((c for c in self.columns if key in (c.key, str(c.index))), None)

    def proposed_split(self, fraction: float = SPLIT_FRACTION) -> int:
        """``fraction`` of the rows (rounded) for training, the rest for validation; at least one
        point on each side when the file has two rows or more."""
        n = self.rows
        return min(max(round(n * fraction), 1), max(n - 1, 1))


def preview_csv(path: str, header: bool | None = None, sample: int = PREVIEW_ROWS) -> CsvPreview:
    """Reads a CSV file's first ``sample`` data rows into typed columns and counts its rows.

    The file is streamed within the same limits as ``read_csv`` (regular files only; bytes, line
    and row limits), keeping only the first rows; ``header`` None detects whether the first row
    is a header (it holds text over columns of numbers or dates). Raises ``DataError`` (field
    ``series.path``) with one line for a file that is empty, unreadable, not CSV text, or has no
    column of numbers in the rows read.
    """
    kept: list[tuple[str, ...]] = []
    count = 0
    with contextlib.closing(_rows(path)) as rows:
        for _, row in rows:
            count += 1
            if len(kept) <= sample:  # one more than the sample: the header may be row 1
                kept.append(tuple(_cut(c) for c in row))
    if not kept:
        raise DataError(f"{path}: the file is empty", field=_PATH)
    detected = _looks_like_header(kept)
    chosen = detected if header is None else header
    if chosen and count == 1:
        raise DataError(f"{path}: the file has a header row but no data rows", field=_PATH)
    preview = _preview_of(path, tuple(kept), count, chosen, detected, sample)
    if preview.value_column() is None and preview.with_header(not chosen).value_column() is None:
        where = (
            f"the first {sample:,} rows"
            if count > sample
            else f"its {count:,} row{'s' * (count != 1)}"
        )
        raise DataError(
            f"{path}: no column holds numbers in {where}; a series needs a column of numbers",
            field=_PATH,
        )
    return preview


def _cut(cell: str) -> str:
    cell = cell.strip()
    return cell if len(cell) <= PREVIEW_CELL else cell[:PREVIEW_CELL] + "…"


def _number(cell: str) -> bool:
    try:
        return abs(float(cell)) <= FLOAT32_MAX
    except ValueError:
        return False


def _cells(rows: tuple[tuple[str, ...], ...], index: int) -> list[str]:
    return [row[index] if index < len(row) else "" for row in rows]


def _kind(cells: list[str]) -> tuple[ColumnKind, str | None]:
    """A column's type from its non-blank cells, and its dates' frequency when dates."""
    filled = [c for c in cells if c]
    if not filled:
        return "text", None
    if all(map(_number, filled)):
        if all(_YEAR.fullmatch(c) for c in filled) and len(filled) > 1:
            axis = date_axis(filled)  # 1749, 1750, …: years, not values
            if axis.frequency is not None:
                return "date", axis.frequency.describe()
        return "number", None
    axis = date_axis(filled)
    if axis.dates is None:
        return "text", None
    return "date", axis.frequency.describe() if axis.frequency is not None else "irregular"


def _looks_like_header(rows: list[tuple[str, ...]]) -> bool:
    """Row 1 is a header when it holds text (neither number nor date) over a column whose other
    rows are numbers or dates."""
    if len(rows) < 2:
        return False
    first, rest = rows[0], tuple(rows[1:])
    for index, cell in enumerate(first[:PREVIEW_COLUMNS]):
        if not cell or _kind([cell])[0] != "text":
            continue
        if _kind(_cells(rest, index))[0] != "text":
            return True
    return False


def _counter(cells: list[str]) -> bool:
    """0, 1, 2, … (or from 1): a row number, not a series."""
    try:
        values = [float(c) for c in cells]
    except ValueError:
        return False
    return (
        len(values) > 1
        and values[0] in (0.0, 1.0)
        and all(b - a == 1.0 for a, b in itertools.pairwise(values))
    )


def _preview_of(
    path: str,
    sample: tuple[tuple[str, ...], ...],
    count: int,
    header: bool,
    detected: bool,
    limit: int,
) -> CsvPreview:
    """The columns of ``sample`` read with or without a header row."""
    names = sample[0] if header else ()
    data = (sample[1:] if header else sample)[:limit]
    width = max((len(row) for row in sample), default=0)
    columns = []
    for index in range(min(width, PREVIEW_COLUMNS)):
        cells = _cells(data, index)
        kind, frequency = _kind(cells)
        columns.append(
            ColumnPreview(
                index=index,
                name=names[index] if index < len(names) else "",
                kind=kind,
                first=tuple(cells[:PREVIEW_VALUES]),
                blanks=sum(1 for c in cells if not c),
                frequency=frequency,
                counter=kind == "number" and _counter(cells),
            )
        )
    return CsvPreview(path, sample, count, header, detected, width, tuple(columns), limit)
