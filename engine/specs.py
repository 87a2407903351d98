"""The plain, immutable description of an experiment: series + windows + model + training.

Specs are frozen dataclasses. Each field carries its allowed range or choices in its metadata, so
one generic checker (``check``) and one generic reader (``engine.config``) give every bad value the
same clear message — for TOML files, presets and fields edited in the TUI alike. Nothing here
imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Literal, TypeGuard, TypeVar

from engine.errors import ConfigError, FieldProblem

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "elu", "selu", "gelu", "swish", "softplus")
PADDINGS = ("valid", "same", "causal")
MERGE_MODES = ("concat", "sum", "mul", "ave")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LOSSES = ("huber", "mse", "mae")
NORMALISATIONS = ("none", "standard", "minmax", "last")
SCHEDULES = ("constant", "plateau", "cosine")
SWEEP_MODES = ("epoch", "batch")
STRATEGIES = ("recursive", "direct")

SpecT = TypeVar("SpecT")


def spec_field(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    optional: bool = False,
    fraction_or_count: bool = False,
    help: str = "",
) -> Any:
    """A dataclass field whose metadata says what values are allowed (read by ``check``).

    ``fraction_or_count``: a number below 1 is a fraction, one of 1 or more a whole count.
    """
    meta: dict[str, Any] = {
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "choices": choices,
        "optional": optional,
        "fraction_or_count": fraction_or_count,
        "help": help,
    }
    return field(default=default, metadata=meta)


def _fmt(number: float) -> str:
    """1000000 -> '1,000,000'; 1e-08 -> '1e-08'."""
    if float(number).is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:g}"


def describe_allowed(meta: Mapping[str, Any], kind: type) -> str:
    """Human wording of a field's allowed values, e.g. 'a whole number from 1 to 4096'."""
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    if meta.get("fraction_or_count"):
        return (
            f"a fraction from {_fmt(meta['lo'])} to below 1, "
            f"or a whole number from 1 to {_fmt(meta['hi'])}"
        )
    noun = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}.get(
        kind, kind.__name__
    )
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        if meta.get("lo_open"):
            return f"{noun} above {_fmt(lo)} and at most {_fmt(hi)}"
        return f"{noun} from {_fmt(lo)} to {_fmt(hi)}"
    if lo is not None:
        return f"{noun} {'above' if meta.get('lo_open') else 'of at least'} {_fmt(lo)}"
    if hi is not None:
        return f"{noun} of at most {_fmt(hi)}"
    return noun


def field_type(spec_cls: type, name: str) -> type:
    """The plain Python type (int, float, bool, str) a spec field holds; annotations are strings."""
    annotation = {f.name: f.type for f in fields(spec_cls)}[name]
    text = str(annotation).replace(" | None", "")
    return {"int": int, "float": float, "bool": bool, "str": str}.get(text, object)


def check_value(spec_cls: type, name: str, value: Any, path: str) -> FieldProblem | None:
    """Checks one value against a field's type and range; returns the problem or None."""
    meta = {f.name: f.metadata for f in fields(spec_cls)}[name]
    kind = field_type(spec_cls, name)
    allowed = describe_allowed(meta, kind)
    if value is None:
        return None if meta.get("optional") else FieldProblem(path, value, allowed)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
    elif kind is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        return FieldProblem(path, value, allowed)
    if meta.get("choices") and value not in meta["choices"]:
        return FieldProblem(path, value, allowed)
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        return FieldProblem(path, value, allowed)
    if hi is not None and value > hi:
        return FieldProblem(path, value, allowed)
    if meta.get("fraction_or_count") and value >= 1 and not float(value).is_integer():
        return FieldProblem(path, value, allowed)
    return None


def check(spec: Any, path: str = "") -> list[FieldProblem]:
    """Every out-of-range field of a spec (recursing into nested specs), with key paths."""
    problems: list[FieldProblem] = []
    for f in fields(spec):
        value = getattr(spec, f.name)
        sub = f"{path}.{f.name}" if path else f.name
        if is_dataclass(value):
            problems += check(value, sub)
        elif isinstance(value, tuple):
            # Only spec items are checked here; anything else in a model is an unknown layer
            # kind, which shape inference reports with its position.
            for i, item in enumerate(value):
                if is_dataclass(item) and not isinstance(item, type):
                    problems += check(item, f"{sub}[{i}]")
        elif f.metadata:
            problem = check_value(type(spec), f.name, value, sub)
            if problem:
                problems.append(problem)
    problems += spec.extra_problems(path) if hasattr(spec, "extra_problems") else []
    return problems


