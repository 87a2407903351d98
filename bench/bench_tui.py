"""Benchmarks of the terminal app in a real terminal (tmux), not tests: prints medians and ratios.

1. Launch -> first frame: ``seqlab`` until its first screen is on the terminal, next to a bare
   Textual app (one Static) launched the same way, interleaved. The ratio is the median of each
   round's ratio (a launch of each, one after the other): the machine's speed drifts between
   rounds far more than within one.
2. Epoch time in the app vs headless: the course RNN trained with ``seqlab run`` and in the app
   (ctrl+t), interleaved; per-epoch seconds as the trainer recorded them in history.csv.
3. Key press -> screen during training: ``l`` (toggle log y) until the loss chart's title changes,
   while the course RNN trains (from its fifth epoch, with epochs streaming in), and the same
   with the app idle.

Usage: python bench/bench_tui.py [--rounds N] [--epochs N] [--first-frame-only]. Needs tmux and the
installed project.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import dataclasses
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import engine
import tui
from engine import config
from engine.presets import get_preset

# A tmux server of the benchmark's own: tmux 3.3a's server has crashed here (segfault) as the
# benchmark's clients left, which would take a developer's own sessions with it.
TMUX = ("tmux", "-L", f"seqlab-bench-{uuid.uuid4().hex[:8]}")
STREAMING_FROM = 5  # the epoch from which key presses count as "during training"
LOG_TITLE = "loss / MAE per epoch (log y"  # the loss chart's title with log y on
BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare textual app ready")
Bare().run()
"""


def seqlab() -> str:
    script = Path(sys.executable).with_name("seqlab")
    if not script.exists():
        sys.exit("seqlab is not installed next to this Python (pip install -e .)")
    return str(script)


