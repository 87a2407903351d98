"""Errors a user can act on.

Every error that can reach a person carries a message that names the field (or file), the value and
what is allowed, so the CLI and the TUI can show it as one line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class SeqlabError(Exception):
    """Base for every error the engine reports to a user; ``str(err)`` is the message to show."""


@dataclass(frozen=True)
class FieldProblem:
    """One bad value: its key path (e.g. ``model.layers[2].units``), the value, what is allowed."""

    path: str
    value: object
    allowed: str

    def __str__(self) -> str:
        return f"{self.path} = {self.value!r}: {self.allowed}"


class ConfigError(SeqlabError):
    """An experiment (file, preset or edited field) holds one or more bad values."""

    def __init__(self, problems: list[FieldProblem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            text = f"{where}{self.problems[0]}"
        else:
            text = f"{where}{len(self.problems)} problems: " + "; ".join(map(str, self.problems))
        super().__init__(text)


class DataError(SeqlabError):
    """A series could not be read or is unusable (missing file, bad cell, too short, ...).

    ``field`` is the key path of the series field to change (e.g. ``series.column``), as a
    FieldProblem carries its path, so a form marks that field without reading the message.
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class EditError(SeqlabError):
    """A layer-stack edit that does not apply to the chosen layer (return_sequences on a Dense)."""
