"""The durable queue behind `Event` invokes: accepted means written, before the 202."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class QueuedEvent:
    id: int
    request_id: str
    function: str
    qualifier: str | None
    invoked_arn: str
    payload: bytes
    enqueued_ms: int
    attempts: int


class EventQueue:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def put(
        self,
        request_id: str,
        function: str,
        qualifier: str | None,
        invoked_arn: str,
        payload: bytes,
        enqueued_ms: int,
    ) -> QueuedEvent:
        cur = self.db.conn.execute(
            "INSERT INTO async_events(request_id, function, qualifier, invoked_arn, payload,"
            " enqueued_ms) VALUES (?, ?, ?, ?, ?, ?)",
            [request_id, function, qualifier, invoked_arn, payload, enqueued_ms],
        )
        return QueuedEvent(
            int(cur.lastrowid or 0),
            request_id,
            function,
            qualifier,
            invoked_arn,
            payload,
            enqueued_ms,
            0,
        )

    def attempted(self, event_id: int) -> None:
        self.db.conn.execute(
            "UPDATE async_events SET attempts = attempts + 1 WHERE id = ?", [event_id]
        )

    def done(self, event_id: int) -> None:
        self.db.conn.execute("DELETE FROM async_events WHERE id = ?", [event_id])

    def pending(self) -> list[QueuedEvent]:
        rows = self.db.conn.execute(
            "SELECT id, request_id, function, qualifier, invoked_arn, payload, enqueued_ms,"
            " attempts FROM async_events ORDER BY id"
        )
        return [QueuedEvent(*row) for row in rows]
