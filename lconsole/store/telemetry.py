"""Log events and invocation records: batched inserts and the reads the APIs need."""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from lconsole.model.invocation import InvocationRecord
from lconsole.model.telemetry import LogEvent
from lconsole.store.db import transaction

_INSERT_LOG = (
    "INSERT INTO log_events(log_group, log_stream, ts, ingested, request_id, message)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_INVOCATION = (
    "INSERT OR REPLACE INTO invocations(request_id, function, qualifier, executed_version,"
    " environment_id, cold, provisioned, invocation_type, start_ms, end_ms, init_ms,"
    " duration_ms, billed_ms, memory_mb, max_memory_mb, status, error_type, architecture,"
    " cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _invocation_row(r: InvocationRecord) -> tuple[object, ...]:
    return (
        r.request_id,
        r.function,
        r.qualifier,
        r.executed_version,
        r.environment_id,
        int(r.cold),
        int(r.provisioned),
        str(r.invocation_type),
        r.start_ms,
        r.end_ms,
        r.init_ms,
        r.duration_ms,
        r.billed_ms,
        r.memory_mb,
        r.max_memory_mb,
        str(r.status),
        r.error_type,
        r.architecture,
        r.cost_usd,
    )


class TelemetryStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def write(
        self,
        events: Sequence[tuple[LogEvent, int]],
        invocations: Sequence[InvocationRecord],
    ) -> None:
        """One transaction per batch: (event, ingestion ms) pairs and invocation records."""
        conn = self.db.conn
        with transaction(self.db):
            if events:
                conn.executemany(
                    _INSERT_LOG,
                    [
                        (e.group, e.stream, e.timestamp, ingested, e.request_id, e.message)
                        for e, ingested in events
                    ],
                )
            if invocations:
                conn.executemany(_INSERT_INVOCATION, [_invocation_row(r) for r in invocations])

    def log_events(
        self,
        group: str,
        *,
        stream: str | None = None,
        request_id: str | None = None,
        since_ms: int | None = None,
        limit: int = 1000,
    ) -> list[LogEvent]:
        sql = (
            "SELECT log_group, log_stream, ts, message, request_id FROM log_events"
            " WHERE log_group = ?"
        )
        args: list[object] = [group]
        if stream is not None:
            sql += " AND log_stream = ?"
            args.append(stream)
        if request_id is not None:
            sql += " AND request_id = ?"
            args.append(request_id)
        if since_ms is not None:
            sql += " AND ts >= ?"
            args.append(since_ms)
        sql += " ORDER BY ts, id LIMIT ?"
        args.append(limit)
        return [LogEvent(g, s, t, m, r) for g, s, t, m, r in self.db.conn.execute(sql, args)]

    def invocations(self, function: str, limit: int = 100) -> list[dict[str, object]]:
        cur = self.db.conn.execute(
            "SELECT * FROM invocations WHERE function = ? ORDER BY start_ms DESC LIMIT ?",
            [function, limit],
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]
