"""The lecture view: the model in force drawn as the week 3 slides draw it, and edited there.

It takes the panes' place (f3 opens it, esc closes it) rather than being a Screen of its own: the
app's ``commit`` shows the new experiment to every pane of the main screen, this view included, so
the drawing and its shapes follow every edit at once, whichever pane or key made it. The drawing
itself is ``tui.lecture_drawing`` (text only); the edits are ``engine.stack_edits``, committed
through ``SeqlabApp.commit`` as the model pane commits them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine import stack_edits
from engine.errors import EditError
from engine.shapes import infer_experiment
from engine.specs import (
    Bidirectional,
    Dense,
    Experiment,
    ModelSpec,
    Recurrent,
    check_value,
    is_recurrent,
)
from engine.stack_edits import Edit
from tui.lecture_drawing import BAD, CELL, DIM, NOTE, OUT, SHAPE, STATE, TITLE, Drawing, draw
from tui.pane import Pane
from tui.screens import AskScreen

STYLES = {
    TITLE: "bold",
    CELL: "cyan",
    STATE: "yellow",
    OUT: "bold",
    SHAPE: "green",
    DIM: "dim",
    BAD: "bold red",
    NOTE: "",
}
UNITS_ONLY = "units applies to SimpleRNN, LSTM, GRU and Dense layers"
HINT = (
    "Read bottom-up, as on the slides · ↑↓ layer · r return_sequences · +/− units · "
    "u type units · b bidirectional · f fix"
)
SHORT_HINT = "↑↓ layer · r return_sequences · +/− u units · b bidirectional · f fix · esc"
MARGIN = 2  # the selection bar and a space, left of every line


class LectureBody(VerticalScroll, can_focus=False):
    """The drawing's scroll area: the view keeps the focus, so arrows select layers."""


