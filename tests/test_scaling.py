"""Normalisation (engine.scaling): exact round trips, statistics from the fitting part only,
windows relative to their last value ("last")."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.scaling import Scaler, fit_scaler
from engine.specs import CsvSeries, Experiment, TrainSpec, WindowSpec
from engine.training import _cut_windows

# Series values as data hold them: zeros, and magnitudes within 2**29 of one another.
magnitudes = st.floats(2**-7, 2**20, width=32)
float32_values = hnp.arrays(
    np.float32,
    st.integers(2, 200),
    elements=st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda v: -v)),
)


@settings(max_examples=300, deadline=None)
@given(values=float32_values, kind=st.sampled_from(("none", "standard", "minmax", "last")))
def test_the_round_trip_is_exact(values, kind):
    scaler = fit_scaler(kind, values)
    back = scaler.inverse(scaler.transform(values))
    np.testing.assert_array_equal(back, values)  # in float64, before any rounding to float32


def test_standard_and_minmax_statistics():
    values = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], dtype="float32")  # std 2
    standard = fit_scaler("standard", values)
    assert (standard.offset, standard.scale) == (5.0, 2.0)
    np.testing.assert_allclose(standard.transform(values).mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(standard.transform(values).std(), 1.0)
    minmax = fit_scaler("minmax", values)  # range 7: scale 8, the nearest power of two
    assert (minmax.offset, minmax.scale) == (2.0, 8.0)
    assert (minmax.transform(values).min(), minmax.transform(values).max()) == (0.0, 7 / 8)
    wide = fit_scaler("standard", np.random.default_rng(2).normal(100.1, 30, 1000))
    assert wide.transform(np.random.default_rng(2).normal(100.1, 30, 1000)).std() >= 2**-0.5
    assert wide.scale == 32.0 and wide.offset == float(np.float32(wide.offset))


def test_none_leaves_the_values_as_they_are():
    values = np.arange(5, dtype="float32")
    scaler = fit_scaler("none", values)
    assert scaler == Scaler("none", 0.0, 1.0)
    assert scaler.transform(values) is values and scaler.inverse(values) is values


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_constant_values_keep_a_scale_of_one(kind):
    scaler = fit_scaler(kind, np.full(10, 3.0))
    assert scaler.scale == 1.0
    np.testing.assert_array_equal(scaler.transform([3.0, 4.0]), [0.0, 1.0])


def test_bad_kinds_and_empty_values_are_refused():
    with pytest.raises(ValueError, match="one of none, standard, minmax, last"):
        fit_scaler("robust", [1.0])
    with pytest.raises(ValueError, match="no values"):
        fit_scaler("standard", [])


@pytest.mark.parametrize("kind", ["standard", "last"])
def test_the_saved_form_round_trips_through_json(kind):
    scaler = fit_scaler(kind, np.random.default_rng(0).normal(3, 7, 100))
    assert Scaler.from_dict(json.loads(json.dumps(scaler.to_dict()))) == scaler


def test_last_has_the_standard_statistics():
    values = np.random.default_rng(3).normal(40, 9, 500).astype("float32")
    last, standard = fit_scaler("last", values), fit_scaler("standard", values)
    assert (last.kind, last.offset, last.scale) == ("last", standard.offset, standard.scale)
    np.testing.assert_array_equal(last.transform(values), standard.transform(values))


@st.composite
def windows_and_targets(draw):
    """Float32 windows (n, w) with targets (n,) or (n, w), as training cuts them."""
    n, w = draw(st.integers(0, 20)), draw(st.integers(1, 12))
    elements = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda v: -v))
    x = draw(hnp.arrays(np.float32, (n, w), elements=elements))
    y = draw(hnp.arrays(np.float32, draw(st.sampled_from([(n,), (n, w)])), elements=elements))
    return x, y


@settings(max_examples=300, deadline=None)
@given(windows=windows_and_targets())
def test_relative_windows_round_trip_exactly(windows):
    x, y = windows
    scaler = Scaler("last", 1.5, 4.0)
    rel_x, rel_y, ref = scaler.relative(x, y)
    np.testing.assert_array_equal(ref, x[:, -1])
    np.testing.assert_array_equal(rel_x[:, -1], np.zeros(len(x)))
    np.testing.assert_array_equal(scaler.absolute(rel_x, ref), x)
    np.testing.assert_array_equal(scaler.absolute(rel_y, ref), y)
    inputs, same_ref = scaler.relative_inputs(x)
    np.testing.assert_array_equal(inputs, rel_x)
    np.testing.assert_array_equal(same_ref, ref)


def test_predictions_of_any_shape_get_their_window_reference_back():
    scaler = Scaler("last", 0.0, 1.0)
    ref = np.array([10.0, 20.0])
    np.testing.assert_array_equal(scaler.absolute(np.array([1.0, 2.0]), ref), [11.0, 22.0])
    steps = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])  # (n, steps, 1): sequence-to-sequence
    np.testing.assert_array_equal(scaler.absolute(steps, ref)[:, :, 0], [[11, 12], [23, 24]])


@pytest.mark.parametrize("kind", ["none", "standard", "minmax"])
def test_other_kinds_leave_windows_as_they_are(kind):
    scaler = fit_scaler(kind, np.arange(10.0))
    x, y = np.arange(12, dtype="float32").reshape(3, 4), np.arange(3, dtype="float32")
    rel_x, rel_y, ref = scaler.relative(x, y)
    assert rel_x is x and rel_y is y
    assert scaler.absolute(y, ref) is y


def _csv_experiment(write_csv, values, **train) -> Experiment:
    path = write_csv("value\n" + "\n".join(repr(float(v)) for v in values) + "\n")
    return Experiment(
        series=CsvSeries(path=path, column="value", split_time=80),
        window=WindowSpec(window=5, batch_size=8),
        train=TrainSpec(**train),
    )


@pytest.mark.parametrize("kind", ["standard", "minmax", "last"])
def test_the_scaler_is_fitted_on_the_fitting_part_only(write_csv, kind):
    """Changing the validation period, or the holdout slice, changes nothing fitted."""
    rng = np.random.default_rng(1)
    values = rng.normal(10, 3, 100)
    base = _csv_experiment(write_csv, values, normalise=kind, holdout=0.25)
    data = _cut_windows(base, seq2seq=False)
    fit_end = 60  # split 80 less 20 holdout points
    assert data.scaler == fit_scaler(kind, data.series.values[:fit_end])

    later = values.copy()
    later[fit_end:] = rng.normal(500, 90, 40)  # holdout slice and validation period
    other = _cut_windows(_csv_experiment(write_csv, later, normalise=kind, holdout=0.25), False)
    assert other.scaler == data.scaler
    np.testing.assert_array_equal(other.x, data.x)
    np.testing.assert_array_equal(other.y, data.y)


def test_inputs_and_targets_are_normalised(write_csv):
    values = np.arange(100, dtype="float64") * 2.0
    exp = _csv_experiment(write_csv, values, normalise="standard", holdout=0.0)
    data = _cut_windows(exp, seq2seq=False)
    scaled = data.scaler.transform(values).astype("float32")
    np.testing.assert_array_equal(data.x[0], scaled[:5])
    np.testing.assert_array_equal(data.y[:3], scaled[5:8])
    np.testing.assert_array_equal(data.y_val, scaled[80:])
    raw = _cut_windows(dataclasses.replace(exp, train=TrainSpec(normalise="none")), False)
    np.testing.assert_array_equal(raw.y_val, values[80:].astype("float32"))


@pytest.mark.parametrize("seq2seq", [False, True], ids=["seq2vec", "seq2seq"])
def test_last_makes_every_window_relative_to_its_last_value(write_csv, seq2seq):
    """Inputs and targets (every step of a sequence-to-sequence target) less the window's last
    input, in the fitting, holdout and validation windows alike."""
    values = np.arange(100, dtype="float64") ** 1.5
    exp = _csv_experiment(write_csv, values, normalise="last", holdout=0.25)
    data = _cut_windows(exp, seq2seq=seq2seq)
    assert data.scaler == fit_scaler("last", data.series.values[:60])
    scaled = data.scaler.transform(data.series.values).astype("float32").astype("float64")

    def expected(start: int) -> tuple[np.ndarray, np.ndarray]:
        window, last = scaled[start : start + 5], scaled[start + 4]
        target = scaled[start + 1 : start + 6] if seq2seq else scaled[start + 5]
        return (window - last).astype("float32"), (target - last).astype("float32")

    for xs, ys, first in ((data.x, data.y, 0), (data.x_hold, data.y_hold, 55)):
        for i in (0, len(xs) - 1):
            window, target = expected(first + i)
            np.testing.assert_array_equal(xs[i], window)
            np.testing.assert_array_equal(ys[i], target)
    window, target = expected(75)  # the first validation window: split 80 less the window
    np.testing.assert_array_equal(data.x_val[0], window)
    np.testing.assert_array_equal(data.y_val[0], target)
    assert (len(data.x), len(data.x_hold), len(data.x_val)) == (55, 20, 20)
    assert data.y.shape == ((55, 5) if seq2seq else (55,))
    assert not data.x[:, -1].any() and data.x.dtype == data.y.dtype == np.float32
