"""Forms over spec fields: one row per field, each bad value marked at its field with the reason.

Values are checked with ``engine.specs.check_value``, so a field in the app says exactly what a TOML
file with the same value would be told (the field's key path, the value and what is allowed).
A form never changes the experiment itself: the pane that owns it reads the form, checks the whole
section and only then commits it, so the last valid experiment stays in force. What the panes
commit is remembered here too (``EditHistory``), so every edit can be undone and redone, and told
field by field (``changes``).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, TypeVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Static

from engine.errors import FieldProblem
from engine.specs import Experiment, check_value, field_type, layer_label

UNDO_STEPS = 100  # edits the app can undo (typing in one field counts once)


@dataclass(frozen=True)
class FieldDef:
    """One field of a spec class as a form row; ``path`` is the key path used in messages."""

    spec_cls: type
    name: str
    path: str
    label: str = ""
    empty: str = ""  # what an optional field left empty means, e.g. "off"

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    # Read for every field each time a form is read (each edit, each check of the training
    # settings' relevance): worked out once, as a spec class's fields never change.
    @cached_property
    def meta(self) -> Mapping[str, Any]:
        """The field's metadata (read-only): its range, choices, whether it is optional."""
        return next(f.metadata for f in fields(self.spec_cls) if f.name == self.name)

    @cached_property
    def kind(self) -> type:
        return field_type(self.spec_cls, self.name)


def field_defs(
    spec_cls: type,
    section: str,
    names: Iterable[str],
    *,
    empty: Mapping[str, str] | None = None,
    **labels: str,
) -> list[FieldDef]:
    """Rows for the named fields; ``labels`` retitle some, ``empty`` says what an optional
    field's empty value means (shown in it while it is empty)."""
    empty = empty or {}
    return [
        FieldDef(spec_cls, n, f"{section}.{n}", labels.get(n, ""), empty.get(n, "")) for n in names
    ]


def parse(fd: FieldDef, raw: str) -> Any:
    """Text typed into a field -> a value of the field's type, or the text itself if not one."""
    text = raw.strip()
    if text == "" and fd.meta.get("optional"):
        return None
    if fd.kind is int:
        try:
            return int(text)
        except ValueError:
            return raw
    if fd.kind is float:
        try:
            return float(text)
        except ValueError:
            return raw
    return raw


def display(value: Any) -> str:
    """A value as the text a field shows: floats in their shortest exact form (5e-06, 0.05)."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


CompactControl = TypeVar("CompactControl", Input, Select[Any], Checkbox)


def compact(control: CompactControl) -> CompactControl:
    """``control`` in its compact style, as ``compact=True`` would make it, but not styled now:
    Textual restyles a widget whose classes change even before it is mounted, and styling an
    Input (with its component classes) is much of what a form costs before its first frame."""
    control.set_reactive(type(control).compact, True)
    control.add_class("-textual-compact", update=False)
    return control


class Tick(Checkbox):
    """A checkbox that reads [x] or [ ].

    Textual's checkbox draws the same X whether on or off and tells them apart by colour alone,
    which is unreadable in a 16-colour terminal or a screen capture. For the same reason a
    focused one shows its box in reverse video, like a text cursor: its focus colour maps to the
    plain background in 16 colours, and the only other mark, bold, means "checked".
    """

    @property
    def _button(self) -> Content:
        style = " ".join(s for s, on in (("reverse", self.has_focus), ("bold", self.value)) if on)
        return Content.styled("[x]" if self.value else "[ ]", style)


class FieldRow(Widget):
    """Label and control on one line; the problem, if any, on the line below.

    The row draws its label itself (left of the control, which has a margin for it) instead of
    holding a Label widget: a form of twelve fields is the app's first frame, and each widget in
    it costs styling time before that frame.
    """

    DEFAULT_CSS = """
    FieldRow {
        height: auto;
        color: $text-muted;
        & > Input, & > Select {
            margin-left: 15;
        }
        & > Tick {
            color: $foreground;  # the row's muted colour is for its label
        }
    }
    FieldRow.-lint {
        color: $text-warning;
    }
    FieldRow.-invalid {
        color: $text-error;
    }
    """

    def __init__(self, fd: FieldDef, form_id: str) -> None:
        super().__init__(classes="field-row", id=f"row-{form_id}-{fd.name}")
        self.fd = fd
        self.control_id = f"{form_id}-{fd.name}"
        self.problem: str | None = None
        self._error: Static | None = None

    def render(self) -> Content:
        if self.fd.kind is bool:  # the checkbox holds its own title
            return Content("")
        # bold here, not in CSS: text-style would be inherited by the control and problem line
        return Content.styled(self.fd.title, "bold" if self.problem else "")

    def compose(self) -> ComposeResult:
        fd = self.fd
        choices = fd.meta.get("choices")
        if fd.kind is bool:
            yield compact(Tick(fd.title, id=self.control_id))
        elif choices:
            yield compact(
                Select([(str(c), c) for c in choices], allow_blank=False, id=self.control_id)
            )
        else:
            placeholder = f"({fd.empty or 'none'})" if fd.meta.get("optional") else ""
            # "-valid" is the class Textual gives an Input without validators when its value is
            # first set; given here, that first set changes no class and restyles nothing
            # (otherwise every field restyles once in the first frame). seqlab marks problems on
            # the row instead.
            yield compact(Input(placeholder=placeholder, id=self.control_id, classes="-valid"))

    @property
    def control(self) -> Input | Select[Any] | Checkbox:
        control = self.query_one(f"#{self.control_id}")
        assert isinstance(control, (Input, Select, Checkbox)), control
        return control

    def get_raw(self) -> Any:
        """The control's value: text for an Input, the chosen value for Select and Checkbox."""
        return self.control.value

    def set_value(self, value: Any) -> None:
        control = self.control
        with control.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            if isinstance(control, Input):
                control.value = display(value)
                control.cursor_position = len(control.value)
            else:
                control.value = value

    def set_problem(self, message: str | None) -> None:
        if message == self.problem:
            return
        self.problem = message
        # The problem line is created the first time there is one: a form of valid values (the
        # app's first frame) then styles two widgets a row, not three.
        if message and self._error is None:
            self._error = Static(f"✗ {message}", classes="field-error")
            self.mount(self._error)
        elif self._error is not None:
            self._error.update(f"✗ {message}" if message else "")
        self.set_class(bool(message), "-invalid")
        self.refresh()  # the label's weight


