"""Follow the local engine's live event stream, reconnecting and resuming from the last seq.

`follow_events` yields the engine's events in seq order, each at most once, across dropped
connections and engine restarts. Around them it yields what a console needs to show the
stream's health: `Hello` on every (re)connect, `Gap` where the engine no longer held events
the client missed, `Reconnecting` before each retry. Close it with `aclose()` (or use
`contextlib.aclosing`) to release its connection promptly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from lconsole.backends.base import BackendError, BackendUnavailable

EVENTS_PATH = "/_lconsole/v1/events"
# The engine sends a heartbeat after 2 s of silence; three missed ones mean a dead link.
READ_TIMEOUT = 6.0


@dataclass(frozen=True)
class Hello:
    """A connection was made; `restarted` says the engine is not the one the cursor came from."""

    epoch: str
    seq: int  # the engine's latest seq when the connection was made
    oldest: int  # the oldest seq it still holds
    restarted: bool = False


@dataclass(frozen=True)
class Gap:
    """Events `first`..`last` are gone: the engine dropped them before this client read them."""

    first: int
    last: int


@dataclass(frozen=True)
class Reconnecting:
    attempt: int  # consecutive failures so far
    delay: float  # seconds until the next try
    error: str


@dataclass(frozen=True)
class StreamEvent:
    seq: int
    epoch: str
    time: int  # epoch ms, when the engine published it
    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def function(self) -> str | None:
        return self.fields.get("function")


StreamItem = Hello | Gap | Reconnecting | StreamEvent
# The console token, or how to read it again (it changes when the engine restarts).
Token = str | Callable[[], str | None]


@dataclass(frozen=True)
class Backoff:
    """Delay before retry n (1-based): initial * factor ** (n - 1), never above `maximum`."""

    initial: float = 0.1
    factor: float = 2.0
    maximum: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))


class _Retry(Exception):
    """This connection is done; connect again (at once when `now`)."""

    def __init__(self, reason: str, now: bool = False) -> None:
        super().__init__(reason)
        self.now = now


@dataclass
class _Position:
    cursor: int | None
    epoch: str | None
    restarted: bool = False


def _params(
    cursor: int | None, types: tuple[str, ...] | None, function: str | None
) -> dict[str, str]:
    params: dict[str, str] = {}
    if cursor is not None:
        params["after"] = str(cursor)
    if types:
        params["types"] = ",".join(types)
    if function:
        params["function"] = function
    return params


def _refused(response: httpx.Response, body: bytes) -> BackendError:
    try:
        message = str(json.loads(body).get("message", ""))
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace")[:500]
    code = {403: "AccessDeniedException", 400: "InvalidParameterValueException"}.get(
        response.status_code, f"HTTP{response.status_code}"
    )
    return BackendError(code, message or "the engine refused the stream", response.status_code)


def _read(line: str, at: _Position) -> StreamItem | None:
    """One NDJSON line to what the caller sees (None for nothing), moving the cursor."""
    data = json.loads(line)
    kind = data.get("type")
    if "seq" in data and "epoch" in data and kind not in ("hello", "heartbeat"):
        seq = int(data.pop("seq"))
        if at.cursor is not None and seq <= at.cursor:
            return None  # already delivered
        at.cursor = seq
        epoch = str(data.pop("epoch"))
        time_ms = int(data.pop("time", 0))
        data.pop("type", None)
        return StreamEvent(seq, epoch, time_ms, str(kind), data)
    if kind == "hello":
        epoch = str(data["epoch"])
        if at.epoch is not None and epoch != at.epoch:
            at.epoch = epoch
            at.restarted = True
            if at.cursor:  # a cursor from the old engine means nothing here: from the start
                at.cursor = 0
                raise _Retry("the engine restarted", now=True)
        at.epoch = epoch
        if at.cursor is None:
            at.cursor = int(data["seq"])
        restarted, at.restarted = at.restarted, False
        return Hello(epoch, int(data["seq"]), int(data["oldest"]), restarted)
    if kind == "gap":
        first, last = int(data["from"]), int(data["to"])
        at.cursor = max(at.cursor or 0, last)
        return Gap(first, last)
    if kind == "heartbeat":
        at.cursor = max(at.cursor or 0, int(data.get("seq", 0)))
        return None
    return None  # a line type this client does not know yet


async def follow_events(
    url: str,
    token: Token,
    *,
    after: int | None = None,
    epoch: str | None = None,
    types: tuple[str, ...] | list[str] | None = None,
    function: str | None = None,
    backoff: Backoff | None = None,
    max_attempts: int | None = None,
    read_timeout: float = READ_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[StreamItem]:
    """Events after `after` (the engine's latest when None), forever or until closed.

    `epoch` is the engine epoch `after` was taken from: when the engine now runs under another
    epoch, it has restarted and the stream starts over from its first retained event. After
    `max_attempts` consecutive failed connections (None: never) `BackendUnavailable` is raised.
    A refused stream raises `BackendError` at once, except that with a token *reader* a refused
    token is read again and retried, as an engine that restarted has a new one.
    """
    backoff = backoff or Backoff()
    at = _Position(after, epoch)
    wanted = tuple(types) if types else None
    timeout = httpx.Timeout(read_timeout, connect=5.0)
    failures = 0
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), timeout=timeout, transport=transport
    ) as client:
        while True:
            try:
                secret = token() if callable(token) else token
                if secret is None:
                    raise _Retry("no console token to read yet")
                headers = {"Authorization": f"Bearer {secret}", "Accept": "application/x-ndjson"}
                async with client.stream(
                    "GET", EVENTS_PATH, params=_params(at.cursor, wanted, function), headers=headers
                ) as response:
                    if response.status_code != 200:
                        body = await response.aread()
                        if response.status_code >= 500:
                            raise _Retry(f"the engine answered HTTP {response.status_code}")
                        refused = _refused(response, body)
                        if response.status_code == 403 and callable(token):
                            raise _Retry(refused.message)
                        raise refused
                    async for line in response.aiter_lines():
                        if not line:
                            continue
                        try:
                            item = _read(line, at)
                        except (ValueError, KeyError, TypeError) as exc:
                            raise _Retry(f"bad line from the engine: {exc!r}") from None
                        if isinstance(item, Hello):
                            failures = 0
                        if item is not None:
                            yield item
                raise _Retry("the engine ended the stream")
            except _Retry as exc:
                if exc.now:
                    continue
                reason = str(exc)
            except httpx.TransportError as exc:  # refused, reset, timed out, cut mid-line
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            failures += 1
            if max_attempts is not None and failures >= max_attempts:
                raise BackendUnavailable(f"lost the event stream from {url}: {reason}")
            delay = backoff.delay(failures)
            yield Reconnecting(failures, delay, reason)
            await asyncio.sleep(delay)
