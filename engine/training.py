"""Runs an experiment: trains it (or sweeps its learning rate), forecasts, scores and saves it.

The TUI and the command line call the same two functions, ``train`` and ``sweep``, and learn what
happens only through events passed to the callback they give (engine.events). TensorFlow is
imported inside the functions, never at module import, so importing this module is cheap.

Events of one run, in order: ``RunStarted`` (once the first batches ran, so it can say whether XLA
compiled the model), then per epoch ``BatchProgress`` (coalesced, at most every 0.1 s) and
``EpochEnded`` (train) or ``SweepPoint`` (sweep), then exactly one of ``RunFinished``,
``RunStopped`` or ``RunFailed``, which is also returned. A run that cannot start (bad experiment,
unreadable data, unwritable runs folder) sends ``RunFailed`` alone. User-level problems never raise.

How it is fast (bench/bench_training.py compares it with the course's pipeline): the windows are
cut once with numpy and cached as tensors; every epoch reshuffles them with the course's shuffle
buffer; the training step is compiled with XLA (``jit_compile``) and several batches run per call
(``steps_per_execution``). Where XLA cannot compile a model, training falls back to plain graph
execution and says so in ``RunStarted.notes`` and the run's ``run.log``.

Reproducible: each run clears the Keras session and seeds Python, numpy and TensorFlow (weights,
shuffle order, dropout) from ``train.seed``. The same experiment on the same machine gives
bit-identical per-epoch losses (tests/test_training.py checks equality with no tolerance).
TensorFlow's op determinism is not enabled: it is needed only for GPU kernels, and with it Keras
silently turns XLA off.

Stoppable: a stop request (engine.stop.StopRequest) is seen before the next batch is taken, also
during validation (the datasets end as soon as it is set), so a run stops within one batch even
when several batches run per call. The run is saved as stopped with the epochs it completed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import secrets
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from engine.baselines import naive_forecast
from engine.errors import SeqlabError
from engine.events import (
    BatchProgress,
    EpochEnded,
    Event,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SweepPoint,
)
from engine.metrics import metrics
from engine.runstore import RunHandle, RunStore
from engine.series import Series, load_series
from engine.shapes import SEQ2SEQ, infer
from engine.specs import Experiment, check
from engine.stop import StopRequest
from engine.sweep import EXPLODED, suggest
from engine.windows import seq2seq_windows, seq2vec_windows

MAX_STEPS_PER_EXECUTION = 64
# SimpleRNN layers are unrolled under XLA for windows up to this long. Measured on course-rnn
# (2 x SimpleRNN 40, batch 128, 2-core VM): window 20, epochs 42 -> 16 ms for 2.6 s more compile
# (paid back after ~100 epochs; the course runs 500); window 40, 72 -> 29 ms for 8 s more; window
# 64, 160 -> 40 ms for 14 s more, too long a wait before the first epoch.
UNROLL_MAX_STEPS = 32
PROGRESS_INTERVAL = 0.1  # seconds between BatchProgress events

Outcome = RunFinished | RunStopped | RunFailed
EventCallback = Callable[[Event], None]

_IMPORT_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()  # one run per process: each run clears the shared Keras session


def load_tensorflow() -> float:
    """Imports TensorFlow/Keras quietly (log settings made before the import); returns seconds.

    Native log lines that TensorFlow still writes to file descriptor 2 are the caller's to route
    (the CLI and the TUI point fd 2 at a log file first).
    """
    with _IMPORT_LOCK:
        start = time.perf_counter()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
        # TensorFlow's pooling allocator instead of malloc on the CPU: every compiled training
        # step allocates its buffers afresh, and reusing pooled memory made course-lstm-2 epochs
        # ~10% faster (bench/bench_training.py: 169 -> 157 ms); read when TensorFlow first
        # allocates, so it is set before the import. The pool grows as needed (no preallocation).
        os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
        import keras  # noqa: F401  (loaded here, not at the first model)
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        # Ending a dataset early is how a stop request takes effect within one batch.
        warnings.filterwarnings(
            "ignore", message="Your input ran out of data", category=UserWarning
        )
        return time.perf_counter() - start


def train(
    exp: Experiment,
    on_event: EventCallback,
    stop: StopRequest | None = None,
    *,
    store: RunStore | None = None,
    save: bool = True,
    xla: bool = True,
) -> Outcome:
    """Trains the experiment, forecasts the validation period and scores it against naive.

    ``xla=False`` runs plain graph execution, as the course does (tests compare the two).
    """
    return _Run(exp, "train", on_event, stop, store, save, xla).execute()


def sweep(
    exp: Experiment,
    on_event: EventCallback,
    stop: StopRequest | None = None,
    *,
    store: RunStore | None = None,
    save: bool = True,
    xla: bool = True,
) -> Outcome:
    """The course's learning-rate sweep: rate = start * 10**(epoch / epochs_per_decade).

    The optimizer, momentum and loss are the experiment's. One ``SweepPoint`` per epoch. With
    ``sweep.early_stop`` the sweep ends once the loss passes 4x its best; it always ends when the
    loss becomes NaN or infinite. ``RunFinished.suggestions`` holds minimum, steep and valley
    (engine.sweep defines them).
    """
    return _Run(exp, "sweep", on_event, stop, store, save, xla).execute()


# --- data -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Data:
    """The windows of one experiment, cut once."""

    series: Series
    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    steps: int
    val_steps: int


def _prepare(exp: Experiment, seq2seq: bool) -> _Data:
    """Training windows from the training part; validation windows predict each validation point.

    Sequence-to-sequence models learn the window shifted by one step (the course's week 4 labels).
    """
    w, batch = exp.window.window, exp.window.batch_size
    series = load_series(exp.series, w)
    cut = seq2seq_windows if seq2seq else seq2vec_windows
    x, y = cut(series.train, w)
    x_val, y_val = cut(series.values[series.split_time - w :], w)
    return _Data(series, x, y, x_val, y_val, -(-len(x) // batch), -(-len(x_val) // batch))


def _steps_per_execution(steps: int) -> int:
    """The largest divisor of an epoch's batches up to 64, so executions never straddle epochs."""
    return max(d for d in range(1, min(steps, MAX_STEPS_PER_EXECUTION) + 1) if steps % d == 0)


def _stop_when(dataset: Any, running: Any) -> Any:
    """Ends the dataset once the run's ``running`` variable turns false, checked as training
    takes each batch: a stop request lets the batch in flight finish and no other start.

    The variable is flipped by ``StopRequest.set`` (engine.stop), so the check is a variable read.
    tf.data must not prefetch after the check, or batches taken before the request would still
    be trained: its automatic prefetch injection is turned off.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    return dataset.take_while(lambda *_: running.read_value()).with_options(options)


def _train_dataset(data: _Data, exp: Experiment, running: Any) -> Any:
    """The cached windows, reshuffled every epoch through the experiment's shuffle buffer (as the
    course's ``windowed_dataset`` does, seeded), batched, repeated for every epoch."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((data.x, data.y))
    ds = ds.shuffle(exp.window.shuffle_buffer, seed=exp.train.seed, reshuffle_each_iteration=True)
    # prefetching ahead (the next epoch's shuffle included) is safe: the stop check comes after it
    ds = ds.batch(exp.window.batch_size).repeat().prefetch(tf.data.AUTOTUNE)
    return _stop_when(ds, running)


def _validation_dataset(data: _Data, exp: Experiment, running: Any) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((data.x_val, data.y_val))
    return _stop_when(ds.batch(exp.window.batch_size).prefetch(1), running)


# --- model ----------------------------------------------------------------------------------------


def _compile(model: Any, exp: Experiment, learning_rate: float, xla: bool, spe: int) -> None:
    import keras

    t = exp.train
    if t.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=t.momentum)
    else:
        optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    loss = {
        "huber": keras.losses.Huber(),
        "mse": keras.losses.MeanSquaredError(),
        "mae": keras.losses.MeanAbsoluteError(),
    }[t.loss]
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=["mae"],
        jit_compile=xla,
        steps_per_execution=spe,
    )


