"""The headless command line: ``seqlab SUBCOMMAND ...``. Errors: one line on stderr, exit code 2.

``tui.entry`` sends every known sub-command here; with none, it opens the TUI instead. A view like
the app, so it lives in ``tui``, but it imports no Textual: what it prints is in ``tui.cli_output``
and its charts are the app's figures as text. TensorFlow loads only for ``run`` and ``sweep``
(and a saved model's ``forecast`` and ``backtest``); ``export`` writes a run as a script, a
notebook or its experiment file without it (``engine.export``).

``run`` and ``sweep`` stop within one batch on SIGINT (Ctrl+C), SIGTERM and SIGHUP (what kill,
timeout, systemd, Slurm and a closed SSH session send): the run is saved as stopped, with its
model, forecast and metrics (a sweep's suggestions) once an epoch completed, the reason names the
signal, and the exit status is 128 + the signal's number (130, 143, 129). A second signal aborts.
A standard output that closes (``seqlab run ... | head -3``) or fails ends the printing only:
the run goes on, saves as usual and exits as it would have (0 when it finished), with one line on
stderr that says so.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from engine import config
from engine.baselines import baselines
from engine.errors import DataError, FieldProblem, SeqlabError
from engine.events import Backtest, FutureForecast, RunFailed, RunFinished, RunStopped
from engine.lint import lint
from engine.presets import PRESETS, as_edited, resolve
from engine.resources import Estimate, available_memory, estimate, estimate_text, too_big
from engine.runstore import RunInfo, RunStore, open_log, private_dir
from engine.search_space import SearchSettings
from engine.series import Series, load_series, period_of
from engine.shapes import ShapeReport, fmt_shape, infer_experiment
from engine.specs import (
    OPTIMIZERS,
    STRATEGIES,
    Experiment,
    ForecastSpec,
    WindowSpec,
    check_value,
)
from engine.stop import StopRequest
from engine.studies import StudyStore
from tui.cli_output import (
    SWEEP_CHART_HEIGHT,
    EventPrinter,
    best_line,
    duration,
    export_hint,
    fmt,
    future_json,
    future_table,
    jsonable,
    metrics_table,
    print_chart,
    recommended,
    series_line,
    suggestion_lines,
    table,
    trial_line,
    trial_table,
)
from tui.numbers import (
    backtest_lines,
    backtest_verdict,
    coverage_text,
    dates_text,
    ladder_text,
    shown,
    worse_than,
)

EXIT_USAGE = 2


class CliError(SeqlabError):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _field_int(spec_cls: type, field: str, flag: str) -> Callable[[str], int]:
    """An argparse type for a flag that stands for a spec field: a whole number checked against
    that field's range (check_value), so the flag allows what the experiment file allows."""

    def parse(text: str) -> int:
        try:
            value: Any = int(text)
        except ValueError:
            value = text
        problem = check_value(spec_cls, field, value, flag)
        if problem is not None:
            raise argparse.ArgumentTypeError(str(problem))
        return int(value)

    return parse


def _run_id(text: str) -> str:
    """A RUN argument: refused when empty, which would match every run's id."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"RUN = {text!r} is not allowed: a run folder, id, or a unique part of an id"
        )
    return text


def cmd_presets(args: argparse.Namespace) -> int:
    rows = [(name, shown(exp.description)) for name, exp in PRESETS.items()]
    if args.json:
        print(json.dumps({name: exp.description for name, exp in PRESETS.items()}, indent=2))
    else:
        print(table(("preset", "description"), rows))
    return 0


def cmd_preset(args: argparse.Namespace) -> int:
    if args.name not in PRESETS:
        raise CliError(f"unknown preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    sys.stdout.write(config.dumps(PRESETS[args.name]))
    return 0


def _series_or_none(exp: Experiment) -> Series | None:
    """The experiment's series, or None where it cannot be read (lints about it are left out)."""
    try:
        return load_series(exp.series, exp.window.window)
    except DataError:
        return None


EXIT_CANNOT_WORK = 1  # summary: the model cannot work (``run`` would refuse it)


def _memory(exp: Experiment, report: ShapeReport, series: Series | None) -> Estimate | None:
    """The run's memory estimate, where the model works and the series can be read."""
    if not report.ok or series is None:
        return None
    return estimate(exp, report, len(series))


