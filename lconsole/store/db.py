"""Open the state database: WAL, pragmas, schema creation and the schema version."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 3

# Other stores' DDL, run in the migration transaction on every open; each must be idempotent
# (CREATE ... IF NOT EXISTS) because it runs again on databases that already have its tables.
EXTRA_SCHEMAS: list[Callable[[sqlite3.Connection], None]] = []

# v3: the log store. Log events are ordered by (ts, ingested, id) everywhere, so both indexes end
# in that key; log_fts indexes the messages of log_events (external content: no second copy).
# unicode61 with letters and digits as token characters mirrors the filter-pattern term rule.
_LOG_STORE_DDL = (
    "CREATE TABLE IF NOT EXISTS log_groups ("
    " name TEXT PRIMARY KEY, created INTEGER NOT NULL, retention_days INTEGER,"
    " stored_bytes INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS log_streams ("
    " log_group TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,"
    " first_ts INTEGER, last_ts INTEGER, last_ingested INTEGER,"
    " PRIMARY KEY (log_group, name))",
    "CREATE INDEX IF NOT EXISTS log_streams_last ON log_streams(log_group, last_ts, name)",
    "DROP INDEX IF EXISTS log_events_group_ts",
    "CREATE INDEX IF NOT EXISTS log_events_order ON log_events(log_group, ts, ingested)",
    "CREATE INDEX IF NOT EXISTS log_events_stream"
    " ON log_events(log_group, log_stream, ts, ingested)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS log_fts USING fts5(message, content='log_events',"
    " content_rowid='id', tokenize=\"unicode61 categories 'L* N*'\", columnsize=0)",
    # Explicit 'merge' steps (after expiry) then also merge levels of only two segments.
    "INSERT INTO log_fts(log_fts, rank) VALUES ('usermerge', 2)",
)
# Upgrading a v2 database: index the events it already holds and derive the per-group and
# per-stream figures from them. Both are no-ops on an empty log_events.
_LOG_STORE_BACKFILL = (
    "INSERT INTO log_fts(log_fts) VALUES ('rebuild')",
    "INSERT OR IGNORE INTO log_groups(name, created, stored_bytes, events)"
    " SELECT log_group, min(ingested), sum(length(CAST(message AS BLOB))), count(*)"
    " FROM log_events GROUP BY log_group",
    "INSERT OR IGNORE INTO log_streams(log_group, name, created, first_ts, last_ts, last_ingested)"
    " SELECT log_group, log_stream, min(ingested), min(ts), max(ts), max(ingested)"
    " FROM log_events GROUP BY log_group, log_stream",
)


def connect(path: Path) -> sqlite_utils.Database:
    """One connection per thread; WAL lets readers proceed while a writer commits."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    db = sqlite_utils.Database(conn)
    _migrate(db)
    return db


def _migrate(db: sqlite_utils.Database) -> None:
    meta = db.table("meta")
    if not meta.exists():
        meta.create({"key": str, "value": str}, pk="key", if_not_exists=True)
    row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    version = int(row[0]) if row else 0
    if version >= SCHEMA_VERSION:
        if EXTRA_SCHEMAS:
            with transaction(db):
                _run_extra_schemas(db.conn)
        return
    with transaction(db):
        db.table("functions").create({"name": str, "doc": str}, pk="name", if_not_exists=True)
        db.table("versions").create(
            {"function": str, "version": str, "config": str},
            pk=("function", "version"),
            if_not_exists=True,
        )
        db.table("layer_versions").create(
            {"name": str, "version": int, "doc": str},
            pk=("name", "version"),
            if_not_exists=True,
        )
        db.table("layers").create({"name": str, "next_version": int}, pk="name", if_not_exists=True)
        db.execute(
            "CREATE TABLE IF NOT EXISTS log_events ("
            " id INTEGER PRIMARY KEY, log_group TEXT NOT NULL, log_stream TEXT NOT NULL,"
            " ts INTEGER NOT NULL, ingested INTEGER NOT NULL, request_id TEXT,"
            " message TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS log_events_group_ts ON log_events(log_group, ts)")
        db.execute("CREATE INDEX IF NOT EXISTS log_events_request ON log_events(request_id)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS invocations ("
            " request_id TEXT PRIMARY KEY, function TEXT NOT NULL, qualifier TEXT,"
            " executed_version TEXT NOT NULL, environment_id TEXT, cold INTEGER NOT NULL,"
            " provisioned INTEGER NOT NULL, invocation_type TEXT NOT NULL,"
            " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, init_ms REAL,"
            " duration_ms REAL NOT NULL, billed_ms INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
            " max_memory_mb INTEGER NOT NULL, status TEXT NOT NULL, error_type TEXT,"
            " architecture TEXT NOT NULL, cost_usd REAL NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS async_events ("
            " id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, function TEXT NOT NULL,"
            " qualifier TEXT, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL,"
            " enqueued_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "CREATE INDEX IF NOT EXISTS invocations_function_start"
            " ON invocations(function, start_ms)"
        )
        if version < 3:
            _create_log_store(db.conn)
        _run_extra_schemas(db.conn)
        db.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", [str(SCHEMA_VERSION)]
        )


def _create_log_store(conn: sqlite3.Connection) -> None:
    for statement in (*_LOG_STORE_DDL, *_LOG_STORE_BACKFILL):
        conn.execute(statement)


def _run_extra_schemas(conn: sqlite3.Connection) -> None:
    for create in EXTRA_SCHEMAS:
        create(conn)


class transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.conn = db.conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
