"""Experiments round-trip through TOML; every bad value is named by key path, value and range."""

from __future__ import annotations

import copy
from dataclasses import fields

import pytest
import tomli_w
from hypothesis import given, settings
from strategies import experiments

from engine import config
from engine.errors import ConfigError, FieldProblem, SeqlabError
from engine.presets import PRESETS
from engine.specs import (
    LAYER_KINDS,
    CsvSeries,
    Experiment,
    ForecastSpec,
    SweepSpec,
    SyntheticSeries,
    TrainSpec,
    WindowSpec,
    describe_allowed,
    field_type,
)

# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_presets_round_trip(name):
    text = config.dumps(PRESETS[name])
    assert text.startswith(f"# seqlab experiment: {name}\n")
    assert config.loads(text) == PRESETS[name]


@settings(max_examples=150, deadline=None)
@given(exp=experiments)
def test_any_experiment_round_trips(exp):
    assert config.loads(config.dumps(exp)) == exp
    assert config.experiment_from_dict(config.experiment_to_dict(exp)) == exp


def test_round_trip_through_a_file(tmp_path):
    exp = Experiment(
        name="multi\nline\x00name",  # the comment line must stay one clean line
        series=CsvSeries(path="data/x.csv", column="Value", date_column="Date", period=12),
        model=PRESETS["course-conv-lstm"].model,
    )
    path = tmp_path / "exp.toml"
    path.write_text(config.dumps(exp), encoding="utf-8")
    assert config.load(path) == exp


def test_missing_sections_take_the_defaults():
    exp = config.loads('name = "bare"\n')
    assert exp == Experiment(name="bare")


def test_convenient_spellings_are_normalised():
    exp = config.loads(
        '[series]\nsource = "csv"\npath = "a.csv"\ncolumn = 2\ndate_column = 0\n'
        "[train]\nlearning_rate = 1\n"
    )
    assert exp.series.column == "2" and exp.series.date_column == "0"
    assert exp.train.learning_rate == 1.0 and isinstance(exp.train.learning_rate, float)


# --- the bad-input matrix -----------------------------------------------------------------------

LAYERS_BEFORE = [{"kind": "expand_dims"}, {"kind": "lstm", "units": 8, "return_sequences": True}]
LAYERS_AFTER = [{"kind": "dense", "units": 1}]


def base_dict() -> dict:
    data = config.experiment_to_dict(PRESETS["course-rnn"])
    data["model"]["layers"] = [*LAYERS_BEFORE, {"kind": "dense"}, *LAYERS_AFTER]
    return data


def bad_values(cls: type, name: str) -> list[object]:
    """Wrong-type and out-of-range values for one field, from its metadata."""
    meta = {f.name: f.metadata for f in fields(cls)}[name]
    kind = field_type(cls, name)
    if meta.get("choices"):
        return ["no-such-choice", 3]
    if kind is bool:
        return [1, "yes"]
    if kind is str:
        return [True, [1]]
    out: list[object] = ["ten", [1]]
    if kind is int:
        out.append(1.5)
    if meta.get("hi") is not None:
        out.append(int(meta["hi"]) + 1)
    if meta.get("lo") is not None:
        out.append(meta["lo"] if meta.get("lo_open") else int(meta["lo"]) - 1)
    return out


def matrix() -> list[tuple[str, dict, str, type, str, object]]:
    """(id, section dict to edit -> where, key path, spec class, field, bad value)."""
    cases = []
    sections = [
        ("series", {"source": "synthetic"}, "series", SyntheticSeries),
        ("series", {"source": "csv", "path": "x.csv"}, "series", CsvSeries),
        ("window", {}, "window", WindowSpec),
        ("train", {}, "train", TrainSpec),
        ("sweep", {}, "sweep", SweepSpec),
        ("forecast", {}, "forecast", ForecastSpec),
    ]
    for kind, cls in LAYER_KINDS.items():
        sections.append(("layer", {"kind": kind}, "model.layers[2]", cls))
    for inner in ("simple_rnn", "lstm", "gru"):
        sections.append(("inner", {"kind": inner}, "model.layers[2].layer", LAYER_KINDS[inner]))
    for where, base, path, cls in sections:
        for f in fields(cls):
            if not f.metadata:
                continue
            for value in bad_values(cls, f.name):
                case_id = f"{path}.{f.name}={value!r}"
                cases.append((case_id, where, base, f"{path}.{f.name}", cls, f.name, value))
    return cases


MATRIX = matrix()


def with_value(where: str, base: dict, key: str, value: object) -> dict:
    data = base_dict()
    section = {**copy.deepcopy(base), key: value}
    if where == "layer":
        if section["kind"] == "bidirectional":
            section.setdefault("layer", {"kind": "lstm"})
        data["model"]["layers"][2] = section
    elif where == "inner":
        data["model"]["layers"][2] = {"kind": "bidirectional", "layer": section}
    else:
        data[where] = section
    return data


