"""What the four panes share: access to the experiment in force and a place to report problems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import events
from textual.containers import Container
from textual.widget import Widget

from engine.specs import Experiment

if TYPE_CHECKING:
    from engine.lint import Lint
    from tui.app import SeqlabApp


class Pane(Container):
    """One of the app's panes. ``problems`` counts its fields that hold a value not in force."""

    TITLE = ""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, classes="pane")
        self.problems = 0

    @property
    def seqlab(self) -> SeqlabApp:
        return self.app  # type: ignore[return-value]

    @property
    def experiment(self) -> Experiment:
        return self.seqlab.experiment

    def home(self) -> Widget | None:
        """The widget that takes focus when the pane is entered or a field is left with escape."""
        chain = [w for w in self.screen.focus_chain if self in w.ancestors]
        return chain[0] if chain else None

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        """A field left: what is typed when it is entered again is a new undo step."""
        self.seqlab.history.end_group()

    def set_problems(self, count: int) -> None:
        if count != self.problems:
            self.problems = count
            self.seqlab.refresh_status()

    def show_experiment(self, experiment: Experiment) -> None:
        """Called whenever the experiment in force changes (by this pane or any other)."""

    def show_lints(self, lints: Sequence[Lint]) -> None:
        """Called with the experiment's lints (``engine.lint``) whenever they change."""
