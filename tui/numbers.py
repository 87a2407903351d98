"""Numbers as the app writes them; apart from tui.plotting so the first frame needs no plotext."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def fmt_number(value: float) -> str:
    """Compact axis/legend number: 5e-6, 0.05, 12.3, 1.2e+4."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent):+d}".replace("e+", "e+" if int(exponent) > 0 else "e")


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
