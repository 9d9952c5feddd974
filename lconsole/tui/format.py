"""How numbers read on screen: durations, ages, money, percentages (pure)."""

from __future__ import annotations

import math


def duration(ms: float | None) -> str:
    """`812ms`, `1.42s`, `2m05s`; `-` when unknown."""
    if ms is None or math.isnan(ms):
        return "-"
    if ms < 10:
        return f"{ms:.1f}ms"
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m{seconds:02d}s"


def age(seconds: float | None) -> str:
    """`4s`, `12m`, `3h`, `2d` ago; `-` for never."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def percent(fraction: float | None, digits: int = 0) -> str:
    if fraction is None:
        return "-"
    return f"{fraction * 100:.{digits}f}%"


def rate(per_minute: float | None) -> str:
    if per_minute is None:
        return "-"
    if per_minute >= 1000:
        return f"{per_minute / 1000:.1f}k"
    if per_minute >= 10 or per_minute == 0:
        return f"{per_minute:.0f}"
    return f"{per_minute:.1f}"


def usd(amount: float) -> str:
    """Lambda costs are tiny: show enough digits to see them move."""
    if amount == 0:
        return "$0"
    if amount < 0.0001:
        mantissa, exponent = f"{amount:.1e}".split("e")
        return f"${mantissa}e{int(exponent)}"  # $9.1e-7
    return f"${amount:.4f}"


def megabytes(mb: int | None) -> str:
    return "-" if not mb else f"{mb}MB"


def bar(fractions: list[float], width: int, glyphs: str = "█▓▒░") -> str:
    """A horizontal bar split by `fractions` (summing to 1), one glyph per part.

    Parts differ by glyph as well as by colour, so the split reads without colour.
    """
    if width <= 0:
        return ""
    cells: list[str] = []
    used = 0
    for i, fraction in enumerate(fractions):
        n = width - used if i == len(fractions) - 1 else round(fraction * width)
        n = max(0, min(n, width - used))
        cells.append(glyphs[i % len(glyphs)] * n)
        used += n
    return "".join(cells)
