"""Training pane: optimizer and schedule fields, the run log, and the run's charts.

The charts are loss/MAE per epoch, learning rate per epoch, the LR sweep and the validation
forecast. On a wide screen all four show in a grid; on a narrow one the pane shows one at a time
(``c`` cycles, and a starting or finishing run brings its chart forward) under a "chart 2/4"
line. ``m`` maximises the chart in front to the whole right side (on a narrow screen the form
column gives way too) and back.

Results belong to the experiment they came from: once a field that matters changes (the model,
the data, the window, the training settings), a sweep's rates are set aside (ctrl+l no longer
offers them, the sweep chart says why) and the last training run's charts are marked as of an
earlier experiment; they apply again if the experiment is put back as it was.

The log keeps its lines as they were written (each with shorter forms) and fits them to its
width when it is shown and again whenever that width changes, so a line written while the pane
was hidden is not wrapped at RichLog's fallback width forever.

The forecast chart shows a window of the validation period (``-``/``+`` narrow and widen it,
``[``/``]`` scroll), the interval band and the forecast past the data; ``d`` shows the residuals,
``b`` the backtest, and ``f`` asks the engine for another number of steps past the data.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.markup import escape
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widgets import ProgressBar, RichLog, Static

from engine.errors import DataError
from engine.events import (
    BatchProgress,
    EpochEnded,
    Event,
    FutureForecast,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SweepPoint,
)
from engine.lint import USED_WHEN, Lint, unused_settings
from engine.series import Series, load_series
from engine.specs import Experiment, ForecastSpec, SweepSpec, TrainSpec
from tui.chart import Chart, ForecastKeys, forecast_bindings
from tui.figures import (
    ZOOMS,
    ForecastControls,
    ForecastView,
    History,
    fitting_span,
    loss_figure,
    lr_figure,
    sweep_figure,
)
from tui.form import SpecForm, field_defs
from tui.numbers import (
    backtest_lines,
    coverage_text,
    duration,
    eta_seconds,
    fmt_number,
    ladder_text,
    percent,
    shown,
    significant,
    worse_than,
)
from tui.pane import Pane
from tui.plotting import Figure

TRAIN_FIELDS = field_defs(
    TrainSpec,
    "train",
    (
        "optimizer",
        "learning_rate",
        "momentum",
        "nesterov",
        "weight_decay",
        "clipnorm",
        "loss",
        "epochs",
        "seed",
        "normalise",
        "holdout",
        "patience",
        "min_delta",
        "restore_best",
        "validate",
        "tensorboard",
        "schedule",
        "plateau_factor",
        "plateau_patience",
        "min_lr_ratio",
    ),
    empty={"clipnorm": "off", "patience": "off"},
    learning_rate="learning rate",
    nesterov="Nesterov momentum",
    clipnorm="clip norm",
    patience="stop after",
    min_delta="min gain",
    restore_best="keep the best holdout epoch",
    validate="validation loss each epoch",
    tensorboard="TensorBoard logs (run folder)",
    plateau_factor="plateau factor",
    plateau_patience="plateau epochs",
    min_lr_ratio="final LR ratio",
)
TRAIN_HEADINGS = {"normalise": "Data and model selection", "schedule": "Learning-rate schedule"}
SWEEP_FIELDS = field_defs(
    SweepSpec,
    "sweep",
    ("start", "mode", "epochs_per_decade", "epochs", "early_stop"),
    empty={"start": "by optimizer"},
    start="start rate",
    mode="rate per",
    epochs_per_decade="steps/decade",
    epochs="steps",
    early_stop="stop when loss explodes",
)
FORECAST_FIELDS = field_defs(
    ForecastSpec,
    "forecast",
    ("horizon", "strategy", "level", "future"),
    strategy="multi-step",
    level="interval level",
    future="steps past end",
)
LOG_LINES = 2000
UPDATE_INTERVAL = 0.5  # seconds between screen updates while events stream in
# While events stream in, each chart is drawn at most this often, and not this soon after a key
# drew it: each chart is a plotext build on the UI thread, and a key waits for one in progress.
CHART_INTERVAL = 1.0
CHARTS = ("loss-chart", "lr-chart", "sweep-chart", "forecast-chart")
CHART_NAMES = ("loss", "learning rate", "LR sweep", "forecast")
# What events mark as changed ("train", "sweep", "forecast") -> the charts ``redraw`` draws.
CHART_PARTS = {"train": ("loss", "lr"), "sweep": ("sweep",), "forecast": ("forecast",)}
# ``redraw``'s "which" -> the charts it draws ("loss", "lr", ... draw themselves)
REDRAWN = {
    "all": tuple(c for cs in CHART_PARTS.values() for c in cs),
    "train": CHART_PARTS["train"],
}
FORECAST_CHART = CHARTS.index("forecast-chart")
SWEEP_CHART = CHARTS.index("sweep-chart")
# Which parts of an experiment a result does not depend on: changing them leaves it in force.
# A sweep measures loss against rate for the model, data and optimizer: the rate it suggests,
# how long and how a run then trains, and what it forecasts do not change its curve.
SWEEP_IGNORES = {
    "train": frozenset(
        (
            "learning_rate",
            "epochs",
            "patience",
            "min_delta",
            "restore_best",
            "schedule",
            "plateau_factor",
            "plateau_patience",
            "min_lr_ratio",
            "validate",
            "tensorboard",
        )
    ),
    "forecast": frozenset(("level", "future")),
}
TRAIN_IGNORES = {"train": frozenset(("tensorboard",)), "forecast": frozenset(("future",))}
SECTION_NAMES = {
    "series": "data",
    "window": "window",
    "model": "model",
    "train": "training settings",
    "sweep": "sweep settings",
    "forecast": "forecast settings",
}
STALE_CAPTION = (
    "the last run, of an earlier experiment: ctrl+t trains this one",
    "last run, of an earlier experiment (ctrl+t)",
    "earlier experiment",
)


def _parts(experiment: Experiment, ignores: dict[str, frozenset[str]]) -> dict[str, object]:
    """The experiment's sections (not its name or description), less the ignored fields."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(experiment):
        if f.name in ("name", "description"):
            continue
        value = getattr(experiment, f.name)
        skip = ignores.get(f.name)
        if skip:
            value = tuple(
                (g.name, getattr(value, g.name))
                for g in dataclasses.fields(value)
                if g.name not in skip
            )
        out[f.name] = value
    return out


