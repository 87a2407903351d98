"""A search: the ``[search]`` section of an experiment file, checked before anything runs.

A search space is a set of experiment fields named by key path (``train.learning_rate``,
``window.window``, ``model.layers[2].units``, ``model.layers[2].kind``), each with a domain:

```toml
[search]
trials = 12
searcher = "random"          # random, grid or tpe (Optuna's TPE through Ray Tune)
scheduler = "asha"           # asha (stops poor trials early) or none
[search.space]
"train.learning_rate" = { loguniform = [1e-4, 1e-2] }
"window.window" = { choice = [10, 20, 30] }
"model.layers[1].units" = { randint = [16, 64] }  # both ends included
```

A file that only searches names its base experiment instead (``base = "course-rnn"`` or
``base = "my-experiment.toml"``, relative to the search file). Every bad value is a
``FieldProblem`` with its key path, as the rest of the experiment file's are; every domain is
tried against the base experiment (each choice, both ends of a range), so a trial that could not
run is an error before the search starts. Pure Python: nothing here imports Ray.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from engine import config, presets, shapes
from engine.errors import ConfigError, FieldProblem
from engine.specs import (
    LAYER_KINDS,
    Experiment,
    check_value,
    field_type,
    require_valid,
    spec_field,
)

DOMAINS = ("choice", "grid", "uniform", "loguniform", "randint")
SEARCHERS = ("random", "grid", "tpe")
SCHEDULERS = ("asha", "none")
METRIC = "holdout_mae"  # what trials are compared on: the holdout slice's MAE in the series' units
_SEGMENT = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class SearchSettings:
    """How a search runs; each field with its allowed range, read like every experiment field."""

    trials: int = spec_field(10, lo=1, hi=10_000, help="trials to run (grid: the grid's size)")
    searcher: str = spec_field("random", choices=SEARCHERS, help="how trials are chosen")
    scheduler: str = spec_field("asha", choices=SCHEDULERS, help="asha stops poor trials early")
    grace_period: int = spec_field(5, lo=1, hi=100_000, help="ASHA: epochs before any stop")
    reduction_factor: float = spec_field(
        3.0, lo=1.0, hi=100.0, lo_open=True, help="ASHA: 1 / the share kept at each rung"
    )
    max_concurrent: int | None = spec_field(
        None, lo=1, hi=10_000, optional=True, help="trials at once; none: as the CPUs allow"
    )
    cpus_per_trial: float = spec_field(1.0, lo=0.0, hi=1024.0, lo_open=True)
    seed: int = spec_field(0, lo=0, hi=2**31 - 1, help="seeds the searcher's draws")


@dataclass(frozen=True)
class Param:
    """One searched field: its key path, the domain's kind and its values (bounds for ranges)."""

    path: str
    domain: str
    values: tuple[Any, ...]

    @property
    def key(self) -> str:
        """The key path as the search file writes it under ``[search.space]``."""
        return f'search.space."{self.path}"'

    def describe(self) -> str:
        if self.domain in ("choice", "grid"):
            return f"{self.domain} {', '.join(map(repr, self.values))}"
        return f"{self.domain} {self.values[0]!r} to {self.values[1]!r}"


