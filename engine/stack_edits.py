"""Edits of a model's layer stack as pure functions: a ModelSpec in, a new one and a selection out.

The model pane calls these for its keys and its layer editor; kept here, beside
``shapes.apply_fix``, they are tested without a terminal. Every edit returns an ``Edit``: the new
model and the index of the layer to select in it. An edit that does not apply to the chosen layer
(return_sequences on a Dense layer) raises EditError, whose message is the warning to show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine import shapes
from engine.errors import EditError
from engine.specs import (
    LAYER_KINDS,
    RECURRENT_CLASSES,
    Bidirectional,
    LayerSpec,
    ModelSpec,
    Recurrent,
    RecurrentSpec,
)

SEQUENCES_ONLY = "return_sequences applies to SimpleRNN, LSTM and GRU layers."
BIDIRECTIONAL_ONLY = "Bidirectional wraps SimpleRNN, LSTM and GRU layers."


@dataclass(frozen=True)
class Edit:
    """A model after an edit, and the index of the layer to select in it."""

    model: ModelSpec
    selected: int


def _with(model: ModelSpec, layers: list[LayerSpec]) -> ModelSpec:
    return dataclasses.replace(model, layers=tuple(layers))


def _layer_class(kind: str) -> type[LayerSpec]:
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; allowed: {', '.join(LAYER_KINDS)}")
    return LAYER_KINDS[kind]


def _at(model: ModelSpec, index: int) -> LayerSpec:
    """The layer at ``index``; a negative index is an error here, not a count from the end."""
    if not 0 <= index < len(model.layers):
        raise IndexError(f"no layer {index + 1}: the model has {len(model.layers)}")
    return model.layers[index]


def _recurrent_at(model: ModelSpec, index: int, warning: str) -> RecurrentSpec | Bidirectional:
    """The layer at ``index`` if it is recurrent (bare or wrapped); else EditError(warning)."""
    layer = model.layers[index] if 0 <= index < len(model.layers) else None
    if isinstance(layer, RECURRENT_CLASSES) or (
        isinstance(layer, Bidirectional) and isinstance(layer.layer, RECURRENT_CLASSES)
    ):
        return layer
    raise EditError(warning)


def _replaced(model: ModelSpec, index: int, layer: LayerSpec) -> Edit:
    layers = list(model.layers)
    layers[index] = layer
    return Edit(_with(model, layers), index)


def _converted(layer: LayerSpec, kind: str) -> LayerSpec:
    """The layer as another kind, keeping what both kinds share (units, a recurrent activation).

    A Bidirectional layer stays wrapped if the new kind is recurrent, and is unwrapped otherwise.
    """
    inner = layer.layer if isinstance(layer, Bidirectional) else layer
    if inner.kind == kind:
        return layer
    cls = _layer_class(kind)
    # activations differ in meaning between kinds (tanh for recurrent, linear for Dense)
    shared = {
        f.name: getattr(inner, f.name)
        for f in dataclasses.fields(cls)
        if hasattr(inner, f.name) and f.name != "activation"
    }
    if isinstance(inner, Recurrent) and issubclass(cls, Recurrent):
        shared["activation"] = inner.activation
    new = cls(**shared)
    if isinstance(layer, Bidirectional) and isinstance(new, RECURRENT_CLASSES):
        return dataclasses.replace(layer, layer=new)
    return new


def convert(model: ModelSpec, index: int, kind: str) -> Edit:
    """Changes the kind of the layer at ``index`` (see ``_converted`` for what is kept)."""
    return _replaced(model, index, _converted(_at(model, index), kind))


def set_fields(
    model: ModelSpec,
    index: int,
    values: Mapping[str, Any],
    wrapper: Mapping[str, Any] | None = None,
) -> Edit:
    """Sets fields of the layer at ``index``: of the wrapped layer for Bidirectional, whose own
    fields (merge_mode) come in ``wrapper``. The values are assumed valid (the editor checked)."""
    layer = _at(model, index)
    if isinstance(layer, Bidirectional):
        inner = dataclasses.replace(layer.layer, **values)
        return _replaced(model, index, dataclasses.replace(layer, layer=inner, **(wrapper or {})))
    return _replaced(model, index, dataclasses.replace(layer, **values))


def toggle_return_sequences(model: ModelSpec, index: int) -> Edit:
    """Flips return_sequences of a recurrent layer (inside Bidirectional too)."""
    layer = _recurrent_at(model, index, SEQUENCES_ONLY)
    if isinstance(layer, Bidirectional):
        inner = layer.layer
        flipped = dataclasses.replace(inner, return_sequences=not inner.return_sequences)
        return _replaced(model, index, dataclasses.replace(layer, layer=flipped))
    return _replaced(
        model, index, dataclasses.replace(layer, return_sequences=not layer.return_sequences)
    )


def set_bidirectional(model: ModelSpec, index: int, on: bool) -> Edit:
    """Wraps a recurrent layer in Bidirectional ('concat') or unwraps it; no change if it already
    is as asked. Unwrapping drops the wrapper's merge_mode."""
    layer = _recurrent_at(model, index, BIDIRECTIONAL_ONLY)
    if on and not isinstance(layer, Bidirectional):
        return _replaced(model, index, Bidirectional(layer=layer))
    if not on and isinstance(layer, Bidirectional):
        return _replaced(model, index, layer.layer)
    return Edit(model, index)


def toggle_bidirectional(model: ModelSpec, index: int) -> Edit:
    """Wraps a bare recurrent layer in Bidirectional, or unwraps a wrapped one."""
    layer = _recurrent_at(model, index, BIDIRECTIONAL_ONLY)
    return set_bidirectional(model, index, not isinstance(layer, Bidirectional))


def move(model: ModelSpec, index: int, delta: int) -> Edit:
    """Moves the layer ``delta`` places (negative: towards the input), keeping it selected; a move
    past either end of the stack changes nothing."""
    to = index + delta
    if not (0 <= index < len(model.layers) and 0 <= to < len(model.layers)):
        return Edit(model, index)
    layers = list(model.layers)
    layers.insert(to, layers.pop(index))
    return Edit(_with(model, layers), to)


def insert(model: ModelSpec, at: int, kind: str) -> Edit:
    """Inserts a new layer of ``kind`` (its default settings) at position ``at`` and selects it."""
    if not 0 <= at <= len(model.layers):
        raise IndexError(f"cannot insert at {at + 1}: the model has {len(model.layers)} layers")
    layers = list(model.layers)
    layers.insert(at, _layer_class(kind)())
    return Edit(_with(model, layers), at)


def remove(model: ModelSpec, index: int) -> Edit:
    """Removes the layer at ``index``; the one after it is selected (the one before, if it was
    last)."""
    _at(model, index)
    layers = list(model.layers)
    del layers[index]
    return Edit(_with(model, layers), max(0, index - (index >= len(layers))))


def apply_fix(model: ModelSpec, fix: shapes.Fix) -> Edit:
    """``shapes.apply_fix``, selecting the layer the fix changed (or the nearest one left)."""
    fixed = shapes.apply_fix(model, fix)
    return Edit(fixed, max(0, min(fix.index, len(fixed.layers) - 1)))
