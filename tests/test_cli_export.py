"""``seqlab export`` (script, notebook, experiment file), ``--tensorboard``, ``show``'s model.

The fast tests export runs written through the real run store; one slow test trains a tiny run
with the real command line and exports it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from engine import config
from engine.presets import PRESETS, get_preset
from engine.runstore import RunStore
from engine.specs import SweepSpec
from tui.cli import RUN_FLAGS, SWEEP_FLAGS, _with_flags, build_parser

REPO = Path(__file__).resolve().parents[1]


def saved_runs(root: Path) -> tuple[str, str]:
    """A finished training run (with a model file) and a finished sweep; their ids."""
    store = RunStore(root)
    exp = dataclasses.replace(get_preset("course-rnn"), name="course-rnn (edited)")
    train = store.create(exp, "train", 2)
    for e in (1, 2):
        train.append(
            {"epoch": e, "loss": 9 / e, "mae": 10 / e, "learning_rate": 1e-5, "seconds": 1}
        )
    train.write_metrics({"val_mae": 5.4, "val_mse": 31.0, "naive_mae": 5.9, "naive_mse": 61.8})
    train.model_path.write_bytes(b"PK\x03\x04 a stand-in for Keras's zip file")
    train.finish("finished")
    sweep = store.create(PRESETS["course-rnn"], "sweep", 3)
    for e in (1, 2, 3):
        sweep.append({"epoch": e, "learning_rate": 1e-8 * 10**e, "loss": 30 - e, "seconds": 1})
    sweep.finish("finished")
    return train.run_id, sweep.run_id


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path / "runs"
    train, sweep = saved_runs(root)
    return root, train, sweep


def one_error_line(err: str, *fragments: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("seqlab export: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)
    assert "Traceback" not in err
    return lines[0]


def test_export_writes_each_file_and_says_where_and_how_to_use_it(run_cli, runs, tmp_path):
    root, train, _ = runs
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script, notebook, toml = out_dir / "a.py", out_dir / "a.ipynb", out_dir / "a.toml"
    code, out, err = run_cli(
        "export",
        "edited-train",  # a unique part of the id is enough, as for show
        "--script",
        str(script),
        "--notebook",
        str(notebook),
        "--experiment",
        str(toml),
        "--runs",
        str(root),
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0::2] == [
        f"wrote script to {script}",
        f"wrote notebook to {notebook}",
        f"wrote experiment to {toml}",
    ]
    assert (
        lines[1] == f"  run it: python {script}  (needs numpy and Keras; prints the validation MAE)"
    )
    assert lines[3].startswith(f"  open it: jupyter notebook {notebook}")
    assert lines[5] == f"  train it again: seqlab run {toml}"
    # the experiment file is the run's, its edited name kept; it loads back to the same experiment
    saved = RunStore(root).experiment(root / train)
    assert config.load(toml) == saved and saved.name == "course-rnn (edited)"
    compile(script.read_text(), str(script), "exec")  # Python that parses
    assert json.loads(notebook.read_text())["nbformat"] == 4


def test_a_relative_name_is_written_in_the_current_folder_and_printed_absolute(
    run_cli, runs, tmp_path, monkeypatch
):
    root, train, _ = runs
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("export", train, "--experiment", "mine.cfg", "--runs", str(root))
    assert code == 0
    assert out.splitlines()[0] == f"wrote experiment to {tmp_path / 'mine.cfg'}"  # any suffix
    assert config.load(tmp_path / "mine.cfg") == RunStore(root).experiment(root / train)


def test_a_path_with_spaces_is_quoted_in_the_hint(run_cli, runs, tmp_path):
    root, train, _ = runs
    target = tmp_path / "my runs" / "x.toml"
    target.parent.mkdir()
    code, out, _ = run_cli("export", train, "--experiment", str(target), "--runs", str(root))
    assert code == 0
    assert out.splitlines()[1] == f"  train it again: seqlab run {shlex.quote(str(target))}"


def test_an_existing_file_is_kept_without_force(run_cli, runs, tmp_path):
    root, train, _ = runs
    target = tmp_path / "x.toml"
    target.write_text("mine\n")
    code, out, err = run_cli("export", train, "--experiment", str(target), "--runs", str(root))
    assert code == 2 and out == ""
    one_error_line(err, str(target), "exists", "--force")
    assert target.read_text() == "mine\n"
    code, out, err = run_cli(
        "export", train, "--experiment", str(target), "--force", "--runs", str(root)
    )
    assert code == 0, err
    assert config.load(target).name == "course-rnn (edited)"


def test_nothing_is_written_when_one_target_is_refused(run_cli, runs, tmp_path):
    """Every target is checked first: a refused notebook leaves no script behind."""
    root, train, _ = runs
    (tmp_path / "x.ipynb").write_text("{}")
    code, _, err = run_cli(
        "export",
        train,
        "--script",
        str(tmp_path / "x.py"),
        "--notebook",
        str(tmp_path / "x.ipynb"),
        "--runs",
        str(root),
    )
    assert code == 2
    one_error_line(err, "--notebook", "exists")
    assert not (tmp_path / "x.py").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ([], ["nothing to export", "--script FILE.py", "--notebook FILE.ipynb", "--experiment"]),
        (["--script", "{tmp}"], ["--script", "is a folder; give a file name"]),
        (["--script", "{tmp}/no/such/x.py"], ["--script", "the folder", "does not exist"]),
        (["--notebook", ""], ["--notebook = ''", "give a file name"]),
        (
            ["--script", "{tmp}/same", "--notebook", "{tmp}/same"],
            ["--script and --notebook name the same file"],
        ),
    ],
)
def test_bad_targets_are_one_line_exit_2(run_cli, runs, tmp_path, args, fragments):
    root, train, _ = runs
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run_cli("export", train, *args, "--runs", str(root))
    assert code == 2 and out == ""
    one_error_line(err, *fragments)


def test_a_bad_run_is_one_line_exit_2(run_cli, runs, tmp_path):
    root, _, _ = runs
    target = tmp_path / "x.py"
    code, _, err = run_cli("export", "nope", "--script", str(target), "--runs", str(root))
    assert code == 2
    one_error_line(err, "run 'nope': no such run")
    assert not target.exists()
    code, _, err = run_cli("export", "course", "--script", str(target), "--runs", str(root))
    assert code == 2
    one_error_line(err, "ambiguous")


def test_a_run_without_a_readable_experiment_is_told(run_cli, runs, tmp_path):
    root, train, _ = runs
    (root / train / "experiment.toml").write_text("not = [toml\n")
    code, _, err = run_cli(
        "export", train, "--experiment", str(tmp_path / "x.toml"), "--runs", str(root)
    )
    assert code == 2
    one_error_line(err, "experiment.toml")
    assert not (tmp_path / "x.toml").exists()


def test_export_help_names_every_target(run_cli):
    code, out, _ = run_cli("export", "--help")
    assert code == 0
    for flag in ("--script FILE.py", "--notebook FILE.ipynb", "--experiment FILE.toml", "--force"):
        assert flag in out


def test_show_prints_the_model_path_and_how_to_load_it(run_cli, runs):
    root, train, sweep = runs
    code, out, _ = run_cli("show", train, "--runs", str(root))
    assert code == 0
    model = (root / train / "model.keras").absolute()
    lines = out.splitlines()
    at = lines.index(f"model    {model}")
    assert lines[at + 1] == f"         load it in Python: keras.saving.load_model({str(model)!r})"
    code, out, _ = run_cli("show", sweep, "--runs", str(root))
    assert code == 0 and "model.keras" not in out and "load_model" not in out


# --- --tensorboard ----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "flags"), [("run", RUN_FLAGS), ("sweep", SWEEP_FLAGS)])
def test_tensorboard_flag_sets_the_field(command, flags, tmp_path):
    parser = build_parser()
    on = _with_flags(parser.parse_args([command, "course-rnn", "--tensorboard"]), flags)
    assert on.train.tensorboard is True
    off = _with_flags(parser.parse_args([command, "course-rnn"]), flags)
    assert off.train.tensorboard is False and off == PRESETS["course-rnn"]
    # an experiment file that asks for TensorBoard keeps it without the flag
    path = tmp_path / "tb.toml"
    exp = PRESETS["course-rnn"]
    path.write_text(
        config.dumps(
            dataclasses.replace(exp, train=dataclasses.replace(exp.train, tensorboard=True))
        )
    )
    kept = _with_flags(parser.parse_args([command, str(path)]), flags)
    assert kept.train.tensorboard is True


def test_tensorboard_flag_is_in_run_and_sweep_help(run_cli):
    for command in ("run", "sweep"):
        code, out, _ = run_cli(command, "--help")
        assert code == 0 and "--tensorboard" in out and "train.tensorboard" in out


# --- the real thing -----------------------------------------------------------------------------


def seqlab(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_trained_run_exports_with_the_real_command_line(tiny_experiment, tmp_path):
    exp = dataclasses.replace(
        tiny_experiment(epochs=2), sweep=SweepSpec(start=1e-6, epochs_per_decade=4, epochs=4)
    )
    file = tmp_path / "tiny.toml"
    file.write_text(config.dumps(exp))
    runs = tmp_path / "runs"
    done = seqlab("run", str(file), "--runs", str(runs), "--tensorboard")
    assert done.returncode == 0, done.stderr
    (info,) = RunStore(runs).runs()
    assert RunStore(runs).experiment(info.path).train.tensorboard is True
    done = seqlab(
        "export",
        info.run_id,
        "--script",
        "tiny.py",
        "--notebook",
        "tiny.ipynb",
        "--experiment",
        "again.toml",
        "--runs",
        str(runs),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    wrote = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
    assert wrote == [
        f"wrote script to {tmp_path / 'tiny.py'}",
        f"wrote notebook to {tmp_path / 'tiny.ipynb'}",
        f"wrote experiment to {tmp_path / 'again.toml'}",
    ]
    assert config.load(tmp_path / "again.toml") == RunStore(runs).experiment(info.path)
    shown = seqlab("show", info.run_id, "--runs", str(runs))
    assert f"model    {info.path / 'model.keras'}" in shown.stdout.splitlines()
