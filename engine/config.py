"""Experiments to and from TOML; errors name the key path, the value and what is allowed."""

from __future__ import annotations

import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import tomli_w

from engine.errors import ConfigError, FieldProblem, SeqlabError
from engine.specs import (
    LAYER_KINDS,
    Bidirectional,
    CsvSeries,
    Experiment,
    ForecastSpec,
    LayerSpec,
    ModelSpec,
    SeriesSpec,
    SweepSpec,
    SyntheticSeries,
    TrainSpec,
    WindowSpec,
    check_value,
    field_type,
    require_valid,
)

SERIES_SOURCES: dict[str, type[SeriesSpec]] = {"synthetic": SyntheticSeries, "csv": CsvSeries}


# --- writing ------------------------------------------------------------------------------------


def _spec_dict(spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if hasattr(type(spec), "kind") and type(spec).kind in LAYER_KINDS:
        out["kind"] = spec.kind
    if isinstance(spec, (SyntheticSeries, CsvSeries)):
        out["source"] = spec.source
    for f in fields(spec):
        value = getattr(spec, f.name)
        if value is None:
            continue  # TOML has no null: an absent optional key means None
        if is_dataclass(value):
            out[f.name] = _spec_dict(value)
        elif isinstance(value, tuple):
            out[f.name] = [_spec_dict(v) for v in value]
        else:
            out[f.name] = value
    return out


def experiment_to_dict(exp: Experiment) -> dict[str, Any]:
    return _spec_dict(exp)


def dumps(exp: Experiment) -> str:
    """The experiment as TOML text (what ``seqlab preset NAME`` prints)."""
    # a comment ends at a line break and may hold no control characters: keep it to one clean line
    title = "".join(c if c.isprintable() else " " for c in exp.name)
    header = f"# seqlab experiment: {title}\n"
    return header + tomli_w.dumps(experiment_to_dict(exp))


# --- reading ------------------------------------------------------------------------------------


def _read_fields(
    cls: type, data: Any, path: str, problems: list[FieldProblem], skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Reads the plain fields of ``cls`` from ``data``; records unknown keys and bad values."""
    if not isinstance(data, dict):
        problems.append(FieldProblem(path, data, "a table of keys"))
        return {}
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known and key not in skip:
            allowed = ", ".join(sorted(known | set(skip)))
            problems.append(
                FieldProblem(f"{path}.{key}", data[key], f"unknown key; allowed: {allowed}")
            )
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data or not f.metadata:
            continue
        value = data[f.name]
        kind = field_type(cls, f.name)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if (
            kind is str
            and cls is CsvSeries
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = str(value)  # a column may be given as an index
        problem = check_value(cls, f.name, value, f"{path}.{f.name}")
        if problem:
            problems.append(problem)
        else:
            kwargs[f.name] = value
    return kwargs


def _read_layer(data: Any, path: str, problems: list[FieldProblem]) -> LayerSpec | None:
    """One layer table as a layer spec, or None (its problems recorded) when it is not one."""
    allowed = ", ".join(LAYER_KINDS)
    if not isinstance(data, dict):
        problems.append(FieldProblem(path, data, "a table with a 'kind' key"))
        return None
    if "kind" not in data:
        problems.append(FieldProblem(f"{path}.kind", None, f"missing; give one of {allowed}"))
        return None
    kind = data["kind"]
    if kind not in LAYER_KINDS:
        problems.append(FieldProblem(f"{path}.kind", kind, f"one of {allowed}"))
        return None
    cls = LAYER_KINDS[kind]
    kwargs = _read_fields(cls, data, path, problems, skip=("kind",))
    if cls is Bidirectional:
        if "layer" not in data:
            problems.append(
                FieldProblem(f"{path}.layer", None, "missing; give the wrapped layer, e.g. an LSTM")
            )
            return None
        inner = _read_layer(data["layer"], f"{path}.layer", problems)
        if inner is None:
            return None
        kwargs["layer"] = inner
    return cls(**kwargs)


def experiment_from_dict(data: Any, source: str | None = None) -> Experiment:
    """Builds and validates an experiment; raises ConfigError listing every problem found."""
    problems: list[FieldProblem] = []
    if not isinstance(data, dict):
        raise ConfigError([FieldProblem("(top)", data, "a table")], source)
    sections = {"name", "description", "series", "window", "model", "train", "sweep", "forecast"}
    # [search] is engine.search_space's (`seqlab search`); a run trains the file's experiment
    search = data.get("search")
    if isinstance(search, dict) and "base" in search:
        raise ConfigError(
            [
                FieldProblem(
                    "search.base",
                    search["base"],
                    "this file only searches another experiment: run it with seqlab search",
                )
            ],
            source,
        )
    for key in data:
        if key not in sections and key != "search":
            allowed = ", ".join(sorted(sections))
            problems.append(FieldProblem(key, data[key], f"unknown key; allowed: {allowed}"))
    kwargs: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in data:
            if isinstance(data[key], str):
                kwargs[key] = data[key]
            else:
                problems.append(FieldProblem(key, data[key], "text"))

    series = data.get("series", {})
    src = series.get("source", "synthetic") if isinstance(series, dict) else None
    if not isinstance(series, dict):
        problems.append(FieldProblem("series", series, "a table of keys"))
    elif src not in SERIES_SOURCES:
        problems.append(FieldProblem("series.source", src, "one of 'synthetic', 'csv'"))
    else:
        series_cls = SERIES_SOURCES[src]
        read = _read_fields(series_cls, series, "series", problems, skip=("source",))
        kwargs["series"] = series_cls(**read)

    sections_of: tuple[tuple[str, type], ...] = (
        ("window", WindowSpec),
        ("train", TrainSpec),
        ("sweep", SweepSpec),
        ("forecast", ForecastSpec),
    )
    for key, cls in sections_of:
        if key in data:
            kwargs[key] = cls(**_read_fields(cls, data[key], key, problems))

    model = data.get("model", {})
    if not isinstance(model, dict):
        problems.append(FieldProblem("model", model, "a table with a 'layers' list"))
    else:
        for key in model:
            if key != "layers":
                problems.append(
                    FieldProblem(f"model.{key}", model[key], "unknown key; allowed: layers")
                )
        raw = model.get("layers", [])
        if not isinstance(raw, list):
            problems.append(FieldProblem("model.layers", raw, "a list of layer tables"))
            raw = []
        layers = [_read_layer(item, f"model.layers[{i}]", problems) for i, item in enumerate(raw)]
        kwargs["model"] = ModelSpec(tuple(layer for layer in layers if layer is not None))

    if problems:
        raise ConfigError(problems, source)
    # every value is valid on its own; this catches the ones that conflict (split_time >= length)
    return require_valid(Experiment(**kwargs), source)


def parse_toml(text: str, source: str | None, what: str) -> dict[str, Any]:
    """TOML text as a dict; bad TOML is one SeqlabError naming the source (or ``what``)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SeqlabError(f"{source or what}: not valid TOML ({exc})") from None


def read_file(path: str | Path, what: str, article: str = "a") -> tuple[str, Path]:
    """A text file's contents and its path; a missing or unreadable one is one SeqlabError
    naming it as ``what`` ("experiment file", "search file")."""
    p = Path(path).expanduser()
    try:
        return p.read_text(encoding="utf-8"), p
    except FileNotFoundError:
        raise SeqlabError(f"{p}: no such {what}") from None
    except IsADirectoryError:
        raise SeqlabError(f"{p}: is a folder, not {article} {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeqlabError(f"{p}: cannot read the {what} ({exc})") from None


def loads(text: str, source: str | None = None) -> Experiment:
    return experiment_from_dict(parse_toml(text, source, "experiment"), source)


def load(path: str | Path) -> Experiment:
    """Reads an experiment file; a missing or unreadable file is a SeqlabError with one message."""
    text, p = read_file(path, "experiment file", "an")
    return loads(text, str(p))
