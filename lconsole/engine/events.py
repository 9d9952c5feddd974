"""The engine's live events: numbered per engine start, kept in a bounded ring, read by cursor.

Publishing sits on the invoke hot path, so it files only what it is handed, as a plain tuple
of plain values, in a fixed-size ring: no dict, no JSON, and nothing the garbage collector
has to walk (tuples of strings and numbers drop out of its tracking). A reader renders an
event's line when it first needs it, once for all readers. Readers never hold publishers up
and add no memory: each keeps its own cursor into the ring, and one the ring has moved past
gets a gap, not a backlog. Everything here runs on the engine's event loop thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from typing import Any

import orjson

from lconsole.model.invocation import InvocationRecord
from lconsole.model.telemetry import LogEvent

CAPACITY = 100_000  # events kept for replay
LOG_BUDGET = 64 << 20  # and at most this many characters of log messages among them

# An event is a tuple (seq, time in epoch ms, type, function, source, size); `source` holds the
# type's fields in the order its renderer below expects, `size` the log text it holds.
Event = tuple[int, int, str, str | None, Any, int]
SEQ, TIME, TYPE, FUNCTION, SOURCE, SIZE = range(6)

RECORD_FIELDS = tuple(name for name in InvocationRecord.__dataclass_fields__ if name != "extra")
ENVIRONMENT_KINDS = ("created", "initialised", "busy", "idle", "reaped", "killed", "failed")


def encode(obj: dict[str, Any]) -> bytes:
    """One NDJSON line."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except (orjson.JSONEncodeError, TypeError):  # e.g. a lone surrogate: escape it instead
        return json.dumps(obj, separators=(",", ":"), default=str).encode() + b"\n"


# Field renderers, one per event type ------------------------------------------------------


def _log_fields(s: tuple[Any, ...]) -> dict[str, Any]:
    group, stream, timestamp, message, request_id = s
    return {
        "group": group,
        "stream": stream,
        "timestamp": timestamp,
        "message": message,
        "request_id": request_id,
    }


def record_fields(r: InvocationRecord) -> dict[str, Any]:
    """An invocation record as the stream and the console API show it (enums as values)."""
    out = {name: getattr(r, name) for name in RECORD_FIELDS}
    out["status"] = str(r.status)
    out["invocation_type"] = str(r.invocation_type)
    return out


def _started_fields(s: tuple[Any, ...]) -> dict[str, Any]:
    request_id, function, qualifier, version, environment_id, cold, invocation_type = s
    return {
        "request_id": request_id,
        "function": function,
        "qualifier": qualifier,
        "version": version,
        "environment_id": environment_id,
        "cold": cold,
        "invocation_type": invocation_type,
    }


def _throttled_fields(s: tuple[Any, ...]) -> dict[str, Any]:
    request_id, function, qualifier, reason = s
    return {
        "request_id": request_id,
        "function": function,
        "qualifier": qualifier,
        "reason": reason,
    }


def _environment_fields(s: tuple[Any, ...]) -> dict[str, Any]:
    environment_id, function, version, provisioned, state, reason = s
    out = {
        "environment_id": environment_id,
        "function": function,
        "version": version,
        "provisioned": provisioned,
        "state": state,
    }
    if reason is not None:
        out["reason"] = reason
    return out


def _function_fields(s: tuple[str, str]) -> dict[str, Any]:
    return {"function": s[0], "what": s[1]}


_RENDER: dict[str, Callable[[Any], dict[str, Any]]] = {
    "log": _log_fields,
    "invocation.started": _started_fields,
    "invocation.finished": record_fields,
    "invocation.throttled": _throttled_fields,
    "function.changed": _function_fields,
    **{"environment." + kind: _environment_fields for kind in ENVIRONMENT_KINDS},
}


# The bus ----------------------------------------------------------------------------------


