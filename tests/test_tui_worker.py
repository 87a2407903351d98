"""The engine process (engine/worker.py) and the app's side of it (ProcessBackend), over the
protocol of engine/protocol.py.

The worker runs as a real subprocess, but with a fake training module: no TensorFlow, so these
tests take a fraction of a second each. The real engine is driven end to end in test_e2e_tmux.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from processes import alive
from textual.app import App

from engine import config
from engine.events import (
    EpochEnded,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    event_from_dict,
)
from engine.presets import get_preset
from engine.runstore import RunStore
from engine.specs import SyntheticSeries
from tui.app import SeqlabApp
from tui.backend import EngineState, ProcessBackend, RunEvent

REPO = Path(__file__).resolve().parents[1]

# A training module with the contract's signatures; argv: load seconds, seconds per epoch, mode.
FAKE_WORKER = r"""
import sys, time
from engine import worker
from engine.events import EpochEnded, RunFinished, RunStarted, RunStopped

LOAD, STEP, MODE = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
worker.QUIT_DEADLINE = float(sys.argv[4])  # a deaf run ends this long after quit (30 s in the app)


class FakeTraining:
    def load_tensorflow(self):
        time.sleep(LOAD)
        if MODE == "noload":
            raise ImportError("No module named 'tensorflow'")
        return 0.25

    def _run(self, kind, exp, on_event, stop, store):
        n = exp.train.epochs
        root = str(store.root) if store else None
        on_event(RunStarted("run-1", kind, exp.name, n, 3, 10, root))
        for e in range(1, n + 1):
            time.sleep(STEP)
            if MODE == "die" and e == 2:
                sys.exit(3)
            if stop.is_set() and MODE != "deaf":
                event = RunStopped("run-1", kind, e - 1, "stopped by request", root)
                on_event(event)
                return event
            on_event(EpochEnded("run-1", e, n, 1.0 / e, 2.0 / e, 1e-3, STEP))
        event = RunFinished("run-1", kind, n, n * STEP, {"val_mae": 1.5}, {}, (), root)
        on_event(event)
        return event

    def train(self, exp, on_event, stop=None, *, store=None, save=True):
        return self._run("train", exp, on_event, stop, store)

    def sweep(self, exp, on_event, stop=None, *, store=None, save=True):
        return self._run("sweep", exp, on_event, stop, store)