class SpecForm(Vertical):
    """Rows for a list of spec fields; posts ``Changed`` whenever any of them is edited."""

    DEFAULT_CSS = """
    SpecForm {
        height: auto;
    }
    """

    class Changed(Message):
        def __init__(self, form: SpecForm) -> None:
            super().__init__()
            self.form = form

        @property
        def control(self) -> SpecForm:
            return self.form

    def __init__(
        self,
        defs: Sequence[FieldDef],
        *,
        id: str,
        classes: str | None = None,
        initial: Any | None = None,
        headings: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.defs = list(defs)
        self.initial = initial
        self.headings = dict(headings or {})  # field name -> heading shown above its row

    def on_mount(self) -> None:
        if self.initial is not None:
            self.load(self.initial)
            self.post_message(self.Changed(self))  # the owner checks the values it now holds

    def compose(self) -> ComposeResult:
        for fd in self.defs:
            if fd.name in self.headings:
                yield Static(self.headings[fd.name], classes="form-heading")
            yield FieldRow(fd, self.id or "form")

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{self.id}-{name}", FieldRow)

    def load(self, spec: Any) -> None:
        """Shows a spec's values and clears every mark (no Changed message is posted)."""
        for fd in self.defs:
            row = self.row(fd.name)
            row.set_value(getattr(spec, fd.name))
            row.set_problem(None)

    def read(self) -> tuple[dict[str, Any], dict[str, FieldProblem]]:
        """The valid values by field name, and the problem of each field that is not valid."""
        values: dict[str, Any] = {}
        problems: dict[str, FieldProblem] = {}
        for fd in self.defs:
            raw = self.row(fd.name).get_raw()
            value = parse(fd, raw) if isinstance(raw, str) and fd.kind is not str else raw
            if fd.kind is str and isinstance(raw, str) and raw == "" and fd.meta.get("optional"):
                value = None
            problem = check_value(fd.spec_cls, fd.name, value, fd.path)
            if problem:
                problems[fd.name] = problem
            else:
                values[fd.name] = value
        return values, problems

    def mark(self, problems: dict[str, str]) -> None:
        """Marks the named fields with their messages and clears the others."""
        for fd in self.defs:
            self.row(fd.name).set_problem(problems.get(fd.name))

    def mark_lints(self, names: Set[str]) -> None:
        """Marks the named fields as the subject of a lint (valid, but worth changing)."""
        for fd in self.defs:
            self.row(fd.name).set_class(fd.name in names, "-lint")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))


