"""The telemetry writer: a synchronous flush also waits for a batch already being written."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from lconsole.model.telemetry import LogEvent
from lconsole.store import db as store_db
from lconsole.store.telemetry import TelemetryStore
from lconsole.telemetry.writer import WRITER_NICE, TelemetryWriter


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


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_background_writes_run_on_a_lower_priority_thread_that_stop_ends(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    reader = TelemetryStore(store_db.connect(path))
    base = os.getpriority(os.PRIO_PROCESS, 0)

    def writer_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("lconsole-telemetry")]

    async def scenario() -> tuple[list[int], list[str], int]:
        writer = TelemetryWriter(TelemetryStore(store_db.connect(path)), interval=0.01)
        writer.start()
        writer.log(LogEvent("/aws/lambda/fn", "s", 1, "written in the background\n"))
        deadline = time.monotonic() + 5
        while not reader.log_events("/aws/lambda/fn") and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        seen = [e.message for e in reader.log_events("/aws/lambda/fn")]
        nice = [os.getpriority(os.PRIO_PROCESS, t.native_id or 0) for t in writer_threads()]
        await writer.stop()
        return nice, seen, len(writer_threads())

    nice, seen, left = asyncio.run(scenario())
    assert seen == ["written in the background\n"]
    assert nice == [min(19, base + WRITER_NICE)]
    assert base == 19 or nice[0] > base
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the loop's thread keeps its priority
    assert left == 0
