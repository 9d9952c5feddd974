"""Drain the durable Event queue: each accepted event runs, and leaves the queue only after.

Retry policy, maximum event age and destinations build on this; for now an event that was
throttled waits and tries again, and any other outcome completes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from lconsole.model import errors
from lconsole.store.queue import EventQueue, QueuedEvent

log = logging.getLogger("lconsole.engine")

Run = Callable[[QueuedEvent], Awaitable[None]]


class AsyncInvoker:
    def __init__(self, queue: EventQueue, run: Run, concurrency: int = 64) -> None:
        self.queue = queue
        self.run = run
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    def start(self) -> None:
        for event in self.queue.pending():
            self.submit(event)

    def submit(self, event: QueuedEvent) -> None:
        task = asyncio.get_running_loop().create_task(self._process(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, event: QueuedEvent) -> None:
        delay = 0.05
        async with self._slots:
            while not self._closing:
                self.queue.attempted(event.id)
                try:
                    await self.run(event)
                except errors.LambdaError as exc:
                    if exc.code == "TooManyRequestsException":
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 5.0)
                        continue
                    log.info("event %s for %s failed: %s", event.request_id, event.function, exc)
                except Exception:
                    log.exception("event %s for %s failed", event.request_id, event.function)
                self.queue.done(event.id)
                return

    async def stop(self) -> None:
        """Events still running stay queued and run again at the next start."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
