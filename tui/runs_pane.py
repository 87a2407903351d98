"""Runs view: saved runs, best validation MAE first; open one to see its charts; compare two."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from engine.errors import SeqlabError
from engine.runstore import RunInfo, RunStore
from tui.chart import Chart
from tui.figures import History, compare_figure, forecast_figure, loss_figure, sweep_figure
from tui.numbers import ladder_text, worse_than
from tui.pane import Pane


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


class RunsPane(Pane):
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
    ]

    def __init__(self, store: RunStore) -> None:
        super().__init__(id="runs")
        self.store = store
        self.runs: list[RunInfo] = []
        self.marked: list[str] = []  # run ids, in the order they were marked
        self.opened: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
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
                info.name,
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
            detail.update(
                f"{len(self.runs)} runs in {self.store.root} · enter opens · "
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
        path = Path(info.path)
        chart = self.query_one("#run-chart", Chart)
        forecast_chart = self.query_one("#run-forecast", Chart)
        metrics = self.store.metrics(path)
        text = (
            f"{info.name} · {info.kind} · {info.status} · {info.epochs}/{info.total_epochs} epochs"
        )
        if info.reason:
            text += f" · {info.reason}"
        if info.kind == "sweep":
            points = self.store.sweep_points(path)
            lrs, losses = [p[0] for p in points], [p[1] for p in points]
            suggestions = metrics.get("suggestions", {}) or {}
            chart.show(
                sweep_figure(lrs, losses, suggestions, recommended=metrics.get("recommended"))
            )
            forecast_chart.show(forecast_figure(None, None, None))
        else:
            history = History.from_rows(self.store.history(path), kept=info.best_epoch)
            chart.show(loss_figure(history))
            data = self.store.forecast(path)
            if data is None:
                forecast_chart.show(forecast_figure(None, None, None, metrics))
            else:
                forecast_chart.show(forecast_figure(data.time, data.actual, data.forecast, metrics))
            if info.val_mae is not None:
                text += f" · validation {ladder_text(metrics, 3)}"
                if info.best_epoch is not None and info.best_epoch != info.epochs:
                    text += f" · kept epoch {info.best_epoch}"
                worse = _worse(info)
                if worse:
                    text += f" · worse than {' and '.join(worse)}"
        self.query_one("#run-detail", Static).update(text + f"\n{info.path}")

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
        self.query_one("#run-forecast", Chart).show(forecast_figure(None, None, None))
        names = " vs ".join(f"{n}: {by_id[r].run_id}" for n, r in enumerate(self.marked, start=1))
        self.query_one("#run-detail", Static).update(f"comparing {names}")

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
