"""Shape and parameter inference for a model spec without TensorFlow, plus problems and fixes.

The UI shows this before TensorFlow has loaded, and tests hold it equal to what Keras builds.
Shapes are tuples with ``None`` for unknown sizes: ``(batch, steps, features)`` for sequences
and ``(batch, features)`` for one vector per window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from engine.specs import (
    GRU,
    LAYER_KINDS,
    LSTM,
    RECURRENT_CLASSES,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    ForecastSpec,
    LayerSpec,
    ModelSpec,
    Recurrent,
    Scale,
    SimpleRNN,
    check,
    is_recurrent,
    layer_label,
    returns_sequences,
)

Shape = tuple[int | None, ...]

SEQ2VEC = "sequence-to-vector"
SEQ2SEQ = "sequence-to-sequence"

FixAction = Literal[
    "set_return_sequences", "insert_expand_dims", "remove_layer", "append_dense", "set_dense_units"
]


@dataclass(frozen=True)
class Fix:
    """A change that resolves a problem: ``action`` on the layer at ``index`` (0-based)."""

    action: FixAction
    index: int
    description: str
    units: int = 1  # append_dense and set_dense_units: the Dense layer's units


@dataclass(frozen=True)
class Problem:
    """Why a stack cannot work (or a field is bad), naming the layer, and the fix if one exists."""

    message: str
    index: int | None = None
    fix: Fix | None = None

    def __str__(self) -> str:
        return self.message + (f" Fix: {self.fix.description}." if self.fix else "")


@dataclass(frozen=True)
class LayerShape:
    index: int
    kind: str
    label: str
    input_shape: Shape | None
    output_shape: Shape | None
    params: int | None


@dataclass(frozen=True)
class ShapeReport:
    layers: tuple[LayerShape, ...]
    problems: tuple[Problem, ...]
    input_shape: Shape
    output_shape: Shape | None
    total_params: int | None
    mode: str | None  # SEQ2VEC, SEQ2SEQ, or None when the stack cannot work

    @property
    def ok(self) -> bool:
        return not self.problems


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _name(index: int, layer: object, first: bool = False) -> str:
    return f"{'Layer' if first else 'layer'} {index + 1} ({layer_label(layer)})"


def _recurrent_params(layer: Recurrent, features: int | None) -> int | None:
    if features is None:
        return None
    u = layer.units
    if isinstance(layer, SimpleRNN):
        return u * (features + u + 1)
    if isinstance(layer, LSTM):
        return 4 * u * (features + u + 1)
    if isinstance(layer, GRU):  # Keras 3 default reset_after=True: two bias vectors
        return 3 * u * (features + u + 2)
    raise TypeError(type(layer).__name__)


def _conv_steps(steps: int | None, layer: Conv1D) -> int | None:
    if steps is None:
        return None
    if layer.padding == "valid":
        return (steps - layer.kernel_size) // layer.strides + 1
    return -(-steps // layer.strides)


def forecast_outputs(spec: ForecastSpec) -> int:
    """Values per prediction a forecast needs: the horizon for a direct model, else one."""
    return spec.horizon if spec.strategy == "direct" else 1


def infer_experiment(exp: Experiment, batch: int | None = None) -> ShapeReport:
    """``infer`` for an experiment's model on its windows and forecast horizon."""
    b = exp.window.batch_size if batch is None else batch
    return infer(exp.model, b, exp.window.window, outputs=forecast_outputs(exp.forecast))


