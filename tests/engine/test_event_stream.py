"""The live event stream and console API: the ring and stream in-process, then a real engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from lconsole.api.console import PACE, stream
from lconsole.backends.base import BackendError
from lconsole.backends.stream import (
    Backoff,
    Gap,
    Hello,
    Reconnecting,
    StreamEvent,
    StreamItem,
    follow_events,
)
from lconsole.engine.events import RECORD_FIELDS, SEQ, TYPE, EventBus, event_filter
from lconsole.model.invocation import InvocationRecord
from lconsole.model.telemetry import LogEvent
from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
APP = """
import time

def handler(event, context):
    print("handling", event.get("n"))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"n": event.get("n")}
"""
ENV_FIELDS = {"environment_id", "function", "version", "provisioned", "state"}
FAST = Backoff(initial=0.05, maximum=0.2)


def run(coro: Any, timeout: float = 60.0) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


# The ring, in-process ---------------------------------------------------------------------


def _publish(bus: EventBus, n: int, function: str = "f") -> None:
    for i in range(n):
        bus.function_changed(f"{function}{i}" if function == "f" else function, "updated")


def test_events_are_numbered_from_one_and_replayed_in_order() -> None:
    bus = EventBus(capacity=100, clock=lambda: 1.5)
    assert (bus.seq, bus.oldest) == (0, 1)
    _publish(bus, 5)
    gap, events = bus.since(0, 100)
    assert gap is None
    assert [e[SEQ] for e in events] == [1, 2, 3, 4, 5]
    line = json.loads(bus.line(events[0]))
    assert line == {
        "seq": 1,
        "epoch": bus.epoch,
        "time": 1500,
        "type": "function.changed",
        "function": "f0",
        "what": "updated",
    }
    assert bus.line(events[0]) is bus.line(events[0])  # rendered once
    assert [e[SEQ] for e in bus.since(3, 100)[1]] == [4, 5]
    assert [e[SEQ] for e in bus.since(0, 2)[1]] == [1, 2]
    assert EventBus().epoch != EventBus().epoch


def test_a_reader_the_ring_has_passed_gets_a_gap() -> None:
    bus = EventBus(capacity=10)
    _publish(bus, 25)
    assert bus.oldest == 16
    gap, events = bus.since(3, 100)
    assert gap == (4, 15)
    assert [e[SEQ] for e in events] == list(range(16, 26))
    assert bus.since(15, 100)[0] is None


def test_log_text_held_stays_within_its_budget() -> None:
    bus = EventBus(capacity=1000, log_budget=1000)
    for i in range(100):
        bus.log("f", LogEvent("/aws/lambda/f", "s", i, "x" * 99 + "\n"))
        assert bus._log_chars <= 1000
    assert bus.oldest == 91  # ten 100-character messages fit
    gap, events = bus.since(0, 1000)
    assert gap == (1, 90) and len(events) == 10
    big = EventBus(capacity=10, log_budget=10)
    big.log("f", LogEvent("g", "s", 0, "y" * 50))
    assert [e[SEQ] for e in big.since(0, 10)[1]] == [1]  # the latest is always kept


def test_invocation_finished_carries_every_record_field() -> None:
    bus = EventBus()
    record = InvocationRecord("r-1", "f", None, "$LATEST", "e1", True, 10, extra={"x": 1})
    bus.invocation_finished(record)
    line = json.loads(bus.line(bus.since(0, 1)[1][0]))
    assert set(line) == {"seq", "epoch", "time", "type", *RECORD_FIELDS}
    assert "extra" not in line
    assert line["status"] == "success" and line["invocation_type"] == "RequestResponse"


def test_filters_match_type_prefixes_and_function() -> None:
    bus = EventBus()
    bus.function_changed("a", "created")
    bus.environment("busy", "e1", "a", "$LATEST", False, "busy")
    bus.invocation_throttled("r", "b", None, "ReservedFunctionConcurrentInvocationLimitExceeded")
    _, events = bus.since(0, 10)
    kinds = lambda p, f: [e[TYPE] for e in events if event_filter(p, f)(e)]  # noqa: E731
    assert kinds(None, None) == ["function.changed", "environment.busy", "invocation.throttled"]
    assert kinds(("invocation", "environment"), None) == [
        "environment.busy",
        "invocation.throttled",
    ]
    assert kinds(None, "a") == ["function.changed", "environment.busy"]
    assert kinds(("environment",), "b") == []


async def _lines(chunks: AsyncIterator[bytes], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        chunk = await anext(chunks)
        out.extend(json.loads(line) for line in chunk.splitlines())
    return out


def test_stream_sends_hello_replay_live_events_and_heartbeats() -> None:
    async def scenario() -> None:
        bus = EventBus(capacity=50)
        _publish(bus, 3)
        chunks = stream(bus, 1, event_filter(None, None), heartbeat=0.2)
        hello, *replay = await _lines(chunks, 3)
        assert hello == {"type": "hello", "epoch": bus.epoch, "seq": 3, "oldest": 1}
        assert [e["seq"] for e in replay] == [2, 3]
        waiting = asyncio.ensure_future(_lines(chunks, 1))
        await asyncio.sleep(0.05)
        bus.function_changed("live", "created")
        bus.function_changed("live", "deleted")  # published together: one chunk
        assert [e["what"] for e in await waiting] == ["created", "deleted"]
        loop = asyncio.get_running_loop()
        quiet = loop.time()
        assert await _lines(chunks, 1) == [{"type": "heartbeat", "seq": 5}]
        assert loop.time() - quiet >= 0.15
        bus.close()
        with pytest.raises(StopAsyncIteration):
            await anext(chunks)

    run(scenario(), 10)


def test_a_caught_up_reader_gets_one_chunk_per_pace() -> None:
    async def scenario() -> None:
        bus = EventBus()
        chunks = stream(bus, 0, event_filter(None, None), heartbeat=5)
        await anext(chunks)  # hello
        loop = asyncio.get_running_loop()
        quiet = loop.time()
        waiting = asyncio.ensure_future(anext(chunks))
        await asyncio.sleep(0.05)
        bus.function_changed("f", "created")  # after a quiet spell: at once
        first = await waiting
        assert [json.loads(line)["what"] for line in first.splitlines()] == ["created"]
        sent = loop.time()
        waiting = asyncio.ensure_future(anext(chunks))
        for what in ("updated", "deleted", "created"):  # spread over less than one pace
            await asyncio.sleep(PACE / 5)
            bus.function_changed("f", what)
        second = await waiting
        assert [json.loads(line)["seq"] for line in second.splitlines()] == [2, 3, 4]
        assert loop.time() - sent >= PACE * 0.9
        assert sent - quiet < 1.0
        await chunks.aclose()

    run(scenario(), 10)


def test_a_slow_stream_reader_gets_a_gap_not_a_backlog() -> None:
    async def scenario() -> None:
        bus = EventBus(capacity=10)
        chunks = stream(bus, 0, event_filter(None, None))
        await _lines(chunks, 1)  # hello
        _publish(bus, 30)  # the reader is not reading
        lines = await _lines(chunks, 11)
        assert lines[0] == {"type": "gap", "from": 1, "to": 20}
        assert [e["seq"] for e in lines[1:]] == list(range(21, 31))
        await chunks.aclose()

    run(scenario(), 10)


def test_filtered_out_events_are_skipped_but_the_cursor_moves() -> None:
    async def scenario() -> None:
        bus = EventBus()
        chunks = stream(bus, 0, event_filter(("invocation",), None), heartbeat=0.1)
        await _lines(chunks, 1)
        _publish(bus, 4)
        bus.invocation_throttled("r", "f", None, "ConcurrentInvocationLimitExceeded")
        (event,) = await _lines(chunks, 1)
        assert (event["seq"], event["type"]) == (5, "invocation.throttled")
        _publish(bus, 2)
        assert await _lines(chunks, 1) == [{"type": "heartbeat", "seq": 7}]
        await chunks.aclose()

    run(scenario(), 10)


# A real engine --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path_factory.mktemp("state"), "--idle-ttl", "2") as proc:
        yield proc


@pytest.fixture(scope="module")
def token(engine: EngineProcess) -> str:
    return str(engine.endpoint["token"])


def _create(lam, name: str, **kw: Any) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name,
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": APP})},
        **kw,
    )


def _invoke(lam, name: str, payload: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    resp["Payload"].read()
    return str(resp["ResponseMetadata"]["RequestId"])


async def _until(
    items: AsyncIterator[StreamItem], done: Callable[[list[StreamItem]], bool], timeout: float
) -> list[StreamItem]:
    """Collect items until `done` holds for what was collected, within `timeout` seconds."""
    seen: list[StreamItem] = []
    async with asyncio.timeout(timeout):
        async for item in items:
            seen.append(item)
            if done(seen):
                return seen
    raise AssertionError(f"stream ended early after {seen!r}")


def _events(items: list[StreamItem]) -> list[StreamEvent]:
    return [i for i in items if isinstance(i, StreamEvent)]


def _finished(n: int) -> Callable[[list[StreamItem]], bool]:
    return lambda seen: sum(e.type == "invocation.finished" for e in _events(seen)) >= n


def test_invocations_show_up_as_ordered_events(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> list[StreamItem]:
        items = follow_events(engine.url, token, function="ordered", backoff=FAST)
        async with contextlib.aclosing(items):
            assert isinstance(await anext(items), Hello)
            await asyncio.to_thread(_create, lam, "ordered")
            ids = [await asyncio.to_thread(_invoke, lam, "ordered", {"n": n}) for n in (1, 2)]
            seen = await _until(items, _finished(2), 30)
            return [*seen, *ids]  # type: ignore[list-item]

    *seen, cold_id, warm_id = run(scenario())
    events = _events(seen)
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    assert all(e.function == "ordered" for e in events)

    def index(kind: str, **match: Any) -> int:
        for i, e in enumerate(events):
            if e.type == kind and all(e.fields.get(k) == v for k, v in match.items()):
                return i
        raise AssertionError(f"no {kind} {match} in {[e.type for e in events]}")

    def log_index(text: str, request_id: str | None = None) -> int:
        for i, e in enumerate(events):
            if (
                e.type == "log"
                and text in e.fields["message"]
                and (request_id is None or e.fields["request_id"] == request_id)
            ):
                return i
        raise AssertionError(f"no log line with {text!r}")

    assert events[0].type == "function.changed" and events[0].fields["what"] == "created"
    order = [
        index("environment.created"),
        log_index("INIT_START"),
        index("environment.busy"),
        index("invocation.started", request_id=cold_id),
        index("environment.initialised"),
        log_index("START RequestId: " + cold_id),
        log_index("handling 1"),
        index("environment.idle"),
        index("invocation.finished", request_id=cold_id),
        index("invocation.started", request_id=warm_id),
        log_index("handling 2"),
        index("invocation.finished", request_id=warm_id),
    ]
    assert order == sorted(order), order
    # END and REPORT are logged once the answer is on its way, but before the next START.
    report = log_index("REPORT RequestId: " + cold_id)
    assert log_index("handling 1") < report < log_index("START RequestId: " + warm_id)
    started = events[index("invocation.started", request_id=cold_id)].fields
    env_id = started["environment_id"]
    assert started == {
        "request_id": cold_id,
        "function": "ordered",
        "qualifier": None,
        "version": "$LATEST",
        "environment_id": env_id,
        "cold": True,
        "invocation_type": "RequestResponse",
    }
    assert events[index("invocation.started", request_id=warm_id)].fields["cold"] is False
    for e in events:
        if e.type.startswith("environment."):
            assert set(e.fields) >= ENV_FIELDS and e.fields["environment_id"] == env_id
    assert events[index("environment.busy")].fields["state"] == "busy"
    assert events[index("environment.idle")].fields["state"] == "idle"
    log = events[log_index("handling 1")].fields
    assert log["group"] == "/aws/lambda/ordered" and log["request_id"] == cold_id
    assert set(log) >= {"group", "stream", "timestamp", "message", "request_id"}

    finished = events[index("invocation.finished", request_id=cold_id)]
    assert set(finished.fields) == set(RECORD_FIELDS)
    assert finished.fields["status"] == "success" and finished.fields["cold"] is True
    listed = httpx.get(
        f"{engine.url}/_lconsole/v1/functions/ordered/invocations",
        params={"limit": "5"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["invocations"]
    assert [r["request_id"] for r in listed] == [warm_id, cold_id]  # newest first
    assert listed[1] == finished.fields


def test_views_list_environments_and_status(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "viewed")
    _invoke(lam, "viewed", {"n": 1})
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=engine.url, headers=auth, timeout=10) as client:
        (env,) = client.get("/_lconsole/v1/environments", params={"function": "viewed"}).json()[
            "environments"
        ]
        assert env["function"] == "viewed" and env["version"] == "$LATEST"
        assert env["state"] == "idle" and env["invocations"] == 1 and env["provisioned"] is False
        assert {"environment_id", "created_ms", "max_memory_mb"} <= set(env)
        everything = client.get("/_lconsole/v1/environments").json()["environments"]
        assert env["environment_id"] in {e["environment_id"] for e in everything}
        status = client.get("/_lconsole/v1/status").json()
        assert set(status) == {
            "epoch", "seq", "version", "started_ms", "functions", "environments", "features",
        }  # fmt: skip
        assert status["functions"] >= 1 and status["environments"] >= 1 and status["seq"] > 0
        assert client.get("/_lconsole/v1/functions/viewed/invocations").json()["invocations"]
        bad = client.get("/_lconsole/v1/functions/viewed/invocations", params={"limit": "x"})
        assert bad.status_code == 400
        assert client.get("/_lconsole/v1/events", params={"after": "-1"}).status_code == 400


def test_the_console_api_needs_the_token(engine, token) -> None:  # type: ignore[no-untyped-def]
    denied = {"message": "missing or invalid console token"}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": token}):
        for path in ("status", "events", "environments", "functions/x/invocations"):
            resp = httpx.get(f"{engine.url}/_lconsole/v1/{path}", headers=headers, timeout=10)
            assert resp.status_code == 403 and resp.json() == denied, (path, headers)
    ok = httpx.get(
        f"{engine.url}/_lconsole/v1/status",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert ok.status_code == 200

    async def follow_with_a_bad_token() -> None:
        async with contextlib.aclosing(follow_events(engine.url, "nope")) as items:
            await anext(items)

    with pytest.raises(BackendError) as caught:
        run(follow_with_a_bad_token(), 10)
    assert caught.value.status == 403 and caught.value.message == denied["message"]


def test_reserved_concurrency_zero_is_a_throttle_event(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "throttled")
    lam.put_function_concurrency(FunctionName="throttled", ReservedConcurrentExecutions=0)

    async def scenario() -> list[StreamItem]:
        items = follow_events(engine.url, token, types=["invocation"], function="throttled")
        async with contextlib.aclosing(items):
            assert isinstance(await anext(items), Hello)
            with pytest.raises(ClientError) as caught:
                await asyncio.to_thread(_invoke, lam, "throttled", {})
            assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
            answered.append(caught.value.response["ResponseMetadata"]["RequestId"])
            return await _until(items, lambda seen: bool(_events(seen)), 15)

    answered: list[str] = []
    (event,) = _events(run(scenario()))
    assert event.type == "invocation.throttled"
    assert event.fields["function"] == "throttled" and event.fields["qualifier"] is None
    assert event.fields["reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert event.fields["request_id"] == answered[0]  # the 429's x-amzn-RequestId


def test_a_timeout_kills_the_runtime_and_a_new_one_initialises(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "slow", Timeout=1)

    async def scenario() -> list[StreamItem]:
        items = follow_events(engine.url, token, types=["environment", "invocation.finished"],
                              function="slow")  # fmt: skip
        async with contextlib.aclosing(items):
            await anext(items)
            await asyncio.to_thread(_invoke, lam, "slow", {"sleep": 5})
            return await _until(
                items, lambda seen: [e.type for e in _events(seen)][-1:] == [
                    "environment.initialised"] and _finished(1)(seen), 20
            )  # fmt: skip

    kinds = [(e.type, e.fields.get("reason")) for e in _events(run(scenario()))]
    assert ("invocation.finished", None) in kinds
    killed = kinds.index(("environment.killed", "Sandbox.Timedout"))
    assert kinds.count(("environment.initialised", None)) == 2
    assert kinds.index(("environment.initialised", None)) < killed < len(kinds) - 1


def test_idle_environments_are_announced_as_reaped(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "reaped")

    async def scenario() -> list[StreamItem]:
        items = follow_events(engine.url, token, types=["environment.reaped"], function="reaped")
        async with contextlib.aclosing(items):
            await anext(items)
            await asyncio.to_thread(_invoke, lam, "reaped", {})
            return await _until(items, lambda seen: bool(_events(seen)), 20)

    (event,) = _events(run(scenario()))
    assert event.fields["reason"] == "idle" and event.fields["state"] == "stopped"


def _replay(url: str, token: str, after: int, function: str) -> list[dict[str, Any]]:
    """Every event of `function` after `after`, read straight from the engine until it idles."""
    params = {"after": str(after), "function": function}
    headers = {"Authorization": f"Bearer {token}"}
    out: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{url}/_lconsole/v1/events", params=params, headers=headers, timeout=10
    ) as resp:
        for line in resp.iter_lines():
            data = json.loads(line)
            if data["type"] == "heartbeat":
                return out
            if data["type"] != "hello":
                out.append(data)
    raise AssertionError("stream ended")


def test_an_environment_that_cannot_init_is_announced_as_failed(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName="broken",
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": "raise RuntimeError('no init')\n"})},
    )

    async def scenario() -> tuple[int, list[StreamItem]]:
        items = follow_events(engine.url, token, types=["environment"], function="broken")
        async with contextlib.aclosing(items):
            hello = await anext(items)
            assert isinstance(hello, Hello)
            await asyncio.to_thread(_invoke, lam, "broken", {})
            seen = await _until(
                items, lambda seen: any(e.type == "environment.failed" for e in _events(seen)), 20
            )
            return hello.seq, seen

    start, seen = run(scenario())
    failed = next(e for e in _events(seen) if e.type == "environment.failed")
    assert failed.fields["reason"].startswith("Runtime.")
    env_id = failed.fields["environment_id"]
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 15
    while any(
        e["environment_id"] == env_id
        for e in httpx.get(
            f"{engine.url}/_lconsole/v1/environments", headers=auth, timeout=10
        ).json()["environments"]
    ):
        assert time.monotonic() < deadline, "the broken environment was never stopped"
        time.sleep(0.05)
    kinds = [e["type"] for e in _replay(engine.url, token, start, "broken")]
    assert "environment.failed" in kinds and "environment.reaped" not in kinds  # one ending


# Dropped connections and restarts ---------------------------------------------------------


class Proxy:
    """A loopback TCP relay whose connections the test can cut at any moment."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.relays: set[asyncio.Task[Any]] = set()
        self.server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Proxy:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.cut()
        if self.relays:
            await asyncio.wait(self.relays, timeout=5)
        await self.server.wait_closed()

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.relays.add(task)
        task.add_done_callback(self.relays.discard)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def _raw_events(url: str, token: str, after: int, function: str, last_seq: int) -> list[int]:
    """Seqs straight from the engine, no client logic: the reference to compare against."""
    seqs: list[int] = []
    params = {"after": str(after), "function": function}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream(
        "GET", f"{url}/_lconsole/v1/events", params=params, headers=headers, timeout=10
    ) as resp:
        for line in resp.iter_lines():
            data = json.loads(line)
            assert data["type"] not in ("gap",)
            if "epoch" in data and data["type"] != "hello":
                seqs.append(data["seq"])
                if data["seq"] >= last_seq:
                    return seqs
    raise AssertionError("stream ended")