def changed_parts(kind: str, before: Experiment, now: Experiment) -> list[str]:
    """What changed between the experiment a ``kind`` run ("train", "sweep") ran on and
    ``now``, in the words the log uses ("model", "data", ...); [] while its results apply."""
    ignores = SWEEP_IGNORES if kind == "sweep" else TRAIN_IGNORES
    a, b = _parts(before, ignores), _parts(now, ignores)
    return [SECTION_NAMES.get(k, k) for k in a if a[k] != b.get(k)]


class ChartDeck(Container, can_focus=True):
    """The four charts; focusable so the chart keys work without leaving the keyboard."""


class RunLog(RichLog):
    """The run log: keeps each line with its shorter forms and writes the longest that fits its
    width, once it has one; when the width changes (shown again, resized) every line is fitted
    again."""

    # Each write grows the log's virtual height. As Widget's reactive that lays the whole screen
    # out, every half second while a run streams: the costliest frame then, and a key pressed
    # meanwhile waits for it. Only the log and its scrollbars depend on the height, so they are
    # updated here; a scrollbar appearing or going still lays the screen out (that reactive does).
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wrap=True, markup=True, max_lines=LOG_LINES, min_width=20, **kwargs)
        self.entries: deque[tuple[str, ...]] = deque(maxlen=LOG_LINES)
        self._pending: list[tuple[str, ...]] = []
        self._fitted = 0  # the width the written lines were fitted to (0: none yet)

    def add(self, variants: tuple[str, ...]) -> None:
        """A line (Rich markup, then shorter forms) to write at the next ``flush``."""
        self.entries.append(variants)
        self._pending.append(variants)

    def width_for_lines(self) -> int:
        """The width lines are fitted to: the content's, less a scrollbar that is not shown yet
        (so its appearing never rewraps them); 0 while the log is not laid out or hidden."""
        width = self.scrollable_content_region.width
        if width <= 0 or not self.display:
            return 0
        if not self.show_vertical_scrollbar:
            width -= self.styles.scrollbar_size_vertical
        return max(0, width)

    def flush(self) -> None:
        """Writes the pending lines at the log's width (all of them again if it changed); with
        no width yet they wait for the log to be shown."""
        width = self.width_for_lines()
        if width <= 0:
            return
        if width != self._fitted:
            self._fitted = width
            self._pending = list(self.entries)
            self.clear()
        if self._pending:  # in one write: a write renders its text once, whatever its lines
            self.write(
                "\n".join(fitting(variants, width) for variants in self._pending), width=width
            )
        self._pending.clear()

    def watch_virtual_size(self, size: Size) -> None:
        self._scroll_update(size)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.flush)

    def on_show(self) -> None:
        self.call_after_refresh(self.flush)