def infer(
    model: ModelSpec,
    batch: int | None = None,
    steps: int | None = None,
    features: int | None = None,
    outputs: int = 1,
) -> ShapeReport:
    """Infers every layer's output shape and parameter count.

    The input is ``(batch, steps)`` windows of values, or ``(batch, steps, features)`` when
    ``features`` is given (as in the lecture's example of a (4, 30, 1) input). ``outputs`` is
    the number of values each prediction must end with: 1, or a direct forecast's horizon, which
    only a sequence-to-vector model can give (engine.specs.ForecastSpec).
    """
    problems: list[Problem] = []
    input_shape: Shape = (batch, steps) if features is None else (batch, steps, features)
    rows: list[LayerShape] = []
    if not model.layers:
        problems.append(Problem("The model has no layers. Add at least one, e.g. Dense 1."))
        return ShapeReport((), tuple(problems), input_shape, None, None, None)
    for fp in check(model, "model"):
        index = int(fp.path.split("[")[1].split("]")[0]) if "[" in fp.path else None
        where = "" if index is None else f"{_name(index, model.layers[index], first=True)}: "
        problems.append(
            Problem(f"{where}{fp.path} = {fp.value!r} is not allowed: {fp.allowed}.", index)
        )
    fields_ok = not problems

    shape: Shape | None = input_shape
    last_recurrent: int | None = None  # index of the latest recurrent layer seen
    for i, layer in enumerate(model.layers):
        kind = getattr(layer, "kind", type(layer).__name__)
        if kind not in LAYER_KINDS or not isinstance(layer, LAYER_KINDS[kind]):
            allowed = ", ".join(LAYER_KINDS)
            problems.append(
                Problem(f"Layer {i + 1} is of unknown kind {kind!r}; allowed: {allowed}.", i)
            )
            rows.append(LayerShape(i, str(kind), str(kind), shape, None, None))
            shape = None
            continue
        out, params = _step(i, layer, shape, last_recurrent, problems, model, fields_ok)
        rows.append(LayerShape(i, kind, layer_label(layer), shape, out, params))
        if is_recurrent(layer):
            last_recurrent = i
        shape = out

    mode = None
    if shape is not None:
        if len(shape) == 2:
            mode = SEQ2VEC
        elif len(shape) == 3:
            mode = SEQ2SEQ
        if shape[-1] is not None and shape[-1] != outputs and not problems:
            problems.append(_outputs_problem(model, shape[-1], outputs))
        if mode == SEQ2SEQ and outputs > 1 and not problems:
            problems.append(
                Problem(
                    f"A direct forecast of {outputs} steps needs one vector per window (sequence "
                    "to vector), but the model returns a sequence. Turn return_sequences off in "
                    "the last recurrent layer, or use forecast.strategy = 'recursive'.",
                    None,
                )
            )
        if mode == SEQ2SEQ and None not in (steps, shape[1]) and shape[1] != steps:
            # sequence-to-sequence labels are the window shifted by one: one label per input step
            problems.append(
                Problem(
                    f"The model outputs {shape[1]} steps per window but sequence-to-sequence "
                    f"labels have {steps}, one per input step. Use strides 1, and 'same' or "
                    "'causal' padding, in Conv1D layers.",
                    None,
                )
            )
    counts = [r.params for r in rows]
    total = sum(p for p in counts if p is not None) if None not in counts else None
    return ShapeReport(
        tuple(rows), tuple(problems), input_shape, shape, total, mode if not problems else None
    )


def _outputs_problem(model: ModelSpec, found: int, outputs: int) -> Problem:
    """The model ends with ``found`` values per prediction where ``outputs`` are needed; the fix
    sets the last Dense layer's units when it is the last layer, else appends one."""
    need = "a forecast is one value" if outputs == 1 else f"a direct forecast needs {outputs}"
    message = f"The model ends with {found} values per prediction, but {need}."
    last = len(model.layers) - 1
    if outputs > 1 and isinstance(model.layers[last], Dense):
        fix = Fix("set_dense_units", last, f"set layer {last + 1} to Dense {outputs}", outputs)
        return Problem(message, last, fix)
    end = len(model.layers)
    return Problem(
        message, end, Fix("append_dense", end, f"add Dense {outputs} at the end", outputs)
    )