def cmd_summary(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    if args.batch is not None:
        exp = dataclasses.replace(
            exp, window=dataclasses.replace(exp.window, batch_size=args.batch)
        )
    batch = exp.window.batch_size
    report = infer_experiment(exp, batch)
    series = _series_or_none(exp)
    lints = lint(exp, series)
    memory = _memory(exp, report, series)
    refused = None if memory is None else too_big(memory, available_memory(), exp.window.window)
    code = 0 if report.ok and refused is None else EXIT_CANNOT_WORK
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
            "lints": [{"message": x.message, "path": x.path} for x in lints],
            "memory_problem": refused,
            "memory": None
            if memory is None
            else {**dataclasses.asdict(memory), "total": memory.total},
        }
        print(json.dumps(out, indent=2))
        return code
    print(f"{shown(exp.name)}: input {fmt_shape(report.input_shape)} (batch, steps)")
    rows = [
        (
            str(r.index + 1),
            r.label,
            fmt_shape(r.output_shape),
            "?" if r.params is None else f"{r.params:,}",
        )
        for r in report.layers
    ]
    print(table(("#", "layer", "output shape", "params"), rows, right={0, 3}))
    total = "?" if report.total_params is None else f"{report.total_params:,}"
    print(f"total params: {total}")
    if report.mode:
        print(f"mode: {report.mode}")
    if memory is not None:
        print(f"memory: {estimate_text(memory)}")
        if refused is not None:
            print(f"problem: {refused}")
    f = exp.forecast
    how = "a last Dense of that many units" if f.strategy == "direct" else "fed its own forecasts"
    print(
        f"forecast: {f.horizon} step{'s' if f.horizon != 1 else ''} ahead, {f.strategy} ({how}); "
        f"{f.level:.0%} interval; {f.future} steps past the end"
    )
    for p in report.problems:
        print(f"problem: {shown(p)}")
    for x in lints:
        print(f"lint: {shown(x.message)}")
    return code


