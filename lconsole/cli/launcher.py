"""Find the engine that runs on a state dir, from its engine.json.

The endpoint file is trusted only when its pid is alive and its URL answers; a file left behind
by an engine that was killed means "not running". Nothing here starts an engine or deletes the
file: a starting engine may be about to rewrite it.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from lconsole.cli import endpoint as endpoints
from lconsole.config import StatePaths

PROBE_TIMEOUT = 3.0


class NoEngine(RuntimeError):
    def __init__(self, state_dir: Path) -> None:
        super().__init__(
            f"no engine is running on {state_dir}; start one with 'lconsole serve' or 'lconsole'"
        )
        self.state_dir = state_dir


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, though not ours to signal
        return True
    except OSError:
        return False
    return True


def answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Any HTTP answer from the Lambda REST API counts: it is an engine listening there."""
    try:
        httpx.get(
            f"{url.rstrip('/')}/2015-03-31/functions", params={"MaxItems": "1"}, timeout=timeout
        )
    except httpx.HTTPError:
        return False
    return True


def find_engine(state_dir: Path) -> endpoints.Endpoint | None:
    """The running engine's endpoint, or None when none runs on `state_dir`."""
    found = endpoints.read(StatePaths(state_dir).endpoint_file)
    if found is None or not isinstance(found.url, str) or not isinstance(found.pid, int):
        return None
    if not pid_alive(found.pid) or not answers(found.url):
        return None
    return found


def require_engine(state_dir: Path) -> endpoints.Endpoint:
    found = find_engine(state_dir)
    if found is None:
        raise NoEngine(state_dir)
    return found
