"""Saved runs: one folder per run, whole files written atomically, history appended every epoch.

A run folder holds ``experiment.toml``, ``status.json``, ``history.csv`` (training) or ``sweep.csv``
(learning-rate sweeps), ``metrics.json`` (with the run's notes and its backtest), ``forecast.csv``
(the validation forecast with its interval band and dates), ``future.csv`` (the forecast past the
end of the series), ``model.keras`` (a plain Keras model in the series' units,
engine.keras_model.portable_model) and ``scaler.json`` (the normalisation it holds inside,
engine.scaling). A run whose
process died (kill -9, power loss) still says "running" in its status file; listing finds its
process gone and reports it as interrupted, with the history it had flushed. The status file
names the process instance (pid, host, boot id and the process's start time), so a reused pid
never keeps a dead run "running"; an old status file without them is judged by its pid alone.

Every run is read on its own and nothing here raises on a damaged file (missing, empty, cut
short, the wrong JSON type, not UTF-8, binary, a folder): a run that cannot be read is listed as
``corrupt`` with the reason (which file, what is wrong), and the readers return what they can.
Only ``experiment()`` raises, a SeqlabError naming the file.

File modes: a run folder is private, 0700, and every file in it 0600 (``finish`` brings files
written by others, e.g. Keras's model.keras, to the same mode). Logs live in a private (0700)
folder too and are opened without following symlinks (``private_dir``, ``open_log``).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from engine.errors import SeqlabError
from engine.specs import Experiment

# The app imports this module before its first frame, so what only reading a run needs loads
# then: numpy with a forecast, the events' dataclasses (a good part of the start-up's own
# imports) with a saved future or backtest.
if TYPE_CHECKING:
    import numpy as np

    from engine.events import Backtest, FutureForecast, RunKind

RunStatus = Literal["running", "finished", "stopped", "pruned", "failed", "interrupted", "corrupt"]
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
# what a status file may say: "interrupted" and "corrupt" are only ever judged when read;
# "pruned" is a search's trial that its scheduler stopped early (engine.search)
SAVED_STATUSES: tuple[RunStatus, ...] = ("running", "finished", "stopped", "pruned", "failed")
FILE_MODE = 0o600  # every file of a run folder, and the logs
FOLDER_MODE = 0o700  # a run folder, the runs folder and the logs folder
DISK_FULL = "disk full (no space left on device)"
CREATE_TRIES = 20  # run ids tried before create gives up (a clash needs the same second)
HISTORY_FIELDS = (
    "epoch",
    "loss",
    "mae",
    "learning_rate",
    "seconds",
    "holdout_loss",
    "holdout_mae",
    "val_loss",
    "val_mae",
)
SWEEP_FIELDS = ("epoch", "learning_rate", "loss", "seconds")


@dataclass(frozen=True)
class SavedForecast:
    """A run's ``forecast.csv``: the validation forecast, one step ahead, with its band (None
    without one) and the points' dates (empty without a date column)."""

    time: np.ndarray
    actual: np.ndarray
    forecast: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    dates: tuple[str, ...] = ()


def default_root() -> Path:
    """``$SEQLAB_HOME/runs`` if set, else the platform's user data folder (e.g. ~/.local/share)."""
    home = os.environ.get("SEQLAB_HOME")
    if home:
        return Path(home).expanduser() / "runs"
    import platformdirs

    return Path(platformdirs.user_data_dir("seqlab")) / "runs"


def atomic_write(path: Path, data: str | bytes) -> None:
    """Writes a whole file via a temporary file and a rename, so readers never see half of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _disk_full_as_such(exc: OSError) -> OSError:
    """ENOSPC (or EDQUOT) with the words the user sees: "disk full", not a bare errno."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OSError(errno.ENOSPC, DISK_FULL, exc.filename)
    return exc


def private_dir(path: Path) -> Path:
    """Makes (or checks) a folder only this user can enter: 0700, ours, not a symlink.

    Raises OSError where it is not ours or not a real folder, so no log or run goes there."""
    path = Path(path)
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.ENOTDIR, "is a symlink or not a folder", str(path))
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise OSError(errno.EPERM, "belongs to another user", str(path))
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)
    return path