def cmd_baselines(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    series = load_series(exp.series, exp.window.window)
    made, skipped = baselines(series, period_of(exp.series), exp.window.window)
    if args.json:
        out = {b.name: {"title": b.title, **b.metrics} for b in made}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{shown(exp.name)}: {len(series.valid)} validation points from t={series.split_time}")
    print(f"series: {series_line(series)}")
    rows = [
        (
            b.name,
            b.title,
            f"{b.metrics['mae']:.4f}",
            f"{b.metrics['mse']:.4f}",
            f"{b.metrics['rmse']:.4f}",
            f"{b.metrics['smape']:.2f}",
            fmt(b.metrics.get("mase"), ".3f"),
        )
        for b in made
    ]
    headers = ("baseline", "method", "MAE", "MSE", "RMSE", "sMAPE%", "MASE")
    print(table(headers, rows, right={2, 3, 4, 5, 6}))
    for note in skipped:
        print(f"skipped: {note}")
    return 0


# --- training: run, sweep, runs, show ---------------------------------------------------------

EXIT_STOPPED = 130  # stopped with Ctrl+C, as shells report SIGINT (other signals: 128 + number)
EXIT_DIVERGED = 1  # the run stopped itself (NaN loss): not a usage error


# Flags that set a field of the experiment: (flag, section, field, type). They are checked as the
# same value in the experiment file would be, and named in the message.
RUN_FLAGS = (
    ("--epochs", "train", "epochs", int),
    ("--lr", "train", "learning_rate", float),
    ("--optimizer", "train", "optimizer", str),
    ("--batch", "window", "batch_size", int),
    ("--window", "window", "window", int),
    ("--split", "series", "split_time", int),
    ("--horizon", "forecast", "horizon", int),
    ("--strategy", "forecast", "strategy", str),
    ("--future", "forecast", "future", int),
    ("--tensorboard", "train", "tensorboard", bool),  # a switch: True when given, else None
)
SHARED_FLAGS = ("--optimizer", "--batch", "--window", "--split")  # a sweep's, kept for its run
SWEEP_FLAGS = (
    ("--start", "sweep", "start", float),
    ("--epochs", "sweep", "epochs", int),
    *(f for f in RUN_FLAGS if f[0] in SHARED_FLAGS),
    ("--tensorboard", "train", "tensorboard", bool),
)


def _override(
    exp: Experiment, section: str, field: str, text: str | bool, flag: str, kind: type
) -> Experiment:
    """The experiment with one field set from the command line, checked like a file value (a
    switch such as ``--tensorboard`` arrives as True)."""
    try:
        value = kind(text)
    except ValueError:
        value = text
    spec = getattr(exp, section)
    problem = check_value(type(spec), field, value, flag)
    if problem is None:
        spec = dataclasses.replace(spec, **{field: value})
        extra = getattr(spec, "extra_problems", None)  # e.g. split_time before the series' end
        found = [p for p in (extra("") if extra else []) if p.path == field]
        problem = FieldProblem(flag, value, found[0].allowed) if found else None
    if problem:
        raise CliError(str(problem))
    return dataclasses.replace(exp, **{section: spec})


def _with_flags(
    args: argparse.Namespace, flags: Sequence[tuple[str, str, str, type]]
) -> Experiment:
    """The experiment named on the command line with its flags applied.

    A preset changed by a flag is no longer the preset's model: ``as_edited`` renames it.
    """
    exp = resolve(args.experiment)
    for flag, section, field, kind in flags:
        text = getattr(args, flag[2:])
        if text is not None:
            exp = _override(exp, section, field, text, flag, kind)
    return as_edited(exp)


def _store(args: argparse.Namespace) -> RunStore:
    store = RunStore(args.runs)
    if store.root.exists() and not store.root.is_dir():
        raise CliError(f"--runs {store.root}: is a file, not a folder")
    return store


def _tensorflow_log(store: RunStore, name: str = "tensorflow.log") -> Path:
    """``tensorflow.log`` (or ``name``) in the runs folder, which is made private (0700)
    first; os.devnull where there is no runs folder or it is not ours."""
    if not store.root.is_dir():
        return Path(os.devnull)
    try:
        private_dir(store.root)
    except OSError:
        return Path(os.devnull)
    return store.root / name


@contextlib.contextmanager
def _native_stderr_to(log_path: Path) -> Iterator[None]:
    """Points file descriptor 2 at a log file while TensorFlow is loaded and runs.

    TensorFlow's native log lines go straight to fd 2 whatever ``TF_CPP_MIN_LOG_LEVEL`` says, so
    they are sent to ``log_path``; Python's ``sys.stderr`` is re-pointed at the terminal first so
    seqlab's own messages still reach it. Python warnings (from Keras) go to the log too.
    """
    try:
        log_fd = open_log(log_path)  # 0600, never through a symlink
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

    def to_log(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
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


# what asks a run to stop: Ctrl+C, kill/timeout/systemd/Slurm, a closed terminal (not on Windows)
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _signal_name(signum: int) -> str:
    return "Ctrl+C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


@contextlib.contextmanager
def _signals_stop(stop: StopRequest, command: str) -> Iterator[list[int]]:
    """The first stop signal asks the run to stop (it saves, and the command exits 128 + the
    signal's number); a second one aborts. Yields the signals caught, in order."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        # Counted by the list, not by ``stop.is_set()``: a second signal can run its handler in
        # the middle of the first one's (Python checks for signals between any two bytecodes),
        # before the first has set the request, and both then only asked to stop.
        caught.append(signum)
        if len(caught) > 1:
            raise KeyboardInterrupt
        stop.set(by=_signal_name(signum))
        again = "Ctrl+C again" if signum == signal.SIGINT else "send it again or press Ctrl+C"
        what = "" if signum == signal.SIGINT else f"{_signal_name(signum)}: "
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            print(
                f"seqlab {command}: {what}stopping after this batch ({again} to abort)",
                file=sys.stderr,
            )

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield caught
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


@contextlib.contextmanager
def _stdout_may_close(printer: EventPrinter, command: str) -> Iterator[None]:
    """Printing that meets a closed or failed standard output stops printing, not the run."""
    try:
        yield
    except OSError:  # BrokenPipeError (| head), EIO (terminal gone)
        printer.stdout_failed(command)


def _run_with_events(args: argparse.Namespace, kind: str) -> int:
    from engine import training

    exp = _with_flags(args, RUN_FLAGS if kind == "train" else SWEEP_FLAGS)
    store = _store(args)
    refused = training.preflight(exp)  # a rejected run writes nothing and loads nothing
    if refused is not None:
        if args.json:  # the one event a run that cannot start sends; no run id was made
            EventPrinter(True)(RunFailed("", "train" if kind == "train" else "sweep", refused))
        raise CliError(refused)
    store.check_writable()  # before TensorFlow loads
    printer = EventPrinter(args.json)
    if not args.json:
        with _stdout_may_close(printer, args.command):
            print(f"{shown(exp.name)}: loading TensorFlow and compiling the model ...", flush=True)
    stop = StopRequest()
    run = training.train if kind == "train" else training.sweep
    with _signals_stop(stop, args.command) as caught:
        try:
            with _native_stderr_to(_tensorflow_log(store)):
                outcome = run(exp, printer, stop, store=store)
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):
                print(f"seqlab {args.command}: aborted", file=sys.stderr)
            return 128 + caught[0] if caught else EXIT_STOPPED
    if isinstance(outcome, RunFailed):
        raise CliError(outcome.message)
    if isinstance(outcome, RunStopped):
        if not args.json:
            with _stdout_may_close(printer, args.command):
                _print_stopped(_apply_command(args), outcome, store)
        if stop.is_set():
            return 128 + caught[0] if caught else EXIT_STOPPED
        print(f"seqlab {args.command}: {outcome.reason}", file=sys.stderr)
        return EXIT_DIVERGED
    if not args.json:
        with _stdout_may_close(printer, args.command):
            _print_finished(_apply_command(args), outcome, store)
    return 0


def _print_stopped(apply: str, stopped: RunStopped, store: RunStore) -> None:
    """Why it stopped, then what it kept: the finished summary of its results, if it has them."""
    print(f"stopped: {stopped.reason}")
    if stopped.results is not None:
        _print_finished(apply, stopped.results, store, stopped=True)
    else:
        print(f"run saved in {stopped.run_dir}")


def _apply_command(args: argparse.Namespace) -> str:
    """The ``seqlab run`` command a sweep's rate goes with: the sweep's experiment and flags."""
    words = ["seqlab", "run", args.experiment]
    for flag in SHARED_FLAGS:
        value = getattr(args, flag[2:], None)
        if value is not None:
            words += [flag, value]
    return shlex.join(words)


def _print_finished(apply: str, done: RunFinished, store: RunStore, stopped: bool = False) -> None:
    """The closing summary: the ladder (validation MAE beside the baselines) and the run's notes,
    or the sweep's chart, suggestions and the rate it recommends (also a stopped run's)."""
    m = done.metrics
    what = "kept after" if stopped else "finished"
    print(f"{what} {done.epochs} epochs in {duration(done.seconds)}")
    if done.kind == "train":
        print(f"validation {ladder_text(m)}")
        print(f"MSE {fmt(m.get('val_mse'))} (naive {fmt(m.get('naive_mse'))})")
        for note in done.notes:
            print(f"note: {note}")
        _print_forecasts(m, done.future, done.backtest, done.run_id)
        print(f"run saved in {done.run_dir}")
        return
    assert done.run_dir is not None  # the command line always trains with a store
    run_dir = Path(done.run_dir)
    info = store.info(run_dir)
    if info is not None and info.reason and not stopped:  # a stopped one said why already
        print(f"ended early: {info.reason}")
    _print_sweep(store, run_dir, done.suggestions, m, done.recommended)
    for note in done.notes:
        print(f"note: {note}")
    rec = recommended(done)
    if rec is not None:
        print(f"recommended: {rec['name']} {rec['rate']:.3g}")
        print(f"apply it: {apply} --lr {rec['rate']:.3g}")
    else:
        print("no rate to recommend: see the notes and the chart")
    print(f"run saved in {done.run_dir}")


def _print_forecasts(
    metrics: dict[str, Any],
    future: FutureForecast | None,
    backtest: Backtest | None,
    run_id: str,
) -> None:
    """What a training run adds to its MAE: the interval's coverage, the backtest with its
    verdict against the naive forecast, and where the forecast past the end is."""
    level, coverage = metrics.get("interval_level"), metrics.get("coverage")
    if isinstance(level, (int, float)) and isinstance(coverage, (int, float)):
        print(coverage_text(level, coverage))
    if backtest is not None:
        print(
            f"backtest: MAE 1 to {backtest.horizon} steps ahead from {backtest.origins} "
            "validation origins (no refitting)"
        )
        print("\n".join(backtest_lines(backtest, max_rows=backtest.horizon)))
        print(f"verdict: {backtest_verdict(backtest)}")
    if future is not None and future.values:
        n = len(future.values)
        span = f" ({future.dates[0]} to {future.dates[-1]})" if future.dates else ""
        print(f"forecast past the end: {n} steps{span}; 'seqlab forecast {run_id}' lists them")
        for note in future.notes:
            print(f"note: {note}")


def _print_sweep(
    store: RunStore,
    run_dir: Path,
    suggestions: dict[str, float],
    metrics: dict[str, Any],
    recommended: str | None,
) -> None:
    """The sweep's chart of loss against rate, then the suggested rates: what the app shows."""
    from tui.figures import sweep_figure

    points = store.sweep_points(run_dir)
    lrs, losses = [p[0] for p in points], [p[1] for p in points]
    print_chart(sweep_figure(lrs, losses, suggestions, recommended=recommended), SWEEP_CHART_HEIGHT)
    if suggestions:
        print("\n".join(suggestion_lines(suggestions, metrics, recommended)))


def cmd_run(args: argparse.Namespace) -> int:
    return _run_with_events(args, "train")


def cmd_sweep(args: argparse.Namespace) -> int:
    return _run_with_events(args, "sweep")


def cmd_runs(args: argparse.Namespace) -> int:
    store = _store(args)
    infos = store.runs()
    if args.study:
        study = StudyStore(store).find(args.study)
        infos = [i for i in infos if i.study == study.study_id]
    if args.json:
        out = [{**dataclasses.asdict(i), "path": str(i.path)} for i in infos]
        print(json.dumps(jsonable(out), indent=2))
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
            fmt(i.val_mae),
            fmt(i.naive_mae),
            fmt(i.linear_mae),
            ", ".join(worse_than(dataclasses.asdict(i))),
            "" if i.best_epoch is None else str(i.best_epoch),
            i.created.replace("T", " ")[:16],
            i.run_id,
        )
        for n, i in enumerate(infos, start=1)
    ]
    headers = (
        "#",
        "status",
        "name",
        "kind",
        "epochs",
        "val MAE",
        "naive",
        "linear",
        "worse than",
        "kept",
        "date",
        "run",
    )
    print(table(headers, rows, right={0, 4, 5, 6, 7, 9}))
    for n, i in enumerate(infos, start=1):
        if i.status == "corrupt":
            print(f"#{n} is corrupt: {i.reason}")
    print(
        f"{len(infos)} run(s) in {store.root}, best validation MAE first; "
        "kept: the epoch whose weights were saved"
    )
    return 0


