"""Normalising a series for training: fitted on the fitting part only, inverted for forecasts.

``fit_scaler`` takes its statistics from the values the model is fitted on — the training period
minus its holdout slice (engine.training) — so neither the validation period nor the holdout
slice, which choose and score the model, shapes what it is trained on. The model then sees
``transform(values)`` as inputs and targets; its outputs go back through ``inverse``, so every
metric, chart and saved forecast stays in the series' own units.

The round trip is exact: the offset is a float32 number and the scale a power of two, so in
float64 ``x - offset`` is exact for float32 values (unless one is below 2**-29 of the other's
size: zero is fine) and scaling by a power of two only moves the exponent. "standard" therefore
gives a spread from about 0.7 to 1.4 rather than exactly 1, which training does not mind.

"last" standardises as "standard" does, then makes each window relative to its own last input
value: the window's inputs and its target(s) (every step of a sequence-to-sequence target) have
that value subtracted (``relative``), and predictions have it added back (``absolute``) before
``inverse``. The network then learns the change from the naive forecast rather than the level,
which matters for a trending series whose validation period lies above the training range: a
level it never saw is only an offset it removes. The reference is the window's own last input,
known when the forecast is made, so nothing from the future enters. Subtracting it changes no
absolute error, so MAEs convert to the series' units by ``scale`` alone, as for "standard". In
float64 ``relative`` then ``absolute`` is exact on float32 windows, for the reason above.

A run folder keeps its scaler as ``scaler.json`` (``to_dict``), beside the model it belongs to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.specs import NORMALISATIONS


@dataclass(frozen=True)
class Scaler:
    """``transform(x) = (x - offset) / scale``; kind "none" leaves values untouched.

    ``relative``/``absolute`` act on windows; they change nothing unless ``kind`` is "last".
    """

    kind: str = "none"
    offset: float = 0.0
    scale: float = 1.0

    def transform(self, x: Any) -> np.ndarray:
        if self.kind == "none":
            return np.asarray(x)
        return (np.asarray(x, dtype="float64") - self.offset) / self.scale

    def inverse(self, x: Any) -> np.ndarray:
        if self.kind == "none":
            return np.asarray(x)
        return np.asarray(x, dtype="float64") * self.scale + self.offset

    def relative(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows ``x`` (n, w) and their targets ``y`` ((n,) or (n, steps)) in transformed
        units, made relative to each window's last input (for "last"; others: unchanged);
        returns (x', y', references (n,))."""
        rel_x, ref = self.relative_inputs(x)
        if self.kind != "last":
            return rel_x, np.asarray(y), ref
        return rel_x, np.asarray(y, dtype="float64") - _column(ref, np.ndim(y)), ref

    def relative_inputs(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Windows (n, w) relative to their last value, and those values (n,); for the windows
        of a forecast, which have no targets. Other kinds: the windows as they are, zeros."""
        x = np.asarray(x)
        if self.kind != "last":
            return x, np.zeros(len(x))
        ref = x[:, -1].astype("float64")
        return x.astype("float64") - ref[:, None], ref

    def absolute(self, pred: Any, ref: Any) -> np.ndarray:
        """Predictions ((n,), (n, steps) or (n, steps, 1)) back from relative to transformed
        units: each window's reference added back (for "last"; others: unchanged)."""
        if self.kind != "last":
            return np.asarray(pred)
        return np.asarray(pred, dtype="float64") + _column(np.asarray(ref), np.ndim(pred))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        return cls(str(data["kind"]), float(data["offset"]), float(data["scale"]))


def fit_scaler(kind: str, train_values: Any) -> Scaler:
    """The scaler of ``kind`` fitted on ``train_values``: standard and last (mean 0, std about
    1) or minmax (from 0 to about 1), the spread rounded to a power of two. Constant values keep
    a scale of 1, so they map to 0 instead of dividing by 0."""
    if kind not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, not {kind!r}")
    if kind == "none":
        return Scaler()
    v = np.asarray(train_values, dtype="float64")
    if v.size == 0:
        raise ValueError("cannot fit a scaler on no values")
    if kind in ("standard", "last"):
        offset, spread = float(v.mean()), float(v.std())
    else:
        offset, spread = float(v.min()), float(v.max() - v.min())
    scale = 2.0 ** round(math.log2(spread)) if spread > 0 else 1.0
    return Scaler(kind, float(np.float32(offset)), scale)


def _column(ref: np.ndarray, ndim: int) -> np.ndarray:
    """References (n,) shaped to broadcast over an array of ``ndim`` dimensions, window first."""
    return ref.reshape(-1, *([1] * (ndim - 1)))