sys.exit(worker.serve(sys.stdin, sys.stdout, FakeTraining()))
"""


def fake_command(
    load: float = 0.0, step: float = 0.01, mode: str = "normal", quit_deadline: float = 1.0
) -> list[str]:
    return [sys.executable, "-c", FAKE_WORKER, str(load), str(step), mode, str(quit_deadline)]


def experiment(epochs: int) -> str:
    exp = get_preset("course-rnn")
    exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, epochs=epochs))
    return config.dumps(exp)


class Worker:
    """The fake worker as a subprocess, with a reader thread so no read can hang a test."""

    def __init__(self, **kwargs) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            fake_command(**kwargs),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, **cmd) -> None:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def next(self) -> dict:
        item = self.lines.get(timeout=20)
        assert item is not None, "the worker ended its output"
        return item

    def until(self, event: str) -> list[dict]:
        seen = []
        while True:
            item = self.next()
            seen.append(item)
            if item["event"] == event:
                return seen

    def close(self) -> int:
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout=20)


def test_worker_reports_ready_then_every_event_in_order(tmp_path):
    worker = Worker()
    assert worker.next() == {"event": "ready", "seconds": 0.25}
    worker.send(cmd="train", experiment=experiment(3), runs=str(tmp_path))
    events = [event_from_dict(d) for d in worker.until("run_finished")]
    assert [type(e) for e in events] == [
        RunStarted,
        EpochEnded,
        EpochEnded,
        EpochEnded,
        RunFinished,
    ]
    assert events[0].run_dir == str(tmp_path) and events[-1].metrics == {"val_mae": 1.5}
    worker.send(cmd="sweep", experiment=experiment(2), runs=None)
    assert worker.until("run_finished")[0]["kind"] == "sweep"
    assert worker.close() == 0


def test_stop_ends_the_run_and_the_worker_takes_the_next_one():
    worker = Worker(step=0.02)
    worker.next()
    worker.send(cmd="train", experiment=experiment(1000), runs=None)
    worker.until("epoch_ended")
    worker.send(cmd="stop")
    stopped = worker.until("run_stopped")[-1]
    assert stopped["reason"] == "stopped by request" and stopped["epochs"] < 1000
    worker.send(cmd="train", experiment=experiment(2), runs=None)
    assert worker.until("run_finished")[-1]["epochs"] == 2
    assert worker.close() == 0


def test_a_forecast_command_is_answered_in_turn_and_a_bad_run_is_told(tmp_path):
    worker = Worker(step=0.02)
    worker.next()
    worker.send(cmd="train", experiment=experiment(3), runs=None)
    missing = str(tmp_path / "no-such-run")
    worker.send(cmd="forecast", run=missing, steps=5)
    seen = worker.until("forecast_failed")
    assert [d["event"] for d in seen].count("run_finished") == 1  # after the run queued first
    answer = seen[-1]
    assert (answer["run"], answer["steps"]) == (missing, 5)
    assert "no such run" in answer["message"]
    assert worker.close() == 0


def test_stop_while_tensorflow_loads_cancels_the_queued_run():
    worker = Worker(load=0.5)
    worker.send(cmd="train", experiment=experiment(5), runs=None)
    worker.send(cmd="stop")
    assert worker.next()["event"] == "ready"
    stopped = worker.next()
    assert stopped == {
        "event": "run_stopped",
        "run_id": "",
        "kind": "train",
        "epochs": 0,
        "reason": "stopped before it started",
        "run_dir": None,
    }
    assert worker.close() == 0


def test_bad_lines_and_bad_experiments_are_reported_not_fatal():
    worker = Worker()
    worker.next()
    worker.proc.stdin.write("this is not json\n")
    worker.proc.stdin.flush()
    assert worker.next()["event"] == "worker_error"
    worker.send(cmd="dance")
    assert "unknown command 'dance'" in worker.next()["message"]
    worker.send(cmd="train", experiment="[train]\nepochs = -3\n", runs=None)
    failed = event_from_dict(worker.next())
    assert isinstance(failed, RunFailed) and "train.epochs = -3" in failed.message
    assert worker.close() == 0


def test_end_of_input_stops_the_run_and_exits():
    worker = Worker(step=0.02)
    worker.next()
    worker.send(cmd="train", experiment=experiment(1000), runs=None)
    worker.until("epoch_ended")
    worker.proc.stdin.close()  # the app went away
    assert worker.until("run_stopped")[-1]["epochs"] < 1000
    assert worker.close() == 0


def test_tensorflow_that_cannot_load_is_reported():
    worker = Worker(mode="noload")
    message = worker.next()
    assert (
        message["event"] == "load_failed" and "No module named 'tensorflow'" in message["message"]
    )
    assert worker.close() == 1


# The worker's own entry point, with ``serve`` replaced: it leaves output in buffers and an
# atexit hook standing in for TensorFlow's slow teardown. argv: the hook's marker file.
ENDING_WORKER = r"""
import atexit, sys
from engine import worker

def serve(commands, protocol):
    protocol.write('{"event": "ready", "seconds": 0}')  # no newline: still in the buffer
    print("a library's last words", end="")  # fd 1 is the log now; block-buffered
    return 4

