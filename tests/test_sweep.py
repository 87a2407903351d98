"""The learning-rate sweep: schedule, suggestions on constructed curves, and a real sweep."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from engine.errors import ConfigError, SeqlabError
from engine.events import RunFinished, RunStarted, SweepPoint
from engine.presets import PRESETS
from engine.runstore import RunStore
from engine.specs import SweepSpec
from engine.sweep import RECOMMENDED, apply_suggestion, smoothed, suggest, sweep_rates

LRS = 1e-8 * 10 ** (np.arange(100) / 20)


def course_like_curve() -> np.ndarray:
    """Shaped like the lecture's RNN sweep: a high plateau, a cliff, a slow fall to the lowest
    loss with one noisy bump, then divergence and NaN.

    index 0-29 : 200 falling by 0.1 a step (still above 4x the minimum)
    index 30-33: 190, 100, 25, 20 (the cliff; steepest at 31)
    index 34-60: 19 falling linearly to 6, with a bump at 45
    index 61-70: rising from 6.5 to 30
    index 71-99: NaN
    """
    loss = np.full(100, np.nan)
    loss[:30] = 200 - 0.1 * np.arange(30)
    loss[30:34] = [190, 100, 25, 20]
    loss[34:61] = np.linspace(19, 6, 27)
    loss[45] = loss[44] + 1.5
    loss[61:71] = np.linspace(6.5, 30, 10)
    return loss


def test_course_schedule() -> None:
    rates = sweep_rates(SweepSpec())
    assert len(rates) == 100
    assert rates[0] == pytest.approx(1e-8)
    assert rates[20] == pytest.approx(1e-7)
    assert rates[99] == pytest.approx(8.9125e-4, rel=1e-4)


def test_minimum_is_a_tenth_of_the_rate_at_the_lowest_loss() -> None:
    assert suggest(LRS, course_like_curve())["minimum"] == pytest.approx(LRS[60] / 10)


def test_steep_is_where_the_loss_falls_fastest_before_the_minimum() -> None:
    assert suggest(LRS, course_like_curve())["steep"] == pytest.approx(LRS[31])


def test_valley_is_the_middle_of_the_longest_falling_stretch_below_4x_the_minimum() -> None:
    # 32 (25) is above 4 x 6 = 24; the stretch runs 33 (20) .. 60 (6) across the bump at 45
    valley = suggest(LRS, course_like_curve())["valley"]
    assert valley == pytest.approx(math.sqrt(LRS[33] * LRS[60]))
    assert LRS[33] < valley < LRS[60]


def test_non_finite_points_are_skipped() -> None:
    loss, lrs = course_like_curve(), LRS.copy()  # NaN from index 71 on
    loss[5], loss[50], lrs[10] = np.inf, -np.inf, np.nan
    keep = np.isfinite(loss) & np.isfinite(lrs)
    assert suggest(lrs, loss) == suggest(lrs[keep], loss[keep])
    assert suggest(lrs, loss) == suggest(LRS, course_like_curve())


def test_a_loss_that_never_falls_suggests_the_first_rate_as_steep() -> None:
    rising = np.linspace(5, 50, 10)
    assert suggest(LRS[:10], rising)["steep"] == pytest.approx(LRS[0])


def test_too_few_finite_points_is_a_clear_error() -> None:
    with pytest.raises(SeqlabError, match="sweep.start"):
        suggest(LRS[:4], np.array([3.0, np.nan, np.inf, 2.0]))


def test_apply_suggestion_sets_the_learning_rate_only() -> None:
    exp = PRESETS["course-rnn"]
    applied = apply_suggestion(exp, 2e-6)
    assert applied.train.learning_rate == 2e-6
    assert applied == dataclasses.replace(
        exp, train=dataclasses.replace(exp.train, learning_rate=2e-6)
    )


@pytest.mark.parametrize("bad", [0.0, -1e-6, 20.0, float("nan")])
def test_apply_suggestion_refuses_a_rate_out_of_range(bad: float) -> None:
    with pytest.raises(ConfigError, match=r"train\.learning_rate"):
        apply_suggestion(PRESETS["course-rnn"], bad)


def _sweep_of(tiny, epochs: int, early_stop: bool):
    exp = tiny(learning_rate=1e-5)
    return dataclasses.replace(
        exp, sweep=SweepSpec(start=1e-6, epochs_per_decade=4, epochs=epochs, early_stop=early_stop)
    )


@pytest.mark.slow
def test_a_real_sweep_reports_each_point_at_the_scheduled_rate(tiny_experiment, tmp_path) -> None:
    from engine.training import sweep

    exp = _sweep_of(tiny_experiment, 12, early_stop=False)
    events: list = []
    done = sweep(exp, events.append, store=RunStore(tmp_path))
    assert isinstance(events[0], RunStarted) and events[0].kind == "sweep"
    assert events[-1] is done and isinstance(done, RunFinished)
    points = [e for e in events if isinstance(e, SweepPoint)]
    assert [p.epoch for p in points] == list(range(1, 13))
    # read back from the optimizer every epoch: the schedule's rate, in float32
    np.testing.assert_allclose([p.learning_rate for p in points], sweep_rates(exp.sweep), rtol=1e-6)
    assert set(done.suggestions) == {"minimum", "steep", "valley"}
    losses = [p.loss for p in points]
    assert done.metrics["best_loss"] == min(losses)
    assert done.suggestions == suggest([p.learning_rate for p in points], losses)
    saved = RunStore(tmp_path).sweep_points(done.run_dir)
    np.testing.assert_allclose(saved, [(p.learning_rate, p.loss) for p in points], rtol=1e-6)


@pytest.mark.slow
def test_early_stop_ends_the_sweep_once_the_loss_passes_4x_its_best(tiny_experiment) -> None:
    from engine.training import sweep

    def losses(early_stop: bool) -> tuple[list[float], RunFinished]:
        events: list = []
        done = sweep(_sweep_of(tiny_experiment, 30, early_stop), events.append, save=False)
        return [e.loss for e in events if isinstance(e, SweepPoint)], done

    stopped, done = losses(early_stop=True)
    assert isinstance(done, RunFinished) and done.epochs == len(stopped) < 30
    assert stopped[-1] > 4 * min(stopped[:-1])
    assert all(loss <= 4 * min(stopped[: i + 1]) for i, loss in enumerate(stopped[:-1]))
    full, done = losses(early_stop=False)  # the course's sweep: every epoch
    assert len(full) == 30 and done.epochs == 30
    assert full[: len(stopped)] == stopped


def test_the_default_start_follows_the_optimizer() -> None:
    spec = SweepSpec(epochs=3, epochs_per_decade=1)
    assert sweep_rates(spec, "sgd")[0] == 1e-8
    for optimizer in ("adam", "adamw", "rmsprop"):
        np.testing.assert_allclose(sweep_rates(spec, optimizer), [1e-6, 1e-5, 1e-4], rtol=1e-12)
    assert sweep_rates(SweepSpec(start=3e-7, epochs=2), "adam")[0] == 3e-7


def test_smoothing_is_a_debiased_moving_average() -> None:
    np.testing.assert_allclose(smoothed(np.full(5, 2.0)), np.full(5, 2.0))
    first, second = smoothed(np.array([1.0, 3.0]), beta=0.5)
    assert (first, second) == (1.0, pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75))


@pytest.mark.slow
def test_the_range_test_sets_one_rate_per_batch(tiny_experiment, tmp_path, monkeypatch) -> None:
    """mode = "batch": one point per batch, at exactly the scheduled rates (as float32)."""
    from engine import training

    built = []
    original = training.build_model

    def build_model(spec, window, **options):
        built.append(original(spec, window, **options))
        return built[-1]

    monkeypatch.setattr(training, "build_model", build_model)
    exp = dataclasses.replace(
        tiny_experiment(optimizer="adam"),
        sweep=SweepSpec(epochs=40, epochs_per_decade=8, early_stop=False, mode="batch"),
    )
    events: list = []
    done = training.sweep(exp, events.append, store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    assert (events[0].total_epochs, events[0].steps_per_epoch) == (40, 1)
    points = [e for e in events if isinstance(e, SweepPoint)]
    assert [p.epoch for p in points] == list(range(1, 41))
    assert int(built[-1].optimizer.iterations.numpy()) == 40  # one batch per point
    exact = np.float32(1e-6 * 10 ** (np.arange(40) / 8))  # adam's default start: 1e-6
    np.testing.assert_array_equal(np.float32([p.learning_rate for p in points]), exact)
    losses = np.array([p.loss for p in points])
    assert done.suggestions == suggest([p.learning_rate for p in points], smoothed(losses))
    assert done.recommended == RECOMMENDED.name
    saved = RunStore(tmp_path).metrics(done.run_dir)
    assert (saved["recommended"], saved["notes"]) == (RECOMMENDED.name, list(done.notes))


@pytest.mark.slow
def test_a_sweep_that_never_diverges_says_so(tiny_experiment) -> None:
    from engine.training import sweep

    exp = dataclasses.replace(
        tiny_experiment(learning_rate=1e-5),
        sweep=SweepSpec(start=1e-9, epochs_per_decade=4, epochs=6, early_stop=True),
    )
    done = sweep(exp, lambda e: None, save=False)
    assert isinstance(done, RunFinished), done
    assert done.recommended == RECOMMENDED.name
    assert any(
        n.startswith("the loss never diverged up to 1.8e-08: the suggestions may sit at the edge")
        for n in done.notes
    ), done.notes
