"""Lambda's standard metrics: live 1-second buckets and per-period rollups of invocation records.

Both paths fold records through the same `_Bucket`, so the live view and the stored rollups
agree by construction. Dimensions follow AWS (telemetry.md §4): every invocation counts for
`FunctionName`; a qualified one also for `Resource` = `name:qualifier`; an alias invoke also
for `ExecutedVersion` under that alias. A version reached through an alias is *not* counted
under `Resource = name:version` — AWS keeps that for direct invokes of the version.
Datapoints are stamped with the invocation's start, as AWS does.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lconsole.model.invocation import InvocationRecord, InvocationType, Status
from lconsole.model.metrics import Distribution, MetricKey, MetricPoint, Series

ERROR_STATUSES = frozenset({Status.ERROR, Status.TIMEOUT, Status.CRASH})
LONGEST_RUN_MS = 16 * 60 * 1000  # 15-minute timeout plus init: bounds a stored record's span


def keys_for(record: InvocationRecord) -> tuple[MetricKey, ...]:
    """The series one invocation counts in, as AWS's dimension sets do."""
    function, qualifier = record.function, record.qualifier
    if qualifier is None:
        return (MetricKey(function),)
    if qualifier == record.executed_version:  # a version or $LATEST, invoked directly
        return MetricKey(function), MetricKey(function, qualifier)
    return (MetricKey(function), MetricKey(function, qualifier),
            MetricKey(function, qualifier, record.executed_version))


def throttle_keys(function: str, qualifier: str | None) -> tuple[MetricKey, ...]:
    if qualifier is None:
        return (MetricKey(function),)
    return MetricKey(function), MetricKey(function, qualifier)


def is_spillover(record: InvocationRecord) -> bool:
    """Ran on demand although its qualifier has provisioned concurrency (set by the invoker)."""
    return not record.provisioned and bool(record.extra.get("spillover"))


def align(ms: int, period_s: int) -> int:
    """Start (epoch ms) of the period holding `ms`; periods are aligned to the epoch."""
    step = period_s * 1000
    return ms // step * step


@dataclass
class _Values:
    """Exact count/sum/min/max; every value kept up to `cap`, then a uniform reservoir."""

    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    kept: list[float] = field(default_factory=list)

    def add(self, value: float, cap: int | None = None, rng: random.Random | None = None) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if cap is None or len(self.kept) < cap:
            self.kept.append(value)
        else:  # Algorithm R: each value seen so far stays with probability cap/count
            slot = (rng or random).randrange(self.count)
            if slot < cap:
                self.kept[slot] = value

    def distribution(self) -> Distribution:
        if not self.count:
            return Distribution()
        exact = len(self.kept) == self.count  # then the sum is exactly rounded, as on merge
        total = math.fsum(self.kept) if exact else self.total
        return Distribution(self.count, total, self.minimum, self.maximum,
                            tuple(sorted(self.kept)))


@dataclass
class _Bucket:
    """Mutable accumulator for one key and one period."""

    start_ms: int
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    provisioned: int = 0
    spillover: int = 0
    cold: int = 0
    durations: _Values = field(default_factory=_Values)
    inits: _Values = field(default_factory=_Values)
    concurrent: int = 0
    provisioned_busy: int = 0
    utilization: float | None = None

    def add(self, record: InvocationRecord, cap: int | None = None,
            rng: random.Random | None = None) -> None:
        if record.status == Status.THROTTLED:
            self.throttles += 1
            return
        self.invocations += 1
        self.errors += record.status in ERROR_STATUSES
        self.provisioned += record.provisioned
        self.spillover += is_spillover(record)
        self.durations.add(record.duration_ms, cap, rng)
        if record.cold:
            self.cold += 1
            if record.init_ms is not None:
                self.inits.add(record.init_ms, cap, rng)

    def gauge(self, concurrent: int, provisioned_busy: int, utilization: float | None) -> None:
        self.concurrent = max(self.concurrent, concurrent)
        self.provisioned_busy = max(self.provisioned_busy, provisioned_busy)
        if utilization is not None:
            self.utilization = max(self.utilization or 0.0, utilization)

    def point(self, key: MetricKey, period_s: int) -> MetricPoint:
        return MetricPoint(
            key, self.start_ms, period_s, self.invocations, self.errors, self.throttles,
            self.provisioned, self.spillover, self.cold, self.durations.distribution(),
            self.inits.distribution(), self.concurrent, self.provisioned_busy, self.utilization,
        )


def _counted(record: InvocationRecord) -> bool:
    return record.invocation_type != InvocationType.DRY_RUN


