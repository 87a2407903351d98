"""The learning-rate sweep's schedule and the rates it suggests (numpy only, no TensorFlow).

The course sweeps the rate ``start * 10**(epoch / epochs_per_decade)`` (1e-8, 20, 100 epochs) and
reads a good rate off a plot of loss against rate. ``suggest`` turns that plot into three numbers,
each defined in its own function below; ``SUGGESTIONS`` says what each means, in the order every
view lists them. ``engine.training.sweep`` runs the sweep itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError, SeqlabError
from engine.specs import Experiment, SweepSpec, TrainSpec, check_value

EXPLODED = 4.0  # a loss above this many times the best so far has left the useful part of the curve

# Where a sweep starts when ``sweep.start`` is None: SGD's useful rates on raw values sit far
# lower than Adam-like optimizers', whose steps are scaled by the gradients' own size.
DEFAULT_STARTS = {"sgd": 1e-8, "adam": 1e-6, "adamw": 1e-6, "rmsprop": 1e-6}
# A range test's losses are single batches', far noisier than an epoch's mean: its suggestions and
# early stop read them smoothed, as fastai's lr_find does (a debiased moving average).
BATCH_SMOOTHING = 0.98


@dataclass(frozen=True)
class Suggestion:
    """One suggested rate as the views describe it: its key in ``suggest``'s result, and why."""

    name: str
    meaning: str


# The order every view lists the suggestions in: the recommended one first.
SUGGESTIONS = (
    Suggestion("valley", "middle of the longest falling stretch (usually the best start)"),
    Suggestion("steep", "where the loss falls fastest"),
    Suggestion("minimum", "the rate at the lowest loss ÷ 10"),
)
RECOMMENDED = SUGGESTIONS[0]  # valley: the rate to train with when in doubt


def sweep_start(spec: SweepSpec, optimizer: str) -> float:
    """The sweep's first rate: ``spec.start``, or the optimizer's default when it is None."""
    return spec.start if spec.start is not None else DEFAULT_STARTS[optimizer]


def sweep_rate(spec: SweepSpec, optimizer: str, step: int) -> float:
    """The rate of step ``step`` (0-based: an epoch, or a batch in ``mode = "batch"``)."""
    return float(sweep_start(spec, optimizer) * 10 ** (step / spec.epochs_per_decade))


def sweep_rates(spec: SweepSpec, optimizer: str = "sgd") -> np.ndarray:
    """The rate of every step (0-based), as the course's ``LearningRateScheduler`` sets it."""
    return np.array([sweep_rate(spec, optimizer, i) for i in range(spec.epochs)])


def smoothed(losses: np.ndarray, beta: float = BATCH_SMOOTHING) -> np.ndarray:
    """The debiased exponential moving average of ``losses``: point i weighs the losses up to
    it by ``beta ** age``, divided by ``1 - beta ** (i + 1)`` so the first points are not pulled
    towards zero."""
    out = np.empty(len(losses))
    average = 0.0
    for i, loss in enumerate(np.asarray(losses, dtype="float64")):
        average = beta * average + (1 - beta) * loss
        out[i] = average / (1 - beta ** (i + 1))
    return out


def _finite(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(losses, dtype="float64")
    if lrs.shape != losses.shape:
        raise ValueError(f"{lrs.shape[0]} rates but {losses.shape[0]} losses")
    keep = np.isfinite(lrs) & np.isfinite(losses) & (lrs > 0)
    return lrs[keep], losses[keep]


def minimum(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate at the lowest loss, divided by 10.

    At the lowest point the rate is already close to unstable; a tenth of it trains steadily
    (the usual rule of thumb for learning-rate finders).
    """
    return float(lrs[int(np.argmin(losses))] / 10)


def steep(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where the loss falls fastest on the way down to its minimum.

    Slope = change of loss per decade of rate (``np.gradient`` over log10 rate), taken only up to
    the lowest point so that the noisy, diverging part after it cannot win. If the loss never
    falls (lowest at the first point), the first rate.
    """
    lowest = int(np.argmin(losses))
    if lowest == 0:
        return float(lrs[0])
    x, y = np.log10(lrs[: lowest + 1]), losses[: lowest + 1]
    return float(lrs[int(np.argmin(np.gradient(y, x)))])


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The middle of the longest falling stretch of the curve's useful part.

    Useful part: the points whose loss is within ``EXPLODED`` (4) times the lowest loss, the same
    bound the sweep's early stop uses and roughly the course's zoomed plot axis; far above it the
    model has not started learning yet, or has diverged. Falling stretch: points in order of rising
    rate, each with a lower loss than the one before; points that break the fall are skipped as
    noise, so this is the longest strictly decreasing subsequence. The suggestion is the middle of
    that stretch on the log axis: the geometric mean of its first and last rates. Ties go to the
    stretch that ends lowest.
    """
    keep = losses <= EXPLODED * losses.min()
    x, y = lrs[keep], losses[keep]
    n = len(y)
    length = np.ones(n, dtype=int)
    start = np.arange(n)
    for i in range(1, n):
        for j in range(i):
            if y[j] > y[i] and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
                start[i] = start[j]
    best = max(range(n), key=lambda i: (length[i], -y[i]))
    return float(np.sqrt(x[start[best]] * x[best]))


def suggest(lrs: np.ndarray, losses: np.ndarray) -> dict[str, float]:
    """The rate of each of ``SUGGESTIONS`` by name; non-finite points are skipped.

    Keyed minimum, steep, valley, the order saved runs and the app's sweep log line have; views
    that list the suggestions follow ``SUGGESTIONS`` instead.

    Raises SeqlabError when fewer than three finite points remain (the sweep diverged at once).
    """
    x, y = _finite(lrs, losses)
    if len(x) < 3:
        raise SeqlabError(
            f"the sweep has {len(x)} point(s) with a finite loss; at least 3 are needed to "
            "suggest a learning rate (start the sweep lower: sweep.start)"
        )
    return {"minimum": minimum(x, y), "steep": steep(x, y), "valley": valley(x, y)}


def apply_suggestion(exp: Experiment, lr: float) -> Experiment:
    """The experiment with ``train.learning_rate`` set to ``lr`` (checked like any edited field)."""
    problem = check_value(TrainSpec, "learning_rate", float(lr), "train.learning_rate")
    if problem:
        raise ConfigError([problem])
    return dataclasses.replace(exp, train=dataclasses.replace(exp.train, learning_rate=float(lr)))
