"""Real dates for a series' date column: parsing, the step between points, and dates past the end.

A column is read in one format, chosen from its first row and then required of every row:

- ISO dates and datetimes: ``2020-01-31``, ``2020-01-31T06:00``, ``2020-01-31 06:00:00.5``; a
  time-zone suffix (``Z``, ``+01:00``) is dropped and the time kept as written, so steps are in
  wall-clock time (the note says so when rows carry different offsets);
- year-month ``2020-01`` (the 1st of the month) and a year alone ``2020`` (1 January);
- ``2020/01/31`` and ``31/01/2020`` or ``01/31/2020``, with ``/``, ``-`` or ``.`` and an optional
  `` HH:MM[:SS]``. Day-first or month-first is decided for the whole column: a first field above
  12 means day-first, a second field above 12 month-first, both is not dates; when no value
  settles it, the reading that gives regular steps wins, else month-first, and the note says so.

A column that is not dates in one consistent format is kept as labels, and the note names the
first row (1-based, counting values) that is not. Parsing works on the whole column at once
(one regular expression over the joined text, numpy's ISO reader, fields found from separator
positions) rather than row by row, so that long columns stay quick to load.

The frequency is inferred exactly, never fitted: month-based steps (the same day of the month,
clamped to the month's last day, or all month ends) or one fixed step; anything else is
irregular and future dates are not guessed. ISO text out (``DateAxis.iso``) keeps the column's
resolution: ``2020`` for years, ``2020-03`` for year-months, ``2020-03-31`` for dates and
``2020-03-31T06:00:00`` when the column has times of day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

import numpy as np

Kind = Literal["daily", "weekly", "monthly", "quarterly", "yearly", "fixed"]
Precision = Literal["year", "month", "day", "time"]  # how much of a date the column writes

_RANK: dict[Precision, int] = {"time": 0, "day": 1, "month": 2, "year": 3}
_US_PER_DAY = 86_400_000_000
_UNITS = (  # for step lengths in notes and descriptions, largest first
    (_US_PER_DAY, "day"),
    (3_600_000_000, "hour"),
    (60_000_000, "minute"),
    (1_000_000, "second"),
)
_MIN_US = -62_135_596_800_000_000  # 0001-01-01, the first date Python's datetime holds
_MONTHS_KIND: dict[int, Kind] = {1: "monthly", 3: "quarterly", 12: "yearly"}
_DAYS_KIND: dict[int, Kind] = {1: "daily", 7: "weekly"}
_NOT_GUESSED = "future dates are not guessed"

_CLOCK = r"(?: \d{1,2}:\d{2}(?::\d{2})?)?"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?" + _ZONE + ")?"
_FORMATS: dict[str, str] = {  # family → one row's pattern ({sep}: the separator row 1 uses)
    "iso": _ISO,
    "year-month": r"\d{4}-\d{2}",
    "year": r"\d{4}",
    "ymd": r"\d{4}{sep}\d{1,2}{sep}\d{1,2}" + _CLOCK,
    "xxy": r"\d{1,2}{sep}\d{1,2}{sep}\d{4}" + _CLOCK,
}
_FIRST = {  # family → the pattern that recognises row 1, capturing its separator
    family: re.compile(row.replace("{sep}", "([-/.])", 1).replace("{sep}", r"\1"), re.ASCII)
    for family, row in _FORMATS.items()
}


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _plural(count: float, unit: str) -> str:
    return f"{count:g} {unit}" + ("" if count == 1 else "s")


def _unit_of(*lengths: int) -> tuple[int, str]:
    """The largest unit that measures every length (in microseconds) in whole numbers."""
    for size, name in _UNITS:
        if all(length % size == 0 for length in lengths):
            return size, name
    return _UNITS[-1]


@dataclass(frozen=True)
class Frequency:
    """The step between consecutive dates, inferred exactly from the column.

    Month-based steps (``months`` > 0) land on ``day`` of the month, clamped to the month's last
    day: 31 means month ends, 30 gives Feb 28 or 29 in February. Other steps are a fixed
    ``step`` (days, or less for sub-daily data); then ``months`` and ``day`` are 0.
    """

    kind: Kind
    months: int = 0
    day: int = 0
    step: timedelta = timedelta(0)

    @property
    def month_end(self) -> bool:
        return self.months > 0 and self.day == 31

    @property
    def sub_daily(self) -> bool:
        return self.months == 0 and self.step % timedelta(days=1) != timedelta(0)

    def describe(self) -> str:
        """A short phrase for the user: "daily", "monthly (month ends)", "every 6 hours"."""
        if self.months:
            if self.kind == "yearly" or self.months % 12 == 0:
                # yearly dates repeat one month, so month ends need no mention
                return "yearly" if self.months == 12 else f"every {self.months // 12} years"
            base = self.kind if self.kind != "fixed" else f"every {self.months} months"
            if self.month_end:
                return f"{base} (month ends)"
            if self.day > 28:
                return f"{base} (day {self.day}, or the month's last day)"
            return base
        if self.kind != "fixed":
            return self.kind
        length = self.step // timedelta(microseconds=1)
        size, unit = _unit_of(length)
        count = length / size
        return f"every {unit}" if count == 1 else f"every {_plural(count, unit)}"

    def advance(self, start: datetime, steps: int) -> datetime:
        """The date ``steps`` steps after ``start`` (before it when negative).

        Raises ``ValueError`` or ``OverflowError`` past the years datetime holds (1 to 9999).
        """
        if self.months:
            index = start.year * 12 + start.month - 1 + self.months * steps
            year, month = index // 12, index % 12 + 1
            if not 1 <= year <= 9999:
                raise ValueError(f"year {year} is out of range")
            return start.replace(
                year=year, month=month, day=min(self.day, _days_in_month(year, month))
            )
        return start + self.step * steps


def _write(date: datetime, precision: Precision) -> str:
    """ISO text at the column's precision (f-strings: strftime pads years below 1000 unevenly)."""
    if precision == "year":
        return f"{date.year:04d}"
    if precision == "month":
        return f"{date.year:04d}-{date.month:02d}"
    if precision == "day":
        return f"{date.year:04d}-{date.month:02d}-{date.day:02d}"
    return date.isoformat(timespec="microseconds" if date.microsecond else "seconds")


