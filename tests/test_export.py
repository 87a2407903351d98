"""Exports: the standalone script and the notebook that reproduce a run, the experiment file.

The unit tests need no TensorFlow: the generated code compiles, passes ruff (the project's
rules), holds only the code paths its experiment takes and names the run; the notebook is valid
nbformat v4 with the script's code in its cells; writes are atomic and refuse to overwrite. The
slow tests train real seqlab runs, run their exported script (and notebook) in a fresh process
and compare the validation MAE they print with the run's.
"""

from __future__ import annotations

import ast
import dataclasses
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_python, tiny

from engine import config, export
from engine.errors import ConfigError, SeqlabError
from engine.presets import PRESETS, as_edited
from engine.runstore import RunStore
from engine.shapes import infer_experiment
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    CsvSeries,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    ForecastSpec,
    SimpleRNN,
    SweepSpec,
    SyntheticSeries,
)

RUFF_RULES = "E,F,W,I,B,UP,SIM"
MAE_LINE = re.compile(r"^validation MAE: (\S+)$", re.MULTILINE)

# A model that learns something in a few epochs on normalised values (tiny's ends with the
# course's x100, meant for raw values).
SMALL_RNN = (ExpandDims(), SimpleRNN(units=8, return_sequences=True), SimpleRNN(units=8), Dense())
SEQ2SEQ = (ExpandDims(), SimpleRNN(units=8, return_sequences=True), Dense())


def _csv_experiment(path: str = "/data/sales.csv", **series: Any) -> Experiment:
    spec = CsvSeries(path=path, **{"column": "value", "split_time": 250, **series})
    return dataclasses.replace(tiny(), series=spec)


def _variants() -> dict[str, Experiment]:
    """Experiments that between them take every code path of the generators."""
    direct = dataclasses.replace(
        tiny(model=(*SMALL_RNN[:-1], Dense(units=3)), normalise="minmax"),
        forecast=ForecastSpec(horizon=3, strategy="direct"),
    )
    conv = (
        ExpandDims(),
        Conv1D(filters=4, kernel_size=3, strides=1, padding="causal"),
        Bidirectional(LSTM(units=4, return_sequences=True), merge_mode="sum"),
        Bidirectional(SimpleRNN(units=4, return_sequences=True)),
        Dropout(rate=0.1),
        Dense(units=4, activation="relu"),
        Dense(),
    )
    out: dict[str, Experiment] = {
        # every preset but the quiz's broken stack (refused: see below)
        **{f"preset {n}": e for n, e in PRESETS.items() if infer_experiment(e).ok},
        "edited preset": as_edited(
            dataclasses.replace(
                PRESETS["course-rnn"],
                train=dataclasses.replace(PRESETS["course-rnn"].train, epochs=7),
            )
        ),
        "tiny": tiny(),
        "none, no holdout, constant": tiny(normalise="none", holdout=0.0, schedule="constant"),
        "standard, cosine, adamw, clipnorm": tiny(
            normalise="standard", schedule="cosine", optimizer="adamw", clipnorm=1.0
        ),
        "last, patience, rmsprop": tiny(normalise="last", patience=3, optimizer="rmsprop"),
        "minmax, no restore, nesterov": tiny(
            normalise="minmax", restore_best=False, patience=None, nesterov=True
        ),
        "seq2seq, adam, mae": tiny(model=SEQ2SEQ, optimizer="adam", loss="mae", normalise="last"),
        "direct": direct,
        "conv bidirectional gru": tiny(
            model=(*conv[:4], GRU(units=4, activation="relu"), *conv[4:]), holdout=25
        ),
        "long window": dataclasses.replace(
            tiny(), window=dataclasses.replace(tiny().window, window=40)
        ),
        "phase, negative slope": dataclasses.replace(
            tiny(), series=SyntheticSeries(length=300, split_time=250, phase=3.5, slope=-0.05)
        ),
        "batch sweep": dataclasses.replace(tiny(), sweep=SweepSpec(mode="batch", epochs=50)),
        "csv named column": _csv_experiment(date_column="date"),
        "csv index column": _csv_experiment(column="1"),
        "csv no header": _csv_experiment(path="data/sales.csv", column="2", header=False),
        "csv home": _csv_experiment(path="~/sales.csv"),
        "csv long path": _csv_experiment(path="/" + "very-long-folder-name/" * 6 + "sales.csv"),
        "hostile name": dataclasses.replace(tiny(), name='x """ \\ \n <b>*bold*</b> `tick`'),
    }
    return out