atexit.register(lambda: open(sys.argv[1], "w").write("the teardown ran"))
worker.serve = serve
worker.main()
"""


def test_the_worker_ends_without_the_interpreters_teardown_and_loses_no_output(
    tmp_path, python_subprocess
):
    """Once its runs are saved the worker ends at once: the teardown (TensorFlow's is slow and
    kept a quitting app waiting) is skipped, yet every buffered line reaches its reader."""
    marker = tmp_path / "teardown"
    done = python_subprocess(ENDING_WORKER, str(marker), timeout=30)
    assert done.returncode == 4
    assert done.stdout == '{"event": "ready", "seconds": 0}'
    assert done.stderr == "a library's last words"  # the log: fd 1 joined fd 2
    assert not marker.exists()


# --- the app's side: ProcessBackend ---------------------------------------------------------------


def pilot_test(fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))

    return run


class Recorder(App):
    """An app that only records what a backend posts to it."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[EngineState] = []
        self.events: list[RunEvent] = []

    def on_engine_state(self, message: EngineState) -> None:
        self.states.append(message)

    def on_run_event(self, message: RunEvent) -> None:
        self.events.append(message)


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pilot_test
async def test_backend_relays_events_tagged_with_the_token(tmp_path):
    app = Recorder()
    backend = ProcessBackend(tmp_path / "logs" / "seqlab.log", fake_command())
    async with app.run_test() as pilot:
        backend.start(app)
        await wait_for(
            pilot, lambda: [s.state for s in app.states] == ["loading", "ready"], "ready"
        )
        exp = get_preset("course-rnn")
        exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, epochs=2))
        backend.run("train", exp, str(tmp_path / "runs"), token=7)
        await wait_for(
            pilot, lambda: app.events and isinstance(app.events[-1].event, RunFinished), "end"
        )
        assert {m.token for m in app.events} == {7}
        assert [type(m.event) for m in app.events] == [
            RunStarted,
            EpochEnded,
            EpochEnded,
            RunFinished,
        ]
        await asyncio.to_thread(backend.close)
    assert backend._proc.poll() == 0  # it quit when asked
    assert (tmp_path / "logs" / "seqlab.log").exists()


@pytest.mark.parametrize("mode", ["normal", "deaf"])
@pilot_test
async def test_close_during_a_run_stops_it_and_a_deaf_worker_ends_itself(tmp_path, mode):
    """Closing during a run: the worker saves the stopped run and quits. The app does not wait
    longer than its grace for a worker that ignores stop, nor kill it mid-save; such a worker ends
    itself once its quit deadline passes."""
    app = Recorder()
    backend = ProcessBackend(tmp_path / "seqlab.log", fake_command(step=0.05, mode=mode))
    async with app.run_test() as pilot:
        backend.start(app)
        backend.run("train", get_preset("course-rnn"), None, token=1)
        await wait_for(pilot, lambda: any(isinstance(m.event, EpochEnded) for m in app.events), "1")
        started = time.monotonic()
        await asyncio.to_thread(backend.close, 0.5)
        assert time.monotonic() - started < 1.5
        if mode == "normal":
            assert backend._proc.returncode == 0
        else:
            assert backend._proc.poll() is None  # left to finish on its own
            assert await asyncio.to_thread(backend._proc.wait, 10) == 3  # its watchdog ended it
        await pilot.pause(0.1)
    if mode == "normal":
        assert isinstance(app.events[-1].event, RunStopped)


@pilot_test
async def test_a_worker_that_dies_fails_the_run_and_says_so(tmp_path):
    app = Recorder()
    backend = ProcessBackend(tmp_path / "seqlab.log", fake_command(mode="die"))
    async with app.run_test() as pilot:
        backend.start(app)
        backend.run("train", get_preset("course-rnn"), None, token=3)
        await wait_for(pilot, lambda: app.states and app.states[-1].state == "exited", "exit")
        failed = app.events[-1]
        assert failed.token == 3 and isinstance(failed.event, RunFailed)
        assert "ended unexpectedly (exit code 3)" in failed.event.message
        await asyncio.to_thread(backend.close)


