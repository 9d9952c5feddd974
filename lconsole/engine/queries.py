"""The engine's read side for the console: logs, Insights, traces, metrics and cost.

Each query runs on the calling (worker) thread with that thread's own SQLite connection: WAL
lets it read while the engine writes, so the API can run queries off the event loop (after
flushing the telemetry writer on the loop, so a query sees the latest). Errors
come out as one `QueryError` carrying an AWS-style code, whichever store raised them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from lconsole.model.metrics import CostReport, MetricKey, Series
from lconsole.model.trace import Trace, TraceSummary, summarize
from lconsole.store import db as store_db
from lconsole.store.logs import LogsError, LogStore, StoredLogEvent
from lconsole.store.metrics import MetricStore
from lconsole.store.telemetry import TelemetryStore
from lconsole.store.traces import TraceStore
from lconsole.telemetry import metrics as metric_math
from lconsole.telemetry.filters import FilterPatternError, compile_pattern
from lconsole.telemetry.insights import InsightsError
from lconsole.telemetry.metrics import LiveMetrics
from lconsole.telemetry.trace_filter import TraceFilterError, compile_filter
from lconsole.telemetry.xray import SERVICE_ORIGIN

T = TypeVar("T")
LIVE_WINDOW_MS = 15 * 60_000  # the live 1-second buckets cover this much

# What the metrics view charts, in CloudWatch's names and statistics.
CHARTS = (
    ("Invocations", "Sum"),
    ("Errors", "Sum"),
    ("Throttles", "Sum"),
    ("Duration", "p50"),
    ("Duration", "p99"),
    ("Duration", "Average"),
    ("Duration", "Maximum"),
    ("ConcurrentExecutions", "Maximum"),
    ("ColdStarts", "Sum"),
    ("InitDuration", "Average"),
    ("ProvisionedConcurrencySpilloverInvocations", "Sum"),
    ("ProvisionedConcurrencyUtilization", "Maximum"),
)


class QueryError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Queries:
    def __init__(self, database: Path, live: LiveMetrics) -> None:
        self.database = database
        self.live = live
        self._local = threading.local()

    def _db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = store_db.connect(self.database)
        return db

    def _run(self, work: Callable[[sqlite_utils.Database], T]) -> T:
        try:
            return work(self._db())
        except LogsError as exc:
            raise QueryError(exc.code, exc.message, exc.status) from None
        except (FilterPatternError, InsightsError, TraceFilterError) as exc:
            raise QueryError("InvalidParameterException", str(exc)) from None

    # Logs ---------------------------------------------------------------------------------

    def logs(
        self,
        function: str,
        pattern: str | None,
        *,
        start_ms: int,
        end_ms: int,
        limit: int,
        next_token: str | None = None,
        request_id: str | None = None,
    ) -> tuple[list[StoredLogEvent], str | None]:
        """FilterLogEvents over the function's group; no group yet means no events."""
        group = f"/aws/lambda/{function}"

        def work(db: sqlite_utils.Database) -> tuple[list[StoredLogEvent], str | None]:
            store = LogStore(db)
            if request_id is not None:  # one invocation's lines (indexed), then the pattern
                matcher = compile_pattern(pattern) if pattern else None
                lines = [
                    StoredLogEvent(
                        0, e.group, e.stream, e.timestamp, e.timestamp, e.message, e.request_id
                    )
                    for e in TelemetryStore(db).log_events(
                        group, request_id=request_id, since_ms=start_ms, limit=10_000
                    )
                    if e.timestamp <= end_ms and (matcher is None or matcher.matches(e.message))
                ]
                return lines[:limit], None
            page = store.filter_log_events(
                group,
                pattern,
                start_ms=start_ms,
                end_ms=end_ms,
                limit=min(limit, 10_000),
                next_token=next_token,
            )
            return page.events, page.next_token

        try:
            return self._run(work)
        except QueryError as exc:
            if exc.code == "ResourceNotFoundException":
                return [], None
            raise

    def insights(
        self, function: str, query: str, start_ms: int, end_ms: int, limit: int | None
    ) -> dict[str, Any]:
        def work(db: sqlite_utils.Database) -> dict[str, Any]:
            result = LogStore(db).insights(
                [f"/aws/lambda/{function}"], query, start_ms, end_ms, limit
            )
            return {
                "results": result.rows,
                "statistics": {
                    "records_scanned": result.records_scanned,
                    "bytes_scanned": result.bytes_scanned,
                },
            }

        return self._run(work)

    # Traces -------------------------------------------------------------------------------

    def traces(
        self,
        function: str | None,
        *,
        start_ms: int,
        end_ms: int,
        expression: str | None,
        limit: int,
        request_id: str | None = None,
    ) -> list[TraceSummary]:
        """GetTraceSummaries; `request_id` keeps the trace of that one invocation (or retries)."""
        if request_id is not None:
            return self._run(
                lambda db: _traces_of_request(
                    db, function, request_id, start_ms, end_ms, expression, limit
                )
            )
        return self._run(
            lambda db: TraceStore(db).summaries(
                since=start_ms,
                until=end_ms,
                filter_expression=expression,
                function=function,
                limit=limit,
            )
        )

    def trace(self, trace_id: str) -> Trace | None:
        return self._run(lambda db: TraceStore(db).trace(trace_id))

    # Metrics ------------------------------------------------------------------------------

    def metrics(
        self,
        function: str,
        qualifier: str | None,
        *,
        start_ms: int,
        end_ms: int,
        period_s: int,
        provisioned: dict[str, int] | None = None,
    ) -> tuple[str, list[tuple[str, str, Series]]]:
        """The charted Lambda metrics: live 1-second buckets when recent and fine, else stored."""
        now = int(time.time() * 1000)
        key = MetricKey(function, qualifier)
        if period_s < 60 and start_ms >= now - LIVE_WINDOW_MS:
            return "live", [
                (
                    name,
                    stat,
                    self.live.series(
                        key, name, stat, since_ms=start_ms, until_ms=end_ms, period_s=period_s
                    ),
                )
                for name, stat in CHARTS
            ]
        period = max(60, period_s)

        def work(db: sqlite_utils.Database) -> list[tuple[str, str, Series]]:
            points = MetricStore(db).minute_rollups(
                function, qualifier, start_ms, end_ms, period_s=period, provisioned=provisioned
            )
            return [
                (
                    name,
                    stat,
                    metric_math.series(
                        points, name, stat, since_ms=start_ms, until_ms=end_ms, period_s=period
                    ),
                )
                for name, stat in CHARTS
            ]

        return "stored", self._run(work)

    def custom_metrics(self, namespace: str | None) -> list[Any]:
        return self._run(lambda db: MetricStore(db).list_custom_metrics(namespace))

    def custom_series(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        *,
        start_ms: int,
        end_ms: int,
        period_s: int,
        stat: str,
    ) -> Series:
        return self._run(
            lambda db: MetricStore(db).custom_series(
                namespace, name, dimensions, start_ms, end_ms, period_s, stat
            )
        )

    def cost(
        self,
        function: str,
        qualifier: str | None,
        *,
        start_ms: int,
        end_ms: int,
        provisioned_usd: float = 0.0,
    ) -> CostReport:
        return self._run(
            lambda db: MetricStore(db).cost_summary(
                function,
                resource=qualifier,
                since=start_ms,
                until=end_ms,
                provisioned_usd=provisioned_usd,
            )
        )

    # Retention ----------------------------------------------------------------------------

    def put_log_retention(self, function: str, days: int | None) -> None:
        """PutRetentionPolicy (or DeleteRetentionPolicy for None) on the function's group."""
        group = f"/aws/lambda/{function}"

        def work(db: sqlite_utils.Database) -> None:
            store = LogStore(db)
            if days is None:
                store.delete_retention_policy(group)
            else:
                store.put_retention_policy(group, days)

        self._run(work)


