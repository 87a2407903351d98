"""Modal screens: the key list (F1), the TensorFlow log (F2), a keyboard picker for choices, a
one-value question (steps to forecast, a file to write) and a yes/no question (overwrite a file)."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, RichLog, Static
from textual.widgets.option_list import Option

LOG_TAIL_LINES = 400
PICK_LINES = 3  # the most lines a choice of a picker takes before it is cut


def escape(text: str) -> str:
    """Text safe inside Textual content markup (every '[' escaped, not only tag-like ones)."""
    return text.replace("[", "\\[")


def key_label(key: str) -> str:
    """'ctrl+t' -> '^t', 'left_square_bracket' -> '[' (as the footer shows keys)."""
    names = {
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "space": "space",
        "delete": "del",
        "escape": "esc",
        "enter": "enter",
        "plus": "+",
        "minus": "-",
        "equals_sign": "=",
    }
    parts = []
    for k in key.split(","):
        k = k.strip()
        parts.append("^" + k[5:] if k.startswith("ctrl+") else names.get(k, k))
    return " / ".join(parts)


def fit_words(text: str, width: int, lines: int) -> str:
    """``text`` wrapped at word boundaries into at most ``lines`` lines of ``width`` columns; what
    does not fit is cut after a whole word and marked "…" (continuation lines are indented)."""
    if width < 4:
        return text
    wrapped = textwrap.wrap(
        " ".join(text.split()),
        width,
        subsequent_indent="\u00a0\u00a0",  # no-break spaces: an option list strips spaces
        max_lines=max(1, lines),
        placeholder=" …",
    )
    return "\n".join(wrapped)


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            rows.append((key_label(b.key), b.tooltip or b.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every key of the app, grouped by where it works.

    Textual's own key panel lists only the bindings active for the focused widget; a learner
    wants the whole map at once, so this screen builds it from the bindings of every pane.
    """

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", show=False, id="help.close")]

    def __init__(self, groups: Sequence[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        width = max((len(key) for _, rows in self.groups for key, _ in rows), default=4) + 2
        lines: list[str] = []
        for title, rows in self.groups:
            lines.append(f"[b u]{escape(title)}[/]")
            lines += [
                f"  [b $accent]{escape(key.ljust(width))}[/]{escape(what)}" for key, what in rows
            ]
            lines.append("")
        with Vertical(id="help-box", classes="modal-box"):
            yield Label("Keys  (esc closes)", classes="modal-title")
            with VerticalScroll():
                yield Static("\n".join(lines))


class LogScreen(ModalScreen[None]):
    """The end of the training process's log: TensorFlow's and absl's output, never on screen."""

    BINDINGS = [
        Binding("escape,f2,q", "dismiss", "Close", show=False, id="log.close"),
        Binding("r", "reload", "Reload", show=False, id="log.reload"),
    ]

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="log-box", classes="modal-box"):
            yield Label(
                f"TensorFlow log: {self.path or '(none)'}  (r reload, esc close)",
                classes="modal-title",
            )
            yield RichLog(id="tf-log", wrap=True, markup=False, highlight=False)

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        if self.path is None:
            log.write("This session has no log file.")
            return
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                lines = handle.readlines()[-LOG_TAIL_LINES:]
        except OSError as exc:
            log.write(f"Cannot read {self.path}: {exc.strerror or exc}")
            return
        if not lines:
            log.write("The log is empty: TensorFlow has written nothing so far.")
        for line in lines:
            log.write(line.rstrip("\n"))


class PickScreen(ModalScreen[str | None]):
    """A titled list of choices; enter picks one, escape cancels. ``keys`` maps a letter to a
    choice's value, so a menu can be used with two key presses (x, then s).

    A choice longer than the list is wide (a preset's description) is wrapped at word boundaries
    into as many lines as the dialog has room for (up to ``PICK_LINES``), then cut after a whole
    word with "…": never mid-word, and the room the terminal gives is used.
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False, id="pick.cancel")]

    def __init__(
        self,
        title: str,
        choices: Sequence[tuple[str, str]],
        note: str = "",
        keys: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.note = note
        self.keys = dict(keys or {})
        self._fitted: set[int] = set()  # the choices shown fitted to the list

    def on_key(self, event: events.Key) -> None:
        if event.key in self.keys:
            event.stop()
            self.dismiss(self.keys[event.key])

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box pick-box"):
            yield Label(self.title_text, classes="modal-title")
            yield OptionList(*(Option(label, id=value) for value, label in self.choices))
            if self.note:
                yield Static(self.note, classes="modal-note")

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit_choices)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_choices)

    def fit_choices(self) -> None:
        """Fits the long choices to the list's width and the dialog's height (once laid out)."""
        options = self.query_one(OptionList)
        width = options.scrollable_content_region.width
        box = self.query_one(".pick-box", Vertical)
        if width <= 0 or box.styles.max_height is None:
            return
        chrome = box.styles.gutter.height + options.styles.gutter.height + 1 + bool(self.note)
        room = int(box.styles.max_height.resolve(self.size, self.app.size)) - chrome
        lines = max(1, min(PICK_LINES, room // max(1, len(self.choices))))
        for index, (_, label) in enumerate(self.choices):
            if len(label) > width:
                self._fitted.add(index)
                fitted = Content(fit_words(label, width, lines))
                options.replace_option_prompt_at_index(index, fitted)
            elif index in self._fitted:  # wide enough again: the label as given
                self._fitted.discard(index)
                options.replace_option_prompt_at_index(index, label)
        options.styles.max_height = max(room, 1) + options.styles.gutter.height

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class AskScreen(ModalScreen[str | None]):
    """A question with one typed answer: enter gives it if ``check`` finds no problem in it (the
    problem is shown under the field, which stays open), escape cancels."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False, id="ask.cancel")]

    def __init__(
        self, title: str, value: str, check: Callable[[str], str | None], note: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.check = check
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box pick-box ask-box"):
            yield Label(self.title_text, classes="modal-title")
            yield Input(self.value, id="ask-value", select_on_focus=True)
            yield Static("", id="ask-problem", classes="field-error")
            if self.note:
                yield Static(self.note, classes="modal-note")

    def on_mount(self) -> None:
        field = self.query_one("#ask-value", Input)
        field.cursor_blink = getattr(self.app, "blink", True)  # snapshots need it still
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.check(event.value)
        line = self.query_one("#ask-problem", Static)
        line.update(problem or "")
        line.display = problem is not None
        if problem is None:
            self.dismiss(event.value)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; "no" is where the cursor starts, so enter alone never overwrites.

    y or the first choice answers yes; n, escape or the second choice answers no."""

    BINDINGS = [
        Binding("escape,n", "dismiss(False)", "No", show=False, id="confirm.no"),
        Binding("y", "dismiss(True)", "Yes", show=False, id="confirm.yes"),
    ]

    def __init__(self, title: str, yes: str, no: str, note: str = "y yes · n or esc no") -> None:
        super().__init__()
        self.title_text = title
        self.yes, self.no = yes, no
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box pick-box"):
            yield Label(self.title_text, classes="modal-title")
            yield OptionList(Option(self.yes, id="yes"), Option(self.no, id="no"))
            yield Static(self.note, classes="modal-note")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 1

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id == "yes")


def file_target(text: str, cwd: Path | None = None) -> Path:
    """The absolute path a typed file name stands for (``~`` expanded, relative to ``cwd``)."""
    path = Path(text.strip()).expanduser()
    return path if path.is_absolute() else (cwd or Path.cwd()) / path


def file_problem(text: str, cwd: Path | None = None) -> str | None:
    """Why a typed file name cannot be written, in one line; None when it can be tried (the
    write itself may still be refused, e.g. a folder without write permission)."""
    if not text.strip():
        return "give a file name"
    if "\0" in text:
        return "a file name cannot hold a NUL character"
    path = file_target(text, cwd)
    if path.is_dir():
        return f"{path} is a folder; give a file name in it"
    if path.parent.exists() and not path.parent.is_dir():
        return f"{path.parent} is a file, not a folder"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"the folder {path.parent} is not writable"
    return None


def shown_path(path: Path, cwd: Path | None = None) -> str:
    """A path as a dialog pre-fills it: relative when it lies in ``cwd``, else absolute."""
    cwd = cwd or Path.cwd()
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)
