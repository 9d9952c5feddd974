"""How `lconsole demo` runs the generator: headless for a while, or beside the console."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import IO

from lconsole.backends.base import Backend
from lconsole.demo.plan import TrafficConfig
from lconsole.demo.stage import Stage
from lconsole.demo.tally import Tally
from lconsole.demo.traffic import TrafficGenerator


async def headless(
    backend: Backend,
    config: TrafficConfig,
    seconds: float | None,
    *,
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
) -> Tally:
    """Run for `seconds` (None: until SIGINT, SIGTERM or SIGHUP), then print the summary."""
    generator: TrafficGenerator

    def ready(stage: Stage) -> None:
        seed = generator.plan.seed if generator.plan is not None else "-"
        print(f"demo: {stage.describe()}; seed {seed}", file=err, flush=True)

    generator = TrafficGenerator(backend, config, on_ready=ready)
    loop = asyncio.get_running_loop()
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in stops:
        loop.add_signal_handler(sig, generator.stop)
    try:
        tally = await generator.run(seconds)
    finally:
        for sig in stops:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
    print(tally.line(), file=out, flush=True)
    if tally.last_error:
        print(f"demo: last refusal: {tally.last_error}", file=err, flush=True)
    return tally


def beside_console(
    connect: Callable[[], Backend], config: TrafficConfig
) -> Callable[[], Awaitable[None]]:
    """The console's background work: traffic on a backend of its own until the console quits.

    A connection of its own keeps the generator's invokes from queueing behind the console's
    polls (and the other way round).
    """

    async def run() -> None:
        async with connect() as backend:
            await TrafficGenerator(backend, config).run()

    return run
