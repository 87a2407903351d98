"""The model drawn as the week 3 lecture's slides draw it, in text: no Textual, no rich.

The slides unroll a recurrent layer's memory cell over time: Xₜ goes in from below, Ŷₜ comes out
above with its shape (batch, units), and the state Hₜ goes right to the next step (for an LSTM
the cell state Cₜ runs beside it). Stacked layers sit above each other, so the drawing reads
bottom-up: the windows at the bottom, the forecast at the top. Every shape is this experiment's
(``engine.shapes``), so a learner sees the lecture's (4, 30, 1) example with their own numbers.

A drawing is a list of blocks, one per layer, each a list of lines of styled runs; the lecture
view (``tui.lecture``) colours the runs and marks the selected block, tests read the plain text.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from engine.shapes import SEQ2SEQ, Shape, ShapeReport, fmt_shape, infer_experiment
from engine.specs import (
    GRU,
    LSTM,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    ExpandDims,
    Experiment,
    LayerSpec,
    Recurrent,
    Scale,
    SimpleRNN,
    is_recurrent,
    layer_label,
)

# Styles a run can have; the view maps each to a colour (plain text ignores them).
PLAIN, TITLE, CELL, STATE, OUT, SHAPE, DIM, BAD, NOTE = (
    "",
    "title",
    "cell",
    "state",
    "out",
    "shape",
    "dim",
    "bad",
    "note",
)
Run = tuple[str, str]
Line = tuple[Run, ...]

MAX_STEPS = 4  # time steps drawn before the "…" and the last one (the slides draw three or four)
GUTTER = 5  # room left of the first cell for the initial state ("0 ──▶")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(n: int) -> str:
    """``n`` as subscript digits: the slides' X₀, Ŷ₁₉."""
    return str(n).translate(_SUB)


def shape_text(shape: Shape | None) -> str:
    """A shape as the slides write it: (128, 40), unknown sizes as None."""
    return fmt_shape(shape)


@dataclass(frozen=True)
class Block:
    """One layer's part of the drawing (``index`` None: the input or the output)."""

    index: int | None
    title: str
    lines: tuple[Line, ...]
    broken: bool = False

    def text(self) -> str:
        return "\n".join([self.title, *("".join(t for t, _ in line) for line in self.lines)])


@dataclass(frozen=True)
class Drawing:
    """Blocks in stack order (input first); shown bottom-up, as the slides stack layers."""

    blocks: tuple[Block, ...]
    report: ShapeReport
    summary: str

    def text(self) -> str:
        """Plain text as shown: the output at the top, the input at the bottom."""
        return "\n".join([self.summary, *(b.text() for b in reversed(self.blocks))])


