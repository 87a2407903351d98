"""Saved runs: one folder per run, whole files written atomically, history appended every epoch.

A run folder holds ``experiment.toml``, ``status.json``, ``history.csv`` (training) or ``sweep.csv``
(learning-rate sweeps), ``metrics.json`` (with the run's notes and its backtest), ``forecast.csv``
(the validation forecast with its interval band and dates), ``future.csv`` (the forecast past the
end of the series), ``model.keras`` and ``scaler.json`` (the normalisation the model was trained
with, engine.scaling). A run whose
process died (kill -9, power loss) still says "running" in its status file; listing finds its
process gone and reports it as interrupted, with the history it had flushed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from engine.errors import SeqlabError
from engine.events import Backtest, FutureForecast, RunKind
from engine.specs import Experiment

# numpy loads when a forecast is read: the app imports this module before its first frame
if TYPE_CHECKING:
    import numpy as np

RunStatus = Literal["running", "finished", "stopped", "failed", "interrupted"]
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _slug(name: str) -> str:
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


class RunHandle:
    """The folder of one run being written: status, history lines, metrics, forecast, model."""

    def __init__(
        self, path: Path, kind: RunKind, experiment: Experiment, total_epochs: int
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
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "epochs": 0,
            "total_epochs": total_epochs,
            "reason": None,
        }
        from engine import config  # TOML modules: imported where used (the app's first frame)

        atomic_write(path / "experiment.toml", config.dumps(experiment))
        self._write_status()
        fields = HISTORY_FIELDS if kind == "train" else SWEEP_FIELDS
        self._log_name = "history.csv" if kind == "train" else "sweep.csv"
        self._log = open(path / self._log_name, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._log)
        self._writer.writerow(fields)
        self._flush()

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"

    def _flush(self) -> None:
        self._log.flush()
        os.fsync(self._log.fileno())

    def _write_status(self) -> None:
        atomic_write(self.path / "status.json", json.dumps(self._status, indent=2))

    def append(self, row: dict[str, Any]) -> None:
        """Appends one epoch (or sweep point) and flushes it to disk before training goes on."""
        fields = HISTORY_FIELDS if self.kind == "train" else SWEEP_FIELDS
        self._writer.writerow(["" if row.get(f) is None else row[f] for f in fields])
        self._flush()
        self._status["epochs"] = int(row["epoch"])
        self._write_status()

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        atomic_write(self.path / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True))

    def write_scaler(self, scaler: dict[str, Any]) -> None:
        """``scaler.json``: what turns the model's outputs back into the series' units."""
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
        atomic_write(self.path / "forecast.csv", _csv_text(header, rows))

    def write_future(self, future: FutureForecast) -> None:
        """``future.csv``: step, time, [date,] forecast, lower, upper (empty past the band)."""
        atomic_write(self.path / "future.csv", future_csv(future))

    def finish(self, status: RunStatus, reason: str | None = None) -> None:
        """Closes the history and records the final status (finished, stopped or failed)."""
        if status not in STATUSES:
            raise ValueError(status)
        if not self._log.closed:
            self._log.close()
        self._status.update(status=status, reason=reason)
        self._status["ended"] = datetime.now().isoformat(timespec="seconds")
        self._write_status()


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
    """The folder that holds every saved run."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else default_root()

    def check_writable(self) -> None:
        """Raises a clear error before training if runs cannot be saved here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as exc:
            raise SeqlabError(
                f"runs folder {self.root} is not writable ({exc.strerror or exc}); "
                "choose another with --runs DIR or SEQLAB_HOME"
            ) from None

    def create(self, experiment: Experiment, kind: RunKind, total_epochs: int) -> RunHandle:
        self.check_writable()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.root / f"{stamp}-{_slug(experiment.name)}-{kind}-{secrets.token_hex(2)}"
        path.mkdir()
        return RunHandle(path, kind, experiment, total_epochs)

    def _status(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads((path / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("status") == "running":
            elsewhere = data.get("host") != socket.gethostname()
            if elsewhere or not _pid_alive(int(data.get("pid", 0))):
                data["status"] = "interrupted"
                data["reason"] = (
                    "started on another machine and never finished here"
                    if elsewhere
                    else "the process running it ended without saving (killed or crashed)"
                )
        return data

    def info(self, path: Path) -> RunInfo | None:
        status = self._status(path)
        if status is None:
            return None
        try:
            metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metrics = {}
        kind = status.get("kind")
        best_epoch = metrics.get("best_epoch")
        epochs = len(self.history(path)) if kind == "train" else status.get("epochs", 0)
        return RunInfo(
            run_id=path.name,
            path=path,
            name=status.get("name", "?"),
            kind=status.get("kind", "train"),
            status=status["status"],
            created=status.get("created", ""),
            epochs=int(epochs),
            total_epochs=int(status.get("total_epochs", 0)),
            val_mae=metrics.get("val_mae"),
            val_mse=metrics.get("val_mse"),
            naive_mae=metrics.get("naive_mae"),
            reason=status.get("reason"),
            linear_mae=metrics.get("linear_mae"),
            best_epoch=None if best_epoch is None else int(best_epoch),
        )

    def runs(self) -> list[RunInfo]:
        """Every readable run, best validation MAE first (runs without one last, newest first)."""
        if not self.root.is_dir():
            return []
        infos = [i for p in self.root.iterdir() if p.is_dir() and (i := self.info(p)) is not None]
        infos.sort(key=lambda i: i.created, reverse=True)
        infos.sort(key=lambda i: (i.val_mae is None, i.val_mae or 0.0))
        return infos

    def find(self, run: str) -> RunInfo:
        """A run by folder path, full id or unique id prefix/substring."""
        path = Path(run).expanduser()
        if path.is_dir() and (path / "status.json").exists():
            info = self.info(path)
            if info:
                return info
        runs = self.runs()
        matches = [i for i in runs if i.run_id == run] or [i for i in runs if run in i.run_id]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SeqlabError(f"run {run!r}: no such run in {self.root}")
        names = ", ".join(m.run_id for m in matches[:5])
        raise SeqlabError(f"run {run!r} is ambiguous: matches {names}")

    @staticmethod
    def _rows(path: Path) -> list[dict[str, str]]:
        try:
            with open(path, newline="", encoding="utf-8") as handle:
                return list(csv.DictReader(handle))
        except OSError:
            return []

    def history(self, path: Path) -> list[dict[str, float | None]]:
        """Per-epoch rows of a training run (whole lines only: a torn last line is dropped)."""
        rows = []
        for row in self._rows(Path(path) / "history.csv"):
            values = {k: _num(row.get(k)) for k in HISTORY_FIELDS}
            if values["epoch"] is None or values["loss"] is None:
                continue
            rows.append(values)
        return rows

    def sweep_points(self, path: Path) -> list[tuple[float, float]]:
        points = []
        for row in self._rows(Path(path) / "sweep.csv"):
            lr, loss = _num(row.get("learning_rate")), _num(row.get("loss"))
            if lr is not None and loss is not None:
                points.append((lr, loss))
        return points

    def forecast(self, path: Path) -> SavedForecast | None:
        """The run's ``forecast.csv``; None when it has none or it cannot be read."""
        rows = self._rows(Path(path) / "forecast.csv")
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
        rows = self._rows(Path(path) / "future.csv")
        if not rows or "forecast" not in rows[0]:
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
        except (KeyError, TypeError, ValueError):
            return None

    def metrics(self, path: Path) -> dict[str, Any]:
        try:
            return json.loads((Path(path) / "metrics.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def experiment(self, path: Path) -> Experiment:
        from engine import config

        return config.load(Path(path) / "experiment.toml")
