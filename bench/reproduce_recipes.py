"""Trains every preset and recipe on the course series and on Sunspots; prints the baseline ladder.

    python bench/reproduce_recipes.py [NAME ...] [--sunspots PATH] [--series course,sunspots]
                                      [--max-epochs N] [--runs DIR]

One table per series: the validation MAE of each experiment beside the naive forecast and the
linear autoregression on the same window (engine.baselines.ladder), the MASE (validation MAE /
the training part's in-sample naive MAE), the epoch whose weights were kept (of the epochs run)
and the wall time of the whole run (windows, compilation, training, forecast), with TensorFlow
using every core. One run each, at each experiment's own seed.

On Sunspots (``--sunspots``, default ../shared/data/Sunspots.csv beside the repository; skipped
with a message when absent) every experiment runs unchanged except for its series: the CSV's
"Monthly Mean Total Sunspot Number" column, split 3000, period 132, as a user who loads the file
and picks a preset gets it. The course presets keep their x100/x400 output scale there, which the
lint reports. ``quiz-q8`` cannot be built by design and is listed as such.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import training  # noqa: E402
from engine.events import EpochEnded, RunFailed, RunFinished  # noqa: E402
from engine.presets import PRESETS, RECIPES  # noqa: E402
from engine.runstore import RunStore  # noqa: E402
from engine.specs import CsvSeries, Experiment  # noqa: E402

DEFAULT_SUNSPOTS = ROOT.parent / "shared" / "data" / "Sunspots.csv"
SUNSPOTS_COLUMN = "Monthly Mean Total Sunspot Number"
SUNSPOTS_SPLIT = 3000
SUNSPOTS_PERIOD = 132  # months: the ~11-year cycle


def sunspots_series(path: Path) -> CsvSeries:
    return CsvSeries(
        path=str(path),
        column=SUNSPOTS_COLUMN,
        date_column="Date",
        split_time=SUNSPOTS_SPLIT,
        period=SUNSPOTS_PERIOD,
    )


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    outcome: RunFinished | None
    seconds: float
    failure: str = ""


def run_one(exp: Experiment, store: RunStore | None, label: str) -> Row:
    """Trains one experiment, printing a progress line every tenth of its epochs."""
    every = max(1, exp.train.epochs // 10)

    def on_event(event: object) -> None:
        if isinstance(event, EpochEnded) and event.epoch % every == 0:
            hold = "" if event.holdout_mae is None else f", holdout MAE {event.holdout_mae:.3f}"
            print(
                f"  {label} epoch {event.epoch}/{event.total_epochs}: loss {event.loss:.4f}{hold}",
                flush=True,
            )

    start = time.perf_counter()
    outcome = training.train(exp, on_event, store=store, save=store is not None)
    seconds = time.perf_counter() - start
    if isinstance(outcome, RunFinished):
        return Row(exp.name, outcome, seconds)
    reason = outcome.message if isinstance(outcome, RunFailed) else str(outcome)
    return Row(exp.name, None, seconds, reason)


def print_table(title: str, rows: list[Row]) -> None:
    print(f"\n{title}")
    head = (
        f"{'experiment':<18}{'val MAE':>9}{'naive':>8}{'linear':>8}{'MASE':>7}"
        f"{'/naive':>8}{'kept epoch':>14}{'wall':>8}  notes"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        if row.outcome is None:
            reason = row.failure if len(row.failure) <= 90 else row.failure[:89] + "…"
            print(f"{row.name:<18}{'—':>9}  not run: {reason}")
            continue
        m = row.outcome.metrics
        mae, naive, linear = m["val_mae"], m["naive_mae"], m["linear_mae"]
        kept = f"{int(m['best_epoch'])} of {int(m['epochs_run'])}"
        marks = []
        if mae > naive:
            marks.append("worse than naive")
        if mae > linear:
            marks.append("worse than linear")
        print(
            f"{row.name:<18}{mae:>9.3f}{naive:>8.3f}{linear:>8.3f}{m['val_mase']:>7.3f}"
            f"{mae / naive:>8.3f}{kept:>14}{row.seconds:>7.0f}s  {', '.join(marks)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", default=list(PRESETS), help="presets/recipes (default: all)"
    )
    parser.add_argument("--sunspots", type=Path, default=DEFAULT_SUNSPOTS, help="Sunspots.csv")
    parser.add_argument(
        "--series", default="course,sunspots", help="comma-separated: course, sunspots"
    )
    parser.add_argument(
        "--max-epochs", type=int, help="cap every experiment's epochs (a quicker, partial check)"
    )
    parser.add_argument("--runs", metavar="DIR", help="also save the runs here (seqlab show)")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in PRESETS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    wanted = [s.strip() for s in args.series.split(",") if s.strip()]
    bad = [s for s in wanted if s not in ("course", "sunspots")]
    if bad:
        parser.error(f"unknown series {', '.join(bad)}; choose from course, sunspots")
    store = RunStore(args.runs) if args.runs else None
    training.load_tensorflow()
    import keras
    import tensorflow as tf

    print(
        f"reproduce_recipes: {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}; load average {os.getloadavg()[0]:.2f}"
    )
    if args.max_epochs:
        print(f"every experiment capped at {args.max_epochs} epochs: NOT the presets' figures")
    tables: list[tuple[str, list[Row]]] = []
    for which in wanted:
        if which == "course":
            title = "course series (synthetic, 1461 points, split 1000): validation period 461"
            swap = None
        else:
            if not args.sunspots.is_file():
                print(f"\nSunspots skipped: {args.sunspots} not found (give --sunspots PATH)")
                continue
            title = f"Sunspots ({args.sunspots.name}, split {SUNSPOTS_SPLIT}): validation 235"
            swap = sunspots_series(args.sunspots)
        rows = []
        for name in args.names:
            exp = PRESETS[name]
            if swap is not None:
                exp = dataclasses.replace(exp, series=swap)
            if args.max_epochs:
                exp = dataclasses.replace(
                    exp, train=dataclasses.replace(exp.train, epochs=args.max_epochs)
                )
            label = f"{which}/{name}"
            row = run_one(exp, store, label)
            rows.append(row)
            if row.outcome is not None:
                print(
                    f"{label}: validation MAE {row.outcome.metrics['val_mae']:.4f} "
                    f"({row.seconds:.0f} s)",
                    flush=True,
                )
            else:
                print(f"{label}: not run: {row.failure}", flush=True)
        tables.append((title, rows))
        print_table(title, rows)
    if len(tables) > 1:
        print("\nall tables again:")
        for title, rows in tables:
            print_table(title, rows)
    recipes = [n for n in args.names if n in RECIPES]
    if recipes:
        print(f"\nrecipes: {', '.join(recipes)} (engine/presets.py); the others are the course's")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