def _search_of(args: argparse.Namespace) -> Any:
    """The search a ``seqlab search`` command runs (None to resume a study)."""
    from engine import search_space

    if args.resume:
        if args.file or args.trials is not None:
            raise CliError("--resume STUDY runs the study's own search: give no FILE or --trials")
        return None
    if not args.file:
        raise CliError("give a search FILE (an experiment with a [search] section) or --resume")
    search = search_space.load(args.file)
    if args.trials is not None:
        settings = dataclasses.replace(search.settings, trials=args.trials)
        search = search_space.validated(dataclasses.replace(search, settings=settings))
    return search


class _SearchPrinter:
    """What ``seqlab search`` prints: a line when it starts, one per ended trial, the table."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.total = 0
        self.gone = False
        self.printed: set[int] = set()  # trials whose line is out (a pruned one is told twice)

    def __call__(self, event: Any) -> None:
        from engine.events import SearchEnded, SearchStarted, TrialUpdate, event_dict

        if self.gone:
            return
        if not self.as_json and isinstance(event, TrialUpdate) and event.status == "running":
            return  # a line per trial epoch is for machines (--json)
        try:
            if self.as_json:
                print(json.dumps(jsonable(event_dict(event))), flush=True)
            elif isinstance(event, SearchStarted):
                self.total = event.trials
                what = f"{event.searcher} searcher, " + (
                    "ASHA" if event.scheduler == "asha" else "no early stopping"
                )
                print(
                    f"search {event.study_id}: {event.trials} trials of {shown(event.name)} "
                    f"({what}) on {event.where}",
                    flush=True,
                )
                if event.done:
                    print(f"resumed: {event.done} trial(s) already ended", flush=True)
            elif isinstance(event, TrialUpdate) and event.trial not in self.printed:
                self.printed.add(event.trial)
                print(trial_line(event, self.total), flush=True)
            elif isinstance(event, SearchEnded):
                self.ended(event)
        except OSError:  # standard output closed: the search goes on
            self.gone = True

    def ended(self, event: Any) -> None:
        print()
        print(trial_table(event.trials, event.best_trial))
        top = next((t for t in event.trials if t.trial == event.best_trial), None)
        if top is not None:
            print(best_line(top))
        print(
            f"{event.status} in {duration(event.seconds)}; trials compared on the holdout slice "
            f"(the validation period is the test score). Study: {event.study_id}"
        )
        if event.status == "stopped":
            print(f"resume it: seqlab search --resume {event.study_id}")


def cmd_search(args: argparse.Namespace) -> int:
    from engine import search as searching

    search = _search_of(args)
    if search is not None:
        search = searching.checked(search)  # every trial's data and memory, before Ray starts
    store = _store(args)
    store.check_writable()
    if args.resume:
        StudyStore(store).open(StudyStore(store).find(args.resume))  # refused before Ray starts
    address = args.address or os.environ.get("RAY_ADDRESS") or None
    printer = _SearchPrinter(args.json)
    if not args.json:
        what = f"connecting to the Ray cluster at {address}" if address else "starting a local Ray"
        print(f"{what} ...", flush=True)
    stop = StopRequest()
    with _signals_stop(stop, args.command) as caught:
        try:
            with _native_stderr_to(_tensorflow_log(store, "search.log")):
                ended = searching.run_search(
                    search, printer, stop, store=store, address=address, resume=args.resume
                )
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):
                print(f"seqlab {args.command}: aborted", file=sys.stderr)
            return 128 + caught[0] if caught else EXIT_STOPPED
    if stop.is_set():
        return 128 + caught[0] if caught else EXIT_STOPPED
    if ended.trials and all(t.status == "failed" for t in ended.trials):
        raise CliError(f"every trial failed; the first: {ended.trials[0].reason}")
    return 0


def cmd_studies(args: argparse.Namespace) -> int:
    store = _store(args)
    studies = StudyStore(store).studies()
    if args.json:
        out = [{**dataclasses.asdict(s), "path": str(s.path)} for s in studies]
        print(json.dumps(jsonable(out), indent=2))
        return 0
    if not studies:
        print(f"no searches in {store.root}")
        return 0
    rows = [
        (
            s.status,
            s.name,
            str(s.trials),
            s.searcher,
            s.scheduler,
            s.created.replace("T", " ")[:16],
            s.study_id,
        )
        for s in studies
    ]
    headers = ("status", "name", "trials", "searcher", "scheduler", "date", "study")
    print(table(headers, rows, right={2}))
    print(f"{len(studies)} search(es); their trials: seqlab runs --study STUDY")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    info = store.find(args.run)
    status = info.status + (f" ({info.reason})" if info.reason else "")
    kept = "" if info.best_epoch is None else f", kept epoch {info.best_epoch}"
    print(f"run      {info.run_id}")
    print(f"name     {shown(info.name)} ({info.kind})")
    print(f"status   {status}")
    print(f"created  {info.created.replace('T', ' ')}")
    print(f"epochs   {info.epochs}/{info.total_epochs}{kept}")
    print(f"folder   {info.path}")
    _print_model(info)
    _print_damage(info)
    m = store.metrics(info.path)
    if any(p.startswith("metrics.json") for p in info.problems):
        m = {}  # a metrics file of the wrong shape: its scores are not shown
    try:
        _print_run(store, info, m)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        print(f"unreadable  the rest of the run cannot be shown ({type(exc).__name__}: {exc})")
    return 0


def _print_model(info: RunInfo) -> None:
    """Where the run's model is and the one line that loads it in plain Keras."""
    model = info.path.absolute() / "model.keras"
    if info.kind == "train" and model.is_file():
        print(f"model    {model}")
        print(f"         load it in Python: keras.saving.load_model({str(model)!r})")


