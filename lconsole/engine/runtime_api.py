"""The Lambda Runtime API (2018-06-01) that function processes poll, one channel per environment.

This face knows nothing of who invoked: the invoke path hands a `RuntimeInvocation` to a
channel and awaits its outcome; the runtime process takes it from `/next` and answers on
`/response` or `/error`. Each environment listens on its own loopback port (its
`AWS_LAMBDA_RUNTIME_API`), and the port tells the app which channel a request belongs to.
Requests are served by a small asyncio protocol over `httptools` (the parser uvicorn uses):
the Runtime API is two fixed exchanges per invocation on the hot path, so each is answered
from the parser's callbacks with one socket write, with no task, ASGI messages or middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import httptools

MAX_RESPONSE = 6291556  # 6 MiB + 100 bytes, as AWS allows
PREFIX = "/2018-06-01/runtime"
_OK = b'{"status":"OK"}'
_JSON = [(b"content-type", b"application/json")]

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Reply = Callable[[int, list[tuple[bytes, bytes]], bytes], None]


@dataclass(frozen=True)
class Outcome:
    """What the runtime said about one invocation."""

    kind: str  # "response" | "error" | "too_large"
    body: bytes
    content_type: str = "application/json"
    error_type: str | None = None  # Lambda-Runtime-Function-Error-Type, when sent


@dataclass
class RuntimeInvocation:
    request_id: str
    payload: bytes
    headers: list[tuple[bytes, bytes]]
    outcome: asyncio.Future[Outcome] = field(default_factory=lambda: _future())


def _future() -> asyncio.Future[Outcome]:
    return asyncio.get_running_loop().create_future()


def next_headers(
    request_id: str,
    deadline_ms: int,
    invoked_arn: str,
    trace_id: str | None,
    client_context: str | None,
) -> list[tuple[bytes, bytes]]:
    """Headers of the `/next` answer; empty values are left out, as AWS does."""
    headers = [
        (b"content-type", b"application/json"),
        (b"lambda-runtime-aws-request-id", request_id.encode()),
        (b"lambda-runtime-deadline-ms", str(deadline_ms).encode()),
        (b"lambda-runtime-invoked-function-arn", invoked_arn.encode()),
    ]
    if trace_id:
        headers.append((b"lambda-runtime-trace-id", trace_id.encode()))
    if client_context:
        headers.append((b"lambda-runtime-client-context", client_context.encode()))
    return headers


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def _transition(src: str, dst: str) -> bytes:
    return _error(
        "InvalidStateTransition",
        f"State transition from {src} to {dst} failed for runtime. "
        "Error: State transition is not allowed",
    )


class RuntimeChannel:
    """One environment's Runtime API state: at most one invocation in flight."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.initialised: asyncio.Future[None] = loop.create_future()
        self.init_error: Outcome | None = None
        self.current: RuntimeInvocation | None = None
        self._answered: str | None = None  # id of the last invocation already answered
        self._pending: RuntimeInvocation | None = None
        self._waiter: Reply | None = None  # a runtime's `/next`, waiting for work

    def reset(self) -> None:
        """A new runtime process takes over this channel (after a timeout or crash)."""
        loop = asyncio.get_running_loop()
        self.initialised = loop.create_future()
        self.init_error = None
        self.current = None
        self._pending = None
        self._waiter = None

    def dispatch(self, invocation: RuntimeInvocation) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self.current = invocation
            waiter(200, invocation.headers, invocation.payload)
        else:
            self._pending = invocation

    # Runtime-facing handlers -------------------------------------------------------------

    def next(self, reply: Reply) -> None:
        """A runtime asks for work: answer now, or when `dispatch` hands an invocation over."""
        if not self.initialised.done():
            self.initialised.set_result(None)
        if self.current is not None and self._answered != self.current.request_id:
            reply(403, _JSON, _transition("Running", "Ready"))
            return
        pending = self._pending
        if pending is not None:
            self._pending = None
            self.current = pending
            reply(200, pending.headers, pending.payload)
            return
        self._waiter = reply

    def forget(self, reply: Reply) -> None:
        """The connection waiting on `/next` went away: the next invocation waits for another."""
        if self._waiter is reply:
            self._waiter = None

    def answer(self, request_id: str, outcome: Outcome) -> tuple[int, bytes]:
        current = self.current
        if current is None or current.request_id != request_id:
            if request_id == self._answered:
                dst = (
                    "InvocationResponse"
                    if outcome.kind == "response"
                    else ("InvocationErrorResponse")
                )
                return 403, _transition("RuntimeResponseSentState", dst)
            return 400, _error("InvalidRequestID", "Invalid request ID")
        if self._answered == request_id:
            return 403, _transition("RuntimeResponseSentState", "InvocationResponse")
        self._answered = request_id
        if not current.outcome.done():
            current.outcome.set_result(outcome)
        if outcome.kind == "too_large":
            return 413, _error(
                "RequestEntityTooLarge",
                f"Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
            )
        return 202, _OK

    def report_init_error(self, outcome: Outcome) -> tuple[int, bytes]:
        if self.initialised.done() and self.init_error is None and self.current is not None:
            return 403, _transition("Ready", "InitError")
        self.init_error = outcome
        return 202, _OK


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INVOCATION = PREFIX + "/invocation/"


