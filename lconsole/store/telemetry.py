"""Log events and invocation records as they are written and expired, and the log groups and
streams those writes create.

Everything that adds or removes log events lives here, so log_events, its full-text index
(log_fts) and the per-group/per-stream figures (log_groups, log_streams) change together, in
one transaction per batch. `LogGroups` reads those figures back (Describe*) and holds the
retention policy that `apply_retention` enforces. Event queries are in `lconsole.store.logs`.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlite_utils

from lconsole.model.invocation import InvocationRecord
from lconsole.model.telemetry import LogEvent
from lconsole.store.db import transaction

DAY_MS = 86_400_000
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653)
MAX_DESCRIBE = 50
EXPIRY_BATCH = 2_000  # events deleted per transaction: short enough never to stall the writer
MERGE_PAGES = 200  # index pages rewritten per transaction when compacting after expiry

_INSERT_LOG = (
    "INSERT INTO log_events(log_group, log_stream, ts, ingested, request_id, message)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
# Indexing with one INSERT ... SELECT per batch is ~2.5x faster than an AFTER INSERT trigger.
_INDEX_NEW = "INSERT INTO log_fts(rowid, message) SELECT id, message FROM log_events WHERE id > ?"
_UPSERT_STREAM = (
    "INSERT INTO log_streams(log_group, name, created, first_ts, last_ts, last_ingested)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(log_group, name) DO UPDATE SET"
    " first_ts = min(coalesce(first_ts, excluded.first_ts), excluded.first_ts),"
    " last_ts = max(coalesce(last_ts, excluded.last_ts), excluded.last_ts),"
    " last_ingested = max(coalesce(last_ingested, excluded.last_ingested),"
    " excluded.last_ingested)"
)
_UPSERT_GROUP = (
    "INSERT INTO log_groups(name, created, stored_bytes, events) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(name) DO UPDATE SET stored_bytes = stored_bytes + excluded.stored_bytes,"
    " events = events + excluded.events"
)
_INSERT_INVOCATION = (
    "INSERT OR REPLACE INTO invocations(request_id, function, qualifier, executed_version,"
    " environment_id, cold, provisioned, invocation_type, start_ms, end_ms, init_ms,"
    " duration_ms, billed_ms, memory_mb, max_memory_mb, status, error_type, architecture,"
    " cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# Expiry, one batch: pick the oldest expired events of one group, drop their index entries (an
# external-content FTS5 table needs the original text to delete), then the rows. The newest
# row (max id) is never deleted, so ids stay increasing and follower cursors never go stale.
_PICK_EXPIRED = (
    "INSERT INTO temp.expired(id) SELECT id FROM log_events"
    " WHERE log_group = ? AND ts < ? AND id < (SELECT max(id) FROM log_events)"
    " ORDER BY ts LIMIT ?"
)
_UNINDEX_EXPIRED = (
    "INSERT INTO log_fts(log_fts, rowid, message)"
    " SELECT 'delete', e.id, e.message FROM temp.expired x JOIN log_events e ON e.id = x.id"
)
_SHRINK_GROUP = (
    "UPDATE log_groups SET"
    " stored_bytes = stored_bytes - (SELECT coalesce(sum(length(CAST(e.message AS BLOB))), 0)"
    " FROM temp.expired x JOIN log_events e ON e.id = x.id),"
    " events = events - (SELECT count(*) FROM temp.expired) WHERE name = ?"
)
_DELETE_EXPIRED = "DELETE FROM log_events WHERE id IN (SELECT id FROM temp.expired)"
_REFRESH_STREAMS = (
    "UPDATE log_streams SET first_ts = coalesce((SELECT min(e.ts) FROM log_events e"
    " WHERE e.log_group = log_streams.log_group AND e.log_stream = log_streams.name), first_ts)"
    " WHERE log_group = ? AND first_ts < ?"
)


@dataclass
class LogsError(Exception):
    """A CloudWatch Logs error: `code` is the AWS error code (`__type`), `message` its text."""

    code: str
    message: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def invalid(message: str) -> LogsError:
    return LogsError("InvalidParameterException", message)


def not_found(message: str) -> LogsError:
    return LogsError("ResourceNotFoundException", message)


def check_limit(name: str, value: int, top: int) -> None:
    if value > top:
        raise invalid(f"1 validation error detected: Value '{value}' at '{name}' failed to "
                      f"satisfy constraint: Member must have value less than or equal to {top}")
    if value < 1:
        raise invalid(f"1 validation error detected: Value '{value}' at '{name}' failed to "
                      "satisfy constraint: Member must have value greater than or equal to 1")


@dataclass(frozen=True)
class LogGroupInfo:
    name: str
    creation_time: int
    retention_days: int | None
    stored_bytes: int


@dataclass(frozen=True)
class LogStreamInfo:
    name: str
    creation_time: int
    first_event_timestamp: int | None
    last_event_timestamp: int | None
    last_ingestion_time: int | None
    stored_bytes: int = 0  # AWS has reported zero for streams since 2019


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def encode_token(text: str) -> str:
    """An opaque paging token (base64url, unpadded) around a position written as text."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise invalid("The specified nextToken is invalid.") from None


