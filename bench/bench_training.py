"""Benchmark: seqlab's training engine against the course's own pipeline, side by side.

    python bench/bench_training.py [--rounds 5] [--epochs 8] [--sweep-models rnn]
                                   [--parts epoch,forecast,sweep,metrics,range]

Both run in this one process, interleaved round by round on the same data, batch size and model
(course-rnn: SimpleRNN 40 x2, batch 128; course-lstm-2: Bidirectional LSTM 32 x2, batch 32), so a
busy machine slows both alike. Printed: per-epoch medians and their ratio (the first epoch of every
run is left out of the medians: it compiles), the forecast ratio (the course's model_forecast
against seqlab's cached tf.function, 461 windows) and the wall-time ratio of the 100-epoch
learning-rate sweep (compilation included). Ratios are course time / seqlab time.

Two more parts measure seqlab alone, on the ``lstm`` recipe: ``metrics``, the per-epoch cost of
scoring the holdout slice and the validation period every epoch against scoring neither (ratios
to none), and ``range``, the wall time of a per-epoch sweep against a per-batch range test over
the same rates and number of points (ratio per-epoch / per-batch).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.course_pipeline import (  # noqa: E402
    compile_course,
    course_forecast,
    course_model,
    windowed_dataset,
)
from engine import training  # noqa: E402
from engine.events import EpochEnded, RunFailed  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.series import load_series  # noqa: E402
from engine.specs import SweepSpec  # noqa: E402
from engine.windows import holdout_points  # noqa: E402

MODELS = {"rnn": "course-rnn", "lstm-2": "course-lstm-2"}
RECIPE = "lstm"  # the recipe the metrics and range-test parts time
TARGET = {"epoch": 4.0, "forecast": 10.0}


def course_epochs(kind: str, exp, epochs: int) -> list[float]:
    """Seconds per epoch of the course pipeline: windowed_dataset + Lambda model + fit."""
    import keras

    series = load_series(exp.series, exp.window.window)
    keras.backend.clear_session()
    keras.utils.set_random_seed(exp.train.seed)
    model = course_model(kind)
    compile_course(model, exp.train.loss, exp.train.learning_rate)
    ds = windowed_dataset(series.train, exp.window.window, exp.window.batch_size, 1000)
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    model.fit(ds, epochs=epochs, verbose=0, callbacks=[Timer()])
    return times


def seqlab_epochs(exp, epochs: int) -> list[float]:
    """Seconds per epoch of seqlab's trainer (as EpochEnded reports them)."""
    exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, epochs=epochs))
    events: list = []
    training.train(exp, events.append, save=False)
    return [e.seconds for e in events if isinstance(e, EpochEnded)]


def epoch_benchmark(rounds: int, epochs: int) -> None:
    """Per-epoch medians; the ratio is the median of per-round ratios, each round running both
    pipelines back to back (alternating which goes first), so load changes cancel out. The ratio
    of the overall medians is printed beside it: when the two differ much, the host was busy."""
    print(f"\nper-epoch time: {rounds} interleaved rounds of {epochs} epochs per pipeline")
    print(
        f"{'model':<15}{'course':>11}{'seqlab':>11}{'ratio':>9}  (per-round range)"
        f"{'of medians':>12}   target {TARGET['epoch']:g}x"
    )
    for kind, name in MODELS.items():
        exp = PRESETS[name]
        course: list[float] = []
        ours: list[float] = []
        ratios: list[float] = []
        for r in range(rounds):
            if r % 2 == 0:
                theirs = course_epochs(kind, exp, epochs)[1:]
                mine = seqlab_epochs(exp, epochs)[1:]
            else:
                mine = seqlab_epochs(exp, epochs)[1:]
                theirs = course_epochs(kind, exp, epochs)[1:]
            course += theirs
            ours += mine
            ratios.append(statistics.median(theirs) / statistics.median(mine))
        c, s, ratio = statistics.median(course), statistics.median(ours), statistics.median(ratios)
        verdict = "met" if ratio >= TARGET["epoch"] else "NOT met"
        print(
            f"{name:<15}{c * 1e3:>8.1f} ms{s * 1e3:>8.1f} ms{ratio:>8.2f}x  "
            f"({min(ratios):.2f}-{max(ratios):.2f}){c / s:>9.2f}x   {verdict}"
        )