def _tick_text(date: datetime, style: Precision) -> str:
    if style == "time":
        return f"{date.month:02d}-{date.day:02d} {date.hour:02d}:{date.minute:02d}"
    return _write(date, style)


@dataclass(frozen=True)
class DateAxis:
    """A series' date column: its text, the dates it holds, their frequency and what to tell.

    ``dates`` is None when the column is not dates (then it serves as labels); ``frequency`` is
    None then and when the dates are irregular. ``precision`` is how much of a date the column
    writes, which ISO text out keeps.
    """

    labels: tuple[str, ...]
    dates: tuple[datetime, ...] | None
    frequency: Frequency | None
    note: str | None
    precision: Precision = "day"

    def _date(self, i: int) -> datetime | None:
        """Point i's date; past either end only when there is a frequency to continue."""
        dates = self.dates
        if dates is None or not dates:
            return None
        if 0 <= i < len(dates):
            return dates[i]
        if self.frequency is None:
            return None
        try:
            return self.frequency.advance(dates[-1], i - len(dates) + 1)
        except (ValueError, OverflowError):
            return None

    def iso(self, i: int) -> str:
        """Point i's date as ISO text; the label when not dates; "" where it cannot tell.

        ``i`` at or past the end continues the frequency; negative ``i`` gives "".
        """
        if i < 0:
            return ""
        if self.dates is None:
            return self.labels[i] if i < len(self.labels) else ""
        date = self._date(i)
        return "" if date is None else _write(date, self.precision)

    def future(self, n: int) -> tuple[str, ...]:
        """ISO dates of the n points after the last; () without a frequency."""
        if self.frequency is None or not self.dates:
            return ()
        start = len(self.dates)
        return tuple(self.iso(start + j) for j in range(n))

    @cached_property
    def _tick_style(self) -> Precision:
        """How much of a date a tick shows: by the step, never finer than the column writes."""
        style: Precision
        freq = self.frequency
        if freq is not None:
            if freq.months:
                style = "year" if freq.months % 12 == 0 else "month"
            else:
                style = "time" if freq.sub_daily else "day"
        else:
            style = _style_of_steps(self.dates or ())
        return max(style, self.precision, key=_RANK.__getitem__)

    def tick(self, position: float) -> str:
        """A short label for a (fractional) position on the series' index axis: the nearest point.

        By frequency: "1749" yearly, "1749-03" monthly, "2020-01-31" daily, "01-31 12:00"
        sub-daily; with a frequency it continues past either end. Not dates: the nearest label;
        irregular: the nearest date; "" outside those.
        """
        if not math.isfinite(position):
            return ""
        i = math.floor(position + 0.5)
        if self.dates is None:
            return self.labels[i] if 0 <= i < len(self.labels) else ""
        date = self._date(i)
        return "" if date is None else _tick_text(date, self._tick_style)


