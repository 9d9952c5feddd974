"""A trace as a waterfall: one line per (sub)segment on a shared time axis (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.text import Text

from lconsole.backends.base import Segment, Trace


def _walk(segments: Sequence[Segment], depth: int = 0) -> Iterator[tuple[int, Segment]]:
    for seg in sorted(segments, key=lambda s: s.start):
        yield depth, seg
        yield from _walk(seg.children, depth + 1)


def waterfall(trace: Trace, width: int = 40) -> Text:
    """`name  ████░░ 12ms  !fault  k=v` lines; errors are marked by text, not only colour."""
    lines = list(_walk(trace.segments))
    if not lines:
        return Text("this trace has no segments")
    start = min(s.start for _, s in lines)
    end = max((s.end or s.start) for _, s in lines)
    span = max(end - start, 1e-6)
    out = Text()
    for depth, seg in lines:
        seg_end = seg.end if seg.end is not None else end
        left = int((seg.start - start) / span * width)
        size = max(1, int((seg_end - seg.start) / span * width))
        label = ("  " * depth + seg.name)[:24].ljust(24)
        flag = (
            "fault" if seg.fault else "error" if seg.error else "throttle" if seg.throttle else ""
        )
        style = "red" if flag else "cyan" if depth == 0 else "green"
        out.append(label + " ")
        out.append(" " * left)
        out.append("█" * min(size, width - left), style=style)
        out.append(" " * max(0, width - left - size))
        out.append(f" {(seg_end - seg.start) * 1000:7.1f}ms")
        if flag:
            out.append(f" !{flag}", style="bold red")
        if seg.end is None:
            out.append(" (in progress)", style="dim")
        out.append("\n")
        if seg.annotations:
            notes = "  ".join(f"{k}={v}" for k, v in seg.annotations.items())
            out.append("  " * (depth + 1) + notes + "\n", style="dim")
    return out