def require_valid(spec: SpecT, source: str | None = None) -> SpecT:
    """Returns the spec, or raises ConfigError listing every bad field."""
    problems = check(spec)
    if problems:
        raise ConfigError(problems, source)
    return spec


# --- series -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticSeries:
    """The course's series: baseline + trend + seasonality + Gaussian noise (course defaults)."""

    source: ClassVar[str] = "synthetic"
    length: int = spec_field(1461, lo=10, hi=1_000_000, help="points (time 0..length-1)")
    baseline: float = spec_field(10.0, lo=-1e9, hi=1e9)
    slope: float = spec_field(0.05, lo=-1e6, hi=1e6, help="trend per time step")
    period: int = spec_field(365, lo=2, hi=1_000_000, help="time steps per season")
    amplitude: float = spec_field(40.0, lo=-1e9, hi=1e9)
    phase: float = spec_field(0.0, lo=-1e6, hi=1e6, help="time steps added before the modulo")
    noise_level: float = spec_field(5.0, lo=0.0, hi=1e9, help="std of the Gaussian noise")
    seed: int = spec_field(42, lo=0, hi=2**32 - 1, help="noise seed")
    split_time: int = spec_field(1000, lo=1, hi=1_000_000, help="first validation time step")

    def extra_problems(self, path: str) -> list[FieldProblem]:
        if self.split_time >= self.length:
            p = f"{path}.split_time" if path else "split_time"
            return [FieldProblem(p, self.split_time, f"less than series.length ({self.length})")]
        return []


@dataclass(frozen=True)
class CsvSeries:
    """A column of a CSV file; ``column`` is a header name or a 0-based index (as text or int)."""

    source: ClassVar[str] = "csv"
    path: str = spec_field("", help="CSV file")
    column: str = spec_field("1", help="header name or 0-based index")
    header: bool = spec_field(True, help="the first row holds column names")
    date_column: str | None = spec_field(None, optional=True, help="column kept as time labels")
    split_time: int = spec_field(1000, lo=1, hi=100_000_000, help="first validation row")
    period: int | None = spec_field(
        None, lo=2, hi=100_000_000, optional=True, help="season length, for seasonal baselines"
    )

    def extra_problems(self, path: str) -> list[FieldProblem]:
        if not self.path.strip():
            p = f"{path}.path" if path else "path"
            return [FieldProblem(p, self.path, "the path of a CSV file")]
        return []


SeriesSpec = SyntheticSeries | CsvSeries


@dataclass(frozen=True)
class WindowSpec:
    """How the series is cut into training windows (course: 20, 32, 1000)."""

    window: int = spec_field(20, lo=1, hi=10_000, help="input steps per window")
    batch_size: int = spec_field(32, lo=1, hi=65_536)
    shuffle_buffer: int = spec_field(1000, lo=1, hi=10_000_000)


# --- layers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpandDims:
    """Adds the feature axis: (batch, steps) -> (batch, steps, 1). The course's first Lambda."""

    kind: ClassVar[Literal["expand_dims"]] = "expand_dims"


@dataclass(frozen=True)
class Recurrent:
    """Shared fields of SimpleRNN, LSTM and GRU."""

    kind: ClassVar[str] = "recurrent"
    units: int = spec_field(40, lo=1, hi=4096)
    activation: str = spec_field("tanh", choices=ACTIVATIONS)
    return_sequences: bool = spec_field(False)


@dataclass(frozen=True)
class SimpleRNN(Recurrent):
    kind: ClassVar[Literal["simple_rnn"]] = "simple_rnn"


@dataclass(frozen=True)
class LSTM(Recurrent):
    kind: ClassVar[Literal["lstm"]] = "lstm"


@dataclass(frozen=True)
class GRU(Recurrent):
    kind: ClassVar[Literal["gru"]] = "gru"


@dataclass(frozen=True)
class Conv1D:
    kind: ClassVar[Literal["conv1d"]] = "conv1d"
    filters: int = spec_field(64, lo=1, hi=4096)
    kernel_size: int = spec_field(3, lo=1, hi=1024)
    strides: int = spec_field(1, lo=1, hi=1024)
    padding: str = spec_field("causal", choices=PADDINGS)
    activation: str = spec_field("relu", choices=ACTIVATIONS)