# --- the history of edits ------------------------------------------------------------------------


def _shown_value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if dataclasses.is_dataclass(value):  # a series of another source, a layer of another kind
        return str(getattr(value, "source", "") or layer_label(value))
    return display(value)


def _layer_changes(path: str, old: tuple[Any, ...], new: tuple[Any, ...]) -> list[str]:
    """Layer-stack changes as the user made them: a field of a layer, or a layer added,
    removed or replaced (a move is a removal and an addition)."""
    found: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                found += _changes(f"{path}[{i1 + k}]", old[i1 + k], new[j1 + k])
        elif tag in ("replace", "delete"):
            found += [
                f"{path}[{i1 + k}] {layer_label(old[i1 + k])} removed" for k in range(i2 - i1)
            ]
        if tag in ("replace", "insert") and not (tag == "replace" and i2 - i1 == j2 - j1):
            found += [f"{path}[{j1 + k}] {layer_label(new[j1 + k])} added" for k in range(j2 - j1)]
    return found


def _changes(path: str, old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if dataclasses.is_dataclass(old) and type(old) is type(new):
        found: list[str] = []
        for f in fields(old):
            sub = f"{path}.{f.name}" if path else f.name
            found += _changes(sub, getattr(old, f.name), getattr(new, f.name))
        return found
    if isinstance(old, tuple) and isinstance(new, tuple):
        return _layer_changes(path, old, new)
    return [f"{path} {_shown_value(old)} → {_shown_value(new)}"]


def changes(old: Experiment, new: Experiment) -> list[str]:
    """What differs from ``old`` to ``new``, one "key.path old → new" per field (the layer stack
    by layer). The name and description are told only when nothing else changed: editing a
    preset renames it ("course-rnn (edited)"), which is no edit of the user's."""
    found = _changes(
        "",
        dataclasses.replace(old, name="", description=""),
        dataclasses.replace(new, name="", description=""),
    )
    return found or _changes("", old, new)


def said(found: Sequence[str], most: int = 3) -> str:
    """Changes in one line: the first ``most``, then how many more."""
    shown = ", ".join(found[:most])
    return shown + (f" and {len(found) - most} more" if len(found) > most else "")


@dataclass(frozen=True)
class Step:
    """A state to go back (or forward) to; ``what`` names a step that is no field edit
    ("loading preset lstm"), which is told instead of its many changes. A load also moves what
    the app counts edits from: ``saved`` is that experiment again once the step is taken."""

    experiment: Experiment
    what: str = ""
    saved: Experiment | None = None


class EditHistory:
    """The experiments in force before each edit (undo) and those undone (redo), ``limit`` deep.

    Edits of one text field in a row are one step (``group``: typing "500" commits 5, 50 and 500,
    and one undo goes back past all three); a new edit clears what was undone, as editors do.
    """

    def __init__(self, limit: int = UNDO_STEPS) -> None:
        self.limit = limit
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._group: object | None = None

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def record(
        self,
        before: Experiment,
        *,
        group: object | None = None,
        what: str = "",
        saved: Experiment | None = None,
    ) -> None:
        """An edit (or load) replaced ``before``; ``group`` is the same for edits that make one
        step (None: a step of its own); a load gives the ``saved`` experiment it replaces."""
        if group is None or group != self._group or not self._undo:
            self._undo.append(Step(before, what, saved))
            del self._undo[: -self.limit]
        self._group = group
        self._redo.clear()

    def end_group(self) -> None:
        """The next edit is a step of its own (the field it was typed in lost focus)."""
        self._group = None

    def undo(self, current: Experiment, saved: Experiment | None = None) -> Step | None:
        """The step to go back to from ``current`` (None: nothing to undo); ``saved`` is the
        experiment edits are counted from now (a load's redo restores it)."""
        return self._move(self._undo, self._redo, current, saved)

    def redo(self, current: Experiment, saved: Experiment | None = None) -> Step | None:
        """The step undone last, to go forward to again (None: nothing to redo)."""
        return self._move(self._redo, self._undo, current, saved)

    def _move(
        self, source: list[Step], target: list[Step], current: Experiment, saved: Experiment | None
    ) -> Step | None:
        self._group = None
        while source and source[-1].experiment == current:  # typed back to where it was
            source.pop()
        if not source:
            return None
        step = source.pop()
        target.append(Step(current, step.what, None if step.saved is None else saved))
        return step
