"""How the command line writes: tables, durations, event lines, suggestions and text charts.

Kept apart from ``tui.cli`` (arguments and commands) so each command reads as what it prints.
Charts are the app's figures (``tui.figures``) printed by ``tui.plotting.to_text``; plotext loads
only when a chart is printed.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.events import (
    EpochEnded,
    Event,
    FutureForecast,
    RunFinished,
    RunStarted,
    SweepPoint,
    TrialUpdate,
    event_dict,
)
from engine.series import Series
from engine.sweep import SUGGESTIONS
from tui.numbers import dates_text, duration, shown

if TYPE_CHECKING:
    from tui.plotting import Figure

MAX_CHART_WIDTH = 120  # wider than this, a chart's lines are too far apart to read
SWEEP_CHART_HEIGHT = 20
CHART_HEIGHT = 16  # loss and forecast charts
METRIC_NAMES = {"mae": "MAE", "mse": "MSE", "rmse": "RMSE", "smape": "sMAPE %", "mase": "MASE"}


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Set[int] = frozenset()
) -> str:
    """Columns padded to their widest cell; the columns in ``right`` are right-aligned. Cells
    are shown escaped (tui.numbers.shown): names and labels come from files."""
    headers = [shown(h) for h in headers]
    rows = [[shown(c) for c in row] for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def fmt(value: float | None, spec: str = ".4f") -> str:
    """A number for a table cell; ``-`` when there is none."""
    return "-" if value is None else format(value, spec)


def jsonable(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def series_line(series: Series) -> str:
    """One line that shows what was read: points, split, first and last values (with labels)."""

    def point(i: int) -> str:
        label = f" ({shown(series.labels[i])})" if series.labels else ""
        return f"{float(series.values[i]):g}{label}"

    line = (
        f"{shown(series.name)}, {len(series)} points ({len(series.train)} train, "
        f"{len(series.valid)} validation), first {point(0)}, last {point(-1)}"
    )
    return line + (f"; {shown(dates_text(series))}" if series.dates is not None else "")


class EventPrinter:
    """Prints a run's events: one line per epoch or sweep point, or one JSON object per event.

    A standard output that closes or fails (``| head``, a closed terminal) ends the printing,
    never the run: the rest goes to the null device (``stdout_failed``)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.seconds: list[float] = []
        self.width = 1
        self.stdout_gone = False
        self.command = "run"  # "sweep" once a sweep's first event says so

    def stdout_failed(self, command: str) -> None:
        """Points standard output at the null device, so neither later prints nor Python's
        flush at exit fail, and says so once on stderr."""
        if self.stdout_gone:
            return
        self.stdout_gone = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, sys.stdout.fileno())
            finally:
                os.close(null)
        except (OSError, ValueError, AttributeError):  # no file descriptor (e.g. captured)
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        with contextlib.suppress(OSError):
            print(
                f"seqlab {command}: standard output closed; the run goes on and is saved "
                "('seqlab runs' lists it)",
                file=sys.stderr,
            )

    def __call__(self, event: Event) -> None:
        if getattr(event, "kind", None) == "sweep":
            self.command = "sweep"
        if self.stdout_gone:
            return
        try:
            self.show(event)
        except OSError:  # BrokenPipeError, or EIO once the terminal is gone
            self.stdout_failed(self.command)

    def show(self, event: Event) -> None:
        if self.as_json:
            data = event_dict(event)
            if isinstance(event, RunFinished):
                data = {**data, **event.metrics}  # val_mae, val_mse, ... at the top level
                if event.kind == "sweep":
                    data["recommended"] = recommended(event)
            print(json.dumps(jsonable(data)), flush=True)
        elif isinstance(event, RunStarted):
            self.width = len(str(event.total_epochs))
            what = "sweeping the learning rate of" if event.kind == "sweep" else "training"
            print(
                f"{what} {event.experiment_name}: {event.total_epochs} epochs of "
                f"{event.steps_per_epoch} batches, {event.params:,} parameters",
                flush=True,
            )
            for note in event.notes:
                print(f"note: {note}", flush=True)
        elif isinstance(event, EpochEnded):
            print(self.epoch_line(event), flush=True)
        elif isinstance(event, SweepPoint):
            print(
                f"epoch {event.epoch:>{self.width}}/{event.total_epochs}  "
                f"lr {event.learning_rate:.3e}  loss {event.loss:.4f}  {event.seconds:.2f} s",
                flush=True,
            )

    def epoch_line(self, e: EpochEnded) -> str:
        if e.epoch > 1:  # the first epoch includes compiling the model
            self.seconds.append(e.seconds)
        recent = self.seconds[-20:]
        eta = (sum(recent) / len(recent)) * (e.total_epochs - e.epoch) if recent else None
        line = (
            f"epoch {e.epoch:>{self.width}}/{e.total_epochs}  loss {e.loss:.4f}  mae {e.mae:.4f}  "
            f"lr {e.learning_rate:.2e}  {e.seconds:.2f} s"
        )
        if e.holdout_loss is not None and e.holdout_mae is not None:
            line += f"  holdout_loss {e.holdout_loss:.4f}  holdout_mae {e.holdout_mae:.4f}"
        if e.val_loss is not None and e.val_mae is not None:
            line += f"  val_loss {e.val_loss:.4f}  val_mae {e.val_mae:.4f}"
        return line + (f"  ETA {duration(eta)}" if eta is not None else "")