@pilot_test
async def test_quitting_the_app_during_a_run_saves_it_as_stopped(tmp_path):
    """The whole app over a real (fake-training) worker process: ctrl+q stops, then exits."""
    exp = dataclasses.replace(
        get_preset("course-rnn"), series=SyntheticSeries(length=300, split_time=250)
    )
    backend = ProcessBackend(tmp_path / "seqlab.log", fake_command(step=0.05))
    app = SeqlabApp(exp, backend, RunStore(tmp_path / "runs"), blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.engine_state == "ready", "ready")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.live is not None and app.live.epoch >= 2, "two epochs")
        training = app.training
        await pilot.press("ctrl+q")
        for _ in range(200):  # the app is exiting: no more pilot pauses
            if not app.is_running:
                break
            await asyncio.sleep(0.02)
    assert backend._proc.returncode == 0  # the worker saved the run and quit by itself
    assert app.return_code == 0
    log = "\n".join(training.log_lines)
    assert "Quitting: stopping the run so it is saved" in log
    assert "■ stopped after" in log


# The app in its own process over a worker that ignores stop; prints the worker's pid, then quits.
# argv: the worker command (JSON), the runs folder, the log file.
QUITTING_APP = r"""
import asyncio, json, sys
from engine.presets import get_preset
from engine.runstore import RunStore
from tui.app import SeqlabApp
from tui.backend import ProcessBackend

async def main():
    backend = ProcessBackend(sys.argv[3], json.loads(sys.argv[1]))
    app = SeqlabApp(get_preset("course-rnn"), backend, RunStore(sys.argv[2]), blink=False)
    async with app.run_test() as pilot:
        while app.engine_state != "ready":
            await pilot.pause(0.02)
        await pilot.press("ctrl+t")
        while app.live is None or app.live.epoch < 1:
            await pilot.pause(0.02)
        print(backend._proc.pid, flush=True)
        await pilot.press("ctrl+q")
        while app.is_running:
            await asyncio.sleep(0.02)

asyncio.run(main())
"""


def test_the_app_process_ends_without_waiting_for_a_slow_engine(tmp_path, python_subprocess):
    """Quitting leaves a run that will not stop to the engine process, which ends it on its own;
    the app's process must not wait for that (here the worker would take a minute)."""
    worker = fake_command(step=0.05, mode="deaf", quit_deadline=60)
    runs, log = str(tmp_path / "runs"), str(tmp_path / "seqlab.log")
    app = python_subprocess(QUITTING_APP, json.dumps(worker), runs, log, timeout=40)
    assert app.returncode == 0, app.stderr
    worker_pid = int(app.stdout.split()[-1])
    try:
        assert alive(worker_pid)  # still running its deaf run: the app did not wait
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker_pid, signal.SIGKILL)


@pytest.mark.parametrize("argument", ["no-such-preset", "missing.toml"])
def test_launch_rejects_a_bad_experiment_in_one_line(argument, capsys):
    from tui.launch import launch

    assert launch(argument) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_stuck_terminal_input_thread_does_not_keep_the_process_alive(monkeypatch):
    """Textual's input thread left spinning after the app ended (the terminal went away while
    quitting) would keep the process alive forever; launch then ends the process itself."""
    from tui import launch

    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name="textual-input")
    stuck.start()
    exits: list[int] = []
    monkeypatch.setattr(launch, "end_process", exits.append)  # flushes, then os._exit
    try:
        launch.exit_if_input_thread_stuck(0, wait=0.05)
        assert exits == [0]
        release.set()
        stuck.join()
        launch.exit_if_input_thread_stuck(0, wait=0.05)  # no such thread: nothing happens
        assert exits == [0]
    finally:
        release.set()


def test_the_engine_runs_nicer_than_the_app_also_in_a_session_of_its_own():
    """lower_priority: the process's niceness, and on Linux with autogroups its session's group's
    (each session is ranked apart there, whatever its processes' niceness)."""
    from tui.backend import WORKER_NICENESS, lower_priority

    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True
    )
    try:
        lower_priority(proc.pid)
        expected = os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == min(expected, 19)
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled")
        if enabled.exists() and enabled.read_text().strip() == "1":
            group = Path(f"/proc/{proc.pid}/autogroup").read_text()
            assert group.split()[-1] == str(WORKER_NICENESS), group
    finally:
        proc.kill()
        proc.wait()
