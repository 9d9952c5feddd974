"""LambdaError to an AWS-shaped HTTP answer; the only place error bodies are built."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import Response

from lconsole.model import errors

log = logging.getLogger("lconsole.api")


def error_response(error: errors.LambdaError) -> Response:
    headers = {"X-Amzn-ErrorType": error.code, **error.headers}
    return Response(
        json.dumps(error.body(), separators=(",", ":")),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


async def on_lambda_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.LambdaError)
    return error_response(exc)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error serving %s %s", request.method, request.url.path)
    return error_response(errors.service_error("An internal error occurred."))


def unknown_operation() -> Response:
    return error_response(
        errors.LambdaError("UnknownOperationException", "Unknown operation", 404, "Message", None)
    )
