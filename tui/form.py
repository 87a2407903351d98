"""Forms over spec fields: one row per field, each bad value marked at its field with the reason.

Values are checked with ``engine.specs.check_value``, so a field in the app says exactly what a TOML
file with the same value would be told (the field's key path, the value and what is allowed).
A form never changes the experiment itself: the pane that owns it reads the form, checks the whole
section and only then commits it, so the last valid experiment stays in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, fields
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select, Static

from engine.errors import FieldProblem
from engine.specs import check_value, field_type


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

    @property
    def meta(self) -> dict[str, Any]:
        return dict({f.name: f.metadata for f in fields(self.spec_cls)}[self.name])

    @property
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


class Tick(Checkbox):
    """A checkbox that reads [x] or [ ].

    Textual's checkbox draws the same X whether on or off and tells them apart by colour alone,
    which is unreadable in a 16-colour terminal or a screen capture.
    """

    @property
    def _button(self) -> Content:
        return Content.from_markup("[b]\\[x][/]" if self.value else "\\[ ]")


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
            yield Tick(fd.title, id=self.control_id, compact=True)
        elif choices:
            yield Select(
                [(str(c), c) for c in choices],
                allow_blank=False,
                compact=True,
                id=self.control_id,
            )
        else:
            placeholder = f"({fd.empty or 'none'})" if fd.meta.get("optional") else ""
            # "-valid" is the class Textual gives an Input without validators when its value is
            # first set; given here, that first set changes no class and restyles nothing
            # (otherwise every field restyles once in the first frame). seqlab marks problems on
            # the row instead.
            yield Input(placeholder=placeholder, compact=True, id=self.control_id, classes="-valid")

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