@dataclass(frozen=True)
class Search:
    """A base experiment, the fields to vary and how the trials are run."""

    base: Experiment
    space: tuple[Param, ...]
    settings: SearchSettings = field(default_factory=SearchSettings)

    @property
    def max_epochs(self) -> int:
        """The most epochs one trial may run (ASHA's budget)."""
        for p in self.space:
            if p.path == "train.epochs":
                return int(max(p.values))
        return self.base.train.epochs

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of a grid search, in order."""
        combos = itertools.product(*(p.values for p in self.space))
        return [dict(zip((p.path for p in self.space), combo, strict=True)) for combo in combos]


# --- key paths ----------------------------------------------------------------------------------


def _segments(path: str) -> list[tuple[str, int | None]] | None:
    out = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if not m:
            return None
        out.append((m.group(1), None if m.group(2) is None else int(m.group(2))))
    return out


def _target(base: Experiment, path: str) -> tuple[type | None, str | None]:
    """The spec class holding the field a key path names and the field's name, or (None, why)."""
    segments = _segments(path)
    if not segments or len(segments) < 2:
        return None, "a key path such as train.learning_rate or model.layers[0].units"
    node: Any = base
    for i, (name, index) in enumerate(segments):
        last = i == len(segments) - 1
        names = [f.name for f in fields(node)]
        if last and index is None:
            if name == "kind" and type(node) in LAYER_KINDS.values():
                return type(node), "kind"
            if name not in names:
                allowed = ", ".join(
                    names + (["kind"] if type(node) in LAYER_KINDS.values() else [])
                )
                return None, f"no such field in the base experiment; allowed here: {allowed}"
            if not next(f for f in fields(node) if f.name == name).metadata:
                return None, "not a field a search can vary"
            return type(node), name
        if name not in names:
            allowed = ", ".join(names)
            return None, f"no such field in the base experiment; allowed here: {allowed}"
        value = getattr(node, name)
        if index is not None:
            if not isinstance(value, tuple) or index >= len(value):
                count = len(value) if isinstance(value, tuple) else 0
                return None, f"no such layer in the base experiment (it has {count})"
            value = value[index]
        if value is None or not hasattr(value, "__dataclass_fields__"):
            return None, "no such field in the base experiment"
        node = value
    return None, "no such field in the base experiment"


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Sets one key path in an experiment's dict (engine.config.experiment_to_dict's form)."""
    segments = _segments(path) or []
    node: Any = data
    for name, index in segments[:-1]:
        node = node.setdefault(name, {})
        if index is not None:
            node = node[index]
    name, _ = segments[-1]
    if name == "kind":
        # a new kind keeps the settings it also has (units, return_sequences) and drops the rest
        known = {f.name for f in fields(LAYER_KINDS[value])}
        kept = {k: v for k, v in node.items() if k in known}
        node.clear()
        node.update({"kind": value, **kept})
    else:
        node[name] = value


def apply(base: Experiment, assignment: dict[str, Any], name: str | None = None) -> Experiment:
    """The base experiment with the assignment's fields set (checked as a file would be)."""
    data = config.experiment_to_dict(base)
    for path, value in assignment.items():
        _set(data, path, value)
    if name is not None:
        data["name"] = name
    return config.experiment_from_dict(data, source=None)


# --- reading ------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_param(
    base: Experiment, path: str, raw: Any, problems: list[FieldProblem]
) -> Param | None:
    key = f'search.space."{path}"'
    cls, name = _target(base, path)
    if cls is None:
        problems.append(FieldProblem(key, raw, name or "no such field"))
        return None
    assert name is not None
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in DOMAINS:
        allowed = ", ".join(DOMAINS)
        problems.append(
            FieldProblem(key, raw, f"a table with one of {allowed}, e.g. {{ choice = [10, 20] }}")
        )
        return None
    domain, values = next(iter(raw.items()))
    kind = str if name == "kind" else field_type(cls, name)
    if not isinstance(values, list) or not values:
        problems.append(FieldProblem(f"{key}.{domain}", values, "a non-empty list of values"))
        return None
    if domain in ("uniform", "loguniform", "randint"):
        whole = domain == "randint"
        wanted = int if whole else float
        if kind not in (int, float) or (kind is int) != whole:
            fit = "randint or choice" if kind is int else "uniform, loguniform or choice"
            if kind not in (int, float):
                fit = "choice or grid"
            problems.append(FieldProblem(f"{key}.{domain}", values, f"this field takes {fit}"))
            return None
        ok = len(values) == 2 and all(_number(v) for v in values)
        ok = ok and (not whole or all(isinstance(v, int) for v in values))
        if not ok or values[0] >= values[1] or (domain == "loguniform" and values[0] <= 0):
            lower = "above 0" if domain == "loguniform" else "a number"
            problems.append(
                FieldProblem(
                    f"{key}.{domain}",
                    values,
                    f"[low, high] with low below high (low {lower}; "
                    f"{'whole numbers, both included' if whole else 'numbers'})",
                )
            )
            return None
        values = [wanted(v) for v in values]
    elif kind is float:
        values = [float(v) if _number(v) else v for v in values]
    for v in values:
        if name == "kind":
            problem = (
                None
                if v in LAYER_KINDS and v != "bidirectional"
                else FieldProblem(
                    f"{key}.{domain}",
                    v,
                    "one of " + ", ".join(k for k in LAYER_KINDS if k != "bidirectional"),
                )
            )
        else:
            problem = check_value(cls, name, v, f"{key}.{domain}")
        if problem:
            problems.append(problem)
            return None
    if len(set(map(repr, values))) != len(values) and domain in ("choice", "grid"):
        problems.append(FieldProblem(f"{key}.{domain}", values, "each value once"))
        return None
    return Param(path, domain, tuple(values))


