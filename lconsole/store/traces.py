"""X-Ray segment documents in SQLite, and the trace and summary reads built from them.

Documents are kept as sent, one row per (trace, entity id): a later document with the same id
replaces the earlier one (an in-progress segment completed, a retransmission), as X-Ray does.
Trees are reassembled on read, so children may arrive before their parents. A ``traces`` row
per trace keeps its time span for range queries and retention.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from lconsole.model.trace import (
    Trace,
    TraceSummary,
    assemble_trace,
    document_problem,
    is_independent_subsegment,
    summarize,
)
from lconsole.store.db import transaction
from lconsole.telemetry.trace_filter import compile_filter

LAMBDA_ORIGINS = ("AWS::Lambda", "AWS::Lambda::Function")
_CHUNK = 200  # traces per read; also keeps IN (...) lists under SQLite's variable limit

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS trace_documents ("
    " trace_id TEXT NOT NULL, id TEXT NOT NULL, parent_id TEXT,"
    " is_subsegment INTEGER NOT NULL, name TEXT NOT NULL, origin TEXT, function TEXT,"
    " start_time REAL NOT NULL, end_time REAL, received_ms INTEGER NOT NULL,"
    " document TEXT NOT NULL, PRIMARY KEY (trace_id, id))",
    "CREATE INDEX IF NOT EXISTS trace_documents_function ON trace_documents(function, trace_id)",
    "CREATE TABLE IF NOT EXISTS traces ("
    " trace_id TEXT PRIMARY KEY, start_time REAL NOT NULL, end_time REAL NOT NULL,"
    " updated_ms INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS traces_start ON traces(start_time)",
    "CREATE INDEX IF NOT EXISTS traces_end ON traces(end_time)",
)

_UPSERT_DOCUMENT = (
    "INSERT OR REPLACE INTO trace_documents(trace_id, id, parent_id, is_subsegment, name,"
    " origin, function, start_time, end_time, received_ms, document)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def create_schema(conn: sqlite3.Connection) -> None:
    """Idempotent DDL; runs inside the caller's migration transaction."""
    for statement in SCHEMA:
        conn.execute(statement)


@dataclass(frozen=True)
class RejectedDocument:
    """A document that was not stored, like PutTraceSegments' UnprocessedTraceSegments."""

    id: str | None
    message: str


class TraceStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def put(
        self, documents: Iterable[Mapping[str, Any]], *, received_ms: int | None = None
    ) -> list[RejectedDocument]:
        """Store a batch in one transaction; invalid documents are returned, not raised."""
        now_ms = received_ms if received_ms is not None else int(time.time() * 1000)
        rows: list[tuple[object, ...]] = []
        rejected: list[RejectedDocument] = []
        for doc in documents:
            problem = document_problem(doc)
            if problem is not None:
                entity = doc.get("id") if isinstance(doc, Mapping) else None
                rejected.append(
                    RejectedDocument(entity if isinstance(entity, str) else None, problem)
                )
                continue
            rows.append(_row(doc, now_ms))
        if not rows:
            return rejected
        trace_ids = sorted({str(r[0]) for r in rows})
        conn = self.db.conn
        with transaction(self.db):
            conn.executemany(_UPSERT_DOCUMENT, rows)
            for chunk in _chunks(trace_ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(
                    "INSERT OR REPLACE INTO traces(trace_id, start_time, end_time, updated_ms)"
                    " SELECT trace_id, MIN(start_time), MAX(COALESCE(end_time, start_time)), ?"
                    f" FROM trace_documents WHERE trace_id IN ({marks}) GROUP BY trace_id",
                    [now_ms, *chunk],
                )
        return rejected

    def trace(self, trace_id: str) -> Trace | None:
        """The whole tree: segments with subsegments nested, late children attached."""
        return self._load([trace_id]).get(trace_id)

    def summaries(
        self,
        *,
        since: float,
        until: float,
        filter_expression: str | None = None,
        function: str | None = None,
        limit: int = 100,
    ) -> list[TraceSummary]:
        """Traces that started in [since, until] (epoch ms), newest first, matching the filter.

        ``function`` keeps traces in which that function's Lambda segments appear. A malformed
        ``filter_expression`` raises ``TraceFilterError`` before anything is read.
        """
        matches = compile_filter(filter_expression) if filter_expression else None
        sql = "SELECT trace_id FROM traces WHERE start_time >= ? AND start_time <= ?"
        args: list[object] = [since / 1000.0, until / 1000.0]
        if function is not None:
            sql += " AND trace_id IN (SELECT trace_id FROM trace_documents WHERE function = ?)"
            args.append(function)
        sql += " ORDER BY start_time DESC, trace_id"
        candidates = [row[0] for row in self.db.conn.execute(sql, args)]
        found: list[TraceSummary] = []
        for chunk in _chunks(candidates):
            loaded = self._load(chunk)
            for trace_id in chunk:
                trace = loaded.get(trace_id)
                if trace is None:
                    continue
                summary = summarize(trace)
                if matches is None or matches(summary):
                    found.append(summary)
                    if len(found) >= limit:
                        return found
        return found

    def delete_before(self, ms: float) -> int:
        """Retention: drop whole traces whose last activity ended before ``ms``; returns count."""
        cutoff = ms / 1000.0
        conn = self.db.conn
        with transaction(self.db):
            old = "SELECT trace_id FROM traces WHERE end_time < ?"
            conn.execute(f"DELETE FROM trace_documents WHERE trace_id IN ({old})", [cutoff])
            return conn.execute("DELETE FROM traces WHERE end_time < ?", [cutoff]).rowcount

    def _load(self, trace_ids: Sequence[str]) -> dict[str, Trace]:
        if not trace_ids:
            return {}
        marks = ",".join("?" * len(trace_ids))
        grouped: dict[str, list[dict[str, Any]]] = {}
        cur = self.db.conn.execute(
            f"SELECT trace_id, document FROM trace_documents WHERE trace_id IN ({marks})"
            " ORDER BY trace_id, start_time",
            list(trace_ids),
        )
        for trace_id, document in cur:
            grouped.setdefault(trace_id, []).append(json.loads(document))
        return {tid: assemble_trace(tid, docs) for tid, docs in grouped.items()}


def _row(doc: Mapping[str, Any], received_ms: int) -> tuple[object, ...]:
    origin = doc.get("origin") if isinstance(doc.get("origin"), str) else None
    independent = is_independent_subsegment(doc)
    function = doc["name"] if origin in LAMBDA_ORIGINS and not independent else None
    end = doc.get("end_time")
    return (
        doc["trace_id"],
        doc["id"],
        doc.get("parent_id") if isinstance(doc.get("parent_id"), str) else None,
        int(independent),
        doc["name"],
        origin,
        function,
        float(doc["start_time"]),
        float(end) if end is not None and doc.get("in_progress") is not True else None,
        received_ms,
        json.dumps(doc, separators=(",", ":")),
    )


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]
