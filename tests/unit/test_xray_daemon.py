"""The UDP daemon with the real aws-xray-sdk as its client, feeding the real trace store."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from aws_xray_sdk.core import AWSXRayRecorder

from lconsole.store.db import connect, transaction
from lconsole.store.traces import TraceStore, create_schema
from lconsole.telemetry.xray_daemon import (
    MalformedDatagram,
    XRayDaemon,
    daemon_environment,
    parse_datagram,
)

WAIT = 5.0  # seconds any datagram may take on loopback before a test gives up
SDK_VARIABLES = (
    "AWS_XRAY_DAEMON_ADDRESS",
    "AWS_XRAY_SDK_ENABLED",
    "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_TRACING_NAME",
    "LAMBDA_TASK_ROOT",
    "_X_AMZN_TRACE_ID",
)


@pytest.fixture(autouse=True)
def _plain_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads these; none may leak in from the machine running the tests."""
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    db: sqlite_utils.Database = connect(tmp_path / "state.db")
    with transaction(db):
        create_schema(db.conn)
    yield TraceStore(db)
    db.conn.close()


def _recorder(daemon: XRayDaemon, **config: Any) -> AWSXRayRecorder:
    recorder = AWSXRayRecorder()
    recorder.configure(
        daemon_address=daemon.daemon_address,
        sampling=False,  # record every segment
        context_missing="LOG_ERROR",
        plugins=(),
        **config,
    )
    return recorder


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll the running loop until ``condition`` holds, for at most WAIT seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def _checkout(recorder: AWSXRayRecorder, *, inner: bool) -> str:
    """An instrumented request: a segment, a subsegment with an annotation, and an error."""
    with recorder.in_segment("checkout") as segment:
        trace_id = segment.trace_id
        segment.put_http_meta("url", "https://shop.example/checkout")
        segment.put_http_meta("method", "POST")
        with pytest.raises(ValueError), recorder.in_subsegment("charge") as charge:
            charge.put_annotation("order_id", "o-1")
            charge.put_metadata("card", {"last4": "4242"})
            if inner:
                with recorder.in_subsegment("gateway") as gateway:
                    gateway.put_annotation("attempt", 1)
                    raise ValueError("card declined")
            raise ValueError("card declined")
        segment.put_http_meta("status", 502)
    return trace_id


def test_whole_segment_from_the_sdk_is_reassembled(store: TraceStore) -> None:
    async def scenario() -> str:
        documents: list[dict[str, Any]] = []
        async with XRayDaemon(documents.append) as daemon:
            recorder = _recorder(daemon)
            trace_id = await asyncio.to_thread(_checkout, recorder, inner=False)
            await _until(lambda: len(documents) == 1, "the segment")
            assert daemon.stats.malformed == 0
        assert store.put(documents) == []
        return trace_id

    trace_id = asyncio.run(scenario())
    trace = store.trace(trace_id)
    assert trace is not None and trace.orphans == ()
    (segment,) = trace.segments
    assert segment.name == "checkout" and segment.fault
    (charge,) = segment.subsegments
    assert charge.name == "charge" and charge.fault
    assert charge.annotations == {"order_id": "o-1"}
    assert charge.document["metadata"] == {"default": {"card": {"last4": "4242"}}}
    (exception,) = charge.document["cause"]["exceptions"]
    assert exception["type"] == "ValueError" and exception["message"] == "card declined"
    (summary,) = store.summaries(
        since=0, until=2**41, filter_expression='annotation.order_id = "o-1" AND fault'
    )
    assert summary.id == trace_id
    assert summary.http.status == 502 and summary.http.method == "POST"