class Canvas:
    """A grid of characters, each with a style; rows grow as text is put on them."""

    def __init__(self) -> None:
        self.rows: list[list[Run]] = []

    def put(self, x: int, y: int, text: str, style: str = PLAIN) -> None:
        while len(self.rows) <= y:
            self.rows.append([])
        row = self.rows[y]
        while len(row) < x + len(text):
            row.append((" ", PLAIN))
        for i, ch in enumerate(text):
            row[x + i] = (ch, style)

    def center(self, cx: int, y: int, text: str, style: str = PLAIN) -> None:
        self.put(max(0, cx - (len(text) - 1) // 2), y, text, style)

    def lines(self) -> tuple[Line, ...]:
        """Rows as runs of one style each, trailing spaces dropped."""
        out: list[Line] = []
        for row in self.rows:
            while row and row[-1][0] == " ":
                row = row[:-1]
            runs: list[Run] = []
            for ch, style in row:
                if runs and runs[-1][1] == style:
                    runs[-1] = (runs[-1][0] + ch, style)
                else:
                    runs.append((ch, style))
            out.append(tuple(runs))
        return tuple(out)


@dataclass(frozen=True)
class Columns:
    """Where the drawn time steps go: ``first`` steps, then "…" and the last one when the
    sequence is longer; every layer uses the same columns, so Ŷₜ of one layer sits under Xₜ of
    the next."""

    first: int
    box: int  # a cell's width
    gap: int  # the connector between two cells (carries Hₜ)

    def steps(self, count: int) -> list[int | None]:
        """Time indices drawn for a sequence of ``count`` steps (None: the "…")."""
        if count <= self.first + 1:
            return list(range(count))
        return [*range(self.first), None, count - 1]

    def xs(self, steps: list[int | None]) -> list[int]:
        """Each drawn step's left edge (for the "…", where the dots go)."""
        xs, x = [], GUTTER
        for t in steps:
            xs.append(x)
            x += (2 if t is None else self.box) + self.gap
        return xs

    def width(self, count: int) -> int:
        steps = self.steps(count)
        return self.xs(steps)[-1] + self.box + self.gap

    def center(self, x: int) -> int:
        return x + self.box // 2


def _inner(layer: object) -> object:
    return layer.layer if isinstance(layer, Bidirectional) else layer


def _cell_name(layer: object) -> str:
    inner = _inner(layer)
    if isinstance(inner, SimpleRNN):
        return "RNN"
    return "LSTM" if isinstance(inner, LSTM) else "GRU"


def _step_label(layer: LayerSpec) -> str:
    """What a per-step box says (Dense, Scale, Dropout, Conv1D)."""
    if isinstance(layer, Dense):
        return f"Dense {layer.units}"
    if isinstance(layer, Scale):
        return f"×{layer.factor:g}"
    if isinstance(layer, Dropout):
        return f"Drop {layer.rate:g}"
    if isinstance(layer, Conv1D):
        return f"Conv {layer.filters}"
    return layer_label(layer)


def _columns(report: ShapeReport, model_layers: tuple[LayerSpec, ...], width: int) -> Columns:
    """The widest columns the labels need, with as many steps as ``width`` allows (1 to 4)."""
    labels = [
        len(shape_text(shape))
        for row in report.layers
        for shape in (row.input_shape, row.output_shape)
        if shape is not None and len(shape) == 2
    ]
    box = 7
    steps = 1
    for layer, row in zip(model_layers, report.layers, strict=False):
        if is_recurrent(layer):
            box = max(box, len(_cell_name(layer)) + 4)
            shape = row.input_shape
            if shape is not None and len(shape) == 3 and shape[1] is not None:
                steps = max(steps, shape[1])
        elif not isinstance(layer, ExpandDims):
            labels.append(len(_step_label(layer)) + 2)
    steps = max(steps, report.input_shape[1] or 1) if len(report.input_shape) > 1 else steps
    per_step = [len(shape_text((b, u))) for b, u in _per_step_shapes(report)]
    longest = max([*labels, *per_step, 1])
    gap = max(len("H" + sub(steps - 1)) + 3, min(longest, 14) + 1 - box, 5)
    for first in range(MAX_STEPS, 0, -1):
        cols = Columns(first, box, gap)
        if cols.width(steps) <= width:
            return cols
    return Columns(1, box, gap)


def _per_step_shapes(report: ShapeReport) -> list[tuple[int | None, int | None]]:
    shapes = []
    for row in report.layers:
        for shape in (row.input_shape, row.output_shape):
            if shape is not None and len(shape) == 3:
                shapes.append((shape[0], shape[2]))
    return shapes


def _wrap(text: str, width: int, indent: int = 2, style: str = NOTE) -> list[Line]:
    pad = " " * indent
    return [((pad + part, style),) for part in textwrap.wrap(text, max(20, width - indent))]


def _cells(
    c: Canvas, y: int, cols: Columns, steps: list[int | None], name: str, *, lstm: bool, back: bool
) -> int:
    """One row of unrolled cells at row ``y`` (its top); returns the rows it took.

    Forwards the state goes right (Hₜ out of step t into step t+1, 0 into the first step);
    backwards it goes left, from the last step to the first.
    """
    xs = cols.xs(steps)
    inside = cols.box - 2
    mid = y + (2 if lstm else 1)
    lines = [(mid, "─", "H")] + ([(y + 1, "═", "C")] if lstm else [])
    for row, bar, _ in lines:
        if back:
            c.put(0, row, "◀" + bar * (GUTTER - 1), STATE)
        else:
            c.put(0, row, "0 " + bar * (GUTTER - 3) + "▶", STATE)
    for t, x in zip(steps, xs, strict=True):
        right = x + (2 if t is None else cols.box)
        if t is None:
            for row, _, _ in lines:
                c.put(x, row, "…", DIM)
        else:
            c.put(x, y, "┌" + "─" * inside + "┐", CELL)
            for row in range(y + 1, mid + 1):
                c.put(x, row, "│" + " " * inside + "│", CELL)
            c.put(x + 1, mid, name.center(inside), CELL)
            c.put(x, mid + 1, "└" + "─" * inside + "┘", CELL)
        last = t is not None and t == steps[-1]
        for row, bar, letter in lines:
            if back:
                tail = "◀" + bar * (cols.gap - 3) + " 0" if last else "◀" + bar * (cols.gap - 1)
                c.put(right, row, tail, STATE)
            else:
                # out of the "…" goes the state of the step before the last
                label = letter + sub(t if t is not None else (steps[-1] or 1) - 1)
                body = bar + label + bar * max(0, cols.gap - len(label) - 2) + "▶"
                c.put(right, row, body, STATE)
    return mid + 2 - y


def _recurrent_block(
    layer: object, shape_in: Shape, shape_out: Shape | None, cols: Columns, width: int
) -> list[Line]:
    """A recurrent layer unrolled over time, as on the lecture's slides."""
    inner = _inner(layer)
    assert isinstance(inner, Recurrent)
    batch, count, features = shape_in
    count = count or 1
    steps = cols.steps(count)
    xs = cols.xs(steps)
    merged = (batch, None if shape_out is None else shape_out[-1])
    seq = inner.return_sequences
    lstm = isinstance(inner, LSTM)
    bidi = isinstance(layer, Bidirectional)
    name = _cell_name(layer)
    c = Canvas()
    for t, x in zip(steps, xs, strict=True):
        if t is None:
            c.put(x, 0, "…", DIM)
            continue
        cx = cols.center(x)
        kept = seq or t == count - 1
        c.center(cx, 0, "Ŷ" + sub(t), OUT if kept else DIM)
        c.center(cx, 1, shape_text(merged) if kept else "ignored", SHAPE if kept else DIM)
        c.put(cx, 2, "▲" if kept else "·", OUT if kept else DIM)
    y = 3
    if bidi:
        used = _cells(c, y, cols, steps, name, lstm=lstm, back=True)
        right = xs[-1] + cols.box + cols.gap + 1
        if right + 10 <= width:
            c.put(right, y + used // 2, "← backward", STATE)
        y += used
    used = _cells(c, y, cols, steps, name, lstm=lstm, back=False)
    if bidi:
        right = xs[-1] + cols.box + cols.gap + 1
        if right + 10 <= width:
            c.put(right, y + used // 2, "→ forward", STATE)
    y += used
    for t, x in zip(steps, xs, strict=True):
        if t is None:
            c.put(x, y + 1, "…", DIM)
            continue
        cx = cols.center(x)
        c.put(cx, y, "▲")
        c.center(cx, y + 1, "X" + sub(t), OUT)
        c.center(cx, y + 2, shape_text((batch, features)), SHAPE)
    lines = list(c.lines())
    last = f"Ŷ{sub(count - 1)}"
    units = inner.units
    if seq:
        lines += _wrap(
            f"return_sequences on: every Ŷₜ goes up to the next layer, so the layer outputs "
            f"{shape_text(shape_out)} (batch, steps, units).",
            width,
        )
    else:
        lines += _wrap(
            f"return_sequences off (Keras's default): every Ŷₜ but the last is ignored; only "
            f"{last} goes up, {shape_text((batch, merged[1]))}: sequence to vector.",
            width,
        )
    if isinstance(inner, SimpleRNN):
        state = "Hₜ is a copy of Ŷₜ: each step gets Xₜ and the step before's output (0 at first)."
    elif lstm:
        state = (
            "Beside Hₜ (─), the LSTM's cell state Cₜ (═) runs across every step; both start at 0."
        )
    else:
        assert isinstance(inner, GRU)
        state = "Hₜ is the GRU's output Ŷₜ, gated; it starts at 0."
    lines += _wrap(
        f"Each step's Xₜ is {shape_text((batch, features))} (batch, features); {units} units "
        f"make each Ŷₜ ({batch}, {units}). {state}",
        width,
    )
    if bidi:
        assert isinstance(layer, Bidirectional)
        join = (
            f"side by side (concat: {units} + {units} = {2 * units})"
            if layer.merge_mode == "concat"
            else f"combined ({layer.merge_mode}: {units})"
        )
        lines += _wrap(
            f"Bidirectional: one pass forwards (→, X₀ first) and one backwards (←, "
            f"X{sub(count - 1)} first); both get every Xₜ, and Ŷₜ is their outputs {join}.",
            width,
        )
    return lines


def _step_block(
    layer: LayerSpec,
    shape_in: Shape | None,
    shape_out: Shape | None,
    cols: Columns,
    width: int,
    scale_note: str,
) -> list[Line]:
    """A layer drawn as a box per step on a sequence, or one box above the last step."""
    c = Canvas()
    label = _step_label(layer)
    sequence = shape_in is not None and len(shape_in) == 3 and shape_in[1] is not None
    count = shape_in[1] if sequence and shape_in is not None and shape_in[1] else 1
    steps = cols.steps(count)
    xs = cols.xs(steps)
    boxed = min(len(label) + 2, cols.box + cols.gap - 1)
    inside = boxed - 2
    where = list(zip(steps, xs, strict=True)) if sequence else [(steps[-1], xs[-1])]
    for t, x in where:
        cx = cols.center(x)
        if t is None:
            c.put(x, 3, "…", DIM)
            continue
        out = (shape_out[0], shape_out[-1]) if sequence and shape_out else shape_out
        c.center(cx, 0, shape_text(out), SHAPE)
        c.put(cx, 1, "▲", OUT)
        left = cx - (boxed - 1) // 2
        c.put(left, 2, "┌" + "─" * inside + "┐", CELL)
        c.put(left, 3, "│" + label[:inside].center(inside) + "│", CELL)
        c.put(left, 4, "└" + "─" * inside + "┘", CELL)
        c.put(cx, 5, "▲")
    lines = list(c.lines())
    if isinstance(layer, Dense) and sequence:
        lines += _wrap(
            f"A Dense layer on a sequence: Keras applies the same Dense (the same weights) at "
            f"every step, giving {shape_text(shape_out)}: sequence to sequence.",
            width,
        )
    elif isinstance(layer, Dense):
        lines += _wrap(
            f"One Dense layer on the vector below: {shape_text(shape_in)} → "
            f"{shape_text(shape_out)}.",
            width,
        )
    elif isinstance(layer, Scale):
        lines += _wrap(scale_note, width)
    elif isinstance(layer, Conv1D):
        lines += _wrap(
            f"Conv1D: each output step sees {layer.kernel_size} input steps ({layer.padding} "
            f"padding, strides {layer.strides}): {shape_text(shape_in)} → "
            f"{shape_text(shape_out)}.",
            width,
        )
    elif isinstance(layer, Dropout):
        lines += _wrap(
            f"Dropout: while training, zeroes {layer.rate:g} of the values; the shape stays "
            f"{shape_text(shape_out)}.",
            width,
        )
    return lines


def _scale_note(layer: Scale, exp: Experiment) -> str:
    note = (
        f"×{layer.factor:g}, the lecture's second Lambda: tanh, the recurrent layers' default "
        "activation, keeps every output in [−1, 1], while the series' values are in the tens "
        f"(40s to 70s in the lecture); scaling by {layer.factor:g} brings the forecast to the "
        "series' range, which helps learning."
    )
    if exp.train.normalise != "none":
        note += (
            f" Here the series is normalised first (train.normalise = "
            f"{exp.train.normalise!r}), so the network already works near [−1, 1] and the "
            "scale works against it."
        )
    return note


def _title(
    index: int, layer: LayerSpec, row_in: Shape | None, row_out: Shape | None, params: int | None
) -> str:
    count = "" if params is None else f" · {params:,} params"
    return f"{index + 1} {layer_label(layer)}: {shape_text(row_in)} → {shape_text(row_out)}{count}"


def draw(exp: Experiment, width: int = 116) -> Drawing:
    """The experiment's model as the slides draw it, in ``width`` columns."""
    report = infer_experiment(exp)
    layers = exp.model.layers
    cols = _columns(report, layers, width)
    by_layer: dict[int, list[str]] = {}
    loose: list[str] = []
    for problem in report.problems:
        fix = f" Press f to apply the fix: {problem.fix.description}." if problem.fix else ""
        if problem.index is not None and problem.index < len(layers):
            by_layer.setdefault(problem.index, []).append(problem.message + fix)
        else:
            loose.append(problem.message + fix)
    batch, steps = exp.window.batch_size, exp.window.window
    blocks = [
        Block(
            None,
            f"Input: windows of {steps} values, {batch} per batch: "
            + shape_text(report.input_shape),
            tuple(
                _wrap(
                    f"batch {batch} (window.batch_size) × {steps} steps (window.window), one "
                    "value of the series per step.",
                    width,
                )
            ),
        )
    ]
    broken = False  # a layer below could not be drawn: the ones above are shapes only
    for row, layer in zip(report.layers, layers, strict=True):
        i = row.index
        title = _title(i, layer, row.input_shape, row.output_shape, row.params)
        problems = [
            line for text in by_layer.get(i, []) for line in _wrap("✗ " + text, width, style=BAD)
        ]
        shape_in = row.input_shape
        lines: list[Line] = []
        if isinstance(layer, ExpandDims) and shape_in is not None and len(shape_in) == 2:
            out = row.output_shape
            lines = _wrap(
                f"The lecture's first Lambda (expand_dims, axis −1): {shape_text(shape_in)} → "
                f"{shape_text(out)}, i.e. (batch, steps, dims): {shape_in[0]} windows, "
                f"{shape_in[1]} steps, 1 value per step (a univariate series). A recurrent "
                "layer needs these three dimensions.",
                width,
            )
        elif (
            is_recurrent(layer)
            and not problems
            and not broken
            and shape_in is not None
            and len(shape_in) == 3
        ):
            lines = _recurrent_block(layer, shape_in, row.output_shape, cols, width)
        elif is_recurrent(layer):
            lines = _broken_recurrent(layer, shape_in, cols, steps, width)
            broken = True
        elif not problems and not broken:
            note = _scale_note(layer, exp) if isinstance(layer, Scale) else ""
            lines = _step_block(layer, shape_in, row.output_shape, cols, width, note)
        else:
            broken = True
            if not problems:
                lines = _wrap("(drawn once the layers below work)", width, style=DIM)
        blocks.append(Block(i, title, tuple(problems + lines), broken=bool(problems)))
    out = report.output_shape if report.ok else None
    end: list[Line] = [line for text in loose for line in _wrap("✗ " + text, width, style=BAD)]
    if report.ok:
        count = "one value" if out and out[-1] == 1 else f"{out[-1] if out else '?'} values"
        per = "per step of each window" if report.mode == SEQ2SEQ else "per window"
        end += _wrap(f"The forecast: {shape_text(out)}, {count} {per} ({report.mode}).", width)
    blocks.append(
        Block(
            None,
            f"Output: {shape_text(out) if report.ok else 'the stack cannot work yet'}",
            tuple(end),
            broken=bool(loose) or not report.ok,
        )
    )
    total = "?" if report.total_params is None else f"{report.total_params:,}"
    mode = report.mode or "cannot work yet"
    summary = f"{exp.name}: {mode} · batch {batch}, {steps} steps, {total} params"
    return Drawing(tuple(blocks), report, summary)


def _broken_recurrent(
    layer: object, shape_in: Shape | None, cols: Columns, count: int, width: int
) -> list[Line]:
    """A recurrent layer that gets no sequence: one cell above the last step (where the layer
    below's only output comes out), and what arrives."""
    c = Canvas()
    x = cols.xs(cols.steps(count))[-1]
    cx = cols.center(x)
    inside = cols.box - 2
    c.put(x, 0, "┌" + "─" * inside + "┐", BAD)
    c.put(x, 1, "│" + _cell_name(layer).center(inside) + "│", BAD)
    c.put(x, 2, "└" + "─" * inside + "┘", BAD)
    c.put(cx, 3, "▲", BAD)
    c.center(cx, 4, shape_text(shape_in) + " ✗", BAD)
    lines = list(c.lines())
    lines += _wrap(
        f"Nothing to unroll: {shape_text(shape_in)} is one vector per window, but a recurrent "
        "layer needs a sequence (batch, steps, features).",
        width,
        style=BAD,
    )
    return lines
