"""Helpers for console tests: bounded waits and reading the screen."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from lconsole.backends.local import LocalBackend
from lconsole.tui.app import LconsoleApp
from tests.support.engine import EngineProcess

WAIT_S = 15.0


def local_backend(engine: EngineProcess) -> LocalBackend:
    endpoint = engine.endpoint
    return LocalBackend(endpoint["url"], token=endpoint["token"])


async def until(
    pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = WAIT_S
) -> None:
    """Let the app run until `condition()` holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot: Pilot) -> None:
    """Push pending state to the screen now and let it render."""
    app = pilot.app
    assert isinstance(app, LconsoleApp)
    app._dirty = True
    app._redraw()
    await pilot.pause()
    await pilot.pause()


def screen_text(app: LconsoleApp) -> str:
    """What the current screen shows, as plain text lines (what a user would read)."""
    strips = app.screen._compositor.render_strips()  # the rendered frame, line by line
    return "\n".join(strip.text for strip in strips)
