"""Search files: the [search] section read and checked, key paths applied (no Ray, no TF)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine import config, search_space
from engine.errors import ConfigError, SeqlabError
from engine.presets import PRESETS
from engine.specs import GRU, LSTM

BASE = dataclasses.replace(
    PRESETS["course-rnn"],
    train=dataclasses.replace(PRESETS["course-rnn"].train, holdout=0.1, epochs=20),
)
SPACE = """
[search]
trials = 6
searcher = "random"
grace_period = 2
[search.space]
"train.learning_rate" = { loguniform = [1e-6, 1e-4] }
"window.window" = { choice = [10, 20, 30] }
"model.layers[1].units" = { randint = [16, 64] }
"model.layers[2].kind" = { choice = ["lstm", "gru"] }
"""


def read(search: str, base: str | None = None):
    return search_space.loads((base if base is not None else config.dumps(BASE)) + search, "s.toml")


def problem(search: str, base: str | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        read(search, base)
    return str(err.value)


def test_a_search_section_is_read_with_its_domains_and_settings() -> None:
    s = read(SPACE)
    assert [(p.path, p.domain, p.values) for p in s.space] == [
        ("train.learning_rate", "loguniform", (1e-6, 1e-4)),
        ("window.window", "choice", (10, 20, 30)),
        ("model.layers[1].units", "randint", (16, 64)),
        ("model.layers[2].kind", "choice", ("lstm", "gru")),
    ]
    assert s.settings.trials == 6 and s.settings.scheduler == "asha"
    assert s.base == BASE
    assert search_space.trials_of(s) == 6 and s.max_epochs == 20


def test_the_search_round_trips_through_its_toml() -> None:
    s = read(SPACE)
    assert search_space.loads(search_space.dumps(s)) == s


def test_a_run_of_the_file_trains_its_base_experiment_and_ignores_the_search() -> None:
    assert config.loads(config.dumps(BASE) + SPACE) == BASE


def test_applying_an_assignment_sets_each_key_path() -> None:
    exp = search_space.apply(
        BASE,
        {"window.window": 30, "model.layers[1].units": 17, "train.learning_rate": 3e-5},
        name="trial 1",
    )
    assert exp.window.window == 30 and exp.model.layers[1].units == 17
    assert exp.train.learning_rate == 3e-5 and exp.name == "trial 1"
    assert exp.model.layers[2] == BASE.model.layers[2]


def test_a_new_layer_kind_keeps_the_settings_it_shares() -> None:
    exp = search_space.apply(BASE, {"model.layers[2].kind": "lstm"})
    assert exp.model.layers[2] == LSTM(units=40, return_sequences=False)
    exp = search_space.apply(BASE, {"model.layers[2].kind": "gru", "model.layers[2].units": 8})
    assert exp.model.layers[2] == GRU(units=8)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('"train.nope" = { choice = [1] }', 'search.space."train.nope"'),
        ('"train.nope" = { choice = [1] }', "no such field in the base experiment"),
        ('"model.layers[9].units" = { choice = [1] }', "no such layer in the base experiment"),
        ('"trainlearning_rate" = { choice = [1] }', "a key path such as train.learning_rate"),
        ('"window.window" = { uniform = [1, 2] }', "this field takes randint or choice"),
        ('"train.learning_rate" = { randint = [1, 2] }', "uniform, loguniform or choice"),
        ('"train.optimizer" = { uniform = [1, 2] }', "choice or grid"),
        ('"train.learning_rate" = { loguniform = [0, 1] }', "low above 0"),
        ('"train.learning_rate" = { uniform = [2, 1] }', "low below high"),
        ('"window.window" = { randint = [1.5, 4] }', "whole numbers"),
        ('"window.window" = { choice = [0, 5] }', "a whole number from 1 to 10,000"),
        ('"window.window" = { choice = [] }', "a non-empty list"),
        ('"window.window" = { choice = [5, 5] }', "each value once"),
        ('"window.window" = 20', "a table with one of choice, grid"),
        ('"window.window" = { pick = [1] }', "a table with one of choice, grid"),
        ('"train.optimizer" = { choice = ["sgd", "lion"] }', "one of 'sgd'"),
        ('"model.layers[2].kind" = { choice = ["bidirectional"] }', "one of expand_dims"),
        ('"series.split_time" = { choice = [5000] }', "less than series.length (1461)"),
        ('"window.window" = { grid = [10, 20] }', 'grid needs searcher = "grid"'),
    ],
)
def test_every_bad_entry_is_one_line_naming_its_key_path(entry: str, expected: str) -> None:
    text = problem(f"[search]\n[search.space]\n{entry}\n")
    assert expected in text
    assert text.startswith("s.toml: search.")
    assert "\n" not in text


def test_a_choice_the_model_cannot_work_with_is_refused_before_anything_runs() -> None:
    text = problem(
        '[search]\n[search.space]\n"model.layers[1].return_sequences" = { choice = [false] }\n'
    )
    assert 'search.space."model.layers[1].return_sequences" = False' in text
    assert "the model cannot work with it" in text and "does not return sequences" in text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("trials = 0", "search.trials = 0: a whole number from 1 to 10,000"),
        ('searcher = "bayes"', "search.searcher = 'bayes': one of 'random', 'grid', 'tpe'"),
        ('scheduler = "pbt"', "search.scheduler = 'pbt': one of 'asha', 'none'"),
        ("reduction_factor = 1", "search.reduction_factor = 1.0: a number above 1"),
        ("cpus_per_trial = 0", "search.cpus_per_trial = 0.0: a number above 0"),
        ("grace_period = 20", "fewer than the trials' epochs (20)"),
        ("colour = 1", "search.colour = 1: unknown key"),
    ],
)
def test_bad_settings_name_their_key(settings: str, expected: str) -> None:
    text = problem(
        f'[search]\n{settings}\n[search.space]\n"window.window" = {{ choice = [10, 20] }}\n'
    )
    assert expected in text


def test_a_search_needs_a_holdout_slice_to_choose_on() -> None:
    base = config.dumps(PRESETS["course-rnn"])  # the course's own: no holdout
    text = problem('[search]\n[search.space]\n"window.window" = { choice = [10, 20] }\n', base)
    assert "train.holdout = 0: a search chooses its trials on the holdout slice" in text
    text = problem('[search]\n[search.space]\n"train.holdout" = { choice = [0, 0.1] }\n')
    assert "above 0: trials are chosen on the holdout slice" in text


def test_a_grid_runs_every_combination_and_its_size_is_the_trial_count() -> None:
    s = read(
        '[search]\nsearcher = "grid"\n[search.space]\n'
        '"window.window" = { grid = [10, 20] }\n'
        '"train.learning_rate" = { grid = [1e-6, 1e-5, 1e-4] }\n'
    )
    assert search_space.trials_of(s) == 6
    assert s.grid()[:2] == [
        {"window.window": 10, "train.learning_rate": 1e-6},
        {"window.window": 10, "train.learning_rate": 1e-5},
    ]
    text = problem(
        '[search]\nsearcher = "grid"\ntrials = 4\n[search.space]\n'
        '"window.window" = { grid = [10, 20] }\n'
    )
    assert "search.trials = 4: the grid has 2 combinations" in text
    text = problem(
        '[search]\nsearcher = "grid"\n[search.space]\n"window.window" = { choice = [10] }\n'
    )
    assert "every field of a grid search takes grid" in text


def test_a_search_file_may_name_its_base_experiment(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(config.dumps(BASE))
    search = tmp_path / "search.toml"
    search.write_text(
        '[search]\nbase = "base.toml"\n[search.space]\n"window.window" = { choice = [10, 20] }\n'
    )
    assert search_space.load(search).base == BASE
    # a preset by name; and such a file is not an experiment to run
    search.write_text(
        '[search]\nbase = "course-rnn"\n[search.space]\n"window.window" = { choice = [1] }\n'
    )
    with pytest.raises(ConfigError, match="train.holdout = 0"):
        search_space.load(search)
    with pytest.raises(ConfigError, match="search.base = 'course-rnn': this file only searches"):
        config.load(search)
    search.write_text(
        config.dumps(BASE)
        + '[search]\nbase = "base.toml"\n[search.space]\n"window.window" = { choice = [10] }\n'
    )
    with pytest.raises(ConfigError, match="give a base or the experiment's sections, not both"):
        search_space.load(search)


def test_a_file_without_a_search_or_unreadable_is_one_clear_error(tmp_path: Path) -> None:
    assert "a [search] table" in problem("")
    assert "search.space = None: a table of fields to vary" in problem("[search]\ntrials = 3\n")
    with pytest.raises(SeqlabError, match="no such search file"):
        search_space.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[search\n")
    with pytest.raises(SeqlabError, match="not valid TOML"):
        search_space.load(bad)


def test_the_app_lists_searchable_fields_and_reads_typed_domains() -> None:
    paths = {path: (kind, value) for path, kind, value in search_space.searchable(BASE)}
    assert paths["train.learning_rate"] == (float, 5e-6)
    assert paths["model.layers[1].units"] == (int, 40)
    assert paths["model.layers[2].kind"] == (str, "simple_rnn")
    assert "name" not in paths and "series.source" not in paths
    assert search_space.param_from_text(BASE, "train.learning_rate", "loguniform 1e-6, 1e-4") == (
        search_space.Param("train.learning_rate", "loguniform", (1e-6, 1e-4))
    )
    assert search_space.param_from_text(BASE, "model.layers[2].kind", "choice lstm gru").values == (
        "lstm",
        "gru",
    )
    with pytest.raises(ConfigError, match=r'search.space."window.window".uniform'):
        search_space.param_from_text(BASE, "window.window", "uniform 1 2")
    with pytest.raises(ConfigError, match="a domain then its values"):
        search_space.param_from_text(BASE, "window.window", "10 20")


def test_a_search_built_in_code_is_checked_like_a_file() -> None:
    s = read(SPACE)
    assert search_space.validated(s) == s
    course = dataclasses.replace(s, base=PRESETS["course-rnn"])
    with pytest.raises(ConfigError, match="train.holdout = 0"):
        search_space.validated(course)