class EventBus:
    def __init__(
        self,
        capacity: int = CAPACITY,
        log_budget: int = LOG_BUDGET,
        clock: Callable[[], float] = time.time,
        epoch: str | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.log_budget = log_budget
        self.clock = clock
        self.epoch = epoch or os.urandom(8).hex()
        self.seq = 0  # the latest published
        self.closed = False
        self._ring: list[Event | None] = [None] * capacity
        self._lines: list[bytes | None] = [None] * capacity  # rendered lines, by slot
        self._floor = 1  # events below this were dropped to keep within the log budget
        self._log_chars = 0
        self._waiter: asyncio.Future[None] | None = None

    # Publishing (hot path) ------------------------------------------------------------------

    def publish(self, kind: str, function: str | None, source: Any, size: int = 0) -> None:
        """File one event. `source` is what `kind`'s renderer takes (a dict for other kinds)."""
        seq = self.seq + 1
        self.seq = seq
        slot = seq % self.capacity
        ring = self._ring
        evicted = ring[slot]
        if evicted is not None and evicted[SIZE]:
            self._log_chars -= evicted[SIZE]
        ring[slot] = (seq, int(self.clock() * 1000), kind, function, source, size)
        self._lines[slot] = None
        if size:
            self._log_chars += size
            if self._log_chars > self.log_budget:
                self._trim()
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def log(self, function: str | None, e: LogEvent) -> None:
        source = (e.group, e.stream, e.timestamp, e.message, e.request_id)
        self.publish("log", function, source, len(e.message) or 1)

    def invocation_started(
        self,
        request_id: str,
        function: str,
        qualifier: str | None,
        version: str,
        environment_id: str,
        cold: bool,
        invocation_type: str,
    ) -> None:
        source = (
            request_id,
            function,
            qualifier,
            version,
            environment_id,
            cold,
            str(invocation_type),
        )
        self.publish("invocation.started", function, source)

    def invocation_finished(self, record: InvocationRecord) -> None:
        self.publish("invocation.finished", record.function, record)

    def invocation_throttled(
        self, request_id: str, function: str, qualifier: str | None, reason: str
    ) -> None:
        self.publish("invocation.throttled", function, (request_id, function, qualifier, reason))

    def environment(
        self,
        kind: str,
        environment_id: str,
        function: str,
        version: str,
        provisioned: bool,
        state: str,
        reason: str | None = None,
    ) -> None:
        """`kind` is one of ENVIRONMENT_KINDS; `state` is the state after the change."""
        source = (environment_id, function, version, provisioned, str(state), reason)
        self.publish("environment." + kind, function, source)

    def function_changed(self, function: str, what: str) -> None:
        """`what` is "created", "updated" or "deleted"."""
        self.publish("function.changed", function, (function, what))

    def _trim(self) -> None:
        """Drop the oldest events until the log text held fits the budget (keeps the latest)."""
        ring, capacity, seq = self._ring, self.capacity, self.seq
        floor = max(self._floor, seq - capacity + 1)
        while self._log_chars > self.log_budget and floor < seq:
            slot = floor % capacity
            event = ring[slot]
            if event is not None and event[SEQ] == floor:
                self._log_chars -= event[SIZE]
                ring[slot] = None
                self._lines[slot] = None
            floor += 1
        self._floor = floor

    # Reading --------------------------------------------------------------------------------

    @property
    def oldest(self) -> int:
        """The oldest seq still held (latest + 1 when the ring is empty)."""
        return max(self._floor, self.seq - self.capacity + 1, 1)

    def since(self, cursor: int, limit: int) -> tuple[tuple[int, int] | None, list[Event]]:
        """Up to `limit` events after `cursor`, and the (first, last) seqs lost before them."""
        oldest = self.oldest
        gap = None
        if cursor < oldest - 1:
            gap = (cursor + 1, oldest - 1)
            cursor = oldest - 1
        end = min(self.seq, cursor + limit)
        ring, capacity = self._ring, self.capacity
        events = [ring[s % capacity] for s in range(cursor + 1, end + 1)]
        return gap, events  # type: ignore[return-value]  # slots from oldest on are filled

    def as_dict(self, event: Event) -> dict[str, Any]:
        seq, time_ms, kind, function, source, _ = event
        render = _RENDER.get(kind)
        out = {
            "seq": seq,
            "epoch": self.epoch,
            "time": time_ms,
            "type": kind,
            **(render(source) if render is not None else dict(source)),
        }
        if function is not None:
            out.setdefault("function", function)  # log events name theirs too
        return out

    def line(self, event: Event) -> bytes:
        """The event's NDJSON line, rendered once however many readers want it."""
        slot = event[SEQ] % self.capacity
        line = self._lines[slot]
        if line is None or self._ring[slot] is not event:
            line = encode(self.as_dict(event))
            if self._ring[slot] is event:
                self._lines[slot] = line
        return line

    async def wait(self, cursor: int, timeout: float) -> bool:
        """Wait up to `timeout` s for an event after `cursor`; False on timeout or close."""
        if self.seq > cursor:
            return True
        if self.closed or timeout <= 0:
            return False
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        # asyncio.wait never cancels the shared future, whichever reader times out.
        await asyncio.wait((waiter,), timeout=timeout)
        return self.seq > cursor

    def close(self) -> None:
        """End every reader's wait; streams finish once they have sent what is held."""
        self.closed = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def event_filter(prefixes: tuple[str, ...] | None, function: str | None) -> Callable[[Event], bool]:
    """The stream's `types` (prefix match) and `function` filters as one predicate."""
    if prefixes is None and function is None:
        return lambda e: True
    if function is None:
        return lambda e: e[TYPE].startswith(prefixes)  # type: ignore[arg-type]
    if prefixes is None:
        return lambda e: e[FUNCTION] == function
    return lambda e: e[FUNCTION] == function and e[TYPE].startswith(prefixes)