def open_log(path: Path) -> int:
    """A descriptor appending to the log at ``path`` (0600), never through a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)


# --- which process runs a run ---------------------------------------------------------------------


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/PID/stat``: when the process started, in clock ticks since boot;
    None without such a process (or without /proc)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    try:
        return int(fields[19])  # fields[0] is field 3
    except (IndexError, ValueError):
        return None


def _has_proc() -> bool:
    return Path("/proc/self/stat").exists()


def process_identity() -> dict[str, Any]:
    """What names this process instance in a status file: a reused pid has another start time,
    a restarted machine another boot id."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "pid_start": _start_time(pid),
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


DIED = "the process running it ended without saving (killed or crashed)"


def why_dead(status: dict[str, Any]) -> str | None:
    """Why a run whose status file says "running" is not running; None while its process is."""
    if status.get("host") != socket.gethostname():
        return "started on another machine and never finished here"
    pid = status.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return f"{DIED}; its status file names no process (pid {pid!r})"
    boot, now_boot = status.get("boot_id"), _boot_id()
    if isinstance(boot, str) and now_boot is not None and boot != now_boot:
        return f"{DIED}; the machine has restarted since"
    started = status.get("pid_start")
    if isinstance(started, int) and not isinstance(started, bool) and _has_proc():
        now = _start_time(pid)
        if now is None:
            return DIED
        if now != started:
            return f"{DIED}; process {pid} is now another program"
        return None
    return None if _pid_alive(pid) else DIED


# --- reading a run's files without raising --------------------------------------------------------


def _read(path: Path) -> tuple[str | None, str | None]:
    """A file's text: (text, None); (None, None) when it does not exist; (None, why) when it
    cannot be read as UTF-8 text."""
    name = path.name
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            return None, f"{name} is a folder, not a file"
        if not stat.S_ISREG(st.st_mode):
            return None, f"{name} is not a regular file"
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{name} cannot be read ({exc.strerror or exc})"
    if not data:
        return None, f"{name} is empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{name} is not UTF-8 text (bad byte at offset {exc.start})"
    if "\x00" in text:
        return None, f"{name} holds binary data (a NUL byte at offset {text.index(chr(0))})"
    return text, None


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    return "null" if value is None else names.get(type(value), "a number")