def test_streamed_subsegments_arrive_first_and_nest_under_their_parents(
    store: TraceStore,
) -> None:
    async def scenario() -> str:
        documents: list[dict[str, Any]] = []
        async with XRayDaemon(documents.append) as daemon:
            recorder = _recorder(daemon, streaming_threshold=0)
            trace_id = await asyncio.to_thread(_checkout, recorder, inner=True)
            await _until(lambda: len(documents) == 3, "two subsegments and the segment")
        independent = [d for d in documents if d.get("type") == "subsegment"]
        assert [d["name"] for d in independent] == ["gateway", "charge"]
        assert all(d["trace_id"] == trace_id and d["parent_id"] for d in independent)
        for doc in documents:  # one batch per datagram, in arrival order
            assert store.put([doc]) == []
        return trace_id

    trace_id = asyncio.run(scenario())
    trace = store.trace(trace_id)
    assert trace is not None and trace.orphans == ()
    (segment,) = trace.segments
    (charge,) = segment.subsegments
    (gateway,) = charge.subsegments
    assert (segment.name, charge.name, gateway.name) == ("checkout", "charge", "gateway")
    assert gateway.fault and gateway.annotations == {"attempt": 1}
    (summary,) = store.summaries(since=0, until=2**41)
    assert {k: [v.value for v in vals] for k, vals in summary.annotations.items()} == {
        "order_id": ["o-1"],
        "attempt": [1],
    }


def test_malformed_datagrams_are_counted_and_dropped() -> None:
    good = {"id": "53995c3f42cd8ad8", "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
            "name": "ok", "start_time": 1.0, "end_time": 2.0}  # fmt: skip
    bad = [
        b"nonsense",
        b'{"format":"json","version":1}',  # no newline, no document
        b'{"format":"json","version":2}\n{}',
        b'{"format":"xml","version":1}\n<segment/>',
        b'{"format":"json","version":1}\n[1, 2]',
        b'{"format":"json","version":1}\n{"name": "no ids"}',
        b"\xff\xfe\n\x00",
    ]

    async def scenario() -> None:
        documents: list[dict[str, Any]] = []
        async with XRayDaemon(documents.append) as daemon:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for payload in bad:
                    sock.sendto(payload, daemon.address)
                sock.sendto(b'{"format": "json", "version": 1}\n' + json.dumps(good).encode(),
                            daemon.address)  # fmt: skip
                await _until(
                    lambda: daemon.stats.malformed == len(bad) and len(documents) == 1,
                    "every datagram",
                )
        assert documents == [good]
        assert daemon.stats.received == 1

    asyncio.run(scenario())


def test_a_failing_sink_does_not_stop_the_daemon() -> None:
    seen: list[str] = []

    def sink(document: dict[str, Any]) -> None:
        seen.append(document["name"])
        if document["name"] == "first":
            raise RuntimeError("store is down")

    async def scenario() -> None:
        async with XRayDaemon(sink) as daemon:
            recorder = _recorder(daemon)

            def two_segments() -> None:
                for name in ("first", "second"):
                    with recorder.in_segment(name):
                        pass

            await asyncio.to_thread(two_segments)
            await _until(lambda: len(seen) == 2, "both segments")
            assert daemon.stats.sink_failures == 1 and daemon.stats.received == 1

    asyncio.run(scenario())
    assert seen == ["first", "second"]


def test_daemon_reports_its_address_and_the_function_environment() -> None:
    async def scenario() -> None:
        daemon = XRayDaemon(lambda _doc: None)
        with pytest.raises(RuntimeError):
            _ = daemon.address
        host, port = await daemon.start()
        try:
            assert host == "127.0.0.1" and port > 0
            assert daemon.daemon_address == f"127.0.0.1:{port}"
            assert daemon.environment() == {
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
                "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
                "_AWS_XRAY_DAEMON_PORT": str(port),
            }
        finally:
            await daemon.stop()

    asyncio.run(scenario())
    assert daemon_environment("169.254.100.1", 2000)["AWS_XRAY_DAEMON_ADDRESS"] == (
        "169.254.100.1:2000"
    )


@pytest.mark.parametrize(
    "header", [b'{"format":"json","version":1}', b'{"format": "json", "version": 1}']
)
def test_both_header_spellings_parse(header: bytes) -> None:
    doc = parse_datagram(header + b'\n{"id": "53995c3f42cd8ad8", "trace_id": "t", "name": "n"}')
    assert doc["id"] == "53995c3f42cd8ad8"


def test_parse_datagram_says_why() -> None:
    with pytest.raises(MalformedDatagram, match="version 1"):
        parse_datagram(b'{"format":"json","version":3}\n{}')
