"""Where runs happen, behind one small interface: the real training process, or a scripted fake.

The app calls ``start``, ``run``, ``stop`` and ``close``; a backend answers only by posting Textual
messages to the app: ``EngineState`` (TensorFlow loading / ready / failed / exited) and
``RunEvent`` (an engine event tagged with the token the app gave the run). Nothing here touches a
widget, so the app's handlers are the only code that updates the screen.

``ProcessBackend`` runs ``python -m engine.worker`` (see engine/worker.py for why a process and not
a thread) and relays its messages (engine/protocol.py) from a daemon thread. tests/scripted.py
holds the fake that Pilot and snapshot tests use. This module stays light (no numpy): the app
imports it before its first frame.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from textual.app import App
from textual.message import Message

import engine
from engine.runstore import open_log
from engine.specs import Experiment

# The engine's events and protocol messages (dataclasses, a good part of the start-up's own
# imports) load when the engine starts, after the first frame: ProcessBackend imports them in
# the methods that use them.
if TYPE_CHECKING:
    from engine.events import Event, FutureForecast, RunFailed, RunKind, SearchEnded, SearchEvent
    from engine.protocol import Command

    # what a token stands for: a run of a kind, or a search
    TokenKind = RunKind | Literal["search"]

WORKER_NICENESS = 10  # as nice(1) runs a background job

# loading -> ready, or failed (TensorFlow did not load); exited: the process ended unasked;
# error: it received a line it could not read (it carries on).
EngineStateName = Literal["loading", "ready", "failed", "exited", "error"]


class EngineState(Message):
    """The training engine's state, with the load time once ready and what went wrong if not."""

    def __init__(
        self, state: EngineStateName, seconds: float | None = None, detail: str = ""
    ) -> None:
        super().__init__()
        self.state = state
        self.seconds = seconds
        self.detail = detail


class RunEvent(Message):
    """An engine event of the run (or search) the app started with ``token``."""

    def __init__(self, token: int, event: Event | SearchEvent) -> None:
        super().__init__()
        self.token = token
        self.event = event


