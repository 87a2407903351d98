"""Runs view: saved runs in a table that tells them apart (data, model, optimizer and rate, epochs
kept, validation MAE beside the naive forecast's); open one to see its charts; compare two;
load one's experiment, export one (``x``: a script, a notebook, its experiment file, or where
its model is), delete one (asks first).

The table lists the runs on the series in force by default, best validation MAE first: a run on
other data is not ranked against them (``a`` shows every run, grouped by data). Its columns
are chosen by priority to fit the pane's width, so the table fits 80 columns.

An opened training run shows its loss curves and its forecast chart: the validation period with
the interval band, the forecast past the data it saved (future.csv) and, on ``b``, its backtest;
the forecast chart's keys are the training pane's (``tui.chart.forecast_bindings``). A run with
no forecast says why (a sweep, stopped or failed before it saved one, still running, damaged).
Two marked runs compared show the settings that differ (as key paths), their loss curves and
forecasts overlaid, and which is better by how much, each beside the naive forecast.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from engine.errors import SeqlabError
from engine.events import FutureForecast
from engine.runstore import RunInfo, RunStore, SavedForecast
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    CsvSeries,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    ModelSpec,
    Scale,
    SeriesSpec,
    SimpleRNN,
    SyntheticSeries,
    TrainSpec,
    layer_label,
)
from tui.chart import Chart, ForecastKeys, forecast_bindings
from tui.figures import (
    ACTUAL_COLOR,
    ACTUAL_MARKER,
    ForecastControls,
    ForecastView,
    History,
    compare_figure,
    fitting_span,
    loss_figure,
    saved_dates,
    sweep_figure,
)
from tui.numbers import coverage_text, ladder_text, shown, worse_than
from tui.pane import Pane
from tui.plotting import COLORS, Figure, Trace
from tui.screens import ConfirmScreen, PickScreen, binding_rows

CELL_PADDING = 1  # DataTable's padding on each side of a cell
SCROLLBAR = 2  # columns kept free for the table's vertical scrollbar
NAME_WIDTH = 18  # an experiment's name is cut to this many characters in the table
WIDE_NAME_WIDTH = 28  # and to this many in a pane this wide
WIDE = 110
DATA_WIDTH = 20
DIFF_SHOWN = 4  # settings that differ shown in a comparison before "… and N more"
DIFF_SHOWN_TALL = 16  # on a screen of at least TALL lines
TALL = 32


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _worse(info: RunInfo) -> list[str]:
    return worse_than(
        {"val_mae": info.val_mae, "naive_mae": info.naive_mae, "linear_mae": info.linear_mae}
    )


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- what tells runs apart ----------------------------------------------------------------------


def _layer_code(layer: object) -> str | None:
    """A layer in a few characters ("RNN40", "BiLSTM32", "D1"); None for the course's Lambdas
    (ExpandDims, Scale), which every course model has and which say little about it."""
    if isinstance(layer, Bidirectional):
        inner = _layer_code(layer.layer)
        return f"Bi{inner}" if inner else "Bi"
    if isinstance(layer, SimpleRNN):
        return f"RNN{layer.units}"
    if isinstance(layer, (LSTM, GRU)):
        return f"{'LSTM' if isinstance(layer, LSTM) else 'GRU'}{layer.units}"
    if isinstance(layer, Conv1D):
        return f"Conv{layer.filters}"
    if isinstance(layer, Dense):
        return f"D{layer.units}"
    if isinstance(layer, Dropout):
        return f"Drop{layer.rate:g}"
    if isinstance(layer, (ExpandDims, Scale)):
        return None
    return type(layer).__name__


def model_summary(model: ModelSpec) -> str:
    """The stack in one short cell: consecutive equal layers counted, e.g. "RNN40×2→D1"."""
    codes = [c for c in (_layer_code(layer) for layer in model.layers) if c]
    groups: list[list[Any]] = []
    for code in codes:
        if groups and groups[-1][0] == code:
            groups[-1][1] += 1
        else:
            groups.append([code, 1])
    return "→".join(code if n == 1 else f"{code}×{n}" for code, n in groups) or "(empty)"


def data_label(series: SeriesSpec) -> str:
    """Where a run's data came from: "synthetic" (with a * when its settings are not the
    course's), or the CSV file's name and column ("sales.csv:value")."""
    if isinstance(series, CsvSeries):
        return f"{Path(series.path).name}:{series.column}"
    if isinstance(series, SyntheticSeries) and series != SyntheticSeries():
        return "synthetic*"
    return "synthetic"


def data_key(series: SeriesSpec) -> SeriesSpec:
    """What makes two runs' data the same: the whole series spec (values, split), a CSV file
    by its absolute path (a run records the path as it was typed)."""
    if isinstance(series, CsvSeries) and series.path:
        try:
            path = str(Path(series.path).expanduser().resolve())
        except (OSError, RuntimeError):
            return series
        return dataclasses.replace(series, path=path)
    return series


def optimizer_label(train: TrainSpec) -> str:
    return f"{train.optimizer} {train.learning_rate:g}"


def _value(value: object) -> str:
    """A setting's value as a comparison shows it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (SyntheticSeries, CsvSeries)):
        return data_label(value)
    if is_dataclass(value):
        return layer_label(value)
    if isinstance(value, tuple):
        return ", ".join(_value(v) for v in value) or "(none)"
    return shown(value)


