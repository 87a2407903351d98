"""The headless command line: ``seqlab SUBCOMMAND ...``. Errors: one line on stderr, exit code 2.

``tui.entry`` sends every known sub-command here; with none, it opens the TUI instead.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from engine import config
from engine.baselines import baselines
from engine.errors import SeqlabError
from engine.events import (
    EpochEnded,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SweepPoint,
    event_dict,
)
from engine.plots import forecast_chart, loss_chart, sweep_chart
from engine.presets import PRESETS, resolve
from engine.runstore import RunStore
from engine.series import Series, load_series, period_of
from engine.shapes import fmt_shape, infer
from engine.specs import Experiment, TrainSpec, check_value
from engine.stop import StopRequest

EXIT_USAGE = 2


class CliError(SeqlabError):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a whole number of at least 1")
    return value


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] = frozenset()
) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_presets(args: argparse.Namespace) -> int:
    rows = [(name, exp.description) for name, exp in PRESETS.items()]
    if args.json:
        print(json.dumps({name: exp.description for name, exp in PRESETS.items()}, indent=2))
    else:
        print(_table(("preset", "description"), rows))
    return 0


def cmd_preset(args: argparse.Namespace) -> int:
    if args.name not in PRESETS:
        raise CliError(f"unknown preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    sys.stdout.write(config.dumps(PRESETS[args.name]))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    batch = args.batch if args.batch is not None else exp.window.batch_size
    report = infer(exp.model, batch=batch, steps=exp.window.window)
    if args.json:
        out = {
            "name": exp.name,
            "input_shape": list(report.input_shape),
            "layers": [
                {
                    "index": r.index,
                    "kind": r.kind,
                    "label": r.label,
                    "output_shape": None if r.output_shape is None else list(r.output_shape),
                    "params": r.params,
                }
                for r in report.layers
            ],
            "total_params": report.total_params,
            "mode": report.mode,
            "problems": [
                {
                    "message": p.message,
                    "layer": p.index,
                    "fix": None if p.fix is None else p.fix.description,
                }
                for p in report.problems
            ],
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{exp.name}: input {fmt_shape(report.input_shape)} (batch, steps)")
    rows = [
        (
            str(r.index + 1),
            r.label,
            fmt_shape(r.output_shape),
            "?" if r.params is None else f"{r.params:,}",
        )
        for r in report.layers
    ]
    print(_table(("#", "layer", "output shape", "params"), rows, right={0, 3}))
    total = "?" if report.total_params is None else f"{report.total_params:,}"
    print(f"total params: {total}")
    if report.mode:
        print(f"mode: {report.mode}")
    for p in report.problems:
        print(f"problem: {p}")
    return 0


def _series_line(series: Series) -> str:
    """One line that shows what was read: points, split, first and last values (with labels)."""

    def point(i: int) -> str:
        label = f" ({series.labels[i]})" if series.labels else ""
        return f"{float(series.values[i]):g}{label}"

    return (
        f"{series.name}, {len(series)} points ({len(series.train)} train, "
        f"{len(series.valid)} validation), first {point(0)}, last {point(-1)}"
    )


def cmd_baselines(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    series = load_series(exp.series, exp.window.window)
    made, skipped = baselines(series, period_of(exp.series))
    if args.json:
        out = {b.name: {"title": b.title, **b.metrics} for b in made}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{exp.name}: {len(series.valid)} validation points from t={series.split_time}")
    print(f"series: {_series_line(series)}")
    rows = [
        (
            b.name,
            b.title,
            f"{b.metrics['mae']:.4f}",
            f"{b.metrics['mse']:.4f}",
            f"{b.metrics['rmse']:.4f}",
            f"{b.metrics['smape']:.2f}",
        )
        for b in made
    ]
    print(_table(("baseline", "method", "MAE", "MSE", "RMSE", "sMAPE%"), rows, right={2, 3, 4, 5}))
    for note in skipped:
        print(f"skipped: {note}")
    return 0


# --- training: run, sweep, runs, show ---------------------------------------------------------

EXIT_STOPPED = 130  # stopped with Ctrl+C, as shells report SIGINT
EXIT_DIVERGED = 1  # the run stopped itself (NaN loss): not a usage error


def _override(exp: Experiment, field: str, text: str | None, flag: str, kind: type) -> Experiment:
    """The experiment with one train field set from the command line, checked like a file value."""
    if text is None:
        return exp
    try:
        value = kind(text)
    except ValueError:
        value = text
    problem = check_value(TrainSpec, field, value, flag)
    if problem:
        raise CliError(str(problem))
    return dataclasses.replace(exp, train=dataclasses.replace(exp.train, **{field: value}))


def _store(args: argparse.Namespace) -> RunStore:
    store = RunStore(args.runs)
    if store.root.exists() and not store.root.is_dir():
        raise CliError(f"--runs {store.root}: is a file, not a folder")
    return store


@contextlib.contextmanager
def _native_stderr_to(log_path: Path) -> Iterator[None]:
    """Points file descriptor 2 at a log file while TensorFlow is loaded and runs.

    TensorFlow's native log lines go straight to fd 2 whatever ``TF_CPP_MIN_LOG_LEVEL`` says, so
    they are sent to ``log_path``; Python's ``sys.stderr`` is re-pointed at the terminal first so
    seqlab's own messages still reach it. Python warnings (from Keras) go to the log too.
    """
    try:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        yield
        return
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        on_fd2 = False  # already redirected in Python (e.g. captured by pytest)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    python_stderr = sys.stderr
    show_warning = warnings.showwarning

    def to_log(message, category, filename, lineno, file=None, line=None):
        text = warnings.formatwarning(message, category, filename, lineno, line)
        os.write(log_fd, text.encode("utf-8", "replace"))

    if on_fd2:
        sys.stderr = open(os.dup(saved_fd), "w", buffering=1, errors="backslashreplace")  # noqa: SIM115
    warnings.showwarning = to_log
    os.dup2(log_fd, 2)
    try:
        yield
    finally:
        warnings.showwarning = show_warning
        if on_fd2:
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        os.close(log_fd)


@contextlib.contextmanager
def _ctrl_c_stops(stop: StopRequest, command: str) -> Iterator[None]:
    """The first Ctrl+C asks the run to stop (it saves and exits 130); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            f"seqlab {command}: stopping after this batch (Ctrl+C again to abort)", file=sys.stderr
        )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _jsonable(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _EventPrinter:
    """Prints a run's events: one line per epoch or sweep point, or one JSON object per event."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.seconds: list[float] = []
        self.width = 1

    def __call__(self, event: Event) -> None:
        if self.as_json:
            data = event_dict(event)
            if isinstance(event, RunFinished):
                data = {**data, **event.metrics}  # val_mae, val_mse, ... at the top level
            print(json.dumps(_jsonable(data)), flush=True)
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
        if e.val_loss is not None:
            line += f"  val_loss {e.val_loss:.4f}  val_mae {e.val_mae:.4f}"
        return line + (f"  ETA {_duration(eta)}" if eta is not None else "")


def _run_with_events(args: argparse.Namespace, kind: str) -> int:
    from engine import training

    exp = resolve(args.experiment)
    exp = _override(exp, "epochs", getattr(args, "epochs", None), "--epochs", int)
    exp = _override(exp, "learning_rate", getattr(args, "lr", None), "--lr", float)
    store = _store(args)
    store.check_writable()  # before TensorFlow loads
    printer = _EventPrinter(args.json)
    if not args.json:
        print(f"{exp.name}: loading TensorFlow and compiling the model ...", flush=True)
    stop = StopRequest()
    run = training.train if kind == "train" else training.sweep
    try:
        with _native_stderr_to(store.root / "tensorflow.log"), _ctrl_c_stops(stop, args.command):
            outcome = run(exp, printer, stop, store=store)
    except KeyboardInterrupt:
        print(f"seqlab {args.command}: aborted", file=sys.stderr)
        return EXIT_STOPPED
    if isinstance(outcome, RunFailed):
        raise CliError(outcome.message)
    if isinstance(outcome, RunStopped):
        if not args.json:
            print(f"stopped: {outcome.reason}")
            print(f"run saved in {outcome.run_dir}")
        if stop.is_set():
            return EXIT_STOPPED
        print(f"seqlab {args.command}: {outcome.reason}", file=sys.stderr)
        return EXIT_DIVERGED
    if not args.json:
        _print_finished(args.experiment, outcome, store)
    return 0


def _print_finished(experiment: str, done: RunFinished, store: RunStore) -> None:
    """The closing summary: metrics next to naive, or the sweep's chart and suggestions."""
    m = done.metrics
    print(f"finished {done.epochs} epochs in {_duration(done.seconds)}")
    if done.kind == "train":
        print(
            f"validation MAE {m['val_mae']:.4f} (naive {m['naive_mae']:.4f})   "
            f"MSE {m['val_mse']:.4f} (naive {m['naive_mse']:.4f})"
        )
        print(f"run saved in {done.run_dir}")
        return
    info = store.info(Path(done.run_dir))
    if info is not None and info.reason:
        print(f"ended early: {info.reason}")
    points = store.sweep_points(Path(done.run_dir))
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    print()
    print(
        sweep_chart(
            [p[0] for p in points],
            [p[1] for p in points],
            done.suggestions,
            width=width,
            height=20,
            color=sys.stdout.isatty(),
        )
    )
    _print_suggestions(done.suggestions, m)
    print(f"apply one: seqlab run {experiment} --lr {done.suggestions['valley']:.2g}")
    print(f"run saved in {done.run_dir}")


SUGGESTION_TEXT = {
    "valley": "middle of the longest falling stretch of the loss (log axis)",
    "minimum": "a tenth of the rate at the lowest loss",
    "steep": "where the loss falls fastest on the way down",
}


def _print_suggestions(suggestions: dict[str, float], m: dict[str, float]) -> None:
    print(f"lowest loss {m['best_loss']:.4f} at learning rate {m['best_learning_rate']:.3e}")
    print("suggested learning rates:")
    for name in ("valley", "minimum", "steep"):
        if name in suggestions:
            print(f"  {name:<8} {suggestions[name]:.3e}  {SUGGESTION_TEXT[name]}")


def cmd_run(args: argparse.Namespace) -> int:
    return _run_with_events(args, "train")


def cmd_sweep(args: argparse.Namespace) -> int:
    return _run_with_events(args, "sweep")


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def cmd_runs(args: argparse.Namespace) -> int:
    store = _store(args)
    infos = store.list()
    if args.json:
        out = [{**dataclasses.asdict(i), "path": str(i.path)} for i in infos]
        print(json.dumps(_jsonable(out), indent=2))
        return 0
    if not infos:
        print(f"no runs in {store.root}")
        return 0
    rows = [
        (
            str(n),
            i.status,
            i.name,
            i.kind,
            f"{i.epochs}/{i.total_epochs}",
            _fmt(i.val_mae),
            _fmt(i.naive_mae),
            i.created.replace("T", " ")[:16],
            i.run_id,
        )
        for n, i in enumerate(infos, start=1)
    ]
    headers = ("#", "status", "name", "kind", "epochs", "val MAE", "naive", "date", "run")
    print(_table(headers, rows, right={0, 4, 5, 6}))
    print(f"{len(infos)} run(s) in {store.root}, best validation MAE first")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    info = store.find(args.run)
    status = info.status + (f" ({info.reason})" if info.reason else "")
    print(f"run      {info.run_id}")
    print(f"name     {info.name} ({info.kind})")
    print(f"status   {status}")
    print(f"created  {info.created.replace('T', ' ')}")
    print(f"epochs   {info.epochs}/{info.total_epochs}")
    print(f"folder   {info.path}")
    m = store.metrics(info.path)
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    color = sys.stdout.isatty()
    if info.kind == "sweep":
        points = store.sweep_points(info.path)
        suggestions = m.get("suggestions", {})
        print()
        print(
            sweep_chart(
                [p[0] for p in points],
                [p[1] for p in points],
                suggestions,
                width=width,
                height=20,
                color=color,
            )
        )
        if suggestions:
            _print_suggestions(suggestions, m)
        return 0
    if "val_mae" in m:
        rows = [
            (
                name.upper() if name != "smape" else "sMAPE %",
                _fmt(m.get(f"val_{name}")),
                _fmt(m.get(f"naive_{name}")),
            )
            for name in ("mae", "mse", "rmse", "smape")
        ]
        print()
        print(_table(("metric", "model", "naive"), rows, right={1, 2}))
    history = store.history(info.path)
    if history:
        print()
        print(
            loss_chart(
                [r["epoch"] for r in history],
                [r["loss"] for r in history],
                [r["mae"] for r in history],
                width=width,
                height=16,
                color=color,
            )
        )
    forecast = store.forecast(info.path)
    if forecast is not None:
        print()
        print(forecast_chart(*forecast, width=width, height=16, color=color))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seqlab",
        description="Forecast time series with recurrent networks. With no sub-command, or with "
        "an experiment file or preset name, opens the terminal app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("presets", help="list the built-in experiments")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("preset", help="print a preset as TOML (redirect it to a file to edit)")
    p.add_argument("name", help="preset name (see 'seqlab presets')")
    p.set_defaults(func=cmd_preset)

    p = sub.add_parser(
        "summary", help="layer shapes, parameter counts and problems (no TensorFlow)"
    )
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument(
        "--batch", type=_positive_int, help="batch size to show (default: the experiment's)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser(
        "baselines", help="the course's statistical baselines on the validation period"
    )
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument("--json", action="store_true", help="print one JSON object keyed by baseline")
    p.set_defaults(func=cmd_baselines)

    runs_help = "runs folder (default: $SEQLAB_HOME/runs, else the user data folder)"
    p = sub.add_parser("run", help="train an experiment headless and save the run")
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument("--epochs", metavar="N", help="epochs to train (default: the experiment's)")
    p.add_argument("--lr", metavar="X", help="learning rate (default: the experiment's)")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="learning-rate sweep: loss against rate, and suggested rates")
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("runs", help="saved runs, best validation MAE first")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("show", help="a saved run: summary, loss and forecast charts")
    p.add_argument("run", metavar="RUN", help="run folder, id, or a unique part of the id")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.set_defaults(func=cmd_show)

    return parser


def command_names() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one sub-command; returns its exit code (2 for any user error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except SeqlabError as exc:
        print(f"seqlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
