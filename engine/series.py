"""Series: the course's synthetic generator, CSV import and the train/validation split (numpy)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.dates import DateAxis, date_axis
from engine.errors import DataError
from engine.specs import CsvSeries, SeriesSpec, SyntheticSeries

FLOAT32_MAX = float(np.finfo(np.float32).max)  # series are float32, as in the course

# The fields data errors belong to: an unreadable file or a bad cell is the file's.
_PATH = "series.path"
_SPLIT_TIME = "series.split_time"


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


def read_csv(spec: CsvSeries) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Reads the chosen column (and date labels) of a CSV file; every bad cell names its line."""
    path = spec.path
    numbered: list[
        tuple[int, list[str]]
    ] = []  # (first line of the row, cells), blank rows left out
    try:
        with open(Path(path).expanduser(), newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            line = 1
            for row in reader:
                if any(c.strip() for c in row):
                    numbered.append((line, row))
                line = reader.line_num + 1  # a quoted cell may span lines
    except FileNotFoundError:
        raise DataError(f"{path}: no such file", field=_PATH) from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file", field=_PATH) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})", field=_PATH) from None
    except csv.Error as exc:
        raise DataError(f"{path}: line {line}: not readable as CSV ({exc})", field=_PATH) from None
    if not numbered:
        raise DataError(f"{path}: the file is empty", field=_PATH)
    header = [c.strip() for c in numbered[0][1]] if spec.header else None
    body = numbered[1:] if spec.header else numbered
    if not body:
        raise DataError(f"{path}: the file has a header row but no data rows", field=_PATH)
    width = len(numbered[0][1])
    col = _column_index(spec.column, header, width, path, "series.column")
    date_col = None
    if spec.date_column not in (None, ""):
        date_col = _column_index(spec.date_column, header, width, path, "series.date_column")
    col_name = repr(header[col]) if header else str(col)
    values = np.empty(len(body), dtype="float32")
    labels: list[str] = []
    for i, (line, row) in enumerate(body):
        cell = row[col].strip() if col < len(row) else ""
        if cell == "":
            raise DataError(
                f"{path}: line {line}: column {col_name} is missing a value", field=_PATH
            )
        try:
            value = float(cell)
        except ValueError:
            raise DataError(
                f"{path}: line {line}: column {col_name} holds {cell!r}, not a number", field=_PATH
            ) from None
        if not abs(value) <= FLOAT32_MAX:  # also catches nan and inf
            raise DataError(
                f"{path}: line {line}: column {col_name} holds {cell!r}; allowed: a finite number "
                f"of magnitude at most {FLOAT32_MAX:.4g}",
                field=_PATH,
            )
        values[i] = value
        if date_col is not None:
            labels.append(row[date_col].strip() if date_col < len(row) else "")
    return values, (tuple(labels) if date_col is not None else None)


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