def _try_on_base(search: Search) -> list[FieldProblem]:
    """Each choice and both ends of each range, applied to the base alone, must give a valid
    experiment whose model can work (engine.shapes)."""
    problems: list[FieldProblem] = []
    for p in search.space:
        for v in p.values:
            try:
                trial = apply(search.base, {p.path: v})
            except ConfigError as exc:
                why = "; ".join(map(str, exc.problems))
                problems.append(FieldProblem(p.key, v, f"not valid in the base experiment: {why}"))
                break
            shape_problems = shapes.infer_experiment(trial).problems
            if shape_problems:
                why = f"the model cannot work with it: {shape_problems[0].message}"
                problems.append(FieldProblem(p.key, v, why))
                break
    return problems


def _base_of(data: dict[str, Any], source: str | None) -> Experiment:
    """The experiment a search varies: the file's own sections, or the one ``base`` names."""
    search = data.get("search", {})
    named = search.get("base") if isinstance(search, dict) else None
    own = {k: v for k, v in data.items() if k != "search"}
    if named is None:
        return config.experiment_from_dict(own, source)
    if own:
        raise ConfigError(
            [
                FieldProblem(
                    "search.base", named, "give a base or the experiment's sections, not both"
                )
            ],
            source,
        )
    if not isinstance(named, str) or not named.strip():
        raise ConfigError(
            [FieldProblem("search.base", named, "a preset name or an experiment file")], source
        )
    if named in presets.PRESETS:
        return presets.get_preset(named)
    where = Path(source).parent if source else Path.cwd()
    path = Path(named).expanduser()
    return config.load(path if path.is_absolute() else where / path)


def search_from_dict(data: Any, source: str | None = None) -> Search:
    """A search from a parsed file; raises ConfigError naming every bad key path."""
    if not isinstance(data, dict):
        raise ConfigError([FieldProblem("(top)", data, "a table")], source)
    raw = data.get("search")
    if not isinstance(raw, dict):
        raise ConfigError(
            [FieldProblem("search", raw, "a [search] table with a [search.space] of fields")],
            source,
        )
    base = _base_of(data, source)
    problems: list[FieldProblem] = []
    known = {f.name for f in fields(SearchSettings)} | {"space", "base"}
    for key in raw:
        if key not in known:
            allowed = ", ".join(sorted(known))
            problems.append(
                FieldProblem(f"search.{key}", raw[key], f"unknown key; allowed: {allowed}")
            )
    kwargs: dict[str, Any] = {}
    for f in fields(SearchSettings):
        if f.name in raw:
            value = raw[f.name]
            if field_type(SearchSettings, f.name) is float and _number(value):
                value = float(value)
            problem = check_value(SearchSettings, f.name, value, f"search.{f.name}")
            if problem:
                problems.append(problem)
            else:
                kwargs[f.name] = value
    space_raw = raw.get("space")
    params: list[Param] = []
    if not isinstance(space_raw, dict) or not space_raw:
        problems.append(
            FieldProblem(
                "search.space",
                space_raw,
                "a table of fields to vary, e.g. "
                '"train.learning_rate" = { loguniform = [1e-4, 1e-2] }',
            )
        )
    else:
        for path, domain in space_raw.items():
            param = _read_param(base, path, domain, problems)
            if param is not None:
                params.append(param)
    if problems:
        raise ConfigError(problems, source)
    settings = SearchSettings(**kwargs)
    search = Search(base, tuple(params), settings)
    problems = _try_on_base(search) + _fit_problems(search, "trials" in raw)
    if problems:
        raise ConfigError(problems, source)
    return search


def _fit_problems(search: Search, trials_given: bool) -> list[FieldProblem]:
    """Settings that conflict with each other or with the base experiment."""
    s, problems = search.settings, []
    kinds = {p.domain for p in search.space}
    if search.base.train.holdout == 0 and not any(p.path == "train.holdout" for p in search.space):
        problems.append(
            FieldProblem(
                "train.holdout",
                0,
                "a search chooses its trials on the holdout slice: give one (e.g. 0.1)",
            )
        )
    if any(p.path == "train.holdout" and 0 in p.values for p in search.space):
        param = next(p for p in search.space if p.path == "train.holdout")
        problems.append(
            FieldProblem(param.key, 0, "above 0: trials are chosen on the holdout slice")
        )
    if s.searcher == "grid":
        if kinds != {"grid"}:
            problems.append(
                FieldProblem(
                    "search.searcher", "grid", "every field of a grid search takes grid = [...]"
                )
            )
        else:
            size = math.prod(len(p.values) for p in search.space)
            if trials_given and s.trials != size:
                problems.append(
                    FieldProblem(
                        "search.trials",
                        s.trials,
                        f"the grid has {size} combinations: leave trials out or give {size}",
                    )
                )
    elif "grid" in kinds:
        param = next(p for p in search.space if p.domain == "grid")
        problems.append(
            FieldProblem(
                f"{param.key}.grid", list(param.values), 'grid needs searcher = "grid"; use choice'
            )
        )
    if s.scheduler == "asha" and s.grace_period >= search.max_epochs:
        problems.append(
            FieldProblem(
                "search.grace_period",
                s.grace_period,
                f"fewer than the trials' epochs ({search.max_epochs}), or ASHA stops nothing",
            )
        )
    return problems


