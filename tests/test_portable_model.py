"""A run's ``model.keras`` is plain Keras: it loads with ``keras.saving.load_model`` (safe mode) in
a Python where seqlab cannot be imported, takes raw windows and gives the run's forecasts in the
series' units. Older run folders (seqlab's layers, normalisation outside) still forecast."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny

from engine import run_forecast, training
from engine.events import RunFinished
from engine.forecast import Forecaster
from engine.presets import PRESETS
from engine.runstore import RunStore
from engine.scaling import Scaler, fit_scaler
from engine.specs import (
    GRU,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    ExpandDims,
    ForecastSpec,
    ModelSpec,
    Scale,
    SimpleRNN,
)

pytestmark = pytest.mark.tensorflow

REPO = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter (-I: no PYTHONPATH, no current folder on the path) with seqlab's
# packages made unimportable, as on a machine where seqlab was never installed.
LOAD_WITHOUT_SEQLAB = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoSeqlab(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("engine", "tui", "bench"):
                raise ImportError(f"seqlab is not installed here ({name})")
            return None

    sys.meta_path.insert(0, NoSeqlab())
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    import numpy as np

    windows = np.load(sys.argv[2])
    for path in sys.argv[3:]:
        model = keras.saving.load_model(path)  # safe_mode=True is Keras's default
        np.save(path + ".npy", np.asarray(model.predict(windows, verbose=0)))
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("engine", "tui"))
    print("seqlab modules:", loaded)
    """
)


def predicted_without_seqlab(models: list[Path], windows: np.ndarray, tmp: Path) -> list:
    np.save(tmp / "windows.npy", windows.astype("float32"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", LOAD_WITHOUT_SEQLAB, "x", str(tmp / "windows.npy")]
        + [str(m) for m in models],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "seqlab modules: []" in done.stdout
    return [np.load(f"{m}.npy") for m in models]


def class_names(path: Path) -> set[str]:
    """Every (module, class) a saved .keras file names."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "class_name" in node and "module" in node:
                found.add(f"{node['module']}.{node['class_name']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return found


STACKS = {
    "course-rnn": PRESETS["course-rnn"].model,
    "course-lstm-2": PRESETS["course-lstm-2"].model,
    "seq2seq": ModelSpec(
        (ExpandDims(), SimpleRNN(units=6, return_sequences=True), Dense(units=1), Scale(3.0))
    ),
    "direct": ModelSpec(
        (
            ExpandDims(),
            Conv1D(filters=4, kernel_size=3),
            Bidirectional(layer=GRU(units=3), merge_mode="sum"),
            Dropout(),
            Dense(units=4),
        )
    ),
}


def test_saved_models_load_in_plain_keras_without_seqlab_and_predict_the_same(tmp_path) -> None:
    """Every kind of normalisation and of stack, untrained (random weights are as good a test
    of the weight copy as trained ones): the portable model, saved and loaded where seqlab is not
    importable, gives in series units what the trained model with its scaler gives."""
    import keras

    from engine.keras_model import build_model, portable_model

    rng = np.random.default_rng(7)
    values = (np.cumsum(rng.normal(size=400)) * 3 + 500).astype("float32")
    windows = np.stack([values[i : i + 12] for i in range(0, 380, 7)])
    expected, paths = [], []
    for name, stack in STACKS.items():
        outputs = 4 if name == "direct" else 1
        for kind in ("none", "standard", "minmax", "last"):
            keras.utils.set_random_seed(1)
            trained = build_model(stack, 12, unroll=True, outputs=outputs)
            scaler = fit_scaler(kind, values[:300])
            fc = Forecaster(trained, scaler)
            expected.append(scaler.inverse(fc.block(scaler.transform(windows))))
            path = tmp_path / f"{name}-{kind}.keras"
            portable_model(trained, stack, scaler).save(path)
            assert all(c.startswith("keras.") for c in class_names(path)), class_names(path)
            paths.append(path)
    for path, want, got in zip(
        paths, expected, predicted_without_seqlab(paths, windows, tmp_path), strict=True
    ):
        got = got[:, -1, :] if got.ndim == 3 else got
        # float32 rounding: the scaling is done in float32 inside the model, in float64 outside
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-4, err_msg=path.name)


@pytest.mark.slow
def test_a_runs_model_gives_its_forecast_in_plain_keras(tmp_path) -> None:
    exp = tiny(normalise="last", optimizer="adam", learning_rate=0.01, epochs=3)
    store = RunStore(tmp_path / "runs")
    done = training.train(exp, lambda e: None, store=store)
    assert isinstance(done, RunFinished), done
    path = Path(done.run_dir) / "model.keras"
    series = training._cut_windows(exp, seq2seq=False).series
    raw = np.stack([series.values[t - 10 : t] for t in range(250, 300)])
    [got] = predicted_without_seqlab([path], raw, tmp_path)
    np.testing.assert_allclose(got[:, 0], done.forecast, rtol=1e-6)


@pytest.mark.slow
def test_a_run_saved_before_portable_models_still_forecasts(tmp_path) -> None:
    """A run folder whose model.keras is the trained model (seqlab's layers, normalised units)
    and whose scaler.json has no ``in_model``: the scaler is applied outside, as it was."""
    from engine.keras_model import build_model, load_model

    exp = dataclasses.replace(tiny(normalise="standard", epochs=2), forecast=ForecastSpec(future=5))
    store = RunStore(tmp_path / "runs")
    done = training.train(exp, lambda e: None, store=store)
    assert isinstance(done, RunFinished), done
    folder = Path(done.run_dir)
    portable = load_model(folder / "model.keras")
    data = training._cut_windows(exp, seq2seq=False)
    old = build_model(exp.model, 10)
    for layer in old.layers[1:]:
        layer.set_weights(portable.get_layer(layer.name).get_weights())
    old.save(folder / "model.keras")
    (folder / "scaler.json").write_text(json.dumps(data.scaler.to_dict()))
    again = run_forecast.forecast_run(run_forecast.load(done.run_id, store), 5)
    assert done.future is not None
    np.testing.assert_allclose(again.values, done.future.values, rtol=1e-4)
    assert Scaler.from_dict(json.loads((folder / "scaler.json").read_text())) == data.scaler
