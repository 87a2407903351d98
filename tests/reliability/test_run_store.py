"""The run store is defensive: damaged run folders are listed as corrupt (with the file and what is
wrong) and never break ``seqlab runs``, ``runs --json``, ``show`` or the app; a dead run never
stays "running"; run ids never collide; a full disk fails a run as "disk full"; one file mode."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pilot import make_app, make_runs, pilot_test, ready, saved_future
from textual.widgets import DataTable

from engine import runstore
from engine.errors import SeqlabError
from engine.presets import get_preset
from engine.runstore import FILE_MODE, FOLDER_MODE, RunHandle, RunStore, open_log
from tui.launch import log_path_for

FILES = (
    "status.json",
    "metrics.json",
    "history.csv",
    "sweep.csv",
    "forecast.csv",
    "future.csv",
    "scaler.json",
    "experiment.toml",
)
DAMAGE = ("missing", "empty", "truncated", "wrong JSON type", "not UTF-8", "binary", "folder")
OPTIONAL = {"metrics.json", "forecast.csv", "future.csv", "scaler.json"}  # a run may lack these
APPENDED = {"history.csv", "sweep.csv"}  # written every epoch: a torn last line is dropped


def _train_run(store: RunStore, name: str = "good") -> RunHandle:
    """A finished training run with every file a run saves (the model is a stand-in)."""
    exp = dataclasses.replace(get_preset("course-rnn"), name=name)
    handle = store.create(exp, "train", 12)
    for e in range(1, 13):  # enough lines that half the history holds its header
        handle.append({"epoch": e, "loss": 10.0 / e, "mae": 3.0 / e, "seconds": 0.1})
    t = np.arange(1000, 1040, dtype="float64")
    actual = np.sin(t / 5) * 20 + 80
    handle.write_forecast(t, actual, actual + 1, actual - 2, actual + 2)
    handle.write_future(saved_future(steps=5, band=3))
    handle.write_scaler({"kind": "standard", "mean": 80.0, "scale": 20.0})
    handle.write_metrics(
        {"val_mae": 1.5, "val_mse": 2.5, "naive_mae": 2.0, "linear_mae": 1.8, "best_epoch": 12}
    )
    handle.model_path.write_bytes(b"not really a model")
    handle.finish("finished")
    return handle


def _sweep_run(store: RunStore) -> RunHandle:
    handle = store.create(dataclasses.replace(get_preset("course-rnn"), name="sweep"), "sweep", 9)
    for e in range(1, 10):
        handle.append({"epoch": e, "learning_rate": 1e-6 * 10**e, "loss": 20.0 - e})
    handle.write_metrics({"suggestions": {"steepest": 1e-4}})
    handle.finish("finished")
    return handle


def _damage(path: Path, damage: str) -> None:
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        cut = data[: len(data) // 2]
        path.write_bytes(cut[:-1] if cut.endswith(b"\n") else cut)
    elif damage == "wrong JSON type":
        path.write_bytes(b"[1, 2, 3]\n")
    elif damage == "not UTF-8":
        path.write_bytes(b"\xff\xfe" + data)
    elif damage == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif damage == "folder":
        path.unlink()
        path.mkdir()
    else:
        raise AssertionError(damage)


def _expect_corrupt(file: str, damage: str) -> bool:
    if damage == "missing" and file in OPTIONAL:
        return False
    return not (damage == "truncated" and file in APPENDED)


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("file", FILES)
def test_a_damaged_file_lists_its_run_as_corrupt_and_the_others_as_usual(
    tmp_path, run_cli, file, damage
) -> None:
    store = RunStore(tmp_path / "runs")
    good = _train_run(store, "good")
    bad = _sweep_run(store) if file == "sweep.csv" else _train_run(store, "bad")
    other = _sweep_run(store) if file != "sweep.csv" else _train_run(store, "other")
    _damage(bad.path / file, damage)
    corrupt = _expect_corrupt(file, damage)

    code, out, err = run_cli("runs", "--runs", str(store.root), "--json")
    assert code == 0 and "Traceback" not in err
    listed = {r["run_id"]: r for r in json.loads(out)}
    assert set(listed) == {good.run_id, bad.run_id, other.run_id}
    assert listed[good.run_id]["status"] == listed[other.run_id]["status"] == "finished"
    if corrupt:
        assert listed[bad.run_id]["status"] == "corrupt"
        assert file in listed[bad.run_id]["reason"], listed[bad.run_id]["reason"]
    else:
        assert listed[bad.run_id]["status"] == "finished"

    code, out, err = run_cli("runs", "--runs", str(store.root))
    assert code == 0 and "Traceback" not in err
    assert all(run_id in out for run_id in listed)
    assert ("is corrupt: " in out and file in out) if corrupt else "corrupt" not in out

    code, out, err = run_cli("show", bad.run_id, "--runs", str(store.root))
    assert code == 0 and "Traceback" not in err, err
    assert f"run      {bad.run_id}" in out
    if corrupt:
        lines = [line for line in out.splitlines() if line.startswith(("missing", "unreadable"))]
        assert any(file in line for line in lines), out


@pytest.mark.parametrize(
    ("file", "content", "words"),
    [
        ("status.json", {"status": "done", "kind": "train"}, "status is 'done'"),
        ("status.json", {"status": "finished", "kind": "train", "epochs": "x"}, "epochs is 'x'"),
        ("metrics.json", {"val_mae": "low"}, "val_mae is 'low', not a number"),
        ("metrics.json", {"val_mae": 1.0, "best_epoch": 1.5}, "best_epoch is 1.5"),
    ],
)
def test_a_json_file_of_the_wrong_shape_is_named_with_the_field(
    tmp_path, run_cli, file, content, words
) -> None:
    store = RunStore(tmp_path / "runs")
    bad = _train_run(store)
    (bad.path / file).write_text(json.dumps(content))
    [info] = store.runs()
    assert info.status == "corrupt" and file in info.reason and words in info.reason
    code, out, err = run_cli("show", bad.run_id, "--runs", str(store.root))
    assert code == 0 and words in out


def test_odd_values_in_a_readable_metrics_file_do_not_break_show_or_the_app(
    tmp_path, run_cli
) -> None:
    store = RunStore(tmp_path / "runs")
    run = _train_run(store)
    odd = {"val_mae": 1.0, "val_mase": "x", "notes": 5, "interval_level": "z", "coverage": [1]}
    (run.path / "metrics.json").write_text(json.dumps(odd))
    code, out, err = run_cli("show", run.run_id, "--runs", str(store.root))
    assert code == 0 and f"run      {run.run_id}" in out and "Traceback" not in err
    code, out, err = run_cli("show", str(run.path), "--runs", str(store.root))
    assert code == 0 and f"run      {run.run_id}" in out


def test_show_finds_a_run_folder_by_path_without_its_status_file(tmp_path, run_cli) -> None:
    store = RunStore(tmp_path / "runs")
    run = _train_run(store)
    (run.path / "status.json").unlink()
    code, out, _ = run_cli("show", str(run.path), "--runs", str(tmp_path / "elsewhere"))
    assert code == 0 and "missing     status.json is missing" in out


@pytest.mark.parametrize("damage", DAMAGE)
def test_the_readers_never_raise_and_experiment_names_its_file(tmp_path, damage) -> None:
    store = RunStore(tmp_path / "runs")
    run = _train_run(store)
    for file in FILES:
        if (run.path / file).exists():
            _damage(run.path / file, damage)
    assert store.find(run.run_id).status == "corrupt"
    assert store.metrics(run.path) == {}
    assert store.history(run.path) == [] or damage == "truncated"
    assert store.forecast(run.path) is None and store.future(run.path) is None
    assert store.backtest(run.path) is None and store.sweep_points(run.path) == []
    with pytest.raises(SeqlabError, match="experiment.toml"):
        store.experiment(run.path)


def test_a_folder_with_nothing_in_it_is_listed_as_corrupt(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    _train_run(store)
    (store.root / "stray").mkdir()
    (store.root / ".hidden").mkdir()  # hidden folders are not runs
    (store.root / "tensorflow.log").write_text("log\n")  # nor are files
    infos = {i.run_id: i for i in store.runs()}
    assert len(infos) == 2 and infos["stray"].status == "corrupt"
    assert "status.json is missing" in (infos["stray"].reason or "")


# --- liveness -------------------------------------------------------------------------------------


def _running(store: RunStore) -> RunHandle:
    return store.create(get_preset("course-rnn"), "train", 5)


def _edit_status(handle: RunHandle, **changes: object) -> None:
    path = handle.path / "status.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_a_live_run_is_running(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    _running(store)
    [info] = store.runs()
    assert info.status == "running" and info.reason is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_does_not_keep_a_dead_run_running(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    handle = _running(store)
    status = json.loads((handle.path / "status.json").read_text())
    assert status["pid"] == os.getpid() and isinstance(status["pid_start"], int)
    # this process is alive, but it is not the instance that started the run
    _edit_status(handle, pid_start=status["pid_start"] + 1)
    [info] = store.runs()
    assert info.status == "interrupted"
    assert "killed or crashed" in info.reason and f"process {os.getpid()} is now" in info.reason


@pytest.mark.skipif(not Path("/proc/sys/kernel/random/boot_id").exists(), reason="needs /proc")
def test_a_run_from_before_a_restart_is_interrupted(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    _edit_status(_running(store), boot_id="00000000-0000-0000-0000-000000000000")
    [info] = store.runs()
    assert info.status == "interrupted" and "restarted" in info.reason


@pytest.mark.parametrize("pid", [..., None, "1234", 0, -5, True])
def test_a_running_status_without_a_pid_is_interrupted(tmp_path, pid) -> None:
    store = RunStore(tmp_path / "runs")
    _edit_status(_running(store), pid=pid)
    [info] = store.runs()
    assert info.status == "interrupted" and "names no process" in info.reason


def test_an_old_status_file_is_judged_by_its_pid(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    live, dead = _running(store), _running(store)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    _edit_status(live, pid_start=..., boot_id=...)
    _edit_status(dead, pid_start=..., boot_id=..., pid=child.pid)
    by_id = {i.run_id: i for i in store.runs()}
    assert by_id[live.run_id].status == "running"
    assert by_id[dead.run_id].status == "interrupted"


# --- creating runs, a full disk -------------------------------------------------------------------


def test_a_taken_run_id_is_drawn_again(tmp_path, monkeypatch) -> None:
    ids = iter(["same", "same", "same", "other"])
    monkeypatch.setattr(runstore, "new_run_id", lambda name, kind: next(ids))
    store = RunStore(tmp_path / "runs")
    first, second = _running(store), _running(store)
    assert (first.run_id, second.run_id) == ("same", "other")
    monkeypatch.setattr(runstore, "new_run_id", lambda name, kind: "same")
    with pytest.raises(OSError, match="no free run id"):
        _running(store)
    assert sorted(p.name for p in store.root.iterdir()) == ["other", "same"]


@pytest.mark.parametrize("failing", ["experiment", "status", "history"])
def test_a_run_that_cannot_be_created_leaves_no_folder(tmp_path, monkeypatch, failing) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {
        "experiment": (runstore, "atomic_write"),
        "status": (RunHandle, "_write_status"),
        "history": (RunHandle, "_flush"),
    }[failing]
    monkeypatch.setattr(*target, full)
    store = RunStore(tmp_path / "runs")
    with pytest.raises(OSError, match="disk full"):
        _running(store)
    assert list(store.root.iterdir()) == []


def test_a_disk_that_fills_mid_history_fails_the_run_as_disk_full(tmp_path, monkeypatch) -> None:
    store = RunStore(tmp_path / "runs")
    handle = _running(store)
    handle.append({"epoch": 1, "loss": 2.0})

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:  # no byte can be written, no file made
        patch.setattr(handle, "_flush", full)
        patch.setattr(runstore.tempfile, "mkstemp", full)
        with pytest.raises(OSError) as raised:
            handle.append({"epoch": 2, "loss": 1.0})
        assert raised.value.errno == errno.ENOSPC and "disk full" in str(raised.value)
        # what engine.training's ledger does with it: "could not save the history: <strerror>"
        handle.finish("failed", f"could not save the history: {raised.value.strerror}")
    [info] = store.runs()
    assert info.status == "failed" and "disk full" in info.reason
    assert "killed or crashed" not in info.reason


# --- file modes and logs --------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_of_a_finished_run_has_one_mode(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    exp = get_preset("course-rnn")
    handle = store.create(exp, "train", 2)
    handle.append({"epoch": 1, "loss": 2.0})
    assert {_mode(p) for p in handle.path.iterdir()} == {FILE_MODE}
    t = np.arange(3, dtype="float64")
    handle.write_forecast(t, t, t)
    handle.write_future(saved_future(steps=3, band=2))
    handle.write_scaler({"kind": "standard", "mean": 0.0, "scale": 1.0})
    handle.write_metrics({"val_mae": 1.0})
    # written by others with the umask's mode: Keras's model, the ledger's run.log
    handle.model_path.write_bytes(b"model")
    with open(handle.path / "run.log", "a", encoding="utf-8") as log:
        log.write("finished\n")
    handle.finish("finished")
    files = sorted(handle.path.iterdir())
    assert len(files) == 9
    assert {p.name: _mode(p) for p in files} == {p.name: FILE_MODE for p in files}
    assert _mode(handle.path) == FOLDER_MODE


def test_the_app_log_is_in_a_private_folder_and_never_through_a_symlink(tmp_path) -> None:
    store = RunStore(tmp_path / "home" / "runs")
    path = log_path_for(store)
    assert path == tmp_path / "home" / "logs" / "seqlab.log"
    assert _mode(path.parent) == FOLDER_MODE and _mode(path) == FILE_MODE
    path.unlink()
    elsewhere = tmp_path / "elsewhere.txt"
    path.symlink_to(elsewhere)
    with pytest.raises(OSError):
        os.close(open_log(path))
    moved = log_path_for(store)  # a private temp folder of its own instead
    assert moved != path and not elsewhere.exists()
    assert _mode(moved.parent) == FOLDER_MODE and moved.parent.name.startswith("seqlab-logs-")


def test_a_shared_logs_folder_is_made_private(tmp_path) -> None:
    logs = tmp_path / "home" / "logs"
    logs.mkdir(parents=True)
    logs.chmod(0o777)
    path = log_path_for(RunStore(tmp_path / "home" / "runs"))
    assert path.parent == logs and _mode(logs) == FOLDER_MODE


# --- the app --------------------------------------------------------------------------------------


@pilot_test
async def test_the_app_starts_and_lists_runs_with_corrupt_folders(tmp_path):
    store = make_runs(tmp_path / "runs")
    (store.root / "empty-folder").mkdir()
    garbage = store.root / "garbage"
    garbage.mkdir()
    (garbage / "status.json").write_bytes(bytes(range(256)))
    (garbage / "metrics.json").mkdir()
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot, app)
        await pilot.press("4")
        await pilot.pause()
        table = app.query_one("#runs-table", DataTable)
        assert table.row_count == 6
        statuses = [str(table.get_row_at(i)[3]) for i in range(6)]
        assert statuses.count("corrupt") == 2 and statuses.count("finished") == 3
        corrupt = statuses.index("corrupt")
        table.move_cursor(row=corrupt)
        await pilot.press("enter")
        await pilot.pause(0.3)
        detail = str(app.query_one("#run-detail").render())
        assert "corrupt" in detail and ("status.json" in detail)


@pytest.mark.slow
def test_a_run_that_fills_the_disk_ends_failed_with_disk_full(
    tiny_experiment, tmp_path, monkeypatch
) -> None:
    from engine import training
    from engine.events import RunFailed

    flushes, full = [0], [False]
    flush, mkstemp = RunHandle._flush, runstore.tempfile.mkstemp

    def flush_until_full(self: RunHandle) -> None:
        flushes[0] += 1
        if flushes[0] >= 3:  # the header, epoch 1, then the disk is full
            full[0] = True
        if full[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        flush(self)

    def no_new_files(*args: Any, **kwargs: Any) -> Any:
        if full[0]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return mkstemp(*args, **kwargs)

    monkeypatch.setattr(RunHandle, "_flush", flush_until_full)
    monkeypatch.setattr(runstore.tempfile, "mkstemp", no_new_files)
    store = RunStore(tmp_path / "runs")
    outcome = training.train(tiny_experiment(epochs=3), lambda event: None, store=store)
    assert isinstance(outcome, RunFailed) and "disk full" in outcome.message
    [info] = store.runs()
    assert info.status == "failed" and "disk full" in info.reason


# --- deleting a run (the Runs pane's del) ---------------------------------------------------------


def test_delete_removes_a_run_folder_without_following_its_symlinks(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "data.csv").write_text("1\n2\n")
    run = _train_run(store)
    (run.path / "link").symlink_to(keep)  # a link inside the run: unlinked, never followed
    other = _train_run(store, "other")
    store.delete(run.path)
    assert not run.path.exists() and (keep / "data.csv").read_text() == "1\n2\n"
    assert [i.run_id for i in store.runs()] == [other.run_id]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".deleting")]


def test_delete_refuses_what_is_not_a_run_of_the_store(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    run = _train_run(store)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "status.json").write_text("{}")
    plain = store.root / "holiday-photos"
    plain.mkdir()
    (plain / "a.jpg").write_bytes(b"x")
    link = store.root / "link-to-a-run"
    link.symlink_to(run.path)
    cases = {
        outside: "is not a run folder in",
        plain: "holds none of status.json",
        link: "it is a symlink",
        store.root: "is not a run folder in",
        store.root / "missing": "cannot delete it",
    }
    for path, words in cases.items():
        with pytest.raises(SeqlabError, match=words):
            store.delete(path)
    assert outside.is_dir() and (plain / "a.jpg").exists() and run.path.is_dir()
    assert link.is_symlink()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_delete_refuses_a_running_run_but_removes_a_dead_or_corrupt_one(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    live = _running(store)
    with pytest.raises(SeqlabError, match="it is running .* stop it first"):
        store.delete(live.path)
    assert live.path.is_dir()
    _edit_status(live, pid_start=-1)  # its process is gone: interrupted, so it can go
    store.delete(live.path)
    broken = _train_run(store)
    (broken.path / "status.json").write_bytes(b"\x00")
    store.delete(broken.path)
    assert store.runs() == []