def trials_of(search: Search) -> int:
    """How many trials the search runs (a grid runs each combination once)."""
    if search.settings.searcher == "grid":
        return math.prod(len(p.values) for p in search.space)
    return search.settings.trials


def loads(text: str, source: str | None = None) -> Search:
    return search_from_dict(config.parse_toml(text, source, "search"), source)


def load(path: str | Path) -> Search:
    """Reads a search file (an experiment with ``[search]``, or ``[search]`` naming a base)."""
    text, p = config.read_file(path, "search file")
    return loads(text, str(p))


def to_dict(search: Search) -> dict[str, Any]:
    """The search as a file's dict: the base experiment's sections and ``[search]``."""
    out = config.experiment_to_dict(search.base)
    settings = {
        f.name: getattr(search.settings, f.name)
        for f in fields(SearchSettings)
        if getattr(search.settings, f.name) is not None
    }
    space = {p.path: {p.domain: list(p.values)} for p in search.space}
    out["search"] = {**settings, "space": space}
    return out


def dumps(search: Search) -> str:
    """The search as TOML, self-contained (the base experiment written out in full)."""
    import tomli_w

    title = "".join(c if c.isprintable() else " " for c in search.base.name)
    return f"# seqlab search over: {title}\n" + tomli_w.dumps(to_dict(search))


def validated(search: Search) -> Search:
    """The search, its base experiment checked again (a search built in code, e.g. the app's)."""
    require_valid(search.base)
    problems: list[FieldProblem] = []
    for p in search.space:
        _read_param(search.base, p.path, {p.domain: list(p.values)}, problems)
    if problems:
        raise ConfigError(problems)
    problems = _try_on_base(search) + _fit_problems(search, False)
    if problems:
        raise ConfigError(problems)
    return search


# --- for the app: what can be searched, and a domain typed as text --------------------------------


def searchable(exp: Experiment) -> list[tuple[str, type, Any]]:
    """Every field a search can vary in ``exp``: (key path, its Python type, current value),
    in the experiment's order (series, window, model layers, train, forecast)."""
    out: list[tuple[str, type, Any]] = []

    def walk(node: Any, path: str) -> None:
        if type(node) in LAYER_KINDS.values() and type(node).kind != "bidirectional":
            out.append((f"{path}.kind", str, type(node).kind))
        for f in fields(node):
            value = getattr(node, f.name)
            sub = f"{path}.{f.name}" if path else f.name
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    walk(item, f"{sub}[{i}]")
            elif hasattr(value, "__dataclass_fields__"):
                walk(value, sub)
            elif f.metadata and "." in sub:
                out.append((sub, field_type(type(node), f.name), value))

    for section in ("series", "window", "model", "train", "forecast"):
        walk(getattr(exp, section), section)
    return out


def _word(text: str) -> Any:
    """One typed value: true/false, a whole number, a number, else text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("\"'")


def param_from_text(base: Experiment, path: str, text: str) -> Param:
    """A domain typed in the app, e.g. ``loguniform 1e-4 1e-2`` or ``choice 10 20 30``, checked
    as the same entry of a search file would be; raises ConfigError naming the key path."""
    words = text.replace(",", " ").split()
    if not words or words[0] not in DOMAINS:
        allowed = ", ".join(DOMAINS)
        raise ConfigError(
            [
                FieldProblem(
                    f'search.space."{path}"',
                    text,
                    f"a domain then its values, e.g. choice 10 20 30; domains: {allowed}",
                )
            ]
        )
    problems: list[FieldProblem] = []
    param = _read_param(base, path, {words[0]: [_word(w) for w in words[1:]]}, problems)
    if param is None:
        raise ConfigError(problems)
    return param