# what ``seqlab export`` writes: (flag, kind), in the order the files are written
EXPORT_TARGETS = (
    ("--script", "script"),
    ("--notebook", "notebook"),
    ("--experiment", "experiment"),
)


def _export_targets(args: argparse.Namespace) -> list[tuple[str, str, Path]]:
    """The files asked for: (flag, kind, absolute path), each checked before any is written (a
    folder, a missing folder, a file that exists without --force, one file named twice)."""
    targets: list[tuple[str, str, Path]] = []
    for flag, kind in EXPORT_TARGETS:
        text = getattr(args, flag[2:])
        if text is None:
            continue
        if not text.strip():
            raise CliError(f"{flag} = {text!r} is not allowed: give a file name")
        path = Path(text).expanduser().absolute()
        if path.is_dir():
            raise CliError(f"{flag} {text}: is a folder; give a file name")
        if not path.parent.is_dir():
            raise CliError(f"{flag} {text}: the folder {path.parent} does not exist")
        if path.exists() and not args.force:
            raise CliError(f"{flag} {path} exists; add --force to overwrite it")
        for other_flag, _, other in targets:
            if other == path:
                raise CliError(f"{other_flag} and {flag} name the same file {path}")
        targets.append((flag, kind, path))
    if not targets:
        raise CliError(
            "nothing to export: give at least one of --script FILE.py, --notebook FILE.ipynb, "
            "--experiment FILE.toml"
        )
    return targets


