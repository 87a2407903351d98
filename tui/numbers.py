"""Numbers as the app writes them; apart from tui.plotting so the first frame needs no plotext."""

from __future__ import annotations

import math


def fmt_number(value: float) -> str:
    """Compact axis/legend number: 5e-6, 0.05, 12.3, 1.2e+4."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent):+d}".replace("e+", "e+" if int(exponent) > 0 else "e")
