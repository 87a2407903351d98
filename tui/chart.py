"""The app's chart widget: shows a ``tui.plotting.Figure`` in a textual-plotext plot.

``Chart`` rebuilds the whole plotext figure from its ``Figure`` on every render (see
``tui.plotting`` for why) and gives Textual the lines of plotext's cells (``Chart.render_line``).
Updates are coalesced to at most ``MAX_FPS`` renders a second, fewer when a build is slow
(``REPAINT_COST_FACTOR``), so that charts cannot starve a training run of CPU.
A figure's caption (e.g. the interval's coverage) and key lines (what its lines mean) go under
the plot.

``forecast_bindings`` are the forecast chart's keys, the same in the training pane and the runs
view: its window, scrolling, the residual and backtest views, and steps past the data.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from plotext import _utility as plotext_utility
from rich.align import Align
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual.strip import Strip
from textual.timer import Timer
from textual_plotext import PlotextPlot

from tui import plotext_speedups
from tui.figures import ForecastControls
from tui.plotting import Figure, draw, is_empty, same_hint, under_lines

plotext_speedups.install()  # a key that redraws a chart waits for its build

MAX_FPS = 10.0
# A chart waits between repaints at least this many times as long as its last build took, so
# drawing takes at most ~5% of a core per chart however fast epochs come.
REPAINT_COST_FACTOR = 20.0

WINDOW = Binding.Group("Window", compact=True)
SCROLL = Binding.Group("Scroll", compact=True)
# The forecast chart's keys in the training pane and the runs view (a saved run's forecast).
FORECAST_BINDINGS = [
    ("d", "residuals", "Resid", "Forecast chart: residuals (actual − forecast) / the forecast"),
    ("b", "backtest", "Backtest", "Forecast chart: the backtest's MAE per step ahead / back"),
    ("f", "future", "Future", "Forecast N steps past the end of the data (asks for N)"),
]


def forecast_bindings(pane: str) -> list[Binding]:
    """The forecast chart's keys for ``pane`` ("training", "runs"): window, scroll, views."""
    keys = [
        Binding(
            "minus",
            "forecast_narrower",
            "Window",
            key_display="-",
            tooltip="Forecast chart: fewer validation points (narrower window)",
            id=f"{pane}.forecast_narrower",
            group=WINDOW,
            show=False,
        ),
        Binding(
            "plus,equals_sign",
            "forecast_wider",
            "Window",
            key_display="+",
            tooltip="Forecast chart: more validation points (wider window)",
            id=f"{pane}.forecast_wider",
            group=WINDOW,
            show=False,
        ),
        Binding(
            "left_square_bracket",
            "forecast_back",
            "Scroll",
            key_display="[",
            tooltip="Forecast chart: scroll back towards the start of the validation period",
            id=f"{pane}.forecast_back",
            group=SCROLL,
            show=False,
        ),
        Binding(
            "right_square_bracket",
            "forecast_forward",
            "Scroll",
            key_display="]",
            tooltip="Forecast chart: scroll forward, towards the forecast past the data",
            id=f"{pane}.forecast_forward",
            group=SCROLL,
            show=False,
        ),
    ]
    keys += [
        Binding(key, f"forecast_{name}", description, tooltip=tooltip, id=f"{pane}.forecast_{name}")
        for key, name, description, tooltip in FORECAST_BINDINGS
    ]
    return keys


