"""Benchmark: a 30-step recursive roll-out from every validation origin, seqlab against the course.

    python bench/bench_rollout.py [--steps 30] [--sample 8] [--calls 3]

The course forecasts one window at a time with ``model.predict(window[np.newaxis])``; rolled out
recursively that is one call per origin and step. seqlab's ``Forecaster.paths`` advances every
origin together: one compiled call per step for all 461 origins. The course's loop is timed on
``--sample`` origins spread over the validation period and scaled to all of them (its time is the
same for every origin: one call per step); seqlab's is timed on all origins (median of
``--calls`` calls after a first, compiling one, shown apart). A third way, the course's batched
``model.predict`` (batches of 32, as its ``model_forecast``) over all origins once per step, shows
what batching alone gives. Printed per model: the times, the ratios to seqlab (the per-window
loop's against the target), and the largest difference between the forecasts on the sampled
origins. Weights are seeded, not trained: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import training  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.series import load_series  # noqa: E402

MODELS = ("course-rnn", "course-lstm-2")
TARGET = 20.0


def course_rollout(model, values, origin: int, window: int, steps: int):
    """The course's way: one ``model.predict`` per step, fed its own forecast."""
    import numpy as np

    current = np.asarray(values[origin - window : origin], dtype="float32")
    out = []
    for _ in range(steps):
        value = float(model.predict(current[np.newaxis], verbose=0)[0, 0])
        out.append(value)
        current = np.append(current[1:], np.float32(value))
    return np.array(out)


def batched_rollout(model, values, origins, window: int, steps: int):
    """Every origin at once, one ``model.predict`` (batches of 32) per step."""
    import numpy as np

    index = origins[:, None] - window + np.arange(window)[None, :]
    current = np.asarray(values, dtype="float32")[index]
    out = np.empty((len(origins), steps))
    for step in range(steps):
        nxt = model.predict(current, batch_size=32, verbose=0)[:, 0]
        out[:, step] = nxt
        current = np.concatenate([current[:, 1:], nxt[:, None].astype("float32")], axis=1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sample", type=int, default=8, help="origins the course loop runs")
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    training.load_tensorflow()
    import keras
    import numpy as np

    from engine.forecast import Forecaster
    from engine.keras_model import build_model, portable_model
    from engine.scaling import Scaler

    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"keras {keras.__version__}"
    )
    print(
        f"\n{args.steps}-step recursive roll-out from every validation origin "
        f"(course loop timed on {args.sample} origins, scaled to all)"
    )
    print(
        f"{'model':<15}{'origins':>8}{'per window':>12}{'batched':>10}{'seqlab':>10}"
        f"{'ratio':>9}{'batched':>9}{'first call':>12}   max |diff|"
    )
    for name in MODELS:
        exp = PRESETS[name]
        w = exp.window.window
        series = load_series(exp.series, w)
        keras.backend.clear_session()
        keras.utils.set_random_seed(exp.train.seed)
        model = build_model(exp.model, w)
        origins = np.arange(series.split_time, len(series))
        # seqlab forecasts from the model a run saves (Keras's own layers); the course loops
        # from the model as built, which gives the same values
        fc = Forecaster(portable_model(model, exp.model, Scaler()), Scaler())
        t0 = time.perf_counter()
        ours = fc.paths(series.values, origins, args.steps)
        first = time.perf_counter() - t0
        times = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            fc.paths(series.values, origins, args.steps)
            times.append(time.perf_counter() - t0)
        seqlab_s = statistics.median(times)
        picks = np.linspace(0, len(origins) - 1, args.sample).astype(int)
        course_rollout(model, series.values, int(origins[0]), w, 1)  # its first call compiles
        t0 = time.perf_counter()
        theirs = [
            course_rollout(model, series.values, int(origins[i]), w, args.steps) for i in picks
        ]
        course_s = (time.perf_counter() - t0) / args.sample * len(origins)
        batched_rollout(model, series.values, origins[:1], w, 1)
        t0 = time.perf_counter()
        batched = batched_rollout(model, series.values, origins, w, args.steps)
        batched_s = time.perf_counter() - t0
        diff = float(
            max(np.max(np.abs(np.array(theirs) - ours[picks])), np.max(np.abs(batched - ours)))
        )
        ratio = course_s / seqlab_s
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(
            f"{name:<15}{len(origins):>8}{course_s:>10.1f} s{batched_s:>8.2f} s"
            f"{seqlab_s * 1e3:>7.0f} ms{ratio:>8.0f}x{batched_s / seqlab_s:>8.1f}x"
            f"{first:>10.2f} s   {diff:.1e}   target {TARGET:g}x {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
