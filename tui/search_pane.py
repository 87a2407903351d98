"""Search view: a hyperparameter search of the experiment in force, on Ray Tune, and its trials.

The pane holds the search: the fields it varies (a key path and a domain each, typed as text and
read by ``engine.search_space.param_from_text``, so a bad domain is told as a search file's
would be), the search settings (a spec-driven form over ``SearchSettings``) and the Ray address
(empty: an embedded local Ray). ctrl+g checks the whole search (``validated``) and sends it to the
engine process, which runs it: Ray never runs in the app's process, and none of its output
reaches the screen. Its events (``SearchStarted``, ``TrialUpdate``, ``SearchEnded``) come with
the token the pane started it with, apart from the app's live training run.

Trials are ranked on the holdout slice's MAE, which is what the search chooses on; the validation
MAE is the test score, shown and never chosen on. The best trial's run opens in the Runs pane
(``o``) and its experiment loads into the panes (``l``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.errors import ConfigError, SeqlabError
from engine.events import SearchEnded, SearchEvent, SearchStarted, TrialUpdate
from engine.search_space import (
    Param,
    Search,
    SearchSettings,
    dumps,
    param_from_text,
    searchable,
    trials_of,
    validated,
)
from engine.specs import Experiment
from engine.studies import best, ranked
from tui.form import SpecForm, display, field_defs
from tui.numbers import shown
from tui.pane import Pane
from tui.screens import AskScreen, binding_rows, escape

SETTINGS_FIELDS = field_defs(
    SearchSettings,
    "search",
    (
        "trials",
        "searcher",
        "scheduler",
        "grace_period",
        "reduction_factor",
        "max_concurrent",
        "cpus_per_trial",
        "seed",
    ),
    empty={"max_concurrent": "auto"},
    grace_period="grace epochs",
    reduction_factor="reduction",
    max_concurrent="at once",
    cpus_per_trial="CPUs a trial",
)
ASHA_ONLY = ("grace_period", "reduction_factor")  # settings that do nothing without ASHA
DOMAIN_HELP = "e.g. loguniform 1e-4 1e-2 · uniform 0 0.5 · randint 16 64 · choice 10 20 30"
SHORT = {  # trials-table column titles for long field names
    "learning_rate": "lr",
    "batch_size": "batch",
    "weight_decay": "decay",
    "return_sequences": "ret seq",
    "shuffle_buffer": "shuffle",
    "noise_level": "noise",
}
TRIALS_HEADING = (
    "Trials, best holdout MAE first: chosen on the holdout slice; val MAE is the test score"
)
TRIALS_HEADING_SHORT = "Trials by holdout MAE (chosen on it); val MAE: the test score"
MOVE_KEYS = {"up", "down", "pageup", "pagedown", "home", "end", "ctrl+home", "ctrl+end"}
DRAW_INTERVAL = 0.2  # seconds between trials-table redraws while trial epochs stream in
STATUS_STYLES = {
    "running": "",
    "finished": "green",
    "pruned": "dim",
    "stopped": "yellow",
    "failed": "bold red",
}

clock: Callable[[], float] = time.monotonic  # the elapsed time's clock (snapshots fix it)


def value_text(value: Any) -> str:
    """A searched value as a table cell shows it (three significant digits for a float)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.3g}"
    return "none" if value is None else str(value)


def param_text(param: Param) -> str:
    """A domain as it is typed (``param_from_text`` reads it back to the same Param)."""
    words = ["true" if v is True else "false" if v is False else display(v) for v in param.values]
    return " ".join([param.domain, *words])


def values_text(param: Param) -> str:
    """The domain's values as the fields table shows them: a list, or a range's two ends."""
    if param.domain in ("choice", "grid"):
        return ", ".join(value_text(v) for v in param.values)
    return f"{value_text(param.values[0])} to {value_text(param.values[1])}"


def short_name(path: str) -> str:
    """A searched field as a trials-table column: its name without its section, a layer as
    L<index> (``model.layers[1].units`` -> ``L1 units``)."""
    rest = path.split(".", 1)[-1]
    if rest.startswith("layers[") and "]." in rest:
        index, name = rest[len("layers[") :].split("].", 1)
        return f"L{index} {SHORT.get(name, name)}"
    return SHORT.get(rest, rest)


