"""Buffer telemetry on the hot path and write it in one transaction every few milliseconds.

Invocations only append to lists; a background task flushes them, so no invoke waits on
SQLite. A flush that fails keeps its batch for the next try: nothing accepted is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from lconsole.model.invocation import InvocationRecord
from lconsole.model.metrics import MetricDatum
from lconsole.model.telemetry import LogEvent
from lconsole.store.metrics import MetricStore
from lconsole.store.telemetry import TelemetryStore
from lconsole.store.traces import TraceStore

log = logging.getLogger("lconsole.telemetry")


class TelemetryWriter:
    def __init__(
        self,
        store: TelemetryStore,
        interval: float = 0.05,
        *,
        traces: TraceStore | None = None,
        metrics: MetricStore | None = None,
    ) -> None:
        self.store = store
        self.traces = traces
        self.metrics = metrics
        self.interval = interval
        self._events: list[tuple[LogEvent, int]] = []
        self._invocations: list[InvocationRecord] = []
        self._segments: list[dict[str, Any]] = []
        self._datums: list[MetricDatum] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def log(self, event: LogEvent) -> None:
        self._events.append((event, int(time.time() * 1000)))
        self._wake.set()

    def record(self, invocation: InvocationRecord) -> None:
        self._invocations.append(invocation)
        self._wake.set()

    def segment(self, document: dict[str, Any]) -> None:
        """An X-Ray segment or subsegment document (the engine's or a function's)."""
        if self.traces is not None:
            self._segments.append(document)
            self._wake.set()

    def custom_metrics(self, datums: Iterable[MetricDatum]) -> None:
        if self.metrics is not None:
            self._datums.extend(datums)
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
        if self._events or self._invocations:
            events, invocations = self._events, self._invocations
            self._events, self._invocations = [], []
            try:
                self.store.write(events, invocations)
            except Exception:
                log.exception("telemetry flush failed; keeping %d events", len(events))
                self._events[:0] = events
                self._invocations[:0] = invocations
        if self._segments and self.traces is not None:
            segments, self._segments = self._segments, []
            try:
                rejected = self.traces.put(segments)
            except Exception:
                log.exception("trace flush failed; keeping %d documents", len(segments))
                self._segments[:0] = segments
            else:
                for r in rejected:
                    log.info("trace document %s not stored: %s", r.id, r.message)
        if self._datums and self.metrics is not None:
            datums, self._datums = self._datums, []
            try:
                self.metrics.put_custom(datums)
            except Exception:
                log.exception("metric flush failed; keeping %d values", len(datums))
                self._datums[:0] = datums

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.flush()
