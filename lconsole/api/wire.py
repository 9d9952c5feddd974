"""Request parsing and JSON answers shared by the handlers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lconsole.engine.service import Engine
from lconsole.model import errors

_LARGE_BODY = 1 << 20
MAX_CONTROL_BODY = 70167211


def engine(request: Request) -> Engine:
    return request.app.state.engine


def answer(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        media_type="application/json",
    )


def empty(status: int = 204) -> Response:
    return Response(b"", status_code=status)


def _parse(raw: bytes) -> Any:
    return json.loads(raw)


async def body(request: Request, operation: str = "CreateFunction") -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_CONTROL_BODY:
        raise errors.request_too_large(
            f"Request must be smaller than {MAX_CONTROL_BODY} bytes for the {operation} operation"
        )
    if not raw.strip():
        return {}
    try:
        data = await asyncio.to_thread(_parse, raw) if len(raw) > _LARGE_BODY else _parse(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid_request_content(
            f"Could not parse request body into json: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise errors.invalid_request_content(
            "Could not parse request body into json: the body must be a JSON object"
        )
    return data


def query(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


def flag(value: str | None) -> bool:
    return value is not None and value.lower() == "true"