def cmd_export(args: argparse.Namespace) -> int:
    from engine import export  # pure Python: no TensorFlow

    targets = _export_targets(args)
    store = _store(args)
    info = store.find(args.run)  # a bad RUN is told before anything is written
    for flag, kind, path in targets:
        try:
            written = export.export_run(store, str(info.path), kind, path, overwrite=args.force)
        except OSError as exc:
            raise CliError(f"{flag} {path}: cannot write it ({exc.strerror or exc})") from None
        print(f"wrote {kind} to {written}")
        print(export_hint(kind, written))
    return 0


def _print_damage(info: RunInfo) -> None:
    """``show``'s lines for the run's missing and unreadable files (a corrupt run's reason)."""
    for problem in info.problems:
        label = "missing" if problem.endswith(" is missing") else "unreadable"
        print(f"{label:<10}  {problem}")
    if info.kind == "train" and info.status == "finished":
        absent = [f for f in OUTPUT_FILES if not (info.path / f).exists()]
        if absent:
            print(f"{'missing':<10}  {', '.join(absent)} (not saved, or removed since)")


OUTPUT_FILES = ("metrics.json", "forecast.csv", "model.keras")  # what a finished training run saves


def _print_run(store: RunStore, info: RunInfo, m: dict[str, Any]) -> None:
    """The scores and charts ``show`` prints after the run's header."""
    raw_notes = m.get("notes", ())
    notes = [str(n) for n in raw_notes] if isinstance(raw_notes, (list, tuple)) else []
    if info.kind == "sweep":
        suggestions = m.get("suggestions", {})
        if not isinstance(suggestions, dict):
            suggestions = {}
        _print_sweep(store, info.path, suggestions, m, m.get("recommended"))
        for note in notes:
            print(f"note: {note}")
        return
    from tui.figures import ForecastView, History, forecast_figure, loss_figure

    if "val_mae" in m:
        print()
        print(f"validation {ladder_text(m)}")
        for note in notes:
            print(f"note: {note}")
        print()
        print(metrics_table(m))
        print()
        _print_forecasts(m, store.future(info.path), store.backtest(info.path), info.run_id)
    history = History.from_rows(store.history(info.path), kept=info.best_epoch)
    print_chart(loss_figure(history))
    forecast = store.forecast(info.path)
    if forecast is not None:
        future, backtest = store.future(info.path), store.backtest(info.path)
        view = ForecastView.from_saved(forecast, future, m, backtest=backtest)
        print_chart(forecast_figure(view))


