"""Built-in experiments: the course's presets (figures from its slides and labs) and seqlab's
recipes (figures measured by bench/reproduce_recipes.py)."""

from __future__ import annotations

import dataclasses
import os

from engine.errors import ConfigError, FieldProblem
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    ExpandDims,
    Experiment,
    LayerSpec,
    ModelSpec,
    Scale,
    SimpleRNN,
    SweepSpec,
    SyntheticSeries,
    TrainSpec,
    WindowSpec,
)

DEFAULT_PRESET = "course-rnn"


def _course_train(optimizer: str, learning_rate: float, loss: str, epochs: int) -> TrainSpec:
    """The course's training: raw values, no holdout (so nothing to restore the best epoch
    from), no early stop, a constant rate."""
    return TrainSpec(
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=0.9,
        loss=loss,
        epochs=epochs,
        normalise="none",
        holdout=0.0,
        patience=None,
        restore_best=False,
        schedule="constant",
        validate=False,
    )


COURSE_SWEEP = SweepSpec(start=1e-8, epochs_per_decade=20.0, epochs=100, mode="epoch")


def _bilstm_stack(n: int) -> ModelSpec:
    bilstm = [Bidirectional(LSTM(units=32, return_sequences=i < n - 1)) for i in range(n)]
    return ModelSpec((ExpandDims(), *bilstm, Dense(units=1), Scale(factor=100.0)))


_LSTM_MAE = {1: "6.13", 2: "5.29", 3: "5.53"}


def _lstm_preset(n: int) -> Experiment:
    return Experiment(
        name=f"course-lstm-{n}",
        description=(
            f"Week 3: Bidirectional LSTM(32) x{n}, MSE, SGD 1e-6 momentum 0.9, batch 32, "
            f"100 epochs. Course slides report validation MAE {_LSTM_MAE[n]} (naive baseline 5.94)."
        ),
        series=SyntheticSeries(),
        window=WindowSpec(window=20, batch_size=32, shuffle_buffer=1000),
        model=_bilstm_stack(n),
        train=_course_train("sgd", 1e-6, "mse", 100),
        sweep=COURSE_SWEEP,
    )


# --- seqlab's recipes: starting points for a user's own series (beyond the course) -------------

RECIPE_WINDOW = WindowSpec(window=30, batch_size=32, shuffle_buffer=1000)
# Each window is taken relative to its own last value (normalise "last"), so a level the
# training part never reached is only an offset; the last 20% of the training period is the
# holdout slice that early stopping and the kept epoch watch (a 10% slice of the course series
# holds no season jump, and then every epoch scores alike there); MAE loss, as the score.
RECIPE_TRAIN = TrainSpec(
    optimizer="adam",
    learning_rate=1e-3,
    loss="mae",
    epochs=150,
    normalise="last",
    holdout=0.2,
    patience=30,
    restore_best=True,
    schedule="cosine",
    min_lr_ratio=0.01,
    validate=True,
)
# A range test: a rate per batch, 20 batches a decade for 6 decades from the optimizer's default
# start (1e-6 for Adam), instead of the course's 100 epochs.
RECIPE_SWEEP = SweepSpec(start=None, epochs_per_decade=20.0, epochs=120, mode="batch")
_RECIPE_SETTINGS = (
    "windows of 30, each relative to its last value (normalise 'last'); MAE loss; Adam 1e-3, "
    "cosine decay over 150 epochs; early stop after 30 epochs without gain on the holdout slice "
    "(the last 20% of the training period), whose best epoch is kept"
)


def _recipe(name: str, stack: str, layers: tuple[LayerSpec, ...], measured: str) -> Experiment:
    return Experiment(
        name=name,
        description=f"seqlab recipe: {stack}; {_RECIPE_SETTINGS}. Measured: {measured}.",
        series=SyntheticSeries(),
        window=RECIPE_WINDOW,
        model=ModelSpec((ExpandDims(), *layers, Dense(units=1))),
        train=RECIPE_TRAIN,
        sweep=RECIPE_SWEEP,
    )


RECIPES: dict[str, Experiment] = {
    "lstm": _recipe(
        "lstm",
        "LSTM(64) -> Dense(1)",
        (LSTM(units=64),),
        "validation MAE 4.496 on the course series (naive 5.94, linear AR 4.99) and 14.67 on "
        "Sunspots, split 3000 (naive 16.14, linear AR 14.77); bench/reproduce_recipes.py",
    ),
    "gru": _recipe(
        "gru",
        "GRU(64) -> Dense(1)",
        (GRU(units=64),),
        "validation MAE 4.548 on the course series (naive 5.94, linear AR 4.99) and 14.48 on "
        "Sunspots, split 3000 (naive 16.14, linear AR 14.77); bench/reproduce_recipes.py",
    ),
    "conv-lstm": _recipe(
        "conv-lstm",
        "Conv1D(64, kernel 5, causal, relu) -> LSTM(64) -> Dense(1)",
        (
            Conv1D(filters=64, kernel_size=5, strides=1, padding="causal", activation="relu"),
            LSTM(units=64),
        ),
        "validation MAE 4.618 on the course series (naive 5.94, linear AR 4.99) and 14.23 on "
        "Sunspots, split 3000 (naive 16.14, linear AR 14.77); bench/reproduce_recipes.py",
    ),
}