def read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object file: (data, None), (None, None) when missing, or (None, why)."""
    text, problem = _read(path)
    if text is None:
        return None, problem
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, f"{path.name} is not valid JSON, perhaps cut short ({exc})"
    if not isinstance(data, dict):
        return None, f"{path.name} holds {_json_type(data)}, not a JSON object"
    return data, None


def _read_csv(
    path: Path, required: tuple[str, ...], whole: bool
) -> tuple[list[dict[str, str]] | None, str | None]:
    """A CSV file's rows: (rows, None), (None, None) when missing, or (None, why).

    ``whole``: the file is written in one go, so a missing final newline means it was cut short;
    otherwise (a history appended every epoch) a torn last line is dropped."""
    text, problem = _read(path)
    if text is None:
        return None, problem
    if not text.endswith("\n"):
        if whole:
            return None, f"{path.name} is cut short (its last line is incomplete)"
        text = text[: text.rfind("\n") + 1]
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
        lacking = [c for c in required if c not in header]
        if lacking:
            found = ", ".join(header)[:60] or "nothing"
            return None, (
                f"{path.name} has no {' or '.join(lacking)} column (its header holds {found})"
            )
        return list(reader), None
    except csv.Error as exc:
        return None, f"{path.name} is not valid CSV ({exc})"


def _number_problem(
    data: dict[str, Any], name: str, keys: tuple[str, ...], whole: bool
) -> str | None:
    """The first of ``keys`` that is present but not a number (``whole``: not an int)."""
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        ok = isinstance(value, int) if whole else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if whole else "a number"
            return f"{name}: {key} is {value!r}, not {kind}"
    return None


def _text_problem(data: dict[str, Any], name: str, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            return f"{name}: {key} is {value!r}, not text"
    return None


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:40] or "run"


def _num(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class RunInfo:
    """What the runs table shows of one saved run."""

    run_id: str
    path: Path
    name: str
    kind: RunKind
    status: RunStatus
    created: str
    epochs: int
    total_epochs: int
    val_mae: float | None
    val_mse: float | None
    naive_mae: float | None
    reason: str | None
    linear_mae: float | None = None  # the linear autoregression baseline's validation MAE
    best_epoch: int | None = None  # the epoch whose weights were kept (1-based)
    problems: tuple[str, ...] = ()  # the files that are missing or unreadable, and why
    study: str | None = None  # the search this run is a trial of (engine.studies)
    trial: int | None = None  # its trial number in that search (1-based)


class RunHandle:
    """The folder of one run being written: status, history lines, metrics, forecast, model."""

    def __init__(
        self,
        path: Path,
        kind: RunKind,
        experiment: Experiment,
        total_epochs: int,
        labels: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.run_id = path.name
        self.kind = kind
        self.total_epochs = total_epochs
        self._status: dict[str, Any] = {
            "run_id": self.run_id,
            "kind": kind,
            "name": experiment.name,
            "status": "running",
            "created": datetime.now().isoformat(timespec="seconds"),
            "ended": None,
            **process_identity(),
            "epochs": 0,
            "total_epochs": total_epochs,
            "reason": None,
            **(labels or {}),
        }
        from engine import config  # TOML modules: imported where used (the app's first frame)

        with _saving():
            atomic_write(path / "experiment.toml", config.dumps(experiment))
            self._write_status()
        fields = HISTORY_FIELDS if kind == "train" else SWEEP_FIELDS
        self._log_name = "history.csv" if kind == "train" else "sweep.csv"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path / self._log_name, flags, FILE_MODE)
        self._log = open(fd, "w", newline="", encoding="utf-8")  # noqa: SIM115
        try:
            self._writer = csv.writer(self._log)
            with _saving():
                self._writer.writerow(fields)
                self._flush()
        except BaseException:
            self._log.close()
            raise

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"

    def _flush(self) -> None:
        self._log.flush()
        os.fsync(self._log.fileno())

    def _write_status(self) -> None:
        atomic_write(self.path / "status.json", json.dumps(self._status, indent=2))

    def append(self, row: dict[str, Any]) -> None:
        """Appends one epoch (or sweep point) and flushes it to disk before training goes on.

        A full disk raises OSError whose text says "disk full"."""
        fields = HISTORY_FIELDS if self.kind == "train" else SWEEP_FIELDS
        with _saving():
            self._writer.writerow(["" if row.get(f) is None else row[f] for f in fields])
            self._flush()
            self._status["epochs"] = int(row["epoch"])
            self._write_status()

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        with _saving():
            text = json.dumps(metrics, indent=2, sort_keys=True)
            atomic_write(self.path / "metrics.json", text)

    def write_scaler(self, scaler: dict[str, Any]) -> None:
        """``scaler.json``: the normalisation fitted for the model (``in_model``: applied inside
        the saved model, which takes and returns the series' units)."""
        with _saving():
            atomic_write(self.path / "scaler.json", json.dumps(scaler, indent=2))

    def write_forecast(
        self,
        time_: np.ndarray,
        actual: np.ndarray,
        forecast: np.ndarray,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
        dates: tuple[str, ...] = (),
    ) -> None:
        """``forecast.csv``: time, [date,] actual, forecast[, lower, upper] per validation point."""
        header = ["time", *(["date"] if dates else []), "actual", "forecast"]
        band = lower is not None and upper is not None
        header += ["lower", "upper"] if band else []
        rows = []
        for i, (t, a, f) in enumerate(zip(time_, actual, forecast, strict=True)):
            # time at full precision (``g`` would print 1.23457e+06); values as float32 holds them
            row = [repr(float(t)), *([dates[i]] if dates else []), _g(a), _g(f)]
            if band:
                row += [_g(lower[i]), _g(upper[i])]  # type: ignore[index]
            rows.append(row)
        with _saving():
            atomic_write(self.path / "forecast.csv", _csv_text(header, rows))

    def write_future(self, future: FutureForecast) -> None:
        """``future.csv``: step, time, [date,] forecast, lower, upper (empty past the band)."""
        with _saving():
            atomic_write(self.path / "future.csv", future_csv(future))

    def finish(self, status: RunStatus, reason: str | None = None) -> None:
        """Closes the history and records the final status (finished, stopped or failed).

        On a full disk the new status file cannot be made, so the old one is overwritten in
        place (it fits the block it already has): a run that filled the disk still ends as
        failed with its reason, not as "running" (later judged killed). Every file of the folder
        is then given the run's file mode (model.keras and run.log are written by others)."""
        if status not in SAVED_STATUSES or status == "running":
            raise ValueError(status)
        if not self._log.closed:
            with contextlib.suppress(OSError):  # a full disk: the history has what it flushed
                self._log.close()
        self._status.update(status=status, reason=reason)
        self._status["ended"] = datetime.now().isoformat(timespec="seconds")
        try:
            self._write_status()
        except OSError as exc:
            if _disk_full_as_such(exc).errno != errno.ENOSPC:
                raise
            self._overwrite_status()
        for child in self.path.iterdir():
            with contextlib.suppress(OSError):
                if child.is_file() and not child.is_symlink():
                    os.chmod(child, FILE_MODE)

    def _overwrite_status(self) -> None:
        """Writes status.json over its old bytes, padded with spaces to their length."""
        data = json.dumps(self._status, indent=2).encode("utf-8")
        flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path / "status.json", flags)
        try:
            old = os.fstat(fd).st_size
            os.write(fd, data + b" " * max(0, old - len(data)))
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _saving() -> Iterator[None]:
    """Raises a full disk's OSError with the words "disk full"."""
    try:
        yield
    except OSError as exc:
        raised = _disk_full_as_such(exc)
        if raised is exc:
            raise
        raise raised from exc


