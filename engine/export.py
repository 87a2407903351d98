"""Exports of an experiment that leave seqlab: a standalone script, a notebook, the TOML file.

``script`` writes one Python file that needs only numpy and Keras (TensorFlow backend) and
reproduces a seqlab training run: the same series, split, holdout slice, normalisation, windows,
model (Keras's own layers, in seqlab's order and with its names), optimizer, schedule, callbacks,
seed and shuffle, then the one-step validation forecast and its MAE. On the same machine it
prints the run's validation MAE to float rounding (tests/test_export.py runs one and checks it).
``notebook`` lays the same steps out as cells, with markdown that explains each in plain words,
matplotlib plots and a learning-rate sweep (matplotlib is the notebook's dependency; nbformat,
imported when a notebook is made, writes it).

Both are made from one list of steps (``steps``): a title, the words (the notebook's markdown)
and the code, which the script and the notebook share; the notebook adds its plot and sweep
steps. Each generator writes only the code paths the experiment takes: no normalisation code
for ``normalise = "none"``, no schedule code for a constant rate, no holdout code without a
holdout slice. What seqlab does is mirrored here, not imported: this module is plain Python (no
TensorFlow); the fitting settings both use are engine.fit_settings'.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine import config
from engine.errors import SeqlabError
from engine.fit_settings import HOLDOUT_LOSS, MAX_STEPS_PER_EXECUTION, UNROLL_MAX_STEPS
from engine.runstore import RunStore, atomic_write
from engine.shapes import SEQ2SEQ, ShapeReport, fmt_shape, forecast_outputs, infer
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    CsvSeries,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    LayerSpec,
    Recurrent,
    Scale,
    SimpleRNN,
    SyntheticSeries,
    TrainSpec,
    is_recurrent,
    require_valid,
)
from engine.sweep import sweep_start
from engine.windows import holdout_points

KINDS = ("script", "notebook", "experiment")  # what `seqlab export` writes
SUFFIXES = {"script": ".py", "notebook": ".ipynb", "experiment": ".toml"}

LINE = 100  # the generated code's line length (ruff's, as seqlab's own)


@dataclass(frozen=True)
class Step:
    """One step of the course's recipe: its title, what it does in plain words (the notebook's
    markdown) and its code (shared by the script and the notebook; empty for words alone)."""

    title: str
    text: str
    code: str = ""
    notebook_only: bool = False


# --- the public functions --------------------------------------------------------------------


def script(
    exp: Experiment,
    *,
    run_id: str | None = None,
    val_mae: float | None = None,
    filename: str | None = None,
) -> str:
    """The standalone Python file (numpy + Keras, TensorFlow backend) reproducing a run of
    ``exp``; it prints the validation MAE (and the naive forecast's). ``filename`` is the name
    its header tells to run (``export_run`` gives the file's)."""
    plan = _Plan.of(exp)
    parts = [_imports(plan, notebook=False)]
    shown = [s for s in _steps(plan) if not s.notebook_only]
    for number, step in enumerate(shown, start=1):
        parts.append(_section(number, step.title) + "\n" + _strip(step.code))
    # isort's blank lines after the imports: two before a def, else one
    first = [line for line in parts[1].splitlines() if not line.startswith("#")]
    imports = parts.pop(0) + ("\n\n\n" if first[0].startswith("def ") else "\n\n")
    head = _docstring(exp, run_id, val_mae, filename or "THIS_FILE.py")
    return head + "\n\n" + imports + "\n\n\n".join(parts) + "\n"


def notebook(exp: Experiment, *, run_id: str | None = None, val_mae: float | None = None) -> str:
    """The notebook (nbformat v4 JSON text): the script's steps as cells, each after markdown
    that explains it, with matplotlib plots of the series, the losses and the forecast, and a
    learning-rate sweep at the end."""
    import nbformat
    from nbformat import v4

    plan = _Plan.of(exp)
    # numbered ids rather than nbformat's random ones: the same experiment, the same file
    cells = [
        v4.new_markdown_cell(_notebook_intro(exp, run_id, val_mae), id="cell-00"),
        v4.new_code_cell(_imports(plan, notebook=True), id="cell-01"),
    ]
    number = 0
    for step in _steps(plan):
        if not step.notebook_only:
            number += 1
        heading = f"## {number}. {step.title}" if not step.notebook_only else f"### {step.title}"
        cells.append(v4.new_markdown_cell(heading + "\n\n" + step.text, id=_cell_id(cells)))
        if step.code:
            cells.append(v4.new_code_cell(_strip(step.code), id=_cell_id(cells)))
    book = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(book)
    return str(nbformat.writes(book))


def _cell_id(cells: list[object]) -> str:
    return f"cell-{len(cells):02d}"


def experiment_toml(exp: Experiment) -> str:
    """The experiment file (what ``seqlab run FILE`` reads back)."""
    return config.dumps(exp)


def default_path(run_id: str, kind: str, folder: Path | None = None) -> Path:
    """Where an export of ``kind`` goes unless told: ``<folder or cwd>/<run id><suffix>``."""
    _check_kind(kind)
    return (Path(folder) if folder is not None else Path.cwd()) / f"{run_id}{SUFFIXES[kind]}"


def write(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Writes ``text`` to ``path`` atomically (readers never see half a file); refuses an
    existing file unless ``overwrite``, and a folder that does not exist. The file gets the
    usual permissions (0666 less the umask). Returns the absolute path."""
    where = Path(path).expanduser().absolute()
    folder = where.parent
    if where.is_dir():
        raise SeqlabError(f"{where} is a folder; give the path of a file to write")
    if where.exists() and not overwrite:
        raise SeqlabError(f"{where} exists; choose another path, or overwrite it (--force)")
    if not folder.exists():
        raise SeqlabError(f"{folder}: no such folder; create it first or choose another path")
    if not folder.is_dir():
        raise SeqlabError(f"{folder} is not a folder; choose another path")
    try:
        atomic_write(where, text)
        os.chmod(where, 0o666 & ~_umask())
    except OSError as exc:
        raise SeqlabError(f"cannot write {where}: {exc.strerror or exc}") from None
    return where


def export_run(
    store: RunStore,
    run: str,
    kind: str,
    path: str | Path | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Writes the ``kind`` export of a saved run (found by id, folder or a unique part of its id)
    to ``path`` (``default_path`` when None); returns the absolute path.

    Only the run's experiment is needed: a run with other damaged files still exports it (a
    SeqlabError names the file when the experiment cannot be read). The script and notebook
    name the run, and a finished training run's validation MAE; a sweep run's experiment is
    exported as its training (the notebook's last section sweeps the rate).
    """
    _check_kind(kind)
    info = store.find(run)
    exp = store.experiment(info.path)
    val_mae = info.val_mae if info.kind == "train" and info.status == "finished" else None
    target = Path(path) if path is not None else default_path(info.run_id, kind)
    if kind == "script":
        name = target.name if " " not in target.name else repr(target.name)
        text = script(exp, run_id=info.run_id, val_mae=val_mae, filename=name)
    elif kind == "notebook":
        text = notebook(exp, run_id=info.run_id, val_mae=val_mae)
    else:
        text = experiment_toml(exp)
    return write(target, text, overwrite=overwrite)


# --- the steps -------------------------------------------------------------------------------


def steps(exp: Experiment) -> list[Step]:
    """The course's steps for ``exp``, in order, the notebook's plot and sweep steps included
    (``notebook_only``); the script is the others. Refuses an experiment seqlab would not run
    (a bad field, a model its shape inference finds broken)."""
    return _steps(_Plan.of(exp))


def _steps(plan: _Plan) -> list[Step]:
    out = [_series_step(plan), _split_step(plan), _series_plot_step(plan)]
    if plan.normalised:
        out.append(_normalise_step(plan))
    out += [
        _windows_step(plan),
        _model_step(plan),
        Step(
            "The model's layers",
            "Keras's summary of the model just built.",
            "model.summary()",
            True,
        ),
        _training_step(plan),
        _loss_plot_step(plan),
        _forecast_step(plan),
        _mae_step(plan),
        _forecast_plot_step(plan),
        _sweep_step(plan),
    ]
    return out


@dataclass(frozen=True)
class _Plan:
    """What the generated code depends on, worked out once from the experiment."""

    exp: Experiment
    report: ShapeReport  # per-layer shapes with an unknown batch
    seq2seq: bool
    horizon: int  # values per prediction: a direct model's horizon, else 1
    held: int  # points in the holdout slice (0: none)

    @classmethod
    def of(cls, exp: Experiment) -> _Plan:
        require_valid(exp)
        outputs = forecast_outputs(exp.forecast)
        report = infer(exp.model, None, exp.window.window, outputs=outputs)
        if report.problems:
            raise SeqlabError(
                "cannot export: the model cannot be built: " + " ".join(map(str, report.problems))
            )
        held = holdout_points(exp.train.holdout, exp.series.split_time)
        return cls(exp, report, report.mode == SEQ2SEQ, outputs, held)

    @property
    def t(self) -> TrainSpec:
        return self.exp.train

    @property
    def normalised(self) -> bool:
        return self.t.normalise != "none"

    @property
    def last(self) -> bool:
        return self.t.normalise == "last"

    @property
    def values(self) -> str:
        """The name of the series the model sees (normalised or not)."""
        return "scaled" if self.normalised else "series"

    @property
    def unroll(self) -> bool:
        return self.exp.window.window <= UNROLL_MAX_STEPS

    @property
    def early_stopping(self) -> bool:
        """Whether training has seqlab's EarlyStopping (engine.training._TrainPolicy)."""
        return bool(self.held) and (self.t.patience is not None or self.t.restore_best)

    @property
    def plateau(self) -> bool:
        return bool(self.held) and self.t.schedule == "plateau"


def _series_step(plan: _Plan) -> Step:
    spec = plan.exp.series
    if isinstance(spec, SyntheticSeries):
        return _synthetic_step(spec)
    assert isinstance(spec, CsvSeries)
    return _csv_step(spec)


def _synthetic_step(spec: SyntheticSeries) -> Step:
    time = "time"
    if spec.phase:
        time = f"(time {'+' if spec.phase > 0 else '-'} {_num(abs(spec.phase))})"
    level = (
        _num(spec.baseline)
        + _term(spec.slope, "time")
        + _term(spec.amplitude, "seasonal_pattern(season_time)")
    )
    lines = [
        "# The course's synthetic series: trend + seasonality + noise, computed as seqlab computes",
        "# it (float32 time, numpy's RandomState noise), so every value is the same.",
        "def seasonal_pattern(season_time):",
        '    """The course pattern: cos(2 pi s) for s < 0.4, else exp(-3 s)."""',
        "    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), "
        "1 / np.exp(3 * season_time))",
        "",
        "",
        f'time = np.arange({spec.length}, dtype="float32")',
        f"season_time = ({time} % {spec.period}) / {spec.period}",
        *_render(level, 0, prefix="series = "),
        f"noise = np.random.RandomState({spec.seed}).randn({spec.length})"
        f" * {_num(spec.noise_level)}",
        'series = (series + noise).astype("float32")',
    ]
    text = (
        f"The course's synthetic series: {spec.length} points of a baseline of "
        f"{_num(spec.baseline)}, a trend of {_num(spec.slope)} per step, a season of "
        f"{spec.period} steps with amplitude {_num(spec.amplitude)} and Gaussian noise of "
        f"standard deviation {_num(spec.noise_level)} (seed {spec.seed}). It is computed exactly "
        "as seqlab computes it (float32 time, numpy's `RandomState` noise), so every value is "
        "the same as in the run."
    )
    return Step("The series", text, "\n".join(lines))


def _csv_step(spec: CsvSeries) -> Step:
    column = spec.column.strip()
    index = column.lstrip("-").isdigit()
    header = ["header = [cell.strip() for cell in rows.pop(0)]"] if spec.header else []
    if not spec.header:
        pick = f"column = {int(column)}  # a 0-based index: the file has no header row"
    elif index:
        pick = (
            f"column = header.index({_str(column)}) if {_str(column)} in header else {int(column)}"
        )
    else:
        pick = f"column = header.index({_str(column)})"
    if spec.path.startswith("~"):
        path_line = f"CSV_PATH = os.path.expanduser({_str(spec.path)})"
    elif Path(spec.path).is_absolute():
        path_line = f"CSV_PATH = {_str(spec.path)}"
    else:
        path_line = f"CSV_PATH = {_str(spec.path)}  # relative to the folder you run this in"
    lines = [
        "# Read as seqlab reads it: blank rows skipped, each value stored as a float32 number.",
        _long(path_line),
        "",
        'with open(CSV_PATH, newline="", encoding="utf-8-sig") as file:',
        "    rows = [row for row in csv.reader(file) if any(cell.strip() for cell in row)]",
        *header,
        pick,
        'series = np.array([float(row[column]) for row in rows], dtype="float32")',
        'print(f"{len(series)} values read from {CSV_PATH}")',
    ]
    which = f"the column named {_md(column)}" if spec.header and not index else f"column {column}"
    text = (
        f"The values of {which} of the CSV file `{_md_code(spec.path)}`, read as seqlab reads "
        "them, with Python's `csv` module: blank rows are skipped"
        + (", the first row holds the column names" if spec.header else "")
        + " and every value is stored as a float32 number, as in the run."
    )
    if spec.date_column not in (None, ""):
        text += " The date column only labels the points in seqlab's charts; it is not needed here."
    return Step("The series", text, "\n".join(lines))


def _split_step(plan: _Plan) -> Step:
    split = plan.exp.series.split_time
    lines = [
        "# Everything from SPLIT_TIME on is the validation period: a test set that nothing below",
        "# fits, stops or chooses on. It is forecast and scored once, at the end.",
        f"SPLIT_TIME = {split}",
        "x_valid = series[SPLIT_TIME:]",
        "",
    ]
    holdout = plan.t.holdout
    if plan.held:
        share = f"train.holdout = {_num(holdout)}" + (
            f", {holdout:.0%} of the training period" if holdout < 1 else ""
        )
        lines += [
            *_comment(
                f"The holdout slice: the last {plan.held} training points ({share}), kept out "
                "of fitting. Early stopping and the learning-rate plateau watch the loss on it "
                "(Keras calls it val_loss), never on the validation period."
            ),
            f"HOLDOUT = {plan.held}",
            "fit_end = SPLIT_TIME - HOLDOUT  # the model is fitted on series[:fit_end]",
        ]
        text = (
            f"The first {split} points are the training period, the rest the validation period. "
            "The validation period is a test set: nothing fits, stops or chooses on it; the "
            "model forecasts it once at the end, and its MAE is the score. The training period "
            f"ends with a **holdout slice** of {plan.held} points kept out of fitting: early "
            "stopping, the learning-rate plateau and the kept epoch watch the loss on it instead "
            "(Keras calls it `val_loss`, because it is passed as `validation_data`)."
        )
    else:
        lines += [
            "# No holdout slice (train.holdout = 0): the model is fitted on the whole training"
            " period.",
            "fit_end = SPLIT_TIME",
        ]
        text = (
            f"The first {split} points are the training period, the rest the validation period: a "
            "test set that nothing fits or chooses on; the model forecasts it once at the end, "
            "and its MAE is the score. There is no holdout slice (`train.holdout = 0`), so the "
            "model is fitted on the whole training period, as in the course."
        )
    return Step("Training and validation periods", text, "\n".join(lines))


def _series_plot_step(plan: _Plan) -> Step:
    held = (
        ['plt.axvspan(fit_end, SPLIT_TIME, color="tab:orange", alpha=0.2, label="holdout slice")']
        if plan.held
        else []
    )
    lines = [
        "plt.figure(figsize=(10, 4))",
        'plt.plot(series, lw=1, label="series")',
        *held,
        'plt.axvspan(SPLIT_TIME, len(series), color="grey", alpha=0.2, label="validation period")',
        'plt.xlabel("time step")',
        "plt.legend()",
        "plt.show()",
    ]
    text = "The series, with the parts the model is not fitted on shaded."
    return Step("A look at the series", text, "\n".join(lines), notebook_only=True)


def _normalise_step(plan: _Plan) -> Step:
    kind = plan.t.normalise
    if kind == "minmax":
        stats = [
            "offset = float(np.float32(fitting.min()))",
            "spread = float(fitting.max() - fitting.min())",
        ]
        words = "minus its smallest value, divided by its range"
    else:
        stats = [
            "offset = float(np.float32(fitting.mean()))",
            "spread = float(fitting.std())",
        ]
        words = "minus its mean, divided by its standard deviation"
    lines = [
        "# Normalised with statistics of the fitting part alone, so neither the holdout slice nor",
        "# the validation period shapes what the model learns. The offset is a float32 number and",
        "# the scale a power of two (the spread rounded), so undoing it later is exact.",
        'fitting = series[:fit_end].astype("float64")',
        *stats,
        "scale = 2.0 ** round(math.log2(spread)) if spread > 0 else 1.0",
        'scaled = ((series.astype("float64") - offset) / scale).astype("float32")',
    ]
    text = (
        f'Normalisation (`train.normalise = "{kind}"`): the model sees the series {words}, '
        "both taken from the fitting part alone (the training period without its holdout "
        "slice), so nothing it is scored on shapes what it learns. The scale is rounded to a "
        "power of two and the offset is a float32 number: then normalising and undoing it are "
        "exact, and the forecasts come back in the series' own units to the last digit."
    )
    if kind == "last":
        text += (
            ' With `"last"` each window is then also made relative to its own last value (next '
            "step)."
        )
    return Step("Normalisation", text, "\n".join(lines))


def _windows_step(plan: _Plan) -> Step:
    w = plan.exp.window
    v = plan.values
    if plan.seq2seq:
        size, pick = "WINDOW_SIZE + 1", "windows, labels = cut[:, :-1], cut[:, 1:]"
        labelled = "labelled with the same window shifted on by one step"
        doc = "(windows, labels) as float32: every WINDOW_SIZE values, and the same shifted by one."
    elif plan.horizon > 1:
        size, pick = (
            "WINDOW_SIZE + HORIZON",
            "windows, labels = cut[:, :WINDOW_SIZE], cut[:, WINDOW_SIZE:]",
        )
        labelled = "labelled with the HORIZON values after it (a direct forecast)"
        doc = "(windows, labels) as float32: every WINDOW_SIZE values and the HORIZON after them."
    else:
        size, pick = "WINDOW_SIZE + 1", "windows, labels = cut[:, :-1], cut[:, -1]"
        labelled = "labelled with the value after it"
        doc = "(windows, labels) as float32: every WINDOW_SIZE values and the one after them."
    body = [f"cut = sliding_window_view(values, {size})", pick]
    if plan.last:
        sub = "last[:, 0]" if not plan.seq2seq and plan.horizon == 1 else "last"
        body += [
            '# normalise = "last": each window and its labels minus the window\'s last value, so',
            "# the model learns the change from the naive forecast, and a level it never saw is",
            "# only an offset",
            'last = windows[:, -1:].astype("float64")',
            f"windows, labels = windows - last, labels - {sub}",
        ]
    body.append('return windows.astype("float32"), labels.astype("float32")')
    lines = [
        "# Every window is cut once with numpy: the same windows, in the same order, as the",
        "# course's tf.data window/flat_map pipeline, made once instead of every epoch. Each holds",
        f"# WINDOW_SIZE values, {labelled}.",
        f"WINDOW_SIZE = {w.window}",
    ]
    if plan.horizon > 1:
        lines.append(f"HORIZON = {plan.horizon}  # forecast.horizon, strategy direct")
    lines += [
        f"BATCH_SIZE = {w.batch_size}",
        f"SHUFFLE_BUFFER = {w.shuffle_buffer}",
        "",
        "",
        "def cut_windows(values):",
        f'    """{doc}"""',
        *("    " + line for line in body),
        "",
        "",
        f"x_fit, y_fit = cut_windows({v}[:fit_end])",
    ]
    if plan.held:
        lines += [
            "# each holdout window's labels lie in the slice; its inputs look back into the",
            "# fitting part, as each validation window's look back into the training period",
            f"x_hold, y_hold = cut_windows({v}[fit_end - WINDOW_SIZE : SPLIT_TIME])",
            'print(f"{len(x_fit)} windows to fit on, {len(x_hold)} in the holdout slice")',
        ]
    else:
        lines.append('print(f"{len(x_fit)} windows to fit on")')
    what = (
        "the same window shifted on by one step: a sequence-to-sequence model learns to forecast "
        "at every step (the course's week 4 labels)"
        if plan.seq2seq
        else f"the {plan.horizon} values after it: a direct model forecasts all of them at once"
        if plan.horizon > 1
        else "the value right after it"
    )
    text = (
        f"The model learns from windows of {w.window} consecutive values, each labelled with "
        f"{what}. The course cuts them with a `tf.data` pipeline (`window`, `flat_map`, `batch`) "
        "every epoch; here they are cut once with numpy (`sliding_window_view`): the same "
        "windows, in the same order, made once. The fitting windows lie wholly before the "
        "holdout slice, so none straddles it."
    )
    if plan.held:
        text += (
            " Each holdout window has its labels in the slice and looks back into the fitting "
            "part for its inputs, as each validation window looks back into the training period."
        )
    if plan.last:
        text += (
            ' With `normalise = "last"` every window, and its labels, has the window\'s last '
            "value subtracted: the model learns the change from the naive forecast (the last "
            "value) rather than the level, so a level it never saw in training is only an offset."
        )
    return Step("Windows", text, "\n".join(lines))


def _model_step(plan: _Plan) -> Step:
    exp = plan.exp
    items: list[_Call | str] = []
    for i, spec in enumerate(exp.model.layers):
        row = plan.report.layers[i]
        items.append(f"# output {_batch_shape(row.output_shape)}")
        items.append(_keras_layer(spec, f"{i + 1:02d}_{spec.kind}", plan.unroll))
    model = _Call(
        "keras.Sequential",
        (
            _List(('keras.Input(shape=(WINDOW_SIZE,), name="window")', *items)),
            'name="seqlab"',
        ),
    )
    lines = [
        "# The layers seqlab built, in the same order and with the same names. Seeding Python,",
        "# numpy and TensorFlow just before makes the starting weights (and later the shuffle)",
        "# the run's.",
        f"SEED = {plan.t.seed}",
        "",
        "",
        "def build_model():",
        '    """The model: (batch, WINDOW_SIZE) windows in, forecasts out."""',
        *_render(model, 4, prefix="return "),
        "",
        "",
        "keras.backend.clear_session()",
        "keras.utils.set_random_seed(SEED)",
        "model = build_model()",
    ]
    return Step("The model", _model_text(plan), "\n".join(lines))


def _keras_layer(spec: LayerSpec, name: str, unroll: bool) -> _Call | str:
    """The Keras layer seqlab builds for ``spec``, as code (engine.keras_model's, with Keras's
    own layers for seqlab's: Reshape for ExpandDims, Rescaling for Scale)."""
    named = f"name={_str(name)}"
    if isinstance(spec, ExpandDims):
        return _Call("keras.layers.Reshape", ("(WINDOW_SIZE, 1)", named))
    if isinstance(spec, Scale):
        return _Call("keras.layers.Rescaling", (_num(spec.factor), named))
    if isinstance(spec, Bidirectional):
        inner = _keras_layer(spec.layer, f"{name}_inner", unroll)
        merge = () if spec.merge_mode == "concat" else (f"merge_mode={_str(spec.merge_mode)}",)
        return _Call("keras.layers.Bidirectional", (inner, *merge, named))
    if isinstance(spec, Recurrent):
        cls = {SimpleRNN: "SimpleRNN", LSTM: "LSTM", GRU: "GRU"}[type(spec)]
        args = [str(spec.units)]
        if spec.activation != "tanh":
            args.append(f"activation={_str(spec.activation)}")
        if spec.return_sequences:
            args.append("return_sequences=True")
        if unroll and isinstance(spec, SimpleRNN):
            args.append("unroll=True")
        return _Call(f"keras.layers.{cls}", (*args, named))
    if isinstance(spec, Conv1D):
        args = [str(spec.filters), str(spec.kernel_size)]
        if spec.strides != 1:
            args.append(f"strides={spec.strides}")
        if spec.padding != "valid":
            args.append(f"padding={_str(spec.padding)}")
        if spec.activation != "linear":
            args.append(f"activation={_str(spec.activation)}")
        return _Call("keras.layers.Conv1D", (*args, named))
    if isinstance(spec, Dense):
        args = [str(spec.units)]
        if spec.activation != "linear":
            args.append(f"activation={_str(spec.activation)}")
        return _Call("keras.layers.Dense", (*args, named))
    if isinstance(spec, Dropout):
        return _Call("keras.layers.Dropout", (_num(spec.rate), named))
    raise SeqlabError(f"cannot export layer of kind {getattr(spec, 'kind', spec)!r}")


_KERAS_NAMES = {
    "expand_dims": "Reshape((window, 1))",
    "scale": "Rescaling",
    "simple_rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "bidirectional": "Bidirectional",
    "conv1d": "Conv1D",
    "dense": "Dense",
    "dropout": "Dropout",
}


def _model_text(plan: _Plan) -> str:
    """The model step's words: a table of every layer's output shape and parameters, why each
    recurrent layer returns sequences or not, and what the model's output is."""
    exp, report = plan.exp, plan.report
    window = exp.window.window
    rows = [
        "| # | layer | Keras layer | output shape | parameters |",
        "|---|---|---|---|---|",
    ]
    for row in report.layers:
        keras_name = _KERAS_NAMES.get(row.kind, row.kind).replace("window", str(window))
        rows.append(
            f"| {row.index + 1} | {_md(row.label)} | `{keras_name}` | "
            f"{_batch_shape(row.output_shape)} | {row.params:,} |"
        )
    total = report.total_params or 0
    lines = [
        f"The model takes a batch of windows, shape {_batch_shape(report.input_shape)}, and "
        f"passes them through {len(report.layers)} layers ({total:,} parameters), built with "
        "Keras's own layers in the same order and with the same names as seqlab's, so that "
        "seeding gives them the same starting weights:",
        "",
        *rows,
        "",
    ]
    for why in _sequence_notes(plan):
        lines.append(f"- {why}")
    if plan.seq2seq:
        lines.append(
            "- The model is **sequence-to-sequence**: it forecasts at every step of the window, "
            "and the forecast of the next value is its last step's."
        )
    elif plan.horizon > 1:
        lines.append(
            f"- The model is **sequence-to-vector** with {plan.horizon} outputs: the next "
            f"{plan.horizon} values at once (a direct forecast); the validation MAE scores the "
            "first, one step ahead."
        )
    else:
        lines.append(
            "- The model is **sequence-to-vector**: one value per window, the forecast of the "
            "next value."
        )
    if any(isinstance(s, ExpandDims) for s in exp.model.layers):
        lines.append(
            "- `Reshape((window, 1))` adds the feature axis recurrent layers need (the course's "
            "`Lambda(expand_dims)`)."
        )
    if any(isinstance(s, Scale) for s in exp.model.layers):
        lines.append(
            "- `Rescaling` multiplies the output (the course's `Lambda(x * 100.0)`), so tanh "
            "outputs near ±1 can reach the series' values."
        )
    if plan.unroll and any(_simple_rnn(s) for s in exp.model.layers):
        lines.append(
            f"- `unroll=True`: seqlab unrolls SimpleRNN layers under XLA for windows up to "
            f"{UNROLL_MAX_STEPS} steps (faster epochs, the same arithmetic)."
        )
    return "\n".join(lines)


def _simple_rnn(spec: object) -> bool:
    inner = spec.layer if isinstance(spec, Bidirectional) else spec
    return isinstance(inner, SimpleRNN)


def _sequence_notes(plan: _Plan) -> list[str]:
    """Why each recurrent layer returns sequences (or does not), in plain words."""
    layers, report = plan.exp.model.layers, plan.report
    notes = []
    for i, spec in enumerate(layers):
        if not is_recurrent(spec):
            continue
        inner = spec.layer if isinstance(spec, Bidirectional) else spec
        shape = _batch_shape(report.layers[i].output_shape)
        later = next(
            (
                j
                for j in range(i + 1, len(layers))
                if is_recurrent(layers[j]) or isinstance(layers[j], Conv1D)
            ),
            None,
        )
        if inner.return_sequences:
            if later is not None:
                why = (
                    f"layer {later + 1} ({_md(report.layers[later].label)}) reads a sequence: "
                    "one vector per step"
                )
            else:
                why = "the model forecasts at every step (sequence to sequence)"
            notes.append(
                f"Layer {i + 1} has `return_sequences=True`: it outputs its state at every step, "
                f"{shape}, because {why}."
            )
        else:
            after = (
                "which the layers after it turn into the forecast"
                if i < len(layers) - 1
                else "the forecast"
            )
            notes.append(
                f"Layer {i + 1} has `return_sequences=False`: it outputs only its state after the "
                f"last step, one vector per window, {shape}, {after}."
            )
    return notes


def _training_step(plan: _Plan) -> Step:
    t = plan.t
    lines = [
        "# The experiment's optimizer, loss and schedule, compiled with XLA and several batches",
        "# per call, as seqlab trains (the largest divisor of an epoch's batches up to 64): only",
        "# the speed differs from the course's model.fit, not the numbers.",
        f"EPOCHS = {t.epochs}",
        "steps_per_epoch = -(-len(x_fit) // BATCH_SIZE)  # the last batch may be smaller",
        "steps_per_execution = max(",
        f"    d for d in range(1, min(steps_per_epoch, {MAX_STEPS_PER_EXECUTION}) + 1)"
        " if steps_per_epoch % d == 0",
        ")",
    ]
    rate = _num(t.learning_rate)
    if t.schedule == "cosine":
        lines += [
            *_comment(f"cosine decay from {rate} to {_num(t.min_lr_ratio)} of it over the run"),
            *_render(
                _Call(
                    "keras.optimizers.schedules.CosineDecay",
                    (rate, "decay_steps=EPOCHS * steps_per_epoch", f"alpha={_num(t.min_lr_ratio)}"),
                ),
                0,
                prefix="learning_rate = ",
            ),
        ]
        rate = "learning_rate"
    lines += _render(
        _Call(
            "model.compile",
            (
                f"optimizer={_optimizer(t, rate)}",
                f"loss={_LOSSES[t.loss]}",
                'metrics=["mae"]',
                "jit_compile=True",
                "steps_per_execution=steps_per_execution",
            ),
        ),
        0,
    )
    lines += [
        "",
        "# Shuffled through a buffer of SHUFFLE_BUFFER windows, again every epoch, as the course's",
        "# windowed_dataset does; seeded, so the batches are the run's.",
        "train_set = (",
        "    tf.data.Dataset.from_tensor_slices((x_fit, y_fit))",
        "    .shuffle(SHUFFLE_BUFFER, seed=SEED, reshuffle_each_iteration=True)",
        "    .batch(BATCH_SIZE)",
        "    .repeat()",
        "    .prefetch(tf.data.AUTOTUNE)",
        ")",
    ]
    fit_args = ["train_set", "epochs=EPOCHS", "steps_per_epoch=steps_per_epoch"]
    if plan.held:
        lines += [
            "# Keras scores validation_data every epoch as val_loss: here, the holdout slice",
            "holdout_set = tf.data.Dataset.from_tensor_slices((x_hold, y_hold)).batch(BATCH_SIZE)",
        ]
        fit_args += [
            "validation_data=holdout_set",
            "validation_steps=-(-len(x_hold) // BATCH_SIZE)",
        ]
    callbacks: list[str] = []
    if plan.early_stopping:
        if t.patience is not None:
            lines.append(
                f"# stops after {t.patience} epochs without a holdout gain"
                + (", then keeps the best epoch's weights" if t.restore_best else "")
            )
        else:
            lines.append(
                "# patience past the last epoch: it never stops early, it only keeps the weights"
            )
            lines.append("# of the epoch with the lowest holdout loss")
        lines += _render(
            _Call(
                "keras.callbacks.EarlyStopping",
                (
                    f'monitor="{HOLDOUT_LOSS}"',
                    'mode="min"',
                    f"patience={t.patience if t.patience is not None else 'EPOCHS + 1'}",
                    f"min_delta={_num(t.min_delta)}",
                    f"restore_best_weights={t.restore_best}",
                ),
            ),
            0,
            prefix="early_stopping = ",
        )
        callbacks.append("early_stopping")
    if plan.plateau:
        lines.append(
            f"# the rate times {_num(t.plateau_factor)} after {t.plateau_patience} epochs "
            "without a holdout gain"
        )
        lines += _render(
            _Call(
                "keras.callbacks.ReduceLROnPlateau",
                (
                    f'monitor="{HOLDOUT_LOSS}"',
                    'mode="min"',
                    f"factor={_num(t.plateau_factor)}",
                    f"patience={t.plateau_patience}",
                    f"min_delta={_num(t.min_delta)}",
                    "min_lr=0.0",
                ),
            ),
            0,
            prefix="plateau = ",
        )
        callbacks.append("plateau")
    if callbacks:
        fit_args.append(f"callbacks=[{', '.join(callbacks)}]")
    fit_args += ["shuffle=False  # train_set reshuffles itself every epoch", "verbose=2"]
    lines += _render(_Call("model.fit", tuple(fit_args), force_split=True), 0, prefix="history = ")
    if plan.early_stopping and t.restore_best:
        lines += [
            "if early_stopping.best_weights is not None:",
            '    print(f"kept epoch {early_stopping.best_epoch + 1}: the lowest holdout loss")',
        ]
    return Step("Training", _training_text(plan), "\n".join(lines))


_LOSSES = {
    "huber": "keras.losses.Huber()",
    "mse": "keras.losses.MeanSquaredError()",
    "mae": "keras.losses.MeanAbsoluteError()",
}
_LOSS_NAMES = {"huber": "Huber", "mse": "mean squared error", "mae": "mean absolute error"}


def _optimizer(t: TrainSpec, rate: str) -> str:
    """The optimizer's constructor as code, with only the settings it uses
    (engine.training._optimizer)."""
    args = [f"learning_rate={rate}"]
    if t.optimizer == "sgd":
        args.append(f"momentum={_num(t.momentum)}")
        if t.nesterov:
            args.append("nesterov=True")
        name = "SGD"
    elif t.optimizer == "adamw":
        args.append(f"weight_decay={_num(t.weight_decay)}")
        name = "AdamW"
    elif t.optimizer == "rmsprop":
        args.append(f"momentum={_num(t.momentum)}")
        name = "RMSprop"
    else:
        name = "Adam"
    if t.clipnorm is not None:
        args.append(f"clipnorm={_num(t.clipnorm)}")
    return f"keras.optimizers.{name}({', '.join(args)})"


def _training_text(plan: _Plan) -> str:
    t = plan.t
    opt = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}[t.optimizer]
    parts = [
        f"{t.epochs} epochs of {opt} at learning rate {_num(t.learning_rate)}"
        + (f" with momentum {_num(t.momentum)}" if t.optimizer in ("sgd", "rmsprop") else "")
        + f", on the {_LOSS_NAMES[t.loss]} loss. Every epoch reshuffles the windows through a "
        f"buffer of {plan.exp.window.shuffle_buffer}, as the course's `windowed_dataset` does; "
        "the seed fixes the order, so the batches are the run's. XLA (`jit_compile=True`) and "
        "several batches per call (`steps_per_execution`) make it faster, without changing the "
        "arithmetic."
    ]
    if t.schedule == "cosine":
        parts.append(
            f"The rate follows a cosine from {_num(t.learning_rate)} down to "
            f"{_num(t.min_lr_ratio)} of it over the run."
        )
    if plan.plateau:
        parts.append(
            f"The rate is multiplied by {_num(t.plateau_factor)} whenever the holdout loss has not "
            f"improved for {t.plateau_patience} epochs."
        )
    if plan.early_stopping:
        if t.patience is not None:
            parts.append(
                f"Training stops once the holdout loss has not improved for {t.patience} epochs."
            )
        if t.restore_best:
            parts.append("The model keeps the weights of the epoch with the lowest holdout loss.")
    if not plan.held:
        parts.append("Without a holdout slice nothing watches the training: it runs every epoch.")
    return " ".join(parts)


def _loss_plot_step(plan: _Plan) -> Step:
    held = ['plt.plot(history.history["val_loss"], label="holdout loss")'] if plan.held else []
    units = " (normalised)" if plan.normalised else ""
    lines = [
        "plt.figure(figsize=(10, 4))",
        'plt.plot(history.history["loss"], label="training loss")',
        *held,
        'plt.xlabel("epoch")',
        f'plt.ylabel("{_LOSS_NAMES[plan.t.loss]} loss{units}")',
        'plt.yscale("log")',
        "plt.legend()",
        "plt.show()",
    ]
    unit = ", in the normalised units the model sees" if plan.normalised else ""
    text = f"The loss per epoch{unit}" + (
        ", on the fitting windows and on the holdout slice: once the holdout loss stops "
        "falling, the model has stopped learning what carries over to data it was not fitted on."
        if plan.held
        else "."
    )
    return Step("The losses", text, "\n".join(lines), notebook_only=True)


def _forecast_step(plan: _Plan) -> Step:
    v = plan.values
    pick = "output[:, -1, 0]" if plan.seq2seq else "output[:, 0]"
    lines = [
        "# One forecast per validation point, from the WINDOW_SIZE values before it (all known",
        "# then), as the model saw windows in training; one call for every window at once.",
        f"windows = sliding_window_view({v}[SPLIT_TIME - WINDOW_SIZE : -1], WINDOW_SIZE)",
    ]
    if plan.last:
        lines += [
            'last = windows[:, -1:].astype("float64")',
            'output = model((windows - last).astype("float32"), training=False)',
        ]
    else:
        lines.append("output = model(windows, training=False)")
    lines.append('output = np.asarray(output, dtype="float64")')
    what = (
        "the model's last step"
        if plan.seq2seq
        else "the first of its outputs"
        if plan.horizon > 1
        else ""
    )
    comment = f"  # {what}" if what else ""
    if plan.last:
        lines.append(f"forecast = {pick} + last[:, 0]{comment}")
    else:
        lines.append(f"forecast = {pick}{comment}")
    if plan.normalised:
        lines.append("forecast = forecast * scale + offset  # back in the series' units")
    text = (
        f"Each validation point is forecast one step ahead from the {plan.exp.window.window} "
        "values before it, all known at that time, so the forecasts never see what they "
        "forecast. The windows are prepared as in training"
        + (
            " (normalised" + (", relative to their last value" if plan.last else "") + ")"
            if plan.normalised
            else ""
        )
        + ", and the model forecasts all of them in one call"
        + (
            "; a sequence-to-sequence model's forecast of the next value is its last step's"
            if plan.seq2seq
            else "; a direct model's first output is the one-step forecast"
            if plan.horizon > 1
            else ""
        )
        + (". The forecasts are turned back into the series' units." if plan.normalised else ".")
    )
    return Step("Forecast of the validation period", text, "\n".join(lines))


def _mae_step(plan: _Plan) -> Step:
    lines = [
        "# The score, as seqlab computes it: the mean absolute error over the validation period,",
        "# in the series' units, beside the naive forecast's (each value forecast as the one",
        "# before it).",
        'actual = x_valid.astype("float64")',
        "mae = np.mean(np.abs(forecast - actual))",
        "naive_mae = np.mean(np.abs(series[SPLIT_TIME - 1 : -1] - actual))",
        'print(f"validation MAE: {mae:.6g}")',
        'print(f"naive MAE: {naive_mae:.6g}")',
    ]
    text = (
        "The validation MAE: the mean absolute difference between the forecasts and the "
        "actual values over the validation period, in the series' units, the number seqlab "
        "reports for the run. Beside it, the naive forecast's (each value forecast as the one "
        "before it): a model worth having beats it."
    )
    return Step("Validation MAE", text, "\n".join(lines))


def _forecast_plot_step(plan: _Plan) -> Step:
    lines = [
        "valid_time = np.arange(SPLIT_TIME, len(series))",
        "plt.figure(figsize=(10, 4))",
        'plt.plot(valid_time, x_valid, lw=1, label="actual")',
        'plt.plot(valid_time, forecast, lw=1, label="forecast")',
        'plt.xlabel("time step")',
        'plt.title(f"validation MAE {mae:.4g} (naive {naive_mae:.4g})")',
        "plt.legend()",
        "plt.show()",
    ]
    text = "The validation period and its one-step forecasts."
    return Step("Forecast and actual values", text, "\n".join(lines), notebook_only=True)


def _sweep_step(plan: _Plan) -> Step:
    s, t = plan.exp.sweep, plan.t
    start = sweep_start(s, t.optimizer)
    per_batch = s.mode == "batch"
    lines = [
        "# A separate copy of the model, seeded as above: the trained model is left as it is.",
        f"SWEEP_START = {_num(start)}",
        f"SWEEP_EPOCHS_PER_DECADE = {_num(s.epochs_per_decade)}",
        f"SWEEP_EPOCHS = {s.epochs}" + ("  # each of one batch: a range test" if per_batch else ""),
        "",
        "keras.backend.clear_session()",
        "keras.utils.set_random_seed(SEED)",
        "sweep_model = build_model()",
    ]
    lines += _render(
        _Call(
            "sweep_model.compile",
            (
                f"optimizer={_optimizer(t, 'SWEEP_START')}",
                f"loss={_LOSSES[t.loss]}",
                "jit_compile=True",
                f"steps_per_execution={1 if per_batch else 'steps_per_execution'}",
            ),
        ),
        0,
    )
    lines += [
        "rate = keras.callbacks.LearningRateScheduler(",
        "    lambda epoch: SWEEP_START * 10 ** (epoch / SWEEP_EPOCHS_PER_DECADE)",
        ")",
    ]
    lines += _render(
        _Call(
            "sweep_model.fit",
            (
                "train_set",
                "epochs=SWEEP_EPOCHS",
                f"steps_per_epoch={1 if per_batch else 'steps_per_epoch'}",
                "callbacks=[rate, keras.callbacks.TerminateOnNaN()]",
                "verbose=0",
            ),
        ),
        0,
        prefix="sweep = ",
    )
    lines += [
        'losses = np.array(sweep.history["loss"])',
        "rates = SWEEP_START * 10 ** (np.arange(len(losses)) / SWEEP_EPOCHS_PER_DECADE)",
        "",
        "plt.figure(figsize=(10, 4))",
        "plt.semilogx(rates, losses)",
        f"plt.axvline({_num(t.learning_rate)}, "
        'color="grey", ls="--", label="the rate trained with")',
        "finite = losses[np.isfinite(losses)]",
        "if len(finite):",
        "    plt.ylim(0, 4 * finite.min() + 1e-12)  # the useful part: up to 4x the lowest loss",
        'plt.xlabel("learning rate")',
        'plt.ylabel("loss")',
        "plt.legend()",
        "plt.show()",
    ]
    step = "batch" if per_batch else "epoch"
    text = (
        "How the course finds a learning rate: train a fresh copy of the model while raising "
        f"the rate every {step}, rate = {_num(start)} × 10^({step} / {_num(s.epochs_per_decade)}), "
        f"for {s.epochs} {step}s, and plot the loss against the rate on a log axis. Reading from "
        "the left: at tiny rates the loss hardly moves; then it falls, fastest where the rate "
        "is about right; past its lowest point the rate is too high and the loss turns up or "
        "jumps about. A good rate to train with lies on the falling stretch, a little below "
        "the lowest point (`seqlab sweep` marks three such rates). This section is separate "
        "from the run above: it trains its own copy"
        + (" (a range test: one batch per step)" if per_batch else "")
        + " and changes nothing there; it is the longest cell to run."
    )
    return Step("Appendix: the learning-rate sweep", text, "\n".join(lines), notebook_only=True)


# --- the texts around the steps --------------------------------------------------------------


def _docstring(exp: Experiment, run_id: str | None, val_mae: float | None, filename: str) -> str:
    how = (
        "with numpy and Keras alone: the same series, windows, model, settings and seed, so on "
        "the same machine it prints"
    )
    if run_id is None:
        para = (
            f"It trains the experiment as `seqlab run` does, {how} the validation MAE seqlab "
            "reports, to float rounding."
        )
    else:
        mae = f", whose validation MAE was {val_mae:.6g}," if val_mae is not None else ""
        para = f"It reproduces seqlab run {run_id}{mae} {how} the same validation MAE, to float "
        para += "rounding."
    lines = [
        *_wrap(f'"""{_plain(exp.name)}: a seqlab experiment as a standalone script.'),
        "",
        *_wrap(para),
        "",
        "It needs numpy and Keras with the TensorFlow backend (tensorflow brings both). Run it:",
        "",
        f"    python {_plain(filename)}",
        '"""',
    ]
    return "\n".join(lines)


def _notebook_intro(exp: Experiment, run_id: str | None, val_mae: float | None) -> str:
    run = " It trains the experiment as `seqlab run` does."
    if run_id is not None:
        run = f" It reproduces seqlab run `{_md_code(run_id)}`"
        run += f", whose validation MAE was **{val_mae:.6g}**." if val_mae is not None else "."
    return (
        f"# {_md(_plain(exp.name))}\n\n"
        "A seqlab experiment as a notebook: the course's steps (the series, the split, the "
        "windows, the model, training, the forecast and its MAE), each explained, with plots."
        f"{run} The code uses numpy and Keras (TensorFlow backend) alone, with the same "
        "settings and seed as seqlab, so on the same machine it prints the validation MAE "
        "seqlab reports, to float rounding; the plots need matplotlib.\n\n"
        "Run every cell in order (*Run All*); the learning-rate sweep at the end is separate."
    )


def _imports(plan: _Plan, notebook: bool) -> str:
    """The import block: only the modules the code uses, matplotlib for the notebook."""
    stdlib = ["os"]
    if isinstance(plan.exp.series, CsvSeries):
        stdlib.append("csv")
    if plan.normalised:
        stdlib.append("math")
    third = ["import keras"]
    if notebook:
        third.append("import matplotlib.pyplot as plt")  # the notebook's plots
    third += [
        "import numpy as np",
        "import tensorflow as tf  # tf.data: the same seeded shuffle seqlab uses, so the numbers"
        " match",
        "from numpy.lib.stride_tricks import sliding_window_view",
    ]
    return "\n".join(
        [
            *(f"import {m}" for m in sorted(stdlib)),
            "",
            "# Before TensorFlow loads: the same CPU arithmetic as seqlab (oneDNN's rewrites",
            "# reorder float sums), and no log lines.",
            'os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")',
            'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")',
            "",
            *third,
        ]
    )


# --- code layout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """A call written as ruff format lays it out: on one line when it fits, else its arguments
    on one indented line, else one per line with a trailing comma (``force_split``: always)."""

    func: str
    args: tuple[_Call | _List | str, ...]
    force_split: bool = False


@dataclass(frozen=True)
class _List:
    """A list literal whose items are written one per line (comments allowed among them)."""

    items: tuple[_Call | str, ...]


def _flat(node: _Call | _List | str) -> str | None:
    """The node on one line, or None when it cannot be (a comment, a forced split)."""
    if isinstance(node, str):
        return None if node.startswith("#") or "  # " in node else node
    if isinstance(node, _List) or node.force_split:
        return None
    parts = [_flat(a) for a in node.args]
    if any(p is None for p in parts):
        return None
    return f"{node.func}({', '.join(p for p in parts if p is not None)})"


def _render(
    node: _Call | _List | str, indent: int, prefix: str = "", suffix: str = ""
) -> list[str]:
    pad = " " * indent
    flat = _flat(node)
    if flat is not None and len(pad + prefix + flat + suffix) <= LINE:
        return [pad + prefix + flat + suffix]
    if isinstance(node, str):
        return [pad + prefix + node + suffix]
    inner = " " * (indent + 4)
    if isinstance(node, _List):
        lines = [pad + prefix + "["]
        for item in node.items:
            if isinstance(item, str) and item.startswith("#"):
                lines.append(inner + item)
            else:
                lines += _render(item, indent + 4, suffix=",")
        return [*lines, pad + "]" + suffix]
    parts = [_flat(a) for a in node.args]
    joined = ", ".join(p for p in parts if p is not None)
    if not node.force_split and None not in parts and len(inner + joined) <= LINE:
        return [pad + prefix + node.func + "(", inner + joined, pad + ")" + suffix]
    lines = [pad + prefix + node.func + "("]
    for arg in node.args:
        if isinstance(arg, str) and "  # " in arg:
            code, comment = arg.split("  # ", 1)
            lines.append(f"{inner}{code},  # {comment}")
        else:
            lines += _render(arg, indent + 4, suffix=",")
    return [*lines, pad + ")" + suffix]


def _section(number: int, title: str) -> str:
    head = f"# --- {number}. {title} "
    return head + "-" * max(3, LINE - len(head))


def _strip(code: str) -> str:
    """A code block without surrounding blank lines or trailing spaces."""
    return "\n".join(line.rstrip() for line in code.strip("\n").splitlines())


def _long(line: str) -> str:
    """A line that cannot be broken (a long path): allowed past the line length."""
    return line + "  # noqa: E501" if len(line) + 8 > LINE else line


def _comment(text: str, indent: int = 0) -> list[str]:
    """``text`` as comment lines that fit the line length at ``indent``."""
    return ["# " + line for line in textwrap.wrap(text, LINE - indent - 2, break_long_words=False)]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, LINE - 1, break_long_words=True, break_on_hyphens=False)


# --- literals and words ----------------------------------------------------------------------


def _num(value: float) -> str:
    """A float as a Python literal that reads back as the same number (repr is exact)."""
    return repr(float(value))


def _term(coefficient: float, expr: str) -> str:
    """`` + c * expr`` or `` - |c| * expr`` (exactly the same arithmetic as ``+ c * expr``)."""
    if coefficient < 0:
        return f" - {_num(-coefficient)} * {expr}"
    return f" + {_num(coefficient)} * {expr}"


def _str(text: str) -> str:
    """A string literal, in double quotes where that needs no escape."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        return '"' + literal[1:-1] + '"'
    return literal


def _plain(text: str) -> str:
    """Text safe inside a docstring or a markdown heading: one line, no control characters, no
    backslashes or triple quotes to end or escape the docstring."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    return clean.replace("\\", "/").replace('"""', "'''").strip() or "untitled"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """Text shown as it is in markdown (its special characters escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_code(text: str) -> str:
    return text.replace("`", "'")


def _batch_shape(shape: Sequence[int | None] | None) -> str:
    return fmt_shape(tuple(shape) if shape is not None else None).replace("None", "batch", 1)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise SeqlabError(f"export kind {kind!r} is unknown; allowed: {', '.join(KINDS)}")


def _umask() -> int:
    """This process's umask, read without changing it (Linux), else the usual 022."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
