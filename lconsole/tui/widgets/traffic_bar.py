"""An alias's traffic split as a bar with labels: `v1 90% ████████▒ v2 10%`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from lconsole.tui import format as fmt

STYLES = ("green", "yellow")


def traffic_bar(split: Sequence[tuple[str, float]], width: int = 20) -> Text:
    """Each version's share is in the text too, so the split reads without colour."""
    shares = [share for _, share in split]
    bar = fmt.bar(shares, width)
    out = Text()
    start = 0
    for i, (_, share) in enumerate(split):
        n = width - start if i == len(split) - 1 else round(share * width)
        out.append(bar[start : start + n], style=STYLES[i % len(STYLES)])
        start += n
    labels = "  ".join(
        f"v{v} {fmt.percent(s)}" if v.isdigit() else f"{v} {fmt.percent(s)}" for v, s in split
    )
    return Text.assemble(out, " ", labels)