def suggested_domain(base: Experiment, path: str, kind: type, current: Any) -> str:
    """A domain around the current value that the field accepts, pre-filled in the dialog."""
    candidates: list[str] = []
    if kind is bool:
        candidates.append("choice true false")
    elif kind is float and isinstance(current, float) and current > 0:
        candidates += [
            f"loguniform {current / 10:.3g} {current * 10:.3g}",
            f"uniform {current / 2:.3g} {current * 2:.3g}",
            f"uniform 0 {current:.3g}",
        ]
    elif kind is int and isinstance(current, int) and not isinstance(current, bool):
        candidates += [f"randint {max(1, current // 2)} {current * 2}", f"choice {current}"]
    if current is not None and not isinstance(current, bool):
        candidates.append(f"choice {display(current)}")
    for text in candidates:
        try:
            param_from_text(base, path, text)
        except SeqlabError:
            continue
        return text
    return ""


def domain_problem(base: Experiment, text: str, path: str) -> str | None:
    """Why a typed domain cannot be searched, in one line (None: it can). Each of its values is
    also tried on the base experiment, as the search's own check does before it starts; what is
    wrong with the base itself (no holdout slice) is told when the search starts."""
    try:
        param = param_from_text(base, path, text)
    except SeqlabError as exc:
        problems = getattr(exc, "problems", None)
        return str(problems[0]) if problems else str(exc)
    searcher = "grid" if param.domain == "grid" else "random"
    try:
        validated(Search(base, (param,), SearchSettings(searcher=searcher, scheduler="none")))
    except ConfigError as exc:
        mine = [p for p in exc.problems if p.path.startswith(param.key)]
        return str(mine[0]) if mine else None
    except SeqlabError as exc:
        return str(exc)
    return None


