"""Open the state database: WAL, pragmas, schema creation and the schema version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 1


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
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", [str(SCHEMA_VERSION)]
        )


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