class Control:
    """A tmux control-mode client (``tmux -C``): every screen read and key press goes to the tmux
    server as a command on this one connection.

    A ``tmux capture-pane`` process per look at the screen (a key is timed by looking every few
    milliseconds) cost the machine half a core or more: on two cores, the benchmark took the CPU
    of the app it was timing. A command on this client costs the server a few percent."""

    def __init__(self, session: str) -> None:
        self._proc = subprocess.Popen(
            [*TMUX, "-C", "attach-session", "-t", session],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def command(self, line: str) -> str:
        """The output of one tmux command; tmux's error as RuntimeError."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        lines = iter(self._proc.stdout.readline, "")
        for begin in lines:
            # a reply's block is "%begin TIME NUMBER FLAGS" .. "%end ..." (or "%error ...");
            # FLAGS 1 marks a command of this client's, 0 what tmux sends of its own on attach
            if not (begin.startswith("%begin ") and begin.split()[-1] == "1"):
                continue
            out: list[str] = []
            for reply in lines:
                if reply.startswith(("%end ", "%error ")):
                    if reply.startswith("%error "):
                        raise RuntimeError(f"tmux {line!r}: {''.join(out).strip()}")
                    return "".join(out)
                out.append(reply)
        raise SystemExit("the tmux control client ended")

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()  # the client detaches at the end of its input
        self._proc.wait(timeout=10)


class Term:
    """A detached tmux session at a fixed size running one command, read and typed into through
    the benchmark's ``Control`` client."""

    def __init__(self, command: str, control: Control, size: tuple[int, int] = (120, 40)) -> None:
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        self.control = control
        self.started = time.perf_counter()
        subprocess.run(  # main() keeps one session open, so the tmux server is already up
            [
                *TMUX,
                "new-session",
                "-d",
                "-x",
                str(size[0]),
                "-y",
                str(size[1]),
                "-s",
                self.name,
                f"{command}; sleep 60",
            ],
            check=True,
        )

    def screen(self) -> str:
        return self.control.command(f"capture-pane -p -t {self.name}")

    def wait_for_epoch(self, epoch: int, timeout: float = 120.0) -> None:
        """Until the top bar says the run is at ``epoch`` or later ("● train 12/500")."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            found = re.search(r"● train (\d+)/", self.screen())
            if found and int(found.group(1)) >= epoch:
                return
            time.sleep(0.05)
        raise SystemExit(f"the run did not reach epoch {epoch} in {timeout:.0f} s")

    def wait_for(self, text: str, timeout: float = 120.0, poll: float = 0.005) -> float:
        """Seconds since the session started until ``text`` is on screen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text in self.screen():
                return time.perf_counter() - self.started
            time.sleep(poll)
        raise TimeoutError(f"{text!r} never appeared:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.control.command(" ".join(("send-keys", "-t", self.name, *keys)))

    def close(self) -> None:
        subprocess.run([*TMUX, "kill-session", "-t", self.name], capture_output=True)


def first_frames(rounds: int, home: Path, control: Control) -> tuple[list[float], list[float]]:
    app, bare = [], []
    home.mkdir(parents=True, exist_ok=True)
    bare_file = home / "bare.py"
    bare_file.write_text(BARE_APP)
    for _ in range(rounds):
        term = Term(f"SEQLAB_HOME={home} {seqlab()}", control)
        app.append(term.wait_for("split time"))  # the Series pane's form is drawn
        term.keys("C-q")
        time.sleep(1.0)
        term.close()
        term = Term(f"{sys.executable} {bare_file}", control)
        bare.append(term.wait_for("bare textual app ready"))
        term.close()
    return app, bare


def epoch_seconds(run_dir: Path) -> list[float]:
    with open(run_dir / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [float(r["seconds"]) for r in rows[2:]]  # epochs 1-2 include XLA compilation


def newest_run(runs: Path) -> Path:
    return max(runs.iterdir(), key=lambda p: p.stat().st_mtime)


def headless_epochs(exp_file: Path, runs: Path) -> list[float]:
    subprocess.run(
        [seqlab(), "run", str(exp_file), "--runs", str(runs)], check=True, capture_output=True
    )
    return epoch_seconds(newest_run(runs))


def app_epochs(exp_file: Path, home: Path, control: Control) -> list[float]:
    term = Term(f"SEQLAB_HOME={home} {seqlab()} {exp_file}", control)
    try:
        term.wait_for("TF ready")
        term.keys("C-t")
        term.wait_for("finished · MAE", timeout=600, poll=0.2)
        term.keys("C-q")
        time.sleep(1.5)
    finally:
        term.close()
    return epoch_seconds(newest_run(home / "runs"))


def key_latency(term: Term, presses: int) -> list[float]:
    """Seconds from sending ``l`` until the loss chart's title shows the other state than before.

    The state is read from the screen before each press, not counted from the first: a press
    the app never saw (or read as part of an escape sequence) would otherwise turn every later
    measurement into one of a title that was already there."""
    out = []
    for _ in range(presses):
        log_y = LOG_TITLE not in term.screen()  # what the press should bring
        start = time.perf_counter()
        term.keys("l")
        while time.perf_counter() < start + 5:
            if (LOG_TITLE in term.screen()) == log_y:
                out.append(time.perf_counter() - start)
                break
            time.sleep(0.002)
        else:
            print("note: a press did not change the loss chart's title within 5 s")
        time.sleep(0.15)
    return out


def latencies(
    home: Path, presses: int, long_run: Path, control: Control
) -> tuple[list[float], list[float]]:
    """Key latency idle, then while ``long_run`` (too many epochs to end first) streams in."""
    term = Term(f"SEQLAB_HOME={home} {seqlab()} {long_run}", control)
    try:
        term.wait_for("TF ready")
        term.keys("3")
        term.wait_for("loss / MAE per epoch")
        term.keys("Escape")
        time.sleep(0.5)  # a key sent right after Escape reads as alt+key
        idle = key_latency(term, presses)
        term.keys("C-t")
        # presses start once epochs stream in (compiled, the chart growing), not while compiling
        term.wait_for_epoch(STREAMING_FROM, timeout=300)
        busy = key_latency(term, presses)
        if "● train" not in term.screen():
            print("note: the run ended before the last press; some presses were not during it")
        term.keys("C-x")
        term.wait_for("stopped", timeout=60, poll=0.1)
        term.keys("C-q")
        time.sleep(1.5)
    finally:
        term.close()
    return idle, busy


def fmt(values: list[float], unit: float = 1.0, suffix: str = "s") -> str:
    if not values:
        return "n/a"
    scaled = [v * unit for v in values]
    median, lo, hi = statistics.median(scaled), min(scaled), max(scaled)
    # the 95th percentile (Python's "exclusive" method): what the key-latency target is set on
    p95 = statistics.quantiles(scaled, n=20)[-1] if len(scaled) > 1 else scaled[0]
    return (
        f"median {median:.3f}{suffix}, p95 {p95:.3f} (min {lo:.3f}, max {hi:.3f}, n={len(scaled)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="launches per app (first frame)")
    parser.add_argument("--epochs", type=int, default=60, help="epochs per training run")
    parser.add_argument("--presses", type=int, default=12, help="key presses per latency series")
    parser.add_argument(
        "--first-frame-only", action="store_true", help="measure launch -> first frame only"
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is needed")
    # Bytecode as an installed app has it after its first launch: with PYTHONDONTWRITEBYTECODE set
    # (as in some containers) every launch would otherwise compile each edited module again.
    for package in (engine, tui):
        compileall.compile_dir(next(iter(package.__path__)), quiet=1)
    work = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    # One idle session for the whole run keeps the tmux server up (starting a session while the
    # server is exiting, its last session just closed, fails; a cold server skews timings) and
    # holds the control client that reads every screen.
    keepalive = f"bench-keep-{uuid.uuid4().hex[:8]}"
    subprocess.run([*TMUX, "new-session", "-d", "-s", keepalive, "sleep 3600"], check=True)
    control = Control(keepalive)
    try:
        measure(args, work, control)
    finally:
        control.close()
        subprocess.run([*TMUX, "kill-server"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path, control: Control) -> None:
    exp = get_preset("course-rnn")
    exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, epochs=args.epochs))
    exp_file = work / "course-rnn.toml"
    exp_file.write_text(config.dumps(exp))

    app_ff, bare_ff = first_frames(args.rounds, work / "home-ff", control)
    print(f"launch -> first frame, seqlab:      {fmt(app_ff)}")
    print(f"launch -> first frame, bare Textual: {fmt(bare_ff)}")
    per_round = [a / b for a, b in zip(app_ff, bare_ff, strict=True)]
    print(
        f"  ratio seqlab / bare: {statistics.median(per_round):.2f} (median of {len(per_round)}"
        f" rounds, {min(per_round):.2f}-{max(per_round):.2f}; ratio of the medians"
        f" {statistics.median(app_ff) / statistics.median(bare_ff):.2f})"
    )
    if args.first_frame_only:
        return

    headless, in_app = [], []
    for i in range(2):  # interleaved: headless, app, headless, app
        headless += headless_epochs(exp_file, work / f"runs-headless-{i}")
        in_app += app_epochs(exp_file, work / f"home-app-{i}", control)
    print(f"epoch time, seqlab run (headless): {fmt(headless)}")
    print(f"epoch time, in the app:            {fmt(in_app)}")
    print(f"  ratio app / headless: {statistics.median(in_app) / statistics.median(headless):.3f}")

    long_run = work / "course-rnn-long.toml"
    train = dataclasses.replace(exp.train, epochs=100_000)
    long_run.write_text(config.dumps(dataclasses.replace(exp, train=train)))
    idle, busy = latencies(work / "home-keys", args.presses, long_run, control)
    print(f"key -> screen, app idle:          {fmt(idle, 1000, 'ms')}")
    print(f"key -> screen, during training:   {fmt(busy, 1000, 'ms')}")


if __name__ == "__main__":
    main()
