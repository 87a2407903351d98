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
    one_error_line(err, args[0], *fragments)


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
            ["show", train.run_id, "--runs", RUNS], ["show", sweep.run_id, "--runs", RUNS]]
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
    assert any(line.startswith("validation MAE ") and "(naive 6.7389)" in line for line in out)
    assert "MSE" in out[-2]
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
    assert stopped and "stopped by request after" in stopped[0]
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
    assert f"apply one: seqlab run {tiny_file} --lr " in out

    code, out, _ = run_cli("sweep", str(tiny_file), "--runs", runs, "--json")
    last = json.loads(out.splitlines()[-1])
    assert code == 0 and last["event"] == "run_finished"
    assert set(last["suggestions"]) == {"minimum", "steep", "valley"}

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
    assert "loss / MAE per epoch" in out and "forecast · MAE " in out
    code, _, err = run_cli("show", "tiny", "--runs", runs)
    assert code == 2
    one_error_line(err, "show", "run 'tiny' is ambiguous")
    sweep_id = listed[1]["run_id"]
    code, out, _ = run_cli("show", sweep_id, "--runs", runs)
    assert code == 0 and "LR sweep: loss vs learning rate" in out and "valley" in out
