"""Build the engine's ASGI app: the Lambda REST API plus the console API, on one port.

Invoke is the exception: the HTTP protocol (`lconsole.api.transport`) answers it below ASGI.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lconsole.api import errors as api_errors
from lconsole.api.console import CONSOLE
from lconsole.api.routes import LAMBDA_ROUTES
from lconsole.engine.service import Engine
from lconsole.model.errors import LambdaError


class RequestIds:
    """Every answer carries `x-amzn-RequestId`, as AWS's do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4()).encode()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-amzn-requestid" for k, _ in headers):
                    headers.append((b"x-amzn-RequestId", request_id))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


async def _not_found(request: Request, exc: Exception) -> Response:
    return api_errors.unknown_operation()


def build_app(engine: Engine, token: str, on_ready: Callable[[], None] | None = None) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.stop()

    otlp = Route("/v1/traces", engine.otlp_receiver())  # OTLP/HTTP exports from functions

    app = Starlette(
        routes=[*LAMBDA_ROUTES, CONSOLE, otlp],
        lifespan=lifespan,
        exception_handlers={
            LambdaError: api_errors.on_lambda_error,
            HTTPException: _not_found,
            Exception: api_errors.on_unexpected,
        },
    )
    app.state.engine = engine
    app.state.token = token
    return RequestIds(app)  # Invoke never gets here: lconsole.api.transport answers it