@dataclass(frozen=True)
class Dense:
    kind: ClassVar[Literal["dense"]] = "dense"
    units: int = spec_field(1, lo=1, hi=65_536)
    activation: str = spec_field("linear", choices=ACTIVATIONS)


@dataclass(frozen=True)
class Dropout:
    kind: ClassVar[Literal["dropout"]] = "dropout"
    rate: float = spec_field(0.2, lo=0.0, hi=0.95)


@dataclass(frozen=True)
class Scale:
    """Multiplies by a constant (the course's ×100 Lambda), so tanh outputs can reach ~100."""

    kind: ClassVar[Literal["scale"]] = "scale"
    factor: float = spec_field(100.0, lo=-1e9, hi=1e9)


@dataclass(frozen=True)
class Bidirectional:
    """Runs the wrapped recurrent layer forwards and backwards; 'concat' doubles its features."""

    kind: ClassVar[Literal["bidirectional"]] = "bidirectional"
    layer: RecurrentSpec = field(default_factory=lambda: LSTM(units=32))
    merge_mode: str = spec_field("concat", choices=MERGE_MODES)


# What Bidirectional wraps, and what a model's stack holds.
RecurrentSpec = SimpleRNN | LSTM | GRU
LayerSpec = ExpandDims | SimpleRNN | LSTM | GRU | Bidirectional | Conv1D | Dense | Dropout | Scale
RECURRENT_CLASSES: tuple[type[RecurrentSpec], ...] = (SimpleRNN, LSTM, GRU)
LAYER_KINDS: dict[str, type[LayerSpec]] = {
    cls.kind: cls
    for cls in (ExpandDims, SimpleRNN, LSTM, GRU, Bidirectional, Conv1D, Dense, Dropout, Scale)
}
LAYER_TITLES: dict[str, str] = {
    "expand_dims": "ExpandDims",
    "simple_rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "bidirectional": "Bidirectional",
    "conv1d": "Conv1D",
    "dense": "Dense",
    "dropout": "Dropout",
    "scale": "Scale",
}


def is_recurrent(layer: object) -> TypeGuard[Recurrent | Bidirectional]:
    """True for SimpleRNN/LSTM/GRU and for Bidirectional wrappers of them."""
    if isinstance(layer, Bidirectional):
        return isinstance(layer.layer, Recurrent)
    return isinstance(layer, Recurrent)


def returns_sequences(layer: object) -> bool:
    inner = layer.layer if isinstance(layer, Bidirectional) else layer
    return bool(getattr(inner, "return_sequences", False))


def layer_label(layer: object) -> str:
    """Short one-line label, e.g. 'Bidirectional(LSTM 32, seq)'."""
    if isinstance(layer, Bidirectional):
        return f"Bidirectional({layer_label(layer.layer)})"
    title = LAYER_TITLES.get(getattr(layer, "kind", ""), type(layer).__name__)
    if isinstance(layer, Recurrent):
        seq = ", seq" if layer.return_sequences else ""
        act = "" if layer.activation == "tanh" else f", {layer.activation}"
        return f"{title} {layer.units}{act}{seq}"
    if isinstance(layer, Conv1D):
        return f"{title} {layer.filters} k{layer.kernel_size} s{layer.strides} {layer.padding}"
    if isinstance(layer, Dense):
        act = "" if layer.activation == "linear" else f", {layer.activation}"
        return f"{title} {layer.units}{act}"
    if isinstance(layer, Dropout):
        return f"{title} {layer.rate:g}"
    if isinstance(layer, Scale):
        return f"{title} ×{layer.factor:g}"
    return title


@dataclass(frozen=True)
class ModelSpec:
    """An ordered stack of layer specs; input is (batch, window) values.

    Stacks read from files or built in code may still hold other objects: shape inference reports
    those as layers of an unknown kind, with their position, instead of failing.
    """

    layers: tuple[LayerSpec, ...] = ()


