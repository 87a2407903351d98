"""Training pane: optimizer and schedule fields, the run log, and the run's charts.

The charts are loss/MAE per epoch, learning rate per epoch, the LR sweep and the validation
forecast. On a wide screen all four show in a grid; on a narrow one the pane shows one at a time
(``c`` cycles, and a starting or finishing run brings its chart forward).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import ProgressBar, RichLog, Static

from engine.errors import DataError
from engine.events import (
    BatchProgress,
    EpochEnded,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SweepPoint,
)
from engine.series import load_series
from engine.specs import Experiment, SweepSpec, TrainSpec
from tui.chart import Chart
from tui.figures import ZOOMS, History, forecast_figure, loss_figure, lr_figure, sweep_figure
from tui.form import SpecForm, field_defs
from tui.numbers import fmt_number
from tui.pane import Pane

TRAIN_FIELDS = field_defs(
    TrainSpec,
    "train",
    ("optimizer", "learning_rate", "momentum", "loss", "epochs", "seed", "validate"),
    learning_rate="learning rate",
    validate="validation loss each epoch",
)
SWEEP_FIELDS = field_defs(
    SweepSpec,
    "sweep",
    ("start", "epochs_per_decade", "epochs", "early_stop"),
    start="start rate",
    epochs_per_decade="epochs/decade",
    early_stop="stop when loss explodes",
)
LOG_LINES = 2000
UPDATE_INTERVAL = 0.5  # seconds between screen updates while events stream in
CHARTS = ("loss-chart", "lr-chart", "sweep-chart", "forecast-chart")


class ChartDeck(Container, can_focus=True):
    """The four charts; focusable so the chart keys work without leaving the keyboard."""


def epoch_lines(event: EpochEnded) -> tuple[str, ...]:
    """An epoch's log line, then shorter forms for narrow logs.

    Fields go in this order: the epoch total (the progress bar shows it), the epoch's seconds,
    the word "MAE" of "val MAE", the training MAE; loss and validation MAE (the course's
    measure) stay to the last.
    """
    n, total = f"{event.epoch:>4}", f"/{event.total_epochs}"
    loss, mae = f" loss {event.loss:#.4g}", f" MAE {event.mae:#.4g}"
    secs = f" {event.seconds:.2f}s"
    if event.val_mae is None:
        return (n + total + loss + mae + secs, n + loss + mae + secs, n + loss + mae, n + loss)
    val, short_val = f" val MAE {event.val_mae:#.4g}", f" val {event.val_mae:#.4g}"
    return (
        n + total + loss + mae + val + secs,
        n + loss + mae + val + secs,
        n + loss + mae + val,
        n + loss + mae + short_val,
        n + loss + short_val,
    )


def fitting(variants: tuple[str, ...], width: int) -> str:
    """The first line (Rich markup) that fits ``width`` cells, else the shortest; the first
    while the width is not known yet."""
    if width <= 0:
        return variants[0]
    for line in variants:
        if Text.from_markup(line).cell_len <= width:
            return line
    return variants[-1]


class TrainingPane(Pane):
    TITLE = "Training"
    BINDINGS = [
        Binding(
            "l",
            "toggle_log",
            "Log y",
            tooltip="Loss and sweep charts: toggle a log y axis",
            id="training.toggle_log",
        ),
        Binding(
            "s",
            "toggle_smooth",
            "Smooth",
            tooltip="Loss chart: toggle smoothing",
            id="training.toggle_smooth",
        ),
        Binding(
            "z",
            "zoom",
            "Zoom",
            tooltip="Loss and LR charts: all epochs / last 100 / 50 / 20",
            id="training.zoom",
        ),
        Binding(
            "c",
            "next_chart",
            "Chart",
            tooltip="Narrow screens: show the next chart",
            id="training.next_chart",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="training")
        self._committed: tuple[TrainSpec, SweepSpec] | None = None
        self.history = History()
        self.sweep_lrs: list[float] = []
        self.sweep_losses: list[float] = []
        self.suggestions: dict[str, float] = {}
        self.forecast: tuple[list[float], list[float], list[float], dict[str, float]] | None = None
        self.log_y = False
        self.smoothed = False
        self.zoom = 0
        self.current_chart = 0
        self._actual: tuple[list[float], list[float]] | None = None  # time, values of validation
        # The log as plain text; the RichLog only lays lines out once it has been shown.
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES)
        # What events changed and the screen does not show yet (see _flush).
        self._pending_log: list[tuple[str, ...]] = []
        self._status: str | None = None
        self._progress: tuple[int, int] | None = None
        self._dirty: set[str] = set()
        self._flush_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="train-left", classes="form-column"):
                with VerticalScroll(id="train-form", can_focus=False):
                    yield Static("Training", classes="form-heading")
                    yield SpecForm(TRAIN_FIELDS, id="train")
                    yield Static("LR sweep", classes="form-heading")
                    yield SpecForm(SWEEP_FIELDS, id="sweep")
                yield Static("No run yet.", id="run-status")
                yield ProgressBar(id="progress", show_eta=False, total=1)
                yield RichLog(id="log", wrap=True, markup=True, max_lines=LOG_LINES, min_width=20)
            with ChartDeck(id="charts"):
                yield Chart(hint="No epochs yet. Press ctrl+t to train.", id="loss-chart")
                yield Chart(hint="No epochs yet.", id="lr-chart")
                yield Chart(
                    hint="No sweep yet. Press ctrl+r to sweep learning rates.", id="sweep-chart"
                )
                yield Chart(hint="No forecast yet.", id="forecast-chart")

    def on_mount(self) -> None:
        self.query_one("#progress").display = False  # shown from the first run on
        self.show_experiment(self.experiment)
        self._select_chart(0)
        self.redraw()

    def home(self) -> ChartDeck:
        return self.query_one("#charts", ChartDeck)

    # --- fields ----------------------------------------------------------------------------------

    def show_experiment(self, experiment: Experiment) -> None:
        if self._committed == (experiment.train, experiment.sweep):
            return
        self.query_one("#train", SpecForm).load(experiment.train)
        self.query_one("#sweep", SpecForm).load(experiment.sweep)
        self._committed = (experiment.train, experiment.sweep)
        self._momentum_state(experiment.train.optimizer)
        self.set_problems(0)

    def _momentum_state(self, optimizer: object) -> None:
        row = self.query_one("#train", SpecForm).row("momentum")
        row.disabled = optimizer != "sgd"

    @on(SpecForm.Changed)
    def _form_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        train_form = self.query_one("#train", SpecForm)
        sweep_form = self.query_one("#sweep", SpecForm)
        tvalues, tproblems = train_form.read()
        svalues, sproblems = sweep_form.read()
        self._momentum_state(train_form.row("optimizer").get_raw())
        train_form.mark({name: str(p) for name, p in tproblems.items()})
        sweep_form.mark({name: str(p) for name, p in sproblems.items()})
        self.set_problems(len(tproblems) + len(sproblems))
        if tproblems or sproblems:
            return
        train, sweep = TrainSpec(**tvalues), SweepSpec(**svalues)
        self._committed = (train, sweep)
        self.seqlab.commit(dataclasses.replace(self.experiment, train=train, sweep=sweep))

    # --- runs ------------------------------------------------------------------------------------

    def write_log(self, text: str, *shorter: str) -> None:
        """One line (Rich markup) at the end of the run log (drawn at the next flush).

        ``shorter``: the same line with fewer fields, shortest last; the log shows the first that
        fits its width (a narrow terminal would otherwise wrap an epoch over two lines).
        """
        self.log_lines.append(Text.from_markup(text).plain)
        self._pending_log.append((text, *shorter))
        self._schedule()

    def begin(self, kind: str, experiment: Experiment, engine_ready: bool) -> None:
        """A run is starting: clear its charts and bring them forward."""
        if kind == "train":
            self.history = History()
            self.forecast = None
            try:
                series = load_series(experiment.series, experiment.window.window)
                self._actual = (series.time_valid.tolist(), series.valid.tolist())
            except DataError:
                self._actual = None
            self._select_chart(0)
        else:
            self.sweep_lrs, self.sweep_losses, self.suggestions = [], [], {}
            self._select_chart(2)
        total = experiment.train.epochs if kind == "train" else experiment.sweep.epochs
        self.query_one("#progress", ProgressBar).display = True
        self._progress = (total, 0)
        self._dirty.update(("train", "sweep", "forecast"))
        self.show_waiting(kind, engine_ready)

    def show_waiting(self, kind: str, engine_ready: bool) -> None:
        """Says what a run sent to the engine, and not started yet, waits for (and draws)."""
        if not engine_ready:
            self._status = f"{kind}: waiting for TensorFlow…"
        else:  # the engine reports a run once its first batches ran: compiling takes seconds
            self._status = f"{kind}: compiling the model…"
        self._flush()

    def show_event(self, event: Event, kind: str) -> None:
        """Takes in one engine event of the live run; the screen follows at UPDATE_INTERVAL.

        Epochs can arrive dozens of times a second; drawing each one would take CPU from the
        training process on a small machine, so updates are gathered and drawn together.
        """
        if isinstance(event, RunStarted):
            self._progress = (event.total_epochs, 0)
            self._status = (
                f"{kind}: started, {event.total_epochs} epochs × {event.steps_per_epoch} batches"
            )
            params = f", {event.params:,} params" if event.params else ""
            self.write_log(
                f"[b]▶ {kind} {escape(event.experiment_name)}[/b]: {event.total_epochs} epochs × "
                f"{event.steps_per_epoch} batches{params}"
            )
            for note in event.notes:
                self.write_log(f"  note: {escape(note)}")
        elif isinstance(event, BatchProgress):
            self._status = f"{kind}: epoch {event.epoch} · batch {event.step}/{event.steps}"
        elif isinstance(event, EpochEnded):
            self.history.add(event)
            self._progress = (event.total_epochs, event.epoch)
            self._status = (
                f"{kind}: epoch {event.epoch}/{event.total_epochs} · loss {event.loss:.4g}"
            )
            self.write_log(*epoch_lines(event))
            self._dirty.add("train")
        elif isinstance(event, SweepPoint):
            self.sweep_lrs.append(event.learning_rate)
            self.sweep_losses.append(event.loss)
            self._progress = (event.total_epochs, event.epoch)
            lr = fmt_number(event.learning_rate)
            self._status = f"sweep: epoch {event.epoch}/{event.total_epochs} · lr {lr}"
            n, rest = f"{event.epoch:>4}", f" lr {lr} loss {event.loss:#.4g}"
            self.write_log(f"{n}/{event.total_epochs}{rest}", n + rest)
            self._dirty.add("sweep")
        elif isinstance(event, RunFinished):
            self._finished(event)
        elif isinstance(event, RunStopped):
            self._status = f"{kind}: stopped after {event.epochs} epochs"
            where = f" · saved to {escape(event.run_dir)}" if event.run_dir else ""
            reason = escape(event.reason)
            self.write_log(f"[b]■ stopped[/b] after {event.epochs} epochs: {reason}{where}")
        elif isinstance(event, RunFailed):
            self._status = f"{kind}: failed"
            self.write_log(f"[b red]✗ {kind} failed:[/] {escape(event.message)}")
        if isinstance(event, (RunFinished, RunStopped, RunFailed)):
            self._flush()  # the end of a run shows at once
        else:
            self._schedule()

    def _schedule(self) -> None:
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(UPDATE_INTERVAL, self._flush)

    def _flush(self) -> None:
        """Draws what events changed since the last flush: log lines, status, progress, charts."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        log = self.query_one("#log", RichLog)
        # Lines are fitted to the width left once the scrollbar shows, so it never rewraps them.
        width = log.scrollable_content_region.width
        if not log.show_vertical_scrollbar:
            width -= log.styles.scrollbar_size_vertical
        for variants in self._pending_log:
            log.write(fitting(variants, width))
        self._pending_log.clear()
        if self._status is not None:
            self.query_one("#run-status", Static).update(self._status, layout=False)  # one line
            self._status = None
        if self._progress is not None:
            total, done = self._progress
            self.query_one("#progress", ProgressBar).update(total=total, progress=done)
            self._progress = None
        for which in self._dirty:
            self.redraw(which)
        self._dirty.clear()

    def _finished(self, event: RunFinished) -> None:
        where = f" · saved to {escape(event.run_dir)}" if event.run_dir else ""
        if event.kind == "sweep":
            self.suggestions = dict(event.suggestions)
            names = " · ".join(f"{k} {fmt_number(v)}" for k, v in self.suggestions.items())
            self._status = "sweep: finished"
            self.write_log(
                f"[b]■ sweep finished[/b] after {event.epochs} epochs: {names or 'no suggestion'}"
            )
            if self.suggestions:
                self.write_log("  ctrl+l uses a suggested learning rate for training")
            self._dirty.add("sweep")
            return
        m = event.metrics
        time, actual = self._actual or ([], [])
        self.forecast = (time, actual, list(event.forecast), dict(m))
        mae, naive = m.get("val_mae", math.nan), m.get("naive_mae", math.nan)
        self._status = f"finished · MAE {mae:.3f} · naive {naive:.3f}"
        self.write_log(
            f"[b]■ finished[/b] {event.epochs} epochs in {event.seconds:.1f}s: "
            f"validation MAE {mae:.3f}, naive MAE {naive:.3f}{where}"
        )
        self._select_chart(3)
        self._dirty.update(("train", "forecast"))

    # --- charts ----------------------------------------------------------------------------------

    def redraw(self, which: str = "all") -> None:
        last_n = ZOOMS[self.zoom]
        if which in ("all", "train"):
            self.query_one("#loss-chart", Chart).show(
                loss_figure(self.history, log_y=self.log_y, smoothed=self.smoothed, last_n=last_n)
            )
            self.query_one("#lr-chart", Chart).show(lr_figure(self.history, last_n=last_n))
        if which in ("all", "sweep"):
            self.query_one("#sweep-chart", Chart).show(
                sweep_figure(self.sweep_lrs, self.sweep_losses, self.suggestions, log_y=self.log_y)
            )
        if which in ("all", "forecast"):
            time, actual, forecast, metrics = self.forecast or (None, None, None, None)
            self.query_one("#forecast-chart", Chart).show(
                forecast_figure(time, actual, forecast, metrics)
            )

    def _select_chart(self, index: int) -> None:
        self.current_chart = index % len(CHARTS)
        for i, chart_id in enumerate(CHARTS):
            self.query_one(f"#{chart_id}", Chart).set_class(i == self.current_chart, "-current")

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.redraw()

    def action_toggle_smooth(self) -> None:
        self.smoothed = not self.smoothed
        self.redraw("train")

    def action_zoom(self) -> None:
        self.zoom = (self.zoom + 1) % len(ZOOMS)
        self.redraw("train")

    def action_next_chart(self) -> None:
        self._select_chart(self.current_chart + 1)
