"""Searches end to end on Ray Tune: an embedded local Ray, Ctrl+C and resume, and a Ray cluster
started on localhost. Each runs ``seqlab search`` in its own process (as a user does), so Ray's
processes never outlive the test; a tiny model trains for a few seconds per trial.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine import config
from engine.runstore import RunStore
from engine.studies import DONE, StudyStore
from tests.conftest import REPO, tiny

CLI = [sys.executable, "-m", "tui.cli"]
pytestmark = pytest.mark.slow

SEARCH = """
[search]
trials = 6
grace_period = 2
reduction_factor = 2
max_concurrent = 2
seed = 7
[search.space]
"train.learning_rate" = { loguniform = [1e-4, 1e-1] }
"model.layers[1].units" = { choice = [4, 8, 16] }
"""


def search_file(tmp_path: Path, search: str = SEARCH) -> Path:
    exp = tiny(optimizer="adam", epochs=10, holdout=0.1, validate=True)
    path = tmp_path / "search.toml"
    path.write_text(config.dumps(exp) + search)
    return path


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "RAY_ADDRESS": ""}


def events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_search(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "search", *args],
        cwd=REPO,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_ended(store: RunStore, ended: dict[str, Any], trials: int) -> None:
    """Every trial is a run of the study with the status the search reports; the best is the
    lowest holdout MAE."""
    runs = [i for i in store.runs() if i.study == ended["study_id"]]
    by_trial = {t["trial"]: t for t in ended["trials"]}
    assert sorted(by_trial) == list(range(1, trials + 1))
    assert {i.trial for i in runs} == set(by_trial)
    for info in runs:
        shown = by_trial[info.trial]
        if shown["run_id"] == info.run_id:
            assert info.status == shown["status"]
    scored = [t for t in ended["trials"] if t["status"] in DONE and t["holdout_mae"] is not None]
    best = min(scored, key=lambda t: t["holdout_mae"])
    assert ended["best_trial"] == best["trial"]
    assert ended["trials"][0]["trial"] == best["trial"]  # best first


def test_a_search_on_an_embedded_local_ray(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_search(str(search_file(tmp_path)), "--runs", str(runs), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""  # nothing of Ray's or TensorFlow's reaches the terminal
    found = events(done.stdout)
    started, ended = found[0], found[-1]
    assert started["event"] == "search_started" and started["where"].startswith("local Ray")
    assert started["trials"] == 6 and started["scheduler"] == "asha"
    assert ended["event"] == "search_ended" and ended["status"] == "finished"
    store = RunStore(runs)
    check_ended(store, ended, 6)
    statuses = [t["status"] for t in ended["trials"]]
    assert set(statuses) <= {"finished", "pruned"}
    assert "pruned" in statuses  # ASHA stopped some trials early
    for t in ended["trials"]:
        assert (t["epoch"] == 10) == (t["status"] == "finished"), t
        assert t["params"]["model.layers[1].units"] in (4, 8, 16)
        info = store.find(t["run_id"])
        exp = store.experiment(info.path)
        assert exp.model.layers[1].units == t["params"]["model.layers[1].units"]
        assert exp.train.learning_rate == pytest.approx(t["params"]["train.learning_rate"])
        if t["status"] == "pruned":
            assert info.reason.startswith("pruned by ASHA after epoch")
            assert (info.path / "model.keras").is_file()  # what it learned is kept
    # the study's record, and the runs table filtered by study
    [study] = StudyStore(store).studies()
    assert study.status == "finished" and study.trials == 6
    table = subprocess.run(
        [*CLI, "runs", "--runs", str(runs), "--study", study.study_id],
        cwd=REPO,
        env=env(),
        capture_output=True,
        text=True,
    )
    assert table.stdout.count(" trial ") == 6, table.stdout
    # Ray's start-up went to the runs folder's search.log, not the terminal
    assert (runs / "search.log").exists()


def test_ctrl_c_stops_every_trial_and_resume_runs_only_the_rest(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    child = subprocess.Popen(
        [*CLI, "search", str(search_file(tmp_path)), "--runs", str(runs), "--json"],
        cwd=REPO,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(300, child.kill)
    watchdog.start()
    lines = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            event = json.loads(line)
            # once a trial has ended and another is a few epochs in
            ended = [json.loads(x).get("status") in ("finished", "pruned") for x in lines]
            running = event.get("status") == "running" and event["epoch"] >= 3
            if running and any(ended):
                child.send_signal(signal.SIGINT)
                break
        out, err = child.communicate(timeout=120)
    finally:
        watchdog.cancel()
        child.kill()
    assert child.returncode == 130, err[-3000:]
    assert "seqlab search: stopping after this batch" in err
    ended = events("".join(lines) + out)[-1]
    assert ended["event"] == "search_ended" and ended["status"] == "stopped"
    store = RunStore(runs)
    mine = [i for i in store.runs() if i.study == ended["study_id"]]
    assert mine and {i.status for i in mine} <= {"finished", "pruned", "stopped"}
    assert "stopped" in {i.status for i in mine}
    for info in mine:
        if info.status == "stopped":
            assert "stopped by Ctrl+C (SIGINT)" in (info.reason or "")
    kept = {i.run_id for i in mine if i.status in DONE}
    [study] = StudyStore(store).studies()
    assert study.status == "stopped"

    again = run_search("--resume", ended["study_id"], "--runs", str(runs), "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    found = events(again.stdout)
    assert found[0]["done"] == len(kept)
    final = found[-1]
    assert final["status"] == "finished"
    check_ended(store, final, 6)
    # trials that had ended are not run again
    new_runs = {
        e["run_id"] for e in found if e["event"] == "trial_update" and e["status"] != "running"
    }
    assert not (new_runs & kept)
    assert len(new_runs) == 6 - len(kept)
    assert {t["status"] for t in final["trials"]} <= set(DONE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_search_on_a_ray_cluster_by_address(tmp_path: Path) -> None:
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        pytest.skip("the ray command is not installed next to this Python")
    port = _free_port()
    temp = Path(f"/tmp/seqlab-ray-{os.getpid()}")  # Ray's socket paths must stay short
    head = subprocess.Popen(
        [
            str(ray),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
        ],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopping it stops only what it started
    )
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        runs = tmp_path / "runs"
        search = SEARCH.replace("trials = 6", "trials = 3")
        done = run_search(
            str(search_file(tmp_path, search)), "--address", address, "--runs", str(runs), "--json"
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found = events(done.stdout)
        assert found[0]["where"].startswith(f"Ray cluster at {address}")
        ended = found[-1]
        assert ended["status"] == "finished"
        store = RunStore(runs)
        check_ended(store, ended, 3)
        # the trials ran in the cluster's worker processes: their pids are in its session logs
        logs = " ".join(p.name for p in temp.glob("session_*/logs/worker-*"))
        for info in store.runs():
            pid = json.loads((info.path / "status.json").read_text())["pid"]
            assert re.search(rf"-{pid}\.(out|err)\b", logs), (pid, logs[:500])
        # the cluster is still up after the search: seqlab only disconnected from it
        assert head.poll() is None
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_tpe_search_numbers_its_trials_and_prints_nothing_of_optuna(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    search = SEARCH.replace("trials = 6", 'trials = 3\nsearcher = "tpe"\nscheduler = "none"')
    done = run_search(str(search_file(tmp_path, search)), "--runs", str(runs))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""  # Optuna's log lines go to search.log too
    assert "3 trials of tiny (tpe searcher, no early stopping)" in done.stdout
    for n in (1, 2, 3):
        assert f"trial {n}/3  finished  epochs 10/10" in done.stdout
    infos = RunStore(runs).runs()
    assert sorted(i.trial for i in infos) == [1, 2, 3]
    assert {i.status for i in infos} == {"finished"}