@dataclass(frozen=True)
class TrainSpec:
    """Optimizer, loss, scaling, model selection and schedule.

    The optimizer defaults are the course RNN's (SGD 5e-6, momentum 0.9, Huber, 500 epochs); the
    rest are seqlab's defaults for new experiments (course presets set the course's values).
    ``holdout`` is the last part of the training period, kept out of fitting: early stopping,
    plateaus and the best epoch are chosen on it, never on the validation period.
    """

    optimizer: str = spec_field("sgd", choices=OPTIMIZERS)
    learning_rate: float = spec_field(5e-6, lo=0.0, hi=10.0, lo_open=True)
    momentum: float = spec_field(0.9, lo=0.0, hi=0.999, help="SGD and RMSprop only")
    nesterov: bool = spec_field(False, help="Nesterov momentum (SGD only)")
    weight_decay: float = spec_field(0.004, lo=0.0, hi=1.0, help="AdamW only")
    clipnorm: float | None = spec_field(
        None, lo=0.0, hi=1e9, lo_open=True, optional=True, help="clip each gradient's norm"
    )
    loss: str = spec_field("huber", choices=LOSSES)
    epochs: int = spec_field(500, lo=1, hi=100_000)
    seed: int = spec_field(51, lo=0, hi=2**31 - 1, help="seeds Python, numpy and TensorFlow")
    normalise: str = spec_field(
        "standard",
        choices=NORMALISATIONS,
        help="scaling fitted on the fitting part only; last: standard, then each window "
        "relative to its last value (learns the change: suits a trend)",
    )
    holdout: float = spec_field(
        0.1,
        lo=0.0,
        hi=100_000_000,
        fraction_or_count=True,
        help="end of the training period kept out of fitting: a fraction or points; 0 = none",
    )
    patience: int | None = spec_field(
        None, lo=1, hi=100_000, optional=True, help="early stop: epochs without holdout gain"
    )
    min_delta: float = spec_field(0.0, lo=0.0, hi=1e9, help="least holdout gain that counts")
    restore_best: bool = spec_field(True, help="keep the epoch with the lowest holdout loss")
    schedule: str = spec_field("plateau", choices=SCHEDULES)
    plateau_factor: float = spec_field(
        0.5, lo=0.0, hi=0.99, lo_open=True, help="rate multiplier on a holdout plateau"
    )
    plateau_patience: int = spec_field(5, lo=1, hi=100_000, help="epochs before a plateau cut")
    min_lr_ratio: float = spec_field(0.01, lo=0.0, hi=1.0, help="cosine: final rate / start")
    validate: bool = spec_field(True, help="report validation loss/MAE every epoch (display)")
    tensorboard: bool = spec_field(
        False, help="also write TensorBoard event files into the run folder"
    )


@dataclass(frozen=True)
class SweepSpec:
    """Learning-rate sweep: lr = start * 10**(step / epochs_per_decade) (course: 1e-8, 20, 100).

    ``mode`` "epoch" (the course's) sets one rate per epoch; "batch" (a range test, as fastai's
    ``lr_find``) one per batch, and then ``epochs`` counts batches. ``start`` None follows the
    optimizer (engine.sweep.default_start).
    """

    start: float | None = spec_field(
        None, lo=0.0, hi=1.0, lo_open=True, optional=True, help="first rate; none: by optimizer"
    )
    epochs_per_decade: float = spec_field(20.0, lo=0.0, hi=1000.0, lo_open=True)
    epochs: int = spec_field(100, lo=2, hi=10_000)
    early_stop: bool = spec_field(True, help="stop once the loss passes 4x its best")
    mode: str = spec_field("epoch", choices=SWEEP_MODES, help="a rate per epoch or per batch")


@dataclass(frozen=True)
class ForecastSpec:
    """How far the model forecasts and how its uncertainty is shown (course: horizon 1).

    ``horizon`` H is the steps ahead one forecast covers; ``strategy`` "recursive" feeds a
    one-step model its own predictions H times, "direct" trains a last Dense of H units on the
    next H values. ``level`` is the nominal coverage of the conformal interval (from holdout
    residuals); ``future`` the steps forecast past the end of the series when a run finishes.
    """

    horizon: int = spec_field(1, lo=1, hi=1000, help="steps ahead per forecast (backtest, direct)")
    strategy: str = spec_field(
        "recursive",
        choices=STRATEGIES,
        help="recursive: one-step model fed its own forecasts; direct: a Dense of horizon units",
    )
    level: float = spec_field(0.8, lo=0.5, hi=0.99, help="interval coverage, from the holdout")
    future: int = spec_field(30, lo=1, hi=10_000, help="steps forecast past the end of the data")


@dataclass(frozen=True)
class Experiment:
    """Everything needed to reproduce a run; round-trips through TOML (engine.config)."""

    name: str = "untitled"
    description: str = ""
    series: SeriesSpec = field(default_factory=SyntheticSeries)
    window: WindowSpec = field(default_factory=WindowSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    sweep: SweepSpec = field(default_factory=SweepSpec)
    forecast: ForecastSpec = field(default_factory=ForecastSpec)