@pytest.mark.parametrize(
    ("where", "base", "path", "cls", "name", "value"),
    [case[1:] for case in MATRIX],
    ids=[case[0] for case in MATRIX],
)
def test_every_bad_value_is_named(tmp_path, run_cli, where, base, path, cls, name, value):
    data = with_value(where, base, name, value)
    file = tmp_path / "bad.toml"
    file.write_text(tomli_w.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load(file)
    [problem] = err.value.problems
    allowed = describe_allowed(
        {f.name: f.metadata for f in fields(cls)}[name], field_type(cls, name)
    )
    assert problem.path == path
    assert problem.value == value and type(problem.value) in (type(value), float)
    assert problem.allowed == allowed
    assert str(err.value) == f"{file}: {path} = {problem.value!r}: {allowed}"
    # ... and the command line shows it as one line, exit code 2, no traceback
    code, out, err_text = run_cli("summary", str(file))
    assert (code, out) == (2, "")
    assert err_text == f"seqlab summary: error: {err.value}\n"


def test_the_matrix_covers_every_field():
    covered = {(case[4], case[5]) for case in MATRIX}
    for cls in (
        SyntheticSeries,
        CsvSeries,
        WindowSpec,
        TrainSpec,
        SweepSpec,
        ForecastSpec,
        *LAYER_KINDS.values(),
    ):
        for f in fields(cls):
            if f.metadata:
                assert (cls, f.name) in covered, (cls.__name__, f.name)


def test_range_messages_read_well():
    train = {f.name: f.metadata for f in fields(TrainSpec)}
    window = {f.name: f.metadata for f in fields(WindowSpec)}
    assert describe_allowed(train["learning_rate"], float) == "a number above 0 and at most 10"
    assert describe_allowed(train["loss"], str) == "one of 'huber', 'mse', 'mae'"
    assert describe_allowed(window["batch_size"], int) == "a whole number from 1 to 65,536"


@pytest.mark.parametrize(
    ("toml", "path", "allowed_start"),
    [
        ("colour = 1", "colour", "unknown key; allowed: description, forecast, model, name"),
        ("[series]\nlenght = 10", "series.lenght", "unknown key; allowed: amplitude, baseline"),
        ('[series]\nsource = "csv"\npath = "a.csv"\nsheet = 1', "series.sheet", "unknown key"),
        ("[window]\nsize = 3", "window.size", "unknown key; allowed: batch_size, shuffle_buffer"),
        ("[model]\ninput = 3", "model.input", "unknown key; allowed: layers"),
        ('[[model.layers]]\nkind = "dense"\nunit = 3', "model.layers[0].unit", "unknown key"),
        (
            '[[model.layers]]\nkind = "bidirectional"\n[model.layers.layer]\nkind = "lstm"\nx = 1',
            "model.layers[0].layer.x",
            "unknown key; allowed: activation, kind, return_sequences, units",
        ),
        ("[train]\nlr = 0.1", "train.lr", "unknown key; allowed: clipnorm, epochs, holdout"),
        ("[sweep]\nend = 1", "sweep.end", "unknown key; allowed: early_stop, epochs, epochs_per"),
    ],
)
def test_unknown_keys_at_every_level(toml, path, allowed_start):
    with pytest.raises(ConfigError) as err:
        config.loads(toml, "f.toml")
    [problem] = err.value.problems
    assert problem.path == path
    assert problem.allowed.startswith(allowed_start)


KINDS = ", ".join(LAYER_KINDS)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[[model.layers]]\nkind = "expand_dims"\n[[model.layers]]\nkind = "flatten"',
            FieldProblem("model.layers[1].kind", "flatten", f"one of {KINDS}"),
        ),
        (
            "[[model.layers]]\nunits = 3",
            FieldProblem("model.layers[0].kind", None, f"missing; give one of {KINDS}"),
        ),
        (
            "[model]\nlayers = [3]",
            FieldProblem("model.layers[0]", 3, "a table with a 'kind' key"),
        ),
        (
            "[model]\nlayers = 3",
            FieldProblem("model.layers", 3, "a list of layer tables"),
        ),
        (
            "model = 3",
            FieldProblem("model", 3, "a table with a 'layers' list"),
        ),
        (
            '[[model.layers]]\nkind = "bidirectional"',
            FieldProblem(
                "model.layers[0].layer", None, "missing; give the wrapped layer, e.g. an LSTM"
            ),
        ),
        (
            '[[model.layers]]\nkind = "bidirectional"\nlayer = {kind = "rnn"}',
            FieldProblem("model.layers[0].layer.kind", "rnn", f"one of {KINDS}"),
        ),
        (
            '[series]\nsource = "parquet"',
            FieldProblem("series.source", "parquet", "one of 'synthetic', 'csv'"),
        ),
        ("series = 5", FieldProblem("series", 5, "a table of keys")),
        ("window = 5", FieldProblem("window", 5, "a table of keys")),
        ('[series]\nsource = "csv"', FieldProblem("series.path", "", "the path of a CSV file")),
        (
            '[series]\nsource = "csv"\npath = "  "',
            FieldProblem("series.path", "  ", "the path of a CSV file"),
        ),
        (
            "[series]\nlength = 100\nsplit_time = 100",
            FieldProblem("series.split_time", 100, "less than series.length (100)"),
        ),
        ("name = 5", FieldProblem("name", 5, "text")),
        ("description = true", FieldProblem("description", True, "text")),
    ],
)
def test_structural_problems(toml, expected):
    with pytest.raises(ConfigError) as err:
        config.loads(toml, "f.toml")
    assert err.value.problems == [expected]
    assert str(err.value) == f"f.toml: {expected}"