def _traces_of_request(
    db: sqlite_utils.Database,
    function: str | None,
    request_id: str,
    start_ms: int,
    end_ms: int,
    expression: str | None,
    limit: int,
) -> list[TraceSummary]:
    """Traces whose Lambda service segment (`AWS::Lambda`) carries `aws.request_id`.

    That segment is the one Lambda writes for each traced invocation, so an invocation's
    request id finds its trace without scanning every trace of the function.
    """
    matches = compile_filter(expression) if expression else None
    sql = (
        "SELECT d.trace_id FROM trace_documents d JOIN traces t ON t.trace_id = d.trace_id"
        " WHERE d.origin = ? AND json_extract(d.document, '$.aws.request_id') = ?"
        " AND t.start_time >= ? AND t.start_time <= ?"
    )
    args: list[object] = [SERVICE_ORIGIN, request_id, start_ms / 1000.0, end_ms / 1000.0]
    if function is not None:
        sql += " AND d.function = ?"
        args.append(function)
    sql += " GROUP BY d.trace_id ORDER BY MAX(t.start_time) DESC"
    store = TraceStore(db)
    found: list[TraceSummary] = []
    for (trace_id,) in db.conn.execute(sql, args).fetchall():
        trace = store.trace(trace_id)
        if trace is None:
            continue
        summary = summarize(trace)
        if matches is None or matches(summary):
            found.append(summary)
            if len(found) >= limit:
                break
    return found