def config_diff(a: object, b: object, path: str = "") -> list[tuple[str, str, str]]:
    """The settings that differ between two experiments: (key path, first's value, second's),
    e.g. ("train.learning_rate", "5e-06", "1e-05"). The names and descriptions are left out
    (the comparison names the runs); two different stacks are one line of model summaries, a
    stack that differs only in a layer's settings its layers' own key paths."""
    if a == b:
        return []
    if is_dataclass(a) and type(a) is type(b) and not isinstance(a, type):
        out: list[tuple[str, str, str]] = []
        for f in fields(a):
            if not path and f.name in ("name", "description"):
                continue
            sub = f"{path}.{f.name}" if path else f.name
            out += config_diff(getattr(a, f.name), getattr(b, f.name), sub)
        return out
    if isinstance(a, tuple) and isinstance(b, tuple):
        kinds_a = [type(x) for x in a]
        if len(a) != len(b) or kinds_a != [type(y) for y in b]:
            return [(path, model_summary(ModelSpec(a)), model_summary(ModelSpec(b)))]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += config_diff(x, y, f"{path}[{i}]")
        return out
    return [(path, _value(a), _value(b))]


def diff_text(diff: Sequence[tuple[str, str, str]], limit: int = DIFF_SHOWN) -> str:
    """The comparison's "settings that differ" line."""
    if not diff:
        return "the same settings (only the name differs)"
    parts = [f"{key} {old} → {new}" for key, old, new in diff[:limit]]
    more = f" · … and {len(diff) - limit} more" if len(diff) > limit else ""
    return "settings that differ: " + " · ".join(parts) + more


def _beats_naive(info: RunInfo) -> Text | str:
    """The "vs naive" cell: ✓ better / ✗ worse, readable without colour."""
    if info.val_mae is None or info.naive_mae is None:
        return "–"
    if info.val_mae < info.naive_mae:
        return Text("✓ better", style="bold green")
    return Text("✗ worse", style="bold red")


def _why_none(info: RunInfo) -> str:
    """Why a run has no validation MAE (or no forecast), in a few words."""
    reason = f" ({info.reason})" if info.reason else ""
    if info.kind == "sweep":
        return "a learning-rate sweep makes no forecast"
    if info.status == "running":
        return "it is still training"
    if info.status == "stopped":
        if info.epochs == 0:
            return "it was stopped before its first epoch ended, so it kept nothing"
        return f"it was stopped{reason} before it saved one"
    if info.status == "pruned":
        # a search's trial its scheduler ended early; after an epoch it kept a model like a stop
        return f"its search pruned it early{reason} before it saved one"
    if info.status == "failed":
        return f"it failed{reason}"
    if info.status == "interrupted":
        return f"it was interrupted{reason}"
    if info.status == "corrupt":
        return f"its files are damaged{reason}"
    return "it saved none (no forecast.csv)"


def no_forecast_hint(info: RunInfo) -> str:
    """What the forecast chart says for a run without a forecast, and why it has none."""
    if info.kind == "sweep":
        return (
            "No forecast: this run is a learning-rate sweep. It trains at a rising rate to find "
            "one (its loss per rate is on the left); a training run makes forecasts."
        )
    if info.status == "running":
        return "No forecast yet: this run is still training; it appears when the run finishes."
    return f"No forecast: {_why_none(info)}."


def no_epochs_hint(info: RunInfo) -> str:
    """What the loss chart says for a saved run without a single epoch."""
    if info.status == "running":
        return "No epochs yet: this run is still on its first epoch."
    if info.status in ("stopped", "pruned", "failed", "interrupted"):
        done = "was pruned" if info.status == "pruned" else info.status
        return f"No epochs: the run {done} before its first epoch ended."
    if info.status == "corrupt":
        return f"No epochs can be read: {info.reason or 'its history is damaged'}."
    return "No epochs saved with this run."


def mae_comparison(first: RunInfo, second: RunInfo) -> str:
    """Which of two runs is better on the validation period and by how much, and each beside
    the naive forecast (✓ beat it, ✗ did not)."""
    pair = ((1, first), (2, second))
    parts = []
    if first.val_mae is not None and second.val_mae is not None:
        a, b = first.val_mae, second.val_mae
        if a == b:
            parts.append(f"the same validation MAE ({a:.3f})")
        else:
            (n_best, best), (_, worst) = sorted(pair, key=lambda p: p[1].val_mae or 0.0)
            hi, lo = worst.val_mae or 0.0, best.val_mae or 0.0
            pct = f", {100 * (hi - lo) / hi:.1f}%" if hi > 0 else ""
            parts.append(
                f"{n_best}: {shown(best.name)} is better: validation MAE {lo:.3f} vs {hi:.3f} "
                f"({hi - lo:.3f} lower{pct})"
            )
    for n, info in pair:
        if info.val_mae is None:
            parts.append(f"{n} has no validation MAE: {_why_none(info)}")
    scored = [(n, i) for n, i in pair if i.val_mae is not None and i.naive_mae is not None]
    one_naive = len({i.naive_mae for _, i in scored}) == 1
    versus = []
    for n, info in scored:
        gap = (info.naive_mae or 0.0) - (info.val_mae or 0.0)
        mark, word = ("✓", "better") if gap > 0 else ("✗", "worse")
        than = "" if one_naive else f" than {info.naive_mae:.3f}"
        versus.append(f"{n} {mark} {abs(gap):.3f} {word}{than}")
    if versus:
        naive = f" {scored[0][1].naive_mae:.3f}" if one_naive else ""
        parts.append(f"vs naive{naive}: " + ", ".join(versus))
    return " · ".join(parts)


