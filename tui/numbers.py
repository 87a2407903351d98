"""Numbers as the app writes them; apart from tui.plotting so the first frame needs no plotext."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.events import Backtest
    from engine.series import Series


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown(text: object) -> str:
    """Text from a file (a name, description, CSV header or cell, a message quoting them) made
    safe for a terminal: control characters (C0, DEL, C1, and ESC, which starts an escape
    sequence) are written as ``\\x1b``-style escapes, so they cannot move the cursor, recolour
    or retitle the terminal, or hide what follows."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def fmt_number(value: float) -> str:
    """Compact axis/legend number: 5e-6, 0.05, 12.3, 1.2e+4."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent):+d}".replace("e+", "e+" if int(exponent) > 0 else "e")


def significant(value: float, digits: int = 4) -> str:
    """``digits`` significant digits, trailing zeros kept so columns of them line up (41.00),
    but never a bare trailing point: 3368.0 is "3368", not "3368."."""
    text = f"{value:#.{digits}g}"
    mantissa, e, exponent = text.partition("e")
    return mantissa.removesuffix(".") + e + exponent


def duration(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour (ETAs and run times)."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def eta_seconds(epoch_seconds: list[float], done: float, total: int) -> float | None:
    """Seconds left when ``done`` epochs (a fraction within the current one) of ``total`` are
    done, from the last 20 epochs' times; the first epoch (it compiles the model) counts only
    while it is the only one. None before an epoch has ended."""
    recent = epoch_seconds[1:][-20:] or epoch_seconds[:1]
    if not recent:
        return None
    return max(0.0, total - done) * sum(recent) / len(recent)


def ladder_text(metrics: Mapping[str, Any], digits: int = 2) -> str:
    """A run's validation MAE beside its baselines: "MAE 4.41 · naive 5.94 · linear 5.12 · MASE
    0.74"; the parts a run did not report are left out."""
    parts = []
    for key, label in (
        ("val_mae", "MAE"),
        ("naive_mae", "naive"),
        ("linear_mae", "linear"),
        ("val_mase", "MASE"),
    ):
        value = metrics.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            parts.append(f"{label} {value:.{digits}f}")
    return " · ".join(parts)


def worse_than(metrics: Mapping[str, Any]) -> list[str]:
    """The baselines ("naive", "linear") whose validation MAE is below the run's."""
    mae = metrics.get("val_mae")
    if not isinstance(mae, (int, float)) or not math.isfinite(mae):
        return []
    out = []
    for name in ("naive", "linear"):
        base = metrics.get(f"{name}_mae")
        if isinstance(base, (int, float)) and math.isfinite(base) and mae > base:
            out.append(name)
    return out


def percent(fraction: float) -> str:
    """0.784 -> "78%" (coverage and levels: whole percents are as fine as they are measured)."""
    return f"{100 * fraction:.0f}%"


def coverage_text(level: float, coverage: float) -> str:
    """ "80% interval covered 78% of the validation points": the nominal level beside what the
    interval achieved on points nothing was fitted on."""
    return f"{percent(level)} interval covered {percent(coverage)} of the validation points"


def coverage_variants(level: float, coverage: float) -> tuple[str, ...]:
    """``coverage_text``, then shorter forms for narrow charts."""
    return (
        coverage_text(level, coverage),
        f"{percent(level)} interval covered {percent(coverage)} of points",
        f"{percent(level)} interval: {percent(coverage)} in",
    )


def backtest_steps(horizon: int, max_rows: int = 12) -> list[int]:
    """The steps ahead a table shows: all of them up to ``max_rows``, else 1, 2, 3, 5, 10, 20,
    50, ... and the horizon itself (the error's growth reads as well from these)."""
    if horizon <= max_rows:
        return list(range(1, horizon + 1))
    steps = []
    scale = 1
    while scale < horizon:
        steps += [s for s in (scale, 2 * scale, 5 * scale) if s < horizon]
        scale *= 10
    chosen = sorted({1, 2, 3, *steps, horizon})
    if len(chosen) > max_rows:  # keep the first steps and the horizon, thin the middle
        middle = chosen[3:-1]
        keep = max_rows - 4
        middle = [middle[round(i * (len(middle) - 1) / max(1, keep - 1))] for i in range(keep)]
        chosen = sorted({*chosen[:3], *middle, horizon})
    return chosen


def backtest_lines(backtest: Backtest, max_rows: int = 12) -> list[str]:
    """The rolling-origin backtest as a table: MAE per step ahead for the model, the naive
    forecast and the seasonal naive one (when the series has a period), and the share of the
    points inside the interval (when there is one); a header line first. Narrow enough for the
    app's run log (32 columns)."""
    seasonal = len(backtest.seasonal) >= backtest.horizon
    covered = len(backtest.coverage) >= backtest.horizon
    level = f"{percent(backtest.level)} in" if backtest.level is not None else "in"
    columns = ["step", "model", "naive"] + ["season"] * seasonal + [level] * covered
    # the step column is left-aligned: the app's log drops a line's leading spaces
    lines = [f"{columns[0]:<4}" + "".join(f"{c:>7}" for c in columns[1:])]
    steps = [h for h in backtest_steps(backtest.horizon, max_rows) if h <= len(backtest.model)]
    rows = [
        [backtest.model[h - 1], backtest.naive[h - 1]]
        + ([backtest.seasonal[h - 1]] if seasonal else [])
        for h in steps
        if h <= len(backtest.naive)
    ]
    decimals = _shared_decimals([v for row in rows for v in row])
    for h, row in zip(steps, rows, strict=False):
        line = f"{h:<4}" + "".join(f"{_fixed(v, decimals):>7}" for v in row)
        lines.append(line + (f"{percent(backtest.coverage[h - 1]):>7}" if covered else ""))
    return lines


def backtest_verdict(backtest: Backtest) -> str:
    """Whether the model beat the naive forecast at every step ahead, said plainly."""
    worse = [
        h for h in range(1, backtest.horizon + 1) if backtest.model[h - 1] > backtest.naive[h - 1]
    ]
    if not worse:
        return f"better than the naive forecast at every step from 1 to {backtest.horizon}"
    if len(worse) == backtest.horizon:
        return f"worse than the naive forecast at every step from 1 to {backtest.horizon}"
    listed = ", ".join(map(str, worse[:8])) + (", ..." if len(worse) > 8 else "")
    return f"worse than the naive forecast at step{'s' if len(worse) > 1 else ''} {listed}"


def _shared_decimals(values: list[float]) -> int:
    """Decimals that give the smallest value three significant digits (at most 4), so a column
    of errors lines up."""
    finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not finite:
        return 2
    return max(0, min(4, 2 - math.floor(math.log10(min(finite)))))


def _fixed(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 1e4:
        return fmt_number(value)
    return f"{value:.{decimals}f}"


def dates_text(series: Series) -> str:
    """What the date column was read as: its frequency, or why it is not used for the future."""
    dates = series.dates
    if dates is None:
        return ""
    parts = []
    if dates.frequency is not None:
        parts.append(f"dates {dates.frequency.describe()}")
    if dates.note:
        parts.append(dates.note)
    return "; ".join(parts)