class FieldPicker(ModalScreen[str | None]):
    """Every field a search can vary, filtered as you type; enter picks the highlighted one."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", show=False, id="field_picker.cancel"),
        Binding("down", "move(1)", "Next", show=False, id="field_picker.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="field_picker.up"),
    ]

    def __init__(self, fields: list[tuple[str, type, Any]], searched: set[str]) -> None:
        super().__init__()
        self.fields = fields
        self.searched = searched

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box pick-box", id="field-picker"):
            yield Label("Search which field?", classes="modal-title")
            yield Input(placeholder="type to filter, e.g. units or learning", id="field-filter")
            yield OptionList(id="field-options")
            yield Static(
                "↑ ↓ choose · enter picks · esc cancels", id="field-note", classes="modal-note"
            )

    def on_mount(self) -> None:
        field = self.query_one("#field-filter", Input)
        field.cursor_blink = getattr(self.app, "blink", True)
        field.focus()
        self._fill("")

    def _fill(self, text: str) -> None:
        words = text.lower().split()
        options = self.query_one("#field-options", OptionList)
        options.clear_options()
        width = max((len(path) for path, _, _ in self.fields), default=20)
        for path, kind, current in self.fields:
            if all(w in path.lower() for w in words):
                mark = " · searched" if path in self.searched else ""
                label = f"{path:<{width}}  {kind.__name__:<5} now {value_text(current)}{mark}"
                options.add_option(Option(Text(label), id=path))
        if options.option_count:
            options.highlighted = 0
        note = "↑ ↓ choose · enter picks · esc cancels"
        self.query_one("#field-note", Static).update(
            note if options.option_count else "no field matches · esc cancels"
        )

    @on(Input.Changed, "#field-filter")
    def _filtered(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#field-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#field-options", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def action_move(self, step: int) -> None:
        options = self.query_one("#field-options", OptionList)
        if options.option_count:
            now = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(options.option_count - 1, now + step))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


@dataclass
class Study:
    """The search the pane started: its token, the fields its trials vary, what has arrived."""

    token: int
    paths: tuple[str, ...]
    total: int
    started_at: float
    started: SearchStarted | None = None
    ended: SearchEnded | None = None
    trials: dict[int, TrialUpdate] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def done(self) -> int:
        """Trials that have ended (a resumed study's earlier ones too)."""
        earlier = self.started.done if self.started else 0
        return earlier + sum(t.status != "running" for t in self.trials.values())

    def best(self) -> TrialUpdate | None:
        if self.ended is not None:
            return self.trials.get(self.ended.best_trial or -1)
        return best(list(self.trials.values()))


def elapsed_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return (
        f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
        if minutes >= 60
        else f"{minutes}:{secs:02d}"
    )


def verdict(trial: TrialUpdate) -> tuple[str, str]:
    """What the best trial's test score says, and its style: beside naive, plainly."""
    if trial.val_mae is None:
        return f"trial {trial.trial} has no validation MAE (it saved no forecast)", "yellow"
    text = f"val MAE {trial.val_mae:.3f}"
    if trial.naive_mae is None:
        return text, ""
    text += f" vs naive {trial.naive_mae:.3f}: "
    if trial.val_mae < trial.naive_mae:
        return text + "beats the naive forecast", "bold green"
    return text + "does NOT beat the naive forecast", "bold yellow"


class SearchPane(Pane):
    """The search's fields and settings, starting it, and its trials as they run."""

    TITLE = "Search"
    SCOPED_CSS = False  # its narrow layout follows the screen's breakpoint class
    FOOTER_FIRST = ("start", "add", "open_trial", "load_trial", "settings")
    DEFAULT_CSS = """
    #search-right {
        width: 1fr;
        padding-left: 1;
    }
    #search-space {
        height: auto;
        max-height: 8;
    }
    Screen.-short #search-space {
        max-height: 5;
    }
    #space-note, #search-status, #search-result {
        height: auto;
        color: $text-muted;
    }
    #search-message {
        height: auto;
        display: none;
    }
    #search-status {
        margin-top: 1;
        color: $foreground;
        text-style: bold;
    }
    #trials-heading {
        height: 1;
        color: $accent;
        text-style: bold;
    }
    #search-trials {
        height: 1fr;
    }
    #search-address {
        width: 1fr;
    }
    #search-left {  /* the app's form column, narrower on a narrow screen */
        width: 42;
        height: 1fr;
        padding: 0 1 0 0;
        border-right: vkey $panel-lighten-2;
    }
    Screen.-narrow #search-left {
        width: 29;  /* the fields table beside it fits a key path, a domain and its range */
    }
    Screen.-narrow #search.-study #search-left {
        display: none;
    }
    Screen.-narrow #search.-study.-settings #search-left {
        display: block;
    }
    """
    BINDINGS = [
        Binding(
            "ctrl+g",
            "start",
            "Search",
            tooltip="Start the search (checked first; ctrl+x stops it)",
            id="search.start",
        ),
        Binding(
            "a",
            "add",
            "Add",
            tooltip="Add a field to search: pick it, type its domain",
            id="search.add",
        ),
        Binding(
            "e",
            "edit",
            "Edit",
            tooltip="Edit the selected field's domain (or enter)",
            id="search.edit",
        ),
        Binding(
            "delete",
            "remove",
            "Remove",
            show=False,
            tooltip="Remove the selected field from the search",
            id="search.remove",
        ),
        Binding(
            "o",
            "open_trial",
            "Open",
            tooltip="Open the selected trial's run in the Runs pane (or enter)",
            id="search.open_trial",
        ),
        Binding(
            "l",
            "load_trial",
            "Load",
            tooltip="Load the selected trial's experiment into the panes",
            id="search.load_trial",
        ),
        Binding(
            "s",
            "settings",
            "Settings",
            tooltip="Narrow screens: show / hide the settings beside the trials",
            id="search.settings",
        ),
    ]

    def __init__(self) -> None:
        super().__init__(id="search")
        self.space: list[Param] = []  # the fields searched, in the order they were added
        self.space_problems: dict[str, str] = {}  # a field the experiment in force no longer fits
        self.settings = SearchSettings()
        self.settings_problems: list[str] = []  # the settings form's fields that do not hold
        self.study: Study | None = None  # the search started last (running or ended)
        self._drawn = 0.0
        self._draw_timer: Any = None
        self._clock_timer: Any = None
        self._trial_columns: tuple[str, ...] = ()
        self._follow_best = True  # the trials table's cursor is on the best trial

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="search-left", can_focus=False):
                yield Static("Search settings", classes="form-heading")
                yield SpecForm(SETTINGS_FIELDS, id="search-settings", initial=SearchSettings())
                yield Static("Ray", classes="form-heading")
                yield Input(
                    placeholder="empty: embedded local Ray",
                    id="search-address",
                    compact=True,
                    classes="-valid",
                )
                yield Static(
                    "or a Ray head's address (host:6379, as ray start --head gives it); Ray runs "
                    "in the engine process",
                    classes="field-note",
                )
            with Vertical(id="search-right"):
                yield Static("Searched fields (a add, e edit, del)", classes="form-heading")
                yield DataTable(id="search-space", cursor_type="row", cell_padding=1)
                yield Static("", id="space-note")
                yield Static("", id="search-message")
                yield Static("", id="search-status")
                yield Static("", id="trials-heading")
                yield DataTable(id="search-trials", cursor_type="row", cell_padding=1)
                yield Static("", id="search-result")

    def on_mount(self) -> None:
        table = self.query_one("#search-space", DataTable)
        table.add_column("field", key="path")
        table.add_column("domain", key="domain")
        table.add_column("values", key="values")
        if not getattr(self.app, "blink", True):
            self.query_one("#search-address", Input).cursor_blink = False
        self.query_one("#search-trials").display = False
        self.query_one("#trials-heading").display = False
        self._draw_space()
        self._draw_study()

    def home(self) -> DataTable:
        return self.query_one("#search-space", DataTable)

    def on_resize(self) -> None:
        self._draw_heading()

    # --- the searched fields -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a search the pane started has not ended yet."""
        return self.study is not None and self.study.running

    def _draw_space(self) -> None:
        table = self.query_one("#search-space", DataTable)
        at = table.cursor_row
        table.clear()
        for p in self.space:
            problem = p.path in self.space_problems
            style = "bold red" if problem else ""
            table.add_row(
                Text(("✗ " if problem else "") + p.path, style=style),
                p.domain,
                Text(values_text(p)),
                key=p.path,
            )
        if self.space:
            table.move_cursor(row=max(0, min(at, len(self.space) - 1)))
        table.display = bool(self.space)
        self._draw_note()

    def _draw_note(self) -> None:
        note = self.query_one("#space-note", Static)
        if not self.space:
            note.update(
                Text(
                    "No field searched yet: press a to pick one (e.g. train.learning_rate), "
                    "then type its domain. ctrl+g starts the search."
                )
            )
            return
        s = self.settings
        count = trials_of(Search(self.experiment, tuple(self.space), s))
        text = Text(
            f"{count} trial{'' if count == 1 else 's'} · {s.searcher} searcher · "
            f"{'ASHA stops poor trials early' if s.scheduler == 'asha' else 'no early stopping'}"
            " · ctrl+g starts · ctrl+x stops"
        )
        problems = [f"{path}: {why}" for path, why in self.space_problems.items()]
        if problems:
            text.append("\n✗ " + problems[0], style="bold red")
        note.update(text)

    def _selected_param(self) -> Param | None:
        table = self.query_one("#search-space", DataTable)
        if not self.space or not 0 <= table.cursor_row < len(self.space):
            return None
        return self.space[table.cursor_row]

    def _ask_domain(self, path: str, kind: type, current: Any, value: str) -> None:
        """Asks for ``path``'s domain (pre-filled with ``value``); a domain that does not fit
        is told in the dialog, in one line, and it stays open."""
        base = self.experiment

        def check(text: str) -> str | None:
            problem = domain_problem(base, text, path)
            return None if problem is None else escape(shown(problem))

        def answered(text: str | None) -> None:
            if text is None:
                return
            param = param_from_text(self.experiment, path, text)
            at = next((i for i, p in enumerate(self.space) if p.path == path), None)
            if at is None:
                self.space.append(param)
                at = len(self.space) - 1
            else:
                self.space[at] = param
            self.space_problems.pop(path, None)
            self._draw_space()
            self.query_one("#search-space", DataTable).move_cursor(row=at)
            self.say(f"Searching {path}: {param.describe()}.")
            self.seqlab.refresh_bindings()

        self.app.push_screen(
            AskScreen(
                escape(f"Domain of {path} (now {value_text(current)}, {kind.__name__})"),
                value,
                check,
                note=escape(f"{DOMAIN_HELP} · enter sets it · esc cancels"),
            ),
            answered,
        )

    def action_add(self) -> None:
        fields = searchable(self.experiment)
        kinds = {path: (kind, current) for path, kind, current in fields}

        def picked(path: str | None) -> None:
            if path is None or path not in kinds:
                return
            kind, current = kinds[path]
            old = next((p for p in self.space if p.path == path), None)
            value = (
                param_text(old) if old else suggested_domain(self.experiment, path, kind, current)
            )
            self._ask_domain(path, kind, current, value)

        self.app.push_screen(FieldPicker(fields, {p.path for p in self.space}), picked)

    def action_edit(self) -> None:
        param = self._selected_param()
        if param is None:
            self.say("No field to edit: press a to add one.", error=True)
            return
        found = {path: (kind, current) for path, kind, current in searchable(self.experiment)}
        kind, current = found.get(param.path, (str, None))
        self._ask_domain(param.path, kind, current, param_text(param))

    def action_remove(self) -> None:
        param = self._selected_param()
        if param is None:
            return
        self.space.remove(param)
        self.space_problems.pop(param.path, None)
        self._draw_space()
        self.say(f"No longer searching {param.path}.")
        self.seqlab.refresh_bindings()

    @on(DataTable.RowSelected, "#search-space")
    def _space_selected(self) -> None:
        self.action_edit()

    def show_experiment(self, experiment: Experiment) -> None:
        """Another experiment in force: each searched field is read again against it (a layer
        removed leaves its field marked, with the reason)."""
        problems: dict[str, str] = {}
        for i, p in enumerate(self.space):
            try:
                self.space[i] = param_from_text(experiment, p.path, param_text(p))
            except SeqlabError as exc:
                problems[p.path] = str(exc)
        if problems != self.space_problems or self.space:
            self.space_problems = problems
            self._draw_space()  # the values as read again (and the trials count)

    # --- settings ------------------------------------------------------------------------------

    @on(SpecForm.Changed, "#search-settings")
    def _settings_changed(self, event: SpecForm.Changed) -> None:
        event.stop()
        form = event.form
        values, found = form.read()
        form.mark({name: str(p) for name, p in found.items()})
        self.settings_problems = [str(p) for p in found.values()]
        self.settings = dataclasses.replace(self.settings, **values)
        for name in ASHA_ONLY:
            form.row(name).disabled = self.settings.scheduler != "asha"
        form.row("trials").disabled = self.settings.searcher == "grid"
        self._draw_note()

    # --- starting and stopping -----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "remove"):
            return True if self.space else None
        if action in ("open_trial", "load_trial"):
            trial = self._selected_trial()
            return True if trial is not None and trial.run_id else None
        if action == "start":
            return None if self.running or self.seqlab.live is not None else True
        if action == "settings":
            return self.study is not None and self.screen.has_class("-narrow")
        return True

    def action_start(self) -> None:
        """Checks the whole search, then sends it to the engine process; a problem is told in
        one line naming its key path, and nothing starts."""
        app = self.seqlab
        if self.running:
            self.say("A search is running: stop it first (ctrl+x).", error=True)
            return
        if app.live is not None:
            self.say(f"A {app.live.kind} run is live: stop it first (ctrl+x).", error=True)
            return
        if self.settings_problems:
            self.say(f"Cannot search: {self.settings_problems[0]}", error=True)
            return
        if not self.space:
            self.say("Cannot search: no field to vary. Press a to add one.", error=True)
            return
        try:
            search = validated(Search(self.experiment, tuple(self.space), self.settings))
        except ConfigError as exc:
            more = len(exc.problems) - 1
            extra = f" (and {more} more)" if more > 0 else ""
            self.say(f"Cannot search: {exc.problems[0]}{extra}", error=True)
            return
        except SeqlabError as exc:
            self.say(f"Cannot search: {exc}", error=True)
            return
        address = self.query_one("#search-address", Input).value.strip() or None
        token = app.new_token()
        total = trials_of(search)
        self.study = Study(token, tuple(p.path for p in search.space), total, clock())
        self._trial_columns = ()
        self._follow_best = True
        self.add_class("-study")
        self.remove_class("-settings")
        app.backend.search(dumps(search), str(app.store.root), address, None, token)
        where = address or "an embedded local Ray"
        self.query_one("#search-message").display = False  # the status line tells it now
        app.log_line(f"Started a search of {total} trials of {search.base.name} on {where}.")
        if self._clock_timer is None:
            self._clock_timer = self.set_interval(1.0, self._draw_status)
        self._draw_study()
        self.query_one("#search-trials", DataTable).focus()
        app.refresh_bindings()
        app.refresh_status()

    def start_shown(self) -> None:
        """Starts the search from another pane (the command palette): this pane shows first, so
        a refusal is seen."""
        self.seqlab.action_show_pane("search")
        self.action_start()

    def action_settings(self) -> None:
        self.toggle_class("-settings")

    def top_bar_text(self) -> str | None:
        """The top bar's run part while a search runs."""
        study = self.study
        if study is None or not study.running:
            return None
        return f"● search {study.done}/{study.total} trials"

    # --- events --------------------------------------------------------------------------------

    def show_event(self, token: int, event: SearchEvent) -> bool:
        """An event of the search started with ``token``; False when it is not this pane's."""
        study = self.study
        if study is None or token != study.token:
            return False
        if isinstance(event, SearchStarted):
            study.started = event
            study.total = event.trials
            self._draw_status()
        elif isinstance(event, TrialUpdate):
            old = study.trials.get(event.trial)
            if old is not None and old.status != "running" and event.status == "running":
                return True  # a late epoch of a trial that has ended
            ended = event.status != "running" and (old is None or old.status == "running")
            study.trials[event.trial] = event
            if ended:
                self._draw_study()  # a trial's end shows at once: counts and the best change
            else:
                self._schedule_draw()
            if not ended and old is not None:
                return True  # another epoch: the keys that apply are the same
        else:
            study.ended = event
            if event.trials:
                study.trials = {t.trial: t for t in event.trials}
            else:  # it failed before it reported them: what has not ended did not end
                study.trials = {
                    n: dataclasses.replace(t, status="stopped") if t.status == "running" else t
                    for n, t in study.trials.items()
                }
            if self._clock_timer is not None:
                self._clock_timer.stop()
                self._clock_timer = None
            self._draw_study()
            text = self.query_one("#search-result", Static).render()
            self.seqlab.log_line(f"Search {event.status}: {text}")
        self.seqlab.refresh_bindings()
        return True

    def _schedule_draw(self) -> None:
        """Trial epochs stream in: the table follows a few times a second."""
        if time.monotonic() - self._drawn >= DRAW_INTERVAL:
            self._draw_study()
        elif self._draw_timer is None:
            self._draw_timer = self.set_timer(DRAW_INTERVAL, self._trailing_draw)

    def _trailing_draw(self) -> None:
        self._draw_timer = None
        self._draw_study()

    def _draw_heading(self) -> None:
        width = self.query_one("#search-right").size.width or self.app.size.width
        text = TRIALS_HEADING if len(TRIALS_HEADING) <= width else TRIALS_HEADING_SHORT
        self.query_one("#trials-heading", Static).update(Text(text))

    def _draw_study(self) -> None:
        self._drawn = time.monotonic()
        study = self.study
        table = self.query_one("#search-trials", DataTable)
        table.display = study is not None
        self.query_one("#trials-heading").display = study is not None
        self._draw_status()
        self._draw_result()
        if study is None:
            return
        self._draw_heading()
        columns = ("mark", "trial", *study.paths, "epoch", "holdout", "val", "status")
        # the cursor stays on the best trial, or on the trial the user moved it to
        current = None if self._follow_best else self._selected_trial()
        if columns != self._trial_columns:
            table.clear(columns=True)
            titles = {
                "mark": " ",
                "trial": "#",
                "epoch": "epoch",
                "holdout": "holdout MAE",
                "val": "val MAE",
                "status": "status",
            }
            for key in columns:
                table.add_column(titles.get(key) or short_name(key), key=key)
            self._trial_columns = columns
        else:
            table.clear()
        top = study.best()
        rows = ranked(list(study.trials.values()))
        for t in rows:
            is_best = top is not None and t.trial == top.trial
            row_style = "bold green" if is_best else ""
            val = Text("–" if t.val_mae is None else f"{t.val_mae:.3f}", style=row_style)
            if t.val_mae is not None and t.naive_mae is not None and t.val_mae >= t.naive_mae:
                val.stylize("yellow")  # the test score is worse than the naive forecast's
            cells = [
                Text("best" if is_best else "", style="bold green"),
                Text(str(t.trial), style=row_style),
                *(Text(value_text(t.params.get(p)), style=row_style) for p in study.paths),
                Text(f"{t.epoch}/{t.total_epochs or '?'}", style=row_style),
                Text(
                    "–" if t.holdout_mae is None else f"{t.holdout_mae:.3f}",
                    style=row_style,
                ),
                val,
                Text(t.status, style=row_style or STATUS_STYLES.get(t.status, "")),
            ]
            table.add_row(*cells, key=str(t.trial))
        if rows:
            ids = [t.trial for t in rows]
            on = current or top
            table.move_cursor(row=ids.index(on.trial) if on is not None and on.trial in ids else 0)

    def _draw_status(self) -> None:
        line = self.query_one("#search-status", Static)
        study = self.study
        line.display = study is not None
        if study is None:
            return
        if study.started is None:
            if study.ended is not None:  # failed before it started
                line.update(Text(f"Search {study.ended.status}", style="bold red"))
                return
            line.update(Text("Starting the search in the engine process (Ray starts there)…"))
            return
        s = study.started
        if study.ended is None:
            parts = ["● searching", elapsed_text(clock() - study.started_at)]
        else:
            parts = [study.ended.status, elapsed_text(study.ended.seconds)]
        parts += [f"{study.done} of {study.total} trials ended", s.where, f"study {s.study_id}"]
        style = "bold red" if study.ended is not None and study.ended.status == "failed" else ""
        line.update(Text(shown(" · ".join(parts)), style=style))

    def _draw_result(self) -> None:
        line = self.query_one("#search-result", Static)
        study = self.study
        line.display = study is not None and (study.ended is not None or bool(study.trials))
        if study is None:
            return
        ended = study.ended
        text = Text()
        if ended is not None and ended.status == "failed":
            text.append(
                f"The search failed: {shown(ended.reason or 'see the log (F2)')}\n", "bold red"
            )
        top = study.best()
        if top is None:
            if ended is not None:
                text.append("No trial ran to its end, so there is no best trial.", "yellow")
            else:
                text.append("No trial has ended yet.")
            line.update(text)
            return
        lead = "Best trial" if ended is not None and ended.status == "finished" else "Best so far"
        params = ", ".join(f"{short_name(p)} {value_text(top.params.get(p))}" for p in study.paths)
        holdout = "–" if top.holdout_mae is None else f"{top.holdout_mae:.3f}"
        text.append(f"{lead}: trial {top.trial} ({params}), holdout MAE {holdout} · ")
        said, style = verdict(top)
        text.append(said, style)
        if ended is not None and top.run_id:
            text.append(" · o opens its run, l loads it")
        line.update(text)

    # --- a trial's run -------------------------------------------------------------------------

    def _selected_trial(self) -> TrialUpdate | None:
        study = self.study
        if study is None or not study.trials:
            return None
        table = self.query_one("#search-trials", DataTable)
        if not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return study.trials.get(int(key)) if key is not None else None

    @on(DataTable.RowSelected, "#search-trials")
    def _trial_selected(self) -> None:
        self.action_open_trial()

    @on(DataTable.RowHighlighted, "#search-trials")
    def _trial_highlighted(self) -> None:
        self.seqlab.refresh_bindings()

    def on_key(self, event: events.Key) -> None:
        """A cursor the user moves in the trials table stays on its trial as they re-rank."""
        if event.key in MOVE_KEYS and self.screen.focused is self.query_one("#search-trials"):
            self._follow_best = False

    def action_open_trial(self) -> None:
        trial = self._selected_trial()
        if trial is None or not trial.run_id:
            self.say("No trial's run to open yet.", error=True)
            return
        if not self.seqlab.open_run(trial.run_id):
            root = self.seqlab.store.root
            self.say(f"Trial {trial.trial}'s run {trial.run_id} is not in {root}.", error=True)

    def action_load_trial(self) -> None:
        trial = self._selected_trial()
        if trial is None or not trial.run_id:
            self.say("No trial's run to load yet.", error=True)
            return
        store = self.seqlab.store
        try:
            exp = store.experiment(store.find(trial.run_id).path)
        except SeqlabError as exc:
            self.say(f"Cannot load trial {trial.trial}'s experiment: {exc}", error=True)
            return
        source = f"trial {trial.trial} (run {trial.run_id})"

        def loaded(yes: bool) -> None:
            if yes:
                self.say(f"Loaded {source}'s experiment into the panes · ctrl+t trains it again")

        self.seqlab.load_or_ask(exp, source, loaded)

    def say(self, text: str, error: bool = False) -> None:
        """A line under the fields (what an action did, or why it did nothing), also logged."""
        line = self.query_one("#search-message", Static)
        line.update(Text(shown(text), style="bold red" if error else "bold"))
        line.display = True
        self.seqlab.log_line(text)

    @classmethod
    def help_rows(cls) -> list[tuple[str, str]]:
        return binding_rows(cls.BINDINGS) + [("enter", "Fields: edit the domain · trials: open")]