class LectureView(Pane, can_focus=True):
    """The model unrolled as on the slides, with keys that change it (see BINDINGS)."""

    TITLE = "Lecture"
    BINDINGS = [
        Binding("escape", "close", "Close", tooltip="Close the lecture view", id="lecture.close"),
        Binding("up", "select(1)", "Above", tooltip="Select the layer above", id="lecture.up"),
        Binding("down", "select(-1)", "Below", tooltip="Select the layer below", id="lecture.down"),
        Binding(
            "r",
            "toggle_sequences",
            "Seq",
            tooltip="Toggle return_sequences on the selected layer",
            id="lecture.toggle_sequences",
        ),
        Binding(
            "plus,equals_sign",
            "units(1)",
            "+unit",
            tooltip="One more unit in the selected layer",
            id="lecture.more_units",
        ),
        Binding(
            "minus",
            "units(-1)",
            "-unit",
            tooltip="One unit fewer in the selected layer",
            id="lecture.fewer_units",
        ),
        Binding(
            "u",
            "ask_units",
            "Units",
            tooltip="Type the selected layer's units",
            id="lecture.ask_units",
        ),
        Binding(
            "b",
            "toggle_bidirectional",
            "Bidir",
            tooltip="Toggle the Bidirectional wrapper on the selected layer",
            id="lecture.toggle_bidirectional",
        ),
        Binding(
            "f",
            "fix",
            "Fix",
            tooltip="Apply the fix of the model's first problem",
            id="lecture.fix",
        ),
        Binding("pageup", "page(-1)", show=False, id="lecture.page_up"),
        Binding("pagedown", "page(1)", show=False, id="lecture.page_down"),
        Binding("tab,shift+tab", "stay", show=False, id="lecture.stay"),  # nothing else to focus
        *(
            Binding(str(n), f"leave('{name}')", show=False, id=f"lecture.pane_{name}")
            for n, name in enumerate(("series", "model", "training", "runs"), start=1)
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="lecture")
        self.selected = 0
        self.drawing: Drawing | None = None
        self._drawn: tuple[object, ...] | None = None
        self._offsets: dict[int, tuple[int, int]] = {}  # layer index -> (first line, last line)

    def compose(self) -> ComposeResult:
        yield Static("", id="lecture-head")
        yield Static(HINT, id="lecture-hint", classes="lecture-hint")
        yield Static(SHORT_HINT, id="lecture-hint-short", classes="lecture-hint")
        with LectureBody(id="lecture-body"):
            yield Static("", id="lecture-drawing")

    def on_mount(self) -> None:
        self.selected = _first_interesting(self.experiment)
        self.focus()
        self.call_after_refresh(self.redraw)

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    def home(self) -> LectureView:
        return self

    @property
    def stack(self) -> ModelSpec:
        return self.experiment.model

    # --- showing ---------------------------------------------------------------------------------

    def show_experiment(self, experiment: Experiment) -> None:
        self.selected = max(0, min(self.selected, len(experiment.model.layers) - 1))
        self.redraw()

    def redraw(self) -> None:
        """Draws the experiment in force at the body's width, if anything it shows changed."""
        if not self.is_mounted:
            return
        body = self.query_one("#lecture-body", LectureBody)
        width = body.scrollable_content_region.width or self.app.size.width - 4
        exp = self.experiment
        key = (exp, self.selected, width)
        if key == self._drawn:
            return
        self._drawn = key
        self.drawing = draw(exp, max(40, width - MARGIN - 1))
        self.query_one("#lecture-head", Static).update(self._head())
        self.query_one("#lecture-drawing", Static).update(self._text(self.drawing))
        self.call_after_refresh(self._scroll_to_selected)

    def _head(self) -> Text:
        assert self.drawing is not None
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("Lecture", style="bold")
        head.append(f" · {self.drawing.summary}")
        return head

    def _text(self, drawing: Drawing) -> Text:
        """The blocks top (output) to bottom (input), the selected one marked by a bar; notes
        where each layer's block starts and ends (for scrolling it into view)."""
        lines: list[Text] = []
        self._offsets = {}
        for block in reversed(drawing.blocks):
            chosen = block.index is not None and block.index == self.selected
            bar = ("▌ ", "bold yellow") if chosen else ("  ", "")
            start = len(lines)
            title = Text()
            title.append(*bar)
            style = "bold red" if block.broken else "bold"
            title.append(block.title, style=style + (" reverse" if chosen else ""))
            lines.append(title)
            for runs in block.lines:
                line = Text()
                line.append(*bar)
                for part, kind in runs:
                    line.append(part, style=STYLES.get(kind, ""))
                lines.append(line)
            if block.index is not None:
                self._offsets[block.index] = (start, len(lines) - 1)
        text = Text("\n", no_wrap=True, overflow="ignore").join(lines)
        text.no_wrap, text.overflow = True, "ignore"
        return text

    def _scroll_to_selected(self) -> None:
        """Scrolls so the selected layer's block is in view (its top first, if it is taller)."""
        span = self._offsets.get(self.selected)
        if span is None:
            return
        body = self.query_one("#lecture-body", LectureBody)
        top, bottom = span
        height = body.scrollable_content_region.height
        if top < body.scroll_y or bottom - top >= height:
            body.scroll_to(y=max(0, top - 1), animate=False)
        elif bottom >= body.scroll_y + height:
            body.scroll_to(y=bottom - height + 1, animate=False)

    # --- editing ---------------------------------------------------------------------------------

    def _commit(self, edit: Edit) -> None:
        self.selected = edit.selected
        self.seqlab.commit(dataclasses.replace(self.experiment, model=edit.model))
        self.redraw()  # the commit redraws when the model changed; a selection alone, here

    def _edit_selected(self, edit: Callable[[ModelSpec, int], Edit]) -> None:
        try:
            done = edit(self.stack, self.selected)
        except EditError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self._commit(done)

    def action_select(self, delta: int) -> None:
        """Up selects the layer above (towards the output), as the drawing stacks them."""
        count = len(self.stack.layers)
        if count:
            self.selected = max(0, min(count - 1, self.selected + delta))
            self.redraw()

    def action_toggle_sequences(self) -> None:
        self._edit_selected(stack_edits.toggle_return_sequences)

    def action_toggle_bidirectional(self) -> None:
        self._edit_selected(stack_edits.toggle_bidirectional)

    def action_fix(self) -> None:
        report = self.drawing.report if self.drawing else None
        fixes = [p.fix for p in report.problems if p.fix] if report else []
        if not fixes:
            self.app.notify("The model has no problem with a fix to apply.", severity="warning")
            return
        fix = fixes[0]
        self._commit(stack_edits.apply_fix(self.stack, fix))
        self.seqlab.log_line(f"Applied fix: {fix.description}.")

    def _units_target(self) -> tuple[type, int, str] | None:
        """The selected layer's class that holds units, its units and the field's key path; or
        None (with a warning) when it has none."""
        layers = self.stack.layers
        if not layers:
            return None
        layer = layers[self.selected]
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        if not isinstance(inner, (Recurrent, Dense)):
            self.app.notify(
                f"{UNITS_ONLY}; layer {self.selected + 1} is {type(inner).__name__}.",
                severity="warning",
            )
            return None
        path = f"model.layers[{self.selected}]" + (
            ".layer" if isinstance(layer, Bidirectional) else ""
        )
        return type(inner), inner.units, f"{path}.units"

    def _units_problem(self, cls: type, path: str, value: object) -> str | None:
        problem = check_value(cls, "units", value, path)
        return None if problem is None else str(problem)

    def set_units(self, value: int) -> bool:
        """Sets the selected layer's units; a value out of range is told, and changes nothing."""
        target = self._units_target()
        if target is None:
            return False
        cls, _, path = target
        problem = self._units_problem(cls, path, value)
        if problem:
            self.app.notify(problem, severity="warning", markup=False)
            return False
        self._commit(stack_edits.set_fields(self.stack, self.selected, {"units": value}))
        return True

    def action_units(self, delta: int) -> None:
        target = self._units_target()
        if target is not None:
            self.set_units(target[1] + delta)

    def action_ask_units(self) -> None:
        target = self._units_target()
        if target is None:
            return
        cls, units, path = target

        def check(text: str) -> str | None:
            try:
                value: object = int(text.strip())
            except ValueError:
                value = text.strip()
            return self._units_problem(cls, path, value)

        def answered(text: str | None) -> None:
            if text is not None:
                self.set_units(int(text.strip()))
            self.focus()

        self.app.push_screen(
            AskScreen(
                f"Units of layer {self.selected + 1}",
                str(units),
                check,
                note="a whole number, 1 to 4,096 · enter sets · esc cancels",
            ),
            answered,
        )

    def action_page(self, direction: int) -> None:
        body = self.query_one("#lecture-body", LectureBody)
        if direction < 0:
            body.scroll_page_up(animate=False)
        else:
            body.scroll_page_down(animate=False)

    def action_stay(self) -> None:
        """Tab has nothing else to reach here: the view keeps the focus."""

    def action_close(self) -> None:
        self.seqlab.close_lecture()

    def action_leave(self, pane: str) -> None:
        """A pane's digit closes the view and shows that pane."""
        self.seqlab.close_lecture()
        self.seqlab.action_show_pane(pane)


def _first_interesting(exp: Experiment) -> int:
    """The layer to select first: the first with a problem, else the first recurrent one."""
    report = infer_experiment(exp)
    bad = [p.index for p in report.problems if p.index is not None]
    if bad:
        return min(min(bad), max(0, len(exp.model.layers) - 1))
    for i, layer in enumerate(exp.model.layers):
        if is_recurrent(layer):
            return i
    return 0