def compare_forecast_figure(
    runs: Sequence[tuple[str, SavedForecast | None]], span: int | None, hints: Sequence[str] = ()
) -> Figure:
    """Two runs' validation forecasts over the same last ``span`` points, against the actual
    values (the first run's; a caption says when the other's actual values differ, i.e. the
    runs forecast different data). ``hints``: why a run has no forecast, one per run."""
    saved = [(label, f) for label, f in runs if f is not None and len(f.time)]
    missing = [h for h, (_, f) in zip(hints, runs, strict=False) if f is None or not len(f.time)]
    if not saved:
        return Figure(title="forecasts", hint="Neither run has a forecast: " + " · ".join(missing))
    times = saved[0][1].time
    for _, f in saved[1:]:
        times = np.intersect1d(times, f.time)
    if not len(times):
        return Figure(
            title="forecasts",
            hint="The two runs forecast different periods: no point is in both.",
        )
    n = len(times)
    shown_times = times if span is None else times[-span:]
    colours = (COLORS[0], COLORS[3])
    markers = ("braille", "+")
    traces = []
    reference = saved[0][1]
    caption = list(missing)
    for i, (label, f) in enumerate(saved):
        at = np.isin(f.time, shown_times)
        traces.append(Trace(f.time[at], f.forecast[at], label, colours[i % 2], markers[i % 2]))
        if i and not np.allclose(
            f.actual[np.isin(f.time, times)], reference.actual[np.isin(reference.time, times)]
        ):
            caption.append("the actual values differ: these runs forecast different data")
    at = np.isin(reference.time, shown_times)
    traces.append(
        Trace(
            reference.time[at],
            reference.actual[at],
            "actual",
            ACTUAL_COLOR,
            ACTUAL_MARKER,
            points=True,
        )
    )
    ticks = saved_dates(reference)
    return Figure(
        title="forecasts vs actual",
        traces=tuple(traces),
        xlabel=f"last {len(shown_times)} of {n} validation points",
        whole_x=True,
        xtick=ticks.tick if ticks is not None else None,
        caption=(" · ".join(caption),) if caption else (),
    )


# --- the table's columns ------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    priority: int  # lower stays longer when the pane is narrow


# In display order; priorities decide which fit (the data column rises when every run is shown).
COLUMNS = (
    Column("mark", " ", 0),
    Column("name", "experiment", 1),
    Column("data", "data", 9),
    Column("status", "status", 4),
    Column("model", "model", 7),
    Column("optimizer", "optimizer", 8),
    Column("kept", "kept", 5),
    Column("val_mae", "val MAE", 2),
    Column("naive", "naive", 6),
    Column("beat", "vs naive", 3),
    Column("linear", "linear", 10),
    Column("created", "created", 11),
)
DATA_PRIORITY_ALL = 3  # with every run shown, the data tells the groups apart


@dataclass(frozen=True)
class RunRow:
    """A run as the table shows it: its info and, when readable, its experiment."""

    info: RunInfo
    experiment: Experiment | None

    def cells(self, marked: bool, name_width: int = NAME_WIDTH) -> dict[str, Text | str]:
        info, exp = self.info, self.experiment
        if info.kind == "sweep":
            kept = "sweep"
        else:
            best = "–" if info.best_epoch is None else str(info.best_epoch)
            kept = f"{best}/{info.epochs}"
        score: Text | str = _num(info.val_mae)
        if _worse(info):  # a baseline did better: the linear one, or naive too (see beat naive)
            score = Text(_num(info.val_mae), style="bold yellow")
        return {
            "mark": "●" if marked else " ",
            "name": Text(_cut(shown(info.name), name_width)),  # from a file: no markup
            "status": info.status,
            "data": Text(_cut(shown(data_label(exp.series)), DATA_WIDTH)) if exp else "?",
            "model": model_summary(exp.model) if exp else "?",
            "optimizer": optimizer_label(exp.train) if exp else "?",
            "kept": kept,
            "val_mae": score,
            "naive": _num(info.naive_mae),
            "beat": _beats_naive(info),
            "linear": _num(info.linear_mae),
            "created": info.created.replace("T", " ")[:16],
        }


def _cell_width(cell: Text | str) -> int:
    return cell.cell_len if isinstance(cell, Text) else Text(cell).cell_len