class LiveMetrics:
    """The last `window_s` seconds of every key in 1-second ring buffers, for live sparklines.

    O(1) per recorded invocation; memory is `window_s` buckets per key, each keeping at most
    `max_values_per_bucket` durations (exact percentiles below that, a reservoir above).
    Writes older than what a ring slot already holds are dropped. Not thread-safe: feed and
    read it from the engine's event loop.
    """

    def __init__(self, window_s: int = 900, *, max_values_per_bucket: int = 10_000,
                 rng: random.Random | None = None) -> None:
        if window_s < 1 or max_values_per_bucket < 1:
            raise ValueError("window_s and max_values_per_bucket must be positive")
        self.window_s = window_s
        self.cap = max_values_per_bucket
        self._rng = rng or random.Random(0)
        self._rings: dict[MetricKey, list[_Bucket | None]] = {}

    def record(self, record: InvocationRecord) -> None:
        """Count one finished invocation (or a throttled record) at its start time."""
        if not _counted(record):
            return
        for key in keys_for(record):
            bucket = self._bucket(key, record.start_ms)
            if bucket is not None:
                bucket.add(record, self.cap, self._rng)

    def throttle(self, function: str, qualifier: str | None, at_ms: int) -> None:
        """Count one request rejected for concurrency (429)."""
        for key in throttle_keys(function, qualifier):
            bucket = self._bucket(key, at_ms)
            if bucket is not None:
                bucket.throttles += 1

    def sample(self, key: MetricKey, at_ms: int, *, concurrent: int, provisioned_busy: int = 0,
               provisioned_configured: int = 0) -> None:
        """A concurrency reading for one key: busy environments, and busy/configured PC."""
        bucket = self._bucket(key, at_ms)
        if bucket is None:
            return
        utilization = (provisioned_busy / provisioned_configured
                       if provisioned_configured > 0 else None)
        bucket.gauge(concurrent, provisioned_busy, utilization)

    def keys(self, function: str | None = None) -> list[MetricKey]:
        return sorted(k for k in self._rings if function is None or k.function == function)

    def forget(self, function: str) -> None:
        """Drop a deleted function's buffers."""
        for key in [k for k in self._rings if k.function == function]:
            del self._rings[key]

    def points(self, key: MetricKey, *, since_ms: int, until_ms: int,
               period_s: int = 1) -> list[MetricPoint]:
        """Non-empty periods of `key` in [since_ms, until_ms), oldest first."""
        ring = self._rings.get(key)
        if ring is None:
            return []
        first = since_ms // 1000 * 1000
        found = sorted((b for b in ring if b is not None and first <= b.start_ms < until_ms),
                       key=lambda b: b.start_ms)
        points = [b.point(key, 1) for b in found]
        return points if period_s == 1 else regroup(points, period_s)

    def series(self, key: MetricKey, metric: str, stat: str | None = None, *, since_ms: int,
               until_ms: int, period_s: int = 1, fill: float | None = 0.0) -> Series:
        points = self.points(key, since_ms=since_ms, until_ms=until_ms, period_s=period_s)
        return series(points, metric, stat, since_ms=since_ms, until_ms=until_ms,
                      period_s=period_s, fill=fill)

    def _bucket(self, key: MetricKey, at_ms: int) -> _Bucket | None:
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = [None] * self.window_s
        second = at_ms // 1000
        slot = second % self.window_s
        bucket = ring[slot]
        if bucket is None or bucket.start_ms < second * 1000:
            bucket = ring[slot] = _Bucket(second * 1000)
        elif bucket.start_ms > second * 1000:
            return None  # older than the window this slot now covers
        return bucket


def rollup(records: Iterable[InvocationRecord], period_s: int = 60, *,
           provisioned: Mapping[str, int] | None = None) -> list[MetricPoint]:
    """Per-period points of every key the records count in, sorted by key then time.

    ConcurrentExecutions and ProvisionedConcurrentExecutions are the most invocations running
    at once in the period (from start/end); `provisioned` (qualifier → configured PC) turns
    the latter into ProvisionedConcurrencyUtilization for that Resource.
    """
    if period_s < 1:
        raise ValueError("period_s must be positive")
    buckets: dict[tuple[MetricKey, int], _Bucket] = {}
    spans: dict[MetricKey, list[tuple[int, int]]] = defaultdict(list)
    pc_spans: dict[MetricKey, list[tuple[int, int]]] = defaultdict(list)
    for record in records:
        if not _counted(record):
            continue
        start = align(record.start_ms, period_s)
        for key in keys_for(record):
            bucket = buckets.get((key, start))
            if bucket is None:
                bucket = buckets[(key, start)] = _Bucket(start)
            bucket.add(record)
            if record.status != Status.THROTTLED:
                spans[key].append(_span(record))
                if record.provisioned:
                    pc_spans[key].append(_span(record))
    for key, intervals in spans.items():
        busy = _peaks(pc_spans.get(key, []), period_s)
        configured = None
        if provisioned and key.qualifier is not None and key.executed_version is None:
            configured = provisioned.get(key.qualifier)
        for start, peak in _peaks(intervals, period_s).items():
            bucket = buckets.get((key, start))
            if bucket is None:
                bucket = buckets[(key, start)] = _Bucket(start)
            pc = busy.get(start, 0)
            use = pc / configured if configured else None
            bucket.gauge(peak, pc, use)
    return [buckets[k].point(k[0], period_s) for k in sorted(buckets)]