def forecast_benchmark(calls: int) -> None:
    import keras
    import numpy as np

    from engine.forecast import validation_forecast
    from engine.keras_model import build_model

    print(f"\nforecast of the validation period (461 windows): median of {calls} calls")
    print(
        f"{'model':<15}{'course':>11}{'seqlab':>11}{'ratio':>9}   first call "
        f"(course / seqlab)   max |diff|"
    )
    for name in MODELS.values():
        exp = PRESETS[name]
        w = exp.window.window
        series = load_series(exp.series, w)
        keras.backend.clear_session()
        keras.utils.set_random_seed(exp.train.seed)
        model = build_model(exp.model, w)
        t0 = time.perf_counter()
        theirs = course_forecast(model, series.values, series.split_time, w)
        first_course = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = validation_forecast(model, series, w)
        first_ours = time.perf_counter() - t0
        diff = float(np.max(np.abs(theirs - ours)))
        course_t: list[float] = []
        ours_t: list[float] = []
        for _ in range(calls):
            t0 = time.perf_counter()
            course_forecast(model, series.values, series.split_time, w)
            course_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            validation_forecast(model, series, w)
            ours_t.append(time.perf_counter() - t0)
        c, s = statistics.median(course_t), statistics.median(ours_t)
        verdict = "met" if c / s >= TARGET["forecast"] else "NOT met"
        print(
            f"{name:<15}{c * 1e3:>8.1f} ms{s * 1e3:>8.1f} ms{c / s:>8.2f}x   "
            f"{first_course:.2f} s / {first_ours:.2f} s{'':>8}{diff:.1e}   "
            f"target {TARGET['forecast']:g}x {verdict}"
        )


def course_schedule(start: float, per_decade: float):
    """The course's scheduler function: ``lambda epoch: 1e-8 * 10**(epoch / 20)``."""
    return lambda epoch: start * 10 ** (epoch / per_decade)


def course_sweep(kind: str, exp) -> float:
    """Wall time of the course's sweep: Lambda model, windowed_dataset, LearningRateScheduler."""
    import keras

    s = exp.sweep
    series = load_series(exp.series, exp.window.window)
    start = time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(exp.train.seed)
    model = course_model(kind)
    compile_course(model, "huber", s.start)
    schedule = keras.callbacks.LearningRateScheduler(course_schedule(s.start, s.epochs_per_decade))
    ds = windowed_dataset(series.train, exp.window.window, exp.window.batch_size, 1000)
    model.fit(ds, epochs=s.epochs, verbose=0, callbacks=[schedule])
    return time.perf_counter() - start


def seqlab_sweep(exp) -> tuple[float, int]:
    """Wall time and epochs of seqlab's sweep (model building and compilation included)."""
    start = time.perf_counter()
    done = training.sweep(exp, lambda e: None, save=False)
    if isinstance(done, RunFailed):
        raise SystemExit(f"{exp.name} sweep failed: {done.message}")
    return time.perf_counter() - start, done.epochs


def sweep_benchmark(kinds: list[str], rounds: int) -> None:
    print(
        f"\nlearning-rate sweep, 100 epochs, wall time with compilation: median of {rounds} "
        "interleaved rounds"
    )
    head = f"{'model':<15}{'course':>10}{'seqlab':>10}{'ratio':>9}"
    print(f"{head}   seqlab with early stop (the default)")
    for kind in kinds:
        exp = PRESETS[MODELS[kind]]
        full = dataclasses.replace(exp, sweep=dataclasses.replace(exp.sweep, early_stop=False))
        course, ours, early = [], [], []
        for r in range(rounds):
            if r % 2:
                ours.append(seqlab_sweep(full)[0])
                course.append(course_sweep(kind, exp))
            else:
                course.append(course_sweep(kind, exp))
                ours.append(seqlab_sweep(full)[0])
            early.append(seqlab_sweep(exp))
        c, s = statistics.median(course), statistics.median(ours)
        e = statistics.median(t for t, _ in early)
        print(
            f"{MODELS[kind]:<15}{c:>8.1f} s{s:>8.1f} s{c / s:>8.2f}x   "
            f"{e:.1f} s ({c / e:.2f}x, {early[0][1]} epochs)"
        )


def scoring_variants(exp) -> dict[str, object]:
    """The recipe four ways: scoring neither, the holdout slice, the validation period, or both.

    Without a holdout slice the series is cut short by the slice's points (length and split
    alike), so every variant fits the same windows and scores a validation period of the same
    length: what differs is the per-epoch scoring alone. All run every epoch (no early stop).
    """
    t = exp.train
    held = holdout_points(t.holdout, exp.series.split_time)
    short = dataclasses.replace(
        exp.series, length=exp.series.length - held, split_time=exp.series.split_time - held
    )
    run_all = dataclasses.replace(t, patience=None)
    bare = dataclasses.replace(run_all, holdout=0.0, restore_best=False, schedule="cosine")
    return {
        "none": dataclasses.replace(
            exp, series=short, train=dataclasses.replace(bare, validate=False)
        ),
        "holdout": dataclasses.replace(exp, train=dataclasses.replace(run_all, validate=False)),
        "validation": dataclasses.replace(
            exp, series=short, train=dataclasses.replace(bare, validate=True)
        ),
        "both": dataclasses.replace(exp, train=dataclasses.replace(run_all, validate=True)),
    }