def epoch_lines(event: EpochEnded) -> tuple[str, ...]:
    """An epoch's log line, then shorter forms for narrow logs.

    Fields go in this order: the epoch total (the progress bar shows it), the epoch's seconds,
    the word "MAE" of "holdout MAE" and "val MAE", the training MAE; loss and the holdout and
    validation MAE stay to the last.
    """
    n, total = f"{event.epoch:>4}", f"/{event.total_epochs}"
    loss, mae = f" loss {significant(event.loss)}", f" MAE {significant(event.mae)}"
    secs = f" {event.seconds:.2f}s"
    scores = [
        (f" {name} MAE {significant(value)}", f" {short} {significant(value)}")
        for name, short, value in (
            ("holdout", "hold", event.holdout_mae),
            ("val", "val", event.val_mae),
        )
        if value is not None
    ]
    if not scores:
        return (n + total + loss + mae + secs, n + loss + mae + secs, n + loss + mae, n + loss)
    long, short = "".join(s[0] for s in scores), "".join(s[1] for s in scores)
    return (
        n + total + loss + mae + long + secs,
        n + loss + mae + long + secs,
        n + loss + mae + long,
        n + loss + mae + short,
        n + loss + short,
    )


def stop_line(event: RunStopped) -> str:
    """The log's line for a stopped run (markup), saying how many epochs once: the engine's
    reason often says it already ("stopped by request after 70 epochs")."""
    reason = escape(event.reason)
    n = event.epochs
    if f"after {n} epoch" in event.reason:
        if reason.startswith("stopped"):
            return f"[b]■ stopped[/b]{reason.removeprefix('stopped')}"
        return f"[b]■ stopped[/b]: {reason}"
    return f"[b]■ stopped[/b] after {n} epoch{'s' if n != 1 else ''}: {reason}"


def result_line(metrics: dict[str, float]) -> str:
    """A finished run's results line (markup): the ladder, the kept epoch when it was not the
    last, and plainly when the network did worse than a baseline."""
    line = f"finished · {ladder_text(metrics)}"
    kept = metrics.get("best_epoch")
    if kept is not None and kept != metrics.get("epochs_run"):
        line += f" · kept epoch {int(kept)}"
    worse = worse_than(metrics)
    if worse:
        line += f" · [$text-warning]worse than {' and '.join(worse)}[/]"
    return line


def plain(markup: str) -> str:
    """A line of Rich markup as the text it shows. Most lines (every epoch's) hold no markup
    and no emoji code, so they are not parsed: the log takes in dozens of lines a second."""
    if "[" not in markup and ":" not in markup:
        return markup
    return Text.from_markup(markup).plain


def fitting(variants: tuple[str, ...], width: int) -> str:
    """The first line (Rich markup) that fits ``width`` cells, else the shortest; the first
    while the width is not known yet."""
    if width <= 0:
        return variants[0]
    for line in variants:
        if cell_len(plain(line)) <= width:
            return line
    return variants[-1]