def fit_columns(
    rows: Sequence[dict[str, Text | str]], width: int, show_all: bool = False
) -> list[Column]:
    """The columns that fit ``width`` cells, taken by priority, in display order."""
    need = {}
    for col in COLUMNS:
        widest = max((_cell_width(r[col.key]) for r in rows), default=0)
        need[col.key] = max(Text(col.title).cell_len, widest) + 2 * CELL_PADDING

    def priority(col: Column) -> int:
        return DATA_PRIORITY_ALL if show_all and col.key == "data" else col.priority

    chosen: set[str] = set()
    used = 0
    for col in sorted(COLUMNS, key=lambda c: (priority(c), COLUMNS.index(c))):
        if used + need[col.key] <= width or col.key in ("mark", "name"):
            chosen.add(col.key)
            used += need[col.key]
    return [c for c in COLUMNS if c.key in chosen]


# The export menu (x): (key in the menu, kind, menu line, palette title / F1 line)
EXPORTS = (
    (
        "s",
        "script",
        "Script (.py): numpy + Keras code that reproduces the run",
        "Export the selected run as a Python script",
    ),
    (
        "n",
        "notebook",
        "Notebook (.ipynb): the same steps as cells, with plots",
        "Export the selected run as a Jupyter notebook",
    ),
    (
        "t",
        "experiment",
        "Experiment (.toml): the run's settings (seqlab run FILE)",
        "Export the selected run's experiment (TOML)",
    ),
    (
        "m",
        "model",
        "Model path: model.keras, and how to load it in Keras",
        "Show (and copy) the selected run's model path",
    ),
)
WHAT = {"script": "script", "notebook": "notebook", "experiment": "experiment file"}
MENU_KEYS = {key: kind for key, kind, _, _ in EXPORTS}
TYPE_AHEAD = 1.0  # seconds after x in which a menu key counts as typed ahead of the menu


def load_snippet(model: Path) -> str:
    """The line that loads a saved model in plain Keras (no seqlab needed)."""
    return f"keras.saving.load_model({str(model)!r})"


