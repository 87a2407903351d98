"""Which learning-rate suggestion to recommend: sweep, then train at each suggestion, on 4 series.

    python bench/suggestion_table.py [--models lstm,gru] [--sunspots PATH] [--epochs N]
                                     [--series course,syn-season90,syn-trend30,sunspots]
                                     [--sweep recipe,range-test,epoch]

For every series and model (seqlab's recipes, engine/presets.py), the recipe's own sweep
(``[sweep]``: its mode, range and length) runs on the training part, then the recipe is trained
at each of the sweep's three suggestions (engine.sweep.SUGGESTIONS: minimum, steep, valley) and at
the recipe's own rate, and the validation MAE is compared with the naive forecast (ratio < 1:
better than naive) and with the linear autoregression on the same window. The summary counts, per
rule, how often it beats naive and the linear AR and which rule gave the lowest MAE of the three,
with the median and worst MAE ratio to naive. engine.sweep.RECOMMENDED is set from it.
``--sweep`` runs the table once per sweep setting: the recipe's own, and/or the two in SWEEPS
(a per-batch range test and a per-epoch sweep, both from the optimizer's default start).

Series: the course's (1461 points, period 365, noise 5, rising trend); two synthetic series with
other seasonality, noise and trend (below: SYNTHETIC); Sunspots (``--sunspots``, default
../shared/data/Sunspots.csv beside the repository, split 3000, period 132; skipped with a message
when absent). Nothing chosen here looks at the validation period: the sweep fits the fitting part
and each training run keeps its best epoch on the holdout slice; the validation MAE is the score.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reproduce_recipes import DEFAULT_SUNSPOTS, sunspots_series  # noqa: E402
from engine import training  # noqa: E402
from engine.events import RunFinished  # noqa: E402
from engine.presets import RECIPES  # noqa: E402
from engine.specs import Experiment, SeriesSpec, SweepSpec, SyntheticSeries  # noqa: E402
from engine.sweep import RECOMMENDED, SUGGESTIONS, apply_suggestion  # noqa: E402

SYNTHETIC: dict[str, SyntheticSeries] = {
    # a short season (90 steps), little noise, a slowly falling trend: 17 seasons to train on
    "syn-season90": SyntheticSeries(
        length=2000,
        baseline=50.0,
        slope=-0.01,
        period=90,
        amplitude=25.0,
        noise_level=2.0,
        seed=7,
        split_time=1600,
    ),
    # a very short season (30 steps), heavy noise, a steep rising trend (beyond the training
    # range in the validation period)
    "syn-trend30": SyntheticSeries(
        length=1200,
        baseline=0.0,
        slope=0.2,
        period=30,
        amplitude=15.0,
        phase=10.0,
        noise_level=8.0,
        seed=3,
        split_time=1000,
    ),
}
SERIES_NAMES = ("course", *SYNTHETIC, "sunspots")
SWEEPS: dict[str, SweepSpec] = {
    # 6 decades from the optimizer's start (1e-6 for Adam): a rate per batch, 20 batches a decade
    "range-test": SweepSpec(start=None, epochs_per_decade=20.0, epochs=120, mode="batch"),
    # the same 6 decades, a rate per epoch, 10 epochs a decade
    "epoch": SweepSpec(start=None, epochs_per_decade=10.0, epochs=60, mode="epoch"),
}
RULES = tuple(s.name for s in SUGGESTIONS)
OWN = "recipe rate"  # the row trained at the recipe's own learning rate, for comparison


@dataclasses.dataclass(frozen=True)
class Result:
    series: str
    model: str
    rule: str
    lr: float
    mae: float
    naive: float
    linear: float
    kept: str
    seconds: float

    @property
    def ratio(self) -> float:
        return self.mae / self.naive


def series_specs(names: list[str], sunspots: Path) -> dict[str, SeriesSpec]:
    specs: dict[str, SeriesSpec] = {}
    for name in names:
        if name == "course":
            specs[name] = SyntheticSeries()
        elif name in SYNTHETIC:
            specs[name] = SYNTHETIC[name]
        elif sunspots.is_file():
            specs[name] = sunspots_series(sunspots)
        else:
            print(f"Sunspots skipped: {sunspots} not found (give --sunspots PATH)")
    return specs


def train_at(exp: Experiment, lr: float) -> tuple[RunFinished, float]:
    start = time.perf_counter()
    outcome = training.train(apply_suggestion(exp, lr), lambda e: None, save=False)
    if not isinstance(outcome, RunFinished):
        raise SystemExit(f"{exp.name} at lr {lr:.3g}: {outcome}")
    return outcome, time.perf_counter() - start


def run_pair(
    series: str, spec: SeriesSpec, model: str, epochs: int | None, sweep: SweepSpec | None
) -> list[Result]:
    exp = dataclasses.replace(RECIPES[model], series=spec)
    if sweep is not None:
        exp = dataclasses.replace(exp, sweep=sweep)
    if epochs:
        exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, epochs=epochs))
    start = time.perf_counter()
    swept = training.sweep(exp, lambda e: None, save=False)
    if not isinstance(swept, RunFinished):
        print(f"{series}/{model}: the sweep did not finish: {swept}")
        return []
    s = exp.sweep
    print(
        f"\n{series}/{model}: sweep ({s.mode} mode, {swept.epochs} of {s.epochs} steps, "
        f"{time.perf_counter() - start:.0f} s): "
        + ", ".join(f"{k} {v:.3g}" for k, v in swept.suggestions.items())
        + f"; engine recommends {swept.recommended}",
        flush=True,
    )
    for note in swept.notes:
        print(f"  note: {note}")
    out = []
    rates = [(rule, swept.suggestions[rule]) for rule in RULES]
    rates.append((OWN, exp.train.learning_rate))
    for rule, lr in rates:
        done, seconds = train_at(exp, lr)
        m = done.metrics
        result = Result(
            series,
            model,
            rule,
            lr,
            m["val_mae"],
            m["naive_mae"],
            m["linear_mae"],
            f"{int(m['best_epoch'])}/{int(m['epochs_run'])}",
            seconds,
        )
        out.append(result)
        print(
            f"  {rule:<12} lr {lr:<9.3g} val MAE {result.mae:8.3f}  naive {result.naive:.3f}  "
            f"ratio {result.ratio:.3f}  linear {result.linear:.3f}  kept {result.kept}  "
            f"{seconds:.0f} s",
            flush=True,
        )
    return out


def summary(results: list[Result], title: str) -> None:
    pairs = sorted({(r.series, r.model) for r in results})
    print(f"\n=== {title} ===")
    print(f"all runs (MAE ratio to naive; < 1 beats it), {len(pairs)} series x model pairs")
    head = f"{'series':<14}{'model':<11}" + "".join(f"{rule:>18}" for rule in (*RULES, OWN))
    print(head)
    print("-" * len(head))
    for series, model in pairs:
        cells = []
        for rule in (*RULES, OWN):
            r = next(x for x in results if (x.series, x.model, x.rule) == (series, model, rule))
            mark = "*" if r.mae > r.linear else " "
            cells.append(f"{r.ratio:>9.3f} ({r.lr:.0e}){mark}")
        print(f"{series:<14}{model:<11}" + "".join(f"{c:>18}" for c in cells))
    print("(* worse than the linear autoregression)")

    print(f"\nper rule, over {len(pairs)} pairs")
    head = (
        f"{'rule':<13}{'beats naive':>12}{'beats linear':>13}{'lowest of 3':>12}"
        f"{'median ratio':>13}{'mean ratio':>11}{'worst ratio':>12}"
    )
    print(head)
    print("-" * len(head))
    lowest = {rule: 0 for rule in RULES}
    for series, model in pairs:
        three = [r for r in results if (r.series, r.model) == (series, model) and r.rule in RULES]
        lowest[min(three, key=lambda r: r.mae).rule] += 1
    ranking = []
    for rule in (*RULES, OWN):
        rows = [r for r in results if r.rule == rule]
        ratios = [r.ratio for r in rows]
        wins = sum(r.mae < r.naive for r in rows)
        lin = sum(r.mae < r.linear for r in rows)
        best = str(lowest[rule]) if rule in lowest else "—"
        print(
            f"{rule:<13}{f'{wins}/{len(rows)}':>12}{f'{lin}/{len(rows)}':>13}{best:>12}"
            f"{statistics.median(ratios):>13.3f}{statistics.mean(ratios):>11.3f}"
            f"{max(ratios):>12.3f}"
        )
        if rule in RULES:
            ranking.append((-wins, statistics.median(ratios), rule))
    ranking.sort()
    best_rule = ranking[0][2]
    print(
        f"\nmost often better than naive, then lowest median ratio: {best_rule} "
        f"(engine.sweep.RECOMMENDED is {RECOMMENDED.name})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="lstm,gru", help="recipes, comma-separated")
    parser.add_argument("--series", default=",".join(SERIES_NAMES), help="comma-separated")
    parser.add_argument("--sunspots", type=Path, default=DEFAULT_SUNSPOTS, help="Sunspots.csv")
    parser.add_argument(
        "--epochs", type=int, help="train each run for at most this many epochs (quicker)"
    )
    parser.add_argument(
        "--sweep",
        default="recipe",
        help="comma-separated: recipe (each recipe's own [sweep]), " + ", ".join(SWEEPS),
    )
    args = parser.parse_args()
    sweeps = [s.strip() for s in args.sweep.split(",") if s.strip()]
    if any(s not in ("recipe", *SWEEPS) for s in sweeps):
        parser.error(f"--sweep: choose from recipe, {', '.join(SWEEPS)}")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    names = [s.strip() for s in args.series.split(",") if s.strip()]
    bad = [m for m in models if m not in RECIPES] + [s for s in names if s not in SERIES_NAMES]
    if bad:
        parser.error(
            f"unknown: {', '.join(bad)}; models: {', '.join(RECIPES)}; "
            f"series: {', '.join(SERIES_NAMES)}"
        )
    training.load_tensorflow()
    import tensorflow as tf

    print(
        f"suggestion_table: {os.cpu_count()} CPUs, TensorFlow {tf.__version__}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.epochs:
        print(
            f"training runs capped at {args.epochs} epochs (the recipes' own: "
            + ", ".join(f"{m} {RECIPES[m].train.epochs}" for m in models)
            + "); the cosine decay then spans the capped epochs"
        )
    start = time.perf_counter()
    specs = series_specs(names, args.sunspots)
    tables: list[tuple[str, list[Result]]] = []
    for which in sweeps:
        sweep = SWEEPS.get(which)
        label = "each recipe's own sweep" if sweep is None else f"{which} sweep: {sweep}"
        print(f"\n##### {label}")
        results: list[Result] = []
        for series, spec in specs.items():
            for model in models:
                results += run_pair(series, spec, model, args.epochs, sweep)
        if results:
            tables.append((label, results))
            summary(results, label)
    if len(tables) > 1:
        print("\n##### all summaries again")
        for label, results in tables:
            summary(results, label)
    print(
        f"\ntotal {time.perf_counter() - start:.0f} s; load average at the end "
        f"{os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