class TrainingPane(ForecastKeys, Pane):
    TITLE = "Training"
    # the footer keeps these first after the run keys: at 80 columns "c" is the only way to the
    # other charts
    FOOTER_FIRST = ("next_chart", "maximise")
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
            tooltip="Show the next chart (narrow screens, or a maximised chart)",
            id="training.next_chart",
        ),
        Binding(
            "m",
            "maximise",
            "Max",
            tooltip="Maximise the chart in front to the whole right side / back to all charts",
            id="training.maximise",
        ),
        *forecast_bindings("training"),
    ]

    def __init__(self) -> None:
        super().__init__(id="training")
        self._committed: tuple[TrainSpec, SweepSpec, ForecastSpec] | None = None
        self.history = History()
        self.sweep_lrs: list[float] = []
        self.sweep_losses: list[float] = []
        self._suggestions: dict[str, float] = {}
        self._recommended: str | None = None  # the name of the suggestion the sweep recommends
        # the experiments the last sweep and training run ran on (their results belong to them)
        self._sweep_of: Experiment | None = None
        self._train_of: Experiment | None = None
        self._last_kind: str | None = None  # the kind of the last run begun
        self._sweep_stale: list[str] = []  # what changed since the sweep ([]: it applies)
        self._train_stale: list[str] = []
        self._epoch_seconds: list[float] = []  # the live run's epoch times, for its ETA
        self._total = 0  # the live run's epochs
        self._done = 0  # the live run's epochs done
        self.maximised = False
        self._result_line: str | None = None  # the last run's results line (status)
        self.view: ForecastView | None = None  # the last training run's forecast
        self.run_dir: str | None = None  # where that run was saved (None: not saved)
        self.controls = ForecastControls()
        self.log_y = False
        self.smoothed = False
        self.zoom = 0
        self.current_chart = 0
        self._series: Series | None = None  # the live training run's series
        # The log as plain text; the RichLog only lays lines out once it has been shown.
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES)
        # What events changed and the screen does not show yet (see _flush).
        # the status line to draw at the next flush: one text, or forms longest first (fitted)
        self._status: str | tuple[str, ...] | None = None
        self._status_layout = False  # the status may change its height (a results line)
        self._progress: tuple[int, float] | None = None  # (total, done), done within an epoch
        self._dirty: set[str] = set()
        self._flush_timer: Timer | None = None
        self._charts_drawn: dict[str, float] = {}  # chart: when last drawn (time.monotonic)

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="train-left", classes="form-column"):
                with VerticalScroll(id="train-form", can_focus=False):
                    yield Static("Training", classes="form-heading", id="train-heading")
                    yield SpecForm(TRAIN_FIELDS, id="train", headings=TRAIN_HEADINGS)
                    yield Static("", id="train-lints")  # scrolls with the fields it is about
                    yield Static("LR sweep", classes="form-heading")
                    yield SpecForm(SWEEP_FIELDS, id="sweep")
                    yield Static("Forecast", classes="form-heading")
                    yield SpecForm(FORECAST_FIELDS, id="forecast")
                yield Static("No run yet.", id="run-status")
                yield ProgressBar(id="progress", show_eta=False, total=1)
                yield RunLog(id="log")
            with Vertical(id="chart-side"):
                yield Static("", id="chart-nav")
                with ChartDeck(id="charts"):
                    yield Chart(hint="No epochs yet. Press ctrl+t to train.", id="loss-chart")
                    yield Chart(hint="No epochs yet.", id="lr-chart")
                    yield Chart(
                        hint="No sweep yet. Press ctrl+r to sweep learning rates.",
                        id="sweep-chart",
                    )
                    yield Chart(hint="No forecast yet.", id="forecast-chart")

    def on_mount(self) -> None:
        self.query_one("#progress").display = False  # shown from the first run on
        self.query_one("#train-lints").display = False  # shown when there is a lint
        self.show_experiment(self.experiment)
        self._select_chart(0)
        self.redraw()

    def home(self) -> ChartDeck:
        return self.query_one("#charts", ChartDeck)

    # --- fields ----------------------------------------------------------------------------------

    @property
    def suggestions(self) -> dict[str, float]:
        """The last sweep's suggested rates, while they belong to the experiment in force."""
        return {} if self._sweep_stale else self._suggestions

    @property
    def recommended(self) -> str | None:
        return None if self._sweep_stale else self._recommended

    @property
    def results_apply(self) -> bool:
        """Whether the last run's results (a training run's or a sweep's) are of the experiment
        in force."""
        if self._last_kind == "sweep":
            return not self._sweep_stale
        return not self._train_stale

    def show_experiment(self, experiment: Experiment) -> None:
        self._check_results(experiment)
        specs = (experiment.train, experiment.sweep, experiment.forecast)
        if self._committed == specs:
            return
        train_form = self.query_one("#train", SpecForm)
        train_form.load(experiment.train)
        self.query_one("#sweep", SpecForm).load(experiment.sweep)
        self.query_one("#forecast", SpecForm).load(experiment.forecast)
        self._committed = specs
        self._relevance(train_form)
        self.set_problems(0)

    def show_lints(self, lints: Sequence[Lint]) -> None:
        """The training and sweep settings' lints, under the training fields, which are marked."""
        mine = [x for x in lints if x.path.startswith(("train.", "sweep."))]
        for form_id in ("train", "sweep"):
            names = {x.path.split(".")[1] for x in mine if x.path.startswith(f"{form_id}.")}
            self.query_one(f"#{form_id}", SpecForm).mark_lints(names)
        text = Text("\n").join(Text.assemble(("⚠ ", "bold"), x.message) for x in mine)
        lines = self.query_one("#train-lints", Static)
        lines.update(text)
        lines.display = bool(mine)
        count = f" · ⚠ {len(mine)} to check, below" if mine else ""
        self.query_one("#train-heading", Static).update(f"Training{count}")

    def _check_results(self, experiment: Experiment) -> None:
        """Sets the last sweep's and training run's results aside once a field they depend on
        changed (and back when it is as it was), saying so in the log and on their charts."""
        if self._sweep_of is not None:
            stale = changed_parts("sweep", self._sweep_of, experiment)
            if bool(stale) != bool(self._sweep_stale):
                name = escape(self._sweep_of.name)
                if stale:
                    self.write_log(
                        f"Sweep set aside: the sweep's rates were for {name} before its "
                        f"{' and '.join(stale)} changed; ctrl+r sweeps this experiment."
                    )
                else:
                    self.write_log(f"The sweep of {name} applies again.")
                self._sweep_stale = stale
                self._dirty.add("sweep")
                self._status = self._result_status()
                self._status_layout = True
                self.seqlab.refresh_bindings()
        if self._train_of is not None:
            stale = changed_parts("train", self._train_of, experiment)
            if bool(stale) != bool(self._train_stale):
                self._train_stale = stale
                self._dirty.update(("train", "forecast"))
                self._status = self._result_status()
                self._status_layout = True
        if self.is_mounted and (self._dirty or self._status is not None):
            self._flush()  # an edit, not a stream of events: shown at once

    def _result_status(self) -> str | None:
        """The status line for the last training run's results, marked when they are of an
        earlier experiment; None while a run is live or before any result."""
        if self.seqlab.live is not None or self._result_line is None:
            return None
        stale = self._sweep_stale if self._last_kind == "sweep" else self._train_stale
        if stale:
            what = " and ".join(stale)
            return f"last run: {self._result_line} · of an earlier experiment ({what} changed)"
        return self._result_line

    def _relevance(self, train_form: SpecForm) -> None:
        """Greys out the settings the other settings make do nothing (momentum with adam)."""
        values, _ = train_form.read()  # a field that does not hold yet keeps the value in force
        unused = unused_settings(dataclasses.replace(self.experiment.train, **values))
        for name in USED_WHEN:
            train_form.row(name).disabled = name in unused

    @on(SpecForm.Changed)
    def _form_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        train_form = self.query_one("#train", SpecForm)
        self._relevance(train_form)
        exp = self.experiment
        specs: dict[str, Any] = {}
        problems = 0
        for form_id, section in (
            ("train", "train"),
            ("sweep", "sweep"),
            ("forecast", "forecast"),
        ):
            form = self.query_one(f"#{form_id}", SpecForm)
            values, found = form.read()
            form.mark({name: str(p) for name, p in found.items()})
            problems += len(found)
            specs[section] = dataclasses.replace(getattr(exp, section), **values)
        self.set_problems(problems)
        if problems:
            return
        self._committed = (specs["train"], specs["sweep"], specs["forecast"])
        self.seqlab.commit(dataclasses.replace(exp, **specs))

    # --- runs ------------------------------------------------------------------------------------

    def write_log(self, text: str, *shorter: str) -> None:
        """One line (Rich markup) at the end of the run log (drawn at the next flush).

        ``shorter``: the same line with fewer fields, shortest last; the log shows the first that
        fits its width (a narrow terminal would otherwise wrap an epoch over two lines).
        """
        self.log_lines.append(plain(text))
        self.query_one("#log", RunLog).add((text, *shorter))
        self._schedule()

    def begin(self, kind: str, experiment: Experiment, engine_ready: bool) -> None:
        """A run is starting: clear its charts and bring them forward."""
        self._last_kind = kind
        self._epoch_seconds = []
        self._done = 0
        self._result_line = None
        if kind == "train":
            self.history = History()
            self.view, self.run_dir = None, None
            self._train_of, self._train_stale = experiment, []
            self.controls.reset()
            try:
                self._series = load_series(experiment.series, experiment.window.window)
            except DataError:
                self._series = None
            self._select_chart(0)
        else:
            self.sweep_lrs, self.sweep_losses, self._suggestions = [], [], {}
            self._recommended = None
            self._sweep_of, self._sweep_stale = experiment, []
            self._select_chart(SWEEP_CHART)
        total = experiment.train.epochs if kind == "train" else experiment.sweep.epochs
        self._total = total
        self._status_layout = True  # back to one line from a results line
        self.query_one("#progress", ProgressBar).display = True
        self._progress = (total, 0)
        self._dirty.update(("train", "sweep", "forecast"))
        self.show_waiting(kind, engine_ready)
        if not self.app.is_headless:  # tests run many apps in one process: left as they are
            self.call_after_refresh(settle_memory)

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
            self._total = event.total_epochs
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
            # a long epoch shows its batches and the time left, as the command line does
            done = event.epoch - 1 + (event.step / event.steps if event.steps else 0.0)
            self._progress = (self._total, done) if self._total else None
            at, batch = f"{event.epoch}/{self._total or '?'}", f"batch {event.step}/{event.steps}"
            eta = self._eta(done)
            self._status = (
                f"{kind}: epoch {at} · {batch}{eta}",
                f"{kind} {at} · {batch}{eta}",
                f"{at} · {batch}{eta}",
                f"{at} · {event.step}/{event.steps}",
            )
        elif isinstance(event, EpochEnded):
            self.history.add(event)
            self._epoch_seconds.append(event.seconds)
            self._total, self._done = event.total_epochs, event.epoch
            self._progress = (event.total_epochs, event.epoch)
            at, eta = f"{event.epoch}/{event.total_epochs}", self._eta(event.epoch)
            loss = f" · loss {event.loss:.4g}"
            self._status = (
                f"{kind}: epoch {at}{loss}{eta}",
                f"{kind}: epoch {at}{eta}",
                f"{kind} {at}{eta}",
                at,
            )
            self.write_log(*epoch_lines(event))
            self._dirty.add("train")
        elif isinstance(event, SweepPoint):
            self.sweep_lrs.append(event.learning_rate)
            self.sweep_losses.append(event.loss)
            self._epoch_seconds.append(event.seconds)
            self._total, self._done = event.total_epochs, event.epoch
            self._progress = (event.total_epochs, event.epoch)
            lr = fmt_number(event.learning_rate)
            self._status = f"sweep: epoch {event.epoch}/{event.total_epochs} · lr {lr}"
            n, rest = f"{event.epoch:>4}", f" lr {lr} loss {significant(event.loss)}"
            self.write_log(f"{n}/{event.total_epochs}{rest}", n + rest)
            self._dirty.add("sweep")
        elif isinstance(event, RunFinished):
            self._finished(event)
        elif isinstance(event, RunStopped):
            where = f" · saved to {escape(event.run_dir)}" if event.run_dir else ""
            self.write_log(stop_line(event) + where)
            if event.results is not None:  # what it kept: its forecast, or a sweep's suggestions
                self._finished(event.results, stopped=True)
            of = f" of {self._total}" if self._total else ""
            stopped = f"{kind}: stopped after {event.epochs}{of} epochs"
            kept = self._status if event.results is not None and self._status else None
            if isinstance(kept, str):  # the results line, or a sweep's "sweep: finished · ..."
                kept = kept.removeprefix(f"{kind}: ").removeprefix("finished · ")
            else:
                kept = None
            line = f"{stopped} · {kept}" if kept else stopped
            self._status = self._result_line = line
            self._status_layout = True
            self._progress = (1, 1)  # the run has ended: the bar shows it complete
        elif isinstance(event, RunFailed):
            self._status = f"{kind}: failed"
            self._progress = (1, 1)
            self.write_log(f"[b red]✗ {kind} failed:[/] {escape(event.message)}")
        if isinstance(event, (RunFinished, RunStopped, RunFailed)):
            self._flush()  # the end of a run shows at once
        else:
            self._schedule()

    def _eta(self, done: float) -> str:
        """The " · ETA m:ss" part, once an epoch has ended (its time tells the rest); else ""."""
        left = eta_seconds(self._epoch_seconds, done, self._total)
        return f" · ETA {duration(left)}" if left is not None else ""

    def _schedule(self) -> None:
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(UPDATE_INTERVAL, self._flush_streamed)

    def _flush_streamed(self) -> None:
        self._flush(charts_in_turn=True)

    def _flush(self, charts_in_turn: bool = False) -> None:
        """Draws what events changed since the last flush: log lines, status, progress, charts.

        ``charts_in_turn`` (events streaming in): each chart is drawn in a frame of its own after
        the rest, so that a key pressed meanwhile waits for one chart's build, not for all of
        them and the log's layout together; and a chart waits while CHART_INTERVAL has not
        passed since it was last drawn (by a key too: keys pressed faster than that hold back
        only the charts they draw)."""
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self.query_one("#log", RunLog).flush()
        if self._status is not None:
            # while a run streams, the status is one line: no layout pass for it
            status = self.query_one("#run-status", Static)
            text = self._status
            if isinstance(text, tuple):  # a streaming status stays on one line
                text = fitting(text, status.content_region.width)
            status.update(text, layout=self._status_layout)
            self._status, self._status_layout = None, False
        if self._progress is not None:
            total, done = self._progress
            self.query_one("#progress", ProgressBar).update(total=total, progress=done)
            self._progress = None
        charts = [c for part, cs in CHART_PARTS.items() if part in self._dirty for c in cs]
        now, waiting = time.monotonic(), set()
        if charts_in_turn:
            waiting = {c for c in charts if now - self._drawn_at(c) < CHART_INTERVAL}
        # a part with a chart that waits stays to draw; its other charts are drawn now
        self._dirty = {part for part in self._dirty if waiting.intersection(CHART_PARTS[part])}
        if self._dirty:
            self._schedule()  # the waiting charts follow at a later flush
        charts = [c for c in charts if c not in waiting]
        self._charts_drawn.update(dict.fromkeys(charts, now))
        if charts_in_turn:
            self._redraw_in_turn(charts)
        else:
            for which in charts:
                self.redraw(which)

    def _drawn_at(self, chart: str) -> float:
        return self._charts_drawn.get(chart, -math.inf)

    def _redraw_in_turn(self, charts: list[str]) -> None:
        """Redraws the first of ``charts`` once the frame being drawn is on screen, and so on."""

        def next_chart() -> None:
            if self.is_attached:  # not once the app is shutting down
                self.redraw(charts[0])
                self._redraw_in_turn(charts[1:])

        if charts:
            self.call_after_refresh(next_chart)

    def _finished(self, event: RunFinished, stopped: bool = False) -> None:
        """A finished run's results; ``stopped``: a stopped run's, whose stop line came first."""
        where = f" · saved to {escape(event.run_dir)}" if event.run_dir else ""
        self._progress = (event.epochs, event.epochs)  # complete, also when it stopped early
        self._status_layout = True  # the results line may take more than one line
        if event.kind == "sweep":
            self._suggestions = dict(event.suggestions)
            found = event.recommended in self._suggestions
            self._recommended = event.recommended if found else None
            names = " · ".join(f"{k} {fmt_number(v)}" for k, v in self.suggestions.items())
            heading = "  kept" if stopped else "■ sweep finished"
            self.write_log(
                f"[b]{heading}[/b] after {event.epochs} epochs: {names or 'no suggestion'}"
            )
            for note in event.notes:
                self.write_log(f"  note: {escape(note)}")
            if self.recommended is not None:
                rate = fmt_number(self.suggestions[self.recommended])
                self._status = f"sweep: finished · recommended {self.recommended} {rate}"
                self.write_log(f"  recommended: {self.recommended} {rate}; ctrl+l trains with it")
            elif self.suggestions:
                self._status = "sweep: finished · no rate recommended"
                self.write_log("  no rate recommended; ctrl+l trains with a suggested one")
            else:
                self._status = "sweep: finished · no suggestion"
            self._result_line = self._status if isinstance(self._status, str) else None
            self._dirty.add("sweep")
            return
        m = event.metrics
        self.view = ForecastView.from_event(event, self._series)
        self.run_dir = event.run_dir
        kept = m.get("best_epoch")
        self.history.kept = None if kept is None else int(kept)
        self._status = self._result_line = result_line(m)
        self.write_log(
            f"[b]{'  kept' if stopped else '■ finished'}[/b] {event.epochs} epochs in "
            f"{event.seconds:.1f}s: "
            f"validation {ladder_text(m, 3)}{where}"
        )
        for note in event.notes:
            self.write_log(f"  note: {escape(note)}")
        self._log_forecast(self.view)
        self._select_chart(FORECAST_CHART)
        self._dirty.update(("train", "forecast"))
        self.seqlab.refresh_bindings()  # the forecast chart's keys apply now
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        """On a narrow screen the forecast chart shows (and gets its width) only once a run has
        finished: its window is fitted again to that width if it was drawn for another."""
        chart = self.query_one("#forecast-chart", Chart)
        width = chart.size.width
        if self.controls.fit and width and fitting_span(width) != self.controls.span:
            self.redraw("forecast")

    def _log_forecast(self, view: ForecastView) -> None:
        """The interval's coverage, the forecast past the data and the backtest, in the log."""
        if view.level is not None and view.coverage is not None:
            self.write_log(f"  {coverage_text(view.level, view.coverage)}")
        if view.future is not None:
            self._log_future(view.future)
        if view.backtest is not None:
            bt = view.backtest
            self.write_log(
                f"  backtest: MAE 1 to {bt.horizon} steps ahead from {bt.origins} origins (b)"
            )
            for line in backtest_lines(bt):
                self.write_log(escape(line))

    def _log_future(self, future: FutureForecast) -> None:
        steps = len(future.values)
        band = min(len(future.lower), steps)
        interval = f"{percent(future.level)} interval" if future.level is not None else "interval"
        reach = f", {interval} for {band if band < steps else 'all'}" if band else ""
        self.write_log(f"  {steps} steps forecast past the data{reach} (f: another N)")
        for note in future.notes:
            self.write_log(f"  note: {escape(note)}")

    def show_future(self, run_dir: str, future: FutureForecast) -> bool:
        """A forecast past the data for the saved run ``run_dir`` arrived: shown if it is this
        pane's run (True), with the chart at the end of the data."""
        if self.view is None or self.run_dir is None or not same_run(self.run_dir, run_dir):
            return False
        self.view = self.view.with_future(future)
        self.controls.offset, self.controls.residuals, self.controls.backtest = 0, False, False
        self._log_future(future)
        self._select_chart(FORECAST_CHART)
        self.redraw("forecast")
        return True

    # --- charts ----------------------------------------------------------------------------------

    def redraw(self, which: str = "all", at_once: bool = False) -> None:
        """Rebuilds the charts' figures: "all", "train" (loss and LR), or one chart ("loss",
        "lr", "sweep", "forecast"); ``at_once`` for a key press (``Chart.show``). A key redraws
        only the charts it changes: each chart drawn is a plotext build on the UI thread."""
        if at_once:  # streamed updates of the charts drawn wait (CHART_INTERVAL)
            drawn = REDRAWN.get(which, (which,))
            self._charts_drawn.update(dict.fromkeys(drawn, time.monotonic()))
        last_n = ZOOMS[self.zoom]
        if which in ("all", "train", "loss"):
            loss = loss_figure(
                self.history, log_y=self.log_y, smoothed=self.smoothed, last_n=last_n
            )
            self.query_one("#loss-chart", Chart).show(self._marked(loss), at_once)
        if which in ("all", "train", "lr"):
            lr = lr_figure(self.history, last_n=last_n)
            self.query_one("#lr-chart", Chart).show(self._marked(lr), at_once)
        if which in ("all", "sweep"):
            self.query_one("#sweep-chart", Chart).show(self._sweep_figure(), at_once)
        if which in ("all", "forecast"):
            chart = self.query_one("#forecast-chart", Chart)
            figure = self._marked(self.controls.figure(self.view, chart.size.width))
            chart.show(figure, at_once)

    def _marked(self, figure: Figure) -> Figure:
        """A training run's chart, marked under the plot when the run was of an earlier
        experiment (its own caption moves to the line below)."""
        if not self._train_stale or not figure.traces:
            return figure
        key = ((figure.caption,) if figure.caption else ()) + figure.key
        return dataclasses.replace(figure, caption=STALE_CAPTION, key=key)

    def _sweep_figure(self) -> Figure:
        """The sweep chart; a hint instead while the sweep is of an earlier experiment."""
        if self._sweep_stale and self._sweep_of is not None:
            what = " and ".join(self._sweep_stale)
            return Figure(
                title="LR sweep: loss vs learning rate",
                hint=(
                    f"The last sweep was of another experiment ({shown(self._sweep_of.name)}, "
                    f"before its {what} changed). Press ctrl+r to sweep this one."
                ),
            )
        return sweep_figure(
            self.sweep_lrs,
            self.sweep_losses,
            self._suggestions,
            log_y=self.log_y,
            recommended=self._recommended,
        )

    def _select_chart(self, index: int) -> None:
        self.current_chart = index % len(CHARTS)
        for i, chart_id in enumerate(CHARTS):
            self.query_one(f"#{chart_id}", Chart).set_class(i == self.current_chart, "-current")
        self._show_nav()

    def _show_nav(self) -> None:
        """The "chart 2/4 · LR sweep" line over the chart in front (narrow or maximised)."""
        n = self.current_chart
        back = "m all charts" if self.maximised else "m maximise"
        self.query_one("#chart-nav", Static).update(
            f"chart {n + 1}/{len(CHARTS)} · {CHART_NAMES[n]} · c next · {back}"
        )

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.redraw("loss", at_once=True)
        self.redraw("sweep", at_once=True)

    def action_toggle_smooth(self) -> None:
        self.smoothed = not self.smoothed
        self.redraw("loss", at_once=True)

    def action_zoom(self) -> None:
        self.zoom = (self.zoom + 1) % len(ZOOMS)
        self.redraw("train", at_once=True)

    def action_next_chart(self) -> None:
        self._select_chart(self.current_chart + 1)

    def action_maximise(self) -> None:
        """The chart in front alone on the right side (on a narrow screen, the whole pane), or
        back to all of them."""
        self.maximised = not self.maximised
        self.set_class(self.maximised, "-maximised")
        self._show_nav()
        self.call_after_refresh(self._refit)

    # --- the forecast chart's keys ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The forecast chart's keys apply once a run has a forecast; the backtest key once it has
        a backtest."""
        if action == "forecast_backtest":
            return self.view is not None and self.view.backtest is not None
        if action.startswith("forecast_"):
            return self.view is not None
        return True

    def _forecast_key(self, change: Callable[[ForecastControls, int], None]) -> None:
        if self.view is None:
            return
        change(self.controls, len(self.view))
        self._select_chart(FORECAST_CHART)  # on a narrow screen the key brings the chart forward
        self.redraw("forecast", at_once=True)

    def action_forecast_future(self) -> None:
        if self.view is None:
            return
        if self.run_dir is None:
            self.app.notify(
                "This run was not saved, so there is no model to forecast with.",
                severity="warning",
            )
            return
        steps = (
            len(self.view.future.values) if self.view.future else self.experiment.forecast.future
        )
        self.seqlab.ask_forecast(self.run_dir, steps)


def settle_memory() -> None:
    """Collects what is garbage now and exempts the rest from the collector's later passes.

    A full pass walks every object the app holds (widgets, their render caches) and stops the
    screen while it does; during a run, when the keys and the streaming charts should answer at
    once, only what the run itself allocates is walked. Unfrozen first, so nothing frozen at an
    earlier run stays out of reach for more than one run.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def same_run(a: str, b: str) -> bool:
    """Whether two run folder paths name the same run."""
    return a == b or Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