PRESETS: dict[str, Experiment] = {
    "course-rnn": Experiment(
        name="course-rnn",
        description=(
            "Week 3: SimpleRNN(40) x2 with the x100 output scale, Huber, SGD 5e-6 momentum 0.9, "
            "batch 128, 500 epochs. Course slides report validation MAE 6.35 (naive baseline 5.94)."
        ),
        series=SyntheticSeries(),
        window=WindowSpec(window=20, batch_size=128, shuffle_buffer=1000),
        model=ModelSpec(
            (
                ExpandDims(),
                SimpleRNN(units=40, return_sequences=True),
                SimpleRNN(units=40),
                Dense(units=1),
                Scale(factor=100.0),
            )
        ),
        train=_course_train("sgd", 5e-6, "huber", 500),
        sweep=COURSE_SWEEP,
    ),
    "course-lstm-1": _lstm_preset(1),
    "course-lstm-2": _lstm_preset(2),
    "course-lstm-3": _lstm_preset(3),
    "course-conv-lstm": Experiment(
        name="course-conv-lstm",
        description=(
            "Week 4 lab 1: Conv1D(64, kernel 3, causal) -> LSTM(64) x2 -> Dense(1) x400, Huber, "
            "SGD 1e-7 momentum 0.9, batch 16, 500 epochs. The course reports validation MAE 4.99 "
            "for the lecture's Conv1D model (5.01 for the notebook's)."
        ),
        series=SyntheticSeries(),
        window=WindowSpec(window=20, batch_size=16, shuffle_buffer=1000),
        model=ModelSpec(
            (
                ExpandDims(),
                Conv1D(filters=64, kernel_size=3, strides=1, padding="causal", activation="relu"),
                LSTM(units=64, return_sequences=True),
                LSTM(units=64),
                Dense(units=1),
                Scale(factor=400.0),
            )
        ),
        train=_course_train("sgd", 1e-7, "huber", 500),
        sweep=COURSE_SWEEP,
    ),
    "quiz-q8": Experiment(
        name="quiz-q8",
        description=(
            "Week 3 quiz, question 8: two stacked Bidirectional LSTM(32) layers without "
            "return_sequences on the first. It cannot work; seqlab explains why and fixes it."
        ),
        series=SyntheticSeries(),
        window=WindowSpec(window=20, batch_size=32, shuffle_buffer=1000),
        model=ModelSpec(
            (
                ExpandDims(),
                Bidirectional(LSTM(units=32)),
                Bidirectional(LSTM(units=32)),
                Dense(units=1),
                Scale(factor=100.0),
            )
        ),
        train=_course_train("sgd", 1e-6, "mse", 100),
        sweep=COURSE_SWEEP,
    ),
    **RECIPES,
}


EDITED = " (edited)"  # what an edited preset's name ends with


def as_edited(experiment: Experiment) -> Experiment:
    """A preset with any value changed is named "<preset> (edited)" and loses the preset's
    description, which quotes the figures measured for the preset's own model; changed back to
    the preset's every value, it is the preset again. Writing TensorBoard files changes no
    result, so that switch alone keeps the preset's name. Other experiments are as they are."""
    base = experiment.name.removesuffix(EDITED)
    preset = PRESETS.get(base)
    if preset is None:
        return experiment
    named = dataclasses.replace(experiment, name=preset.name, description=preset.description)
    logging = dataclasses.replace(preset.train, tensorboard=experiment.train.tensorboard)
    if named == dataclasses.replace(preset, train=logging):
        return named
    return dataclasses.replace(experiment, name=base + EDITED, description="")


def get_preset(name: str) -> Experiment:
    try:
        return PRESETS[name]
    except KeyError:
        allowed = "one of " + ", ".join(PRESETS)
        raise ConfigError([FieldProblem("preset", name, allowed)]) from None


def resolve(file_or_preset: str) -> Experiment:
    """A preset name, or the path of an experiment TOML file."""
    if file_or_preset in PRESETS:
        return PRESETS[file_or_preset]
    if (
        file_or_preset.endswith(".toml")
        or os.sep in file_or_preset
        or os.path.exists(file_or_preset)
    ):
        from engine import config  # TOML modules only for a file (not before the app's frame)

        return config.load(file_or_preset)
    allowed = "a preset (" + ", ".join(PRESETS) + ") or an experiment .toml file"
    raise ConfigError([FieldProblem("experiment", file_or_preset, allowed)])
