"""The telemetry writer: a synchronous flush also waits for a batch already being written."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from lconsole.model.telemetry import LogEvent
from lconsole.store import db as store_db
from lconsole.store.telemetry import TelemetryStore
from lconsole.telemetry.writer import TelemetryWriter


def test_flush_waits_for_the_batch_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    writer_db = store_db.connect(path)
    reader = TelemetryStore(store_db.connect(path))
    blocker = sqlite3.connect(str(path), isolation_level=None, timeout=10, check_same_thread=False)

    async def scenario() -> tuple[float, list[str]]:
        writer = TelemetryWriter(TelemetryStore(writer_db), interval=0.01)
        writer.start()
        blocker.execute("BEGIN EXCLUSIVE")  # the background write will wait on this lock
        writer.log(LogEvent("/aws/lambda/fn", "s", 1, "taken by the background task\n"))
        deadline = time.monotonic() + 5
        while writer._in_flight == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert writer._in_flight == 1  # swapped out, its write blocked
        threading.Timer(0.3, lambda: blocker.execute("COMMIT")).start()
        started = time.monotonic()
        await asyncio.to_thread(writer.flush)  # as a query does before it reads
        waited = time.monotonic() - started
        seen = [e.message for e in reader.log_events("/aws/lambda/fn")]
        await writer.stop()
        return waited, seen

    waited, seen = asyncio.run(scenario())
    blocker.close()
    assert waited >= 0.25
    assert seen == ["taken by the background task\n"]
