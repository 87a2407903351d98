"""Lints: settings that are valid but work against the data or do nothing (numpy only, no TF).

A lint never stops a run (a problem from ``engine.shapes`` does); it says what to change. Shown
by ``seqlab summary``, the app's panes and as notes at run start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from engine.series import Series
from engine.specs import (
    Bidirectional,
    Conv1D,
    Dense,
    Experiment,
    Recurrent,
    Scale,
    TrainSpec,
    layer_label,
)

# An output Scale is "far" from the data when its factor is more than FAR times the training
# values' largest magnitude, or less than 1/FAR of it.
FAR = 10.0

_WEIGHTED = (Dense, Conv1D, Recurrent, Bidirectional)
_DEFAULTS = {f.name: f.default for f in fields(TrainSpec)}

# setting -> (whether it takes effect, why not: formatted with the optimizer and schedule)
USED_WHEN: dict[str, tuple[Callable[[TrainSpec], bool], str]] = {
    "momentum": (
        lambda t: t.optimizer in ("sgd", "rmsprop"),
        "with optimizer {optimizer!r}: only sgd and rmsprop use momentum",
    ),
    "nesterov": (lambda t: t.optimizer == "sgd", "with optimizer {optimizer!r}: only sgd uses it"),
    "weight_decay": (
        lambda t: t.optimizer == "adamw",
        "with optimizer {optimizer!r}: only adamw uses it (choose optimizer 'adamw')",
    ),
    "min_delta": (
        lambda t: t.patience is not None,
        "without early stopping: only train.patience uses it",
    ),
    "plateau_factor": (
        lambda t: t.schedule == "plateau",
        "with schedule {schedule!r}: only schedule 'plateau' uses it",
    ),
    "plateau_patience": (
        lambda t: t.schedule == "plateau",
        "with schedule {schedule!r}: only schedule 'plateau' uses it",
    ),
    "min_lr_ratio": (
        lambda t: t.schedule == "cosine",
        "with schedule {schedule!r}: only schedule 'cosine' uses it",
    ),
}


def unused_settings(train: TrainSpec) -> frozenset[str]:
    """The train settings the others make do nothing (momentum with adam): the app greys them."""
    return frozenset(name for name, (used, _) in USED_WHEN.items() if not used(train))


@dataclass(frozen=True)
class Lint:
    """What to change, and the key path of the setting it is about (e.g. 'train.momentum')."""

    message: str
    path: str

    def __str__(self) -> str:
        return self.message


def _toml(value: object) -> str:
    """A value as the experiment file writes it: true/false, 0.9, 5."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _about(x: float) -> str:
    """x to two significant figures: 97.3 -> '97', 4567 -> '4600', 0.0123 -> '0.012'."""
    return f"{round(x, 1 - math.floor(math.log10(x))):.12g}"


def _scale_lints(exp: Experiment, series: Series | None) -> list[Lint]:
    layers = exp.model.layers
    normalise = exp.train.normalise
    out: list[Lint] = []
    weighted = [i for i, layer in enumerate(layers) if isinstance(layer, _WEIGHTED)]
    peak = float(np.max(np.abs(series.train))) if series is not None and len(series.train) else 0.0
    for i, layer in enumerate(layers):
        if not isinstance(layer, Scale):
            continue
        name = f"layer {i + 1} ({layer_label(layer)})"
        if normalise != "none":
            out.append(
                Lint(
                    f"{name}: with train.normalise = {normalise!r} the network already sees and "
                    "predicts normalised values (forecasts are converted back to the series' "
                    "units), so the Scale layer works against it: drop the Scale layer",
                    f"model.layers[{i}]",
                )
            )
        # Only an output scale (after the last layer with weights) should match the data's size.
        elif weighted and i > weighted[-1] and peak > 0:
            factor = abs(layer.factor)
            if factor > FAR * peak or factor < peak / FAR:
                sign = "-" if layer.factor < 0 else ""
                out.append(
                    Lint(
                        f"{name}: far from the training values' size (largest |value| about "
                        f"{_about(peak)}): set its factor to about {sign}{_about(peak)}, or drop "
                        "the Scale layer and set train.normalise = 'standard'",
                        f"model.layers[{i}].factor",
                    )
                )
    return out


def _train_lints(train: TrainSpec) -> list[Lint]:
    out: list[Lint] = []
    for name, (used, why_not) in USED_WHEN.items():
        value = getattr(train, name)
        # A default is what a file that never names the setting gets, so it is no choice to
        # report; zero (or false) is off.
        if used(train) or value == _DEFAULTS[name] or not value:
            continue
        why = why_not.format(optimizer=train.optimizer, schedule=train.schedule)
        out.append(Lint(f"train.{name} = {_toml(value)} does nothing {why}", f"train.{name}"))
    if train.optimizer == "sgd" and train.nesterov and train.momentum == 0:
        out.append(
            Lint(
                "train.nesterov = true does nothing without momentum (train.momentum = 0)",
                "train.nesterov",
            )
        )
    if train.holdout == 0:
        none = "does nothing without a holdout slice (train.holdout = 0):"
        fix = "set train.holdout (e.g. 0.1) or"
        if train.patience is not None:
            out.append(
                Lint(
                    f"train.patience = {train.patience} {none} early stopping watches the holdout "
                    f"loss, never the validation period; {fix} unset train.patience",
                    "train.patience",
                )
            )
        if train.restore_best:
            out.append(
                Lint(
                    f"train.restore_best = true {none} the best epoch is chosen on the holdout "
                    f"loss, so the last epoch is kept; {fix} train.restore_best = false",
                    "train.restore_best",
                )
            )
        if train.schedule == "plateau":
            out.append(
                Lint(
                    f"train.schedule = 'plateau' {none} plateaus are found on the holdout loss; "
                    f"{fix} choose schedule 'constant' or 'cosine'",
                    "train.schedule",
                )
            )
    return out


def lint(exp: Experiment, series: Series | None) -> list[Lint]:
    """Every lint of an experiment; the data-range lint needs the loaded ``series``.

    An output Scale layer (after the last layer with weights) without normalisation should be
    about the training values' largest magnitude M: it is reported when its factor is above
    FAR * M or below M / FAR (the course's ×100 and ×400 on values up to ~97 pass; ×400 on values
    of 0-26 does not). Only the training part is read, as everything fitted is. A setting the
    chosen optimizer or schedule ignores is reported only when it is neither its default (what a
    file that never names it gets) nor zero/false (off); patience, restore_best and a plateau
    schedule are reported whenever there is no holdout slice to choose on.
    """
    return _scale_lints(exp, series) + _train_lints(exp.train)
