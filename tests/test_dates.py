"""Date columns: formats, day-first or month-first, exact frequencies and dates past the end."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.dates import DateAxis, Frequency, date_axis


def days(start: str, n: int, step: int = 1) -> list[str]:
    first = date.fromisoformat(start)
    return [(first + timedelta(days=step * i)).isoformat() for i in range(n)]


def month_ends(year: int, month: int, n: int) -> list[str]:
    out = []
    for i in range(n):
        y, m = divmod(month - 1 + i, 12)
        after = date(year + y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
        out.append((after - timedelta(days=1)).isoformat())
    return out


# --- frequencies ----------------------------------------------------------------------------------


def test_daily():
    axis = date_axis(days("2020-02-27", 5))
    assert axis.frequency == Frequency("daily", step=timedelta(days=1))
    assert axis.frequency.describe() == "daily"
    assert axis.note is None
    assert axis.dates is not None and axis.dates[0] == datetime(2020, 2, 27)
    assert axis.iso(2) == "2020-02-29"
    assert axis.future(3) == ("2020-03-03", "2020-03-04", "2020-03-05")


def test_weekly():
    axis = date_axis(days("2020-12-21", 4, step=7))
    assert axis.frequency is not None and axis.frequency.kind == "weekly"
    assert axis.frequency.describe() == "weekly"
    assert axis.future(2) == ("2021-01-18", "2021-01-25")


def test_every_three_days():
    axis = date_axis(days("2020-02-25", 3, step=3))
    assert axis.frequency == Frequency("fixed", step=timedelta(days=3))
    assert axis.frequency.describe() == "every 3 days"
    assert axis.future(2) == ("2020-03-05", "2020-03-08")


def test_six_hourly_includes_the_time():
    labels = ["2020-02-28T12:00", "2020-02-28T18:00", "2020-02-29T00:00", "2020-02-29T06:00"]
    axis = date_axis(labels)
    assert axis.frequency == Frequency("fixed", step=timedelta(hours=6))
    assert axis.frequency.describe() == "every 6 hours"
    assert axis.iso(0) == "2020-02-28T12:00:00"
    assert axis.future(3) == ("2020-02-29T12:00:00", "2020-02-29T18:00:00", "2020-03-01T00:00:00")
    assert axis.tick(3) == "02-29 06:00"


def test_hourly_with_a_space_and_seconds():
    axis = date_axis(["2021-03-01 00:00:00", "2021-03-01 01:00:00", "2021-03-01 02:00:00"])
    assert axis.frequency is not None and axis.frequency.describe() == "every hour"
    assert axis.future(1) == ("2021-03-01T03:00:00",)


def test_monthly_first_of_month():
    axis = date_axis(["2019-11-01", "2019-12-01", "2020-01-01"])
    assert axis.frequency == Frequency("monthly", months=1, day=1)
    assert axis.frequency.describe() == "monthly"
    assert axis.future(3) == ("2020-02-01", "2020-03-01", "2020-04-01")


def test_month_ends_continue_as_month_ends_across_leap_years():
    axis = date_axis(month_ends(1999, 10, 2))  # 1999-10-31, 1999-11-30
    assert axis.frequency is not None and axis.frequency.month_end
    assert axis.frequency.describe() == "monthly (month ends)"
    assert axis.future(5) == ("1999-12-31", "2000-01-31", "2000-02-29", "2000-03-31", "2000-04-30")
    axis = date_axis(["2099-11-30", "2099-12-31"])
    assert axis.future(3) == ("2100-01-31", "2100-02-28", "2100-03-31")  # 2100 is not leap
    axis = date_axis(["1899-12-31", "1900-01-31"])
    assert axis.future(1) == ("1900-02-28",)


def test_sunspots_like_month_ends():
    """Month ends from 1749 (like Sunspots.csv) continue after the last, mid-2018, as month ends."""
    labels = month_ends(1749, 1, 3235)
    assert labels[-1] == "2018-07-31"
    axis = date_axis(labels)
    assert axis.frequency is not None and axis.frequency.describe() == "monthly (month ends)"
    assert axis.future(3) == ("2018-08-31", "2018-09-30", "2018-10-31")
    assert axis.iso(len(labels) + 6) == "2019-02-28"
    assert axis.tick(0) == "1749-01" and axis.tick(3236.2) == "2018-09"


def test_same_day_clamped_to_short_months_is_monthly():
    axis = date_axis(["2019-12-30", "2020-01-30", "2020-02-29", "2020-03-30"])
    assert axis.frequency == Frequency("monthly", months=1, day=30)
    assert axis.frequency.describe() == "monthly (day 30, or the month's last day)"
    assert axis.future(4) == ("2020-04-30", "2020-05-30", "2020-06-30", "2020-07-30")
    axis = date_axis(["2021-01-29", "2021-02-28", "2021-03-29"])
    assert axis.future(1) == ("2021-04-29",)


def test_quarterly():
    axis = date_axis(["2019-03-31", "2019-06-30", "2019-09-30", "2019-12-31"])
    assert axis.frequency == Frequency("quarterly", months=3, day=31)
    assert axis.frequency.describe() == "quarterly (month ends)"
    assert axis.future(2) == ("2020-03-31", "2020-06-30")
    axis = date_axis(["2020-01", "2020-04", "2020-07"])  # year-month text stays year-month
    assert axis.frequency is not None and axis.frequency.kind == "quarterly"
    assert axis.precision == "month"
    assert axis.future(2) == ("2020-10", "2021-01")
    assert axis.tick(1) == "2020-04"


def test_every_two_months():
    axis = date_axis(["2020-01-15", "2020-03-15", "2020-05-15"])
    assert axis.frequency == Frequency("fixed", months=2, day=15)
    assert axis.frequency.describe() == "every 2 months"
    assert axis.future(2) == ("2020-07-15", "2020-09-15")


def test_yearly():
    axis = date_axis(["2015-07-01", "2016-07-01", "2017-07-01"])
    assert axis.frequency == Frequency("yearly", months=12, day=1)
    assert axis.frequency.describe() == "yearly"
    assert axis.future(1) == ("2018-07-01",)
    assert axis.tick(1) == "2016"


def test_years_alone():
    axis = date_axis(["1998", "1999", "2000"])
    assert axis.frequency is not None and axis.frequency.kind == "yearly"
    assert axis.precision == "year"
    assert axis.dates is not None and axis.dates[0] == datetime(1998, 1, 1)
    assert axis.future(2) == ("2001", "2002")
    assert axis.tick(4) == "2002"


def test_yearly_on_february_29_keeps_the_month_end():
    axis = date_axis(["2019-02-28", "2020-02-29", "2021-02-28"])
    assert axis.frequency is not None and axis.frequency.kind == "yearly"
    assert axis.future(4) == ("2022-02-28", "2023-02-28", "2024-02-29", "2025-02-28")
    axis = date_axis(["2016-02-29", "2020-02-29"])  # every four years, on the 29th
    assert axis.frequency is not None and axis.frequency.describe() == "every 4 years"
    assert axis.future(2) == ("2024-02-29", "2028-02-29")


def test_yearly_on_february_28_without_a_leap_year_stays_on_the_28th():
    """Nothing shows these are month ends, so 2024 (a leap year) keeps the 28th."""
    axis = date_axis(["2021-02-28", "2022-02-28", "2023-02-28"])
    assert axis.future(2) == ("2024-02-28", "2025-02-28")


def test_two_dates_a_month_apart_are_monthly_not_every_31_days():
    axis = date_axis(["2020-01-01", "2020-02-01"])
    assert axis.frequency is not None and axis.frequency.kind == "monthly"
    axis = date_axis(["2020-01-31", "2020-02-01"])
    assert axis.frequency is not None and axis.frequency.kind == "daily"


# --- irregular ------------------------------------------------------------------------------------


def test_unequal_steps_are_irregular_and_not_continued():
    axis = date_axis(["2020-01-01", "2020-01-29", "2020-03-04"])
    assert axis.frequency is None
    assert axis.note == ("irregular dates: steps from 28 to 35 days; future dates are not guessed")
    assert axis.future(3) == ()
    assert axis.iso(1) == "2020-01-29" and axis.iso(3) == "" and axis.iso(-1) == ""
    assert axis.tick(1.2) == "2020-01" and axis.tick(5) == "" and axis.tick(-1) == ""


def test_a_missing_month_is_irregular():
    labels = month_ends(2001, 1, 6)
    del labels[3]
    axis = date_axis(labels)
    assert axis.frequency is None
    assert axis.note == "irregular dates: steps from 28 to 61 days; future dates are not guessed"


def test_irregular_sub_daily_steps_in_hours():
    axis = date_axis(["2020-01-01 00:00", "2020-01-01 06:00", "2020-01-01 09:00"])
    assert axis.note == "irregular dates: steps from 3 to 6 hours; future dates are not guessed"


def test_duplicates_and_going_back():
    axis = date_axis(["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03"])
    assert axis.frequency is None
    assert axis.note == "irregular dates: row 3 repeats 2020-01-02; future dates are not guessed"
    axis = date_axis(["2020-01-05", "2020-01-06", "2020-01-03"])
    assert axis.note == (
        "irregular dates: row 3 (2020-01-03) comes before row 2 (2020-01-06); "
        "future dates are not guessed"
    )
    assert axis.dates is not None and axis.iso(2) == "2020-01-03"


def test_one_date_only():
    axis = date_axis(["2020-01-01"])
    assert axis.frequency is None and axis.future(2) == ()
    assert axis.note == "one date only: future dates are not guessed"


# --- not dates ------------------------------------------------------------------------------------


def test_not_dates_are_kept_as_labels_naming_the_row():
    labels = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "abc"]
    axis = date_axis(labels)
    assert axis.dates is None and axis.frequency is None
    assert axis.note == (
        "date column kept as labels: row 5 holds 'abc', not a date in the form of row 1 "
        "('2020-01-01')"
    )
    assert axis.labels == tuple(labels)
    assert axis.iso(4) == "abc" and axis.iso(5) == "" and axis.future(2) == ()
    assert axis.tick(3.6) == "abc" and axis.tick(7) == "" and axis.tick(-2) == ""


@pytest.mark.parametrize(
    ("labels", "note"),
    [
        (["abc", "def"], "row 1 holds 'abc', not a date"),
        (["0", "1", "2"], "row 1 holds '0', not a date"),
        (["20200101", "20200102"], "row 1 holds '20200101', not a date"),
        (["2020-01-01", ""], "row 2 is empty, not a date in the form of row 1 ('2020-01-01')"),
        (["2020-01-31", "2020-02-30"], "row 2 holds '2020-02-30', not a date"),
        (["2019-02-28", "2019-02-29"], "row 2 holds '2019-02-29', not a date"),
        (["2020-13", "2020-14"], "row 1 holds '2020-13', not a date"),
        (["0000", "0001"], "row 1 holds '0000', not a date"),
        (
            ["2020-01-01", "01/02/2020"],
            "row 2 holds '01/02/2020', not a date in the form of row 1 ('2020-01-01')",
        ),
        (
            ["2020", "2021", "20222"],
            "row 3 holds '20222', not a date in the form of row 1 ('2020')",
        ),
        (["2020-01-01", "2020-01-02", "today"], "row 3 holds 'today', not a date in the form"),
        (["2020-01-01T23:00", "2020-01-01T25:00"], "row 2 holds '2020-01-01T25:00', not a date"),
        (["31/1/2020 23:00", "31/1/2020 24:00"], "row 2 holds '31/1/2020 24:00', not a date"),
        (["13/1/2020 1:00", "32/1/2020 1:00", "1/2/2020 1:99"], "row 2 holds '32/1/2020 1:00'"),
    ],
)
def test_not_dates_notes(labels, note):
    axis = date_axis(labels)
    assert axis.dates is None
    assert axis.note is not None and axis.note.startswith(f"date column kept as labels: {note}")


def test_white_space_around_dates_is_ignored():
    axis = date_axis([" 2020-01-01", "2020-01-02 "])
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.labels == (" 2020-01-01", "2020-01-02 ")  # the text as read


def test_empty_column():
    axis = date_axis([])
    assert axis == DateAxis((), (), None, None)
    assert axis.future(2) == () and axis.iso(0) == "" and axis.tick(0) == ""


# --- day-first, month-first, separators -----------------------------------------------------------


def test_day_first_when_a_first_field_is_above_12():
    axis = date_axis(["30/01/2020", "31/01/2020", "01/02/2020"])
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.note == "read as day-first (30/01/2020)"
    assert axis.future(1) == ("2020-02-02",)


def test_month_first_when_a_second_field_is_above_12():
    axis = date_axis(["12/30/2019", "12/31/2019", "01/01/2020"])
    assert axis.note == "read as month-first (12/30/2019)"
    assert axis.dates is not None and axis.dates[2] == datetime(2020, 1, 1)


def test_ambiguous_is_month_first_and_says_so():
    axis = date_axis(["01/02/2020", "01/03/2020", "01/04/2020"])
    assert axis.dates is not None and axis.dates[0] == datetime(2020, 1, 2)
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.note == (
        "read as month-first (01/02/2020 is January 2): no value shows whether days or months "
        "come first"
    )


def test_ambiguous_takes_the_only_regular_reading():
    """Month-first these are Jan 1, Feb 2, May 3 (irregular); day-first, every 32 days."""
    axis = date_axis(["01/01/2020", "02/02/2020", "05/03/2020"])
    assert axis.frequency is not None and axis.frequency.describe() == "every 32 days"
    assert (
        axis.note == "read as day-first: no value shows the order, and only day-first steps evenly"
    )


def test_conflicting_orders_are_not_dates():
    axis = date_axis(["13/01/2020", "14/01/2020", "01/13/2020"])
    assert axis.dates is None
    assert axis.note == (
        "date column kept as labels: row 1 ('13/01/2020') is day-first but row 3 ('01/13/2020') "
        "is month-first"
    )


@pytest.mark.parametrize(
    "labels",
    [
        ["28.02.2020", "29.02.2020", "01.03.2020"],
        ["28-02-2020", "29-02-2020", "01-03-2020"],
        ["28/2/2020", "29/2/2020", "1/3/2020"],
        ["2020/02/28", "2020/02/29", "2020/03/01"],
        ["2020.2.28", "2020.2.29", "2020.3.1"],
        ["2020-2-28", "2020-2-29", "2020-3-1"],
    ],
)
def test_separators_and_unpadded_fields(labels):
    axis = date_axis(labels)
    assert axis.dates == (datetime(2020, 2, 28), datetime(2020, 2, 29), datetime(2020, 3, 1))
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.future(1) == ("2020-03-02",)


def test_a_separator_that_changes_is_not_dates():
    axis = date_axis(["28/02/2020", "29.02.2020"])
    assert axis.dates is None
    assert axis.note is not None and "row 2 holds '29.02.2020'" in axis.note


@pytest.mark.parametrize(
    "labels",
    [
        ["31/01/2020 22:00", "31/01/2020 23:00", "01/02/2020 00:00"],
        ["31/01/2020 22:00:00", "31/01/2020 23:00:00", "01/02/2020 00:00:00"],
        ["31/1/2020 22:00", "31/1/2020 23:00", "1/2/2020 0:00"],
    ],
)
def test_separated_dates_with_times(labels):
    axis = date_axis(labels)
    assert axis.dates is not None and axis.dates[2] == datetime(2020, 2, 1)
    assert axis.frequency is not None and axis.frequency.describe() == "every hour"
    assert axis.future(1) == ("2020-02-01T01:00:00",)


def test_time_zones_are_dropped():
    axis = date_axis(["2020-01-01T00:00Z", "2020-01-01T01:00Z"])
    assert axis.dates == (datetime(2020, 1, 1, 0), datetime(2020, 1, 1, 1))
    assert axis.note is None
    axis = date_axis(["2020-03-28T12:00+01:00", "2020-03-29T12:00+02:00"])
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.note == "rows carry different time-zone offsets, which are ignored"


def test_daily_at_midnight_written_with_times_is_read_as_dates():
    axis = date_axis(["2020-01-01 00:00:00", "2020-01-02 00:00:00"])
    assert axis.precision == "day" and axis.future(1) == ("2020-01-03",)


# --- ticks ----------------------------------------------------------------------------------------


def test_ticks_by_frequency():
    assert date_axis(["1749", "1750"]).tick(0) == "1749"
    assert date_axis(["1749-01-31", "1749-02-28"]).tick(0.4) == "1749-01"
    assert date_axis(days("2020-01-30", 3)).tick(1) == "2020-01-31"
    assert date_axis(days("2020-01-03", 3, step=7)).tick(4) == "2020-01-31"
    hours = date_axis(["2020-01-31 10:00", "2020-01-31 11:00"])
    assert hours.tick(1) == "01-31 11:00" and hours.tick(2.5) == "01-31 13:00"


def test_ticks_continue_past_both_ends_with_a_frequency():
    axis = date_axis(month_ends(2020, 1, 3))
    assert axis.tick(-1) == "2019-12"
    assert axis.tick(13.4) == "2021-02"
    assert axis.tick(float("nan")) == ""


def test_irregular_ticks_follow_the_typical_step():
    months = date_axis(["2020-01-31", "2020-02-29", "2020-04-30"])
    assert months.tick(1) == "2020-02"
    dates = date_axis(["2020-01-01", "2020-01-02", "2020-01-05"])
    assert dates.tick(2) == "2020-01-05"


# --- size -----------------------------------------------------------------------------------------


def test_a_hundred_thousand_rows():
    labels = days("1800-01-01", 100_000)
    axis = date_axis(labels)
    assert axis.frequency is not None and axis.frequency.kind == "daily"
    assert axis.dates is not None and len(axis.dates) == 100_000
    assert axis.iso(99_999) == labels[-1]
    assert axis.future(1) == ((date.fromisoformat(labels[-1]) + timedelta(days=1)).isoformat(),)
    day_first = [f"{d[8:]}/{d[5:7]}/{d[:4]}" for d in labels]
    assert date_axis(day_first).dates == axis.dates
    bad = labels[:]
    bad[54_321] = "1948-02-30"
    assert (
        date_axis(bad).note
        == "date column kept as labels: row 54322 holds '1948-02-30', not a date"
    )
