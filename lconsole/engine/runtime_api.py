"""The Lambda Runtime API (2018-06-01) that function processes poll, one channel per environment.

This face knows nothing of who invoked: the invoke path hands a `RuntimeInvocation` to a
channel and awaits its outcome; the runtime process takes it from `/next` and answers on
`/response` or `/error`. Each environment listens on its own loopback port (its
`AWS_LAMBDA_RUNTIME_API`), and the port tells the app which channel a request belongs to.
Requests are served by uvicorn's httptools protocol on sockets we open per environment.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from lconsole.engine.transport import NoDelayHttpToolsProtocol

MAX_RESPONSE = 6291556  # 6 MiB + 100 bytes, as AWS allows
PREFIX = "/2018-06-01/runtime"
_OK = b'{"status":"OK"}'
_JSON = [(b"content-type", b"application/json")]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


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
        self._waiter: asyncio.Future[RuntimeInvocation] | None = None

    def reset(self) -> None:
        """A new runtime process takes over this channel (after a timeout or crash)."""
        loop = asyncio.get_running_loop()
        self.initialised = loop.create_future()
        self.init_error = None
        self.current = None
        self._pending = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
        self._waiter = None

    def dispatch(self, invocation: RuntimeInvocation) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self._waiter = None
            self.current = invocation
            waiter.set_result(invocation)
        else:
            self._pending = invocation

    # Runtime-facing handlers -------------------------------------------------------------

    async def next(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if not self.initialised.done():
            self.initialised.set_result(None)
        if self.current is not None and self._answered != self.current.request_id:
            return 403, _JSON, _transition("Running", "Ready")
        pending = self._pending
        if pending is not None:
            self._pending = None
            self.current = pending
            return 200, pending.headers, pending.payload
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        invocation = await waiter
        return 200, invocation.headers, invocation.payload

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


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or (first bytes, True) once it grows past `limit`."""
    chunks: list[bytes] = []
    size = 0
    over = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        if not over:
            size += len(chunk)
            if size > limit:
                over = True
                chunks = []
            else:
                chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), over


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = _JSON
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RuntimeApi:
    """ASGI app serving every environment's Runtime API, keyed by the local port."""

    def __init__(self) -> None:
        self.channels: dict[int, RuntimeChannel] = {}
        self._config = uvicorn.Config(
            self,
            lifespan="off",
            access_log=False,
            log_level="warning",
            http=NoDelayHttpToolsProtocol,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=3600,
            h11_max_incomplete_event_size=None,
        )
        self._config.load()
        self._state = ServerState()
        self._servers: dict[int, asyncio.base_events.Server] = {}

    async def open(self, channel: RuntimeChannel, host: str = "127.0.0.1") -> int:
        """Listen on a fresh loopback port for one environment; returns the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, 0))
        sock.listen(16)
        sock.setblocking(False)
        port = sock.getsockname()[1]
        config, state = self._config, self._state

        def protocol() -> asyncio.Protocol:
            return NoDelayHttpToolsProtocol(config=config, server_state=state, app_state={})

        server = await asyncio.get_running_loop().create_server(protocol, sock=sock)
        self.channels[port] = channel
        self._servers[port] = server
        return port

    async def close(self, port: int) -> None:
        self.channels.pop(port, None)
        server = self._servers.pop(port, None)
        if server is not None:
            server.close()
            for conn in list(self._state.connections):
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    try:
                        if transport.get_extra_info("sockname")[1] == port:
                            transport.close()  # also ends a runtime's pending /next
                    except (TypeError, IndexError, OSError):
                        pass

    async def close_all(self) -> None:
        for port in list(self._servers):
            await self.close(port)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        channel = self.channels.get(scope["server"][1])
        path: str = scope["path"]
        method: str = scope["method"]
        if channel is None or not path.startswith(PREFIX):
            await _respond(send, 404, _error("NotFound", "Not Found"))
            return
        rest = path[len(PREFIX) :]
        if rest == "/invocation/next" and method == "GET":
            try:
                status, headers, body = await channel.next()
            except asyncio.CancelledError:
                await _respond(send, 500, _error("InternalServerError", "Internal Server Error"))
                raise
            await _respond(send, status, body, headers)
            return
        if method != "POST":
            await _respond(send, 405, _error("MethodNotAllowed", "Method Not Allowed"))
            return
        if rest == "/init/error":
            body, _ = await _read_body(receive, MAX_RESPONSE)
            outcome = Outcome(
                "error",
                body,
                error_type=_header(scope, b"lambda-runtime-function-error-type"),
            )
            status, answer = channel.report_init_error(outcome)
            await _respond(send, status, answer)
            return
        if rest.startswith("/invocation/"):
            request_id, _, verb = rest[len("/invocation/") :].partition("/")
            if verb in ("response", "error"):
                mode = _header(scope, b"lambda-runtime-function-response-mode")
                if mode is not None and mode.lower() not in ("streaming", "buffered"):
                    await _respond(
                        send,
                        400,
                        _error("InvalidFunctionResponseMode", "Invalid function response mode"),
                    )
                    return
                body, over = await _read_body(receive, MAX_RESPONSE)
                if over and verb == "response":
                    outcome = Outcome("too_large", b"")
                else:
                    outcome = Outcome(
                        verb,
                        body,
                        content_type=_header(scope, b"content-type") or "application/json",
                        error_type=_header(scope, b"lambda-runtime-function-error-type"),
                    )
                status, answer = channel.answer(request_id, outcome)
                await _respond(send, status, answer)
                return
        await _respond(send, 404, _error("NotFound", "Not Found"))
