"""The engine's HTTP protocol: uvicorn's httptools protocol with Invoke answered from the parser.

Invoke is the one hot request, so it does not go through uvicorn's request cycle and ASGI:
`ApiProtocol` recognises it when the headers are parsed, collects the body in the parser
callbacks, runs `lconsole.api.invoke.answer` in one task and writes the whole response with
one socket write. `InvokeCycle` stands in for uvicorn's cycle object, so keep-alive, pipelining,
disconnects and graceful shutdown stay uvicorn's own logic. Every other request goes to the
ASGI app as before.

uvicorn writes a response's head and body in separate writes. With Nagle's algorithm on, the
body then waits for the peer's delayed ACK (about 40 ms on Linux) on every keep-alive request,
so TCP_NODELAY is set; with it off, the two writes become two packets and two wake-ups of the
client. `_Coalescing` holds a response head until the body follows in the same step (or the
loop's next turn at the latest), so a typical answer leaves in one write.
"""

from __future__ import annotations

import asyncio
import socket
import urllib.parse
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from lconsole.api import invoke
from lconsole.engine.service import Engine

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INVOKE_PREFIX = invoke.PREFIX.encode()


class _Coalescing:
    """A transport proxy joining a held response head with the write that follows it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            self._transport.write(held + data)
            return
        if data.startswith(b"HTTP/1."):
            self._held = bytes(data)
            self._flush_handle = self._loop.call_soon(self.flush)
            return
        self._transport.write(data)

    def flush(self) -> None:
        self._flush_handle = None
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class InvokeCycle:
    """One Invoke request: the parts of uvicorn's `RequestResponseCycle` its protocol uses."""

    def __init__(
        self,
        protocol: ApiProtocol,
        name: str,
        headers: dict[bytes, bytes],
        query: bytes,
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        self.protocol = protocol
        self.name = name
        self.headers = headers
        self.query = query
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.limit = invoke.body_limit(headers.get(b"x-amz-invocation-type"))
        self.chunks: list[bytes] = []
        self.size = 0
        self.more_body = True
        self.disconnected = False
        self.response_complete = False
        self.message_event = asyncio.Event()  # set on more body, its end, or a disconnect

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= self.limit:
            self.chunks.append(chunk)

    def body(self) -> bytes | int:
        if self.size > self.limit:
            return self.size
        chunks = self.chunks
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def run_asgi(self, app: object) -> None:
        """Named as uvicorn's cycle method, so a pipelined Invoke starts the same way."""
        protocol = self.protocol
        raw = protocol.raw_transport
        if self.more_body:
            if self.expect_continue and not raw.is_closing():
                raw.write(_CONTINUE)
            protocol.flow.resume_reading()
            while self.more_body and not self.disconnected:
                await self.message_event.wait()
                self.message_event.clear()
        if self.disconnected:
            return  # the request never arrived whole: nothing was invoked
        status, headers, body = await invoke.answer(
            protocol.engine, self.name, self.headers, self.query, self.body()
        )
        if self.disconnected:
            return  # the function ran; there is no one left to tell
        if protocol.flow.write_paused:
            await protocol.flow.drain()
        content = [STATUS_LINE[status]]
        for name, value in protocol.server_state.default_headers:
            content += (name, b": ", value, b"\r\n")
        for name, value in headers:
            content += (name, b": ", value, b"\r\n")
        content.append(b"content-length: %d\r\n" % len(body))
        if not self.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        raw.write(b"".join(content))
        self.response_complete = True
        self.message_event.set()
        if not self.keep_alive:
            raw.close()
        protocol.on_response_complete()


class ApiProtocol(HttpToolsProtocol):
    """uvicorn's protocol with TCP_NODELAY, coalesced writes and Invoke served directly."""

    engine: ClassVar[Engine]
    raw_transport: asyncio.Transport

    @classmethod
    def serving(cls, engine: Engine) -> type[ApiProtocol]:
        """A protocol class bound to `engine` (uvicorn builds protocols from a class)."""
        return type("EngineApiProtocol", (cls,), {"engine": engine})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.raw_transport = transport
        super().connection_made(_Coalescing(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]

    def on_headers_complete(self) -> None:
        parser = self.parser
        if parser.get_method() == b"POST" and not parser.should_upgrade():
            parsed = httptools.parse_url(self.url)
            if parsed.path.startswith(_INVOKE_PREFIX):
                path = parsed.path.decode("ascii")
                if "%" in path:
                    path = urllib.parse.unquote(path)
                name = invoke.function_name(path)
                if name is not None:
                    self._begin_invoke(name, parsed.query or b"")
                    return
        super().on_headers_complete()

    def _begin_invoke(self, name: str, query: bytes) -> None:
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        cycle = InvokeCycle(
            self, name, dict(self.headers), query, keep_alive, self.expect_100_continue
        )
        existing = self.cycle
        self.cycle = cycle  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            self._start_asgi_task(cycle, self.app)  # type: ignore[arg-type]
        else:  # pipelined behind a request still being answered: uvicorn starts it in turn
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, self.app))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if type(cycle) is not InvokeCycle:
            super().on_body(body)
            return
        cycle.take(body)
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if type(cycle) is not InvokeCycle:
            super().on_message_complete()
            return
        cycle.more_body = False
        cycle.message_event.set()