VARIANTS = _variants()


def _ruff(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _notebook_code(text: str) -> str:
    cells = json.loads(text)["cells"]
    return "\n\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def _one_line(code: str) -> str:
    """``code`` with every call on one line, as it reads before ruff format splits it."""
    text = re.sub(r"\(\s+", "(", re.sub(r"\s*\n\s*", " ", code))
    return re.sub(r",?\s+\)", ")", text)


# --- the script and the notebook as text ----------------------------------------------------


def test_every_generated_file_compiles_and_passes_ruff(tmp_path: Path) -> None:
    """Every variant's script and notebook compile and pass ``ruff check`` with the project's
    rules, and are laid out as ``ruff format`` lays them out."""
    for i, exp in enumerate(VARIANTS.values()):
        code = export.script(exp, run_id="20260101-120000-x-train-ab12", val_mae=5.4321)
        compile(code, f"script{i}.py", "exec")
        (tmp_path / f"script_{i:02d}.py").write_text(code, encoding="utf-8")
        book = export.notebook(exp)
        compile(_notebook_code(book), f"notebook{i}.py", "exec")
        (tmp_path / f"notebook_{i:02d}.ipynb").write_text(book, encoding="utf-8")  # ruff reads it
    common = ["--isolated", "--line-length", "100", "--target-version", "py311"]
    checked = _ruff("check", *common, "--select", RUFF_RULES, ".", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = _ruff("format", *common, "--diff", ".", cwd=tmp_path)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_the_script_has_only_the_code_paths_its_experiment_takes() -> None:
    plain = export.script(VARIANTS["none, no holdout, constant"])
    for absent in (
        "scale =",
        "offset",
        "scaled",
        "import math",
        "HOLDOUT",
        "holdout_set",
        "EarlyStopping",
        "ReduceLROnPlateau",
        "CosineDecay",
        "validation_data",
        "import csv",
        "matplotlib",
        "plt.",
    ):
        assert absent not in plain, absent
    assert "seasonal_pattern" in plain and "RandomState(42)" in plain

    cosine = export.script(VARIANTS["standard, cosine, adamw, clipnorm"])
    assert "learning_rate = keras.optimizers.schedules.CosineDecay(" in cosine
    assert "1e-05, decay_steps=EPOCHS * steps_per_epoch, alpha=0.01" in cosine
    assert "keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=0.004" in cosine
    assert "clipnorm=1.0" in cosine and "ReduceLROnPlateau" not in cosine
    assert "last = " not in cosine  # "standard" is not relative to the last value
    assert "restore_best_weights=True" in cosine and "patience=EPOCHS + 1" in cosine

    last = export.script(VARIANTS["last, patience, rmsprop"])
    assert "windows, labels = windows - last, labels - last[:, 0]" in last
    assert "patience=3" in last and "RMSprop(learning_rate=1e-05, momentum=0.9)" in last
    assert "ReduceLROnPlateau" in last and "CosineDecay" not in last

    no_restore = export.script(VARIANTS["minmax, no restore, nesterov"])
    assert "EarlyStopping" not in no_restore  # neither patience nor restore_best: none
    assert "fitting.min()" in no_restore and "nesterov=True" in no_restore

    seq = export.script(VARIANTS["seq2seq, adam, mae"])
    assert "cut[:, :-1], cut[:, 1:]" in seq and "output[:, -1, 0]" in seq
    assert "labels - last\n" in seq and "MeanAbsoluteError()" in seq

    direct = export.script(VARIANTS["direct"])
    assert (
        "HORIZON = 3" in direct and "sliding_window_view(values, WINDOW_SIZE + HORIZON)" in direct
    )
    assert "forecast = output[:, 0]" in direct

    rnn = export.script(VARIANTS["tiny"])
    assert (
        'keras.layers.SimpleRNN(8, return_sequences=True, unroll=True, name="02_simple_rnn")' in rnn
    )
    assert 'keras.layers.Reshape((WINDOW_SIZE, 1), name="01_expand_dims")' in rnn
    assert 'keras.layers.Rescaling(100.0, name="05_scale")' in rnn
    long_window = export.script(VARIANTS["long window"])
    assert "unroll" not in long_window  # seqlab unrolls SimpleRNN only up to 32 steps

    conv = _one_line(export.script(VARIANTS["conv bidirectional gru"]))
    for layer in (
        'keras.layers.Conv1D(4, 3, padding="causal", activation="relu", name="02_conv1d")',
        'keras.layers.LSTM(4, return_sequences=True, name="03_bidirectional_inner")',
        'merge_mode="sum"',
        "keras.layers.SimpleRNN(4, return_sequences=True, unroll=True,"
        ' name="04_bidirectional_inner")',
        'keras.layers.GRU(4, activation="relu", name="05_gru")',
        'keras.layers.Dropout(0.1, name="06_dropout")',
        'keras.layers.Dense(4, activation="relu", name="07_dense")',
        "HOLDOUT = 25",
    ):
        assert layer in conv, layer

    phase = export.script(VARIANTS["phase, negative slope"])
    assert "season_time = ((time + 3.5) % 365) / 365" in phase
    assert "series = 10.0 - 0.05 * time + 40.0 * seasonal_pattern(season_time)" in phase


def test_csv_scripts_read_the_column_as_seqlab_does() -> None:
    named = export.script(VARIANTS["csv named column"])
    assert 'CSV_PATH = "/data/sales.csv"' in named and 'column = header.index("value")' in named
    assert "import csv" in named and "seasonal_pattern" not in named
    index = export.script(VARIANTS["csv index column"])
    assert 'column = header.index("1") if "1" in header else 1' in index
    bare = export.script(VARIANTS["csv no header"])
    assert "header =" not in bare and "rows.pop(0)" not in bare
    assert "column = 2" in bare and "relative to the folder you run this in" in bare
    assert 'os.path.expanduser("~/sales.csv")' in export.script(VARIANTS["csv home"])
    assert "# noqa: E501" in export.script(VARIANTS["csv long path"])


def test_the_header_names_the_experiment_the_run_and_its_mae() -> None:
    exp = VARIANTS["edited preset"]
    assert exp.name == "course-rnn (edited)"
    text = export.script(exp, run_id="20260101-120000-course-rnn-edited-train-ab12", val_mae=5.4321)
    doc = " ".join((ast.get_docstring(ast.parse(text)) or "").split())
    assert doc.startswith("course-rnn (edited): a seqlab experiment as a standalone script.")
    assert "seqlab run 20260101-120000-course-rnn-edited-train-ab12" in doc
    assert "validation MAE was 5.4321" in doc and "python THIS_FILE.py" in doc
    alone = " ".join((ast.get_docstring(ast.parse(export.script(exp))) or "").split())
    assert "It trains the experiment as `seqlab run` does" in alone and "reproduces" not in alone
    # a name cannot end the docstring or escape out of it: the file still parses
    hostile = ast.get_docstring(ast.parse(export.script(VARIANTS["hostile name"]))) or ""
    assert hostile.startswith("x ''' /   <b>*bold*</b> `tick`: a seqlab experiment")


def test_the_steps_follow_the_course_in_order() -> None:
    text = export.script(VARIANTS["tiny"])
    sections = re.findall(r"^# --- \d+\. (.+?) -+$", text, re.MULTILINE)
    assert sections == [
        "The series",
        "Training and validation periods",
        "Normalisation",
        "Windows",
        "The model",
        "Training",
        "Forecast of the validation period",
        "Validation MAE",
    ]
    assert "Normalisation" not in export.script(VARIANTS["none, no holdout, constant"])


def test_the_notebook_is_valid_and_shares_the_scripts_code() -> None:
    nbformat = pytest.importorskip("nbformat")
    exp = VARIANTS["tiny"]
    text = export.notebook(exp, run_id="r-1", val_mae=1.5)
    book = nbformat.reads(text, as_version=4)
    nbformat.validate(book)
    assert book.nbformat == 4 and book.metadata.kernelspec.name == "python3"
    assert export.notebook(exp, run_id="r-1", val_mae=1.5) == text  # numbered cell ids
    code = [c.source for c in book.cells if c.cell_type == "code"]
    for step in export.steps(exp):
        assert step.code.strip() in code  # one source for both: each step's code is a cell
        if not step.notebook_only:
            assert step.code.strip() in export.script(exp)
    markdown = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    assert markdown.startswith("# tiny") and "`r-1`" in markdown and "**1.5**" in markdown
    # the shape at each layer and why return_sequences
    assert "| 2 | SimpleRNN 8, seq | `SimpleRNN` | (batch, 10, 8) | 80 |" in markdown
    assert "Layer 2 has `return_sequences=True`" in markdown and "layer 3 (SimpleRNN 8)" in markdown
    assert "Layer 3 has `return_sequences=False`" in markdown
    assert "holdout slice" in markdown and "learning-rate sweep" in markdown
    sweep = code[-1]
    assert "LearningRateScheduler" in sweep and "plt.semilogx(rates, losses)" in sweep
    assert "SWEEP_START = 1e-08" in sweep and "SWEEP_EPOCHS = 100" in sweep
    assert "import matplotlib.pyplot as plt" in code[0]
    assert sum("plt.show()" in c for c in code) == 4  # series, losses, forecast, sweep


def test_the_notebook_explains_sequence_models_and_direct_forecasts() -> None:
    seq = json.loads(export.notebook(VARIANTS["seq2seq, adam, mae"]))
    text = "\n".join("".join(c["source"]) for c in seq["cells"] if c["cell_type"] == "markdown")
    assert "the model forecasts at every step (sequence to sequence)" in text
    assert "**sequence-to-sequence**" in text
    direct = json.loads(export.notebook(VARIANTS["direct"]))
    text = "\n".join("".join(c["source"]) for c in direct["cells"] if c["cell_type"] == "markdown")
    assert "with 3 outputs" in text
    batch = json.loads(export.notebook(VARIANTS["batch sweep"]))
    code = ["".join(c["source"]) for c in batch["cells"] if c["cell_type"] == "code"]
    assert "steps_per_epoch=1" in code[-1] and "a range test" in code[-1]


def test_exporting_loads_neither_tensorflow_nor_matplotlib() -> None:
    done = run_python(
        "import sys\n"
        "from engine import export\n"
        "from engine.presets import PRESETS\n"
        "export.script(PRESETS['course-rnn']); export.notebook(PRESETS['course-rnn'])\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_an_experiment_seqlab_would_not_run_is_refused() -> None:
    broken = tiny(model=(SimpleRNN(units=4), Dense()))  # no ExpandDims
    with pytest.raises(SeqlabError, match="cannot export: the model cannot be built"):
        export.script(broken)
    with pytest.raises(SeqlabError, match="set return_sequences on layer 2"):
        export.notebook(PRESETS["quiz-q8"])
    with pytest.raises(ConfigError, match="train.epochs"):
        export.notebook(tiny(epochs=0))


# --- writing and export_run -----------------------------------------------------------------


def test_write_is_atomic_and_refuses_to_overwrite(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = export.write("out.py", "print(1)\n")
    assert path == tmp_path / "out.py" and path.is_absolute()
    assert path.read_text() == "print(1)\n"
    assert path.stat().st_mode & 0o777 == 0o666 & ~export._umask()
    with pytest.raises(SeqlabError, match=r"out\.py exists; choose another path, or overwrite"):
        export.write(path, "print(2)\n")
    assert path.read_text() == "print(1)\n"
    assert export.write(path, "print(2)\n", overwrite=True).read_text() == "print(2)\n"
    with pytest.raises(SeqlabError, match="no such folder; create it first"):
        export.write(tmp_path / "missing" / "x.py", "")
    with pytest.raises(SeqlabError, match="is a folder; give the path of a file"):
        export.write(tmp_path, "")
    (tmp_path / "file").write_text("")
    with pytest.raises(SeqlabError, match="is not a folder"):
        export.write(tmp_path / "file" / "x.py", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out.py"]  # no temporary files


def test_write_reports_a_failed_write_in_one_line(tmp_path: Path, monkeypatch) -> None:
    def full(path: Path, data: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "atomic_write", full)
    with pytest.raises(SeqlabError, match=r"cannot write .*x\.py: No space left on device"):
        export.write(tmp_path / "x.py", "")


def test_default_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert export.default_path("run-1", "script") == tmp_path / "run-1.py"
    assert (
        export.default_path("run-1", "notebook", tmp_path / "a") == tmp_path / "a" / "run-1.ipynb"
    )
    assert export.default_path("run-1", "experiment").name == "run-1.toml"
    with pytest.raises(
        SeqlabError, match="export kind 'pdf' is unknown; allowed: script, notebook"
    ):
        export.default_path("run-1", "pdf")


def _saved_run(store: RunStore, exp: Experiment, val_mae: float | None = None) -> str:
    """A run folder as a finished training run leaves it (without training)."""
    handle = store.create(exp, "train", 3)
    if val_mae is not None:
        handle.write_metrics({"val_mae": val_mae, "naive_mae": 6.0})
        handle.finish("finished")
    return handle.run_id


def test_export_run_writes_each_kind(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / "runs")
    exp = VARIANTS["edited preset"]
    run_id = _saved_run(store, exp, val_mae=5.4321)
    script = export.export_run(store, run_id, "script")
    assert script == tmp_path / f"{run_id}.py"
    text = " ".join(script.read_text().split())
    assert f"seqlab run {run_id}, whose validation MAE was 5.4321" in text
    assert f"Run it: python {run_id}.py" in text
    notebook = export.export_run(store, run_id[-6:], "notebook", tmp_path / "nb.ipynb")
    assert json.loads(notebook.read_text())["nbformat"] == 4
    toml = export.export_run(store, str(store.root / run_id), "experiment", "exp.toml")
    assert toml.read_text() == config.dumps(exp) == export.experiment_toml(exp)
    assert config.loads(toml.read_text()) == exp
    with pytest.raises(SeqlabError, match="exists"):
        export.export_run(store, run_id, "script")
    assert export.export_run(store, run_id, "script", overwrite=True) == script


def test_export_run_of_an_unfinished_run_claims_no_mae(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    run_id = _saved_run(store, tiny())
    path = export.export_run(store, run_id, "script", tmp_path / "x.py")
    text = " ".join(path.read_text().split())
    assert f"It reproduces seqlab run {run_id} with numpy" in text and "MAE was" not in text


def test_export_run_errors(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(SeqlabError, match="export kind 'pdf' is unknown; allowed: script"):
        export.export_run(store, "anything", "pdf")
    with pytest.raises(SeqlabError, match="run 'nope': no such run in"):
        export.export_run(store, "nope", "script")
    first, second = _saved_run(store, tiny()), _saved_run(store, tiny())
    with pytest.raises(SeqlabError, match="is ambiguous"):
        export.export_run(store, "tiny-train", "script", tmp_path / "x.py")
    (store.root / first / "experiment.toml").write_text("[series\n")
    with pytest.raises(SeqlabError, match="experiment.toml"):
        export.export_run(store, first, "script", tmp_path / "x.py")
    assert not (tmp_path / "x.py").exists()
    assert export.export_run(store, second, "script", tmp_path / "x.py").exists()


# --- reproducing real runs (TensorFlow) -----------------------------------------------------


def _train(exp: Experiment, store: RunStore) -> tuple[str, float]:
    from engine import training
    from engine.events import RunFinished

    done = training.train(exp, lambda event: None, store=store)
    assert isinstance(done, RunFinished), done
    return done.run_id, float(done.metrics["val_mae"])


def _printed_mae(text: str) -> float:
    found = MAE_LINE.findall(text)
    assert len(found) == 1, text[-2000:]
    return float(found[0])


def _run_script(path: Path) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _reproduces(exp: Experiment, tmp_path: Path) -> tuple[float, float]:
    """(seqlab's validation MAE, the exported script's) for a run of ``exp``."""
    store = RunStore(tmp_path / "runs")
    run_id, mae = _train(exp, store)
    path = export.export_run(store, run_id, "script", tmp_path / "reproduce.py")
    out = _run_script(path)
    assert "naive MAE: " in out
    return mae, _printed_mae(out)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_an_exported_script_reproduces_a_synthetic_run(tmp_path: Path) -> None:
    exp = tiny(
        model=SMALL_RNN,
        normalise="last",
        holdout=0.2,
        epochs=4,
        optimizer="adam",
        learning_rate=0.01,
    )
    seqlab, script = _reproduces(exp, tmp_path)
    print(f"synthetic run: seqlab {seqlab:.6g}, script {script:.6g}")
    assert script == pytest.approx(seqlab, rel=0.02)
    assert script == pytest.approx(seqlab, rel=1e-4)  # in fact the same to float rounding


@pytest.mark.slow
@pytest.mark.tensorflow
def test_an_exported_script_reproduces_a_csv_run(tmp_path: Path) -> None:
    t = np.arange(320)
    values = 50 + 0.1 * t + 10 * np.sin(2 * np.pi * t / 30) + np.random.RandomState(3).randn(320)
    lines = ["date,value"] + [
        f"{np.datetime64('2024-01-01') + int(i)},{v:.3f}" for i, v in enumerate(values)
    ]
    csv = tmp_path / "daily.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = CsvSeries(path=str(csv), column="value", date_column="date", split_time=260)
    exp = dataclasses.replace(
        tiny(
            model=SMALL_RNN,
            normalise="standard",
            holdout=30,
            epochs=4,
            optimizer="adam",
            learning_rate=0.01,
            schedule="cosine",
            patience=2,
        ),
        series=spec,
    )
    seqlab, script = _reproduces(exp, tmp_path)
    print(f"CSV run: seqlab {seqlab:.6g}, script {script:.6g}")
    assert script == pytest.approx(seqlab, rel=0.02)
    assert script == pytest.approx(seqlab, rel=1e-4)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_script_builds_seqlabs_model_with_keras_own_layers() -> None:
    """The script's build_model gives the layers, names and starting weights seqlab's builder
    gives after the same seed (for layers the end-to-end runs do not train)."""
    import keras

    from engine.keras_model import build_model

    exp = VARIANTS["conv bidirectional gru"]
    code = next(s.code for s in export.steps(exp) if s.title == "The model")
    space: dict[str, Any] = {"keras": keras, "WINDOW_SIZE": exp.window.window}
    exec(code.split("keras.backend.clear_session()")[0], space)
    keras.utils.set_random_seed(7)
    mine = space["build_model"]()
    keras.utils.set_random_seed(7)
    theirs = build_model(exp.model, exp.window.window, unroll=True)
    built = [layer for layer in theirs.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert [layer.name for layer in mine.layers] == [layer.name for layer in built]
    assert all(type(layer).__module__.startswith("keras.") for layer in mine.layers)
    for a, b in zip(mine.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.RandomState(0).randn(5, exp.window.window).astype("float32")
    np.testing.assert_allclose(mine(x), theirs(x), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_an_exported_notebook_runs_headless_and_reproduces_the_run(
    tmp_path: Path, monkeypatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    exp = dataclasses.replace(
        tiny(
            model=SEQ2SEQ,
            normalise="standard",
            holdout=0.2,
            epochs=3,
            optimizer="adam",
            learning_rate=0.01,
        ),
        sweep=SweepSpec(epochs=4, epochs_per_decade=2.0),
    )
    store = RunStore(tmp_path / "runs")
    run_id, seqlab = _train(exp, store)
    path = export.export_run(store, run_id, "notebook", tmp_path / "run.ipynb")
    book = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    printed = "".join(
        out.get("text", "")
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )
    notebook = _printed_mae(printed)
    images = sum(
        "image/png" in out.get("data", {})
        for cell in book.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    print(f"notebook run: seqlab {seqlab:.6g}, notebook {notebook:.6g}, {images} images")
    assert notebook == pytest.approx(seqlab, rel=0.02)
    assert notebook == pytest.approx(seqlab, rel=1e-4)