def metrics_benchmark(rounds: int, epochs: int) -> None:
    """Per-epoch medians of the four scoring variants, interleaved round by round (the order
    rotating), first epoch of every run left out; ratios to scoring none."""
    exp = PRESETS[RECIPE]
    variants = scoring_variants(exp)
    held = holdout_points(exp.train.holdout, exp.series.split_time)
    print(
        f"\nper-epoch cost of the per-epoch metrics, {RECIPE} recipe (window "
        f"{exp.window.window}, batch {exp.window.batch_size}; holdout slice {held} points, "
        f"validation period {len(load_series(exp.series).valid)} points): {rounds} interleaved "
        f"rounds of {epochs} epochs per variant"
    )
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name] += seqlab_epochs(variants[name], epochs)[1:]
    base = statistics.median(times["none"])
    print(f"{'scored every epoch':<22}{'epoch':>10}{'ratio to none':>15}")
    for name in names:
        m = statistics.median(times[name])
        print(f"{name:<22}{m * 1e3:>7.1f} ms{m / base:>14.2f}x")


def range_benchmark(rounds: int, points: int) -> None:
    """Wall time (compilation included) of a per-epoch sweep and a per-batch range test over the
    same rates: ``points`` steps from the optimizer's start, 20 a decade, no early stop."""
    exp = PRESETS[RECIPE]
    series = load_series(exp.series, exp.window.window)
    held = holdout_points(exp.train.holdout, series.split_time)
    batches = -(-(series.split_time - held - exp.window.window) // exp.window.batch_size)
    specs = {
        mode: SweepSpec(
            start=None, epochs_per_decade=20.0, epochs=points, early_stop=False, mode=mode
        )
        for mode in ("epoch", "batch")
    }
    print(
        f"\nlearning-rate sweep, {RECIPE} recipe: {points} points (rates) per sweep, one per "
        f"epoch ({batches} batches each) or one per batch; wall time with compilation, median "
        f"of {rounds} interleaved rounds"
    )
    walls: dict[str, list[float]] = {mode: [] for mode in specs}
    for r in range(rounds):
        for mode in ("epoch", "batch") if r % 2 == 0 else ("batch", "epoch"):
            walls[mode].append(seqlab_sweep(dataclasses.replace(exp, sweep=specs[mode]))[0])
    e, b = statistics.median(walls["epoch"]), statistics.median(walls["batch"])
    print(f"{'per-epoch sweep':<22}{e:>8.1f} s")
    print(f"{'per-batch range test':<22}{b:>8.1f} s")
    print(f"{'ratio':<22}{e / b:>8.2f}x  (per-epoch / per-batch)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per model")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per run in a round")
    parser.add_argument("--calls", type=int, default=20, help="forecast calls per side")
    parser.add_argument(
        "--sweep-models", default="rnn", help="comma-separated: rnn, lstm-2 ('' to skip)"
    )
    parser.add_argument("--sweep-rounds", type=int, default=2, help="sweeps per side and model")
    parser.add_argument(
        "--parts",
        default="epoch,forecast,sweep,metrics,range",
        help="comma-separated: epoch, forecast, sweep, metrics, range",
    )
    parser.add_argument(
        "--metrics-rounds", type=int, default=3, help="rounds of the metrics part (each variant)"
    )
    parser.add_argument(
        "--metrics-epochs", type=int, default=15, help="epochs per run in the metrics part"
    )
    parser.add_argument("--range-rounds", type=int, default=2, help="sweeps per mode")
    parser.add_argument("--range-points", type=int, default=100, help="rates per sweep")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    training.load_tensorflow()
    warnings.filterwarnings("ignore", category=UserWarning)  # Keras on the course's fit calls
    import keras
    import tensorflow as tf

    print(
        f"seqlab training benchmark: {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; load average {os.getloadavg()[0]:.2f}"
    )
    if "epoch" in parts:
        epoch_benchmark(args.rounds, args.epochs)
    if "forecast" in parts:
        forecast_benchmark(args.calls)
    kinds = [k for k in args.sweep_models.split(",") if k]
    if kinds and "sweep" in parts:
        sweep_benchmark(kinds, args.sweep_rounds)
    if "metrics" in parts:
        metrics_benchmark(args.metrics_rounds, args.metrics_epochs)
    if "range" in parts:
        range_benchmark(args.range_rounds, args.range_points)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
