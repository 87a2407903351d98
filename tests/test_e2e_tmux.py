"""End to end in a real terminal: seqlab in tmux trains the course RNN and saves the run.

The real engine runs (TensorFlow in the engine process), so this is slow (marked ``slow``). It is
skipped only when tmux is not installed (.ci/run installs it).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from processes import alive

from engine import config
from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import SyntheticSeries

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

# What TensorFlow and absl write natively; none of it may reach the screen.
TF_NOISE = re.compile(
    r"cuda|tensorflow/|absl|I0000|oneDNN|WARNING: All log|cpu_feature|E0000", re.I
)
BRAILLE = re.compile("[\u2801-\u28ff]")


def seqlab_command() -> list[str]:
    script = Path(sys.executable).with_name("seqlab")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from tui.entry import main; sys.exit(main())"]


class Tmux:
    def __init__(self, command: str) -> None:
        self.name = f"seqlab-e2e-{uuid.uuid4().hex[:8]}"
        new = ["tmux", "new-session", "-d", "-x", "120", "-y", "40", "-s", self.name, command]
        for _ in range(3):  # a tmux server whose last session just ended may be exiting
            if subprocess.run(new, capture_output=True).returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("tmux could not start a session")

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, predicate, what: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{screen}")

    def pids(self) -> list[int]:
        """The pane's process and its children (the app, when a shell started it)."""
        out = subprocess.run(
            ["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
        ).stdout.split()
        pids = [int(p) for p in out]
        for pid in list(pids):
            children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
            pids += [int(c) for c in children.stdout.split()]
        return pids

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_train_two_epochs_in_a_real_terminal(tmp_path):
    home = tmp_path / "home"
    exp = get_preset("course-rnn")
    exp = dataclasses.replace(
        exp,
        name="e2e-rnn",
        series=SyntheticSeries(length=500, split_time=400),
        train=dataclasses.replace(exp.train, epochs=2),
    )
    experiment_file = tmp_path / "short.toml"
    experiment_file.write_text(config.dumps(exp))
    exit_file = tmp_path / "exit-code"
    command = " ".join(shlex.quote(part) for part in [*seqlab_command(), str(experiment_file)])
    shell = (
        f"cd {shlex.quote(str(tmp_path))} && SEQLAB_HOME={shlex.quote(str(home))} {command}; "
        f"echo $? > {shlex.quote(str(exit_file))}; sleep 30"
    )
    tmux = Tmux(shell)
    try:
        tmux.wait_for(lambda s: "TF ready" in s, "TensorFlow to load", timeout=90)
        tmux.keys("C-t")
        screen = tmux.wait_for(
            lambda s: "finished · MAE" in s and "trained all 2 epochs" in s, "the run to finish"
        )
        # The log shows its tail (the run's summary); the epochs are checked in the saved run.
        assert "loss / MAE per epoch" in screen
        assert re.search(r"MAE [\d.]+ · naive [\d.]+", screen)  # the forecast chart's title
        chart_rows = [line for line in screen.splitlines() if BRAILLE.search(line)]
        assert len(chart_rows) > 10  # the loss and forecast curves are drawn
        assert not TF_NOISE.search(screen), screen
        tmux.keys("C-q")
        deadline = time.monotonic() + 10
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux.kill()
    runs = RunStore(home / "runs").runs()
    assert len(runs) == 1
    run = runs[0]
    assert (run.name, run.kind, run.status, run.epochs) == ("e2e-rnn", "train", "finished", 2)
    assert run.val_mae is not None and (Path(run.path) / "model.keras").exists()
    status = json.loads((Path(run.path) / "status.json").read_text())
    assert status["status"] == "finished"
    # TensorFlow did talk; it went to the log file, not the screen.
    log = (home / "logs" / "seqlab.log").read_text(errors="replace")
    assert TF_NOISE.search(log)


def test_terminal_gone_mid_run_saves_the_run_as_stopped(tmp_path):
    """An SSH drop (the terminal closes) mid-run: the app stops the run, saves it, and exits."""
    home = tmp_path / "home"
    command = " ".join(shlex.quote(part) for part in seqlab_command())
    tmux = Tmux(f"SEQLAB_HOME={shlex.quote(str(home))} {command}")  # course-rnn: 500 epochs
    try:
        tmux.wait_for(lambda s: "TF ready" in s, "TensorFlow to load", timeout=90)
        tmux.keys("C-t")
        tmux.wait_for(lambda s: re.search(r"● train [1-9]\d*/500", s), "epochs to run")
        app_pids = tmux.pids()
    finally:
        tmux.kill()  # the terminal goes away: SIGHUP
    store = RunStore(home / "runs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not store.runs() or store.runs()[0].status == "running"):
        time.sleep(0.2)
    (run,) = store.runs()
    assert run.status == "stopped" and 0 < run.epochs < 500
    engine_pid = json.loads((Path(run.path) / "status.json").read_text())["pid"]
    assert app_pids  # the app (and, as its child, the engine process)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(map(alive, [*app_pids, engine_pid])):
        time.sleep(0.1)
    left = [pid for pid in {*app_pids, engine_pid} if alive(pid)]
    assert not left, f"still running: {left} (app {app_pids}, engine {engine_pid})"
