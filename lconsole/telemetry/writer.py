"""Buffer telemetry on the hot path and write it in one transaction every few milliseconds.

Invocations only append to lists; a background task flushes them, so no invoke waits on
SQLite. A flush that fails keeps its batch for the next try: nothing accepted is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time

from lconsole.model.invocation import InvocationRecord
from lconsole.model.telemetry import LogEvent
from lconsole.store.telemetry import TelemetryStore

log = logging.getLogger("lconsole.telemetry")


class TelemetryWriter:
    def __init__(self, store: TelemetryStore, interval: float = 0.05) -> None:
        self.store = store
        self.interval = interval
        self._events: list[tuple[LogEvent, int]] = []
        self._invocations: list[InvocationRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def log(self, event: LogEvent) -> None:
        self._events.append((event, int(time.time() * 1000)))
        self._wake.set()

    def record(self, invocation: InvocationRecord) -> None:
        self._invocations.append(invocation)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval)
            self.flush()

    def flush(self) -> None:
        if not self._events and not self._invocations:
            return
        events, invocations = self._events, self._invocations
        self._events, self._invocations = [], []
        try:
            self.store.write(events, invocations)
        except Exception:
            log.exception("telemetry flush failed; keeping %d events", len(events))
            self._events[:0] = events
            self._invocations[:0] = invocations
            return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.flush()
