"""Forecasts from a saved run's model: past the end of its series, and its backtest.

``seqlab forecast`` / ``seqlab backtest`` and the app's engine process (its ``forecast`` command)
use these, and the run itself used the same functions (engine.forecast) when it finished, so all
three give the same numbers. The run folder holds what they need: ``experiment.toml`` (the series
and the settings), ``model.keras`` and ``scaler.json``; the series is read again from its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import SeqlabError
from engine.events import Backtest, FutureForecast
from engine.forecast import Forecaster, backtest, future_forecast, holdout_widths
from engine.intervals import min_errors
from engine.runstore import RunStore
from engine.scaling import Scaler
from engine.series import Series, load_series
from engine.specs import Experiment
from engine.windows import holdout_points

MAX_STEPS = 10_000  # as forecast.future allows


@dataclass(frozen=True)
class SavedModel:
    """A finished training run, loaded: its experiment, series and model (with its scaler)."""

    run_id: str
    exp: Experiment
    series: Series
    forecaster: Forecaster

    @property
    def fit_end(self) -> int:
        split = self.series.split_time
        return split - holdout_points(self.exp.train.holdout, split)

    def widths(self, steps: int) -> np.ndarray:
        """Interval half-widths for steps 1..``steps``, calibrated on the holdout slice as the
        run did (empty when the slice is too short or absent)."""
        held = self.series.split_time - self.fit_end
        if held == 0 or held < min_errors(self.exp.forecast.level):
            return np.empty(0)
        return holdout_widths(
            self.forecaster, self.series, self.fit_end, steps, self.exp.forecast.level
        )


def load(run: str | Path, store: RunStore | None = None) -> SavedModel:
    """The run (folder, id or unique part of an id) with its model; a SeqlabError says why a
    run cannot forecast (a sweep, not finished, files missing or unreadable, series gone)."""
    store = store or RunStore()
    info = store.find(str(run))
    if info.kind != "train":
        raise SeqlabError(f"run {info.run_id} is a learning-rate sweep: it has no model")
    if info.status == "corrupt":
        raise SeqlabError(f"run {info.run_id} cannot be read: {info.reason}")
    if info.status != "finished":
        raise SeqlabError(
            f"run {info.run_id} is {info.status}: only a finished training run saved its model"
        )
    exp = store.experiment(info.path)
    try:
        series = load_series(exp.series, exp.window.window)
    except SeqlabError as exc:
        raise SeqlabError(f"run {info.run_id}: cannot read its series again: {exc}") from None
    scaler_path = info.path / "scaler.json"
    scaler = Scaler()  # runs from before normalisation trained on raw values
    if scaler_path.exists():
        try:
            saved = json.loads(scaler_path.read_text(encoding="utf-8"))
            # a portable model (engine.keras_model.portable_model) normalises inside itself;
            # runs saved before it hold the trained model, which takes normalised values
            if not saved.get("in_model"):
                scaler = Scaler.from_dict(saved)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SeqlabError(f"run {info.run_id}: scaler.json is unreadable ({exc})") from None
    model_path = info.path / "model.keras"
    if not model_path.exists():
        raise SeqlabError(f"run {info.run_id}: model.keras is missing")
    from engine import training
    from engine.keras_model import load_model

    training.load_tensorflow()
    try:
        model = load_model(model_path)
    except Exception as exc:  # Keras raises many kinds for a damaged file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SeqlabError(f"run {info.run_id}: cannot load model.keras ({first})") from None
    return SavedModel(info.run_id, exp, series, Forecaster(model, scaler))


def check_steps(steps: int, field: str = "--steps") -> None:
    if not 1 <= steps <= MAX_STEPS:
        raise SeqlabError(f"{field} = {steps}: allowed: a whole number from 1 to {MAX_STEPS:,}")


def forecast_run(saved: SavedModel, steps: int) -> FutureForecast:
    """``steps`` values past the end of the run's series, with the band where it reaches."""
    check_steps(steps)
    level = saved.exp.forecast.level
    return future_forecast(saved.forecaster, saved.series, steps, saved.widths(steps), level)


def backtest_run(saved: SavedModel, horizon: int) -> Backtest:
    """The rolling-origin backtest of the run's validation period, ``horizon`` steps ahead."""
    check_steps(horizon, "--horizon")
    series = saved.series
    tested = backtest(
        saved.forecaster,
        series,
        horizon,
        saved.exp.series.period,
        saved.widths(horizon),
        saved.exp.forecast.level,
    )
    if tested is None:
        raise SeqlabError(
            f"--horizon = {horizon}: the validation period has {len(series.valid)} points; "
            f"allowed: a horizon from 1 to {len(series.valid)}"
        )
    return tested
