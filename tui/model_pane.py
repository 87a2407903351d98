"""Model builder pane: the layer stack, an editor for the selected layer, shapes and problems.

Shapes, parameter counts and problems come from ``engine.shapes.infer`` (no TensorFlow), so they
are on screen before TensorFlow has loaded. A problem that has a fix is applied with ctrl+f.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, DataTable, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from engine.presets import PRESETS
from engine.shapes import ShapeReport, apply_fix, fmt_shape, infer
from engine.specs import (
    LAYER_KINDS,
    LAYER_TITLES,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    Experiment,
    ModelSpec,
    Recurrent,
    Scale,
    is_recurrent,
    layer_label,
)
from tui.form import SpecForm, Tick, field_defs
from tui.pane import Pane
from tui.screens import PickScreen

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


def _fields_for(layer: Any) -> tuple[str, ...]:
    for cls, names in EDIT_FIELDS.items():
        if isinstance(layer, cls):
            return names
    return ()


def convert(layer: Any, kind: str) -> Any:
    """The layer turned into another kind, keeping what both kinds share (units, activation…)."""
    inner = layer.layer if isinstance(layer, Bidirectional) else layer
    if inner.kind == kind:
        return layer
    cls = LAYER_KINDS[kind]
    shared = {
        f.name: getattr(inner, f.name)
        for f in dataclasses.fields(cls)
        if hasattr(inner, f.name) and f.name not in ("activation",)
    }
    if isinstance(inner, Recurrent) and issubclass(cls, Recurrent):
        shared["activation"] = inner.activation
    new = cls(**shared)
    if isinstance(layer, Bidirectional) and isinstance(new, Recurrent):
        return dataclasses.replace(layer, layer=new)
    return new


class ModelPane(Pane):
    """Edits ``experiment.model``: every change is committed at once, problems and all."""

    TITLE = "Model"
    BINDINGS = [
        Binding("a", "add", "Add", tooltip="Add a layer after the selected one"),
        Binding("x,delete", "remove", "Remove", tooltip="Remove the selected layer"),
        Binding("left_square_bracket,shift+up", "move(-1)", "Up", tooltip="Move the layer up"),
        Binding("right_square_bracket,shift+down", "move(1)", "Dn", tooltip="Move the layer down"),
        Binding("r", "toggle_sequences", "Seq", tooltip="Toggle return_sequences"),
        Binding("b", "toggle_bidirectional", "Bidir", tooltip="Toggle the Bidirectional wrapper"),
        Binding("p", "pick_preset", "Preset", tooltip="Choose a preset experiment", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="model")
        self.selected = 0
        self._editing: tuple[int, Any] | None = None  # (index, layer) the editor shows
        self._generation = 0
        self._shown: tuple[object, ...] | None = None
        self.report: ShapeReport | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="builder-left", classes="form-column"):
                with Horizontal(classes="field-line"):
                    yield Label("preset", classes="field-label")
                    yield Select(
                        [(name, name) for name in PRESETS],
                        prompt="(edited)",
                        compact=True,
                        id="preset",
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
    def layers(self) -> list[Any]:
        return list(self.experiment.model.layers)

    # --- showing ---------------------------------------------------------------------------------

    def show_experiment(self, experiment: Experiment) -> None:
        shown = (experiment.name, experiment.model, experiment.window)
        if shown == self._shown:
            return  # a series or training edit: nothing here changes
        self._shown = shown
        preset = self.query_one("#preset", Select)
        with preset.prevent(Select.Changed):
            if experiment.name in PRESETS and experiment == PRESETS[experiment.name]:
                preset.value = experiment.name
            else:
                preset.clear()
        self.query_one("#preset-about", Static).update(experiment.description)
        layers = experiment.model.layers
        self.selected = max(0, min(self.selected, len(layers) - 1))
        exp = experiment
        self.report = infer(exp.model, exp.window.batch_size, exp.window.window)
        self._show_list()
        self._show_shapes()
        self._show_editor()

    def _show_list(self) -> None:
        bad = (
            {p.index for p in self.report.problems if p.index is not None} if self.report else set()
        )
        options = []
        for i, layer in enumerate(self.layers):
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
        self.query_one("#shape-summary", Static).update(f"total params {total} · {mode}")
        problems = Text()
        if report.ok:
            problems.append("✓ The stack works.", style="bold green")
        for problem in report.problems:
            problems.append("⚠ ", style="bold red")
            problems.append(problem.message + "\n")
            if problem.fix:
                problems.append("  → ctrl+f applies the fix: ", style="bold")
                problems.append(problem.fix.description + "\n")
        self.query_one("#problems", Static).update(problems)

    def _show_editor(self) -> None:
        layers = self.layers
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
            if type(old) is type(layer) and (
                not isinstance(layer, Bidirectional) or type(old.layer) is type(layer.layer)
            ):
                self._load_editor(layer)
                return
        self._rebuild_editor(layer)

    def _rebuild_editor(self, layer: Any) -> None:
        editor = self.query_one("#editor", Vertical)
        editor.remove_children()
        self._generation += 1
        gen = self._generation
        if layer is None:
            self._editing = None
            return
        self._editing = (self.selected, layer)
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        path = f"model.layers[{self.selected}]" + (
            ".layer" if isinstance(layer, Bidirectional) else ""
        )
        kind = Select(
            [(LAYER_TITLES[k], k) for k in EDIT_KINDS],
            allow_blank=False,
            value=inner.kind,
            compact=True,
            id=f"kind-{gen}",
            classes="editor-kind",
        )
        widgets: list[Any] = [
            Horizontal(Label("kind", classes="field-label"), kind, classes="field-line")
        ]
        names = _fields_for(inner)
        if names:
            defs = field_defs(type(inner), path, names)
            widgets.append(SpecForm(defs, id=f"layer-{gen}", classes="layer-form", initial=inner))
        else:
            widgets.append(Static("(no settings)", classes="field-note"))
        if isinstance(inner, Recurrent):
            bidi = Tick(
                "bidirectional", isinstance(layer, Bidirectional), compact=True, id=f"bidi-{gen}"
            )
            widgets.append(bidi)
            if isinstance(layer, Bidirectional):
                merge = field_defs(Bidirectional, f"model.layers[{self.selected}]", ("merge_mode",))
                widgets.append(
                    SpecForm(merge, id=f"merge-{gen}", classes="merge-form", initial=layer)
                )
        editor.mount_all(widgets)

    def _load_editor(self, layer: Any) -> None:
        if not self._editing:
            return
        self._editing = (self._editing[0], layer)
        inner = layer.layer if isinstance(layer, Bidirectional) else layer
        for form in self.query(".layer-form").results(SpecForm):
            form.load(inner)
        for form in self.query(".merge-form").results(SpecForm):
            form.load(layer)
        for box in self.query("#editor Checkbox").results(Checkbox):
            if box.id and box.id.startswith("bidi-"):
                with box.prevent(Checkbox.Changed):
                    box.value = isinstance(layer, Bidirectional)

    # --- editing ---------------------------------------------------------------------------------

    def _commit_layers(
        self, layers: list[Any], selected: int | None = None, note: str = ""
    ) -> None:
        if selected is not None:
            self.selected = selected
        exp = dataclasses.replace(self.experiment, model=ModelSpec(tuple(layers)))
        self.seqlab.commit(exp)
        if note:
            self.seqlab.log_line(note)

    @on(OptionList.OptionHighlighted, "#layers")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index is not None and event.option_index != self.selected:
            self.selected = event.option_index
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
        layers = self.layers
        if not layers or not isinstance(event.value, str):
            return
        layers[self.selected] = convert(layers[self.selected], event.value)
        self._commit_layers(layers)

    @on(Checkbox.Changed, "#editor Checkbox")
    def _bidi_changed(self, event: Checkbox.Changed) -> None:
        if not (event.checkbox.id or "").startswith("bidi-"):
            return
        event.stop()
        self._set_bidirectional(event.value)

    @on(SpecForm.Changed, "#editor SpecForm")
    def _editor_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        layers = self.layers
        if not layers or not self._editing:
            return
        layer = layers[self.selected]
        values, problems = {}, 0
        for form in self.query(".layer-form").results(SpecForm):
            ok, bad = form.read()
            form.mark({name: str(p) for name, p in bad.items()})
            values, problems = ok, problems + len(bad)
        merge: dict[str, Any] = {}
        for form in self.query(".merge-form").results(SpecForm):
            merge, bad = form.read()
            problems += len(bad)
        self.set_problems(problems)
        if problems:
            return  # the layer in force keeps its last valid values
        if isinstance(layer, Bidirectional):
            new = dataclasses.replace(
                layer, layer=dataclasses.replace(layer.layer, **values), **merge
            )
        else:
            new = dataclasses.replace(layer, **values)
        if new != layer:
            self._editing = (self.selected, new)
            layers[self.selected] = new
            self._commit_layers(layers)

    def _set_bidirectional(self, on_: bool) -> None:
        layers = self.layers
        if not layers:
            return
        layer = layers[self.selected]
        if on_ and isinstance(layer, Recurrent):
            layers[self.selected] = Bidirectional(layer=layer)
        elif not on_ and isinstance(layer, Bidirectional):
            layers[self.selected] = layer.layer
        else:
            return
        self._commit_layers(layers)

    def apply_fix(self) -> bool:
        """Applies the first problem's fix; False when no problem has one."""
        report = self.report
        fixes = [p.fix for p in report.problems if p.fix] if report else []
        if not fixes:
            return False
        fix = fixes[0]
        model = apply_fix(self.experiment.model, fix)
        selected = min(fix.index, len(model.layers) - 1) if model.layers else 0
        self._commit_layers(
            list(model.layers), max(0, selected), f"Applied fix: {fix.description}."
        )
        return True

    def can_fix(self) -> bool:
        return bool(self.report and any(p.fix for p in self.report.problems))

    # --- actions ---------------------------------------------------------------------------------

    def action_add(self) -> None:
        def added(kind: str | None) -> None:
            if kind is None:
                return
            layers = self.layers
            at = self.selected + 1 if layers else 0
            layers.insert(at, LAYER_KINDS[kind]())
            self._commit_layers(layers, at)
            self.home().focus()

        self.app.push_screen(PickScreen("Add which layer?", ADD_CHOICES), added)

    def action_remove(self) -> None:
        layers = self.layers
        if not layers:
            return
        removed = layers.pop(self.selected)
        self._commit_layers(
            layers,
            max(0, self.selected - (self.selected >= len(layers))),
            f"Removed layer {self.selected + 1} ({layer_label(removed)}).",
        )

    def action_move(self, delta: int) -> None:
        layers = self.layers
        to = self.selected + delta
        if not layers or not 0 <= to < len(layers):
            return
        layers[self.selected], layers[to] = layers[to], layers[self.selected]
        self._commit_layers(layers, to)

    def action_toggle_sequences(self) -> None:
        layers = self.layers
        if not layers or not is_recurrent(layers[self.selected]):
            self.app.notify(
                "return_sequences applies to SimpleRNN, LSTM and GRU layers.", severity="warning"
            )
            return
        layer = layers[self.selected]
        if isinstance(layer, Bidirectional):
            inner = layer.layer
            layers[self.selected] = dataclasses.replace(
                layer, layer=dataclasses.replace(inner, return_sequences=not inner.return_sequences)
            )
        else:
            layers[self.selected] = dataclasses.replace(
                layer, return_sequences=not layer.return_sequences
            )
        self._commit_layers(layers)

    def action_toggle_bidirectional(self) -> None:
        layers = self.layers
        if not layers or not is_recurrent(layers[self.selected]):
            self.app.notify(
                "Bidirectional wraps SimpleRNN, LSTM and GRU layers.", severity="warning"
            )
            return
        self._set_bidirectional(not isinstance(layers[self.selected], Bidirectional))

    def action_pick_preset(self) -> None:
        def picked(name: str | None) -> None:
            if name:
                self.seqlab.load_experiment(PRESETS[name], f"preset {name}")

        choices = [(name, f"{name}: {exp.description[:70]}") for name, exp in PRESETS.items()]
        self.app.push_screen(PickScreen("Load which preset?", choices), picked)

    @on(Select.Changed, "#preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value in PRESETS:
            self.seqlab.load_experiment(PRESETS[event.value], f"preset {event.value}")