def recommended(done: RunFinished) -> dict[str, Any] | None:
    """A sweep's recommended rate as ``--json`` gives it: its suggestion's name and the rate."""
    rate = done.suggestions.get(done.recommended) if done.recommended else None
    return None if rate is None else {"name": done.recommended, "rate": rate}


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """A training run's validation metrics beside each baseline's that the run reported."""
    columns = [
        (prefix, title)
        for prefix, title in (
            ("val", "model"),
            ("naive", "naive"),
            ("linear", "linear"),
            ("snaive", "seasonal naive"),
        )
        if any(f"{prefix}_{name}" in metrics for name in METRIC_NAMES)
    ]
    rows = [
        (title, *(fmt(metrics.get(f"{prefix}_{name}")) for prefix, _ in columns))
        for name, title in METRIC_NAMES.items()
        if any(f"{prefix}_{name}" in metrics for prefix, _ in columns)
    ]
    headers = ("metric", *(title for _, title in columns))
    return table(headers, rows, right=set(range(1, len(headers))))


def suggestion_lines(
    suggestions: dict[str, float], metrics: dict[str, float], recommended: str | None = None
) -> list[str]:
    """The sweep's lowest point, then each suggested rate with what it means (as the app lists);
    the recommended one is marked."""
    lines = [
        f"lowest loss {metrics['best_loss']:.4f} at learning rate "
        f"{metrics['best_learning_rate']:.3e}",
        "suggested learning rates:",
    ]
    for s in SUGGESTIONS:
        if s.name in suggestions:
            mark = "  (recommended)" if s.name == recommended else ""
            lines.append(f"  {s.name:<8} {suggestions[s.name]:.3e}  {s.meaning}{mark}")
    return lines


def print_chart(figure: Figure, height: int = CHART_HEIGHT) -> None:
    """Prints a figure after a blank line, as wide as the terminal (up to ``MAX_CHART_WIDTH``),
    in colour on a terminal; prints nothing when the figure has no point to draw."""
    from tui.plotting import to_text

    width = min(shutil.get_terminal_size((100, 24)).columns, MAX_CHART_WIDTH)
    text = to_text(figure, width, height, color=sys.stdout.isatty())
    if text is not None:
        print()
        print(text)


def future_table(future: FutureForecast) -> str:
    """The forecast past the end of the data, a row per step: date (or time), value, band."""
    band = future.level is not None
    headers = ["step", "date" if future.dates else "time", "forecast"]
    headers += [f"lower {future.level:.0%}", f"upper {future.level:.0%}"] if band else []
    rows = []
    for i, value in enumerate(future.values):
        when = future.dates[i] if future.dates else f"{future.time[i]:g}"
        row = [str(i + 1), when, f"{value:.4g}"]
        if band:
            inside = i < len(future.lower)
            row += [f"{future.lower[i]:.4g}", f"{future.upper[i]:.4g}"] if inside else ["-", "-"]
        rows.append(row)
    return table(headers, rows, right={0, 2, 3, 4})


