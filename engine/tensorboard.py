"""TensorBoard event files for a run (``train.tensorboard``), so ``tensorboard --logdir RUNS``
compares seqlab runs the way people compare any Keras runs.

Written with ``tf.summary`` from the epoch events the run already makes rather than by Keras's
TensorBoard callback: the callback would log Keras's ``val_*`` metrics as "validation", and in
seqlab those are the holdout slice's, while the validation period is the test set. Here each
number keeps its seqlab name: ``loss``/``mae`` (fitting), ``holdout/*`` (what early stopping
watches), ``validation/*`` (the validation period, for display), ``learning_rate``; a sweep
logs ``sweep/loss`` and ``sweep/learning_rate`` per step. Nothing is imported or written when the
setting is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.events import EpochEnded, SweepPoint

FOLDER = "tensorboard"  # inside the run folder


class EpochSummaries:
    """One run's event file writer, opened at the first epoch."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = run_dir / FOLDER
        self._writer: Any = None

    def write(self, event: EpochEnded | SweepPoint) -> None:
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.folder))
        values: dict[str, float | None]
        if isinstance(event, SweepPoint):
            values = {"sweep/loss": event.loss, "sweep/learning_rate": event.learning_rate}
        else:
            values = {
                "loss": event.loss,
                "mae": event.mae,
                "learning_rate": event.learning_rate,
                "holdout/loss": event.holdout_loss,
                "holdout/mae": event.holdout_mae,
                "validation/loss": event.val_loss,
                "validation/mae": event.val_mae,
            }
        with self._writer.as_default(step=event.epoch):
            for tag, value in values.items():
                if value is not None:
                    tf.summary.scalar(tag, value)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