def test_cut_connections_resume_from_the_cursor_exactly_once(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "resumed")
    port = int(engine.endpoint["port"])
    rounds, per_round = 4, 6
    total = rounds * per_round

    async def scenario() -> tuple[int, list[StreamItem]]:
        seen: list[StreamItem] = []
        connected = asyncio.Event()

        async def consume(items: AsyncIterator[StreamItem]) -> None:
            async for item in items:
                seen.append(item)
                if isinstance(item, Hello):
                    connected.set()
                if _finished(total)(seen):
                    return

        async with Proxy(port) as proxy:
            items = follow_events(proxy.url, token, function="resumed", backoff=FAST)
            async with contextlib.aclosing(items):
                consumer = asyncio.ensure_future(consume(items))
                await asyncio.wait_for(connected.wait(), 10)
                for _ in range(rounds):
                    connected.clear()
                    for n in range(per_round):
                        await asyncio.to_thread(_invoke, lam, "resumed", {"n": n})
                        if n == per_round // 2:
                            proxy.cut()  # mid-stream, while events keep coming
                    await asyncio.wait_for(connected.wait(), 10)
                await asyncio.wait_for(consumer, 30)
        first = seen[0]
        assert isinstance(first, Hello)
        return first.seq, seen

    start, seen = run(scenario(), 90)
    events = _events(seen)
    assert sum(isinstance(i, Reconnecting) for i in seen) >= rounds
    assert sum(isinstance(i, Hello) for i in seen) >= rounds + 1
    assert not any(isinstance(i, Gap) for i in seen)
    seqs = [e.seq for e in events]
    assert seqs == _raw_events(engine.url, token, start, "resumed", seqs[-1])
    finished = [e.fields["request_id"] for e in events if e.type == "invocation.finished"]
    assert len(finished) == len(set(finished)) == total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_engine_restart_starts_the_stream_over(tmp_path: Path) -> None:
    port = _free_port()
    state = tmp_path / "state"
    with EngineProcess(state, "--port", str(port)) as first:
        lam = first.client()
        _create(lam, "again")
        _invoke(lam, "again", {})
        old = httpx.get(
            f"{first.url}/_lconsole/v1/status",
            headers={"Authorization": f"Bearer {first.endpoint['token']}"},
            timeout=10,
        ).json()

    def read_token() -> str | None:
        try:
            return str(json.loads((state / "engine.json").read_text())["token"])
        except (OSError, ValueError, KeyError):
            return None

    async def scenario() -> list[StreamItem]:
        items = follow_events(
            f"http://127.0.0.1:{port}",
            read_token,
            after=old["seq"],
            epoch=old["epoch"],
            backoff=FAST,
        )
        async with contextlib.aclosing(items):
            assert isinstance(await anext(items), Reconnecting)  # no engine now
            second = await asyncio.to_thread(EngineProcess(state, "--port", str(port)).start)
            try:
                await asyncio.to_thread(_invoke, second.client(), "again", {})
                return await _until(items, lambda seen: bool(_events(seen)), 30)
            finally:
                await asyncio.to_thread(second.stop)

    seen = run(scenario(), 90)
    (hello,) = [i for i in seen if isinstance(i, Hello)]
    assert hello.restarted and hello.epoch != old["epoch"]
    assert seen.index(hello) < len(seen) - 1
    assert _events(seen)[0].seq == 1


def test_a_new_epoch_replays_from_its_first_event(engine, lam, token) -> None:  # type: ignore[no-untyped-def]
    status = httpx.get(
        f"{engine.url}/_lconsole/v1/status",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()

    async def scenario() -> list[StreamItem]:
        # A cursor far ahead, taken from "another engine": the client must start over at 1.
        items = follow_events(engine.url, token, after=10**9, epoch="elsewhere", backoff=FAST)
        async with contextlib.aclosing(items):
            return await _until(items, lambda seen: len(_events(seen)) >= 3, 15)

    seen = run(scenario())
    hello = seen[0]
    assert isinstance(hello, Hello) and hello.restarted and hello.epoch == status["epoch"]
    assert [e.seq for e in _events(seen)][:3] == [1, 2, 3]
