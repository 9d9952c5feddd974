"""Metric values: Lambda's per-period statistics, EMF custom datums, time series, cost reports.

Names follow CloudWatch: metric names as `AWS/Lambda` publishes them, statistics as
GetMetricData spells them (`Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount`, `p99`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

NAMESPACE = "AWS/Lambda"
SUM, AVERAGE, MINIMUM, MAXIMUM, SAMPLE_COUNT = "Sum", "Average", "Minimum", "Maximum", "SampleCount"

# Lambda metric → the statistic a graph uses when none is asked for (telemetry.md §4).
# ColdStarts and InitDuration are the console's own: AWS/Lambda publishes neither.
COUNTS = ("Invocations", "Errors", "Throttles", "ProvisionedConcurrencyInvocations",
          "ProvisionedConcurrencySpilloverInvocations", "ColdStarts")
DISTRIBUTIONS = ("Duration", "InitDuration")
GAUGES = ("ConcurrentExecutions", "ProvisionedConcurrentExecutions",
          "ProvisionedConcurrencyUtilization")
DEFAULT_STAT = {**dict.fromkeys(COUNTS, SUM), "Duration": AVERAGE, "InitDuration": AVERAGE,
                **dict.fromkeys(GAUGES, MAXIMUM)}


def percentile_of(stat: str) -> float | None:
    """`p99` → 99.0, `p99.9` → 99.9; None for any other statistic. Raises on `p` outside 0-100."""
    if not stat.startswith("p"):
        return None
    try:
        p = float(stat[1:])
    except ValueError:
        raise ValueError(f"Unknown statistic {stat!r}") from None
    if not 0 <= p <= 100:
        raise ValueError(f"Percentile out of range: {stat!r}")
    return p


@dataclass(frozen=True)
class Distribution:
    """One period's values: count, sum, min and max exact; percentiles over `sample` (sorted).

    `sample` holds every value unless the producer capped it (then percentiles are estimates).
    """

    count: int = 0
    total: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    sample: tuple[float, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, values: Iterable[float]) -> Distribution:
        ordered = tuple(sorted(values))
        if not ordered:
            return cls()
        return cls(len(ordered), math.fsum(ordered), ordered[0], ordered[-1], ordered)

    @property
    def average(self) -> float | None:
        return self.total / self.count if self.count else None

    def percentile(self, p: float) -> float | None:
        """Nearest rank: the smallest value with at least p % of the values at or below it."""
        if not self.sample:
            return None
        rank = max(1, math.ceil(round(p / 100 * len(self.sample), 9)))
        return self.sample[rank - 1]

    @property
    def p50(self) -> float | None:
        return self.percentile(50)

    @property
    def p90(self) -> float | None:
        return self.percentile(90)

    @property
    def p99(self) -> float | None:
        return self.percentile(99)

    def stat(self, stat: str) -> float | None:
        p = percentile_of(stat)
        if p is not None:
            return self.percentile(p)
        if stat == SAMPLE_COUNT:
            return float(self.count)
        if stat == SUM:
            return self.total if self.count else None
        by_name = {AVERAGE: self.average, MINIMUM: self.minimum, MAXIMUM: self.maximum}
        if stat not in by_name:
            raise ValueError(f"Unknown statistic {stat!r}")
        return by_name[stat]


@dataclass(frozen=True)
class MetricKey:
    """One AWS/Lambda series: `FunctionName`, plus `Resource`, plus `ExecutedVersion`.

    `Resource` is `function:qualifier` (a version, `$LATEST` or an alias); `ExecutedVersion`
    exists only under an alias Resource and names the version that ran.
    """

    function: str
    qualifier: str | None = None
    executed_version: str | None = None

    @property
    def resource(self) -> str | None:
        return None if self.qualifier is None else f"{self.function}:{self.qualifier}"

    def __lt__(self, other: MetricKey) -> bool:
        """Function first, then its resources, each before its executed versions."""
        return self._order() < other._order()

    def _order(self) -> tuple[str, bool, str, bool, str]:
        return (self.function, self.qualifier is not None, self.qualifier or "",
                self.executed_version is not None, self.executed_version or "")

    def dimensions(self) -> dict[str, str]:
        dims = {"FunctionName": self.function}
        if self.resource is not None:
            dims["Resource"] = self.resource
        if self.executed_version is not None:
            dims["ExecutedVersion"] = self.executed_version
        return dims


@dataclass(frozen=True)
class MetricPoint:
    """Every Lambda metric of one key over one period starting at `timestamp_ms`."""

    key: MetricKey
    timestamp_ms: int
    period_s: int
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    provisioned_invocations: int = 0
    spillover_invocations: int = 0
    cold_starts: int = 0
    duration: Distribution = Distribution()
    init_duration: Distribution = Distribution()
    concurrent_executions: int = 0  # maximum over the period
    provisioned_concurrent_executions: int = 0  # maximum
    provisioned_utilization: float | None = None  # maximum busy/configured; None: no PC

    def value(self, metric: str, stat: str | None = None) -> float | None:
        """The point's value for `metric` under `stat` (default: the metric's usual one)."""
        if metric not in DEFAULT_STAT:
            raise ValueError(f"Unknown Lambda metric {metric!r}")
        stat = stat or DEFAULT_STAT[metric]
        if metric in DISTRIBUTIONS:
            dist = self.duration if metric == "Duration" else self.init_duration
            return dist.stat(stat)
        if metric in COUNTS:
            if stat != SUM:
                raise ValueError(f"{metric} supports only Sum, not {stat!r}")
            names = dict(zip(COUNTS, (self.invocations, self.errors, self.throttles,
                                      self.provisioned_invocations, self.spillover_invocations,
                                      self.cold_starts), strict=True))
            return float(names[metric])
        if stat != MAXIMUM:
            raise ValueError(f"{metric} supports only Maximum, not {stat!r}")
        if metric == "ProvisionedConcurrencyUtilization":
            return self.provisioned_utilization
        if metric == "ConcurrentExecutions":
            return float(self.concurrent_executions)
        return float(self.provisioned_concurrent_executions)


@dataclass(frozen=True)
class Series:
    """Period-aligned timestamps (epoch ms, period starts) and their values, oldest first."""

    period_s: int
    timestamps: tuple[int, ...] = ()
    values: tuple[float, ...] = ()


@dataclass(frozen=True)
class MetricDatum:
    """One custom metric from an EMF document: one metric under one dimension set."""

    namespace: str
    name: str
    values: tuple[float, ...]  # each value counts once (EMF arrays carry no Counts)
    timestamp_ms: int
    dimensions: tuple[tuple[str, str], ...] = ()  # in the DimensionSet's order
    unit: str = "None"
    storage_resolution: int = 60  # 1: high resolution

    @property
    def metric(self) -> CustomMetric:
        return CustomMetric(self.namespace, self.name, tuple(sorted(self.dimensions)))


@dataclass(frozen=True, order=True)
class CustomMetric:
    """What ListMetrics lists: namespace, name and the dimensions (sorted by name)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EmfResult:
    """What one EMF document yielded, or why it was rejected (then `datums` is empty)."""

    datums: tuple[MetricDatum, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ArchitectureUsage:
    architecture: str
    invocations: int
    gb_seconds: float
    compute_usd: float


@dataclass(frozen=True)
class CostReport:
    """A function's billed usage over a window, USD; the free tier shown apart from charges."""

    function: str
    qualifier: str | None
    since_ms: int
    until_ms: int
    invocations: int
    gb_seconds: float
    request_usd: float
    compute_usd: float
    ephemeral_usd: float
    provisioned_usd: float
    total_usd: float  # before the free tier
    by_architecture: tuple[ArchitectureUsage, ...]
    free_tier_requests: int
    free_tier_gb_seconds: float
    free_tier_usd: float  # the credit the free tier gives
    total_after_free_tier_usd: float
    monthly_projection_usd: float  # total_usd at this window's rate over 30 days
