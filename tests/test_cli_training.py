"""``seqlab run / sweep / runs / show``: output, JSON events, Ctrl+C, and every error path."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from engine import config
from engine.runstore import RunStore
from engine.specs import CsvSeries, SweepSpec

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tui.cli"]


def seqlab(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def tiny_file(tiny_experiment, tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    exp = dataclasses.replace(
        tiny_experiment(epochs=3), sweep=SweepSpec(start=1e-6, epochs_per_decade=4, epochs=12)
    )
    path.write_text(config.dumps(exp))
    return path


def one_error_line(err: str, command: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"seqlab {command}: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    assert "Traceback" not in err


# --- errors before TensorFlow loads (in-process) ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "no-such-preset"], ["experiment = 'no-such-preset'", "course-rnn"]),
        (["run", "course-rnn", "--epochs", "0"], ["--epochs = 0", "a whole number from 1"]),
        (["run", "course-rnn", "--epochs", "ten"], ["--epochs = 'ten'", "a whole number"]),
        (["run", "course-rnn", "--lr", "-1"], ["--lr = -1.0", "above 0", "10"]),
        (["run", "course-rnn", "--lr", "20"], ["--lr = 20.0"]),
        (["run", "course-rnn", "--lr", "fast"], ["--lr = 'fast'"]),
        (["run", "course-rnn", "--lr", "nan"], ["--lr = nan"]),
        (["run", "course-rnn", "--optimizer", "adagrad"], ["--optimizer = 'adagrad'", "'adamw'"]),
        (["run", "course-rnn", "--batch", "0"], ["--batch = 0", "a whole number from 1"]),
        (["run", "course-rnn", "--batch", "many"], ["--batch = 'many'", "a whole number"]),
        (["run", "course-rnn", "--window", "0"], ["--window = 0", "from 1 to 10,000"]),
        (["run", "course-rnn", "--split", "2000"], ["--split = 2000", "less than series.length"]),
        (["run", "course-rnn", "--split", "0.5"], ["--split = '0.5'", "a whole number"]),
        (["sweep", "course-rnn", "--start", "2"], ["--start = 2.0", "at most 1"]),
        (["sweep", "course-rnn", "--epochs", "1"], ["--epochs = 1", "from 2"]),
        (["sweep", "course-rnn", "--optimizer", "x"], ["--optimizer = 'x'"]),
        (["sweep", "course-rnn", "--lr", "1e-3"], ["unrecognized arguments: --lr"]),
        (["sweep", "no-such-preset"], ["experiment = 'no-such-preset'"]),
        (["run", "missing.toml"], ["missing.toml"]),
        (["run"], ["FILE_OR_PRESET"]),
        (["sweep"], ["FILE_OR_PRESET"]),
        (["show"], ["RUN"]),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(run_cli, args, fragments) -> None:
    code, out, err = run_cli(*args)
    assert code == 2 and out == ""
    command = "" if "unrecognized" in fragments[0] else args[0]  # argparse's own error
    if command:
        one_error_line(err, command, *fragments)
    else:
        assert err.count("\n") == 1 and fragments[0] in err, err


def test_an_unusable_runs_folder_is_reported_before_training(run_cli, tmp_path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    code, out, err = run_cli("run", "course-rnn", "--runs", str(a_file))
    assert code == 2 and out == ""
    one_error_line(err, "run", "is a file, not a folder")
    code, out, err = run_cli("sweep", "course-rnn", "--runs", str(a_file / "runs"))
    assert code == 2 and out == ""
    one_error_line(err, "sweep", "not writable", "--runs DIR")
    for command in ("runs", "show"):
        code, _, err = run_cli(
            command, *(["x"] if command == "show" else []), "--runs", str(a_file)
        )
        assert code == 2
        one_error_line(err, command, "is a file")


def test_bad_data_fails_the_run_with_one_line(run_cli, tiny_experiment, tmp_path) -> None:
    exp = dataclasses.replace(tiny_experiment(), series=CsvSeries(path=str(tmp_path / "gone.csv")))
    path = tmp_path / "bad.toml"
    path.write_text(config.dumps(exp))
    code, out, err = run_cli("run", str(path), "--runs", str(tmp_path / "runs"), "--json")
    assert code == 2
    one_error_line(err, "run", "gone.csv: no such file")
    [event] = [json.loads(line) for line in out.splitlines()]
    assert event["event"] == "run_failed" and "gone.csv" in event["message"]


def test_a_model_that_cannot_work_fails_with_its_fix(run_cli, tmp_path) -> None:
    code, _, err = run_cli("run", "quiz-q8", "--runs", str(tmp_path))
    assert code == 2
    one_error_line(err, "run", "the model cannot be built", "return_sequences")


def test_runs_and_show_without_runs(run_cli, tmp_path) -> None:
    code, out, _ = run_cli("runs", "--runs", str(tmp_path / "none"))
    assert code == 0 and "no runs in" in out
    code, out, _ = run_cli("runs", "--runs", str(tmp_path / "none"), "--json")
    assert code == 0 and json.loads(out) == []
    code, _, err = run_cli("show", "abc", "--runs", str(tmp_path))
    assert code == 2
    one_error_line(err, "show", "run 'abc': no such run")


def test_these_commands_load_no_tensorflow(python_subprocess, tmp_path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from tui.cli import main
        main(["summary", "course-rnn"])
        main(["runs", "--runs", {str(tmp_path)!r}])
        main(["show", "x", "--runs", {str(tmp_path)!r}])
        main(["run", "course-rnn", "--epochs", "0"])
        main(["run", "quiz-q8", "--runs", {str(tmp_path)!r}])
        print("tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    result = python_subprocess(code)
    assert result.stdout.strip().splitlines()[-1] == "False False", result


SAVED_RUNS = """
import numpy as np
from engine.presets import PRESETS
from engine.runstore import RunStore
from engine.sweep import suggest
store = RunStore(RUNS)
train = store.create(PRESETS["course-rnn"], "train", 3)
for e in (1, 2, 3):
    train.append({"epoch": e, "loss": 9 / e, "mae": 10 / e, "learning_rate": 1e-5, "seconds": 0.1})
