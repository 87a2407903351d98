"""The seqlab terminal app: four panes over one experiment, runs in a separate engine.

The app holds the experiment in force (the last one whose every field was valid), the state of the
engine (TensorFlow loading / ready) and of the live run. Panes edit the experiment and call
``commit``; the backend reports only through ``EngineState`` and ``RunEvent`` messages, and the
handlers here are the only code that turns engine events into screen updates. This module imports
no TensorFlow, directly or through ``engine.training``: the engine process does.
"""

from __future__ import annotations

import asyncio
import gc
import re
import shlex
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.markup import escape
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.events import ScreenResume
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer, Input, Static

from engine.errors import DataError, SeqlabError
from engine.presets import PRESETS, as_edited
from engine.runstore import RunStore
from engine.specs import Experiment
from tui.backend import Backend, EngineState, EngineStateName, ForecastResult, RunEvent
from tui.form import EditHistory, Step, changes, said
from tui.numbers import fmt_number, ladder_text, shown, worse_than
from tui.pane import Pane
from tui.series_pane import SeriesPane

if TYPE_CHECKING:
    from engine.events import RunKind, SearchEvent
    from engine.lint import Lint
    from engine.series import Series
    from tui.search_pane import SearchPane
    from tui.training_pane import TrainingPane

# The hidden panes' modules (and what they import) load after the first frame, with the panes
# themselves; so their titles are spelled here rather than read from their classes.
PANES = {
    "series": SeriesPane.TITLE,
    "model": "Model",
    "training": "Training",
    "runs": "Runs",
    "search": "Search",
}
MOVES = {f"show_pane('{name}')" for name in PANES} | {"leave_field"}  # F1 lists them in one row
STATUS_INTERVAL = 0.5  # seconds between top-bar updates while epochs stream in
QUIT_GRACE = 1.5  # seconds a live run gets to stop and save when the app quits
PALETTE_KEY_WIDTH = 13  # the footer's palette key, docked at its right, and its margin


def _breakpoint(size: int, breakpoints: list[tuple[int, str]]) -> str:
    """The class of the largest breakpoint ``size`` reaches (as Textual's Screen picks it)."""
    return max((b for b in breakpoints if size >= b[0]), default=breakpoints[0])[1]


class MainScreen(Screen[None]):
    """The app's own screen; its first resume does not style every widget a second time.

    Textual resumes the default screen just after its widgets were styled as they mounted and asks
    it to style them all again, a large part of the first frame's work. Nothing can have
    changed in between (the breakpoint classes are set before compose, a change of class or focus
    restyles what it touches), so the first resume skips it; later resumes (back from a dialog)
    still do it.
    """

    _resumed = False

    def on_screen_resume(self, event: ScreenResume) -> None:  # runs before Screen's own handler
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    def on_mount(self) -> None:
        """Textual's frame timer for this screen, made not to skip ticks (set once here).

        The timer ticks at most every 1/60 s, paused while nothing is to draw. After a frame
        longer than what was left of its period, Textual's interval skips to the period after the
        next, so a key pressed just after a slow frame (a streamed chart) waited up to 33 ms for
        its own frame with the app otherwise idle. Without skipping, the first change after a
        slow frame is drawn at once; streamed updates are spaced by the panes themselves
        (``UPDATE_INTERVAL``, ``Chart.show``), not by this timer."""
        self._update_timer._skip = False


@dataclass
class LiveRun:
    """The run the app follows: its token, and how far it has got."""

    token: int
    kind: RunKind
    run_id: str = ""
    epoch: int = 0
    total: int = 0


class AppFooter(Footer):
    """The footer with the app's keys first, and only the keys that fit.

    Textual's footer lists the focused widget's keys before the app's; at 80 columns that pushed
    the run keys (train, sweep, stop) off the screen. Keys go by importance: the run keys, then
    the keys the current pane names in its ``FOOTER_FIRST`` (the training pane's chart keys, the
    only way to reach its other charts at 80 columns), then the app's other keys, then the rest.
    Keys past the width would run under the palette key docked at the right and garble it; they
    are left out (F1 lists every key).
    """

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        app_actions = [b.action for b in SeqlabApp.BINDINGS if isinstance(b, Binding)]
        runs = app_actions[: app_actions.index("use_lr") + 1]
        switcher = next(iter(self.app.query("#panes").results(ContentSwitcher)), None)
        shown_id = switcher.current if switcher is not None else None
        pane = self.app.query(f"#{shown_id}").first() if shown_id else None
        first = list(getattr(pane, "FOOTER_FIRST", ()))
        order = runs + first + [a for a in app_actions if a not in runs]

        def rank(widget: object) -> int:
            action = getattr(widget, "action", None)
            return order.index(action) if action in order else len(order)

        room, shown = self.app.size.width - PALETTE_KEY_WIDTH, []
        for widget in sorted(keys, key=rank):
            key = getattr(widget, "key_display", None)  # a FooterKey (not exported by Textual)
            if isinstance(key, str) and not widget.has_class("-command-palette"):
                description = getattr(widget, "description", "")
                # the key, a space and its description, then a gap (compact)
                width = cell_len(f"{key} {description}" if description else key) + 1
                if width - 1 > room:  # the last key's gap may lie under the palette
                    continue
                room -= width
            shown.append(widget)
        return shown

    _composed_width: int | None = None

    async def on_resize(self) -> None:
        """A wider or narrower screen has room for other keys."""
        if self.size.width != self._composed_width:
            self._composed_width = self.size.width
            await self.recompose()


