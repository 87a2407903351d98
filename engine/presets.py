"""Built-in experiments that reproduce the course (figures from the course's slides and labs)."""

from __future__ import annotations

import os

from engine.errors import ConfigError, FieldProblem
from engine.specs import (
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    ExpandDims,
    Experiment,
    ModelSpec,
    Scale,
    SimpleRNN,
    SyntheticSeries,
    TrainSpec,
    WindowSpec,
)

DEFAULT_PRESET = "course-rnn"


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
        train=TrainSpec(optimizer="sgd", learning_rate=1e-6, momentum=0.9, loss="mse", epochs=100),
    )


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
        train=TrainSpec(
            optimizer="sgd", learning_rate=5e-6, momentum=0.9, loss="huber", epochs=500
        ),
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
        train=TrainSpec(
            optimizer="sgd", learning_rate=1e-7, momentum=0.9, loss="huber", epochs=500
        ),
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
        train=TrainSpec(optimizer="sgd", learning_rate=1e-6, momentum=0.9, loss="mse", epochs=100),
    ),
}


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