train.write_metrics({"val_mae": 5.4, "val_mse": 31.0, "naive_mae": 5.9, "naive_mse": 61.8})
t = np.arange(1000.0, 1100.0)
train.write_forecast(t, 50 + np.sin(t / 9), 50 + np.sin(t / 9) + 0.2)
train.finish("finished")
sweep = store.create(PRESETS["course-rnn"], "sweep", 40)
lrs, losses = 1e-8 * 10 ** (np.arange(40) / 10), 30 - np.arange(40) / 2
for e, (lr, loss) in enumerate(zip(lrs, losses), start=1):
    sweep.append({"epoch": e, "learning_rate": lr, "loss": loss, "seconds": 0.1})
best = int(np.argmin(losses))
sweep.write_metrics({"best_loss": float(losses[best]), "best_learning_rate": float(lrs[best]),
                     "suggestions": suggest(lrs, losses)})
sweep.finish("finished")
"""

HEADLESS = """
import contextlib, io, sys
RUNS = sys.argv[1]
exec(SAVED_RUNS)
from tui.entry import main
commands = [["presets"], ["preset", "course-rnn"], ["summary", "course-rnn"],
            ["baselines", "course-rnn"], ["runs", "--runs", RUNS],
            ["show", train.run_id, "--runs", RUNS], ["show", sweep.run_id, "--runs", RUNS],
            ["export", train.run_id, "--runs", RUNS, "--script", RUNS + "/x.py",
             "--notebook", RUNS + "/x.ipynb", "--experiment", RUNS + "/x.toml"]]
out = io.StringIO()
for args in commands:
    with contextlib.redirect_stdout(out):
        assert main(args) == 0, args