def _span(record: InvocationRecord) -> tuple[int, int]:
    start = record.start_ms
    end = record.end_ms
    if end <= start:
        end = start + math.ceil(record.duration_ms + (record.init_ms or 0.0))
    return start, min(max(end, start + 1), start + LONGEST_RUN_MS)


def _peaks(intervals: list[tuple[int, int]], period_s: int) -> dict[int, int]:
    """Most intervals [start, end) open at once, per period start."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    step = period_s * 1000
    peaks: dict[int, int] = {}
    current, previous = 0, 0
    for t, delta in events:
        if current > 0:  # constant over [previous, t): every period it touches sees it
            for start in range(align(previous, period_s), align(t - 1, period_s) + 1, step):
                peaks[start] = max(peaks.get(start, 0), current)
        current += delta
        previous = t
        if delta > 0:
            start = align(t, period_s)
            peaks[start] = max(peaks.get(start, 0), current)
    return peaks


def regroup(points: Iterable[MetricPoint], period_s: int) -> list[MetricPoint]:
    """Merge finer points into `period_s` periods, per key (percentiles over merged samples)."""
    groups: dict[tuple[MetricKey, int], list[MetricPoint]] = defaultdict(list)
    for p in points:
        groups[(p.key, align(p.timestamp_ms, period_s))].append(p)
    return [_merge(key, start, period_s, groups[(key, start)]) for key, start in sorted(groups)]


def _merge(key: MetricKey, start: int, period_s: int, parts: list[MetricPoint]) -> MetricPoint:
    uses = [p.provisioned_utilization for p in parts if p.provisioned_utilization is not None]
    return MetricPoint(
        key, start, period_s,
        sum(p.invocations for p in parts), sum(p.errors for p in parts),
        sum(p.throttles for p in parts), sum(p.provisioned_invocations for p in parts),
        sum(p.spillover_invocations for p in parts), sum(p.cold_starts for p in parts),
        _merge_distributions([p.duration for p in parts]),
        _merge_distributions([p.init_duration for p in parts]),
        max(p.concurrent_executions for p in parts),
        max(p.provisioned_concurrent_executions for p in parts),
        max(uses) if uses else None,
    )


def _merge_distributions(parts: list[Distribution]) -> Distribution:
    parts = [d for d in parts if d.count]
    if not parts:
        return Distribution()
    count = sum(d.count for d in parts)
    sample = tuple(sorted(v for d in parts for v in d.sample))
    total = math.fsum(sample) if len(sample) == count else math.fsum(d.total for d in parts)
    return Distribution(
        count, total,
        min(d.minimum for d in parts if d.minimum is not None),
        max(d.maximum for d in parts if d.maximum is not None),
        sample,
    )


def series(points: Iterable[MetricPoint], metric: str, stat: str | None = None, *,
           since_ms: int, until_ms: int, period_s: int, fill: float | None = 0.0) -> Series:
    """One metric as period-aligned values from `align(since_ms)` up to `until_ms`.

    Periods without data (or without a value for `stat`) get `fill`; `fill=None` leaves them
    out, as GetMetricData does. Finer points are merged into `period_s` first.
    """
    MetricPoint(MetricKey(""), 0, period_s).value(metric, stat)  # unknown names raise here
    by_start = {p.timestamp_ms: p for p in regroup(points, period_s)}
    if len({p.key for p in by_start.values()}) > 1:
        raise ValueError("series() takes the points of one key")
    timestamps: list[int] = []
    values: list[float] = []
    for start in range(align(since_ms, period_s), until_ms, period_s * 1000):
        point = by_start.get(start)
        value = point.value(metric, stat) if point is not None else None
        if value is None:
            if fill is None:
                continue
            value = fill
        timestamps.append(start)
        values.append(value)
    return Series(period_s, tuple(timestamps), tuple(values))
