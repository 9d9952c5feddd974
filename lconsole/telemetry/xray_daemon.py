"""The X-Ray daemon's UDP face on loopback: what aws-xray-sdk sends, handed to a sink.

Each datagram is a JSON header line, ``{"format": "json", "version": 1}`` (the SDKs send it
with or without spaces), a newline, then one segment or independently sent subsegment
document. The SDKs never wait for an answer, so nothing is sent back; a datagram that cannot be
read is counted and dropped with a debug log, and neither it nor a failing sink stops the
daemon.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("lconsole.telemetry.xray")

DEFAULT_HOST = "127.0.0.1"

DocumentSink = Callable[[dict[str, Any]], object]


class MalformedDatagram(ValueError):
    """A datagram that is not a daemon-protocol header plus one JSON document."""


def parse_datagram(data: bytes) -> dict[str, Any]:
    """The document a datagram carries; raises :class:`MalformedDatagram` otherwise."""
    head, newline, body = data.partition(b"\n")
    if not newline:
        raise MalformedDatagram("no header line")
    try:
        header = json.loads(head)
    except ValueError as exc:
        raise MalformedDatagram(f"header is not JSON: {exc}") from None
    if not isinstance(header, Mapping) or header.get("format") != "json":
        raise MalformedDatagram("header must say format json")
    if header.get("version") != 1:
        raise MalformedDatagram("header must say version 1")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedDatagram(f"document is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise MalformedDatagram("document is not a JSON object")
    if not isinstance(document.get("id"), str) or not isinstance(document.get("trace_id"), str):
        raise MalformedDatagram("document needs id and trace_id")
    return document


def daemon_environment(host: str, port: int) -> dict[str, str]:
    """What Lambda sets in a function's environment so its SDK finds the daemon."""
    return {
        "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
        "_AWS_XRAY_DAEMON_ADDRESS": host,
        "_AWS_XRAY_DAEMON_PORT": str(port),
    }


@dataclass
class DaemonStats:
    received: int = 0  # documents handed to the sink
    malformed: int = 0  # datagrams dropped as unreadable
    sink_failures: int = 0  # documents the sink raised on


class XRayDaemonProtocol(asyncio.DatagramProtocol):
    def __init__(self, sink: DocumentSink, stats: DaemonStats) -> None:
        self.sink = sink
        self.stats = stats

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            document = parse_datagram(data)
        except MalformedDatagram as exc:
            self.stats.malformed += 1
            log.debug("dropped datagram from %s:%s: %s", addr[0], addr[1], exc)
            return
        try:
            self.sink(document)
        except Exception:
            self.stats.sink_failures += 1
            log.exception("trace sink failed on segment %s", document.get("id"))
            return
        self.stats.received += 1

    def error_received(self, exc: Exception) -> None:
        log.debug("x-ray daemon socket error: %s", exc)


class XRayDaemon:
    """A UDP endpoint for segment documents; ``async with`` starts and stops it."""

    def __init__(self, sink: DocumentSink, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.sink = sink
        self.host = host
        self.port = port
        self.stats = DaemonStats()
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> tuple[str, int]:
        """Bind and return the (host, port) actually bound."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: XRayDaemonProtocol(self.sink, self.stats),
            local_addr=(self.host, self.port),
        )
        self._transport = transport
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        if self._transport is None:
            raise RuntimeError("the daemon is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def daemon_address(self) -> str:
        """``host:port``, the form ``AWS_XRAY_DAEMON_ADDRESS`` takes."""
        host, port = self.address
        return f"{host}:{port}"

    def environment(self) -> dict[str, str]:
        return daemon_environment(*self.address)

    async def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            await asyncio.sleep(0)  # let the loop run the transport's close callbacks

    async def __aenter__(self) -> XRayDaemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
