"""Lints: valid settings that work against the data or do nothing, and none on the presets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.lint import Lint, lint
from engine.presets import PRESETS
from engine.series import Series, load_series
from engine.specs import (
    LSTM,
    Dense,
    ExpandDims,
    Experiment,
    ModelSpec,
    Scale,
    TrainSpec,
)

CLEAN = TrainSpec(optimizer="adam", normalise="none", holdout=0.1, schedule="constant")


def experiment(*layers, **train) -> Experiment:
    stack = layers or (ExpandDims(), LSTM(units=8), Dense(units=1))
    return Experiment(model=ModelSpec(tuple(stack)), train=replace(CLEAN, **train))


def data(low: float, high: float, valid: float | None = None) -> Series:
    """150 training values from low to high, then 50 validation values (``valid``, or high)."""
    values = np.concatenate(
        [np.linspace(low, high, 150), np.full(50, high if valid is None else valid)]
    )
    return Series(values.astype("float32"), np.arange(200, dtype="float32"), split_time=150)


def paths(found: list[Lint]) -> list[str]:
    return [x.path for x in found]


def test_a_clean_experiment_has_no_lint():
    assert lint(experiment(), data(0, 26)) == []


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_no_lint_on_any_preset(name):
    exp = PRESETS[name]
    assert lint(exp, load_series(exp.series)) == []


def scaled(factor: float, **train) -> Experiment:
    return experiment(ExpandDims(), LSTM(units=8), Dense(units=1), Scale(factor=factor), **train)


@pytest.mark.parametrize("normalise", ["standard", "minmax"])
def test_a_scale_layer_with_normalisation(normalise):
    (found,) = lint(scaled(100.0, normalise=normalise), data(0, 26))
    assert found.path == "model.layers[3]"
    assert found.message.startswith(f"layer 4 (Scale ×100): with train.normalise = {normalise!r}")
    assert found.message.endswith("drop the Scale layer")
    assert str(found) == found.message


def test_a_scale_layer_with_normalisation_needs_no_series():
    assert paths(lint(scaled(100.0, normalise="standard"), None)) == ["model.layers[3]"]


def test_a_scale_factor_far_above_the_data():
    """Only the training part is read: validation values of 400 change nothing."""
    (found,) = lint(scaled(400.0), data(0, 26, valid=400))
    assert found.path == "model.layers[3].factor"
    assert found.message == (
        "layer 4 (Scale ×400): far from the training values' size (largest |value| about 26): "
        "set its factor to about 26, or drop the Scale layer and set train.normalise = 'standard'"
    )


def test_a_scale_factor_far_below_the_data():
    """Values in the thousands; the largest magnitude may be a negative value's."""
    (found,) = lint(scaled(100.0), data(-1234, 567))
    assert "set its factor to about 1200," in found.message
    (found,) = lint(scaled(-4.0), data(-1234, 567))
    assert "set its factor to about -1200," in found.message


@pytest.mark.parametrize(
    ("factor", "peak"), [(100.0, 97.3), (400.0, 97.3), (-260.0, 26), (2.6, 26)]
)
def test_a_scale_factor_within_ten_times_the_data_is_fine(factor, peak):
    assert lint(scaled(factor), data(0, peak)) == []


def test_an_input_scale_is_not_held_to_the_data_range():
    """A Scale before the first layer with weights scales inputs: 1/100 on values of 100 is apt."""
    exp = experiment(ExpandDims(), Scale(factor=0.01), LSTM(units=8), Dense(units=1))
    assert lint(exp, data(0, 100)) == []


def test_the_data_range_lint_needs_the_series():
    assert lint(scaled(400.0), None) == []