def test_every_problem_is_listed_at_once():
    toml = (
        '[window]\nwindow = 0\nbatch_size = "a"\n[train]\nloss = "l1"\n[[model.layers]]\nkind = "x"'
    )
    with pytest.raises(ConfigError) as err:
        config.loads(toml, "f.toml")
    assert [p.path for p in err.value.problems] == [
        "window.window",
        "window.batch_size",
        "train.loss",
        "model.layers[0].kind",
    ]
    assert str(err.value).startswith("f.toml: 4 problems: window.window = 0: a whole number")
    assert "\n" not in str(err.value)


def test_toml_syntax_error_is_one_line():
    with pytest.raises(SeqlabError) as err:
        config.loads("[window\nwindow = 3", "f.toml")
    assert str(err.value).startswith("f.toml: not valid TOML (")
    assert "\n" not in str(err.value)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(SeqlabError, match=r"nope\.toml: no such experiment file$"):
        config.load(tmp_path / "nope.toml")
    with pytest.raises(SeqlabError, match=r"is a folder, not an experiment file$"):
        config.load(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"name = '\xff'")
    with pytest.raises(SeqlabError, match=r"cannot read the experiment file"):
        config.load(tmp_path / "bin.toml")


# --- the training settings beyond the course ------------------------------------------------------

HOLDOUT_ALLOWED = "a fraction from 0 to below 1, or a whole number from 1 to 100,000,000"


@pytest.mark.parametrize("holdout", [0, 0.1, 0.999, 1, 50, 50.0])
def test_holdout_is_a_fraction_or_a_whole_number_of_points(holdout):
    exp = config.loads(f"[train]\nholdout = {holdout}\n")
    assert exp.train.holdout == float(holdout) and isinstance(exp.train.holdout, float)
    assert config.loads(config.dumps(exp)) == exp


@pytest.mark.parametrize("holdout", [1.5, 49.9, -0.1, 1e9])
def test_a_holdout_that_is_neither_says_what_is_allowed(holdout):
    with pytest.raises(ConfigError) as err:
        config.loads(f"[train]\nholdout = {holdout}\n", "f.toml")
    assert str(err.value) == f"f.toml: train.holdout = {holdout!r}: {HOLDOUT_ALLOWED}"


def test_optional_settings_are_absent_keys_when_off():
    exp = config.loads("[train]\nclipnorm = 1\npatience = 10\n[sweep]\nstart = 1e-6\n")
    assert (exp.train.clipnorm, exp.train.patience, exp.sweep.start) == (1.0, 10, 1e-6)
    off = Experiment()
    assert (off.train.clipnorm, off.train.patience, off.sweep.start) == (None, None, None)
    text = config.dumps(off)
    keys = {line.split(" =")[0] for line in text.split("\n")}
    assert not {"clipnorm", "patience", "start"} & keys
    assert config.loads(text) == off


def test_new_experiments_get_seqlab_defaults():
    t, s = Experiment().train, Experiment().sweep
    assert (t.normalise, t.holdout, t.restore_best, t.schedule, t.validate) == (
        "standard",
        0.1,
        True,
        "plateau",
        True,
    )
    assert (s.start, s.mode) == (None, "epoch")


@pytest.mark.parametrize("name", [n for n in PRESETS if n.startswith("course-") or n == "quiz-q8"])
def test_course_presets_keep_the_course_settings(name):
    t, s = PRESETS[name].train, PRESETS[name].sweep
    assert (t.normalise, t.holdout, t.patience, t.schedule, t.validate) == (
        "none",
        0.0,
        None,
        "constant",
        False,
    )
    assert (t.optimizer, t.momentum, t.nesterov, t.clipnorm) == ("sgd", 0.9, False, None)
    assert (s.start, s.epochs_per_decade, s.epochs, s.mode) == (1e-8, 20.0, 100, "epoch")