@dataclass(frozen=True)
class Expiry:
    """What one `apply_retention` call removed; `done` is False when it stopped early."""

    events: int
    bytes: int
    done: bool
    longest_hold_ms: float = 0.0  # the longest the write lock was held by one transaction


def _batch_rows(
    events: Sequence[tuple[LogEvent, int]],
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Rows to insert plus the batch's per-stream and per-group figures, in one pass."""
    rows: list[tuple[object, ...]] = []
    streams: dict[tuple[str, str], list[int]] = {}  # created, first ts, last ts, last ingested
    groups: dict[str, list[int]] = {}  # created, bytes, events
    for e, ingested in events:
        rows.append((e.group, e.stream, e.timestamp, ingested, e.request_id, e.message))
        size = len(e.message) if e.message.isascii() else len(e.message.encode())
        s = streams.get((e.group, e.stream))
        if s is None:
            streams[(e.group, e.stream)] = [ingested, e.timestamp, e.timestamp, ingested]
        else:
            s[0] = min(s[0], ingested)
            s[1] = min(s[1], e.timestamp)
            s[2] = max(s[2], e.timestamp)
            s[3] = max(s[3], ingested)
        g = groups.get(e.group)
        if g is None:
            groups[e.group] = [ingested, size, 1]
        else:
            g[0] = min(g[0], ingested)
            g[1] += size
            g[2] += 1
    return (
        rows,
        [(group, stream, *figures) for (group, stream), figures in streams.items()],
        [(group, *figures) for group, figures in groups.items()],
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
        rows, streams, groups = _batch_rows(events)
        with transaction(self.db):
            if rows:
                (last_id,) = conn.execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()
                conn.executemany(_INSERT_LOG, rows)
                conn.execute(_INDEX_NEW, (last_id,))
                conn.executemany(_UPSERT_STREAM, streams)
                conn.executemany(_UPSERT_GROUP, groups)
            if invocations:
                conn.executemany(_INSERT_INVOCATION, [_invocation_row(r) for r in invocations])

    def apply_retention(
        self, now_ms: int, *, batch: int = EXPIRY_BATCH, max_seconds: float | None = None
    ) -> Expiry:
        """Delete events older than their group's retention, `batch` events per transaction,
        then compact the full-text index, whose deletions are only markers until merged (without
        that the index of a store at steady state keeps growing between automerges).

        After each transaction this pauses as long as it held the lock: SQLite's busy handler
        polls, so a lock released and retaken at once would starve a waiting writer. A writer
        therefore waits about one transaction at most. `max_seconds` bounds the whole call; a
        later call carries on where this one stopped.
        """
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self.db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS expired(id INTEGER PRIMARY KEY)")
        groups = self.db.conn.execute(
            "SELECT name, retention_days FROM log_groups WHERE retention_days IS NOT NULL"
        ).fetchall()
        removed = freed = 0
        longest = 0.0
        for group, days in groups:
            cutoff = now_ms - days * DAY_MS
            count = batch
            while count == batch:
                if deadline is not None and time.monotonic() >= deadline:
                    return Expiry(removed, freed, False, round(longest * 1000, 1))
                count, size, held = self._expire_batch(group, cutoff, batch)
                longest = max(longest, held)
                removed += count
                freed += size
                if count:
                    time.sleep(held)
        done = True
        if removed:
            done, held = self._compact_index(deadline)
            longest = max(longest, held)
        return Expiry(removed, freed, done, round(longest * 1000, 1))

    def _compact_index(self, deadline: float | None) -> tuple[bool, float]:
        """Incremental FTS5 merges until one reports no work; returns whether it finished and
        the longest transaction in seconds.

        A positive page count merges levels holding `usermerge` (2, set with the table) or more
        segments, as automerge does. A negative count, which merges every level, corrupted the
        index (SQLite 3.40) when another connection wrote between two of its steps.
        """
        conn = self.db.conn
        longest = 0.0
        while deadline is None or time.monotonic() < deadline:
            before = conn.total_changes
            with transaction(self.db):
                started = time.monotonic()  # the lock is held from here
                conn.execute("INSERT INTO log_fts(log_fts, rank) VALUES ('merge', ?)",
                             (MERGE_PAGES,))
            held = time.monotonic() - started
            longest = max(longest, held)
            if conn.total_changes - before < 2:  # FTS5's documented "no work done" signal
                return True, longest
            time.sleep(held)
        return False, longest

    def _expire_batch(self, group: str, cutoff: int, batch: int) -> tuple[int, int, float]:
        """One transaction: remove up to `batch` expired events of `group` and their index
        entries, and take them off the group's figures. Returns count, bytes, seconds held."""
        conn = self.db.conn
        with transaction(self.db):
            started = time.monotonic()  # the lock is held from here
            conn.execute("DELETE FROM temp.expired")
            conn.execute(_PICK_EXPIRED, (group, cutoff, batch))
            (count,) = conn.execute("SELECT count(*) FROM temp.expired").fetchone()
            if not count:
                return 0, 0, 0.0
            (size,) = conn.execute(
                "SELECT coalesce(sum(length(CAST(e.message AS BLOB))), 0)"
                " FROM temp.expired x JOIN log_events e ON e.id = x.id"
            ).fetchone()
            conn.execute(_UNINDEX_EXPIRED)
            conn.execute(_SHRINK_GROUP, (group,))
            conn.execute(_DELETE_EXPIRED)
            conn.execute(_REFRESH_STREAMS, (group, cutoff))
            conn.execute("DELETE FROM temp.expired")
        return count, size, time.monotonic() - started  # commit included

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
        sql += " ORDER BY ts, ingested, id LIMIT ?"
        args.append(limit)
        return [LogEvent(g, s, t, m, r) for g, s, t, m, r in self.db.conn.execute(sql, args)]

    def invocations(self, function: str, limit: int = 100) -> list[dict[str, object]]:
        cur = self.db.conn.execute(
            "SELECT * FROM invocations WHERE function = ? ORDER BY start_ms DESC LIMIT ?",
            [function, limit],
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur]


class LogGroups:
    """The log groups and streams that writes create: Describe* and the retention policy."""

    def __init__(self, db: sqlite_utils.Database, account: str = "000000000000") -> None:
        self.db = db
        self.account = account

    def require_group(self, group: str) -> None:
        if self.db.conn.execute("SELECT 1 FROM log_groups WHERE name = ?", (group,)).fetchone():
            return
        raise not_found("The specified log group does not exist.")

    # ------------------------------------------------------------------------------ Describe*
    def describe_log_groups(
        self, *, prefix: str | None = None, limit: int = MAX_DESCRIBE,
        next_token: str | None = None,
    ) -> Page[LogGroupInfo]:
        """Groups ordered by name."""
        check_limit("limit", limit, MAX_DESCRIBE)
        after = "" if next_token is None else decode_token(next_token)
        rows = self.db.conn.execute(
            "SELECT name, created, retention_days, stored_bytes FROM log_groups"
            " WHERE name > ? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ?",
            (after, len(prefix or ""), prefix or "", limit + 1),
        ).fetchall()
        items = [LogGroupInfo(*r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_token(items[-1].name) if more else None)

    def describe_log_streams(
        self, group: str, *, prefix: str | None = None, order_by: str = "LogStreamName",
        descending: bool = False, limit: int = MAX_DESCRIBE, next_token: str | None = None,
    ) -> Page[LogStreamInfo]:
        """Streams ordered by name, or by last event time (`order_by="LastEventTime"`)."""
        check_limit("limit", limit, MAX_DESCRIBE)
        if order_by not in ("LogStreamName", "LastEventTime"):
            raise invalid(f"1 validation error detected: Value '{order_by}' at 'orderBy' failed "
                          "to satisfy constraint: Member must satisfy enum value set: "
                          "[LogStreamName, LastEventTime]")
        if order_by == "LastEventTime" and prefix:
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        self.require_group(group)
        by_time = order_by == "LastEventTime"
        sort = ("coalesce(last_ts, -1)", "name") if by_time else ("name",)
        op, direction = ("<", " DESC") if descending else (">", "")
        sql = ("SELECT name, created, first_ts, last_ts, last_ingested FROM log_streams"
               " WHERE log_group = ? AND substr(name, 1, ?) = ?")
        args: list[object] = [group, len(prefix or ""), prefix or ""]
        if next_token is not None:
            text = decode_token(next_token)
            if by_time:
                ts, _, name = text.partition(" ")
                if not re.fullmatch(r"-?\d+", ts):
                    raise invalid("The specified nextToken is invalid.")
                sql += f" AND (coalesce(last_ts, -1), name) {op} (?, ?)"
                args += [int(ts), name]
            else:
                sql += f" AND name {op} ?"
                args.append(text)
        order = ", ".join(f"{c}{direction}" for c in sort)
        rows = self.db.conn.execute(f"{sql} ORDER BY {order} LIMIT ?",
                                    [*args, limit + 1]).fetchall()
        items = [LogStreamInfo(*r) for r in rows[:limit]]
        if len(rows) <= limit:
            return Page(items, None)
        last = items[-1]
        key = (f"{-1 if last.last_event_timestamp is None else last.last_event_timestamp} "
               f"{last.name}" if by_time else last.name)
        return Page(items, encode_token(key))

    # ------------------------------------------------------------------------------ retention
    def put_retention_policy(self, group: str, days: int) -> None:
        if days not in RETENTION_DAYS:
            raise invalid(f"1 validation error detected: Value '{days}' at 'retentionInDays' "
                          "failed to satisfy constraint: Member must satisfy enum value set: "
                          f"[{', '.join(map(str, RETENTION_DAYS))}]")
        self._set_retention(group, days)

    def delete_retention_policy(self, group: str) -> None:
        """Events of a group without a policy never expire."""
        self._set_retention(group, None)

    def _set_retention(self, group: str, days: int | None) -> None:
        with transaction(self.db):
            cur = self.db.conn.execute(
                "UPDATE log_groups SET retention_days = ? WHERE name = ?", (days, group))
            if cur.rowcount == 0:
                raise not_found("The specified log group does not exist.")