@pytest.mark.parametrize(
    ("train", "path", "message"),
    [
        (
            {"momentum": 0.95},
            "train.momentum",
            "train.momentum = 0.95 does nothing with optimizer 'adam': only sgd and rmsprop use "
            "momentum",
        ),
        (
            {"nesterov": True},
            "train.nesterov",
            "train.nesterov = true does nothing with optimizer 'adam': only sgd uses it",
        ),
        (
            {"weight_decay": 0.01},
            "train.weight_decay",
            "train.weight_decay = 0.01 does nothing with optimizer 'adam': only adamw uses it "
            "(choose optimizer 'adamw')",
        ),
        (
            {"min_delta": 0.01},
            "train.min_delta",
            "train.min_delta = 0.01 does nothing without early stopping: only train.patience "
            "uses it",
        ),
        (
            {"plateau_factor": 0.2},
            "train.plateau_factor",
            "train.plateau_factor = 0.2 does nothing with schedule 'constant': only schedule "
            "'plateau' uses it",
        ),
        (
            {"plateau_patience": 3},
            "train.plateau_patience",
            "train.plateau_patience = 3 does nothing with schedule 'constant': only schedule "
            "'plateau' uses it",
        ),
        (
            {"min_lr_ratio": 0.1},
            "train.min_lr_ratio",
            "train.min_lr_ratio = 0.1 does nothing with schedule 'constant': only schedule "
            "'cosine' uses it",
        ),
        (
            {"optimizer": "sgd", "nesterov": True, "momentum": 0.0},
            "train.nesterov",
            "train.nesterov = true does nothing without momentum (train.momentum = 0)",
        ),
    ],
)
def test_a_setting_that_does_nothing(train, path, message):
    assert lint(experiment(**train), None) == [Lint(message, path)]


@pytest.mark.parametrize(
    "train",
    [
        {"optimizer": "sgd", "momentum": 0.95, "nesterov": True},
        {"optimizer": "rmsprop", "momentum": 0.5},
        {"optimizer": "adamw", "weight_decay": 0.01},
        {"patience": 5, "min_delta": 0.01},
        {"schedule": "plateau", "plateau_factor": 0.2, "plateau_patience": 3},
        {"schedule": "cosine", "min_lr_ratio": 0.1},
        # defaults are no choice, and zero is off
        {"optimizer": "adam", "momentum": TrainSpec().momentum},
        {"optimizer": "adam", "momentum": 0.0, "weight_decay": 0.0},
    ],
)
def test_a_setting_that_takes_effect_is_fine(train):
    assert lint(experiment(**train), None) == []


def test_model_selection_without_a_holdout_slice():
    exp = experiment(holdout=0.0, patience=10, restore_best=True, schedule="plateau")
    found = lint(exp, None)
    assert paths(found) == ["train.patience", "train.restore_best", "train.schedule"]
    assert found[0].message == (
        "train.patience = 10 does nothing without a holdout slice (train.holdout = 0): early "
        "stopping watches the holdout loss, never the validation period; set train.holdout "
        "(e.g. 0.1) or unset train.patience"
    )
    assert found[1].message.endswith(
        "the last epoch is kept; set train.holdout (e.g. 0.1) or train.restore_best = false"
    )
    assert found[2].message.endswith("or choose schedule 'constant' or 'cosine'")


@pytest.mark.parametrize("holdout", [0.1, 30.0])
def test_model_selection_with_a_holdout_slice_is_fine(holdout):
    exp = experiment(holdout=holdout, patience=10, restore_best=True, schedule="plateau")
    assert lint(exp, None) == []


def test_without_a_holdout_slice_and_no_model_selection_is_fine():
    assert lint(experiment(holdout=0.0, restore_best=False), None) == []


def test_every_lint_at_once_in_order():
    exp = experiment(
        ExpandDims(),
        LSTM(units=8),
        Dense(units=1),
        Scale(factor=100.0),
        normalise="standard",
        momentum=0.5,
        holdout=0.0,
        restore_best=False,
        patience=3,
    )
    assert paths(lint(exp, data(0, 26))) == ["model.layers[3]", "train.momentum", "train.patience"]