class ForecastResult(Message):
    """The answer to ``Backend.forecast``: the forecast past the end of a saved run's series, or
    why there is none (``message``)."""

    def __init__(
        self, run_dir: str, steps: int, future: FutureForecast | None, message: str = ""
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.steps = steps
        self.future = future
        self.message = message


class Backend(ABC):
    """Starts the engine, runs experiments, stops them; reports only through messages."""

    log_path: Path | None = None

    @abstractmethod
    def start(self, app: App) -> None:
        """Begins loading the engine; posts EngineState messages to ``app`` from now on."""

    @abstractmethod
    def run(self, kind: RunKind, experiment: Experiment, runs_dir: str | None, token: int) -> None:
        """Starts a "train" or "sweep" run; its events arrive as RunEvent(token, ...)."""

    @abstractmethod
    def search(
        self, search_toml: str, runs_dir: str, address: str | None, resume: str | None, token: int
    ) -> None:
        """Starts a search (a search file's text) on a local Ray or the cluster at ``address``,
        or resumes the study ``resume``; its events arrive as RunEvent(token, ...) and end with
        one SearchEnded."""

    @abstractmethod
    def forecast(self, run_dir: str, steps: int) -> None:
        """Asks for ``steps`` forecast past the end of the saved run's series; the answer
        arrives as a ForecastResult (after any run queued before it)."""

    @abstractmethod
    def stop(self) -> None:
        """Asks the current run to stop (it ends with RunStopped within one batch)."""

    @abstractmethod
    def close(self, timeout: float = 1.5) -> None:
        """Stops any run, waits up to ``timeout`` seconds for it to be saved, ends the engine."""


def lower_priority(pid: int) -> None:
    """Makes the engine process ``WORKER_NICENESS`` nicer than the app: when both want a core,
    the screen (keys, charts) gets it first and training takes what drawing leaves; on an idle
    machine training loses nothing. Set before the engine starts its threads, which inherit it;
    where there is no niceness (Windows) the engine runs as it is.

    Linux with autogroups (most desktops and servers) shares the CPU between sessions first and
    ranks niceness only within one; the engine has a session of its own (``ProcessBackend``), so
    its session's group gets the niceness too, or the app would still get only half a core
    against it."""
    with contextlib.suppress(AttributeError, OSError):
        niceness = os.getpriority(os.PRIO_PROCESS, pid) + WORKER_NICENESS
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    with contextlib.suppress(OSError):  # no autogroups here (not Linux, or turned off)
        Path(f"/proc/{pid}/autogroup").write_text(str(WORKER_NICENESS))


def post(app: App, message: Message) -> None:
    """Posts ``message`` to ``app`` from any thread, unless the app has already closed."""
    with contextlib.suppress(RuntimeError):  # the app's event loop has closed: nobody to tell
        app.post_message(message)


class ProcessBackend(Backend):
    """Runs experiments in ``python -m engine.worker``; its stderr goes to ``log_path``."""

    log_path: Path

    def __init__(self, log_path: Path, command: Sequence[str] | None = None) -> None:
        self.log_path = Path(log_path)
        # -P: the worker must import the installed engine, not an "engine" folder in the cwd.
        self.command = list(command or (sys.executable, "-P", "-m", "engine.worker"))
        self._app: App | None = None
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        # runs and searches sent and not yet ended, in order
        self._tokens: deque[tuple[int, TokenKind]] = deque()
        self._closing = False
        self._failed = False

    def start(self, app: App) -> None:
        self._app = app
        self._spawn()

    def _spawn(self) -> None:
        assert self._app is not None
        env = dict(os.environ)
        # The worker imports the same engine as this process, wherever that came from.
        root = str(Path(engine.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open_log(self.log_path)  # 0600, never through a symlink
        try:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                text=True,
                encoding="utf-8",
                bufsize=1,
                # Its own session: a terminal hang-up or ^C reaches the app, which then stops the
                # run so it is saved; the worker also stops by itself when its input closes.
                start_new_session=True,
            )
        finally:
            os.close(log)
        self._proc = proc
        lower_priority(proc.pid)
        self._failed = False
        post(self._app, EngineState("loading"))
        # A daemon thread, not a Textual thread worker: those run in asyncio's default executor,
        # whose threads the interpreter joins at exit, so a quitting app would wait for the engine
        # process to end (up to its 30 s quit deadline) instead of leaving it to save on its own.
        relay = threading.Thread(
            target=self._relay, args=(proc,), name="seqlab engine relay", daemon=True
        )
        relay.start()

    def _relay(self, proc: subprocess.Popen) -> None:
        """Relay thread: each line of the worker's output becomes a message to the app."""
        from engine.events import RunFailed, RunFinished, RunStopped, SearchEnded
        from engine.protocol import (
            ForecastFailed,
            ForecastReady,
            LoadFailed,
            Ready,
            WorkerError,
            decode_message,
        )

        terminal = (RunFinished, RunStopped, RunFailed, SearchEnded)
        app = self._app
        assert app is not None and proc.stdout is not None
        for line in proc.stdout:
            message = decode_message(line)
            if message is None:
                continue
            if isinstance(message, Ready):
                post(app, EngineState("ready", seconds=message.seconds))
            elif isinstance(message, LoadFailed):
                self._failed = True
                post(app, EngineState("failed", detail=message.message))
            elif isinstance(message, WorkerError):
                post(app, EngineState("error", detail=message.message))
            elif isinstance(message, ForecastReady):
                post(app, ForecastResult(message.run, message.steps, message.future))
            elif isinstance(message, ForecastFailed):
                post(app, ForecastResult(message.run, message.steps, None, message.message))
            else:  # an event of the oldest run not yet ended
                with self._lock:
                    token = self._tokens[0][0] if self._tokens else None
                    if isinstance(message, terminal) and self._tokens:
                        self._tokens.popleft()
                if token is not None:
                    post(app, RunEvent(token, message))
        code = proc.wait()
        with self._lock:
            orphans = list(self._tokens)
            self._tokens.clear()
        if self._closing or proc is not self._proc or (self._failed and not orphans):
            return  # an exit we asked for, or one already reported as load_failed
        detail = f"the training process ended unexpectedly (exit code {code}); see the log (F2)"
        for token, kind in orphans:
            post(app, RunEvent(token, _failure(kind, detail)))
        post(app, EngineState("exited", detail=detail))

    def _send(self, command: Command) -> bool:
        from engine.protocol import encode_command

        proc = self._proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            return False
        try:
            proc.stdin.write(encode_command(command))
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def run(self, kind: RunKind, experiment: Experiment, runs_dir: str | None, token: int) -> None:
        from engine import config  # TOML writing: not needed for the first frame
        from engine.protocol import RunCommand

        self._command(token, kind, RunCommand(kind, config.dumps(experiment), runs_dir))

    def search(
        self, search_toml: str, runs_dir: str, address: str | None, resume: str | None, token: int
    ) -> None:
        from engine.protocol import SearchCommand

        self._command(token, "search", SearchCommand(search_toml, runs_dir, address, resume))

    def _command(self, token: int, kind: TokenKind, command: Command) -> None:
        """Sends a run or search command; its events will carry ``token``."""
        if self._proc is None or self._proc.poll() is not None:
            self._spawn()
        with self._lock:
            self._tokens.append((token, kind))
        if not self._send(command):
            with self._lock:
                if (token, kind) in self._tokens:
                    self._tokens.remove((token, kind))
            assert self._app is not None
            message = "could not reach the training process; see the log (F2)"
            post(self._app, RunEvent(token, _failure(kind, message)))

    def forecast(self, run_dir: str, steps: int) -> None:
        from engine.protocol import ForecastCommand

        if self._proc is None or self._proc.poll() is not None:
            self._spawn()
        if not self._send(ForecastCommand(run_dir, steps)):
            assert self._app is not None
            message = "could not reach the training process; see the log (F2)"
            post(self._app, ForecastResult(run_dir, steps, None, message))

    def stop(self) -> None:
        from engine.protocol import StopCommand

        self._send(StopCommand())

    def close(self, timeout: float = 1.5) -> None:
        from engine.protocol import QuitCommand, StopCommand

        self._closing = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with self._lock:
            busy = bool(self._tokens)
        self._send(StopCommand())
        self._send(QuitCommand())
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        # With no run, nothing is lost by ending the process now. With a run, it is told to stop
        # and quit (and its input is closed): it saves the run as stopped and exits by itself, in
        # its own session, so the app need not outlive it. Terminating it here could cut the save
        # short on a loaded machine and leave the run "interrupted".
        try:
            proc.wait(timeout if busy else 0.2)
        except subprocess.TimeoutExpired:
            if busy:
                return
            proc.terminate()
            try:
                proc.wait(0.3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _failure(kind: TokenKind, message: str) -> RunFailed | SearchEnded:
    """The last event of a run or search the engine process could not finish."""
    from engine.events import RunFailed, SearchEnded

    if kind == "search":
        return SearchEnded(study_id="", status="failed", seconds=0.0, reason=message)
    return RunFailed(run_id="", kind=kind, message=message)