def _head(status: int, headers: list[tuple[bytes, bytes]], length: int, close: bool) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b""))]
    lines += [k + b": " + v for k, v in headers]
    lines.append(b"content-length: %d" % length)
    if close:
        lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class RuntimeProtocol(asyncio.Protocol):
    """One runtime connection: parse requests with httptools, answer from the channel."""

    def __init__(self, api: RuntimeApi, port: int) -> None:
        self.api = api
        self.port = port
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []
        self._size = 0
        self._waiting: Reply | None = None  # this connection's `/next`, while it waits

    # asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.api._connections.setdefault(self.port, set()).add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._write(400, _JSON, _error("BadRequest", "Upgrade is not supported"), close=True)
        except httptools.HttpParserError:
            self._write(400, _JSON, _error("BadRequest", "Malformed request"), close=True)

    def connection_lost(self, exc: Exception | None) -> None:
        conns = self.api._connections.get(self.port)
        if conns is not None:
            conns.discard(self)
        if self._waiting is not None:
            channel = self.api.channels.get(self.port)
            if channel is not None:
                channel.forget(self._waiting)
            self._waiting = None
        self.transport = None

    # httptools callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = {}
        self._body = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self.transport:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_RESPONSE:
            self._body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        path = self._url.split(b"?", 1)[0].decode("latin-1")
        self._route(method, path)

    # Routing -------------------------------------------------------------------------------

    def _header(self, name: bytes) -> str | None:
        value = self._headers.get(name)
        return value.decode("latin-1") if value is not None else None

    def _route(self, method: bytes, path: str) -> None:
        channel = self.api.channels.get(self.port)
        if channel is None or not path.startswith(PREFIX):
            self._write(404, _JSON, _error("NotFound", "Not Found"))
            return
        if path == PREFIX + "/invocation/next" and method == b"GET":
            reply = self._reply_next
            self._waiting = reply
            channel.next(reply)
            return
        if method != b"POST":
            self._write(405, _JSON, _error("MethodNotAllowed", "Method Not Allowed"))
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        over = self._size > MAX_RESPONSE
        if path == PREFIX + "/init/error":
            error_type = self._header(b"lambda-runtime-function-error-type")
            outcome = Outcome("error", body, error_type=error_type)
            status, answer = channel.report_init_error(outcome)
            self._write(status, _JSON, answer)
            return
        if path.startswith(_INVOCATION):
            request_id, _, verb = path[len(_INVOCATION) :].partition("/")
            if verb in ("response", "error"):
                mode = self._header(b"lambda-runtime-function-response-mode")
                if mode is not None and mode.lower() not in ("streaming", "buffered"):
                    self._write(
                        400,
                        _JSON,
                        _error("InvalidFunctionResponseMode", "Invalid function response mode"),
                    )
                    return
                if over and verb == "response":
                    outcome = Outcome("too_large", b"")
                else:
                    outcome = Outcome(
                        verb,
                        b"" if over else body,
                        content_type=self._header(b"content-type") or "application/json",
                        error_type=self._header(b"lambda-runtime-function-error-type"),
                    )
                status, answer = channel.answer(request_id, outcome)
                self._write(status, _JSON, answer)
                return
        self._write(404, _JSON, _error("NotFound", "Not Found"))

    def _reply_next(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self._waiting = None
        self._write(status, headers, body)

    def _write(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, close: bool = False
    ) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        close = close or not self.parser.should_keep_alive()
        transport.write(_head(status, headers, len(body), close) + body)
        if close:
            transport.close()


class RuntimeApi:
    """Every environment's Runtime API, each on its own loopback port."""

    def __init__(self) -> None:
        self.channels: dict[int, RuntimeChannel] = {}
        self._servers: dict[int, asyncio.base_events.Server] = {}
        self._connections: dict[int, set[RuntimeProtocol]] = {}

    async def open(self, channel: RuntimeChannel, host: str = "127.0.0.1") -> int:
        """Listen on a fresh loopback port for one environment; returns the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, 0))
        sock.listen(16)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        server = await asyncio.get_running_loop().create_server(
            lambda: RuntimeProtocol(self, port), sock=sock
        )
        self.channels[port] = channel
        self._servers[port] = server
        return port

    async def close(self, port: int) -> None:
        """Stop listening and drop the port's connections (ending a pending `/next` too)."""
        self.channels.pop(port, None)
        server = self._servers.pop(port, None)
        if server is not None:
            server.close()
        for conn in list(self._connections.pop(port, ())):
            if conn.transport is not None:
                conn.transport.close()

    async def close_all(self) -> None:
        for port in list(self._servers):
            await self.close(port)
