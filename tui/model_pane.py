"""Model builder pane: the layer stack, an editor for the selected layer, shapes and problems.

Shapes, parameter counts and problems come from ``engine.shapes.infer`` (no TensorFlow), so they
are on screen before TensorFlow has loaded. A problem that has a fix is applied with ctrl+f.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from engine import stack_edits
from engine.errors import EditError
from engine.presets import PRESETS
from engine.resources import Estimate, estimate, size_text
from engine.shapes import ShapeReport, fmt_shape, infer_experiment
from engine.specs import (
    LAYER_KINDS,
    LAYER_TITLES,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    Experiment,
    LayerSpec,
    ModelSpec,
    Recurrent,
    Scale,
    layer_label,
)
from engine.stack_edits import Edit
from tui.form import SpecForm, Tick, compact, field_defs
from tui.numbers import shown
from tui.pane import Pane
from tui.screens import PickScreen

if TYPE_CHECKING:
    from engine.lint import Lint

EDIT_FIELDS: dict[type, tuple[str, ...]] = {
    Recurrent: ("units", "activation", "return_sequences"),
    Conv1D: ("filters", "kernel_size", "strides", "padding", "activation"),
    Dense: ("units", "activation"),
    Dropout: ("rate",),
    Scale: ("factor",),
}
EDIT_KINDS = [k for k in LAYER_KINDS if k != "bidirectional"]
ADD_CHOICES = [
    ("simple_rnn", "SimpleRNN (40 units)"),
    ("lstm", "LSTM (40 units)"),
    ("gru", "GRU (40 units)"),
    ("bidirectional", "Bidirectional LSTM (32 units)"),
    ("conv1d", "Conv1D (64 filters, kernel 3, causal)"),
    ("dense", "Dense (1 unit)"),
    ("dropout", "Dropout (0.2)"),
    ("scale", "Scale (×100)"),
    ("expand_dims", "ExpandDims (adds the feature axis)"),
]


def _fields_for(layer: LayerSpec) -> tuple[str, ...]:
    for cls, names in EDIT_FIELDS.items():
        if isinstance(layer, cls):
            return names
    return ()


def _same_editor(old: LayerSpec, new: LayerSpec) -> bool:
    """True when the editor built for ``old`` has the fields of ``new`` (only values differ)."""
    if type(old) is not type(new):
        return False
    if isinstance(old, Bidirectional) and isinstance(new, Bidirectional):
        return type(old.layer) is type(new.layer)
    return True


class ModelPane(Pane):
    """Edits ``experiment.model``: every change is committed at once, problems and all.

    The edits themselves are ``engine.stack_edits``; this pane shows the stack and maps keys and
    the layer editor onto them.
    """

    TITLE = "Model"
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="Add a layer after the selected one", id="model.add"),
        Binding(
            "x,delete", "remove", "Remove", tooltip="Remove the selected layer", id="model.remove"
        ),
        Binding(
            "left_square_bracket,shift+up",
            "move(-1)",
            "Up",
            tooltip="Move the layer up",
            id="model.move_up",
        ),
        Binding(
            "right_square_bracket,shift+down",
            "move(1)",
            "Dn",
            tooltip="Move the layer down",
            id="model.move_down",
        ),
        Binding(
            "r",
            "toggle_sequences",
            "Seq",
            tooltip="Toggle return_sequences",
            id="model.toggle_sequences",
        ),
        Binding(
            "b",
            "toggle_bidirectional",
            "Bidir",
            tooltip="Toggle the Bidirectional wrapper",
            id="model.toggle_bidirectional",
        ),
        Binding(
            "p",
            "pick_preset",
            "Preset",
            tooltip="Choose a preset experiment",
            show=False,
            id="model.pick_preset",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="model")
        self.selected = 0
        self._editing: tuple[int, LayerSpec] | None = None  # (index, layer) the editor shows
        self._generation = 0
        self._editor_lock = asyncio.Lock()
        self._shown: tuple[object, ...] | None = None
        self.report: ShapeReport | None = None
        self._lints: list[Lint] = []
        self._memory: Estimate | None = None  # weights and a batch's activations

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="builder-left", classes="form-column"):
                with Horizontal(classes="field-line"):
                    yield Label("preset", classes="field-label")
                    yield compact(
                        Select([(name, name) for name in PRESETS], prompt="(edited)", id="preset")
                    )
                yield Static("", id="preset-about")
                yield Static("Layers", classes="form-heading")
                yield OptionList(id="layers")
                yield Static("", id="editor-title", classes="form-heading")
                yield Vertical(id="editor")
            with Vertical(id="builder-right"):
                yield DataTable(id="shapes", cursor_type="none", zebra_stripes=True)
                yield Static("", id="shape-summary")
                yield Static("", id="problems")

    def on_mount(self) -> None:
        table = self.query_one("#shapes", DataTable)
        table.add_columns("#", "layer", "output shape", "params")
        self.show_experiment(self.experiment)

    def home(self) -> OptionList:
        return self.query_one("#layers", OptionList)

    @property
    def stack(self) -> ModelSpec:
        """The model in force (not ``layers``: that name is Textual's, for CSS layers)."""
        return self.experiment.model

    # --- showing ---------------------------------------------------------------------------------

    def show_experiment(self, experiment: Experiment) -> None:
        on_show = (experiment.name, experiment.model, experiment.window, experiment.forecast)
        if on_show == self._shown:
            return  # a series or training edit: nothing here changes
        self._shown = on_show
        preset = self.query_one("#preset", Select)
        with preset.prevent(Select.Changed):
            if experiment.name in PRESETS and experiment == PRESETS[experiment.name]:
                preset.value = experiment.name
            else:
                preset.clear()
        about = experiment.description
        base = experiment.name.removesuffix(" (edited)")
        if not about and base != experiment.name and base in PRESETS:
            about = f"Edited from the preset {base}: its description no longer applies."
        # a description from a file is plain text: no markup, no control characters
        self.query_one("#preset-about", Static).update(Text(shown(about)))
        layers = experiment.model.layers
        self.selected = max(0, min(self.selected, len(layers) - 1))
        exp = experiment
        self.report = infer_experiment(exp)
        self._memory = estimate(exp, self.report, 0) if self.report.ok else None
        self._show_list()
        self._show_shapes()
        self._show_editor()

    def _show_list(self) -> None:
        bad = (
            {p.index for p in self.report.problems if p.index is not None} if self.report else set()
        )
        options = []
        for i, layer in enumerate(self.stack.layers):
            text = Text(f"{i + 1:>2} {layer_label(layer)}")
            if i in bad:
                text.append("  ⚠", style="bold red")
            options.append(Option(text))
        listing = self.query_one("#layers", OptionList)
        with listing.prevent(OptionList.OptionHighlighted):
            listing.clear_options()
            listing.add_options(options)
            if options:
                listing.highlighted = self.selected

    def _show_shapes(self) -> None:
        report = self.report
        assert report is not None
        table = self.query_one("#shapes", DataTable)
        table.clear()
        table.add_row("", "input", fmt_shape(report.input_shape), "")
        bad = {p.index for p in report.problems if p.index is not None}
        for row in report.layers:
            mark = "⚠" if row.index in bad else " "
            params = "?" if row.params is None else f"{row.params:,}"
            label = row.label.replace("Bidirectional(", "Bi(")
            table.add_row(f"{mark}{row.index + 1}", label, fmt_shape(row.output_shape), params)
        total = "?" if report.total_params is None else f"{report.total_params:,}"
        mode = report.mode or "cannot work yet"
        memory = ""
        if self._memory is not None:  # the windows' share needs the series: summary shows it
            m = self._memory
            memory = (
                f" · memory about {size_text(m.weights + m.activations)} (activations "
                f"{size_text(m.activations)} per batch of {m.batch:,}, weights "
                f"{size_text(m.weights)})"
            )
        self.query_one("#shape-summary", Static).update(f"total params {total} · {mode}{memory}")
        self._show_problems()

    def _show_problems(self) -> None:
        """The stack's problems and fixes, then the lints about its layers."""
        report = self.report
        assert report is not None
        problems = Text()
        if report.ok:
            problems.append("✓ The stack works.\n", style="bold green")
        for problem in report.problems:
            problems.append("⚠ ", style="bold red")
            problems.append(problem.message + "\n")
            if problem.fix:
                problems.append("  → ctrl+f applies the fix: ", style="bold")
                problems.append(problem.fix.description + "\n")
        for lint in self._lints:
            problems.append("⚠ ", style="bold yellow")
            problems.append(lint.message + "\n")
        problems.rstrip()
        self.query_one("#problems", Static).update(problems)

    def show_lints(self, lints: Sequence[Lint]) -> None:
        """Lints about the layers (a Scale layer with normalisation, or far from the data)."""
        mine = [x for x in lints if x.path.startswith("model.")]
        if mine != self._lints:
            self._lints = mine
            if self.report is not None:
                self._show_problems()

    def _show_editor(self) -> None:
        layers = self.stack.layers
        title = self.query_one("#editor-title", Static)
        if not layers:
            title.update("No layers: press a to add one.")
            self._rebuild_editor(None)
            return
        layer = layers[self.selected]
        title.update(f"Layer {self.selected + 1}: {layer_label(layer)}")
        if self._editing and self._editing[0] == self.selected:
            old = self._editing[1]
            if old == layer:
                return
            if _same_editor(old, layer):
                self._load_editor(layer)
                return
        self._rebuild_editor(layer)

    def _rebuild_editor(self, layer: LayerSpec | None) -> None:
        self._generation += 1
        gen = self._generation
        if layer is None:
            self._editing = None
            self.run_worker(self._swap_editor(gen, []))
            return
        self._editing = (self.selected, layer)
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        path = f"model.layers[{self.selected}]" + (
            ".layer" if isinstance(layer, Bidirectional) else ""
        )
        kind = compact(
            Select(
                [(LAYER_TITLES[k], k) for k in EDIT_KINDS],
                allow_blank=False,
                value=inner.kind,
                id=f"kind-{gen}",
                classes="editor-kind",
            )
        )
        widgets: list[Widget] = [
            Horizontal(Label("kind", classes="field-label"), kind, classes="field-line")
        ]
        names = _fields_for(inner)
        if names:
            defs = field_defs(type(inner), path, names)
            widgets.append(SpecForm(defs, id=f"layer-{gen}", classes="layer-form", initial=inner))
        else:
            widgets.append(Static("(no settings)", classes="field-note"))
        if isinstance(inner, Recurrent):
            bidi = compact(
                Tick("bidirectional", isinstance(layer, Bidirectional), id=f"bidi-{gen}")
            )
            widgets.append(bidi)
            if isinstance(layer, Bidirectional):
                merge = field_defs(Bidirectional, f"model.layers[{self.selected}]", ("merge_mode",))
                widgets.append(
                    SpecForm(merge, id=f"merge-{gen}", classes="merge-form", initial=layer)
                )
        self.run_worker(self._swap_editor(gen, widgets))

    def _current(self, widget: Widget) -> bool:
        """Whether an editor widget belongs to the editor now shown (its id ends in its
        generation); one being replaced can still post what it held."""
        return (widget.id or "").rsplit("-", 1)[-1] == str(self._generation)

    def _editor_forms(self, selector: str) -> list[SpecForm]:
        return [f for f in self.query(selector).results(SpecForm) if self._current(f)]

    async def _swap_editor(self, gen: int, widgets: list[Widget]) -> None:
        """Replaces the editor's widgets, one swap at a time, skipping those a newer edit made
        stale: keys pressed fast (x, x) would otherwise remove a Select still being mounted."""
        async with self._editor_lock:
            if gen != self._generation:
                return
            editor = self.query_one("#editor", Vertical)
            await editor.remove_children()
            await editor.mount_all(widgets)

    def _load_editor(self, layer: LayerSpec) -> None:
        if not self._editing:
            return
        self._editing = (self._editing[0], layer)
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        for form in self._editor_forms(".layer-form"):
            form.load(inner)
        for form in self._editor_forms(".merge-form"):
            form.load(layer)
        for box in self.query("#editor Checkbox").results(Checkbox):
            if box.id and box.id.startswith("bidi-") and self._current(box):
                with box.prevent(Checkbox.Changed):
                    box.value = isinstance(layer, Bidirectional)

    # --- editing ---------------------------------------------------------------------------------

    def _commit(self, edit: Edit, note: str = "") -> None:
        self.selected = edit.selected  # before the commit, which shows the selected layer
        self.seqlab.commit(dataclasses.replace(self.experiment, model=edit.model))
        if note:
            self.seqlab.log_line(note)

    def _edit_selected(self, edit: Callable[[ModelSpec, int], Edit]) -> None:
        """Applies an edit to the selected layer, or warns why it does not apply."""
        try:
            done = edit(self.stack, self.selected)
        except EditError as exc:
            self.app.notify(str(exc), severity="warning")
            return
        self._commit(done)

    @on(OptionList.OptionHighlighted, "#layers")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # A highlight queued before a layer was removed can name a layer no longer there.
        index = event.option_index
        if index is not None and index != self.selected and index < len(self.stack.layers):
            self.selected = index
            self._show_editor()

    @on(OptionList.OptionSelected, "#layers")
    def _selected(self) -> None:
        """Enter on a layer: edit it (focus the first field of the editor)."""
        fields = [w for w in self.query("#editor *") if w.focusable]
        if fields:
            fields[0].focus()

    @on(Select.Changed, ".editor-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        event.stop()
        if not self._current(event.select):
            return
        kind = event.value
        if self.stack.layers and isinstance(kind, str):
            self._commit(stack_edits.convert(self.stack, self.selected, kind))

    @on(Checkbox.Changed, "#editor Checkbox")
    def _bidi_changed(self, event: Checkbox.Changed) -> None:
        if not (event.checkbox.id or "").startswith("bidi-"):
            return
        event.stop()
        if not self._current(event.checkbox):
            return
        on_ = event.value
        self._edit_selected(lambda model, i: stack_edits.set_bidirectional(model, i, on_))

    @on(SpecForm.Changed, "#editor SpecForm")
    def _editor_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        layers = self.stack.layers
        if not layers or not self._editing or not self._current(event.form):
            return
        values: dict[str, Any] = {}
        problems = 0
        for form in self._editor_forms(".layer-form"):
            ok, bad = form.read()
            form.mark({name: str(p) for name, p in bad.items()})
            values, problems = ok, problems + len(bad)
        merge: dict[str, Any] = {}
        for form in self._editor_forms(".merge-form"):
            merge, bad = form.read()
            problems += len(bad)
        self.set_problems(problems)
        if problems:
            return  # the layer in force keeps its last valid values
        edit = stack_edits.set_fields(self.stack, self.selected, values, merge)
        new = edit.model.layers[edit.selected]
        if new != layers[self.selected]:
            self._editing = (self.selected, new)
            self._commit(edit)

    def apply_fix(self) -> bool:
        """Applies the first problem's fix; False when no problem has one."""
        report = self.report
        fixes = [p.fix for p in report.problems if p.fix] if report else []
        if not fixes:
            return False
        fix = fixes[0]
        self._commit(stack_edits.apply_fix(self.stack, fix), f"Applied fix: {fix.description}.")
        return True

    def can_fix(self) -> bool:
        return bool(self.report and any(p.fix for p in self.report.problems))

    # --- actions ---------------------------------------------------------------------------------

    def action_add(self) -> None:
        def added(kind: str | None) -> None:
            if kind is None:
                return
            at = self.selected + 1 if self.stack.layers else 0
            self._commit(stack_edits.insert(self.stack, at, kind))
            self.home().focus()

        self.app.push_screen(PickScreen("Add which layer?", ADD_CHOICES), added)

    def action_remove(self) -> None:
        layers = self.stack.layers
        if not layers:
            return
        removed = f"Removed layer {self.selected + 1} ({layer_label(layers[self.selected])})."
        self._commit(stack_edits.remove(self.stack, self.selected), removed)

    def action_move(self, delta: int) -> None:
        self._commit(stack_edits.move(self.stack, self.selected, delta))

    def action_toggle_sequences(self) -> None:
        self._edit_selected(stack_edits.toggle_return_sequences)

    def action_toggle_bidirectional(self) -> None:
        self._edit_selected(stack_edits.toggle_bidirectional)

    def action_pick_preset(self) -> None:
        def picked(name: str | None) -> None:
            if name:
                self.seqlab.load_or_ask(PRESETS[name], f"preset {name}")

        choices = [(name, f"{name}: {exp.description}") for name, exp in PRESETS.items()]
        self.app.push_screen(PickScreen("Load which preset?", choices), picked)

    @on(Select.Changed, "#preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value in PRESETS:
            self.seqlab.load_or_ask(PRESETS[event.value], f"preset {event.value}")
