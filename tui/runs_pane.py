"""Runs view: saved runs, best validation MAE first; open one to see its charts; compare two;
export one (``x``: a script, a notebook, its experiment file, or where its model is).

An opened training run shows its loss curves and its forecast chart: the validation period with
the interval band, the forecast past the data it saved (future.csv) and, on ``b``, its backtest;
the forecast chart's keys are the training pane's (``tui.chart.forecast_bindings``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from engine.errors import SeqlabError
from engine.events import FutureForecast
from engine.runstore import RunInfo, RunStore
from tui.chart import Chart, ForecastKeys, forecast_bindings
from tui.figures import (
    ForecastControls,
    ForecastView,
    History,
    compare_figure,
    forecast_figure,
    loss_figure,
    sweep_figure,
)
from tui.numbers import coverage_text, ladder_text, shown, worse_than
from tui.pane import Pane
from tui.screens import PickScreen, binding_rows


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _worse(info: RunInfo) -> list[str]:
    return worse_than(
        {"val_mae": info.val_mae, "naive_mae": info.naive_mae, "linear_mae": info.linear_mae}
    )


def _score(info: RunInfo) -> Text | str:
    """The validation MAE cell: marked ✗ where a baseline did better."""
    if _worse(info):
        return Text(f"{_num(info.val_mae)} ✗", style="bold yellow")
    return _num(info.val_mae)


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
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Show the run's charts", id="runs.open"),
        Binding("space", "mark", "Mark", tooltip="Mark a run for comparison", id="runs.mark"),
        Binding(
            "c",
            "compare",
            "Compare",
            tooltip="Compare the loss curves of the two marked runs",
            id="runs.compare",
        ),
        Binding(
            "e",
            "edit",
            "Edit",
            tooltip="Load the run's experiment into the editor",
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
        *forecast_bindings("runs"),
    ]

    def __init__(self, store: RunStore) -> None:
        super().__init__(id="runs")
        self.store = store
        self.runs: list[RunInfo] = []
        self.marked: list[str] = []  # run ids, in the order they were marked
        self.opened: str | None = None
        self.view: ForecastView | None = None  # the opened training run's forecast
        self.view_path: Path | None = None
        self.controls = ForecastControls()
        self._x_at: float | None = None  # when x was pressed, until its menu opens
        self._ahead: str | None = None  # a menu key typed before the menu opened

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="runs-status")
            yield Static("", id="run-detail")
            with Horizontal(id="run-charts"):
                yield Chart(hint="Open a run (enter) to see its curves.", id="run-chart")
                yield Chart(hint="", id="run-forecast")

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.add_column(" ", key="mark", width=1)
        for key, title in (
            ("name", "experiment"),
            ("kind", "kind"),
            ("status", "status"),
            ("epochs", "epochs"),
            ("val_mae", "val MAE"),
            ("naive", "naive"),
            ("linear", "linear"),
            ("kept", "kept"),
            ("created", "created"),
        ):
            table.add_column(title, key=key)
        self.reload()

    def home(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    def reload(self) -> None:
        """Reads the runs folder again (after every run, and on r)."""
        table = self.query_one("#runs-table", DataTable)
        cursor = table.cursor_row
        self.runs = self.store.runs()
        ids = {r.run_id for r in self.runs}
        self.marked = [m for m in self.marked if m in ids]
        table.clear()
        for info in self.runs:
            table.add_row(
                "●" if info.run_id in self.marked else " ",
                Text(shown(info.name)),  # a name from a file: no markup, no control characters
                info.kind,
                info.status,
                f"{info.epochs}/{info.total_epochs}",
                _score(info),
                _num(info.naive_mae),
                _num(info.linear_mae),
                "–" if info.best_epoch is None else str(info.best_epoch),
                info.created.replace("T", " "),
                key=info.run_id,
            )
        if self.runs:
            table.move_cursor(row=min(cursor, len(self.runs) - 1))
        detail = self.query_one("#run-detail", Static)
        if not self.runs:
            detail.update(f"No saved runs in {self.store.root} yet: train one with ctrl+t.")
        elif self.opened is None:
            corrupt = sum(r.status == "corrupt" for r in self.runs)
            damaged = f" · {corrupt} corrupt (enter shows why)" if corrupt else ""
            detail.update(
                f"{len(self.runs)} runs in {self.store.root}{damaged} · enter opens · "
                "space marks two to compare"
            )

    def _cursor_run(self) -> RunInfo | None:
        table = self.query_one("#runs-table", DataTable)
        if not self.runs or table.cursor_row < 0 or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        info = self._cursor_run()
        if info is None:
            return
        self.opened = info.run_id
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
        chart = self.query_one("#run-chart", Chart)
        forecast_chart = self.query_one("#run-forecast", Chart)
        text = ""
        if info.kind == "sweep":
            points = self.store.sweep_points(path)
            lrs, losses = [p[0] for p in points], [p[1] for p in points]
            suggestions = metrics.get("suggestions", {})
            if not isinstance(suggestions, dict):
                suggestions = {}
            chart.show(
                sweep_figure(lrs, losses, suggestions, recommended=metrics.get("recommended"))
            )
            forecast_chart.show(forecast_figure(None))
        else:
            history = History.from_rows(self.store.history(path), kept=info.best_epoch)
            chart.show(loss_figure(history))
            self.view = ForecastView.from_saved(
                self.store.forecast(path),
                self.store.future(path),
                metrics,
                backtest=self.store.backtest(path),
            )
            self.view_path = path
            self._redraw_forecast()
            if info.val_mae is not None:
                text += f" · validation {ladder_text(metrics, 3)}"
                if info.best_epoch is not None and info.best_epoch != info.epochs:
                    text += f" · kept epoch {info.best_epoch}"
                worse = _worse(info)
                if worse:
                    text += f" · worse than {' and '.join(worse)}"
            text += self._forecast_detail(self.view)
        return text

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

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.app.notify("Mark two training runs with space, then press c.", severity="warning")
            return
        by_id = {r.run_id: r for r in self.runs}
        curves = []
        for n, run_id in enumerate(self.marked, start=1):
            info = by_id[run_id]
            curves.append(
                (f"{n}: {info.name}", History.from_rows(self.store.history(Path(info.path))))
            )
        self.query_one("#run-chart", Chart).show(compare_figure(curves))
        self.view, self.view_path = None, None
        self.query_one("#run-forecast", Chart).show(forecast_figure(None))
        names = " vs ".join(f"{n}: {by_id[r].run_id}" for n, r in enumerate(self.marked, start=1))
        self.query_one("#run-detail", Static).update(Text(shown(f"comparing {names}")))

    def action_edit(self) -> None:
        info = self._cursor_run()
        if info is None:
            return
        try:
            exp = self.store.experiment(Path(info.path))
        except SeqlabError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.seqlab.load_experiment(exp, f"run {info.run_id}")

    def action_reload(self) -> None:
        self.reload()

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
