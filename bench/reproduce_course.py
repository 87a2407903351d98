"""Reproduces the course's week 3 results with seqlab's presets, at the course's schedules.

    python bench/reproduce_course.py [PRESET ...] [--runs DIR]

Trains each preset (default: course-rnn, course-lstm-1, -2, -3; add course-conv-lstm for week 4)
for its full number of epochs and prints the validation MAE next to the figure the course
published (../shared/reference/course-facts.md §4). The course's runs were single, seeded runs on
other hardware, so expect the same ballpark, not the same digits.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import training  # noqa: E402
from engine.events import EpochEnded, RunFinished  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.runstore import RunStore  # noqa: E402

PUBLISHED = {  # validation MAE, and where the course reports it
    "course-rnn": (6.3532376, "slides W3 p37, 500 epochs"),
    "course-lstm-1": (6.131234, "slides W3 p50"),
    "course-lstm-2": (5.2872233, "slides W3 p53"),
    "course-lstm-3": (5.53239, "slides W3 p56"),
    "course-conv-lstm": (4.985901, "slides W4, the lecture's Conv1D 32 + LSTM 32 model"),
}
NAIVE_MAE = 5.937908
DEFAULT = ["course-rnn", "course-lstm-1", "course-lstm-2", "course-lstm-3"]


def reproduce(name: str, store: RunStore | None) -> tuple[float, float, int]:
    """Trains one preset; returns (validation MAE, seconds, epochs), printing progress."""
    exp = PRESETS[name]
    every = max(1, exp.train.epochs // 10)

    def on_event(event) -> None:
        if isinstance(event, EpochEnded) and event.epoch % every == 0:
            print(
                f"  {name} epoch {event.epoch}/{event.total_epochs} loss {event.loss:.4f}",
                flush=True,
            )

    start = time.perf_counter()
    outcome = training.train(exp, on_event, store=store, save=store is not None)
    if not isinstance(outcome, RunFinished):
        raise SystemExit(f"{name}: {outcome}")
    return outcome.metrics["val_mae"], time.perf_counter() - start, outcome.epochs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("presets", nargs="*", default=DEFAULT, help=", ".join(PUBLISHED))
    parser.add_argument("--runs", metavar="DIR", help="also save the runs here (seqlab show)")
    args = parser.parse_args()
    unknown = [p for p in args.presets if p not in PUBLISHED]
    if unknown:
        parser.error(
            f"no published figure for {', '.join(unknown)}; choose from {', '.join(PUBLISHED)}"
        )
    store = RunStore(args.runs) if args.runs else None
    rows = []
    for name in args.presets:
        mae, seconds, epochs = reproduce(name, store)
        rows.append((name, epochs, mae, seconds))
        print(f"{name}: validation MAE {mae:.4f} (course {PUBLISHED[name][0]:.4f})", flush=True)
    print(f"\n{'preset':<18}{'epochs':>7}{'seqlab MAE':>12}{'course MAE':>12}{'naive':>8}  time")
    for name, epochs, mae, seconds in rows:
        published, where = PUBLISHED[name]
        print(
            f"{name:<18}{epochs:>7}{mae:>12.4f}{published:>12.4f}{NAIVE_MAE:>8.4f}  "
            f"{seconds:.0f} s   ({where})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