def _g(value: Any) -> str:
    return f"{float(value):.7g}"


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def future_csv(future: FutureForecast) -> str:
    """The forecast past the end of the data as CSV (``future.csv``, ``seqlab forecast --csv``):
    step (1-based), time, date (with a regular date column), forecast, lower and upper (empty
    for the steps the interval does not reach, or without one)."""
    header = ["step", "time", *(["date"] if future.dates else []), "forecast"]
    band = future.level is not None
    header += ["lower", "upper"] if band else []
    rows = []
    for i, (t, v) in enumerate(zip(future.time, future.values, strict=True)):
        row = [str(i + 1), repr(float(t)), *([future.dates[i]] if future.dates else []), _g(v)]
        if band:
            inside = i < len(future.lower)
            row += [_g(future.lower[i]), _g(future.upper[i])] if inside else ["", ""]
        rows.append(row)
    return _csv_text(header, rows)


class RunStore:
    """The folder that holds every saved run.

    ``labels`` are written into the status file of every run this store creates: a search's
    trials carry ``study`` and ``trial`` (engine.search), which the runs table filters on."""

    def __init__(
        self, root: str | Path | None = None, labels: dict[str, Any] | None = None
    ) -> None:
        self.root = Path(root).expanduser() if root else default_root()
        self.labels = dict(labels or {})

    def check_writable(self) -> None:
        """Raises a clear error before training if runs cannot be saved here."""
        try:
            self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise SeqlabError(
                f"runs folder {self.root} is not writable ({exc.strerror or exc}); "
                "choose another with --runs DIR or SEQLAB_HOME"
            ) from None

    def create(self, experiment: Experiment, kind: RunKind, total_epochs: int) -> RunHandle:
        """A new run folder (0700) under a fresh id: an id already taken is drawn again, and a
        run that cannot be set up leaves no folder behind."""
        self.check_writable()
        for _ in range(CREATE_TRIES):
            path = self.root / new_run_id(experiment.name, kind)
            try:
                path.mkdir(mode=FOLDER_MODE)
            except FileExistsError:
                continue
            try:
                return RunHandle(path, kind, experiment, total_epochs, self.labels)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
        raise OSError(
            errno.EEXIST, f"no free run id after {CREATE_TRIES} tries in {self.root}", str(path)
        )

    def _status(self, path: Path) -> tuple[dict[str, Any], list[str]]:
        """The status file's fields (with a dead "running" judged interrupted) and its problems."""
        data, problem = read_json(path / "status.json")
        if data is None:
            return {}, [problem or "status.json is missing"]
        problems = []
        if data.get("status") not in SAVED_STATUSES:
            allowed = ", ".join(SAVED_STATUSES)
            problems.append(f"status.json: status is {data.get('status')!r}, not one of {allowed}")
        if data.get("kind") not in ("train", "sweep"):
            problems.append(f"status.json: kind is {data.get('kind')!r}, not train or sweep")
        for found in (
            _number_problem(data, "status.json", ("epochs", "total_epochs"), whole=True),
            _text_problem(data, "status.json", ("name", "created", "reason")),
        ):
            if found:
                problems.append(found)
        if not problems and data["status"] == "running":
            why = why_dead(data)
            if why is not None:
                data["status"], data["reason"] = "interrupted", why
        return data, problems

    def _problems(self, path: Path, kind: str) -> list[str]:
        """What is missing or unreadable among the run's other files."""
        problems = []
        text, problem = _read(path / "experiment.toml")
        if text is None:
            problems.append(problem or "experiment.toml is missing")
        elif not text.endswith("\n"):
            problems.append("experiment.toml is cut short (its last line is incomplete)")
        else:
            import tomllib

            try:
                tomllib.loads(text)
            except ValueError as exc:
                problems.append(f"experiment.toml is not valid TOML ({exc})")
        log, columns = ("history.csv", ("epoch", "loss")) if kind == "train" else SWEEP_LOG
        rows, problem = _read_csv(path / log, columns, whole=False)
        if rows is None:
            problems.append(problem or f"{log} is missing")
        metrics, problem = read_json(path / "metrics.json")
        if problem:
            problems.append(problem)
        elif metrics is not None:
            found = _number_problem(metrics, "metrics.json", SCORES, whole=False)
            found = found or _number_problem(metrics, "metrics.json", ("best_epoch",), whole=True)
            if found:
                problems.append(found)
        for name, required in (
            ("forecast.csv", ("time", "actual", "forecast")),
            ("future.csv", ("time", "forecast")),
        ):
            problem = _read_csv(path / name, required, whole=True)[1]
            if problem:
                problems.append(problem)
        problem = read_json(path / "scaler.json")[1]
        if problem:
            problems.append(problem)
        model = path / "model.keras"
        if model.is_dir():
            problems.append("model.keras is a folder, not a file")
        elif model.is_file() and model.stat().st_size == 0:
            problems.append("model.keras is empty")
        return problems

    def info(self, path: Path) -> RunInfo:
        """One run as the table shows it; ``corrupt`` (with the reason) if a file is damaged."""
        path = Path(path)
        try:
            status, problems = self._status(path)
            kind: RunKind = "sweep" if status.get("kind") == "sweep" else "train"
            if status.get("kind") not in ("train", "sweep") and (path / "sweep.csv").exists():
                kind = "sweep"
            problems += self._problems(path, kind)
        except OSError as exc:  # the folder itself went away or cannot be listed
            status, kind = {}, "train"
            problems = [f"the run folder cannot be read ({exc.strerror or exc})"]
        metrics = self.metrics(path)
        epochs = len(self.history(path)) if kind == "train" else status.get("epochs")
        name, created = status.get("name"), status.get("created")
        return RunInfo(
            run_id=path.name,
            path=path,
            name=name if isinstance(name, str) else "?",
            kind=kind,
            status="corrupt" if problems else status["status"],
            created=created if isinstance(created, str) else _mtime(path),
            epochs=_whole(epochs) or 0,
            total_epochs=_whole(status.get("total_epochs")) or 0,
            val_mae=_score(metrics.get("val_mae")),
            val_mse=_score(metrics.get("val_mse")),
            naive_mae=_score(metrics.get("naive_mae")),
            reason="; ".join(problems) if problems else status.get("reason"),
            linear_mae=_score(metrics.get("linear_mae")),
            best_epoch=_whole(metrics.get("best_epoch")),
            problems=tuple(problems),
            study=status.get("study") if isinstance(status.get("study"), str) else None,
            trial=_whole(status.get("trial")),
        )

    def runs(self) -> list[RunInfo]:
        """Every run folder (hidden ones aside), best validation MAE first (runs without one
        last, newest first); one that cannot be read is listed as corrupt."""
        try:
            folders = [p for p in self.root.iterdir() if not p.name.startswith(".") and p.is_dir()]
        except OSError:
            return []
        infos = [self.info(p) for p in folders]
        infos.sort(key=lambda i: i.created, reverse=True)
        infos.sort(key=lambda i: (i.val_mae is None, i.val_mae or 0.0))
        return infos

    def find(self, run: str) -> RunInfo:
        """A run by folder path, full id or unique id prefix/substring."""
        path = Path(run).expanduser()
        if path.is_dir() and any((path / f).exists() for f in RUN_MARKS):
            return self.info(path)  # a folder of a run, even one whose status file is gone
        runs = self.runs()
        matches = [i for i in runs if i.run_id == run] or [i for i in runs if run in i.run_id]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SeqlabError(f"run {run!r}: no such run in {self.root}")
        names = ", ".join(m.run_id for m in matches[:5])
        raise SeqlabError(f"run {run!r} is ambiguous: matches {names}")

    def relabel(self, path: Path, status: RunStatus, reason: str) -> bool:
        """Gives an ended run another final status (a search's stopped trial becomes "pruned"
        when its scheduler, not a person, stopped it). Only a run that ended as ``stopped`` is
        changed; returns whether it was."""
        data, problems = self._status(Path(path))
        if problems or data.get("status") != "stopped" or status not in SAVED_STATUSES:
            return False
        data.update(status=status, reason=reason)
        with _saving():
            atomic_write(Path(path) / "status.json", json.dumps(data, indent=2))
        return True

    def history(self, path: Path) -> list[dict[str, float | None]]:
        """Per-epoch rows of a training run (whole lines only: a torn last line is dropped);
        empty when the history cannot be read."""
        rows = []
        for row in _read_csv(Path(path) / "history.csv", ("epoch", "loss"), whole=False)[0] or []:
            values = {k: _num(row.get(k)) for k in HISTORY_FIELDS}
            if values["epoch"] is None or values["loss"] is None:
                continue
            rows.append(values)
        return rows

    def sweep_points(self, path: Path) -> list[tuple[float, float]]:
        points = []
        for row in _read_csv(Path(path) / "sweep.csv", SWEEP_LOG[1], whole=False)[0] or []:
            lr, loss = _num(row.get("learning_rate")), _num(row.get("loss"))
            if lr is not None and loss is not None:
                points.append((lr, loss))
        return points

    def forecast(self, path: Path) -> SavedForecast | None:
        """The run's ``forecast.csv``; None when it has none or it cannot be read."""
        required = ("time", "actual", "forecast")
        rows = _read_csv(Path(path) / "forecast.csv", required, whole=True)[0]
        if not rows:
            return None
        import numpy as np

        def column(key: str) -> np.ndarray | None:
            if key not in rows[0]:
                return None
            return np.array([_num(r.get(key)) for r in rows], dtype="float64")

        time_, actual, forecast = column("time"), column("actual"), column("forecast")
        if time_ is None or actual is None or forecast is None:
            return None
        dates = tuple(r.get("date") or "" for r in rows) if "date" in rows[0] else ()
        return SavedForecast(time_, actual, forecast, column("lower"), column("upper"), dates)

    def future(self, path: Path) -> FutureForecast | None:
        """The run's ``future.csv`` (the forecast past the end of the data), or None."""
        from engine.events import FutureForecast

        rows = _read_csv(Path(path) / "future.csv", ("time", "forecast"), whole=True)[0]
        if not rows:
            return None
        metrics = self.metrics(path)
        level = metrics.get("interval_level") if "lower" in rows[0] else None
        lower = [_num(r.get("lower")) for r in rows]
        upper = [_num(r.get("upper")) for r in rows]
        band = 0
        while band < len(rows) and lower[band] is not None and upper[band] is not None:
            band += 1
        notes = metrics.get("future_notes", [])
        return FutureForecast(
            time=tuple(_num(r.get("time")) or 0.0 for r in rows),
            values=tuple(_num(r.get("forecast")) or float("nan") for r in rows),
            lower=tuple(float(v) for v in lower[:band] if v is not None),
            upper=tuple(float(v) for v in upper[:band] if v is not None),
            level=float(level) if isinstance(level, (int, float)) else None,
            dates=tuple(r.get("date") or "" for r in rows) if "date" in rows[0] else (),
            notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (),
        )

    def backtest(self, path: Path) -> Backtest | None:
        """The run's rolling-origin backtest (saved in ``metrics.json``), or None."""
        from engine.events import Backtest

        data = self.metrics(path).get("backtest")
        if not isinstance(data, dict):
            return None
        try:
            return Backtest(
                horizon=int(data["horizon"]),
                origins=int(data["origins"]),
                model=tuple(float(v) for v in data["model"]),
                naive=tuple(float(v) for v in data["naive"]),
                seasonal=tuple(float(v) for v in data.get("seasonal", ())),
                coverage=tuple(float(v) for v in data.get("coverage", ())),
                level=None if data.get("level") is None else float(data["level"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            return None

    def metrics(self, path: Path) -> dict[str, Any]:
        """``metrics.json``; empty when the run has none or it cannot be read."""
        return read_json(Path(path) / "metrics.json")[0] or {}

    def experiment(self, path: Path) -> Experiment:
        """The run's experiment; a SeqlabError naming ``experiment.toml`` when it cannot be read."""
        from engine import config

        file = Path(path) / "experiment.toml"
        text, problem = _read(file)
        if text is None:
            raise SeqlabError(f"run {file.parent.name}: {problem or 'experiment.toml is missing'}")
        try:
            return config.loads(text, str(file))
        except SeqlabError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SeqlabError(f"{file}: cannot read the experiment ({exc})") from None

    def delete(self, path: Path) -> None:
        """Removes a run's folder, refusing anything that is not plainly a run of this store.

        Why so careful: a path from the table (or typed) must never take anything else with it.
        The folder must sit directly in the runs folder, be a real folder (not a symlink), hold
        what makes a run folder (``RUN_MARKS``) and not be running now (its process alive). It
        is first renamed to a hidden name in the runs folder, so a listing never shows it half
        removed, then removed without following any symlink inside it (``shutil.rmtree`` unlinks
        links, never their targets). Raises SeqlabError saying why it refused or failed."""
        path = Path(path)
        name = path.name
        try:
            root = self.root.resolve(strict=True)
            parent = path.parent.resolve(strict=True)
        except OSError as exc:
            raise SeqlabError(
                f"run {name}: cannot delete it ({exc.strerror or exc}: {exc.filename})"
            ) from None
        if parent != root or name in ("", ".", "..") or name.startswith("."):
            raise SeqlabError(f"run {name}: not deleted: {path} is not a run folder in {root}")
        target = root / name
        try:
            st = os.lstat(target)
        except OSError as exc:
            raise SeqlabError(f"run {name}: cannot delete it ({exc.strerror or exc})") from None
        if stat.S_ISLNK(st.st_mode):
            raise SeqlabError(f"run {name}: not deleted: it is a symlink, not a run folder")
        if not stat.S_ISDIR(st.st_mode):
            raise SeqlabError(f"run {name}: not deleted: it is not a folder")
        marks = [m for m in RUN_MARKS if os.path.lexists(target / m)]
        if not marks:
            raise SeqlabError(
                f"run {name}: not deleted: the folder holds none of {', '.join(RUN_MARKS)}"
            )
        status, problems = self._status(target)
        if not problems and status.get("status") == "running":
            raise SeqlabError(
                f"run {name}: not deleted: it is running (process {status.get('pid')}); "
                "stop it first"
            )
        hidden = root / f".deleting-{name}-{_random_hex(3)}"
        try:
            os.rename(target, hidden)
        except OSError as exc:
            raise SeqlabError(f"run {name}: cannot delete it ({exc.strerror or exc})") from None
        try:
            shutil.rmtree(hidden)
        except OSError as exc:
            raise SeqlabError(
                f"run {name}: moved to {hidden.name} but not wholly removed ({exc.strerror or exc})"
            ) from None


RUN_MARKS = (
    "status.json",
    "experiment.toml",
    "history.csv",
    "sweep.csv",
)  # what makes a run folder
SWEEP_LOG = ("sweep.csv", ("learning_rate", "loss"))
SCORES = ("val_mae", "val_mse", "naive_mae", "linear_mae")


def _score(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mtime(path: Path) -> str:
    """When a folder without a readable status file was last changed, as ``created`` reads."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")
    except (OSError, ValueError, OverflowError):
        return ""


def _random_hex(n: int) -> str:
    """``n`` random bytes as hex, as ``secrets.token_hex`` makes them: without importing
    ``secrets``, whose hmac and OpenSSL load before the app's first frame otherwise."""
    return os.urandom(n).hex()


def new_run_id(name: str, kind: RunKind) -> str:
    """A run's folder name: the time, the experiment, the kind and a random suffix."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(name)}-{kind}-{_random_hex(2)}"
