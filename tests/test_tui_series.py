"""Pilot tests of the series pane: its forms, their problems and the chart that follows them."""

from __future__ import annotations

import numpy as np
import pytest
from pilot import error_of, make_app, pilot_test, ready, row, type_into
from textual.widgets import Input, Static

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
async def test_window_too_long_for_split_is_a_data_error_at_split_time(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await type_into(pilot, app, "windows-window", "1000")
        assert "too short for window 1000" in error_of(app, "synthetic", "split_time")
        assert app.experiment.window.window == 20


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
