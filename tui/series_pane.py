"""Series pane: the synthetic series or a CSV column, the windowing, and a chart of the series.

The app opens on this pane, so its first frame shows the form with the experiment's values and
nothing more; the series itself (numpy) and its chart (plotext) are loaded in the frame after,
keeping both imports off the path to the first frame.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from engine.errors import DataError
from engine.specs import CsvSeries, Experiment, SyntheticSeries, WindowSpec, check
from tui.form import SpecForm, compact, field_defs
from tui.numbers import dates_text
from tui.pane import Pane

if TYPE_CHECKING:
    from engine.series import Series
    from tui.chart import Chart

SYNTHETIC_FIELDS = field_defs(
    SyntheticSeries,
    "series",
    (
        "length",
        "baseline",
        "slope",
        "period",
        "amplitude",
        "phase",
        "noise_level",
        "seed",
        "split_time",
    ),
    noise_level="noise level",
    split_time="split time",
)
CSV_FIELDS = field_defs(
    CsvSeries,
    "series",
    ("path", "column", "header", "date_column", "split_time", "period"),
    path="CSV file",
    header="first row is a header",
    date_column="date column",
    split_time="split time",
)
WINDOW_FIELDS = field_defs(
    WindowSpec,
    "window",
    ("window", "batch_size", "shuffle_buffer"),
    window="window size",
    batch_size="batch size",
    shuffle_buffer="shuffle buffer",
)
SOURCES = {"synthetic": SyntheticSeries, "csv": CsvSeries}
SOURCE_FIELDS = {"synthetic": SYNTHETIC_FIELDS, "csv": CSV_FIELDS}


class SeriesPane(Pane):
    """Edits ``experiment.series`` and ``.window``; commits them only when every field holds."""

    TITLE = "Series"
    BINDINGS = [
        Binding(
            "ctrl+o",
            "open_csv",
            "Open CSV",
            tooltip="Choose a CSV file: its columns, their types, the split",
            id="series.open_csv",
        ),
    ]

    @classmethod
    def help_rows(cls) -> list[tuple[str, str]]:
        """The pane's keys as F1 lists them, then the CSV picker's."""
        from tui.csv_picker import HELP_ROWS
        from tui.screens import binding_rows

        return binding_rows(cls.BINDINGS) + HELP_ROWS

    def __init__(self) -> None:
        super().__init__(id="series")
        self._committed: tuple[object, WindowSpec] | None = None
        self.series: Series | None = None
        self._chart: Chart | None = None  # mounted after the first frame

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="series-form", classes="form-column", can_focus=False):
                with Horizontal(classes="field-line", id="source-line"):
                    yield Label("source", classes="field-label")
                    yield compact(
                        Select(
                            [("synthetic (course)", "synthetic"), ("CSV file", "csv")],
                            allow_blank=False,
                            id="series-source",
                        )
                    )
                # Only the form of the experiment's source is built now (a fast first frame);
                # the other is mounted when the source changes.
                spec = self.experiment.series
                yield SpecForm(SOURCE_FIELDS[spec.source], id=spec.source)
                yield Static("Windows", classes="form-heading")
                yield SpecForm(WINDOW_FIELDS, id="windows")
            with Vertical(id="series-view"):
                yield Static("", id="series-summary")

    def on_mount(self) -> None:
        exp = self.experiment
        self.query_one("#series-source", Select).value = exp.series.source
        self.query_one(f"#{exp.series.source}", SpecForm).load(exp.series)
        self.query_one("#windows", SpecForm).load(exp.window)
        self.call_after_refresh(self._add_chart)

    async def _add_chart(self) -> None:
        """After the first frame: the chart, then the series checked and drawn."""
        from tui.chart import Chart

        self._chart = Chart(hint="No valid series: fix the marked field.", id="series-chart")
        await self.query_one("#series-view").mount(self._chart, before="#series-summary")
        self.show_experiment(self.seqlab.experiment)

    @property
    def source(self) -> str:
        value = self.query_one("#series-source", Select).value
        return value if isinstance(value, str) else "synthetic"

    def show_experiment(self, experiment: Experiment) -> None:
        if self._chart is None or self._committed == (experiment.series, experiment.window):
            return  # before the chart is mounted, _add_chart shows the experiment then in force
        spec = experiment.series
        select = self.query_one("#series-source", Select)
        with select.prevent(Select.Changed):
            select.value = spec.source
        self._committed = (experiment.series, experiment.window)
        self.query_one("#windows", SpecForm).load(experiment.window)
        if self.query(f"#{spec.source}"):
            self._show_source(spec.source)
            self.query_one(f"#{spec.source}", SpecForm).load(spec)
            for form in self.query(SpecForm).results(SpecForm):
                if form.id in SOURCES and form.id != spec.source:
                    form.load(SOURCES[form.id]())
            self.revalidate(commit=False)
        else:
            self._mount_form(spec.source, spec)

    def _mount_form(self, source: str, spec: object) -> None:
        """Builds the form of a source not shown before; it posts Changed once it holds ``spec``."""
        form = SpecForm(SOURCE_FIELDS[source], id=source, initial=spec)
        self.query_one("#series-form").mount(form, after="#source-line")
        self._show_source(source)

    def _show_source(self, source: str) -> None:
        for form in self.query(SpecForm).results(SpecForm):
            if form.id in SOURCES:
                form.display = form.id == source

    @on(Select.Changed, "#series-source")
    def _source_changed(self) -> None:
        if self._chart is None:
            return  # the value set on mount; the chart's arrival checks the form
        source = self.source
        no_file = source == "csv"
        if not self.query(f"#{source}"):
            self._mount_form(source, SOURCES[source]())  # a CSV form without a file
        else:
            self._show_source(source)
            self.revalidate()
            no_file = no_file and not self.query_one("#csv-path", Input).value.strip()
        if no_file:
            self.action_open_csv()  # the picker shows what each file holds

    def action_open_csv(self) -> None:
        """Opens the CSV picker; the series it gives is committed as if typed into the form."""
        from tui.csv_picker import CsvPickerScreen

        current = self.experiment.series
        if not isinstance(current, CsvSeries) and self.query("#csv-path"):
            typed = self.query_one("#csv-path", Input).value  # a path typed but not in force
            current = CsvSeries(path=typed)
        picker = CsvPickerScreen(current, self.experiment.window.window)
        self.app.push_screen(picker, self._csv_chosen)

    def _csv_chosen(self, spec: CsvSeries | None) -> None:
        """Shows the chosen series in the CSV form and checks it with the windows in force; a
        window that does not fit is marked at the window field and nothing is committed."""
        if spec is None:
            return
        select = self.query_one("#series-source", Select)
        with select.prevent(Select.Changed):
            select.value = "csv"
        if not self.query("#csv"):
            self._mount_form("csv", spec)  # posts Changed once it holds spec: checked then
            return
        self._show_source("csv")
        self.query_one("#csv", SpecForm).load(spec)
        self.revalidate()

    @on(SpecForm.Changed)
    def _form_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        if self._chart is not None:
            self.revalidate()

    def revalidate(self, commit: bool = True) -> None:
        """Checks every field; when all hold, the series and windows go into the experiment."""
        from engine.series import load_series

        source = self.source
        form = self.query_one(f"#{source}", SpecForm)
        windows = self.query_one("#windows", SpecForm)
        values, problems = form.read()
        wvalues, wproblems = windows.read()
        marks = {name: str(p) for name, p in problems.items()}
        wmarks = {name: str(p) for name, p in wproblems.items()}
        series = None
        if not marks and not wmarks:
            spec = SOURCES[source](**values)
            window = WindowSpec(**wvalues)
            for fp in check(spec, "series") + check(window, "window"):
                target = marks if fp.path.startswith("series.") else wmarks
                target.setdefault(fp.path.split(".")[-1], str(fp))
            if not marks and not wmarks:
                try:
                    series = load_series(spec, window.window)
                except DataError as exc:  # marked at its field: series.column, window.window
                    target = wmarks if exc.field.startswith("window.") else marks
                    target[exc.field.rsplit(".", 1)[-1]] = str(exc)
        form.mark(marks)
        windows.mark(wmarks)
        self.set_problems(len(marks) + len(wmarks))
        if series is not None:
            self.series = series
            if commit:
                self._committed = (spec, window)
                self.seqlab.commit(dataclasses.replace(self.experiment, series=spec, window=window))
        elif self.series is None or not commit:
            self.series = self._load_in_force()
        self._show_chart()

    def _load_in_force(self) -> Series | None:
        from engine.series import load_series

        exp = self.experiment
        try:
            return load_series(exp.series, exp.window.window)
        except DataError:
            return None

    def _show_chart(self) -> None:
        from tui.figures import series_figure

        if self._chart is None:
            return
        self._chart.show(series_figure(self.series))
        summary = self.query_one("#series-summary", Static)
        if self.series is None:
            summary.update("The experiment's series cannot be loaded: fix the marked field.")
            return
        s, w = self.series, self.experiment.window
        n_train = max(0, s.split_time - w.window)
        dates = f"{dates_text(s)} · " if s.dates is not None else ""
        summary.update(
            f"train {s.split_time} pts → {n_train} windows of {w.window} · "
            f"validation {len(s.valid)} pts · {dates}"
            + (
                "all fields valid"
                if not self.problems
                else f"{self.problems} field(s) not in force"
            )
        )