def _load_saved(args: argparse.Namespace) -> Any:
    """The saved run's model (engine.run_forecast), TensorFlow's log lines kept off the screen."""
    from engine import run_forecast

    store = _store(args)
    info = store.find(args.run)  # a bad RUN is told before TensorFlow loads
    with _native_stderr_to(_tensorflow_log(store)):
        return run_forecast.load(info.path, store)


def _csv_target(text: str) -> Path:
    """Where ``--csv`` writes: refused up front when it is a folder or its folder is missing."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise CliError(f"--csv {text}: is a folder; give a file name")
    if not path.parent.is_dir():
        raise CliError(f"--csv {text}: the folder {path.parent} does not exist")
    return path


def cmd_forecast(args: argparse.Namespace) -> int:
    from engine import run_forecast
    from engine.runstore import atomic_write, future_csv

    target = _csv_target(args.csv) if args.csv else None
    saved = _load_saved(args)
    steps = args.steps or saved.exp.forecast.future
    future = run_forecast.forecast_run(saved, steps)
    if target is not None:
        try:
            atomic_write(target, future_csv(future))
        except OSError as exc:
            raise CliError(f"--csv {args.csv}: cannot write it ({exc.strerror or exc})") from None
    if args.json:
        print(json.dumps(future_json(saved.run_id, future)))
        return 0
    series = saved.series
    last = f", last {series.dates.iso(len(series) - 1)}" if series.dates is not None else ""
    print(
        f"{saved.exp.name}: {steps} steps past the end of {series.name} "
        f"({len(series)} points{last}), run {saved.run_id}"
    )
    if series.dates is not None:
        print(dates_text(series))
    print(future_table(future))
    for note in future.notes:
        print(f"note: {note}")
    if target is not None:
        print(f"written to {target}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from engine import run_forecast

    saved = _load_saved(args)
    horizon = args.horizon or saved.exp.forecast.horizon
    tested = run_forecast.backtest_run(saved, horizon)
    if args.json:
        print(json.dumps(jsonable({"run": saved.run_id, **dataclasses.asdict(tested)})))
        return 0
    print(
        f"{saved.exp.name}: backtest of run {saved.run_id}, {horizon} steps ahead from each of "
        f"{tested.origins} validation origins (no refitting)"
    )
    print("\n".join(backtest_lines(tested, max_rows=tested.horizon)))
    print(f"verdict: {backtest_verdict(tested)}")
    return 0


def _add_shared_flags(p: argparse.ArgumentParser) -> None:
    """The flags ``run`` and ``sweep`` share: the optimizer, how the series is cut, and
    TensorBoard logs."""
    p.add_argument("--optimizer", metavar="NAME", help=f"one of {', '.join(OPTIMIZERS)}")
    p.add_argument("--batch", metavar="N", help="batch size (default: the experiment's)")
    p.add_argument("--window", metavar="N", help="input steps per window")
    p.add_argument("--split", metavar="T", help="first validation time step (series.split_time)")
    p.add_argument(
        "--tensorboard",
        action="store_true",
        default=None,  # None: the experiment's own train.tensorboard stands
        help="also write TensorBoard event files into the run folder (train.tensorboard = true; "
        "view them with: tensorboard --logdir RUNS_FOLDER)",
    )


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
        "summary",
        help="layer shapes, parameter counts, memory and problems (no TensorFlow); exit code 1 "
        "when the model cannot work",
        description="Layer shapes, parameter counts, the memory a run needs and the model's "
        "problems, without TensorFlow. Exit code 0 when the model works, 1 when it cannot "
        "work (or does not fit in memory: 'seqlab run' would refuse it), 2 for a usage error.",
    )
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument(
        "--batch",
        type=_field_int(WindowSpec, "batch_size", "--batch"),
        help="batch size to show (default: the experiment's)",
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
    p.add_argument("--horizon", metavar="H", help="steps ahead each forecast covers (backtest)")
    p.add_argument(
        "--strategy", metavar="NAME", help=f"multi-step forecasts: {', '.join(STRATEGIES)}"
    )
    p.add_argument("--future", metavar="N", help="steps forecast past the end of the data")
    _add_shared_flags(p)
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="learning-rate sweep: loss against rate, and suggested rates")
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument(
        "--start", metavar="X", help="first rate (default: the experiment's, else by optimizer)"
    )
    p.add_argument(
        "--epochs",
        metavar="N",
        help="sweep steps: epochs, or batches in batch mode (default: "
        "the experiment's sweep.epochs)",
    )
    _add_shared_flags(p)
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("runs", help="saved runs, best validation MAE first")
    p.add_argument("--study", metavar="STUDY", help="only the trials of this search")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("forecast", help="forecast past the end of the data from a saved run")
    p.add_argument(
        "run", metavar="RUN", type=_run_id, help="run folder, id, or a unique part of the id"
    )
    p.add_argument(
        "--steps",
        type=_field_int(ForecastSpec, "future", "--steps"),
        help="steps past the end (default: the run's forecast.future)",
    )
    p.add_argument("--csv", metavar="FILE", help="also write the forecast to a CSV file")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser(
        "backtest", help="a saved run's MAE per step ahead from every validation origin"
    )
    p.add_argument(
        "run", metavar="RUN", type=_run_id, help="run folder, id, or a unique part of the id"
    )
    p.add_argument(
        "--horizon",
        type=_field_int(ForecastSpec, "horizon", "--horizon"),
        help="steps ahead (default: the run's forecast.horizon)",
    )
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser(
        "export",
        help="a saved run as a Python script, a notebook or its experiment file",
        description="Writes a saved run as files you can take away: a Python script (numpy and "
        "Keras) and a notebook that reproduce the run and print its validation MAE, and the "
        "run's experiment file (seqlab run FILE.toml trains it again). Give at least one of "
        "--script, --notebook, --experiment; a file that exists is kept unless --force.",
    )
    p.add_argument(
        "run", metavar="RUN", type=_run_id, help="run folder, id, or a unique part of the id"
    )
    p.add_argument("--script", metavar="FILE.py", help="write a standalone Python script")
    p.add_argument("--notebook", metavar="FILE.ipynb", help="write a Jupyter notebook")
    p.add_argument("--experiment", metavar="FILE.toml", help="write the run's experiment file")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "search",
        help="search experiment fields on Ray Tune (a local Ray, or a cluster by address)",
        description="Runs the trials of a search (an experiment file with a [search] section, "
        "see the README) as seqlab runs, compares them on the holdout slice and reports the "
        "best one's validation MAE. Without --address (or RAY_ADDRESS) it starts a local Ray "
        "for the search and ends it afterwards.",
    )
    p.add_argument("file", metavar="FILE", nargs="?", help="an experiment file with [search]")
    p.add_argument(
        "--trials",
        type=_field_int(SearchSettings, "trials", "--trials"),
        help="trials to run (default: the file's search.trials)",
    )
    p.add_argument("--address", metavar="ADDR", help="a Ray cluster's address (host:port)")
    p.add_argument("--resume", metavar="STUDY", help="run the remaining trials of a study")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print one JSON object per event")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("studies", help="saved searches, newest first")
    p.add_argument("--runs", metavar="DIR", help=runs_help)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_studies)

    p = sub.add_parser("show", help="a saved run: summary, loss and forecast charts")
    p.add_argument(
        "run", metavar="RUN", type=_run_id, help="run folder, id, or a unique part of the id"
    )
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
        print(f"seqlab {args.command}: error: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
