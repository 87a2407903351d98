"""Hypothesis strategies for specs, built from the specs' own field metadata (ranges and choices).

Shared by the shape, Keras-model and config tests. Values stay small where TensorFlow builds models.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import strategies as st

from engine.specs import (
    GRU,
    LSTM,
    MERGE_MODES,
    Bidirectional,
    Conv1D,
    CsvSeries,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    ModelSpec,
    Scale,
    SimpleRNN,
    SweepSpec,
    SyntheticSeries,
    TrainSpec,
    WindowSpec,
    field_type,
)

# Text that a TOML file can hold (no lone surrogates, which UTF-8 cannot encode).
toml_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def field_values(cls: type, name: str) -> st.SearchStrategy[Any]:
    """Any allowed value of one spec field, from its metadata."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    kind = field_type(cls, name)
    if meta.get("choices"):
        values: st.SearchStrategy[Any] = st.sampled_from(meta["choices"])
    elif meta.get("fraction_or_count"):
        count = st.integers(1, int(meta["hi"])).map(float)
        values = st.one_of(st.floats(meta["lo"], 1.0, exclude_max=True), count)
    elif kind is bool:
        values = st.booleans()
    elif kind is int:
        values = st.integers(int(meta["lo"]), int(meta["hi"]))
    elif kind is float:
        values = st.floats(meta["lo"], meta["hi"], exclude_min=bool(meta.get("lo_open")))
    else:
        values = toml_text
    return st.one_of(st.none(), values) if meta.get("optional") else values


def spec_of(cls: type, **fixed: Any) -> st.SearchStrategy[Any]:
    """Instances of a spec class with every metadata field drawn from its allowed values."""
    kwargs = {f.name: field_values(cls, f.name) for f in fields(cls) if f.metadata}
    kwargs.update(
        {k: v if isinstance(v, st.SearchStrategy) else st.just(v) for k, v in fixed.items()}
    )
    return st.builds(cls, **kwargs)


@st.composite
def synthetic_series(draw: st.DrawFn) -> SyntheticSeries:
    length = draw(st.integers(10, 5000))
    return draw(spec_of(SyntheticSeries, length=length, split_time=st.integers(1, length - 1)))


csv_series = spec_of(CsvSeries, path=toml_text.filter(lambda s: s.strip() != ""))

any_layer = st.deferred(
    lambda: st.one_of(
        st.just(ExpandDims()),
        spec_of(SimpleRNN),
        spec_of(LSTM),
        spec_of(GRU),
        spec_of(Bidirectional, layer=st.one_of(spec_of(LSTM), spec_of(GRU), spec_of(SimpleRNN))),
        spec_of(Conv1D),
        spec_of(Dense),
        spec_of(Dropout),
        spec_of(Scale),
    )
)

experiments = st.builds(
    Experiment,
    name=toml_text,
    description=toml_text,
    series=st.one_of(synthetic_series(), csv_series),
    window=spec_of(WindowSpec),
    model=st.builds(ModelSpec, st.lists(any_layer, max_size=6).map(tuple)),
    train=spec_of(TrainSpec),
    sweep=spec_of(SweepSpec),
)

# --- stacks that are valid by construction (small, so Keras builds them quickly) ----------------

small_units = st.integers(1, 6)
activations = st.sampled_from(("tanh", "relu", "linear", "sigmoid"))


def recurrent(return_sequences: bool) -> st.SearchStrategy[Any]:
    """A SimpleRNN, LSTM or GRU, bare or inside Bidirectional."""
    cell = st.sampled_from((SimpleRNN, LSTM, GRU)).flatmap(
        lambda cls: st.builds(
            cls,
            units=small_units,
            activation=activations,
            return_sequences=st.just(return_sequences),
        )
    )
    wrapped = st.builds(Bidirectional, layer=cell, merge_mode=st.sampled_from(MERGE_MODES))
    return st.one_of(cell, wrapped)


def sequence_layer(max_strides: int) -> st.SearchStrategy[Any]:
    """A layer that keeps (batch, steps, features) 3-D; strides > 1 shorten the steps."""
    return st.one_of(
        recurrent(True),
        st.builds(
            Conv1D,
            filters=small_units,
            kernel_size=st.integers(1, 4),
            strides=st.integers(1, max_strides),
            padding=st.sampled_from(("same", "causal")),
            activation=activations,
        ),
        st.builds(Dense, units=small_units, activation=activations),
        st.builds(Dropout, rate=st.floats(0.0, 0.5)),
    )


@st.composite
def valid_stacks(draw: st.DrawFn) -> tuple[ModelSpec, str]:
    """(model, expected mode): ExpandDims, sequence layers, maybe a collapsing recurrent layer,
    Dense 1, maybe Scale. Sequence-to-sequence exactly when nothing collapses the steps (and
    then no stride shortens them: there is one label per input step)."""
    seq2vec = draw(st.booleans())
    body = st.lists(sequence_layer(2 if seq2vec else 1), max_size=3)
    layers: list[Any] = [ExpandDims(), *draw(body)]
    if seq2vec:
        layers.append(draw(recurrent(False)))
        dense = st.builds(Dense, units=small_units, activation=activations)
        layers += draw(st.lists(dense, max_size=1))
    layers.append(Dense(units=1))
    if draw(st.booleans()):
        layers.append(Scale(factor=draw(st.floats(-1000, 1000))))
    return ModelSpec(tuple(layers)), "sequence-to-vector" if seq2vec else "sequence-to-sequence"
