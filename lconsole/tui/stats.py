"""Figures the console shows per function and per version, from recent invocations (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lconsole.backends.base import Invocation

WINDOW_S = 300  # the Functions view looks at the last five minutes


@dataclass(frozen=True)
class FunctionStats:
    invocations: int  # in the window
    per_minute: float | None
    error_rate: float | None  # None when nothing ran in the window
    p99_ms: float | None
    cold_rate: float | None
    throttles: int
    cost_usd: float
    last_ms: int | None  # start of the newest invocation ever seen


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile, as CloudWatch's pNN statistics read for small samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil(n * pct / 100)
    return ordered[int(rank) - 1]


def summarise(
    invocations: Iterable[Invocation], now_ms: int, window_s: int = WINDOW_S
) -> FunctionStats:
    rows = list(invocations)
    since = now_ms - window_s * 1000
    recent = [r for r in rows if r.start_ms >= since]
    ran = [r for r in recent if r.status != "throttled"]
    last = max((r.start_ms for r in rows), default=None)
    if not recent:
        return FunctionStats(0, 0.0 if rows else None, None, None, None, 0, 0.0, last)
    span_min = max(window_s, 1) / 60
    return FunctionStats(
        invocations=len(recent),
        per_minute=len(recent) / span_min,
        error_rate=(sum(not r.ok for r in ran) / len(ran)) if ran else None,
        p99_ms=percentile([r.duration_ms for r in ran], 99),
        cold_rate=(sum(r.cold for r in ran) / len(ran)) if ran else None,
        throttles=len(recent) - len(ran),
        cost_usd=sum(r.cost_usd for r in recent),
        last_ms=last,
    )


def error_rate_by_version(invocations: Iterable[Invocation]) -> dict[str, tuple[int, float]]:
    """executed version -> (invocations, error rate): what a canary is judged on."""
    counts: dict[str, list[int]] = {}
    for r in invocations:
        if r.status == "throttled":
            continue
        seen = counts.setdefault(r.executed_version, [0, 0])
        seen[0] += 1
        seen[1] += not r.ok
    return {v: (n, errors / n) for v, (n, errors) in counts.items()}


def buckets(
    invocations: Iterable[Invocation],
    now_ms: int,
    *,
    count: int = 30,
    width_s: int = 10,
    what: str = "invocations",
) -> list[float]:
    """A sparkline's values, oldest first: per-bucket counts (or p99 duration)."""
    start = now_ms - count * width_s * 1000
    groups: list[list[Invocation]] = [[] for _ in range(count)]
    for r in invocations:
        index = (r.start_ms - start) // (width_s * 1000)
        if 0 <= index < count:
            groups[int(index)].append(r)
    pick = {
        "invocations": lambda g: float(len(g)),
        "errors": lambda g: float(sum(not r.ok and r.status != "throttled" for r in g)),
        "throttles": lambda g: float(sum(r.status == "throttled" for r in g)),
        "cold": lambda g: float(sum(r.cold for r in g)),
        "p50": lambda g: percentile([r.duration_ms for r in g], 50) or 0.0,
        "p99": lambda g: percentile([r.duration_ms for r in g], 99) or 0.0,
    }[what]
    return [pick(g) for g in groups]
