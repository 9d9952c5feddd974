"""Keep the console's picture of the backend current: poll, or follow the live stream.

`Feed.run` is the body of one long-lived worker. It only calls the backend and posts messages;
the app's handlers own the state. A poll re-arms only after the previous one finished, so polls
never overlap, and a lost backend is retried with a capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from textual.message import Message

from lconsole.backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    Capabilities,
    LiveEvent,
    NotAvailable,
)
from lconsole.tui import messages

POLL_S = 1.0
FUNCTIONS_EVERY = 5  # with a live stream, the function list is polled every N rounds
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
BATCH_S = 0.1
INVOCATIONS_PER_POLL = 200
# What the app reads from the stream (prefixes). `invocation.started` is left to the engine:
# the console shows finished records, and skipping it spares a quarter of the stream's lines.
LIVE_TYPES = ("invocation.finished", "invocation.throttled", "environment", "function")


class Feed:
    def __init__(
        self, backend: Backend, post: Callable[[Message], object], poll_s: float = POLL_S
    ) -> None:
        self.backend = backend
        self.post = post
        self.poll_s = poll_s
        self.capabilities = Capabilities()
        self._wake = asyncio.Event()
        self._streaming = False
        self._connected: bool | None = None
        self._problem = ""
        self._backfill = True  # load recent records by polling: at start, after hello or a gap

    def wake(self) -> None:
        """Poll now (after the user changed something), not at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        rounds = 0
        stream: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    if self._connected is not True:
                        self.capabilities = await self.backend.capabilities()
                        self.post(messages.CapabilitiesLoaded(self.capabilities))
                        if self.capabilities.live and stream is None:
                            stream = asyncio.create_task(self._follow())
                    full = not self._streaming or self._backfill or rounds % FUNCTIONS_EVERY == 0
                    await self._poll(full=full)
                    self._set_connected(True)
                    failures = 0
                except BackendUnavailable as exc:
                    self._set_connected(False, exc.message)
                    failures += 1
                except BackendError as exc:  # answered, but not as expected: say so once
                    self._set_connected(True)
                    problem = f"{exc.code}: {exc.message}"
                    if problem != self._problem:
                        self._problem = problem
                        self.post(messages.ConnectionChanged(True, problem))
                rounds += 1
                wait = self.poll_s if failures == 0 else BACKOFF_S[min(failures, 4) - 1]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()
        finally:
            if stream is not None:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await stream

    def _set_connected(self, connected: bool, problem: str = "") -> None:
        if connected != self._connected:
            self._connected = connected
            self.post(messages.ConnectionChanged(connected, problem))

    async def _poll(self, full: bool) -> None:
        caps = self.capabilities
        if full:
            functions = await self.backend.list_functions()
            self.post(messages.FunctionsLoaded(functions))
        else:
            functions = []
        if caps.environments:
            try:
                self.post(messages.EnvironmentsLoaded(await self.backend.environments()))
            except NotAvailable:
                self.capabilities = caps = _without(caps, environments=False)
                self.post(messages.CapabilitiesLoaded(caps))
        if caps.invocations and (self._backfill or not self._streaming) and functions:
            try:
                found = await asyncio.gather(
                    *(self.backend.invocations(f.name, INVOCATIONS_PER_POLL) for f in functions)
                )
            except NotAvailable:
                self.capabilities = _without(caps, invocations=False)
                self.post(messages.CapabilitiesLoaded(self.capabilities))
            else:
                self.post(messages.InvocationsLoaded([r for rows in found for r in rows]))
                self._backfill = False

    async def _follow(self) -> None:
        """Forward live events in batches; fall back to polling if the stream goes away."""
        pending: list[LiveEvent] = []
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def flush() -> None:
            nonlocal pending, timer
            timer = None
            if pending:
                self.post(messages.LiveBatch(pending))
                pending = []

        try:
            self._streaming = True
            events = self.backend.follow(types=LIVE_TYPES)
            async with contextlib.aclosing(events):  # type: ignore[type-var]
                async for event in events:
                    if event.type in ("gap", "hello"):  # maybe missed some: poll once to catch up
                        self._backfill = True
                        self.wake()
                    elif event.type not in ("heartbeat", "reconnecting"):
                        pending.append(event)
                        if timer is None:
                            timer = loop.call_later(BATCH_S, flush)
        except BackendError:
            pass
        finally:
            self._streaming = False
            if timer is not None:
                timer.cancel()
            flush()


def _without(caps: Capabilities, **off: bool) -> Capabilities:
    from dataclasses import replace

    return replace(caps, **off)
