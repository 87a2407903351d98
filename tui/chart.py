"""The app's chart widget: shows a ``tui.plotting.Figure`` in a textual-plotext plot.

``Chart`` rebuilds the whole plotext figure from its ``Figure`` on every render (see
``tui.plotting`` for why). Updates are coalesced to at most ``MAX_FPS`` renders a second, fewer
when a build is slow (``REPAINT_COST_FACTOR``), so that charts cannot starve a training run of CPU.
"""

from __future__ import annotations

import time
from typing import Any

from rich.align import Align
from rich.text import Text
from textual.app import RenderResult
from textual.timer import Timer
from textual_plotext import PlotextPlot

from tui.plotting import Figure, draw

MAX_FPS = 10.0
# A chart waits between repaints at least this many times as long as its last build took, so
# drawing takes at most ~5% of a core per chart however fast epochs come.
REPAINT_COST_FACTOR = 20.0


class Chart(PlotextPlot):
    """A chart widget that draws a ``Figure`` and redraws at most ``MAX_FPS`` times a second."""

    DEFAULT_CSS = """
    Chart {
        width: 1fr;
        height: 1fr;
        min-height: 5;
    }
    """

    def __init__(self, hint: str = "No data yet.", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._figure = Figure(hint=hint)
        self._rendered: tuple[Figure, tuple[object, ...], RenderResult] | None = None
        self._last_refresh = 0.0
        self._build_seconds = 0.0  # how long the last build took
        self._timer: Timer | None = None
        self.renders = 0  # how many times the figure was built (read by tests and the benchmark)

    @property
    def figure(self) -> Figure:
        return self._figure

    def show(self, figure: Figure) -> None:
        """Shows a new figure; the repaint is delayed so repaints stay under MAX_FPS, and apart by
        REPAINT_COST_FACTOR times the last build."""
        self._figure = figure
        if self._timer is not None:
            return  # a repaint is already scheduled and will pick up this figure
        gap = max(1.0 / MAX_FPS, REPAINT_COST_FACTOR * self._build_seconds)
        wait = self._last_refresh + gap - time.monotonic()
        if wait <= 0:
            self._repaint()
        else:
            self._timer = self.set_timer(wait, self._repaint)

    def _repaint(self) -> None:
        self._timer = None
        self._last_refresh = time.monotonic()
        self.refresh()

    def render(self) -> RenderResult:
        """Builds the figure afresh, unless the same figure was just built at the same size."""
        if self.size.width < 8 or self.size.height < 3:
            return Text("")
        figure, key = self._figure, (self.size, self.app.theme, self.theme)
        if self._rendered is not None and self._rendered[0] is figure and self._rendered[1] == key:
            return self._rendered[2]
        self.renders += 1
        start = time.perf_counter()
        if draw(self.plt, figure, self.size.width):
            result = super().render()
        else:
            text = Text(justify="center")
            if figure.title:
                text.append(figure.title + "\n\n", style="bold")
            text.append(figure.hint, style="italic")
            result = Align.center(text, vertical="middle", height=self.size.height)
        self._rendered = (figure, key, result)
        self._build_seconds = time.perf_counter() - start
        return result