def result_variants(metrics: dict[str, float]) -> tuple[str, ...]:
    """A finished run's result for the top bar (markup), longest first: the whole ladder, then
    without MASE, then the MAE alone; each says when a baseline did better."""
    worse = worse_than(metrics)
    verdict = f" · [$text-warning]worse than {' and '.join(worse)}[/]" if worse else ""
    if "val_mae" not in metrics:
        return ("finished",)
    no_mase = {k: v for k, v in metrics.items() if k != "val_mase"}
    return (
        ladder_text(metrics) + verdict,
        ladder_text(no_mase) + verdict,
        f"MAE {metrics['val_mae']:.2f}" + verdict,
    )


class TopBar(Horizontal):
    """One line: the pane tabs (digits switch) and the engine/run state."""

    def compose(self) -> ComposeResult:
        yield Static(id="tabs")
        yield Static(id="state")


PaletteCommand = tuple[str, str, Callable[[], object]]  # title, help, what it runs


class SeqlabCommands(Provider):
    """The app's actions in the command palette (ctrl+p), beside Textual's own.

    Each is titled as F1 lists it, with its key; those that cannot run now (stop with no live run,
    fix with no problem) are left out, and so are quit (Textual offers it) and leaving a field.
    """

    def commands(self) -> Iterator[PaletteCommand]:
        """The app's keys, then the current pane's, as they stand now."""
        app = self.app
        assert isinstance(app, SeqlabApp)
        yield "Keys", "Show every key of the app (f1)", app.action_help
        for binding in app.BINDINGS:
            if not isinstance(binding, Binding) or binding.action in ("quit", "leave_field"):
                continue
            if app.check_action(binding.action.split("(")[0], ()) is not True:
                continue
            title = binding.tooltip or binding.description
            yield (
                f"{title} ({binding.key.split(',')[0]})",
                binding.description,
                partial(app.run_action, binding.action),
            )
        pane = app.current_pane
        extra = getattr(pane, "palette_commands", None)  # e.g. the runs pane's export menu
        if extra is not None:
            yield from extra()
        search = app.search_view
        # a search starts from any pane, too
        if search is not None and pane is not search and search.check_action("start", ()):
            yield "Start the search (5, ctrl+g)", "Search pane", search.start_shown
        for binding in getattr(type(pane), "BINDINGS", []):
            if isinstance(binding, Binding):
                from tui.screens import key_label

                keys = key_label(binding.key.split(",")[0])
                yield (
                    f"{binding.tooltip or binding.description} ({keys})",
                    f"{pane.TITLE} pane",
                    partial(pane.run_action, binding.action),
                )

    async def discover(self) -> Hits:
        """Every command, by title, for the palette before anything is typed."""
        for title, help_text, callback in sorted(self.commands(), key=itemgetter(0)):
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """The commands whose title fuzzily matches ``query``."""
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class SeqlabApp(App[None]):
    """Series, model builder, training and runs panes; keyboard first."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "seqlab"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    COMMANDS = App.COMMANDS | {SeqlabCommands}
    BINDINGS = [
        Binding(
            "ctrl+t",
            "train",
            "Train",
            priority=True,
            tooltip="Train the experiment in force",
            id="app.train",
        ),
        Binding(
            "ctrl+r",
            "sweep",
            "Sweep",
            priority=True,
            tooltip="Run the learning-rate sweep",
            id="app.sweep",
        ),
        Binding(
            "ctrl+x",
            "stop",
            "Stop",
            priority=True,
            tooltip="Stop the live run (within one batch)",
            id="app.stop",
        ),
        Binding(
            "ctrl+f",
            "fix",
            "Fix",
            priority=True,
            tooltip="Apply the fix of the model's first problem",
            id="app.fix",
        ),
        Binding(
            "ctrl+l",
            "use_lr",
            "Use LR",
            priority=True,
            tooltip="Train with a rate the sweep suggests",
            id="app.use_lr",
        ),
        Binding("f1", "help", "Keys", priority=True, tooltip="Show every key", id="app.help"),
        Binding(
            "f2",
            "tf_log",
            "TF log",
            priority=True,
            tooltip="Show TensorFlow's log",
            show=False,
            id="app.tf_log",
        ),
        Binding(
            "f3",
            "lecture",
            "Lecture",
            priority=True,
            tooltip="Lecture view: the model unrolled as the week 3 slides draw it",
            show=False,
            id="app.lecture",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            priority=True,
            tooltip="Quit (a live run is stopped and saved)",
            id="app.quit",
        ),
        Binding(
            "ctrl+s",
            "save_experiment",
            "Save",
            priority=True,
            tooltip="Save the experiment as a TOML file (asks where)",
            id="app.save",
        ),
        Binding(
            "ctrl+z",
            "undo",
            "Undo",
            priority=True,
            show=False,
            tooltip="Undo the last edit of the experiment (any pane)",
            id="app.undo",
        ),
        Binding(
            "ctrl+y",
            "redo",
            "Redo",
            priority=True,
            show=False,
            tooltip="Redo the edit undone last",
            id="app.redo",
        ),
        Binding(
            "1",
            "show_pane('series')",
            "Series",
            show=False,
            tooltip="Series pane",
            id="app.show_series",
        ),
        Binding(
            "2",
            "show_pane('model')",
            "Model",
            show=False,
            tooltip="Model builder pane",
            id="app.show_model",
        ),
        Binding(
            "3",
            "show_pane('training')",
            "Training",
            show=False,
            tooltip="Training pane",
            id="app.show_training",
        ),
        Binding(
            "4", "show_pane('runs')", "Runs", show=False, tooltip="Runs view", id="app.show_runs"
        ),
        Binding(
            "5",
            "show_pane('search')",
            "Search",
            show=False,
            tooltip="Hyperparameter search view (Ray Tune)",
            id="app.show_search",
        ),
        Binding(
            "escape",
            "leave_field",
            "Leave field",
            show=False,
            tooltip="Leave a text field",
            id="app.leave_field",
        ),
    ]

    def __init__(
        self,
        experiment: Experiment,
        backend: Backend,
        store: RunStore | None = None,
        *,
        blink: bool = True,
        source: Path | None = None,
    ) -> None:
        """``source`` is the experiment file the app was opened on (ctrl+s offers it)."""
        super().__init__()
        self._experiment = experiment
        self.history = EditHistory()  # ctrl+z / ctrl+y over every pane's edits
        self._saved = experiment  # as last loaded or saved: edits since are "unsaved"
        self.source: Path | None = None if source is None else Path(source).absolute()
        self.backend = backend
        self.store = store or RunStore()
        self.blink = blink
        self.engine_state: EngineStateName = "loading"
        self.engine_seconds: float | None = None
        self.live: LiveRun | None = None
        self.last_result = ""
        self._result_variants: tuple[str, ...] = ()  # the last result, shorter and shorter
        self.lints: list[Lint] = []
        self._series: tuple[object, Series | None] | None = None  # (key, series) for the lints
        self._token = 0
        self._quitting = False
        self._mounted = False
        self._backend_started = False
        self._panes_ready = False
        self._deferred: list[Callable[[], None]] = []
        self._early_log: list[str] = []
        self._status_drawn = 0.0
        self._status_timer: Timer | None = None  # a top-bar update after a burst of events
        self._tabs_markup = ""
        if not blink:
            self.animation_level = "none"

    # --- layout ----------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        # The screen's breakpoint classes, set now as its first resize would set them: every
        # widget is then styled once for the first frame instead of once more on that resize.
        width, height = self.size
        self.screen.update_classes(
            {
                **{name: False for _, name in self.HORIZONTAL_BREAKPOINTS},
                **{name: False for _, name in self.VERTICAL_BREAKPOINTS},
                _breakpoint(width, self.HORIZONTAL_BREAKPOINTS): True,
                _breakpoint(height, self.VERTICAL_BREAKPOINTS): True,
            },
            update=False,
        )
        yield TopBar(id="topbar")
        with ContentSwitcher(initial="series", id="panes"):
            yield SeriesPane()  # the other panes are mounted after the first frame
        yield AppFooter(compact=True)

    def on_mount(self) -> None:
        self._mounted = True
        if not self.blink:
            for field in self.query(Input):
                field.cursor_blink = False
        self.refresh_status()
        home = self.current_pane.home()
        if home is not None:
            home.focus()
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        """Mounts the hidden panes, then starts the engine: the first frame is not kept waiting."""
        from tui.model_pane import ModelPane
        from tui.runs_pane import RunsPane
        from tui.search_pane import SearchPane
        from tui.training_pane import TrainingPane

        switcher = self.query_one("#panes", ContentSwitcher)
        for pane in (ModelPane(), TrainingPane(), RunsPane(self.store), SearchPane()):
            if self._quitting or not switcher.is_attached:
                return  # quit before the first frame was even done
            await switcher.add_content(pane)
        self._panes_ready = True
        self._refresh_lints()
        for line in self._early_log:
            self.training.write_log(line)
        self._early_log.clear()
        self._ensure_backend()
        for deferred in self._deferred:
            deferred()
        self._deferred.clear()
        self.refresh_status()
        self.refresh_bindings()
        if not self.is_headless:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                # The terminal went away (SSH drop) or we were asked to end: save the run, exit.
                loop.add_signal_handler(sig, lambda: self.call_later(self.action_quit))
        if not gc.isenabled():  # paused for the start-up by seqlab's entry point (tui.entry)
            gc.freeze()  # what exists now lives as long as the app: later passes skip it
            gc.enable()

    @property
    def panes_ready(self) -> bool:
        """Whether every pane is mounted (the hidden ones are mounted after the first frame)."""
        return self._panes_ready

    def _deferred_until_ready(self, action: Callable[[], None]) -> bool:
        """True (and ``action`` queued) while the hidden panes are still being mounted."""
        if self._panes_ready:
            return False
        self._deferred.append(action)
        return True

    def _ensure_backend(self) -> None:
        """Starts the engine (TensorFlow loads in its own process) once, after the first frame."""
        if not self._backend_started:
            self._backend_started = True
            self.backend.start(self)

    @property
    def experiment(self) -> Experiment:
        return self._experiment

    @property
    def panes(self) -> list[Pane]:
        # a walk by type, not a CSS query: the top bar asks several times a second during a run
        return list(self.walk_children(Pane))

    @property
    def current_pane(self) -> Pane:
        switcher = self.query_one("#panes", ContentSwitcher)
        return self.query_one(f"#{switcher.current}", Pane)

    def pane(self, name: str) -> Pane:
        return self.query_one(f"#{name}", Pane)

    @property
    def training(self) -> TrainingPane:
        from tui.training_pane import TrainingPane

        return self.query_one("#training", TrainingPane)

    @property
    def search_view(self) -> SearchPane | None:
        """The Search view once mounted (found once: the top bar and keys ask during runs)."""
        view: SearchPane | None = getattr(self, "_search_view", None)
        if view is None and self._panes_ready:
            from tui.search_pane import SearchPane

            view = next(iter(self.query("#search").results(SearchPane)), None)
            self._search_view = view
        return view

    @property
    def search_running(self) -> bool:
        """Whether the Search view's search is running (the engine runs one thing at a time)."""
        view = self.search_view
        return view is not None and view.running

    def _search_status(self) -> str | None:
        """The top bar's run part while a search runs ("● search 3/10 trials")."""
        view = self.search_view
        return view.top_bar_text() if view is not None else None

    def new_token(self) -> int:
        """A token no run or search of this session has had (its events carry it)."""
        self._token += 1
        return self._token

    def open_run(self, run_id: str) -> bool:
        """Shows the saved run ``run_id`` opened in the Runs pane (a search's trial); False when
        the runs folder has no such run."""
        from tui.runs_pane import RunsPane

        runs = self.pane("runs")
        assert isinstance(runs, RunsPane)
        if not runs.open_run(run_id):
            return False
        self.action_show_pane("runs")
        return True

    # --- the experiment --------------------------------------------------------------------------

    def commit(self, experiment: Experiment) -> None:
        """Puts an experiment in force (called by panes when every field they hold is valid); an
        edited preset is renamed (``as_edited``)."""
        experiment = as_edited(experiment)
        if experiment == self._experiment:
            return
        # Typing in one field is one undo step: its edits share the field and what they change.
        focused = self.focused
        paths = frozenset(c.split(" ", 1)[0] for c in changes(self._experiment, experiment))
        self.history.record(
            self._experiment, group=(focused, paths) if isinstance(focused, Input) else None
        )
        self._show(experiment)

    def _show(self, experiment: Experiment) -> None:
        """Puts ``experiment`` in force and shows it in every pane."""
        self._experiment = experiment
        for pane in self.panes:
            pane.show_experiment(experiment)
        self._refresh_lints()
        self.refresh_status()
        self.refresh_bindings()

    @property
    def unsaved(self) -> bool:
        """Whether there are edits since the last load or ctrl+s save (a field that does not hold
        yet is one too: a load would clear it)."""
        return self._experiment != self._saved or any(p.problems for p in self.panes)

    def load_experiment(self, experiment: Experiment, source: str) -> None:
        """Replaces the whole experiment (preset, saved run); marks on fields are cleared. It
        came from no file of the user's, so ctrl+s no longer offers the one it was opened on.
        It is one undo step. A user's load goes through ``load_or_ask``, which asks first."""
        if experiment != self._experiment:
            self.history.record(self._experiment, what=f"loading {source}", saved=self._saved)
        self._saved = experiment
        self.source = None
        self._show(experiment)
        self.log_line(f"Loaded {source}: {experiment.name}.")

    def load_or_ask(
        self, experiment: Experiment, source: str, done: Callable[[bool], None] | None = None
    ) -> bool:
        """Loads ``experiment`` (a preset, a run's, a file's), first asking when that replaces
        unsaved edits; ``done`` is told whether it was loaded, and so is the return value when it
        was loaded at once (False: the question is open, or nothing needed loading)."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.load_experiment(experiment, source)
            else:
                self._load_declined()
                self.log_line(f"Kept the edits: {source} was not loaded.")
            if done is not None:
                done(bool(yes))

        if experiment == self._experiment or not self.unsaved:
            answered(True)
            return True
        from tui.screens import ConfirmScreen

        edited = changes(self._saved, self._experiment)
        invalid = [PANES[p.id or ""] for p in self.panes if p.problems]
        what = said(edited) if edited else ""
        if invalid:
            what += ("; " if what else "") + f"fields not in force in {', '.join(invalid)}"
        self.push_screen(
            ConfirmScreen(
                f"Load {source} over the unsaved edits?\n{what}",
                f"Load {source} (ctrl+z brings the edits back)",
                "Keep the edits (ctrl+s saves them)",
            ),
            answered,
        )
        return False

    def _load_declined(self) -> None:
        """The model pane's preset picker shows the preset that was declined: it shows the
        experiment in force again, as the pane does."""
        from textual.widgets import Select

        exp = self._experiment
        for select in self.query("#preset").results(Select):
            with select.prevent(Select.Changed):
                if exp.name in PRESETS and exp == PRESETS[exp.name]:
                    select.value = exp.name
                else:
                    select.clear()

    def action_undo(self) -> None:
        step = self.history.undo(self._experiment, self._saved)
        self._step_back_or_forth(step, "Undid", "Nothing to undo.")

    def action_redo(self) -> None:
        step = self.history.redo(self._experiment, self._saved)
        self._step_back_or_forth(step, "Redid", "Nothing to redo.")

    def _step_back_or_forth(self, step: Step | None, verb: str, nothing: str) -> None:
        """Puts an undo or redo step in force and says what it changed, field by field."""
        if step is None:
            self.notify(nothing, timeout=2)
            return
        before = self._experiment
        if step.saved is not None:  # a load undone or redone: edits count from before it again
            self._saved = step.saved
        self._show(step.experiment)
        found = changes(before, step.experiment)
        told = f"{step.what} (now {step.experiment.name})" if step.what else said(found, 8)
        self.log_line(f"{verb}: {told}")
        if self.current_pane.id != "training":  # elsewhere the log is out of sight
            short = f"{step.what} (now {step.experiment.name})" if step.what else said(found)
            self.notify(short, title=verb, timeout=3, markup=False)

    def _refresh_lints(self) -> None:
        """Lints the experiment in force and shows them in the panes when they changed; the series
        is read again only when it changed (the data-range lint needs its values)."""
        if not self._panes_ready:
            return
        from engine.lint import lint
        from engine.series import load_series

        exp = self._experiment
        key = (exp.series, exp.window.window)
        if self._series is None or self._series[0] != key:
            try:
                series = load_series(exp.series, exp.window.window)
            except DataError:
                series = None
            self._series = (key, series)
        lints = lint(exp, self._series[1])
        if lints != self.lints:
            self.lints = lints
            for pane in self.panes:
                pane.show_lints(lints)

    def log_line(self, text: str) -> None:
        # names and error messages quote files: their control characters are shown escaped
        text = "\n".join(shown(line) for line in text.split("\n"))
        if self._panes_ready:
            self.training.write_log(escape(text))
        else:
            self._early_log.append(escape(text))

    # --- status ----------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        if not self._mounted:
            return
        self._status_drawn = time.monotonic()
        try:
            switcher = self.query_one("#panes", ContentSwitcher)
        except NoMatches:  # the trailing refresh's timer fired while the app shuts down
            return
        tabs = []
        problems = {p.id: p.problems for p in self.panes}
        for i, (name, title) in enumerate(PANES.items(), start=1):
            flag = "!" if problems.get(name) else ""
            label = f" {i} {title}{flag} "
            style = "reverse b" if switcher.current == name else ("$error" if flag else "")
            text = f"[{style}]{label}[/]" if style else label
            tabs.append(f"[@click=app.show_pane('{name}')]{text}[/]")
        markup = "".join(tabs)
        if markup != self._tabs_markup:  # the tabs are sized to their text: a change relays out
            self._tabs_markup = markup
            self.query_one("#tabs", Static).update(markup)
        # one line of a fixed width: no layout pass (several a second while epochs stream in)
        self.query_one("#state", Static).update(self._state_text(), layout=False)

    def _trailing_status(self) -> None:
        self._status_timer = None
        self.refresh_status()

    def _state_text(self) -> str:
        """The top bar's right part, shortened to fit beside the tabs: the experiment's name goes
        first, then the result's baselines; a result worse than a baseline always says so."""
        if self.engine_state == "ready":
            engine = f"TF ready {self.engine_seconds:.1f}s" if self.engine_seconds else "TF ready"
        elif self.engine_state == "loading":
            engine = "TF loading…"
        else:
            engine = f"[$error]TF {self.engine_state} (F2 log)[/]"
        search = self._search_status() if self._panes_ready else None
        if self.live:
            runs: tuple[str, ...] = (
                f"● {self.live.kind} {self.live.epoch}/{self.live.total or '?'}",
            )
        elif search:
            runs = (search,)
        elif self.last_result and self._panes_ready and not self.training.results_apply:
            runs = ("edited since the last run", "idle")  # its result is another experiment's
        else:
            runs = self._result_variants or (self.last_result or "idle",)
        invalid = sum(p.problems for p in self.panes)
        bad = f"[$text-warning]{invalid} invalid ·[/] " if invalid else ""
        name = f"{escape(shown(self._experiment.name))} · "
        variants = [f"{bad}{name}{engine} · {runs[0]} "]
        variants += [f"{bad}{engine} · {run} " for run in runs]
        variants.append(f"{bad}{runs[-1]} ")
        room = self.size.width - Content.from_markup(self._tabs_markup).cell_length
        for text in variants:
            if Content.from_markup(text).cell_length <= room:
                return text
        return variants[-1]

    # --- engine messages -------------------------------------------------------------------------

    def on_engine_state(self, message: EngineState) -> None:
        self.engine_state = message.state
        self.engine_seconds = message.seconds
        if message.state == "ready":
            self.log_line(f"TensorFlow ready in {message.seconds:.1f}s.")
            live = self.live
            if live is not None and not live.run_id and self._panes_ready:  # sent, not started
                self.training.show_waiting(live.kind, engine_ready=True)
        elif message.state in ("failed", "exited", "error"):
            self.log_line(f"Engine {message.state}: {message.detail}")
            self.notify(message.detail, title="Training engine", severity="error", markup=False)
        self.refresh_status()

    def on_run_event(self, message: RunEvent) -> None:
        # Imported here, not at the top: the events' dataclasses take a good part of the
        # start-up's own imports, and no event arrives before the first frame starts the engine.
        from engine.events import (
            BatchProgress,
            EpochEnded,
            RunFailed,
            RunFinished,
            RunStarted,
            RunStopped,
            SearchEnded,
            SearchStarted,
            SweepPoint,
            TrialUpdate,
        )

        event = message.event
        if isinstance(event, (SearchStarted, TrialUpdate, SearchEnded)):
            self._search_event(message.token, event)  # the Search view's, by its own token
            return
        live = self.live
        if live is None or message.token != live.token:
            return  # an event of a run the app no longer follows
        if isinstance(event, RunStarted):
            live.run_id, live.total = event.run_id, event.total_epochs
        elif isinstance(event, (EpochEnded, SweepPoint)):
            live.epoch, live.total = event.epoch, event.total_epochs
        self.training.show_event(event, live.kind)
        if isinstance(event, (BatchProgress, EpochEnded, SweepPoint)):
            if time.monotonic() - self._status_drawn >= STATUS_INTERVAL:
                self.refresh_status()  # streaming events: the top bar follows a few times a second
            elif self._status_timer is None:  # the last of a burst shows too, a moment later
                self._status_timer = self.set_timer(STATUS_INTERVAL, self._trailing_status)
            return
        if isinstance(event, (RunFinished, RunStopped, RunFailed)):
            self.live = None
            self._result_variants = ()
            if isinstance(event, RunFinished) and event.kind == "train":
                self._result_variants = result_variants(event.metrics)
                self.last_result = self._result_variants[0]
            elif isinstance(event, RunFinished):
                self.last_result = "sweep done"
            elif isinstance(event, RunStopped):
                self.last_result = "stopped"
            else:
                self.last_result = "failed"
                self.notify(
                    event.message, title=f"{event.kind} failed", severity="error", markup=False
                )
            from tui.runs_pane import RunsPane

            runs = self.pane("runs")
            assert isinstance(runs, RunsPane)
            runs.reload()
            self.refresh_bindings()
        self.refresh_status()

    def _search_event(self, token: int, event: SearchEvent) -> None:
        """A search's event goes to the Search view; its end lists its trials' runs."""
        from engine.events import SearchEnded, TrialUpdate  # as in on_run_event

        search = self.search_view
        if search is None or not search.show_event(token, event):
            return  # a search the view no longer follows
        if isinstance(event, SearchEnded):
            from tui.runs_pane import RunsPane

            runs = self.pane("runs")
            assert isinstance(runs, RunsPane)
            runs.reload()
            self.refresh_bindings()
        if not isinstance(event, TrialUpdate) or event.status != "running":
            self.refresh_status()

    # --- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Run keys grey out while a run is live; stop, fix and use-LR show only when they apply."""
        if not self._panes_ready:
            return action not in ("stop", "fix", "use_lr")
        if action in ("train", "sweep"):
            return None if self.live or self.search_running else True
        if action == "stop":
            return self.live is not None or self.search_running
        if action == "fix":
            from tui.model_pane import ModelPane

            model = self.pane("model")
            return isinstance(model, ModelPane) and model.can_fix()
        if action == "use_lr":
            return bool(self.training.suggestions) and self.live is None and not self.search_running
        if action == "leave_field":
            return len(self.screen_stack) == 1  # in a dialog, escape is the dialog's
        if action in ("undo", "redo"):
            # not under a dialog (a question about the experiment may be open); the palette
            # offers them only when there is something to undo or redo
            from textual.command import CommandPalette

            if isinstance(self.screen, CommandPalette):
                return self.history.can_undo if action == "undo" else self.history.can_redo
            return len(self.screen_stack) == 1
        return True

    def _start(self, kind: RunKind) -> None:
        if self._deferred_until_ready(lambda: self._start(kind)):
            return
        if self.live is not None:
            self.notify("A run is live: stop it first (ctrl+x).", severity="warning")
            return
        if self.search_running:  # the engine process runs one thing at a time
            self.notify("A search is running: stop it first (ctrl+x).", severity="warning")
            return
        exp = self._experiment
        from engine.shapes import infer_experiment

        report = infer_experiment(exp)
        if not report.ok:
            problem = report.problems[0]
            hint = " Press ctrl+f to apply the fix." if problem.fix else ""
            self.log_line(f"Cannot {kind}: {problem.message}{hint}")
            self.notify(
                problem.message + hint,
                title="The model cannot work",
                severity="error",
                markup=False,
            )
            self.action_show_pane("model")
            return
        invalid = [PANES[p.id or ""] for p in self.panes if p.problems]
        if invalid:
            self.log_line(
                f"Note: fields marked in {', '.join(invalid)} are not in force; "
                "this run uses their last valid values."
            )
        self._ensure_backend()
        self._token += 1
        total = exp.train.epochs if kind == "train" else exp.sweep.epochs  # known before it starts
        self.live = LiveRun(self._token, kind, total=total)
        self.training.begin(kind, exp, self.engine_state == "ready")
        if self.engine_state != "ready":
            self.log_line(f"The {kind} run starts once TensorFlow has loaded.")
        self.backend.run(kind, exp, str(self.store.root), self._token)
        self.action_show_pane("training")
        self.refresh_bindings()
        self.refresh_status()

    def action_train(self) -> None:
        self._start("train")

    def action_sweep(self) -> None:
        self._start("sweep")

    def action_stop(self) -> None:
        if self.live is None and self.search_running:
            self.log_line("Stopping the search: each running trial stops and is saved…")
            self.backend.stop()
            return
        if self.live is None:
            return
        self.log_line(f"Stopping the {self.live.kind} run…")
        self.backend.stop()

    def action_fix(self) -> None:
        from tui.model_pane import ModelPane

        model = self.pane("model")
        if isinstance(model, ModelPane) and model.apply_fix():
            self.action_show_pane("model")

    def action_use_lr(self) -> None:
        suggestions = self.training.suggestions
        if not suggestions:
            self.notify("Run a sweep first (ctrl+r).", severity="warning")
            return
        from engine.sweep import SUGGESTIONS  # numpy: loaded by now, as a sweep has run

        recommended = self.training.recommended
        choices = [
            (
                s.name,
                f"{s.name:<8} {fmt_number(suggestions[s.name]):>8}  "
                + ("recommended: " if s.name == recommended else "")
                + s.meaning,
            )
            for s in sorted(SUGGESTIONS, key=lambda s: s.name != recommended)
            if s.name in suggestions
        ]

        def picked(name: str | None) -> None:
            if name:
                self.apply_suggestion(name)

        from tui.screens import PickScreen

        self.push_screen(PickScreen("Train with which learning rate?", choices), picked)

    def apply_suggestion(self, name: str) -> None:
        """Sets train.learning_rate to the sweep's suggestion ``name`` and trains with it (what
        ctrl+l's dialog, "Train with which learning rate?", says it does)."""
        from engine.sweep import apply_suggestion  # numpy only

        # Three significant digits: the sweep cannot place a rate more finely than that.
        rate = float(f"{self.training.suggestions[name]:.3g}")
        self.history.end_group()  # a step of its own, even with the rate field focused
        try:
            self.commit(apply_suggestion(self._experiment, rate))
        except SeqlabError as exc:  # e.g. a rate above what training.learning_rate allows
            self.notify(str(exc), title="Cannot use this rate", severity="error", markup=False)
            return
        self.log_line(f"Learning rate set to {fmt_number(rate)} ({name}); training with it.")
        self._start("train")

    def ask_file(self, title: str, default: Path, write: Callable[[Path], None]) -> None:
        """Asks for a file to write (pre-filled with ``default``), then asks before replacing one
        that exists ("no" asks for the name again); ``write`` gets the absolute path and gives
        its own feedback. A folder, a missing folder or an empty name is told in the dialog."""
        from tui.screens import AskScreen, ConfirmScreen, file_problem, file_target, shown_path

        cwd = Path.cwd()

        def ask(value: str) -> None:
            self.push_screen(
                AskScreen(
                    title,
                    value,
                    lambda text: file_problem(text, cwd),
                    note=f"relative to {cwd} · enter writes · esc cancels",
                ),
                answered,
            )

        def answered(text: str | None) -> None:
            if text is None:
                return
            path = file_target(text, cwd)
            if not path.exists():
                write(path)
                return

            def confirmed(yes: bool | None) -> None:
                if yes:
                    write(path)
                else:
                    ask(text)

            self.push_screen(
                ConfirmScreen(
                    f"{path} exists. Overwrite it?",
                    "Overwrite it",
                    "Keep it and choose another name",
                ),
                confirmed,
            )

        ask(shown_path(default, cwd))

    def action_save_experiment(self) -> None:
        """ctrl+s: writes the experiment in force as TOML, where the user says."""
        if len(self.screen_stack) > 1:
            return  # a dialog is open: it has the keys
        exp = self._experiment
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", exp.name).strip("-.")[:60] or "experiment"
        default = self.source or Path.cwd() / f"{name}.toml"
        self.ask_file("Save the experiment as (TOML)", default, self.save_experiment)

    def save_experiment(self, path: Path) -> None:
        """Writes the experiment in force to ``path`` (atomically) and says where it went; a
        folder that refuses it is told in one line."""
        from engine import config
        from engine.runstore import atomic_write

        exp = self._experiment
        try:
            atomic_write(path, config.dumps(exp))
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            self.log_line(f"Cannot save the experiment to {path}: {reason}")
            self.notify(f"{path}: {reason}", title="Not saved", severity="error", markup=False)
            return
        self.source = path
        self._saved = exp
        invalid = [PANES[p.id or ""] for p in self.panes if p.problems]
        if invalid:
            self.log_line(
                f"Note: fields marked in {', '.join(invalid)} are not in force; "
                "the file has their last valid values."
            )
        self.log_line(
            f"Saved {exp.name} to {path} (open it again: seqlab {shlex.quote(str(path))})"
        )
        self.notify(str(path), title="Experiment saved", markup=False)

    def ask_forecast(self, run_dir: str, steps: int) -> None:
        """Asks how many steps to forecast past the end of the saved run's data, then asks the
        engine (the answer is a ForecastResult)."""
        from engine.specs import ForecastSpec, check_value
        from tui.screens import AskScreen

        def check(text: str) -> str | None:
            value: object = text.strip()
            for kind in (int, float):  # "2.5" is told it must be whole, not that it is text
                try:
                    value = kind(text.strip())
                    break
                except ValueError:
                    continue
            problem = check_value(ForecastSpec, "future", value, "forecast.future")
            return None if problem is None else str(problem)

        def answered(text: str | None) -> None:
            if text is None:
                return
            n = int(text.strip())
            self.log_line(f"Forecasting {n} steps past the end of the data…")
            self.backend.forecast(run_dir, n)

        self.push_screen(
            AskScreen(
                "Steps to forecast past the end of the data",
                str(steps),
                check,
                note="1 to 10,000 · enter forecasts · esc cancels",
            ),
            answered,
        )

    def on_forecast_result(self, message: ForecastResult) -> None:
        """The engine's answer to ``ask_forecast``: the panes showing that run show it."""
        if message.future is None:
            self.log_line(f"Forecast of {message.steps} steps failed: {message.message}")
            self.notify(message.message, title="Forecast failed", severity="error", markup=False)
            return
        from tui.runs_pane import RunsPane

        shown = self.training.show_future(message.run_dir, message.future)
        runs = self.pane("runs")
        if isinstance(runs, RunsPane):
            shown = runs.show_future(message.run_dir, message.future) or shown
        if not shown:
            self.log_line(f"Forecast {message.steps} steps for {message.run_dir}.")
        self.refresh_bindings()

    def action_help(self) -> None:
        from tui.model_pane import ModelPane
        from tui.runs_pane import RunsPane
        from tui.screens import HelpScreen, binding_rows
        from tui.training_pane import TrainingPane

        general = [
            ("tab / shift+tab", "Next / previous field of the pane (after the last: the first)"),
            ("1 2 3 4 5", "Series, Model, Training, Runs, Search (outside text fields)"),
            ("esc", "Leave a text field (so letter keys work)"),
            ("ctrl+p", "Command palette: every action by name"),
        ]
        groups = [
            (
                "Everywhere",
                binding_rows(
                    b for b in self.BINDINGS if isinstance(b, Binding) and b.action not in MOVES
                )
                + general,
            ),
            ("Series", SeriesPane.help_rows()),
            ("Model builder", binding_rows(ModelPane.BINDINGS)),
            ("Training charts", binding_rows(TrainingPane.BINDINGS)),
            ("Runs", RunsPane.help_rows()),
        ]
        from tui.search_pane import SearchPane

        groups.append(("Search (5)", SearchPane.help_rows()))
        from tui.lecture import LectureView

        groups.append(("Lecture view (f3)", binding_rows(LectureView.BINDINGS)))
        self.push_screen(HelpScreen(groups))

    def action_tf_log(self) -> None:
        from tui.screens import LogScreen

        self.push_screen(LogScreen(self.backend.log_path))

    def action_lecture(self) -> None:
        """f3: the lecture view takes the panes' place (it is a pane of this screen, so every
        commit redraws it); f3 again, or esc, closes it."""
        if len(self.screen_stack) > 1:
            return  # a dialog is open: it has the keys
        if self._deferred_until_ready(self.action_lecture):
            return
        from tui.lecture import LectureView

        if self.query(LectureView):
            self.close_lecture()
            return
        self.query_one("#panes", ContentSwitcher).display = False
        self.screen.mount(LectureView(), after="#panes")

    def close_lecture(self) -> None:
        """Closes the lecture view and gives the pane under it back its focus."""
        from tui.lecture import LectureView

        for view in self.query(LectureView):
            view.remove()
        self.query_one("#panes", ContentSwitcher).display = True
        self.call_after_refresh(self._focus_home)

    def _focus_home(self) -> None:
        home = self.current_pane.home()
        if home is not None:
            home.focus()

    def action_show_pane(self, name: str) -> None:
        if name != "series" and self._deferred_until_ready(lambda: self.action_show_pane(name)):
            return
        switcher = self.query_one("#panes", ContentSwitcher)
        if switcher.current != name:
            switcher.current = name
        home = self.pane(name).home()
        if home is not None:
            home.focus()
        self.refresh_status()

    def action_leave_field(self) -> None:
        if isinstance(self.focused, Input):
            home = self.current_pane.home()
            if home is not None:
                home.focus()

    def _cycle_focus(self, step: int) -> None:
        """Tab and shift+tab go round the current pane's fields, past the last to the first: a
        pane is left only on purpose (digits, the tabs), never by one tab too many."""
        if len(self.screen_stack) > 1:
            (self.screen.focus_next if step > 0 else self.screen.focus_previous)()
            return
        pane = self.current_pane
        chain = [w for w in self.screen.focus_chain if pane in w.ancestors]
        if not chain:
            return
        focused = self.focused
        if focused in chain:
            chain[(chain.index(focused) + step) % len(chain)].focus()
        else:
            chain[0 if step > 0 else -1].focus()

    def action_focus_next(self) -> None:
        self._cycle_focus(1)

    def action_focus_previous(self) -> None:
        self._cycle_focus(-1)

    async def action_quit(self) -> None:
        """Quits within about two seconds: a live run is stopped and saved first."""
        if self._quitting:
            self.exit()
            return
        self._quitting = True
        if self.live is not None:
            self.log_line("Quitting: stopping the run so it is saved…")
        await asyncio.to_thread(self.backend.close, QUIT_GRACE)
        self.exit()

    # --- command palette -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's "Keys" shows only the focused widget's keys; SeqlabCommands offers F1's list.
        return (c for c in super().get_system_commands(screen) if c.title != "Keys")
