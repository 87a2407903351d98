"""Split conformal intervals: the quantile rank, the band's reach, coverage (numpy only)."""

from __future__ import annotations

import math

import numpy as np

from engine.intervals import conformal_width, covered, min_errors, step_widths


def test_the_width_is_the_conformal_rank_of_the_errors() -> None:
    errors = np.array(
        [-5.0, 1.0, 2.0, -3.0, 4.0, 0.5, -6.0, 7.0, 8.0]
    )  # |e| sorted: .5 1 2 3 4 5 6 7 8
    # n = 9, level 0.8: rank ceil(10 * 0.8) = 8 -> the 8th smallest, 7
    assert conformal_width(errors, 0.8) == 7.0
    assert conformal_width(errors, 0.5) == 4.0  # rank 5
    assert math.isnan(conformal_width(errors, 0.95))  # rank 10 > 9: too few errors
    assert math.isnan(conformal_width(np.empty(0), 0.8))


def test_min_errors_is_the_fewest_with_a_finite_width() -> None:
    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        n = min_errors(level)
        assert math.isfinite(conformal_width(np.ones(n), level))
        assert math.isnan(conformal_width(np.ones(n - 1), level))


def test_the_band_covers_steps_one_to_k_without_gaps() -> None:
    errors = [np.ones(10), np.ones(3), np.ones(10)]  # step 2 has too few for 80%
    np.testing.assert_array_equal(step_widths(errors, 0.8), [1.0])
    assert len(step_widths([np.ones(2)], 0.8)) == 0


def test_coverage_of_new_points_is_near_the_level() -> None:
    rng = np.random.default_rng(51)
    calibration, new = rng.normal(size=1000), rng.normal(size=20_000)
    for level in (0.8, 0.9):
        width = conformal_width(calibration, level)
        assert abs(covered(new, np.zeros_like(new), width) - level) < 0.04
    assert math.isnan(covered(np.empty(0), np.empty(0), 1.0))
