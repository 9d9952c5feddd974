"""Keep the state database bounded: expire logs, traces, custom metrics and invocation records.

Logs follow each group's retention policy (`put-retention-policy` semantics: none means keep
forever, as on AWS). Traces are kept 30 days, as X-Ray keeps them; custom metric values 15 days
(CloudWatch's span for 1-minute data); invocation records 30 days. The sweep runs on a worker
thread with its own connection, in short transactions, so the engine's writer waits at most one
of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from lconsole.store import db as store_db
from lconsole.store.metrics import MetricStore
from lconsole.store.telemetry import TelemetryStore
from lconsole.store.traces import TraceStore

log = logging.getLogger("lconsole.engine")

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Policy:
    traces_days: int = 30
    custom_metrics_days: int = 15
    invocations_days: int = 30
    period_s: float = 60.0
    budget_s: float = 1.0  # most time one sweep spends expiring logs


@dataclass(frozen=True)
class Swept:
    log_events: int
    traces: int
    metric_values: int
    invocations: int


class Retention:
    def __init__(
        self, database: Path, policy: Policy | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.database = database
        self.policy = policy or Policy()
        self.clock = clock
        self._db: sqlite_utils.Database | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._db is not None:
            await asyncio.to_thread(self._db.conn.close)
            self._db = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.policy.period_s)
            try:
                swept = await asyncio.to_thread(self.sweep)
            except Exception:
                log.exception("retention sweep failed")
                continue
            if any((swept.log_events, swept.traces, swept.metric_values, swept.invocations)):
                log.info("retention: %s", swept)

    def sweep(self) -> Swept:
        """One pass (worker thread): everything past its retention, in bounded steps."""
        if self._db is None:
            self._db = store_db.connect(self.database)
        db, policy = self._db, self.policy
        now = int(self.clock() * 1000)
        store = TelemetryStore(db)
        expired = store.apply_retention(now, max_seconds=policy.budget_s)
        traces = TraceStore(db).delete_before(now - policy.traces_days * DAY_MS)
        values = MetricStore(db).delete_before(now - policy.custom_metrics_days * DAY_MS)
        with store_db.transaction(db):
            invocations = db.conn.execute(
                "DELETE FROM invocations WHERE start_ms < ?",
                [now - policy.invocations_days * DAY_MS],
            ).rowcount
        return Swept(expired.events, traces, values, invocations)
