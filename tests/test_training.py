"""The training engine: events, stop, divergence, determinism, the course's numbers, saved runs."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from engine import config, training
from engine.events import (
    BatchProgress,
    EpochEnded,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
)
from engine.presets import PRESETS
from engine.runstore import RunStore
from engine.series import load_series
from engine.specs import CsvSeries, Dense, ExpandDims, Scale, SimpleRNN
from engine.stop import StopRequest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # every test here trains (seconds each)


# The course's way of training (raw values, no holdout slice, a constant rate): what the tests of
# events, stops and determinism count batches against (15 an epoch for the tiny experiment).
COURSE = {
    "normalise": "none",
    "holdout": 0.0,
    "schedule": "constant",
    "restore_best": False,
    "validate": False,
}


def course(tiny, **train):
    """The tiny experiment trained the course's way; ``train`` replaces further fields."""
    return tiny(**{**COURSE, **train})


def run(exp, stop=None, **kwargs):
    """Trains; returns (events, outcome)."""
    events: list = []
    outcome = training.train(exp, events.append, stop, **kwargs)
    return events, outcome


def epochs_of(events) -> list[EpochEnded]:
    return [e for e in events if isinstance(e, EpochEnded)]


def test_events_metrics_and_saved_run(tiny_experiment, tmp_path) -> None:
    exp = course(tiny_experiment, epochs=3, validate=True)
    events, done = run(exp, store=RunStore(tmp_path))

    # order: RunStarted, then progress and one EpochEnded per epoch, then the outcome (returned)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert (started.kind, started.total_epochs, started.steps_per_epoch) == ("train", 3, 15)
    assert started.params == 8 * (1 + 8 + 1) + 8 * (8 + 8 + 1) + 9  # SimpleRNN 8 x2 + Dense 1
    assert events[-1] is done and isinstance(done, RunFinished)
    middle = events[1:-1]
    assert all(isinstance(e, (BatchProgress, EpochEnded)) for e in middle)
    assert [e.epoch for e in epochs_of(events)] == [1, 2, 3]
    assert all(e.epoch in (1, 2, 3) for e in middle if isinstance(e, BatchProgress))
    assert {e.run_id for e in events} == {started.run_id}

    for e in epochs_of(events):  # the learning rate comes from the optimizer, as float32
        assert e.learning_rate == pytest.approx(1e-5, rel=1e-7)
        assert e.val_loss is not None and e.val_mae is not None and e.seconds > 0

    # metrics against numpy, on the forecast the run reports
    series = load_series(exp.series, exp.window.window)
    actual = series.valid.astype("float64")
    forecast = np.array(done.forecast)
    assert forecast.shape == (50,)
    errors = forecast - actual
    naive = series.values[249:-1].astype("float64") - actual
    m = done.metrics
    assert m["val_mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert m["val_mse"] == pytest.approx(np.mean(errors**2))
    assert m["val_rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    smape = 100 * np.mean(2 * np.abs(errors) / (np.abs(actual) + np.abs(forecast)))
    assert m["val_smape"] == pytest.approx(smape)
    assert m["naive_mae"] == pytest.approx(np.mean(np.abs(naive)))
    assert m["naive_mse"] == pytest.approx(np.mean(naive**2))
    scale = np.mean(np.abs(np.diff(series.train.astype("float64"))))
    assert m["val_mase"] == pytest.approx(np.mean(np.abs(errors)) / scale)
    assert {"linear_mae", "linear_mase", "naive_mase"} <= set(m)  # no snaive: period > split
    assert (m["best_epoch"], m["epochs_run"]) == (3, 3)  # no holdout slice: the last epoch
    assert done.notes[0] == "trained all 3 epochs"
    # the validation period's per-epoch MAE is the forecast's: the last one is the final score
    assert epochs_of(events)[-1].val_mae == pytest.approx(m["val_mae"], rel=1e-5)

    # the saved run: status, history, forecast, metrics, and a model that loads safely
    store = RunStore(tmp_path)
    [info] = store.runs()
    assert (info.status, info.epochs, info.path) == ("finished", 3, Path(done.run_dir))
    history = store.history(info.path)
    assert [r["loss"] for r in history] == pytest.approx([e.loss for e in epochs_of(events)])
    assert [r["val_mae"] for r in history] == pytest.approx([e.val_mae for e in epochs_of(events)])
    saved_forecast = store.forecast(info.path)
    np.testing.assert_allclose(saved_forecast.forecast, forecast, rtol=1e-6)
    np.testing.assert_array_equal(saved_forecast.time, series.time_valid)
    saved = store.metrics(info.path)
    assert saved.pop("notes") == list(done.notes)
    assert saved.pop("future_notes") == list(done.future.notes)
    assert saved == pytest.approx(m)
    assert json.loads((info.path / "scaler.json").read_text()) == {
        "kind": "none",
        "offset": 0.0,
        "scale": 1.0,
        "in_model": True,
    }
    assert store.experiment(info.path) == exp
    import keras

    from engine.forecast import validation_forecast

    model = keras.saving.load_model(info.path / "model.keras")  # plain Keras: nothing registered
    np.testing.assert_array_equal(validation_forecast(model, series, 10), forecast)
    assert not [p for p in info.path.iterdir() if p.name.startswith(".")]  # no temporary files


def test_same_experiment_gives_the_same_losses_bit_for_bit(tiny_experiment) -> None:
    for exp in (course(tiny_experiment, epochs=4), tiny_experiment(epochs=4)):
        first = [(e.loss, e.holdout_loss) for e in epochs_of(run(exp, save=False)[0])]
        again = [(e.loss, e.holdout_loss) for e in epochs_of(run(exp, save=False)[0])]
        assert first == again  # no tolerance: seeded weights, shuffle order, XLA: deterministic
        other_seed = dataclasses.replace(exp, train=dataclasses.replace(exp.train, seed=52))
        other = [(e.loss, e.holdout_loss) for e in epochs_of(run(other_seed, save=False)[0])]
        assert other != first


def test_same_batches_without_xla_equal_the_course_pipeline(course_series) -> None:
    """The course's windowed_dataset + Lambda model + fit, against seqlab with XLA off (and on)."""
    import keras
    import tensorflow as tf

    from bench.course_pipeline import compile_course, course_model, windowed_dataset

    base = PRESETS["course-rnn"]
    exp = dataclasses.replace(
        base,
        series=dataclasses.replace(base.series, length=400, split_time=350),
        window=dataclasses.replace(base.window, batch_size=32),
        train=dataclasses.replace(base.train, learning_rate=1e-6, epochs=3),
    )
    seed, w = exp.train.seed, exp.window.window
    series = load_series(exp.series, w)

    # precondition: the same batches (seeded shuffles of the same windows)
    keras.utils.set_random_seed(seed)
    theirs = list(windowed_dataset(series.train, w, 32, 1000, seed=seed).repeat(2))
    keras.utils.set_random_seed(seed)
    data = training._cut_windows(exp, seq2seq=False)
    ours = list(training._train_dataset(data, exp, tf.Variable(True)).take(len(theirs)))
    for (x1, y1), (x2, y2) in zip(theirs, ours, strict=True):
        np.testing.assert_array_equal(x1.numpy(), x2.numpy())
        np.testing.assert_array_equal(y1.numpy(), y2.numpy())

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = course_model("rnn")
    compile_course(model, "huber", 1e-6)
    course = model.fit(windowed_dataset(series.train, w, 32, 1000, seed=seed), epochs=3, verbose=0)
    course_loss = course.history["loss"]

    plain = [e.loss for e in epochs_of(run(exp, save=False, xla=False)[0])]
    np.testing.assert_allclose(plain, course_loss, rtol=1e-4, atol=1e-4)
    fast = [e.loss for e in epochs_of(run(exp, save=False)[0])]
    np.testing.assert_allclose(fast, course_loss, rtol=1e-4)


@pytest.mark.parametrize("seq2seq", [False, True], ids=["seq2vec", "seq2seq"])
def test_forecast_equals_the_course_model_forecast(tiny_experiment, seq2seq) -> None:
    import keras

    from bench.course_pipeline import course_forecast
    from engine.forecast import validation_forecast
    from engine.keras_model import build_model

    if seq2seq:
        layers = (ExpandDims(), SimpleRNN(units=8, return_sequences=True), Dense(units=1))
    else:
        layers = tiny_experiment().model.layers
    exp = tiny_experiment(model=layers)
    series = load_series(exp.series, 10)
    keras.utils.set_random_seed(1)
    model = build_model(exp.model, 10)
    theirs = course_forecast(model, series.values, series.split_time, 10)
    ours = validation_forecast(model, series, 10)
    assert ours.shape == theirs.shape == (50,)
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)


def test_sequence_to_sequence_models_train_on_shifted_windows(tiny_experiment) -> None:
    exp = course(
        tiny_experiment,
        model=(ExpandDims(), SimpleRNN(units=8, return_sequences=True), Dense(1), Scale(100.0)),
        epochs=2,
        validate=True,
    )
    data = training._cut_windows(exp, seq2seq=True)
    assert data.y.shape == data.x.shape == (240, 10)
    np.testing.assert_array_equal(data.y[:, :-1], data.x[:, 1:])  # labels: the window, shifted
    events, done = run(exp, save=False)
    assert isinstance(done, RunFinished) and len(done.forecast) == 50
    assert all(e.val_mae is not None for e in epochs_of(events))


@pytest.fixture
def stop_at(monkeypatch):
    """``stop_at(n)`` gives a stop request that is set while the n-th batch (training and
    validation batches counted together) is being taken, as if a user pressed stop just then;
    ``stop_at.taken()`` counts the batches that reached the stop check."""
    import tensorflow as tf

    taken: list[int] = []
    original = training._stop_when

    def make(at: int) -> StopRequest:
        stop = StopRequest()

        def take() -> np.bool_:
            taken.append(1)
            if len(taken) == at:
                stop.set()
            return np.bool_(True)

        def hook(*batch):
            with tf.control_dependencies([tf.numpy_function(take, [], tf.bool, stateful=True)]):
                return tuple(tf.identity(t) for t in batch)

        monkeypatch.setattr(
            training, "_stop_when", lambda ds, running: original(ds.map(hook), running)
        )
        return stop

    make.taken = lambda: len(taken)
    return make


def test_the_stop_check_reads_the_flag_for_every_batch(tiny_experiment) -> None:
    """No read-ahead past the check, and the flag is read, not captured once."""
    import tensorflow as tf

    exp = course(tiny_experiment)
    running = tf.Variable(True)
    batches = iter(training._train_dataset(training._cut_windows(exp, False), exp, running))
    for _ in range(20):  # past an epoch (15 batches): the repeat and prefetch are behind the check
        next(batches)
    running.assign(False)
    assert next(batches, None) is None


@pytest.fixture
def trained_batches(monkeypatch):
    """The optimizer's step count of the last model the trainer built: batches trained."""
    built = []
    original = training.build_model

    def build_model(spec, window, **options):
        built.append(original(spec, window, **options))
        return built[-1]

    monkeypatch.setattr(training, "build_model", build_model)
    return lambda: int(built[-1].optimizer.iterations.numpy())


def test_stop_is_honoured_within_one_batch(
    tiny_experiment, tmp_path, trained_batches, stop_at
) -> None:
    # 15 batches an epoch, all in one call (steps_per_execution 15); stop as batch 5 of epoch 2
    # is taken: it is refused, the 4 before it train
    stop = stop_at(15 + 5)
    events, stopped = run(course(tiny_experiment, epochs=50), stop, store=RunStore(tmp_path))
    assert trained_batches() == 19
    assert stop_at.taken() == 20  # nothing was taken after the request
    assert isinstance(stopped, RunStopped) and events[-1] is stopped
    assert stopped.epochs == 1 and stopped.reason == "stopped by request after 1 epoch"
    assert [e.epoch for e in epochs_of(events)] == [1]
    [info] = RunStore(tmp_path).runs()
    assert info.status == "stopped" and len(RunStore(tmp_path).history(info.path)) == 1


def test_stop_is_honoured_within_one_batch_during_validation(
    tiny_experiment, trained_batches, stop_at
) -> None:
    # holdout 0.2: 50 of the 250 training points, 190 fitting windows; epoch 1: 12 training
    # batches, then 4 holdout batches; stop as the 2nd of those is taken
    stop = stop_at(12 + 2)
    events, stopped = run(tiny_experiment(epochs=5, holdout=0.2), stop, save=False)
    assert stop_at.taken() == 14 and trained_batches() == 12
    assert isinstance(stopped, RunStopped) and stopped.epochs == 0  # epoch 1 did not complete
    assert not epochs_of(events)


def test_a_stop_between_epochs_trains_no_further_batch(tiny_experiment, trained_batches) -> None:
    """Nothing reads ahead past the stop check: a request made at the end of an epoch (here from
    the event callback) keeps every batch of the next epoch out of training."""
    stop = StopRequest()
    events: list = []

    def on_event(event):
        events.append(event)
        if isinstance(event, EpochEnded) and event.epoch == 2:
            stop.set()

    stopped = training.train(course(tiny_experiment, epochs=100), on_event, stop, save=False)
    assert isinstance(stopped, RunStopped) and stopped.epochs == 2
    assert [e.epoch for e in epochs_of(events)] == [1, 2]
    assert trained_batches() == 2 * 15


def test_a_diverging_loss_stops_at_once_with_advice(tiny_experiment, tmp_path) -> None:
    exp = course(tiny_experiment, learning_rate=10.0, loss="mse", epochs=20)
    events, stopped = run(exp, store=RunStore(tmp_path))
    assert isinstance(stopped, RunStopped)
    assert [type(e) for e in events if not isinstance(e, BatchProgress)] == [RunStarted, RunStopped]
    reason = stopped.reason
    assert "NaN" in reason or "infinite" in reason
    assert "epoch 1" in reason and "learning rate 10" in reason and "try 1" in reason
    assert "sweep" in reason
    [info] = RunStore(tmp_path).runs()
    assert info.status == "stopped" and info.reason == reason


def test_problems_before_training_fail_without_starting(tiny_experiment, tmp_path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    events, failed = run(tiny_experiment(), store=RunStore(a_file / "runs"))
    assert events == [failed] and isinstance(failed, RunFailed)
    assert "runs folder" in failed.message and "not writable" in failed.message

    missing = dataclasses.replace(tiny_experiment(), series=CsvSeries(path=str(tmp_path / "x.csv")))
    events, failed = run(missing, store=RunStore(tmp_path / "runs"))
    assert events == [failed] and "x.csv: no such file" in failed.message

    events, failed = run(PRESETS["quiz-q8"], store=RunStore(tmp_path / "runs"))
    assert events == [failed] and "return_sequences" in failed.message
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_simple_rnn_is_unrolled_for_short_windows_under_xla(tiny_experiment, monkeypatch) -> None:
    asked = []
    original = training.build_model

    def build_model(spec, window, **options):
        asked.append((window, options.get("unroll")))
        return original(spec, window, **options)

    monkeypatch.setattr(training, "build_model", build_model)
    short = course(tiny_experiment, epochs=1)
    long = dataclasses.replace(short, window=dataclasses.replace(short.window, window=40))
    for exp, xla in ((short, True), (short, False), (long, True)):
        assert isinstance(run(exp, save=False, xla=xla)[1], RunFinished)
    assert asked == [(10, True), (10, False), (40, False)]


def test_xla_fallback_is_noted(tiny_experiment, tmp_path, monkeypatch) -> None:
    """A model XLA cannot compile (here: a numpy_function inside) trains without XLA."""
    import keras
    import tensorflow as tf

    original = training.build_model

    class Opaque(keras.layers.Layer):
        def call(self, x):
            return tf.ensure_shape(tf.numpy_function(lambda a: a, [x], tf.float32), x.shape)

    def build_with_opaque_layer(spec, window, **options):
        inner = original(spec, window, **options)
        inputs = keras.Input((window,))
        return keras.Model(inputs, inner(Opaque()(inputs)))

    monkeypatch.setattr(training, "build_model", build_with_opaque_layer)
    events, done = run(course(tiny_experiment, epochs=2), store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    [note] = events[0].notes
    assert "XLA could not compile this model" in note and "PyFunc" in note
    assert note in (Path(done.run_dir) / "run.log").read_text()


TRAIN_IN_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from engine import config, training
    from engine.runstore import RunStore
    exp = config.load(sys.argv[1])
    if len(sys.argv) > 3:  # a file size limit: writing a bigger file fails like a full disk
        training.load_tensorflow()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
    done = training.train(exp, lambda e: None, store=RunStore(sys.argv[2]))
    print(type(done).__name__, getattr(done, "message", ""))
    """
)


def _child(exp, tmp_path, *extra: str) -> subprocess.Popen:
    path = tmp_path / "exp.toml"
    path.write_text(config.dumps(exp))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-c", TRAIN_IN_CHILD, str(path), str(tmp_path / "runs"), *extra]
    return subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_a_killed_run_is_listed_as_interrupted_with_its_history(tiny_experiment, tmp_path) -> None:
    child = _child(tiny_experiment(epochs=100_000), tmp_path)
    store = RunStore(tmp_path / "runs")
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            infos = store.runs()
            if infos and infos[0].epochs >= 3:
                break
            assert child.poll() is None, child.communicate()
            time.sleep(0.1)
        else:
            pytest.fail("the child trained no epochs in 90 s")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    [info] = store.runs()
    assert info.status == "interrupted" and "killed or crashed" in info.reason
    rows = store.history(info.path)
    assert len(rows) >= 3 and [r["epoch"] for r in rows] == list(range(1, len(rows) + 1))
    lines = (info.path / "history.csv").read_text().splitlines()
    assert all(line.count(",") == 8 for line in lines)  # whole lines: no torn row
    assert json.loads((info.path / "status.json").read_text())["status"] == "running"


def test_a_failed_save_marks_the_run_failed_and_leaves_no_torn_file(
    tiny_experiment, tmp_path
) -> None:
    # 16 KiB: the history and status fit, the model (~40 KiB) does not
    child = _child(tiny_experiment(epochs=2), tmp_path, "16384")
    out, err = child.communicate(timeout=120)
    assert out.startswith("RunFailed could not save the run"), (out, err)
    assert "File too large" in out
    [info] = RunStore(tmp_path / "runs").runs()
    assert info.status == "failed" and "could not save the run" in info.reason
    names = sorted(p.name for p in info.path.iterdir())
    assert names == ["experiment.toml", "history.csv", "run.log", "status.json"]
    assert len(RunStore(tmp_path / "runs").history(info.path)) == 2


# --- holdout slice, best epoch, optimizers and schedules ------------------------------------------


def _csv_of(write_csv, values, name: str = "data.csv") -> str:
    return write_csv("value\n" + "\n".join(repr(float(v)) for v in values) + "\n", name)


def test_the_validation_period_influences_nothing(tiny_experiment, write_csv) -> None:
    """Perturbing every validation value leaves training, holdout scores, the learning rates
    and the best epoch exactly as they were: only the validation scores change."""
    exp = tiny_experiment(optimizer="adam", learning_rate=0.01, epochs=8, patience=2)
    values = load_series(exp.series).values.astype("float64")
    changed = values.copy()
    changed[250:] = changed[250:] * 3 + 40

    def trained(vals):
        series = CsvSeries(path=_csv_of(write_csv, vals), column="value", split_time=250)
        events, done = run(dataclasses.replace(exp, series=series), save=False)
        assert isinstance(done, RunFinished), done
        rows = [
            (e.loss, e.mae, e.holdout_loss, e.holdout_mae, e.learning_rate)
            for e in epochs_of(events)
        ]
        return rows, done, [e.val_mae for e in epochs_of(events)]

    rows, done, val = trained(values)
    rows_changed, done_changed, val_changed = trained(changed)
    assert rows == rows_changed  # bit for bit
    assert done.metrics["best_epoch"] == done_changed.metrics["best_epoch"]
    assert done.epochs == done_changed.epochs
    assert all(v is not None for v in val) and val != val_changed
    assert done.metrics["val_mae"] != done_changed.metrics["val_mae"]


def test_last_value_normalisation_forecasts_in_series_units(
    tiny_experiment, write_csv, tmp_path
) -> None:
    """normalise "last": the model learns each window's change from its last value, and the
    saved model holds that, and the standardisation, inside: fed raw windows it gives the run's
    forecast, and every MAE is in the series' units; perturbing the validation period still
    changes nothing but the validation scores."""
    import keras

    from engine.forecast import predictor
    from engine.scaling import Scaler
    from engine.windows import forecast_windows

    layers = (
        ExpandDims(),
        SimpleRNN(units=8, return_sequences=True),
        SimpleRNN(units=8),
        Dense(units=1),
    )
    exp = tiny_experiment(
        model=layers, normalise="last", optimizer="adam", learning_rate=0.01, epochs=6
    )
    values = load_series(exp.series).values.astype("float64")
    changed = values.copy()
    changed[250:] = changed[250:] * 3 + 40

    def trained(vals, name):
        series = CsvSeries(path=_csv_of(write_csv, vals, name), column="value", split_time=250)
        store = RunStore(tmp_path / f"runs-{name}")
        events, done = run(dataclasses.replace(exp, series=series), store=store)
        assert isinstance(done, RunFinished), done
        return epochs_of(events), done, store.find(done.run_id).path

    epochs, done, path = trained(values, "a.csv")
    scaler = Scaler.from_dict(json.loads((path / "scaler.json").read_text()))
    assert scaler.kind == "last"
    model = keras.saving.load_model(path / "model.keras")
    assert [layer.name for layer in model.layers[1:4]] == ["normalise", "steps", "last_step"]
    predict = predictor(model)
    raw = values.astype("float32")

    def by_hand(start: int, end: int) -> np.ndarray:
        """Forecasts of points start..end-1, each from the 10 values before it."""
        return predict(forecast_windows(raw[:end], start, 10))[:, 0].astype("float64")

    forecast = by_hand(250, 300)
    np.testing.assert_array_equal(done.forecast, forecast)
    m, best = done.metrics, done.metrics["best_epoch"]
    assert m["val_mae"] == pytest.approx(np.mean(np.abs(forecast - values[250:])))
    assert m["val_mae"] < 1.5 * m["naive_mae"]  # near the series, not near its standardised units
    assert epochs[best - 1].val_mae == pytest.approx(m["val_mae"], rel=1e-5)
    hold = np.mean(np.abs(by_hand(225, 250) - values[225:250]))  # the last 25 training points
    assert epochs[best - 1].holdout_mae == pytest.approx(hold, rel=1e-5)

    epochs_changed, done_changed, _ = trained(changed, "b.csv")
    rows = [(e.loss, e.mae, e.holdout_loss, e.holdout_mae, e.learning_rate) for e in epochs]
    assert rows == [
        (e.loss, e.mae, e.holdout_loss, e.holdout_mae, e.learning_rate) for e in epochs_changed
    ]
    assert done_changed.metrics["best_epoch"] == best
    assert done_changed.metrics["val_mae"] != m["val_mae"]


def test_the_best_epoch_is_kept_and_named(tiny_experiment, tmp_path) -> None:
    from engine.forecast import predictor, validation_forecast
    from engine.keras_model import load_model
    from engine.scaling import Scaler

    exp = tiny_experiment(optimizer="adam", learning_rate=0.05, epochs=60, patience=3)
    events, done = run(exp, store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    holdout = [e.holdout_loss for e in epochs_of(events)]
    best = done.metrics["best_epoch"]
    assert best == int(np.argmin(holdout)) + 1 < done.epochs
    # stopped early: Keras's EarlyStopping waits `patience` epochs past the best one
    assert done.epochs == done.metrics["epochs_run"] == best + 3 < 60
    assert done.notes[0] == (
        f"kept epoch {best} of {done.epochs}: lowest holdout loss; "
        "stopped early: no improvement in the holdout loss for 3 epochs"
    )

    # the saved model is the best epoch's: its holdout loss is that epoch's, its forecast the run's
    info = RunStore(tmp_path).find(done.run_id)
    assert (info.best_epoch, len(RunStore(tmp_path).history(info.path))) == (best, done.epochs)
    model = load_model(info.path / "model.keras")
    data = training._cut_windows(exp, seq2seq=False)
    # the saved model takes raw windows: the holdout windows, with the scaling undone
    raw = data.scaler.inverse(data.x_hold).astype("float32")
    out = predictor(model)(raw).reshape(data.y_hold.shape)
    holdout_mae = float(np.mean(np.abs(out - data.scaler.inverse(data.y_hold))))
    assert holdout_mae == pytest.approx(epochs_of(events)[best - 1].holdout_mae, rel=1e-5)
    scaler = Scaler.from_dict(json.loads((info.path / "scaler.json").read_text()))
    assert scaler == data.scaler and scaler.kind == "standard"
    np.testing.assert_array_equal(validation_forecast(model, data.series, 10), done.forecast)
    assert done.metrics["val_mae"] == pytest.approx(epochs_of(events)[best - 1].val_mae, rel=1e-5)


@pytest.fixture
def built(monkeypatch):
    """The models the trainer built, in order."""
    models = []
    original = training.build_model

    def build_model(spec, window, **options):
        models.append(original(spec, window, **options))
        return models[-1]

    monkeypatch.setattr(training, "build_model", build_model)
    return models


@pytest.mark.parametrize(
    ("train", "cls", "expected"),
    [
        ({"optimizer": "sgd", "nesterov": True, "momentum": 0.8}, "SGD", {"nesterov": True}),
        ({"optimizer": "adam", "clipnorm": 1.5}, "Adam", {"clipnorm": 1.5}),
        ({"optimizer": "adamw", "weight_decay": 0.01}, "AdamW", {"weight_decay": 0.01}),
        ({"optimizer": "rmsprop", "momentum": 0.5}, "RMSprop", {"momentum": 0.5}),
    ],
    ids=["sgd-nesterov", "adam-clipnorm", "adamw", "rmsprop"],
)
def test_the_optimizer_is_compiled_as_configured(tiny_experiment, built, train, cls, expected):
    done = run(course(tiny_experiment, epochs=1, **train), save=False)[1]
    assert isinstance(done, RunFinished), done
    optimizer = built[-1].optimizer
    assert type(optimizer).__name__ == cls
    for name, value in expected.items():
        assert getattr(optimizer, name) == pytest.approx(value)
    if cls == "SGD":
        assert optimizer.momentum == pytest.approx(0.8)
    if "clipnorm" not in train:
        assert optimizer.clipnorm is None


def test_plateaus_of_the_holdout_loss_cut_the_rate(tiny_experiment) -> None:
    exp = tiny_experiment(
        optimizer="adam", learning_rate=0.02, epochs=14, plateau_patience=1, plateau_factor=0.5
    )
    epochs = epochs_of(run(exp, save=False)[0])
    rate, best, wait, expected = 0.02, math.inf, 0, []
    for e in epochs:  # Keras's ReduceLROnPlateau on the holdout loss, epoch by epoch
        expected.append(rate)
        if e.holdout_loss < best:
            best, wait = e.holdout_loss, 0
        else:
            wait += 1
            if wait >= 1:
                rate, wait = rate * 0.5, 0
    assert [e.learning_rate for e in epochs] == pytest.approx(expected, rel=1e-6)
    assert min(expected) < 0.02  # the rate was cut at least once


def test_cosine_decay_reports_the_rate_at_each_epoch_end(tiny_experiment) -> None:
    exp = tiny_experiment(
        optimizer="adam", learning_rate=1e-3, epochs=4, schedule="cosine", min_lr_ratio=0.1
    )
    events, done = run(exp, save=False)
    assert isinstance(done, RunFinished), done
    alpha = 0.1
    expected = [
        1e-3 * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * e / 4)) + alpha) for e in (1, 2, 3, 4)
    ]
    assert [e.learning_rate for e in epochs_of(events)] == pytest.approx(expected, rel=1e-5)