def _style_of_steps(dates: Sequence[datetime]) -> Precision:
    """The tick style for irregular dates, from the median of (up to 1000 sampled) steps."""
    if len(dates) < 2:
        return "day"
    stride = max(1, (len(dates) - 1) // 1000)
    steps = sorted(dates[i + 1] - dates[i] for i in range(0, len(dates) - 1, stride))
    median = steps[len(steps) // 2]
    if median >= timedelta(days=365):
        return "year"
    if median >= timedelta(days=28):
        return "month"
    return "day" if median >= timedelta(days=1) else "time"


# --- parsing --------------------------------------------------------------------------------------


class _NotDates(Exception):
    """The column is not dates; ``args[0]`` says why, for the note."""


def _bad_row(texts: Sequence[str], row: int, form: bool = True) -> _NotDates:
    """Row ``row`` is not a date; ``form``: not in row 1's form (else a day that does not exist)."""
    value = texts[row]
    what = "is empty" if value == "" else f"holds {value!r}"
    like = f" in the form of row 1 ({texts[0]!r})" if form and row > 0 else ""
    return _NotDates(f"row {row + 1} {what}, not a date{like}")


def _first_bad(texts: Sequence[str], iso: Sequence[str]) -> int:
    """The first row numpy cannot read as a date Python holds (row by row: failures only)."""
    for i, text in enumerate(iso):
        try:
            value = np.datetime64(text, "us").astype(np.int64)
        except ValueError:
            return i
        if value < _MIN_US:
            return i
    return len(texts) - 1  # not reached: called only when some row is bad


def _read_iso(texts: Sequence[str], iso: Sequence[str] | np.ndarray) -> np.ndarray:
    """Microseconds since 1970 of ISO texts, or _NotDates naming the first row that is not."""
    try:
        values = np.array(iso, dtype="datetime64[us]").astype(np.int64)
    except ValueError:
        values = None
    if values is None or (len(values) and values.min() < _MIN_US):
        rows = [t.decode() if isinstance(t, bytes) else str(t) for t in iso]
        raise _bad_row(texts, _first_bad(texts, rows), form=False)
    return values


def _strip_zones(texts: Sequence[str]) -> tuple[list[str], set[str]]:
    """ISO texts without their time-zone suffixes, and the suffixes seen."""
    out: list[str] = []
    zones: set[str] = set()
    for text in texts:
        cut = len(text) - 1 if text.endswith("Z") else max(text.rfind("+"), text.rfind("-"))
        if cut > 10:  # past the date's own dashes
            zones.add(text[cut:])
            text = text[:cut]
        out.append(text)
    return out, zones


def _family(texts: Sequence[str]) -> tuple[str, str]:
    """The format family of row 1 and its separator, or _NotDates."""
    for family, pattern in _FIRST.items():
        match = pattern.fullmatch(texts[0])
        if match:
            return family, (match.group(1) if pattern.groups else "")
    raise _bad_row(texts, 0)


def _check_rows(texts: Sequence[str], joined: str, family: str, sep: str) -> None:
    """Every row in the family's pattern (one pass over the joined text), or _NotDates."""
    row = _FORMATS[family].replace("{sep}", re.escape(sep))
    if joined.count("\n") != len(texts):  # some text holds a line break: check row by row
        one = re.compile(row, re.ASCII)
        bad = next((i for i, t in enumerate(texts) if not one.fullmatch(t)), None)
    else:
        match = re.compile(rf"(?:{row}\n)*+", re.ASCII).match(joined)
        end = match.end() if match else 0
        bad = None if end == len(joined) else joined.count("\n", 0, end)
    if bad is not None:
        raise _bad_row(texts, bad)


class _Fields:
    """A separated family's numbers per row: year, the two fields before or after it, the clock."""

    def __init__(self, joined: str, n: int, family: str, sep: str) -> None:
        """Every row already matches the family's pattern, so fields are found vectorised from
        the positions of separators, spaces and colons in the joined text."""
        self._buf = np.frombuffer(joined.encode("ascii"), np.uint8)
        self._n = n
        ends = self._marks("\n")
        starts = np.concatenate(([0], ends[:-1] + 1))
        seps = self._marks(sep).reshape(n, 2)
        spaces = self._marks(" ")
        date_ends = ends
        has_clock = np.zeros(n, dtype=bool)
        if len(spaces):  # at most one per row, before its clock
            space = spaces[np.minimum(np.searchsorted(spaces, starts), len(spaces) - 1)]
            has_clock = (space > starts) & (space < ends)
            date_ends = np.where(has_clock, space, ends)
        spans = [(starts, seps[:, 0]), (seps[:, 0] + 1, seps[:, 1]), (seps[:, 1] + 1, date_ends)]
        order = (0, 1, 2) if family == "ymd" else (2, 0, 1)
        self.year, self.first, self.second = (self._number(*spans[i]) for i in order)
        self.seconds = np.zeros(n, dtype=np.int64)  # the time of day
        self.bad_clock: int | None = None  # the first row whose time of day does not exist
        if has_clock.any():
            colons = self._marks(":")
            colon = colons[np.minimum(np.searchsorted(colons, date_ends), len(colons) - 1)]
            hour = self._number(date_ends + 1, colon)
            minute = self._number(colon + 1, colon + 3)
            second = np.where(ends - colon > 3, self._number(colon + 4, ends), 0)
            self.seconds = np.where(has_clock, hour * 3600 + minute * 60 + second, 0)
            bad = np.flatnonzero(has_clock & ((hour > 23) | (minute > 59) | (second > 59)))
            self.bad_clock = int(bad[0]) if len(bad) else None

    def _marks(self, char: str) -> np.ndarray:
        return np.flatnonzero(self._buf == ord(char))

    def _number(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """The 1 to 4 digits from ``start`` to ``end`` of each row, as numbers."""
        total = np.zeros(self._n, dtype=np.int64)
        for k in range(4):
            digit = self._buf[end - 1 - k].astype(np.int64) - 48  # before start: masked below
            total += np.where(end - start > k, digit * 10**k, 0)
        return total

    def read(self, texts: Sequence[str], day_first: bool) -> np.ndarray:
        """Microseconds since 1970 of each row, or _NotDates naming the first row that is not."""
        month, day = (self.second, self.first) if day_first else (self.first, self.second)
        grid = np.empty((self._n, 10), dtype=np.uint8)
        fields = [(self.year, 1000), (self.year, 100), (self.year, 10), (self.year, 1), None]
        fields += [(month, 10), (month, 1), None, (day, 10), (day, 1)]
        for col, field in enumerate(fields):
            grid[:, col] = ord("-") if field is None else 48 + (field[0] // field[1]) % 10
        iso = grid.view("S10").ravel()
        if self.bad_clock is not None:  # a bad date before it is the first bad row
            _read_iso(texts[: self.bad_clock], iso[: self.bad_clock])
            raise _bad_row(texts, self.bad_clock, form=False)
        return _read_iso(texts, iso) + self.seconds * 1_000_000


_MONTH_NAMES: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
_MONTH_NAMES += ("July", "August", "September", "October", "November", "December")


def _parse(texts: Sequence[str]) -> tuple[np.ndarray, Precision, list[str]]:
    """Microseconds since 1970 per row, the column's precision, and notes; or _NotDates.

    A day/month column that no value settles is read both ways and the reading with regular
    steps kept; month-first when both or neither are regular.
    """
    family, sep = _family(texts)
    joined = "\n".join(texts) + "\n"
    _check_rows(texts, joined, family, sep)
    if family == "year":
        return _read_iso(texts, texts), "year", []
    if family == "year-month":
        return _read_iso(texts, texts), "month", []
    if family == "iso":
        if "Z" in joined or "+" in joined or joined.count("-") > 2 * len(texts):
            iso, zones = _strip_zones(texts)
            zone_note = ["rows carry different time-zone offsets, which are ignored"]
            return _read_iso(texts, iso), "day", zone_note if len(zones) > 1 else []
        return _read_iso(texts, texts), "day", []
    fields = _Fields(joined, len(texts), family, sep)
    if family == "ymd":
        return fields.read(texts, day_first=False), "day", []
    day_first = np.flatnonzero(fields.first > 12)
    month_first = np.flatnonzero(fields.second > 12)
    if len(day_first) and len(month_first):
        i, j = int(day_first[0]), int(month_first[0])
        raise _NotDates(
            f"row {i + 1} ({texts[i]!r}) is day-first but row {j + 1} ({texts[j]!r}) is month-first"
        )
    if len(day_first):
        note = f"read as day-first ({texts[int(day_first[0])]})"
        return fields.read(texts, day_first=True), "day", [note]
    if len(month_first):
        note = f"read as month-first ({texts[int(month_first[0])]})"
        return fields.read(texts, day_first=False), "day", [note]
    as_month_first = fields.read(texts, day_first=False)
    as_day_first = fields.read(texts, day_first=True)
    if _infer(as_day_first)[0] is not None and _infer(as_month_first)[0] is None:
        note = "read as day-first: no value shows the order, and only day-first steps evenly"
        return as_day_first, "day", [note]
    month, day = int(fields.first[0]), int(fields.second[0])
    example = f"{texts[0]} is {_MONTH_NAMES[month - 1]} {day}"
    note = f"read as month-first ({example}): no value shows whether days or months come first"
    return as_month_first, "day", [note]


# --- frequency ------------------------------------------------------------------------------------


def _when(us: int) -> str:
    date = datetime(1970, 1, 1) + timedelta(microseconds=us)
    return _write(date, "time" if us % _US_PER_DAY else "day")


def _infer(us: np.ndarray) -> tuple[Frequency | None, str | None]:
    """The exact frequency of dates (microseconds since 1970), or None and why not."""
    if len(us) < 2:
        return None, f"one date only: {_NOT_GUESSED}"
    steps = np.diff(us)
    back = np.flatnonzero(steps <= 0)
    if len(back):
        i = int(back[0]) + 1
        if steps[i - 1] == 0:
            return None, f"irregular dates: row {i + 1} repeats {_when(int(us[i]))}; {_NOT_GUESSED}"
        return None, (
            f"irregular dates: row {i + 1} ({_when(int(us[i]))}) comes before row {i} "
            f"({_when(int(us[i - 1]))}); {_NOT_GUESSED}"
        )
    by_month = _month_based(us)
    if by_month is not None:
        return by_month, None
    lo, hi = int(steps.min()), int(steps.max())
    if lo == hi:
        if lo % _US_PER_DAY == 0:
            days = lo // _US_PER_DAY
            return Frequency(_DAYS_KIND.get(days, "fixed"), step=timedelta(days=days)), None
        return Frequency("fixed", step=timedelta(microseconds=lo)), None
    size, unit = _unit_of(lo, hi)
    return (
        None,
        f"irregular dates: steps from {lo / size:g} to {_plural(hi / size, unit)}; {_NOT_GUESSED}",
    )


def _month_based(us: np.ndarray) -> Frequency | None:
    """A month-based frequency if every date is on one day of its month at one time of day."""
    stamps = us.astype("datetime64[us]")
    month = stamps.astype("datetime64[M]")
    day_start = stamps.astype("datetime64[D]")
    month_start = month.astype("datetime64[D]")
    time_of_day = (stamps - day_start.astype("datetime64[us]")).astype(np.int64)
    if (time_of_day != time_of_day[0]).any():
        return None
    month_steps = np.diff(month.astype(np.int64))
    k = int(month_steps[0])
    if k < 1 or (month_steps != k).any():
        return None
    day = (day_start - month_start).astype(np.int64) + 1
    length = ((month + 1).astype("datetime64[D]") - month_start).astype(np.int64)
    anchor = int(day.max())
    if (day != np.minimum(anchor, length)).any():
        return None
    if (day == length).all() and (day != day[0]).any():
        anchor = 31  # month ends of months of different lengths
    return Frequency(_MONTHS_KIND.get(k, "fixed"), months=k, day=anchor)


def date_axis(labels: Sequence[str]) -> DateAxis:
    """Reads a date column: its dates and frequency, or labels and a note saying why not."""
    kept = tuple(labels)
    if not kept:
        return DateAxis(kept, (), None, None)
    try:
        try:
            us, precision, notes = _parse(kept)
        except _NotDates:  # white space around some text? (checked only now: it is rare)
            stripped = [t.strip() for t in kept]
            if stripped == list(kept):
                raise
            us, precision, notes = _parse(stripped)
    except _NotDates as exc:
        return DateAxis(kept, None, None, f"date column kept as labels: {exc.args[0]}")
    frequency, why = _infer(us)
    if why:
        notes.append(why)
    if precision == "day" and (us % _US_PER_DAY).any():
        precision = "time"
    dates = tuple(us.astype("datetime64[us]").tolist())
    return DateAxis(kept, dates, frequency, "; ".join(notes) or None, precision)