shown = out.getvalue()
assert "loss / MAE per epoch" in shown and "forecast · MAE 5.40 · naive 5.90" in shown, shown
assert "LR sweep: loss vs learning rate" in shown and "apply one" not in shown, shown
print(sorted({m.split(".")[0] for m in sys.modules} & {"textual", "tensorflow", "keras"}))
"""


def test_headless_commands_load_no_textual_and_no_tensorflow(python_subprocess, tmp_path) -> None:
    """The command line is a view in ``tui`` but must start like a script: no Textual, and no
    TensorFlow except to train. ``show`` is run on saved runs, so its charts are drawn too."""
    result = python_subprocess(f"SAVED_RUNS = {SAVED_RUNS!r}\n" + HEADLESS, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result


# --- what run and sweep print, on a stand-in engine (no TensorFlow) ---------------------------

TRAIN_NOTES = (
    "kept epoch 2 of 3: lowest holdout loss; trained all 3 epochs",
    "worse than the naive forecast (MAE 6.1 vs 5.94)",
)
LADDER = {
    "val_mae": 6.1,
    "val_mse": 60.0,
    "val_rmse": 7.75,
    "val_smape": 8.0,
    "val_mase": 1.07,
    "naive_mae": 5.94,
    "naive_mse": 61.8,
    "naive_rmse": 7.86,
    "naive_smape": 7.86,
    "naive_mase": 1.04,
    "linear_mae": 5.12,
    "linear_mase": 0.9,
    "best_epoch": 2,
    "epochs_run": 3,
}
SWEEP_NOTES = ("the loss never diverged up to 1e-2: the suggestions may sit at the edge",)


@pytest.fixture
def stand_in_engine(monkeypatch):
    """``engine.training.train`` and ``sweep`` replaced by stand-ins that save a run through the
    real run store and finish it with fixed results; returns the experiments they were given."""
    import numpy as np

    from engine import training
    from engine.events import EpochEnded, RunFinished, RunStarted, SweepPoint
    from engine.sweep import suggest

    given = []

    def train(exp, on_event, stop=None, *, store, **_):
        given.append(exp)
        handle = store.create(exp, "train", 3)
        on_event(RunStarted(handle.run_id, "train", exp.name, 3, 5, 100, str(handle.path)))
        for e, hold in ((1, 9.0), (2, 7.0), (3, 8.0)):
            loss = 10.0 / e
            handle.append(
                {"epoch": e, "loss": loss, "mae": loss, "learning_rate": 1e-3, "seconds": 0.1}
                | {"holdout_loss": hold, "holdout_mae": hold, "val_loss": 9.0, "val_mae": 9.0}
            )
            on_event(EpochEnded(handle.run_id, e, 3, loss, loss, 1e-3, 0.1, 9.0, 9.0, hold, hold))
        handle.write_metrics({**LADDER, "notes": list(TRAIN_NOTES)})
        handle.finish("finished")
        done = RunFinished(
            handle.run_id, "train", 3, 1.0, LADDER, {}, (), str(handle.path), notes=TRAIN_NOTES
        )
        on_event(done)
        return done

    def sweep(exp, on_event, stop=None, *, store, **_):
        given.append(exp)
        lrs = 1e-6 * 10 ** (np.arange(40) / 10)
        losses = 30 - 20 * np.sin(np.linspace(0, 2.5, 40))
        handle = store.create(exp, "sweep", 40)
        on_event(RunStarted(handle.run_id, "sweep", exp.name, 40, 5, 100, str(handle.path)))
        for e, (lr, loss) in enumerate(zip(lrs, losses, strict=True), start=1):
            handle.append({"epoch": e, "learning_rate": lr, "loss": loss, "seconds": 0.1})
            on_event(SweepPoint(handle.run_id, e, 40, float(lr), float(loss), 0.1))
        suggestions = suggest(lrs, losses)
        scores = {"best_loss": float(losses.min()), "best_learning_rate": float(lrs[0])}
        handle.write_metrics(
            {**scores, "suggestions": suggestions, "recommended": "steep", "notes": SWEEP_NOTES}
        )
        handle.finish("finished")
        done = RunFinished(
            handle.run_id,
            "sweep",
            40,
            1.0,
            scores,
            suggestions,
            (),
            str(handle.path),
            notes=SWEEP_NOTES,
            recommended="steep",
        )
        on_event(done)
        return done

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(training, "sweep", sweep)
    return given


def test_flags_set_the_experiment_and_an_edited_preset_is_renamed(
    run_cli, stand_in_engine, tiny_file, tmp_path
) -> None:
    runs = str(tmp_path / "runs")
    flags = ["--optimizer", "adam", "--batch", "64", "--window", "30", "--split", "900"]
    code, _, err = run_cli(
        "run", "course-rnn", *flags, "--epochs", "7", "--lr", "1e-3", "--runs", runs
    )
    assert code == 0, err
    [exp] = stand_in_engine
    assert (exp.train.optimizer, exp.train.learning_rate, exp.train.epochs) == ("adam", 1e-3, 7)
    assert (exp.window.batch_size, exp.window.window, exp.series.split_time) == (64, 30, 900)
    # no longer the course's model: its own name, and not the preset's quoted figures
    assert exp.name == "course-rnn (edited)" and exp.description == ""
    code, _, _ = run_cli("sweep", "course-rnn", "--start", "1e-5", "--epochs", "30", "--runs", runs)
    assert code == 0
    assert (stand_in_engine[1].sweep.start, stand_in_engine[1].sweep.epochs) == (1e-5, 30)
    code, _, _ = run_cli("run", "course-rnn", "--runs", runs)
    assert code == 0 and stand_in_engine[2].name == "course-rnn"  # no flag: the preset itself
    code, _, _ = run_cli("run", str(tiny_file), "--lr", "1e-3", "--runs", runs)
    assert code == 0 and stand_in_engine[3].name == "tiny"  # a file keeps its own name


def test_run_ends_with_the_ladder_and_its_notes(run_cli, stand_in_engine, tmp_path) -> None:
    code, out, err = run_cli("run", "course-rnn", "--runs", str(tmp_path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    epoch = next(line for line in lines if line.startswith("epoch 2/3"))
    assert "holdout_loss 7.0000  holdout_mae 7.0000  val_loss 9.0000" in epoch
    end = lines[lines.index("finished 3 epochs in 0:01") :]
    assert end[1] == "validation MAE 6.10 · naive 5.94 · linear 5.12 · MASE 1.07"
    assert end[3:5] == [f"note: {note}" for note in TRAIN_NOTES]
    assert end[5].startswith("run saved in ")


def test_sweep_recommends_a_rate_and_the_apply_command_uses_it(
    run_cli, stand_in_engine, tmp_path
) -> None:
    runs = str(tmp_path / "runs")
    code, out, err = run_cli("sweep", "course-rnn", "--optimizer", "adam", "--runs", runs)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    steep = next(line for line in lines if line.split()[:1] == ["steep"])
    assert steep.endswith("(recommended)")
    rate = float(steep.split()[1])
    assert f"note: {SWEEP_NOTES[0]}" in lines
    assert f"recommended: steep {rate:.3g}" in lines
    assert f"apply it: seqlab run course-rnn --optimizer adam --lr {rate:.3g}" in lines
    code, out, _ = run_cli("sweep", "course-rnn", "--runs", runs, "--json")
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "run_finished" and last["notes"] == list(SWEEP_NOTES)
    assert last["recommended"] == {"name": "steep", "rate": last["suggestions"]["steep"]}


def test_runs_and_show_put_each_run_beside_its_baselines(run_cli, stand_in_engine, tmp_path):
    runs = str(tmp_path / "runs")
    run_cli("run", "course-rnn", "--runs", runs)
    run_cli("sweep", "course-rnn", "--runs", runs)
    code, out, _ = run_cli("runs", "--runs", runs)
    lines = out.splitlines()
    headers = lines[0].split()
    assert headers[5:12] == ["val", "MAE", "naive", "linear", "worse", "than", "kept"]
    train = next(line for line in lines if " train " in line)
    assert "6.1000  5.9400  5.1200  naive, linear     2 " in train
    code, out, _ = run_cli("runs", "--runs", runs, "--json")
    listed = {r["kind"]: r for r in json.loads(out)}
    assert (listed["train"]["linear_mae"], listed["train"]["best_epoch"]) == (5.12, 2)

    code, out, _ = run_cli("show", listed["train"]["run_id"], "--runs", runs)
    lines = out.splitlines()
    assert code == 0 and "epochs   3/3, kept epoch 2" in lines
    assert "validation MAE 6.10 · naive 5.94 · linear 5.12 · MASE 1.07" in lines
    assert f"note: {TRAIN_NOTES[1]}" in lines
    table = next(lines[i:] for i, line in enumerate(lines) if line.startswith("metric"))
    assert table[0].split() == ["metric", "model", "naive", "linear"]
    assert table[2].split() == ["MAE", "6.1000", "5.9400", "5.1200"]
    assert table[6].split() == ["MASE", "1.0700", "1.0400", "0.9000"]
    assert "holdout loss" in out and "kept epoch 2" in out  # the loss chart's legend
    code, out, _ = run_cli("show", listed["sweep"]["run_id"], "--runs", runs)
    assert "(recommended)" in out and f"note: {SWEEP_NOTES[0]}" in out


# --- training from the command line ------------------------------------------------------------


@pytest.mark.slow
def test_run_prints_epochs_and_a_summary_and_no_tensorflow_logs(tiny_file, tmp_path) -> None:
    result = seqlab("run", str(tiny_file), "--runs", str(tmp_path / "runs"))
    assert result.returncode == 0, result
    assert result.stderr == ""  # no TensorFlow log line, no warning
    out = result.stdout.splitlines()
    epochs = [line for line in out if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"]
    for line in epochs:
        assert " loss " in line and " mae " in line and " lr 1.00e-05 " in line and " s" in line
    assert all("ETA 0:0" in line for line in epochs[1:])
    ladder = next(line for line in out if line.startswith("validation MAE "))
    assert " · naive 6.74 · linear " in ladder and " · MASE " in ladder
    assert any(line.startswith("MSE ") and "(naive " in line for line in out)
    assert any(line.startswith("note: ") and "trained all 3 epochs" in line for line in out)
    [info] = RunStore(tmp_path / "runs").runs()
    assert out[-1] == f"run saved in {info.path}"
    assert (tmp_path / "runs" / "tensorflow.log").exists()


@pytest.mark.slow
def test_run_json_is_one_object_per_event(tiny_file, tmp_path) -> None:
    result = seqlab(
        "run", str(tiny_file), "--json", "--epochs", "2", "--lr", "2e-5", "--runs", str(tmp_path)
    )
    assert result.returncode == 0 and result.stderr == "", result
    events = [json.loads(line) for line in result.stdout.splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert names.count("epoch_ended") == 2
    assert set(names) <= {"run_started", "batch_progress", "epoch_ended", "run_finished"}
    epoch = next(e for e in events if e["event"] == "epoch_ended")
    assert epoch["learning_rate"] == pytest.approx(2e-5)
    last = events[-1]
    assert {"val_mae", "val_mse", "run_dir"} <= set(last)
    assert last["val_mae"] == last["metrics"]["val_mae"] and len(last["forecast"]) == 50
    assert Path(last["run_dir"]).parent == tmp_path


@pytest.mark.slow
def test_ctrl_c_saves_the_run_as_stopped_and_exits_130(tiny_experiment, tmp_path) -> None:
    path = tmp_path / "long.toml"
    path.write_text(config.dumps(tiny_experiment(epochs=100_000)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [*CLI, "run", str(path), "--runs", str(tmp_path / "runs")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, child.kill)  # never hang the suite
    watchdog.start()
    try:
        for line in child.stdout:
            if line.split()[:2] == ["epoch", "3/100000"]:
                child.send_signal(signal.SIGINT)
                break
        out, err = child.communicate(timeout=60)
    finally:
        watchdog.cancel()
        child.kill()
    assert child.returncode == 130, (out, err)
    assert err.splitlines() == ["seqlab run: stopping after this batch (Ctrl+C again to abort)"], (
        err
    )
    stopped = [line for line in out.splitlines() if line.startswith("stopped: ")]
    assert stopped and "stopped by Ctrl+C (SIGINT) after" in stopped[0]
    [info] = RunStore(tmp_path / "runs").runs()
    assert info.status == "stopped" and info.epochs >= 3
    assert len(RunStore(tmp_path / "runs").history(info.path)) == info.epochs


@pytest.mark.slow
def test_a_diverging_run_exits_1_with_its_reason(run_cli, tiny_experiment, tmp_path) -> None:
    path = tmp_path / "hot.toml"
    path.write_text(config.dumps(tiny_experiment(learning_rate=10.0, loss="mse")))
    code, out, err = run_cli("run", str(path), "--runs", str(tmp_path / "runs"))
    assert code == 1
    assert err.strip().startswith("seqlab run: the loss became") and "epoch 1" in err
    assert "stopped: the loss became" in out


@pytest.mark.slow
def test_sweep_then_runs_then_show(run_cli, tiny_file, tmp_path) -> None:
    runs = str(tmp_path / "runs")
    code, out, err = run_cli("sweep", str(tiny_file), "--runs", runs)
    assert code == 0, err
    lines = out.splitlines()
    assert sum(line.startswith("epoch ") and " lr " in line for line in lines) == 12
    assert "LR sweep: loss vs learning rate" in out and "1e-6" in out  # 10^k tick labels
    assert "\x1b[" not in out  # no colour codes when not on a terminal
    for name in ("valley", "minimum", "steep"):
        assert any(line.split()[:1] == [name] for line in lines), name
    assert f"apply it: seqlab run {tiny_file} --lr " in out
    assert any(line.startswith("recommended: ") for line in lines)

    code, out, _ = run_cli("sweep", str(tiny_file), "--runs", runs, "--json")
    last = json.loads(out.splitlines()[-1])
    assert code == 0 and last["event"] == "run_finished"
    assert set(last["suggestions"]) == {"minimum", "steep", "valley"}
    assert last["recommended"]["rate"] == last["suggestions"][last["recommended"]["name"]]

    code, out, _ = run_cli("run", str(tiny_file), "--runs", runs, "--json")
    train_dir = json.loads(out.splitlines()[-1])["run_dir"]

    code, out, _ = run_cli("runs", "--runs", runs)
    rows = out.splitlines()[2:-1]
    assert code == 0 and len(rows) == 3
    assert rows[0].split()[1:5] == ["finished", "tiny", "train", "3/3"]  # best val MAE first
    assert [r.split()[3] for r in rows[1:]] == ["sweep", "sweep"]
    code, out, _ = run_cli("runs", "--runs", runs, "--json")
    listed = json.loads(out)
    assert [r["kind"] for r in listed] == ["train", "sweep", "sweep"]
    assert listed[0]["path"] == train_dir

    code, out, _ = run_cli("show", Path(train_dir).name[-4:], "--runs", runs)
    assert code == 0
    assert "status   finished" in out and "naive" in out and "MAE" in out
    assert "loss per epoch" in out and "holdout loss" in out and "forecast · MAE " in out
    code, _, err = run_cli("show", "tiny", "--runs", runs)
    assert code == 2
    one_error_line(err, "show", "run 'tiny' is ambiguous")
    sweep_id = listed[1]["run_id"]
    code, out, _ = run_cli("show", sweep_id, "--runs", runs)
    assert code == 0 and "LR sweep: loss vs learning rate" in out and "valley" in out
