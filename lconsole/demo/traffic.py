"""The traffic generator: a steady trickle plus periodic bursts, sent through a `Backend`.

Concurrency is bounded: a shot that finds `max_in_flight` invokes already out is skipped, never
queued, so a slow engine sees less traffic rather than a growing backlog. Every invoke has a
deadline. `stop()` ends the run gracefully (in-flight invokes may finish, for a bounded time);
cancelling `run()` ends it at once and cancels what is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from lconsole.backends.base import Backend, BackendUnavailable
from lconsole.demo import stage as stages
from lconsole.demo.plan import Shot, TrafficConfig, TrafficPlan
from lconsole.demo.tally import Tally

INVOKE_WAIT_S = 30.0  # the demo's functions time out within 3.5 s; this leaves room for cold starts
SETUP_WAIT_S = 60.0  # per attempt
SETUP_RETRY_S = 2.0
DRAIN_S = 10.0
CANCEL_WAIT_S = 5.0


class TrafficGenerator:
    """Send `config`'s traffic through `backend` until stopped, cancelled or out of time."""

    def __init__(
        self,
        backend: Backend,
        config: TrafficConfig | None = None,
        *,
        on_ready: Callable[[stages.Stage], object] | None = None,
    ) -> None:
        self.backend = backend
        self.config = config or TrafficConfig()
        self.on_ready = on_ready
        self.tally = Tally()
        self.stage: stages.Stage | None = None
        self.plan: TrafficPlan | None = None
        self.running = False
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def stop(self) -> None:
        """Send nothing more; `run()` returns once in-flight invokes end (or `DRAIN_S` passes)."""
        self._stopping.set()

    async def run(self, seconds: float | None = None, *, setup_s: float = SETUP_WAIT_S) -> Tally:
        """Set up, then send traffic for `seconds` (None: until stopped or cancelled).

        Setup is retried while the backend is unreachable, for at most `setup_s` in total.
        """
        self.running = True
        try:
            self.stage = await self._prepare(setup_s)
            if self.stage is None:
                return self.tally
            plan = self.plan = TrafficPlan(self.config, self.stage.samples)
            if self.on_ready is not None:
                self.on_ready(self.stage)
            started = time.monotonic()
            try:
                await self._loop(plan, seconds)
            finally:
                self.tally.seconds = time.monotonic() - started
            await self._drain(DRAIN_S)
            return self.tally
        finally:
            await self._cancel_in_flight()
            self.running = False

    async def _prepare(self, setup_s: float) -> stages.Stage | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + setup_s
        while True:
            remaining = deadline - loop.time()
            try:
                return await asyncio.wait_for(
                    stages.prepare(self.backend, self.config.canary_weight),
                    timeout=max(0.1, min(remaining, SETUP_WAIT_S)),
                )
            except (BackendUnavailable, TimeoutError) as exc:
                if loop.time() + SETUP_RETRY_S > deadline:
                    if isinstance(exc, TimeoutError):
                        raise BackendUnavailable("the demo could not be set up in time") from exc
                    raise
            if await self._stopped_within(SETUP_RETRY_S):
                return None

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=max(0.0, seconds))
        return self._stopping.is_set()

    async def _loop(self, plan: TrafficPlan, seconds: float | None) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        end = now + seconds if seconds is not None else float("inf")
        next_steady = now
        next_burst = now  # the first burst at once: cold starts on screen within seconds
        while not self._stopping.is_set():
            now = loop.time()
            if now >= end:
                return
            if now >= next_burst:
                for shot in plan.burst():
                    self._fire(shot)
                next_burst = now + self.config.burst_every_s
            if now >= next_steady:
                self._fire(plan.steady())
                next_steady = now + plan.pause()
            wake = min(next_steady, next_burst, end)
            await self._stopped_within(wake - loop.time())

    def _fire(self, shot: Shot) -> None:
        if len(self._in_flight) >= self.config.max_in_flight:
            self.tally.skipped += 1
            return
        task = asyncio.get_running_loop().create_task(self._shoot(shot))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _shoot(self, shot: Shot) -> None:
        try:
            outcome = await asyncio.wait_for(
                self.backend.invoke(
                    shot.function,
                    shot.payload,
                    qualifier=shot.qualifier,
                    invocation_type=shot.invocation_type,
                    tail=shot.invocation_type == "RequestResponse",
                ),
                timeout=INVOKE_WAIT_S,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # BackendError, a deadline, or anything else: never crash
            self.tally.refused(shot, exc)
            return
        self.tally.answered(shot, outcome)

    async def _drain(self, seconds: float) -> None:
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=seconds)

    async def _cancel_in_flight(self) -> None:
        tasks = set(self._in_flight)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)