class ForecastKeys:
    """The actions of ``forecast_bindings`` that change the chart's window and view, for a pane
    that keeps ``ForecastControls``: each goes through the pane's ``_forecast_key``, which applies
    the change to its controls and redraws (``action_forecast_future`` is each pane's own)."""

    def _forecast_key(self, change: Callable[[ForecastControls, int], None]) -> None:
        raise NotImplementedError

    def action_forecast_wider(self) -> None:
        self._forecast_key(ForecastControls.wider)

    def action_forecast_narrower(self) -> None:
        self._forecast_key(ForecastControls.narrower)

    def action_forecast_back(self) -> None:
        self._forecast_key(ForecastControls.back)

    def action_forecast_forward(self) -> None:
        self._forecast_key(ForecastControls.forward)

    def action_forecast_residuals(self) -> None:
        self._forecast_key(ForecastControls.toggle_residuals)

    def action_forecast_backtest(self) -> None:
        self._forecast_key(ForecastControls.toggle_backtest)


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
        self._rendered: tuple[Figure, tuple[object, ...], list[Strip] | RenderResult] | None = None
        self._last_refresh = 0.0
        self._build_seconds = 0.0  # how long the last build took
        self._timer: Timer | None = None
        self.renders = 0  # how many times the figure was built (read by tests and the benchmark)

    @property
    def figure(self) -> Figure:
        return self._figure

    def show(self, figure: Figure, at_once: bool = False) -> None:
        """Shows a new figure; the repaint is delayed so repaints stay under MAX_FPS, and apart by
        REPAINT_COST_FACTOR times the last build. ``at_once`` (a key the user pressed) repaints
        now: the limit is for the updates a run streams in, not for answering a key. A hint
        in place of the same hint (same title) is not drawn again."""
        shown, self._figure = self._figure, figure
        if is_empty(figure) and is_empty(shown) and same_hint(figure, shown):
            return
        if at_once:  # not counted against the limit, or a key would hold back the next update
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self.refresh()
            return
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

    def render_line(self, y: int) -> Strip:
        """A line of the drawn plot, or of the hint (which Textual renders from ``render``)."""
        drawn = self._drawn()
        if not isinstance(drawn, list):
            return super().render_line(y)
        return drawn[y] if y < len(drawn) else Strip.blank(self.size.width)

    def render(self) -> RenderResult:
        """What the chart draws: the hint, or the plot's lines as text (for tests and tools;
        the screen takes the plot's lines from ``render_line``)."""
        drawn = self._drawn()
        if isinstance(drawn, list):
            return Text("\n".join(strip.text for strip in drawn))
        return drawn

    def _drawn(self) -> list[Strip] | RenderResult:
        """The figure at the widget's size: the plot's lines, or a renderable (a hint; nothing
        when too small). Built afresh unless the same figure was just built at the same size."""
        figure, key = self._figure, (self.size, self.app.theme, self.theme)
        if self._rendered is not None and self._rendered[0] is figure and self._rendered[1] == key:
            return self._rendered[2]
        self.renders += 1
        start = time.perf_counter()
        result: list[Strip] | RenderResult
        if self.size.width < 8 or self.size.height < 3:
            result = Text("")
        elif not is_empty(figure) and draw(self.plt, figure, self.size.width):
            result = self._plot_lines(under_lines(figure, self.size.width))
        else:
            text = Text(justify="center")
            if figure.title:
                text.append(figure.title + "\n\n", style="bold")
            text.append(figure.hint, style="italic")
            result = Align.center(text, vertical="middle", height=self.size.height)
        self._rendered = (figure, key, result)
        self._build_seconds = time.perf_counter() - start
        return result

    def _plot_lines(self, under: list[str]) -> list[Strip]:
        """The drawn plot as the screen's lines, then the lines that go under it (a chart too
        short for them drops them).

        Written here rather than taken from ``PlotextPlot.render``: that joins plotext's cells
        into one ANSI string that Rich parses back and Textual converts again, which took longer
        than plotext's drawing itself and held back every key that redraws a chart. These lines
        come from plotext's cells, with one style per colour triple, decoded from plotext's own
        ANSI codes once (so the colours are the same)."""
        if under and self.size.height - len(under) < 5:
            under = under[: max(0, self.size.height - 5)]
        width, height = self.size.width, self.size.height - len(under)
        plt: Any = self.plt  # plotext's internals below are not in textual-plotext's stubs
        plt.plotsize(width, height)
        plt._set_size(width, height)  # see PlotextPlot.render: plotsize alone may not stick
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        plt._set_sizes()  # plotext's build(), less the ANSI text it would also make
        plt._build_matrix()
        matrix = plt.monitor.matrix
        base = self.visual_style.rich_style
        styles: dict[tuple[object, object, object], Style] = {}  # a cell's colours: its style
        same: dict[Style, Style] = {}  # one object per style, so runs of it compare by identity
        lines = []
        for row in reversed(matrix.Rows):
            markers = matrix.marker[row]
            cells = zip(
                matrix.fullground[row], matrix.style[row], matrix.background[row], strict=True
            )
            segments, begin, current = [], 0, None
            for col, colors in enumerate(cells):
                style = styles.get(colors)
                if style is None:
                    style = base + _cell_style(colors)
                    style = styles[colors] = same.setdefault(style, style)
                if style is not current:
                    if current is not None:
                        segments.append(Segment("".join(markers[begin:col]), current))
                    begin, current = col, style
            if current is not None:
                segments.append(Segment("".join(markers[begin:]), current))
            lines.append(Strip(segments, width))
        italic = base + Style(italic=True)
        lines += [Strip([Segment(line, italic)]) for line in under]
        return lines


@functools.cache
def _cell_style(colors: tuple[object, object, object]) -> Style:
    """The Rich style of a plotext cell's (foreground, style, background), as Rich decodes
    plotext's ANSI codes for them."""
    fullground, style, background = colors
    decoded = Text.from_ansi(plotext_utility.colors_to_ansi(fullground, style, background) + "x")
    found = decoded.spans[0].style if decoded.spans else Style.null()
    return found if isinstance(found, Style) else Style.parse(found)