def future_json(run_id: str, future: FutureForecast) -> dict[str, Any]:
    """``seqlab forecast --json``: the run, the steps (with their band) and the notes."""
    steps = []
    for i, value in enumerate(future.values):
        step: dict[str, Any] = {"step": i + 1, "time": future.time[i], "forecast": value}
        if future.dates:
            step["date"] = future.dates[i]
        if future.level is not None:
            inside = i < len(future.lower)
            step["lower"] = future.lower[i] if inside else None
            step["upper"] = future.upper[i] if inside else None
        steps.append(step)
    out = {"run": run_id, "level": future.level, "steps": steps, "notes": list(future.notes)}
    return jsonable(out)


def export_hint(kind: str, path: Path) -> str:
    """What to do with a file ``seqlab export`` wrote, as a command to copy (indented under its
    "wrote" line)."""
    quoted = shlex.quote(str(path))
    if kind == "script":
        return f"  run it: python {quoted}  (needs numpy and Keras; prints the validation MAE)"
    if kind == "notebook":
        return f"  open it: jupyter notebook {quoted}  (needs numpy, Keras and matplotlib)"
    return f"  train it again: seqlab run {quoted}"


# --- searches -------------------------------------------------------------------------------------


def param_text(params: Mapping[str, Any]) -> str:
    """A trial's parameters on one line: ``train.learning_rate=0.00312 window.window=20``."""
    return "  ".join(
        f"{k}={format(v, '.3g') if isinstance(v, float) else v}" for k, v in params.items()
    )


def trial_line(t: TrialUpdate, total: int) -> str:
    """One finished (or pruned, stopped, failed) trial, as ``seqlab search`` prints it."""
    width = len(str(total))
    line = (
        f"trial {t.trial:>{width}}/{total}  {t.status:<8}  epochs {t.epoch}/{t.total_epochs}  "
        f"holdout MAE {fmt(t.holdout_mae)}  val MAE {fmt(t.val_mae)}  {param_text(t.params)}"
    )
    if t.status == "failed" and t.reason:
        line += f"  ({shown(t.reason)})"
    return line


def trial_table(trials: Sequence[TrialUpdate], best: int | None) -> str:
    """Every trial, best holdout MAE first; the best marked with ``*``."""
    names = list(dict.fromkeys(k for t in trials for k in t.params))
    rows = [
        (
            "*" if t.trial == best else "",
            str(t.trial),
            t.status,
            f"{t.epoch}/{t.total_epochs}",
            fmt(t.holdout_mae),
            fmt(t.val_mae),
            fmt(t.naive_mae),
            *(param_cell(t.params.get(n)) for n in names),
            t.run_id or "-",
        )
        for t in trials
    ]
    headers = ("", "trial", "status", "epochs", "holdout MAE", "val MAE", "naive", *names, "run")
    right = {1, 3, 4, 5, 6, *range(7, 7 + len(names))}
    return table(headers, rows, right=right)


def param_cell(value: Any) -> str:
    if value is None:
        return "-"
    return format(value, ".4g") if isinstance(value, float) else str(value)


def best_line(t: TrialUpdate) -> str:
    """The best trial's test score beside the naive forecast, said plainly."""
    line = (
        f"best: trial {t.trial} (lowest holdout MAE, {fmt(t.holdout_mae)}): "
        f"validation MAE {fmt(t.val_mae)}"
    )
    if t.naive_mae is not None and t.val_mae is not None:
        verdict = "beats" if t.val_mae < t.naive_mae else "does not beat"
        line += f" · naive {fmt(t.naive_mae)}: it {verdict} the naive forecast"
    return line + (f"\n  its run: {t.run_id}" if t.run_id else "")
