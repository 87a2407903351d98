"""How seqlab fits a Keras model, where more than the trainer needs to know it: the exports
(engine.export) write the same settings into a standalone script. Plain Python, no TensorFlow."""

from __future__ import annotations

MAX_STEPS_PER_EXECUTION = 64
# SimpleRNN layers are unrolled under XLA for windows up to this long: unrolled epochs run much
# faster, but compiling takes longer the longer the window, and past this length the wait before
# the first epoch outweighs the gain (see README, Speed).
UNROLL_MAX_STEPS = 32
# Keras names the metrics of ``fit(validation_data=...)`` "val_*". seqlab passes the HOLDOUT windows
# (the end of the training period) there, never the validation period, so this is the holdout loss.
HOLDOUT_LOSS = "val_loss"


def steps_per_execution(steps: int) -> int:
    """The largest divisor of an epoch's batches up to 64, so executions never straddle epochs."""
    return max(d for d in range(1, min(steps, MAX_STEPS_PER_EXECUTION) + 1) if steps % d == 0)