def build_model(model_spec: Any, window: int, unroll: bool = False) -> Any:
    """engine.keras_model.build_model, looked up here so tests can substitute a model."""
    from engine import keras_model

    return keras_model.build_model(model_spec, window, unroll=unroll)


def _xla_failure(exc: BaseException) -> str | None:
    """A short reason if ``exc`` is XLA failing to compile the training step, else None."""
    import tensorflow as tf

    if not isinstance(exc, (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError)):
        return None
    text = str(exc)
    found = re.search(r"Detected unsupported operations[^:]*: ([\w, ]+)", text)
    if found:
        return f"unsupported operation {found.group(1).strip()}"
    if "XLA" in text or "jit" in text.lower():
        return next((line for line in text.splitlines() if "XLA" in line), "compilation failed")
    return None


def _save_model(model: Any, path: Path) -> None:
    """Saves the ``.keras`` file atomically: written under a temporary name, then renamed."""
    tmp = path.with_name(f".{path.stem}-{secrets.token_hex(4)}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@cache
def _reporter_class() -> type:
    """The Keras callback that forwards fit's hooks to a ``_Run`` (needs Keras, hence lazy)."""
    import keras

    class Reporter(keras.callbacks.Callback):
        def __init__(self, run: _Run) -> None:
            super().__init__()
            self.run = run

        def on_epoch_begin(self, epoch, logs=None):
            self.run.epoch_began()

        def on_train_batch_end(self, batch, logs=None):
            self.run.batch_ended(batch, logs or {})

        def on_test_batch_end(self, batch, logs=None):
            self.run.validation_batch_ended()

        def on_epoch_end(self, epoch, logs=None):
            self.run.epoch_ended(epoch, logs or {})

    return Reporter


# --- one run --------------------------------------------------------------------------------------


class _Run:
    """The state of one train or sweep run, from checks to the final event."""

    def __init__(
        self,
        exp: Experiment,
        kind: str,
        on_event: EventCallback,
        stop: StopRequest | None,
        store: RunStore | None,
        save: bool,
        xla: bool,
    ) -> None:
        self.exp = exp
        self.kind = kind
        self.on_event = on_event
        if stop is not None and not isinstance(stop, StopRequest):
            raise TypeError(f"stop must be an engine.stop.StopRequest, not {type(stop).__name__}")
        self.stop = stop if stop is not None else StopRequest()
        self.running: Any = None  # a tf.Variable the input pipeline reads; False once stopped
        self.store = (store or RunStore()) if save else None
        self.xla = xla
        self.handle: RunHandle | None = None
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{kind}-{secrets.token_hex(2)}"
        self.total_epochs = exp.train.epochs if kind == "train" else exp.sweep.epochs
        self.notes: list[str] = []
        self.model: Any = None
        self.data: _Data | None = None
        self.params = 0
        self.spe = 1
        self.started = False
        self.epochs_done = 0
        self.t0 = time.perf_counter()
        self.epoch_t0 = self.t0
        self.last_progress = 0.0
        self.best_loss = math.inf
        self.points: list[tuple[float, float]] = []
        self.end: tuple[str, str] | None = None  # (why, text): stopped | diverged | exploded | io
        self.closed = False  # the run folder has its final status

    # events and the run folder

    @property
    def run_dir(self) -> str | None:
        return str(self.handle.path) if self.handle else None

    def emit(self, event: Event) -> None:
        self.on_event(event)

    def log(self, text: str) -> None:
        """Appends a line to ``run.log``; best effort (a full disk is reported by the saves)."""
        if self.handle is None:
            return
        with (
            contextlib.suppress(OSError),
            open(self.handle.path / "run.log", "a", encoding="utf-8") as handle,
        ):
            handle.write(f"{datetime.now().isoformat(timespec='seconds')} {text}\n")

    def close(self, status: str, reason: str | None = None) -> None:
        """Records the final status once (a later failure cannot overwrite a finished run)."""
        if self.handle is not None and not self.closed:
            self.closed = True
            self.handle.finish(status, reason)

    def fail(self, message: str) -> RunFailed:
        self.log(f"failed: {message}")
        # If even the status cannot be written, it stays "running" and lists as interrupted.
        with contextlib.suppress(OSError):
            self.close("failed", message)
        event = RunFailed(self.run_id, self.kind, message, self.run_dir)
        self.emit(event)
        return event

    # the run

    def execute(self) -> Outcome:
        with _RUN_LOCK:
            try:
                failed = self.prepare()
                if failed is not None:
                    return failed
                with self.stop.watched(self.refuse_batches):
                    return self.fit_and_finish()
            except SeqlabError as exc:
                return self.fail(str(exc))
            except BaseException as exc:
                if self.handle is not None:
                    self.log("".join(traceback.format_exception(exc)))
                if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                    with contextlib.suppress(OSError):
                        self.close("stopped", "interrupted (Ctrl+C)")
                    raise
                first_line = (str(exc).strip().splitlines() or [""])[0]
                where = " (details in run.log)" if self.handle else ""
                return self.fail(f"unexpected error: {type(exc).__name__}: {first_line}{where}")

    def prepare(self) -> RunFailed | None:
        """Every check that needs no TensorFlow, then the run folder: fails before training."""
        exp = self.exp
        problems = check(exp)
        if problems:
            return self.fail("; ".join(map(str, problems)))
        report = infer(exp.model, batch=exp.window.batch_size, steps=exp.window.window)
        if report.problems:
            return self.fail("the model cannot be built: " + " ".join(map(str, report.problems)))
        self.params = report.total_params or 0
        self.data = _prepare(exp, seq2seq=report.mode == SEQ2SEQ)
        self.spe = _steps_per_execution(self.data.steps)
        if self.store is not None:
            try:
                self.store.check_writable()
                self.handle = self.store.create(exp, self.kind, self.total_epochs)
            except OSError as exc:
                return self.fail(f"cannot create a run in {self.store.root}: {exc.strerror or exc}")
            self.run_id = self.handle.run_id
        try:
            load_tensorflow()
        except ImportError as exc:
            return self.fail(f"TensorFlow could not be loaded: {exc}")
        import tensorflow as tf

        self.running = tf.Variable(True, trainable=False, name="running")
        return None

    def refuse_batches(self) -> None:
        """Called by ``StopRequest.set`` in the thread that sets it: ends the datasets."""
        self.running.assign(False)

    def build(self, xla: bool) -> tuple[Any, Any, Any]:
        """A fresh, seeded model and datasets (also used again after an XLA fallback)."""
        import keras

        keras.backend.clear_session()
        keras.utils.set_random_seed(self.exp.train.seed)
        window = self.exp.window.window
        model = build_model(self.exp.model, window, unroll=xla and window <= UNROLL_MAX_STEPS)
        lr = self.exp.train.learning_rate if self.kind == "train" else self.exp.sweep.start
        _compile(model, self.exp, lr, xla, self.spe)
        train_ds = _train_dataset(self.data, self.exp, self.running)
        val = self.kind == "train" and self.exp.train.validate
        return (
            model,
            train_ds,
            (_validation_dataset(self.data, self.exp, self.running) if val else None),
        )

    def fit(self, xla: bool) -> None:
        import keras

        self.model, train_ds, val_ds = self.build(xla)
        callbacks: list[Any] = [_reporter_class()(self)]
        if self.kind == "sweep":
            s = self.exp.sweep
            schedule = keras.callbacks.LearningRateScheduler(
                lambda epoch, _lr: float(s.start * 10 ** (epoch / s.epochs_per_decade))
            )
            callbacks.insert(0, schedule)
        self.model.fit(
            train_ds,
            epochs=self.total_epochs,
            steps_per_epoch=self.data.steps,
            validation_data=val_ds,
            validation_steps=self.data.val_steps if val_ds is not None else None,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles itself every epoch
            verbose=0,
        )

    def fit_and_finish(self) -> Outcome:
        self.log(
            f"{self.kind} {self.exp.name}: {self.total_epochs} epochs of {self.data.steps} "
            f"batches, {self.spe} per execution, XLA {'on' if self.xla else 'off'}, "
            f"{self.params} params"
        )
        try:
            self.fit(self.xla)
        except Exception as exc:
            reason = _xla_failure(exc) if self.xla and not self.started else None
            if reason is None:
                raise
            note = f"XLA could not compile this model ({reason}); training without it"
            self.notes.append(note)
            self.log(note)
            self.fit(False)
        if not self.started:  # stopped before the first batch
            self.announce()
        if self.end is not None:
            return self.ended_early()
        return self.finish_sweep() if self.kind == "sweep" else self.finish_train()

    # hooks called by the Keras callback

    def announce(self) -> None:
        self.started = True
        self.emit(
            RunStarted(
                run_id=self.run_id,
                kind=self.kind,
                experiment_name=self.exp.name,
                total_epochs=self.total_epochs,
                steps_per_epoch=self.data.steps,
                params=self.params,
                run_dir=self.run_dir,
                notes=tuple(self.notes),
            )
        )

    def epoch_began(self) -> None:
        self.epoch_t0 = time.perf_counter()

    def halt(self, why: str, text: str) -> None:
        if self.end is None:
            self.end = (why, text)
        self.model.stop_training = True

    def batch_ended(self, batch: int, logs: dict[str, Any]) -> None:
        if not self.started:
            self.announce()
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.halt("diverged", self.divergence(float(loss)))
            return
        if self.stop.is_set():
            self.halt("stopped", "")
            return
        now = time.perf_counter()
        if now - self.last_progress >= PROGRESS_INTERVAL:
            self.last_progress = now
            step = min(batch + 1, self.data.steps)
            self.emit(BatchProgress(self.run_id, self.epochs_done + 1, step, self.data.steps))

    def validation_batch_ended(self) -> None:
        if self.stop.is_set():
            self.model.stop_evaluating = True
            self.halt("stopped", "")

    def learning_rate(self) -> float:
        """The optimizer's current rate (Keras 3 epoch logs hold none without a scheduler)."""
        return float(self.model.optimizer.learning_rate.numpy())

    def divergence(self, loss: float) -> str:
        what = "NaN" if math.isnan(loss) else "infinite"
        lr = self.learning_rate()
        epoch = self.epochs_done + 1
        if self.kind == "sweep":
            return f"the loss became {what} in epoch {epoch} at learning rate {lr:.3g}"
        tips = f"lower the learning rate (try {lr / 10:.3g}), or run a learning-rate sweep"
        if self.exp.train.optimizer == "sgd":
            tips += " ('seqlab sweep'); Adam is also less sensitive to the rate"
        return (
            f"the loss became {what} in epoch {epoch} at learning rate {lr:.3g}: training "
            f"diverged. To fix it, {tips}."
        )

    def epoch_ended(self, epoch: int, logs: dict[str, Any]) -> None:
        if self.end is not None or self.stop.is_set():
            self.halt("stopped", "")  # a partly run epoch is not recorded
            return
        loss = float(logs.get("loss", math.nan))
        if not math.isfinite(loss):
            self.halt("diverged", self.divergence(loss))
            return
        lr = self.learning_rate()
        seconds = time.perf_counter() - self.epoch_t0
        number = epoch + 1
        if self.kind == "train":
            val_loss, val_mae = logs.get("val_loss"), logs.get("val_mae")
            event: Event = EpochEnded(
                run_id=self.run_id,
                epoch=number,
                total_epochs=self.total_epochs,
                loss=loss,
                mae=float(logs.get("mae", math.nan)),
                learning_rate=lr,
                seconds=seconds,
                val_loss=None if val_loss is None else float(val_loss),
                val_mae=None if val_mae is None else float(val_mae),
            )
        else:
            event = SweepPoint(self.run_id, number, self.total_epochs, lr, loss, seconds)
            self.points.append((lr, loss))
        if self.handle is not None:
            row = dataclasses.asdict(event)
            try:
                self.handle.append(row)
            except OSError as exc:
                self.halt("io", f"could not save the history: {exc.strerror or exc}")
                return
        self.epochs_done = number
        self.emit(event)
        if self.kind == "sweep":
            self.best_loss = min(self.best_loss, loss)
            if self.exp.sweep.early_stop and loss > EXPLODED * self.best_loss:
                self.halt(
                    "exploded",
                    f"the loss passed {EXPLODED:g}x its best at learning rate {lr:.3g}",
                )

    # endings

    def ended_early(self) -> Outcome:
        why, text = self.end
        if why == "io":
            return self.fail(text)
        if self.kind == "sweep" and why in ("diverged", "exploded"):
            return self.finish_sweep(note=text)
        if why == "stopped":
            done = self.epochs_done
            text = f"stopped by request after {done} epoch{'s' if done != 1 else ''}"
        self.log(f"stopped: {text}")
        self.close("stopped", text)
        event = RunStopped(self.run_id, self.kind, self.epochs_done, text, self.run_dir)
        self.emit(event)
        return event

    def finish_train(self) -> Outcome:
        from engine.forecast import validation_forecast

        series = self.data.series
        forecast = validation_forecast(self.model, series, self.exp.window.window)
        scores = {f"val_{k}": v for k, v in metrics(series.valid, forecast).items()}
        naive = metrics(series.valid, naive_forecast(series))
        scores.update({f"naive_{k}": v for k, v in naive.items()})
        if self.handle is not None:
            try:
                _save_model(self.model, self.handle.model_path)
                self.handle.write_forecast(series.time_valid, series.valid, forecast)
                self.handle.write_metrics(scores)
            except OSError as exc:
                return self.fail(f"could not save the run in {self.run_dir}: {exc.strerror or exc}")
            self.log(f"finished: validation MAE {scores['val_mae']:.4f}")
            self.close("finished")
        event = RunFinished(
            run_id=self.run_id,
            kind="train",
            epochs=self.epochs_done,
            seconds=time.perf_counter() - self.t0,
            metrics=scores,
            forecast=tuple(float(v) for v in forecast),
            run_dir=self.run_dir,
        )
        self.emit(event)
        return event

    def finish_sweep(self, note: str | None = None) -> Outcome:
        lrs = np.array([p[0] for p in self.points])
        losses = np.array([p[1] for p in self.points])
        suggestions = suggest(lrs, losses)  # SeqlabError (too few points) -> RunFailed
        best = int(np.argmin(losses))
        scores = {"best_loss": float(losses[best]), "best_learning_rate": float(lrs[best])}
        if self.handle is not None:
            try:
                self.handle.write_metrics({**scores, "suggestions": suggestions})
            except OSError as exc:
                return self.fail(f"could not save the run in {self.run_dir}: {exc.strerror or exc}")
            self.log("finished" + (f" early: {note}" if note else ""))
            self.close("finished", note)
        event = RunFinished(
            run_id=self.run_id,
            kind="sweep",
            epochs=self.epochs_done,
            seconds=time.perf_counter() - self.t0,
            metrics=scores,
            suggestions=suggestions,
            run_dir=self.run_dir,
        )
        self.emit(event)
        return event
