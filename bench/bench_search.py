"""Benchmarks of searches on Ray Tune, not tests: prints seconds and ratios measured in one run.

1. Ray's fixed cost: starting the embedded local Ray, and the overhead per trial of N trials of a
   20-epoch course-rnn run through a search one at a time (no scheduler), against the same N
   experiments trained back to back with ``engine.training.train`` in this process (TensorFlow
   loaded once in each case: the search reuses its trial processes). Target: the overhead per
   trial at most 15% of a trial.
2. ASHA against a full-budget random search of the same trials (same seed, so the same points):
   total time, the time until the trial with the search's best holdout MAE had ended, and that
   best holdout MAE.

Usage: python bench/bench_search.py [--trials N] [--epochs N] [--asha-trials N]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from engine import search_space
from engine.events import SearchEnded, SearchEvent, TrialUpdate
from engine.presets import get_preset
from engine.runstore import RunStore


def course_base(epochs: int) -> search_space.Search:
    exp = get_preset("course-rnn")
    train = dataclasses.replace(exp.train, holdout=0.1, epochs=epochs)
    return search_space.Search(base=dataclasses.replace(exp, train=train), space=())


def timed_search(search: search_space.Search, root: Path) -> tuple[float, SearchEnded, dict]:
    """Runs the search: its wall time, its end, and when (seconds in) each trial ended."""
    from engine.search import run_search

    ended_at: dict[int, float] = {}
    t0 = time.perf_counter()

    def on_event(event: SearchEvent) -> None:
        if isinstance(event, TrialUpdate) and event.status != "running":
            ended_at.setdefault(event.trial, time.perf_counter() - t0)

    end = run_search(search, on_event, store=RunStore(root))
    return time.perf_counter() - t0, end, ended_at


def ray_start_seconds(rounds: int) -> list[float]:
    import ray

    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.ERROR)
        out.append(time.perf_counter() - t0)
        ray.shutdown()
    return out


def overhead(trials: int, epochs: int, root: Path) -> None:
    from engine import training

    base = course_base(epochs)
    rates = [round(5e-6 * (1.25**i), 12) for i in range(trials)]
    space = (search_space.Param("train.learning_rate", "grid", tuple(rates)),)
    settings = search_space.SearchSettings(
        searcher="grid", scheduler="none", max_concurrent=1, trials=trials
    )
    search = dataclasses.replace(base, space=space, settings=settings)

    training.load_tensorflow()
    t0 = time.perf_counter()
    for rate in rates:
        exp = search_space.apply(base.base, {"train.learning_rate": rate})
        training.train(exp, lambda event: None, store=RunStore(root / "back-to-back"))
    back_to_back = time.perf_counter() - t0

    starts = ray_start_seconds(3)
    total, end, _ = timed_search(search, root / "search")
    assert all(t.status == "finished" for t in end.trials), end
    start = statistics.median(starts)
    per_trial = back_to_back / trials
    extra = (total - start - back_to_back) / trials
    print(f"Ray's fixed cost: {trials} course-rnn trials of {epochs} epochs, one at a time")
    print(f"  local Ray start:             median {start:.2f} s of {len(starts)}")
    print(f"  back to back in one process: {back_to_back:.1f} s ({per_trial:.2f} s a trial)")
    print(f"  as a search on Ray Tune:     {total:.1f} s (Ray start included)")
    print(
        f"  overhead per trial:          {extra:.2f} s = {extra / per_trial:.0%} of a trial "
        "(target <= 15%)"
    )


def asha_against_random(trials: int, epochs: int, root: Path) -> None:
    base = course_base(epochs)
    space = (
        search_space.Param("train.learning_rate", "loguniform", (1e-6, 3e-5)),
        search_space.Param("model.layers[1].units", "choice", (20, 40, 80)),
    )
    rows = []
    for scheduler in ("asha", "none"):
        settings = search_space.SearchSettings(
            trials=trials, scheduler=scheduler, grace_period=max(1, epochs // 8), seed=3
        )
        search = dataclasses.replace(base, space=space, settings=settings)
        total, end, ended_at = timed_search(search, root / scheduler)
        best = next(t for t in end.trials if t.trial == end.best_trial)
        pruned = sum(t.status == "pruned" for t in end.trials)
        rows.append((scheduler, total, ended_at[best.trial], best.holdout_mae, pruned))
    print(f"\nASHA against a full-budget random search: {trials} trials of up to {epochs} epochs")
    print(f"  {'scheduler':<10} {'total s':>8} {'best by s':>10} {'best holdout MAE':>17} pruned")
    for scheduler, total, best_at, holdout, pruned in rows:
        print(f"  {scheduler:<10} {total:>8.1f} {best_at:>10.1f} {holdout:>17.4f} {pruned:>6}")
    (_, asha_total, asha_best, *_), (_, full_total, full_best, *_) = rows
    print(
        f"  ASHA / full: total {asha_total / full_total:.2f}, "
        f"time to its best {asha_best / full_best:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--asha-trials", type=int, default=12)
    parser.add_argument("--asha-epochs", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{os.cpu_count()} CPUs")
        overhead(args.trials, args.epochs, Path(tmp))
        asha_against_random(args.asha_trials, args.asha_epochs, Path(tmp))


if __name__ == "__main__":
    main()