class RunsPane(ForecastKeys, Pane):
    TITLE = "Runs"
    DEFAULT_CSS = """
    #runs-filter {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Show the run's charts", id="runs.open"),
        Binding("space", "mark", "Mark", tooltip="Mark a run for comparison", id="runs.mark"),
        Binding(
            "c",
            "compare",
            "Compare",
            tooltip="Compare the two marked runs: settings, loss curves, forecasts, MAE",
            id="runs.compare",
        ),
        Binding(
            "e",
            "edit",
            "Load",
            tooltip="Load the run's experiment into the panes",
            id="runs.edit",
        ),
        Binding("r", "reload", "Reload", tooltip="Read the runs folder again", id="runs.reload"),
        Binding(
            "x",
            "export",
            "Export",
            tooltip="Export the selected run: script, notebook, experiment file, model path",
            id="runs.export",
        ),
        Binding(
            "a",
            "toggle_all",
            "All runs",
            show=False,
            tooltip="Show every run (grouped by data) / only the runs on this series",
            id="runs.all",
        ),
        Binding(
            "l",
            "log_y",
            "Log y",
            show=False,
            tooltip="Loss chart: log / linear y axis",
            id="runs.log_y",
        ),
        Binding(
            "delete",
            "delete",
            "Delete",
            show=False,
            tooltip="Delete the selected run's folder (asks first)",
            id="runs.delete",
        ),
        *forecast_bindings("runs"),
    ]

    def __init__(self, store: RunStore) -> None:
        super().__init__(id="runs")
        self.store = store
        self.runs: list[RunInfo] = []  # the runs the table shows, in its order
        self.rows: list[RunRow] = []  # every run read, with its experiment
        self.hidden = 0  # runs on other data, not shown
        self.show_all = False
        self.marked: list[str] = []  # run ids, in the order they were marked
        self.opened: str | None = None
        self.comparing: tuple[str, str] | None = None
        self.log_y = False
        self.view: ForecastView | None = None  # the opened training run's forecast
        self.view_path: Path | None = None
        self.controls = ForecastControls()
        self._left: Callable[[bool], Figure] | None = None  # the loss chart, by log y
        self._columns: list[str] = []
        self._experiments: dict[str, tuple[tuple[int, int], Experiment | None]] = {}
        self._x_at: float | None = None  # when x was pressed, until its menu opens
        self._ahead: str | None = None  # a menu key typed before the menu opened

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(
                id="runs-table", cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING
            )
            yield Static("", id="runs-filter")
            yield Static("", id="runs-status")
            yield Static("", id="run-detail")
            with Horizontal(id="run-charts"):
                yield Chart(hint="Open a run (enter) to see its curves.", id="run-chart")
                yield Chart(hint="", id="run-forecast")

    def on_mount(self) -> None:
        self.reload()

    def home(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    # --- the table -------------------------------------------------------------------------------

    def _experiment_of(self, info: RunInfo) -> Experiment | None:
        """The run's experiment (read once per file version), None where it cannot be read."""
        try:
            st = (Path(info.path) / "experiment.toml").stat()
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            return None
        cached = self._experiments.get(info.run_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            exp: Experiment | None = self.store.experiment(Path(info.path))
        except SeqlabError:
            exp = None
        self._experiments[info.run_id] = (key, exp)
        return exp

    def reload(self) -> None:
        """Reads the runs folder again (after every run, and on r)."""
        self.rows = [RunRow(info, self._experiment_of(info)) for info in self.store.runs()]
        ids = {r.info.run_id for r in self.rows}
        self.marked = [m for m in self.marked if m in ids]
        self._show_rows()

    def _on_this_data(self, row: RunRow) -> bool:
        """A run on the series in force (one whose experiment cannot be read is kept: it is
        listed so its problem can be seen)."""
        if row.experiment is None:
            return True
        return data_key(row.experiment.series) == data_key(self.experiment.series)

    def _show_rows(self) -> None:
        """Fills the table with the runs the filter keeps, in the columns that fit."""
        table = self.query_one("#runs-table", DataTable)
        current = self._cursor_run()
        here = [r for r in self.rows if self._on_this_data(r)]
        if self.show_all:
            # grouped by data (this series' first): runs on other data are not ranked with them
            order: dict[SeriesSpec | None, int] = {}

            def group(r: RunRow) -> int:
                if self._on_this_data(r) or r.experiment is None:
                    return -1
                return order.setdefault(data_key(r.experiment.series), len(order))

            shown_rows = sorted(self.rows, key=group)
            self.hidden = 0
        else:
            shown_rows = here
            self.hidden = len(self.rows) - len(here)
        self.runs = [r.info for r in shown_rows]
        width = max(0, (self.size.width or self.app.size.width) - SCROLLBAR)
        names = WIDE_NAME_WIDTH if width >= WIDE else NAME_WIDTH
        cells = [r.cells(r.info.run_id in self.marked, names) for r in shown_rows]
        columns = fit_columns(cells, width, self.show_all)
        keys = [c.key for c in columns]
        table.clear(columns=keys != self._columns)
        if keys != self._columns:
            for col in columns:
                table.add_column(col.title, key=col.key)
            self._columns = keys
        for info, row in zip(self.runs, cells, strict=True):
            table.add_row(*(row[k] for k in keys), key=info.run_id)
        if self.runs:
            ids = [i.run_id for i in self.runs]
            at = ids.index(current.run_id) if current and current.run_id in ids else 0
            table.move_cursor(row=at)
        self._show_filter(len(shown_rows), width >= WIDE)

    def _show_filter(self, count: int, wide: bool) -> None:
        """The line under the table: which runs are shown, how many are hidden, and (where
        there is room for them on one line) the keys; F1 lists them all."""
        line = self.query_one("#runs-filter", Static)
        if not self.rows:
            line.update(
                Text(shown(f"No saved runs in {self.store.root} yet: train one with ctrl+t."))
            )
            return
        data = data_label(self.experiment.series)
        if self.show_all:
            text = f"all {count} runs, grouped by data (a: only {data})"
        else:
            text = f"{count} run{'' if count == 1 else 's'} on this series ({data})"
            if self.hidden:
                text += f" · {self.hidden} on other data hidden (a shows all)"
        corrupt = sum(r.status == "corrupt" for r in self.runs)
        if corrupt:
            text += f" · {corrupt} corrupt (enter shows why)"
        if wide:
            text += " · enter opens · space marks two, c compares · e loads · del deletes"
        line.update(Text(shown(text)))

    def on_resize(self) -> None:
        if self.rows:
            width = max(0, self.size.width - SCROLLBAR)
            names = WIDE_NAME_WIDTH if width >= WIDE else NAME_WIDTH
            cells = [r.cells(False, names) for r in self.rows]
            if [c.key for c in fit_columns(cells, width, self.show_all)] != self._columns:
                self._show_rows()

    def show_experiment(self, experiment: Experiment) -> None:
        """Another series in force: the table shows the runs on it."""
        if self.rows:
            self._show_rows()

    def _cursor_run(self) -> RunInfo | None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row < 0 or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    def _row(self, run_id: str) -> RunRow | None:
        return next((r for r in self.rows if r.info.run_id == run_id), None)

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._show_rows()

    # --- one run's charts ------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self) -> None:
        self.action_open()

    def open_run(self, run_id: str) -> bool:
        """Reads the folder again and opens the run ``run_id`` (a search's trial, which may be on
        other data: then every run is shown); False when there is no such run."""
        self.reload()
        if run_id not in {i.run_id for i in self.runs} and run_id in {
            r.info.run_id for r in self.rows
        }:
            self.show_all = True
            self._show_rows()
        ids = [i.run_id for i in self.runs]
        if run_id not in ids:
            return False
        self.query_one("#runs-table", DataTable).move_cursor(row=ids.index(run_id))
        self.action_open()
        return True

    def action_open(self) -> None:
        info = self._cursor_run()
        if info is None:
            return
        self.opened, self.comparing = info.run_id, None
        self.query_one("#runs-status", Static).display = False  # an earlier action's line
        self.view, self.view_path = None, None
        self.controls.reset()
        path = Path(info.path)
        metrics = self.store.metrics(path)
        if any(p.startswith("metrics.json") for p in info.problems):
            metrics = {}  # the wrong shape: its scores are not shown
        text = (
            f"{info.name} · {info.kind} · {info.status} · {info.epochs}/{info.total_epochs} epochs"
        )
        if info.reason:
            text += f" · {info.reason}"
        try:
            text += self._show_charts(info, path, metrics)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            self.view, self.view_path = None, None  # a damaged file's odd value: shown as such
            text += f" · cannot show its charts ({type(exc).__name__}: {exc})"
        self.query_one("#run-detail", Static).update(Text(f"{shown(text)}\n{shown(info.path)}"))
        self.seqlab.refresh_bindings()

    def _show_charts(self, info: RunInfo, path: Path, metrics: dict[str, Any]) -> str:
        """Draws the opened run's charts; the detail text that follows its header."""
        forecast_chart = self.query_one("#run-forecast", Chart)
        text = ""
        if info.kind == "sweep":
            points = self.store.sweep_points(path)
            lrs, losses = [p[0] for p in points], [p[1] for p in points]
            suggestions = metrics.get("suggestions", {})
            if not isinstance(suggestions, dict):
                suggestions = {}
            recommended = metrics.get("recommended")

            def sweep(log_y: bool) -> Figure:
                return sweep_figure(lrs, losses, suggestions, recommended=recommended)

            self._draw_left(sweep)
            forecast_chart.show(Figure(title="forecast", hint=no_forecast_hint(info)))
            return " · a sweep: its loss per learning rate is on the left, no forecast"
        history = History.from_rows(self.store.history(path), kept=info.best_epoch)

        def losses_figure(log_y: bool) -> Figure:
            figure = loss_figure(history, log_y=log_y)
            return (
                figure if len(history) else dataclasses.replace(figure, hint=no_epochs_hint(info))
            )

        self._draw_left(losses_figure)
        self.view = ForecastView.from_saved(
            self.store.forecast(path),
            self.store.future(path),
            metrics,
            backtest=self.store.backtest(path),
        )
        self.view_path = path
        self._redraw_forecast()
        if info.val_mae is not None:
            if info.status != "finished":
                text += " · kept its results"
            text += f" · validation {ladder_text(metrics, 3)}"
            if info.best_epoch is not None and info.best_epoch != info.epochs:
                text += f" · kept epoch {info.best_epoch}"
            worse = _worse(info)
            if worse:
                text += f" · worse than {' and '.join(worse)}"
        text += self._forecast_detail(self.view)
        return text

    def _draw_left(self, build: Callable[[bool], Figure]) -> None:
        self._left = build
        self.query_one("#run-chart", Chart).show(build(self.log_y))

    def action_log_y(self) -> None:
        self.log_y = not self.log_y
        if self._left is not None:
            self.query_one("#run-chart", Chart).show(self._left(self.log_y))

    @staticmethod
    def _forecast_detail(view: ForecastView) -> str:
        """The interval's coverage and what the forecast chart can show, after the ladder."""
        parts = []
        if view.level is not None and view.coverage is not None:
            parts.append(coverage_text(view.level, view.coverage))
        if view.future is not None:
            parts.append(f"{len(view.future.values)} steps forecast past the data")
        if view.backtest is not None:
            bt = view.backtest
            parts.append(f"backtest 1–{bt.horizon} steps ahead (b)")
        return "".join(f" · {p}" for p in parts)

    def _redraw_forecast(self) -> None:
        chart = self.query_one("#run-forecast", Chart)
        info = next((r for r in self.runs if r.run_id == self.opened), None)
        if (self.view is None or not len(self.view)) and info is not None:
            chart.show(Figure(title="forecast", hint=no_forecast_hint(info)))
            return
        chart.show(self.controls.figure(self.view, chart.size.width))

    def show_future(self, run_dir: str, future: FutureForecast) -> bool:
        """A forecast past the data arrived for ``run_dir``: shown if it is the opened run."""
        if self.view is None or self.view_path is None:
            return False
        if Path(run_dir).expanduser().resolve() != self.view_path.expanduser().resolve():
            return False
        self.view = self.view.with_future(future)
        self.controls.offset, self.controls.residuals, self.controls.backtest = 0, False, False
        self._redraw_forecast()
        return True

    # --- the forecast chart's keys ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The forecast chart's keys apply to an opened training run with a forecast."""
        if action == "forecast_backtest":
            return self.view is not None and self.view.backtest is not None
        if action == "forecast_future":
            return self.view_path is not None
        if action.startswith("forecast_"):
            return self.view is not None and len(self.view) > 0
        return True

    def _forecast_key(self, change: Callable[[ForecastControls, int], None]) -> None:
        if self.view is not None:
            change(self.controls, len(self.view))
            self._redraw_forecast()

    def action_forecast_future(self) -> None:
        if self.view_path is None:
            return
        steps = self.view.future.values if self.view and self.view.future else ()
        self.seqlab.ask_forecast(str(self.view_path), len(steps) or self.experiment.forecast.future)

    # --- comparing two runs ----------------------------------------------------------------------

    def action_mark(self) -> None:
        info = self._cursor_run()
        if info is None:
            return
        if info.run_id in self.marked:
            self.marked.remove(info.run_id)
        else:
            self.marked = (self.marked + [info.run_id])[-2:]
        table = self.query_one("#runs-table", DataTable)
        for run in self.runs:
            table.update_cell(run.run_id, "mark", "●" if run.run_id in self.marked else " ")
        if len(self.marked) == 2:
            self.say("Two runs marked: c compares them.")

    def action_compare(self) -> None:
        rows = [self._row(r) for r in self.marked]
        if len(self.marked) != 2 or None in rows:
            self.say("Mark two training runs with space, then press c.", error=True)
            return
        first, second = rows[0], rows[1]
        assert first is not None and second is not None
        sweeps = [r.info.run_id for r in (first, second) if r.info.kind == "sweep"]
        if sweeps:
            self.say(
                f"Run {sweeps[0]} is a learning-rate sweep: it has no epochs or forecast to "
                "compare. Mark two training runs.",
                error=True,
            )
            return
        self.comparing = (first.info.run_id, second.info.run_id)
        self.query_one("#runs-status", Static).display = False  # the comparison says it all
        self.opened, self.view, self.view_path = None, None, None
        labels = [f"{n}: {_cut(shown(r.info.name), 16)}" for n, r in ((1, first), (2, second))]
        curves = [
            (label, History.from_rows(self.store.history(Path(r.info.path))))
            for label, r in zip(labels, (first, second), strict=True)
        ]

        def losses(log_y: bool) -> Figure:
            return compare_figure(curves, log_y=log_y)

        self._draw_left(losses)
        chart = self.query_one("#run-forecast", Chart)
        saved = [self.store.forecast(Path(r.info.path)) for r in (first, second)]
        hints = [f"{n} has no forecast: {_why_none(r.info)}" for n, r in ((1, first), (2, second))]
        chart.show(
            compare_forecast_figure(
                list(zip(labels, saved, strict=True)), fitting_span(chart.size.width), hints
            )
        )
        self.query_one("#run-detail", Static).update(Text(self._compare_text(first, second)))
        self.seqlab.refresh_bindings()

    def _compare_text(self, first: RunRow, second: RunRow) -> str:
        a, b = first.info, second.info
        tall = self.app.size.height >= TALL  # a short screen keeps room for the charts
        if tall:
            lines = [shown(f"comparing 1: {a.name} ({a.run_id}) vs 2: {b.name} ({b.run_id})")]
        else:
            lines = [shown(f"comparing 1: {a.name} vs 2: {b.name}")]
        mae = mae_comparison(a, b)
        if first.experiment is not None and second.experiment is not None:
            sa, sb = first.experiment.series, second.experiment.series
            if data_key(sa) != data_key(sb):
                mae = (
                    f"different data ({shown(data_label(sa))} vs {shown(data_label(sb))}): their "
                    f"MAEs are not comparable · {mae}"
                )
            lines.append(mae)
            limit = DIFF_SHOWN_TALL if tall else DIFF_SHOWN
            # two training runs: the sweep's settings played no part in either
            diff = config_diff(first.experiment, second.experiment)
            diff = [d for d in diff if not d[0].startswith("sweep.")]
            lines.append(diff_text(diff, limit))
        else:
            lines.append(mae)
            lines.append("the settings cannot be compared: an experiment.toml cannot be read")
        return "\n".join(lines)

    # --- actions on a run ------------------------------------------------------------------------

    def action_edit(self) -> None:
        info = self._cursor_run()
        if info is None:
            self.say("No run to load: train one with ctrl+t.", error=True)
            return
        try:
            exp = self.store.experiment(Path(info.path))
        except SeqlabError as exc:
            self.say(f"Cannot load run {info.run_id}'s experiment: {exc}", error=True)
            return

        def loaded(yes: bool) -> None:
            if yes:
                self.say(
                    f"Loaded run {info.run_id}'s experiment ({exp.name}) into the panes: "
                    "1 Series, 2 Model and 3 Training show it · ctrl+t trains it again"
                )
            else:
                self.say(f"Kept the edits: run {info.run_id}'s experiment was not loaded.")

        # over unsaved edits the app asks first; ``loaded`` hears the answer
        self.seqlab.load_or_ask(exp, f"run {info.run_id}", loaded)

    def action_reload(self) -> None:
        self.reload()
        self.say(f"Read {len(self.rows)} runs from {self.store.root}.")

    def action_delete(self) -> None:
        info = self._cursor_run()
        if info is None:
            self.say("No run to delete.", error=True)
            return
        live = self.seqlab.live
        if info.status == "running" or (live is not None and live.run_id == info.run_id):
            self.say(
                f"Run {info.run_id} is running: stop it (ctrl+x) before deleting it.", error=True
            )
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete(info)
            else:
                self.say(f"Kept run {info.run_id}.")

        self.app.push_screen(
            ConfirmScreen(
                f"Delete run {info.run_id} ({shown(info.name)}, {info.status})?",
                "Delete its folder and every file in it",
                "Keep it",
                note=f"{shown(info.path)} · y deletes · n or esc keeps it",
            ),
            confirmed,
        )

    def delete(self, info: RunInfo) -> None:
        """Deletes a run's folder through the store (which refuses anything but a run of its
        own that is not running) and says what happened."""
        try:
            self.store.delete(Path(info.path))
        except SeqlabError as exc:
            self.say(str(exc), error=True)
            return
        if self.opened == info.run_id or (self.comparing and info.run_id in self.comparing):
            self._clear_charts()
        self.marked = [m for m in self.marked if m != info.run_id]
        self.reload()
        self.say(f"Deleted run {info.run_id} ({info.name}): its folder {info.path} is gone.")

    def _clear_charts(self) -> None:
        self.opened, self.comparing, self.view, self.view_path, self._left = (None,) * 5
        self.query_one("#run-chart", Chart).show(
            Figure(hint="Open a run (enter) to see its curves.")
        )
        self.query_one("#run-forecast", Chart).show(Figure(hint=""))
        self.query_one("#run-detail", Static).update("")
        self.seqlab.refresh_bindings()

    # --- export ----------------------------------------------------------------------------------

    @classmethod
    def help_rows(cls) -> list[tuple[str, str]]:
        """The pane's keys as F1 lists them, the export menu's ("x s": press x, then s) right
        after x."""
        rows = binding_rows(cls.BINDINGS)
        at = next(i for i, (key, _) in enumerate(rows) if key == "x") + 1
        return rows[:at] + [(f"x {key}", title) for key, _, _, title in EXPORTS] + rows[at:]

    def palette_commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """Each export of the selected run as a command of its own (ctrl+p), when one is."""
        info = self._cursor_run()
        if info is None:
            return
        for key, kind, _, title in EXPORTS:
            yield f"{title} (x {key})", f"Runs pane: {info.run_id}", partial(self.export, kind)

    def say(self, text: str, error: bool = False) -> None:
        """A line under the runs table (what an export did), also written to the log."""
        line = self.query_one("#runs-status", Static)
        shown_text = "\n".join(shown(part) for part in text.split("\n"))  # names from files
        line.update(Text(shown_text, style="bold red" if error else "bold"))
        line.display = True
        self.seqlab.log_line(text)

    def on_key(self, event: events.Key) -> None:
        """x then a menu key typed fast: the second key arrives before x's binding has opened
        the menu, so it is kept here and the menu is skipped."""
        if event.key == "x":
            self._x_at, self._ahead = time.monotonic(), None
        elif self._x_at is not None and time.monotonic() - self._x_at < TYPE_AHEAD:
            kind = MENU_KEYS.get(event.key)
            if kind is not None:
                self._ahead = kind
                event.stop()

    def action_export(self) -> None:
        ahead, self._ahead, self._x_at = self._ahead, None, None
        info = self._cursor_run()
        if info is None:
            self.say("No run to export: train one with ctrl+t.", error=True)
            return
        if ahead is not None:
            self.export(ahead)
            return

        def picked(kind: str | None) -> None:
            if kind:
                self.export(kind)

        choices = [(kind, f"{key}  {label}") for key, kind, label, _ in EXPORTS]
        menu = PickScreen(
            f"Export run {info.run_id}",
            choices,
            note="s n t m or enter picks · esc cancels",
            keys=MENU_KEYS,
        )
        self.app.push_screen(menu, picked)

    def export(self, kind: str) -> None:
        """Exports the selected run as ``kind`` (asking where), or shows its model path."""
        info = self._cursor_run()
        if info is None:
            self.say("No run selected: pick one in the table first.", error=True)
            return
        if kind == "model":
            self.show_model_path(info)
            return
        from engine import export  # pure Python: no TensorFlow

        default = export.default_path(info.run_id, kind)
        self.seqlab.ask_file(
            f"Write the {WHAT[kind]} of run {info.run_id} to",
            default,
            partial(self._write_export, info, kind),
        )

    def _write_export(self, info: RunInfo, kind: str, path: Path) -> None:
        from engine import export

        try:
            written = export.export_run(self.store, str(info.path), kind, path, overwrite=True)
        except (SeqlabError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.say(f"Cannot export the {WHAT[kind]}: {reason}", error=True)
            self.app.notify(reason, title="Not exported", severity="error", markup=False)
            return
        use = {
            "script": f"python {written.name} reproduces the run",
            "notebook": "open it in Jupyter",
            "experiment": f"seqlab run {written.name} trains it again",
        }[kind]
        self.say(f"Wrote the {WHAT[kind]} to {written} · {use}")

    def show_model_path(self, info: RunInfo) -> None:
        """Says where the run's model is and how to load it; copies the path."""
        if info.kind == "sweep":
            self.say(f"Run {info.run_id} is a learning-rate sweep: it saves no model.", True)
            return
        model = Path(info.path).absolute() / "model.keras"
        if not model.is_file():
            self.say(f"Run {info.run_id} saved no model ({info.status}: no model.keras).", True)
            return
        self.app.copy_to_clipboard(str(model))
        self.say(f"Model (path copied): {model}\nLoad it in Python: {load_snippet(model)}")