def _step(
    i: int,
    layer: LayerSpec,
    shape: Shape | None,
    last_recurrent: int | None,
    problems: list[Problem],
    model: ModelSpec,
    fields_ok: bool,
) -> tuple[Shape | None, int | None]:
    """One layer: its output shape and parameters, appending any problem it causes."""
    if shape is None:
        return None, None
    if isinstance(layer, ExpandDims):
        if len(shape) != 2:
            problems.append(
                Problem(
                    f"{_name(i, layer, first=True)} receives {fmt_shape(shape)}, which already has "
                    "a feature axis; ExpandDims belongs first, on (batch, steps).",
                    i,
                    Fix("remove_layer", i, f"remove layer {i + 1}"),
                )
            )
            return shape, 0
        return (*shape, 1), 0
    if isinstance(layer, Bidirectional) and not isinstance(layer.layer, Recurrent):
        inner = getattr(layer.layer, "kind", type(layer.layer).__name__)
        problems.append(
            Problem(
                f"Layer {i + 1} wraps {inner!r} in Bidirectional, which only wraps SimpleRNN, LSTM "
                "or GRU.",
                i,
            )
        )
        return None, None
    if is_recurrent(layer) or isinstance(layer, Conv1D):
        if len(shape) == 2:
            # carry on as if fixed, to report what follows
            shape = _report_flat_input(i, layer, shape, last_recurrent, problems, model)
        if not fields_ok:
            return None, None
        batch, steps, features = shape
        if isinstance(layer, Conv1D):
            out_steps = _conv_steps(steps, layer)
            if out_steps is not None and out_steps < 1:
                problems.append(
                    Problem(
                        f"{_name(i, layer, first=True)} needs at least {layer.kernel_size} steps "
                        f"with 'valid' padding but receives {steps}.",
                        i,
                    )
                )
                return None, None
            params = None
            if features is not None:
                params = layer.kernel_size * features * layer.filters + layer.filters
            return (batch, out_steps, layer.filters), params
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        params = _recurrent_params(inner, features)
        units = inner.units
        if isinstance(layer, Bidirectional):
            params = None if params is None else 2 * params
            units = units * 2 if layer.merge_mode == "concat" else units
        out = (batch, steps, units) if inner.return_sequences else (batch, units)
        return out, params
    if not fields_ok:
        return None, None
    if isinstance(layer, Dense):
        if shape[-1] is None:
            # Only reachable on raw windows of unknown length: Keras cannot build this either.
            problems.append(
                Problem(
                    f"{_name(i, layer, first=True)} receives {fmt_shape(shape)}: a Dense layer "
                    "needs a known number of features, and on raw windows that is the window "
                    "length, which is unknown here. Give the window length.",
                    i,
                )
            )
            return None, None
        return (*shape[:-1], layer.units), shape[-1] * layer.units + layer.units
    if isinstance(layer, (Dropout, Scale)):
        return shape, 0
    raise TypeError(type(layer).__name__)


def _report_flat_input(
    i: int,
    layer: object,
    shape: Shape,
    last_recurrent: int | None,
    problems: list[Problem],
    model: ModelSpec,
) -> Shape:
    """Reports a 2-D input to a layer that needs sequences; returns the input the fix gives it."""
    what = "A recurrent layer" if is_recurrent(layer) else "A Conv1D layer"
    need = f"{what} needs (batch, steps, features)"
    if last_recurrent is not None and not returns_sequences(model.layers[last_recurrent]):
        earlier = model.layers[last_recurrent]
        problems.append(
            Problem(
                f"{_name(i, layer, first=True)} receives {fmt_shape(shape)}: one vector per "
                f"window, not a sequence, because {_name(last_recurrent, earlier)} does not return "
                f"sequences. {need}.",
                i,
                Fix(
                    "set_return_sequences",
                    last_recurrent,
                    f"set return_sequences on layer {last_recurrent + 1}",
                ),
            )
        )
        return (shape[0], None, shape[1])  # the earlier layer's outputs, at every step
    problems.append(
        Problem(
            f"{_name(i, layer, first=True)} receives {fmt_shape(shape)}: plain values with no "
            f"feature axis. {need}.",
            i,
            Fix("insert_expand_dims", 0, "insert ExpandDims as layer 1"),
        )
    )
    return (*shape, 1)


def apply_fix(model: ModelSpec, fix: Fix) -> ModelSpec:
    """Returns the model with one fix applied."""
    layers = list(model.layers)
    if fix.action == "set_return_sequences":
        layer = layers[fix.index]
        if isinstance(layer, Bidirectional):
            layers[fix.index] = dataclasses.replace(
                layer, layer=dataclasses.replace(layer.layer, return_sequences=True)
            )
        elif isinstance(layer, RECURRENT_CLASSES):
            layers[fix.index] = dataclasses.replace(layer, return_sequences=True)
        else:
            raise ValueError(f"layer {fix.index + 1} has no return_sequences")
    elif fix.action == "insert_expand_dims":
        layers.insert(fix.index, ExpandDims())
    elif fix.action == "remove_layer":
        del layers[fix.index]
    elif fix.action == "append_dense":
        layers.append(Dense(units=fix.units))
    elif fix.action == "set_dense_units":
        layer = layers[fix.index]
        if not isinstance(layer, Dense):
            raise ValueError(f"layer {fix.index + 1} is not a Dense layer")
        layers[fix.index] = dataclasses.replace(layer, units=fix.units)
    else:
        raise ValueError(f"unknown fix {fix.action!r}")
    return ModelSpec(tuple(layers))


def apply_fixes(
    model: ModelSpec, batch: int | None = None, steps: int | None = None, outputs: int = 1
) -> ModelSpec:
    """Applies fixes one at a time (re-inferring after each) until none is left to apply."""
    for _ in range(4 * len(model.layers) + 4):
        fixes = [p.fix for p in infer(model, batch, steps, outputs=outputs).problems if p.fix]
        if not fixes:
            break
        model = apply_fix(model, fixes[0])
    return model
