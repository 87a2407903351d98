"""Faster equivalents of the two plotext 5 helpers that take most of a line chart's build.

plotext draws a line by listing every cell it passes through (``get_lines``), then groups those
points into braille characters (``hd_group``), both a Python loop per point. The loss chart of
a long run passes a few thousand points through them on each redraw, which a key press that
redraws it (log y, smoothing, zoom) waits for. The versions here do the same arithmetic over
NumPy arrays and return the same values (``tests/test_tui_charts.py`` compares them with
plotext's on random lines); input they are not written for (markers of different sizes in one
line, coordinates that are not integers, such as the strings of plotext's date axes) goes to
plotext's own. ``install`` puts them in plotext's utility module, where its build looks them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from plotext import _utility

ORIGINAL = {"get_lines": _utility.get_lines, "hd_group": _utility.hd_group}


def install() -> None:
    """Makes plotext's builds use ``get_lines`` and ``hd_group`` below (idempotent)."""
    _utility.get_lines = get_lines
    _utility.hd_group = hd_group


def _integers(values: Sequence[Any]) -> bool:
    return all(type(v) is int for v in values)


def get_lines(x: list[Any], y: list[Any], *other: list[Any]) -> list[list[Any]]:
    """plotext's ``get_lines``: the points of the lines from each (x, y) to the next, each with
    the markers, colours and styles (``other``) of the point its line starts from."""
    n = len(x)
    if n < 2 or len(y) != n or any(len(o) != n for o in other):
        return ORIGINAL["get_lines"](x, y, *other)
    if not (_integers(x) and _integers(y)):
        return ORIGINAL["get_lines"](x, y, *other)
    xa, ya = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    dx, dy = np.diff(xa), np.diff(ya)
    steps = np.maximum(np.abs(dx), np.abs(dy))  # points per line, less its last (the next start)
    line = np.repeat(np.arange(n - 1), steps)
    first = np.repeat(np.cumsum(steps) - steps, steps)
    k = np.arange(line.size) - first  # the point's place along its line
    # plotext's linspace, lower + k * (upper - lower) / (length - 1), then int() towards zero
    divisor = np.where(steps > 0, steps, 1)
    px = xa[line] + k * (dx / divisor)[line]
    py = ya[line] + k * (dy / divisor)[line]
    where = line.tolist()
    out = [np.trunc(px).astype(np.int64).tolist() + [x[-1]]]
    out.append(np.trunc(py).astype(np.int64).tolist() + [y[-1]])
    out += [[o[i] for i in where] + [o[-1]] for o in other]
    return out


def hd_group(
    x: list[Any], y: list[Any], xf: list[int], yf: list[int]
) -> tuple[list[int], list[int], list[tuple[int, ...]]]:
    """plotext's ``hd_group``: the character cells the points fall in (in the order first met)
    and, for each, which of its ``xf`` x ``yf`` dots are set (rows top to bottom)."""
    if not x or len(set(xf)) != 1 or len(set(yf)) != 1 or not (_integers(x) and _integers(y)):
        return ORIGINAL["hd_group"](x, y, xf, yf)
    fx, fy = xf[0], yf[0]
    xa, ya = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    cx, cy = xa // fx, ya // fy
    rows = int(cy.max() - cy.min()) + 1
    key = (cx - cx.min()) * rows + (cy - cy.min())  # one number per cell
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    dots = np.zeros((len(first), fx * fy), dtype=np.int64)
    dots[which.ravel(), (fy - 1 - ya % fy) * fx + xa % fx] = 1
    order = np.argsort(first)  # cells in the order their first point comes
    firsts = first[order]
    return cx[firsts].tolist(), cy[firsts].tolist(), [tuple(d) for d in dots[order].tolist()]
