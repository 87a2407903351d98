"""One trial of a search, as Ray Tune runs it: a seqlab training run inside a Tune Trainable.

Imports Ray at its top (Tune needs the class); only engine.search imports this module, inside
the function that starts a search. The trial is seqlab's own trainer (``engine.training.train``)
in a thread: each epoch's holdout MAE goes to Tune through the ``step`` Tune calls — the small
reporting bridge the issue asks for, instead of Ray's deprecated packaged Keras callback — and
the trainer waits at each epoch's end until Tune asks for the next one, so a trial Tune does not
continue (ASHA pruned it, or the search was stopped) uses no CPU. When Tune ends the trial
(``cleanup``) or reuses its process for the next one (``reset_config``), a stop request ends the
run within one batch and it is saved as stopped, with what it learned, like any stopped run.
Why a Trainable class and not a function: a function trial is left blocked inside Tune's report
when it is stopped and its process is ended, so its run folder would never be saved.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from typing import Any

from ray import tune

from engine import config, search_space, training
from engine.events import EpochEnded, RunFailed, RunFinished, RunStarted, RunStopped
from engine.runstore import RunStore
from engine.stop import StopRequest

POLL_SECONDS = 0.2  # how often a trial looks at the study's stop signal


@dataclass(frozen=True)
class TrialContext:
    """What every trial of one search shares (sent once to each trial process)."""

    base_toml: str  # the base experiment (paths made absolute by the driver)
    runs_root: str
    study_id: str
    desk: Any  # the study's stop signal and trial numbers (a Ray actor: engine.search)


class SeqlabTrial(tune.Trainable):
    """A seqlab run for one point of the search space; one ``step`` per epoch."""

    def setup(self, config: dict[str, Any], context: TrialContext) -> None:  # type: ignore[override]
        self._context = context
        self._base = _base(context.base_toml)
        self._thread: threading.Thread | None = None
        self._begin(config)

    def _begin(self, params: dict[str, Any]) -> None:
        ctx = self._context
        import ray

        number = ray.get(ctx.desk.number.remote(self.trial_id, dict(params)), timeout=60)
        self._events: queue.Queue[Any] = queue.Queue()
        self._go = threading.Semaphore(0)
        self._stop = StopRequest()
        self._ended = threading.Event()
        self._asked = False
        self._last: dict[str, Any] = {}
        self._holdout: dict[int, float] = {}  # each epoch's holdout MAE
        self._kept, self._kept_loss = 0, float("inf")
        self._run: dict[str, Any] = {"trial": number}
        exp = search_space.apply(self._base, params, name=f"{self._base.name} trial {number}")
        self._train_spec = exp.train
        store = RunStore(ctx.runs_root, labels={"study": ctx.study_id, "trial": number})
        self._thread = threading.Thread(
            target=self._train, args=(exp, store), name=f"trial-{number}", daemon=True
        )
        self._thread.start()
        threading.Thread(
            target=self._watch_signal, args=(self._stop, self._go, self._ended), daemon=True
        ).start()

    def _train(self, exp: Any, store: RunStore) -> None:
        try:
            outcome = training.train(exp, self._on_event, self._stop, store=store)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver as a failed trial
            outcome = RunFailed(run_id="", kind="train", message=f"{type(exc).__name__}: {exc}")
        self._ended.set()
        self._events.put(outcome)

    def _signal_reason(self) -> str | None:
        """Why the study's stop signal was set (Ctrl+C on the driver), or None."""
        import ray

        try:
            return ray.get(self._context.desk.reason.remote(), timeout=5)
        except Exception:  # noqa: BLE001 - the driver has gone: stop as it would have asked
            return "the search's driver ended"

    def _watch_signal(
        self, stop: StopRequest, go: threading.Semaphore, ended: threading.Event
    ) -> None:
        """Stops this trial's run once the study's stop signal is set (its own objects: the
        process may go on to the next trial)."""
        while not ended.wait(POLL_SECONDS):
            reason = self._signal_reason()
            if reason:
                stop.set(by=reason)
                go.release()
                return

    def _on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self._run.update(run_id=event.run_id, run_dir=event.run_dir)
            self._events.put(event)
        elif isinstance(event, EpochEnded):
            self._events.put(event)
            if event.epoch < event.total_epochs and not self._stop.is_set():
                self._go.acquire()  # until Tune asks for the next epoch, or the trial is ended

    def step(self) -> dict[str, Any]:
        if self._asked:
            self._go.release()
        self._asked = True
        while True:
            event = self._events.get()
            if isinstance(event, RunStarted):
                continue
            if isinstance(event, EpochEnded):
                self._holdout[event.epoch] = _finite(event.holdout_mae)
                self._keep(event)
                self._last = {
                    **self._run,
                    "epoch": event.epoch,
                    "total_epochs": event.total_epochs,
                    search_space.METRIC: self._holdout[self._kept],
                    "val_mae": event.val_mae,
                    "loss": event.loss,
                }
                if event.epoch < event.total_epochs:
                    return self._last
                continue  # the last epoch: its result goes with the run's end
            return self._final(event)

    def _keep(self, event: EpochEnded) -> None:
        """The epoch the run would keep if it ended now (a stopped or pruned run keeps it too):
        the lowest holdout loss so far with ``restore_best``, else the last. The metric Tune
        and ASHA compare is that epoch's holdout MAE: what the trial would deliver."""
        train = self._train_spec
        loss = event.holdout_loss if event.holdout_loss is not None else float("inf")
        if not train.restore_best or event.epoch == 1 or loss < self._kept_loss - train.min_delta:
            self._kept, self._kept_loss = event.epoch, loss

    def _final(self, outcome: Any) -> dict[str, Any]:
        """The trial's last result: the run's end (``status``, which tells the driver it ran to
        the end of its budget or its early stop), and the kept epoch's holdout MAE."""
        result = {"epoch": 0, search_space.METRIC: float("inf"), **self._last, **self._run}
        done = outcome.results if isinstance(outcome, RunStopped) else outcome
        if isinstance(done, RunFinished):
            kept = done.metrics.get("best_epoch")
            if isinstance(kept, int) and kept in self._holdout:
                result[search_space.METRIC] = self._holdout[kept]
            result.update(val_mae=done.metrics.get("val_mae"), naive=done.metrics.get("naive_mae"))
        status = {RunFinished: "finished", RunStopped: "stopped"}.get(type(outcome), "failed")
        reason = getattr(outcome, "message", None) or getattr(outcome, "reason", None)
        result.update(status=status, reason=reason, done=True)
        return result

    def _finish(self) -> None:
        """Ends the current run (saved as stopped if it was still training) and waits for it."""
        if self._thread is not None and self._thread.is_alive():
            # Tune ends the trials of a stopped search too: the signal says who asked
            self._stop.set(by=self._signal_reason() or "the search's scheduler")
            self._go.release()
            self._thread.join()
        self._ended.set()

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Tune reuses this process for the next trial: TensorFlow is loaded once per process."""
        self._finish()
        self._begin(new_config)
        return True

    def cleanup(self) -> None:
        self._finish()


def _base(text: str) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return config.loads(text, "the search's base experiment")


def _finite(value: float | None) -> float:
    return float("inf") if value is None or value != value else float(value)
