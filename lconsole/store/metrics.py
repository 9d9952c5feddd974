"""Custom (EMF) metric values, Lambda metric rollups and cost, read from the state database.

Custom metrics are one row per value under a series row (namespace, name, dimensions), so any
statistic, percentiles included, is computed exactly over the values of a period. Lambda
metrics are not stored twice: they are rolled up on demand from the `invocations` table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import sqlite_utils

from lconsole.model.invocation import InvocationRecord, InvocationType, Status
from lconsole.model.metrics import (
    ArchitectureUsage,
    CostReport,
    CustomMetric,
    Distribution,
    MetricDatum,
    MetricKey,
    MetricPoint,
    Series,
)
from lconsole.store.db import transaction
from lconsole.telemetry import cost
from lconsole.telemetry.metrics import LONGEST_RUN_MS, align, rollup

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS metric_series ("
    " id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,"
    " dimensions TEXT NOT NULL, UNIQUE (namespace, name, dimensions))",
    "CREATE TABLE IF NOT EXISTS metric_values ("
    " series INTEGER NOT NULL REFERENCES metric_series(id) ON DELETE CASCADE,"
    " ts INTEGER NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL,"
    " resolution INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS metric_values_series_ts ON metric_values(series, ts)",
    "CREATE INDEX IF NOT EXISTS metric_values_ts ON metric_values(ts)",
)

_INVOCATION_COLUMNS = (
    "request_id, function, qualifier, executed_version, environment_id, cold, provisioned,"
    " invocation_type, start_ms, end_ms, init_ms, duration_ms, billed_ms, memory_mb,"
    " max_memory_mb, status, error_type, architecture, cost_usd"
)
_EPSILON_USD = 1e-15  # float noise left when the stored total is split into its parts


def create_schema(conn: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Create the metric tables if missing; safe to call on every start."""
    raw = conn.conn if isinstance(conn, sqlite_utils.Database) else conn
    for statement in SCHEMA:
        raw.execute(statement)


def _dimensions_key(dimensions: Iterable[tuple[str, str]]) -> str:
    """A metric's identity ignores dimension order: one canonical JSON object."""
    return json.dumps(dict(sorted(dimensions)), separators=(",", ":"), ensure_ascii=False)


def _stat_value(values: Sequence[float], stat: str) -> float | None:
    return Distribution.of(values).stat(stat)


class MetricStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        create_schema(db)
        self._series_ids: dict[tuple[str, str, str], int] = {}

    # custom metrics -------------------------------------------------------------------------

    def put_custom(self, datums: Iterable[MetricDatum]) -> int:
        """Store every value of `datums` in one transaction; returns how many values."""
        rows: list[tuple[int, int, float, str, int]] = []
        with transaction(self.db):
            for d in datums:
                series = self._series_id(d.namespace, d.name, _dimensions_key(d.dimensions))
                rows.extend((series, d.timestamp_ms, v, d.unit, d.storage_resolution)
                            for v in d.values)
            self.db.conn.executemany(
                "INSERT INTO metric_values(series, ts, value, unit, resolution)"
                " VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def _series_id(self, namespace: str, name: str, dims: str) -> int:
        ident = (namespace, name, dims)
        cached = self._series_ids.get(ident)
        if cached is not None:
            return cached
        conn = self.db.conn
        conn.execute("INSERT OR IGNORE INTO metric_series(namespace, name, dimensions)"
                     " VALUES (?, ?, ?)", ident)
        (series,) = conn.execute("SELECT id FROM metric_series WHERE namespace = ? AND name = ?"
                                 " AND dimensions = ?", ident).fetchone()
        self._series_ids[ident] = series
        return series

    def custom_series(self, namespace: str, metric: str, dimensions: Mapping[str, str],
                      since: int, until: int, period_s: int, stat: str, *,
                      unit: str | None = None, fill: float | None = 0.0) -> Series:
        """One custom metric (exact dimension match) over [since, until) epoch ms.

        Periods are aligned to the epoch; empty ones get `fill` (None leaves them out, as
        GetMetricData does). `unit` restricts to values stored with that unit.
        """
        if period_s < 1:
            raise ValueError("period_s must be positive")
        _stat_value([1.0], stat)  # unknown statistics raise before any query
        sql = ("SELECT v.ts, v.value FROM metric_values v JOIN metric_series s ON s.id = v.series"
               " WHERE s.namespace = ? AND s.name = ? AND s.dimensions = ?"
               " AND v.ts >= ? AND v.ts < ?")
        args: list[object] = [namespace, metric, _dimensions_key(dimensions.items()), since,
                              until]
        if unit is not None:
            sql += " AND v.unit = ?"
            args.append(unit)
        by_period: dict[int, list[float]] = {}
        for ts, value in self.db.conn.execute(sql, args):
            by_period.setdefault(align(ts, period_s), []).append(value)
        timestamps: list[int] = []
        values: list[float] = []
        for start in range(align(since, period_s), until, period_s * 1000):
            got = _stat_value(by_period[start], stat) if start in by_period else None
            if got is None:
                if fill is None:
                    continue
                got = fill
            timestamps.append(start)
            values.append(got)
        return Series(period_s, tuple(timestamps), tuple(values))

    def list_custom_metrics(self, namespace: str | None = None, *,
                            name: str | None = None) -> list[CustomMetric]:
        """Metrics holding values, like ListMetrics: sorted by namespace, name, dimensions."""
        sql = "SELECT namespace, name, dimensions FROM metric_series WHERE 1"
        args: list[object] = []
        if namespace is not None:
            sql += " AND namespace = ?"
            args.append(namespace)
        if name is not None:
            sql += " AND name = ?"
            args.append(name)
        found = [CustomMetric(ns, n, tuple(json.loads(dims).items()))
                 for ns, n, dims in self.db.conn.execute(sql, args)]
        return sorted(found)

    def delete_before(self, ms: int) -> int:
        """Retention: drop custom values older than `ms` and series left empty."""
        conn = self.db.conn
        with transaction(self.db):
            deleted = conn.execute("DELETE FROM metric_values WHERE ts < ?", [ms]).rowcount
            conn.execute("DELETE FROM metric_series WHERE NOT EXISTS"
                         " (SELECT 1 FROM metric_values v WHERE v.series = metric_series.id)")
        self._series_ids.clear()
        return deleted

    # Lambda metrics and cost, from invocation records ---------------------------------------

    def minute_rollups(self, function: str, resource: str | None, since: int, until: int, *,
                       executed_version: str | None = None, period_s: int = 60,
                       provisioned: Mapping[str, int] | None = None) -> list[MetricPoint]:
        """Lambda metrics of one key per period, from stored invocations started in the window.

        `resource` is a qualifier (`prod`, `3`) or `name:qualifier`; None means the whole
        function. `provisioned` (qualifier → configured PC) marks on-demand runs of those
        qualifiers as spillover and gives ProvisionedConcurrencyUtilization.
        """
        key = MetricKey(function, _qualifier(function, resource), executed_version)
        # Invocations that started earlier but still ran in the window count for concurrency.
        rows = self.db.conn.execute(
            f"SELECT {_INVOCATION_COLUMNS} FROM invocations WHERE function = ?"
            " AND start_ms >= ? AND start_ms < ? ORDER BY start_ms",
            [function, since - LONGEST_RUN_MS, until],
        )
        before: list[InvocationRecord] = []
        inside: list[InvocationRecord] = []
        for row in rows:
            record = _record(row, provisioned or {})
            if record.start_ms >= since:
                inside.append(record)
            elif record.end_ms > since:
                before.append(record)
        first = align(since, period_s)
        points = rollup([*before, *inside], period_s, provisioned=provisioned)
        found = [p for p in points if p.key == key and p.timestamp_ms >= first]
        if before:  # their counts belong to earlier periods; keep only their concurrency
            counted = {p.timestamp_ms: p for p in rollup(inside, period_s)
                       if p.key == key}
            found = [_with_counts(p, counted.get(p.timestamp_ms)) for p in found]
        return found

    def cost_summary(self, function: str, *, resource: str | None = None, since: int,
                     until: int, provisioned_usd: float = 0.0,
                     free_tier: bool = True) -> CostReport:
        """Billed usage of invocations started in [since, until): requests, GB-s, storage.

        Request and duration charges are recomputed from the stored billed ms, memory,
        architecture and provisioned flag; the rest of each stored `cost_usd` is the
        ephemeral-storage charge. The free tier (whole month's, by default) is credited apart.
        """
        qualifier = _qualifier(function, resource)
        sql = ("SELECT architecture, provisioned, billed_ms, memory_mb, COUNT(*), SUM(cost_usd)"
               " FROM invocations WHERE function = ? AND start_ms >= ? AND start_ms < ?"
               " AND status != ? AND invocation_type != ?")
        args: list[object] = [function, since, until, str(Status.THROTTLED),
                              str(InvocationType.DRY_RUN)]
        if qualifier is not None:
            sql += " AND qualifier = ?"
            args.append(qualifier)
        sql += " GROUP BY architecture, provisioned, billed_ms, memory_mb ORDER BY MIN(start_ms)"
        items: list[cost.CostItem] = []
        usage: dict[str, list[float]] = {}
        for arch, pc, billed, memory, count, stored in self.db.conn.execute(sql, args):
            base = cost.invocation_cost(billed, memory, arch, provisioned=bool(pc))
            ephemeral = max(0.0, stored / count - base.total)
            ephemeral = ephemeral if ephemeral > _EPSILON_USD else 0.0
            items.append((cost.InvocationCost(base.request, base.compute, ephemeral,
                                              base.total + ephemeral, bool(pc)),
                          billed, memory, count))
            row = usage.setdefault(arch, [0, 0.0, 0.0])
            row[0] += count
            row[1] += cost.gb_seconds(billed, memory) * count
            row[2] += base.compute * count
        summary = cost.summarise(items, provisioned_usd=provisioned_usd, free_tier=free_tier)
        window_s = (until - since) / 1000
        return CostReport(
            function=function, qualifier=qualifier, since_ms=since, until_ms=until,
            invocations=summary.invocations, gb_seconds=summary.gb_seconds,
            request_usd=summary.request_cost, compute_usd=summary.compute_cost,
            ephemeral_usd=summary.ephemeral_cost, provisioned_usd=summary.provisioned_cost,
            total_usd=summary.total,
            by_architecture=tuple(ArchitectureUsage(a, int(n), gbs, usd)
                                  for a, (n, gbs, usd) in sorted(usage.items())),
            free_tier_requests=summary.free_tier_requests_used,
            free_tier_gb_seconds=summary.free_tier_gb_seconds_used,
            free_tier_usd=summary.total - summary.total_after_free_tier,
            total_after_free_tier_usd=summary.total_after_free_tier,
            monthly_projection_usd=(cost.monthly_projection(summary.total, window_s)
                                    if window_s > 0 else 0.0),
        )


def _qualifier(function: str, resource: str | None) -> str | None:
    if resource is None:
        return None
    prefix = f"{function}:"
    return resource[len(prefix):] if resource.startswith(prefix) else resource


def _record(row: tuple[object, ...], provisioned: Mapping[str, int]) -> InvocationRecord:
    (request_id, function, qualifier, executed, env, cold, pc, kind, start, end, init,
     duration, billed, memory, max_memory, status, error_type, arch, usd) = row
    record = InvocationRecord(
        request_id=str(request_id), function=str(function),
        qualifier=None if qualifier is None else str(qualifier),
        executed_version=str(executed), environment_id=str(env or ""), cold=bool(cold),
        start_ms=int(start), end_ms=int(end), init_ms=None if init is None else float(init),
        duration_ms=float(duration), billed_ms=int(billed), memory_mb=int(memory),
        max_memory_mb=int(max_memory), status=Status(status),
        error_type=None if error_type is None else str(error_type), architecture=str(arch),
        invocation_type=InvocationType(kind), provisioned=bool(pc), cost_usd=float(usd),
    )
    if not record.provisioned and record.qualifier in provisioned:
        record.extra["spillover"] = True
    return record


def _with_counts(point: MetricPoint, counted: MetricPoint | None) -> MetricPoint:
    """`point`'s concurrency with the counts of invocations that started in the window."""
    base = counted or MetricPoint(point.key, point.timestamp_ms, point.period_s)
    return replace(base, concurrent_executions=point.concurrent_executions,
                   provisioned_concurrent_executions=point.provisioned_concurrent_executions,
                   provisioned_utilization=point.provisioned_utilization)
