"""seqlab's recipes: valid, buildable, lint-free, and what the contract says a recipe is.

No training here (bench/reproduce_recipes.py measures them) and no file outside the repository.
"""

from __future__ import annotations

import dataclasses

import pytest

from engine.config import dumps, loads
from engine.lint import lint
from engine.presets import PRESETS, RECIPES, as_edited
from engine.series import load_series
from engine.shapes import infer
from engine.specs import Scale, check


def test_the_three_recipes_are_presets_without_the_course_prefix() -> None:
    assert {"lstm", "gru", "conv-lstm"} <= set(RECIPES)
    for name, exp in RECIPES.items():
        assert PRESETS[name] is exp
        assert exp.name == name
        assert not name.startswith("course-")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_checks_infers_and_has_no_lint(name: str) -> None:
    exp = RECIPES[name]
    assert check(exp) == []
    report = infer(exp.model, batch=exp.window.batch_size, steps=exp.window.window)
    assert report.problems == ()
    assert report.total_params
    series = load_series(exp.series, exp.window.window)
    assert lint(exp, series) == []
    assert lint(exp, None) == []


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_is_normalised_early_stopped_and_scheduled(name: str) -> None:
    t = RECIPES[name].train
    assert t.normalise != "none"
    assert t.optimizer in ("adam", "adamw")
    assert t.holdout > 0
    assert t.patience is not None
    assert t.restore_best
    assert t.schedule != "constant"
    assert not any(isinstance(layer, Scale) for layer in RECIPES[name].model.layers)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_description_states_a_measured_figure(name: str) -> None:
    description = RECIPES[name].description
    assert "Measured: validation MAE" in description
    assert "bench/reproduce_recipes.py" in description
    assert "course reports" not in description and "slides report" not in description


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_round_trips_through_toml(name: str) -> None:
    assert loads(dumps(RECIPES[name])) == RECIPES[name]


def test_an_edited_preset_is_renamed_and_loses_its_description() -> None:
    """A changed preset no longer carries the figures measured for the preset's own model."""
    preset = PRESETS["course-rnn"]
    edited = as_edited(
        dataclasses.replace(preset, train=dataclasses.replace(preset.train, epochs=7))
    )
    assert (edited.name, edited.description) == ("course-rnn (edited)", "")
    assert as_edited(dataclasses.replace(edited, train=preset.train)) == preset  # changed back
    own = dataclasses.replace(preset, name="mine")
    assert as_edited(own) is own  # not a preset: left as it is


def test_writing_tensorboard_files_alone_keeps_the_presets_name() -> None:
    preset = PRESETS["course-rnn"]
    logged = as_edited(
        dataclasses.replace(preset, train=dataclasses.replace(preset.train, tensorboard=True))
    )
    assert (logged.name, logged.description) == (preset.name, preset.description)
    assert logged.train.tensorboard
    both = dataclasses.replace(logged.train, tensorboard=True, epochs=7)
    assert as_edited(dataclasses.replace(logged, train=both)).name == "course-rnn (edited)"
