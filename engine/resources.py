"""How much memory a run needs, estimated before anything is allocated, and how much there is.

Sizes inside the allowed ranges can still ask for more memory than the machine has (a batch of
65,536 windows of a wide stack, or a long CSV cut into long windows); numpy then fails with an
opaque MemoryError, or the kernel kills the process. The estimate is plain arithmetic on the
shape inference (engine.shapes), so ``summary``, the app's shape table and a run's checks can
all show it, and a run that would not fit is refused naming the field to lower.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.shapes import SEQ2SEQ, ShapeReport, forecast_outputs
from engine.specs import Experiment

FLOAT_BYTES = 4  # float32 everywhere
WINDOW_COPIES = 3  # the cut windows, their scaled copy, and the tensors cached from them
WEIGHT_COPIES = 4  # weights, gradients and two optimizer slots (Adam's moments)
ACTIVATION_COPIES = 3  # outputs kept for backpropagation, their gradients, workspace
GIB = 1 << 30


@dataclass(frozen=True)
class Estimate:
    """Bytes a run needs: its windows, its weights (with gradients and optimizer slots) and the
    activations of one batch of ``batch`` windows."""

    windows: int
    weights: int
    activations: int
    batch: int

    @property
    def total(self) -> int:
        return self.windows + self.weights + self.activations


def size_text(n: float) -> str:
    """Bytes for a person: 512 B, 3.4 KiB, 12.0 MiB, 33.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def estimate(
    exp: Experiment, report: ShapeReport, points: int, batch: int | None = None
) -> Estimate:
    """The memory a run of ``exp`` on a series of ``points`` values needs (``report``: its shape
    inference, for its layers' outputs and parameters)."""
    b = exp.window.batch_size if batch is None else batch
    w = exp.window.window
    labels = w if report.mode == SEQ2SEQ else forecast_outputs(exp.forecast)
    n = max(points - w, 0)
    windows = n * (w + labels) * FLOAT_BYTES * WINDOW_COPIES
    weights = (report.total_params or 0) * FLOAT_BYTES * WEIGHT_COPIES
    per_window = w  # the input itself
    for row in report.layers:
        if row.output_shape is not None:
            size = 1
            for d in row.output_shape[1:]:
                size *= d or 1
            per_window += size
    activations = per_window * b * FLOAT_BYTES * ACTIVATION_COPIES
    return Estimate(windows, weights, activations, b)


def estimate_text(e: Estimate) -> str:
    """'about 1.2 MiB for training (windows A, weights B, activations C per batch of N)'."""
    return (
        f"about {size_text(e.total)} for training (windows {size_text(e.windows)}, weights "
        f"{size_text(e.weights)}, activations {size_text(e.activations)} per batch of "
        f"{e.batch:,})"
    )


def available_memory() -> int | None:
    """Bytes the system can give without swapping (MemAvailable), else its free pages; None
    where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def too_big(e: Estimate, available: int | None, window: int) -> str | None:
    """Why a run with this estimate cannot fit in ``available`` bytes, naming the field to
    lower (the batch size when the activations are most of it, else ``window``, the window
    length); None when it fits."""
    if available is None or e.total <= available:
        return None
    if e.activations >= e.windows and e.activations >= e.weights:
        head = f"window.batch_size = {e.batch}"
    elif e.windows >= e.weights:
        head = f"window.window = {window}"
    else:
        head = "model.layers"
    need = size_text(e.total)
    parts = (
        f"activations {size_text(e.activations)} for batches of {e.batch:,}, windows "
        f"{size_text(e.windows)}, weights {size_text(e.weights)}"
    )
    return (
        f"{head}: the run needs about {need} ({parts}), more than the {size_text(available)} "
        "available; lower window.batch_size, window.window or the layers' units"
    )
