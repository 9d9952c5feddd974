"""Invoke, with AWS's headers, payload limits and LogResult, as a lean raw-ASGI path.

Invoke is the one hot operation, so it skips Starlette's middleware and router: `InvokeRoute`
answers `POST /2015-03-31/functions/NAME/invocations` itself and hands everything else on.
The rest of the API stays on Starlette, where convenience matters more than microseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from lconsole.engine.service import Engine
from lconsole.model import errors
from lconsole.model.invocation import InvocationType

log = logging.getLogger("lconsole.api")

MAX_SYNC_PAYLOAD = 6291456
MAX_ASYNC_PAYLOAD = 1048576
_TYPES = {t.value: t for t in InvocationType}


def _invocation_type(value: str | None) -> InvocationType:
    if value is None:
        return InvocationType.REQUEST_RESPONSE
    found = _TYPES.get(value)
    if found is None:
        raise errors.validation(
            [
                f"Value '{value}' at 'invocationType' failed to satisfy constraint: Member must "
                "satisfy enum value set: [Event, RequestResponse, DryRun]"
            ]
        )
    return found


def _log_type(value: str | None) -> bool:
    if value is None or value == "None":
        return False
    if value == "Tail":
        return True
    raise errors.validation(
        [
            f"Value '{value}' at 'logType' failed to satisfy constraint: Member must satisfy "
            "enum value set: [Tail, None]"
        ]
    )


def _client_context(value: str | None) -> str | None:
    if not value:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise errors.invalid_request_content(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return text


def _payload(raw: bytes) -> bytes:
    if not raw.strip():
        return b"{}"
    try:
        json.loads(raw)
    except UnicodeDecodeError as exc:
        raise errors.invalid_request_content(
            "Could not parse request body into json: Could not parse payload into json: "
            f"Invalid UTF-8 start byte 0x{raw[exc.start]:02x}"
        ) from None
    except ValueError as exc:
        raise errors.invalid_request_content(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return raw


PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
_JSON = b"application/json"


def _function_name(path: str) -> str | None:
    """NAME from `/2015-03-31/functions/NAME/invocations`, or None for any other path."""
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    name = path[len(PREFIX) : -len(SUFFIX)]
    return name if name and "/" not in name else None


async def _read_body(receive: Receive, limit: int) -> bytes | int:
    """The request body, or its size when it is over `limit` (read to the end either way)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if size > limit:
        return size
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_size(size: int, kind: InvocationType) -> None:
    if kind is InvocationType.EVENT:
        raise errors.request_too_large(
            f"{size} byte payload is too large for the Event invocation type "
            f"(limit {MAX_ASYNC_PAYLOAD} bytes)"
        )
    raise errors.request_too_large(
        f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation"
    )


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _error_answer(error: errors.LambdaError, request_id: bytes) -> tuple[int, list, bytes]:
    headers = [
        (b"x-amzn-RequestId", request_id),
        (b"X-Amzn-ErrorType", error.code.encode()),
        (b"content-type", _JSON),
    ]
    headers += [(k.encode(), v.encode()) for k, v in error.headers.items()]
    body = json.dumps(error.body(), separators=(",", ":")).encode()
    return error.status, headers, body


async def invoke(
    engine: Engine, name: str, scope: Scope, receive: Receive, request_id: str
) -> tuple[int, list, bytes]:
    """Serve one Invoke: (status, headers, body). Raises LambdaError for AWS-shaped errors."""
    headers = {k: v for k, v in scope["headers"]}
    kind = _invocation_type(_header(headers, b"x-amz-invocation-type"))
    tail = _log_type(_header(headers, b"x-amz-log-type"))
    client_context = _client_context(_header(headers, b"x-amz-client-context"))
    limit = MAX_ASYNC_PAYLOAD if kind is InvocationType.EVENT else MAX_SYNC_PAYLOAD
    raw = await _read_body(receive, limit)
    if isinstance(raw, int):
        _check_size(raw, kind)
        raw = b""
    payload = _payload(raw)
    qualifier = None
    if scope["query_string"]:
        values = parse_qs(scope["query_string"].decode("latin-1")).get("Qualifier")
        qualifier = values[-1] if values else None
    result = await engine.invoke(
        name,
        qualifier,
        payload,
        invocation_type=kind,
        tail=tail and kind is InvocationType.REQUEST_RESPONSE,
        client_context=client_context if kind is InvocationType.REQUEST_RESPONSE else None,
        request_id=request_id,
        trace_header=_header(headers, b"x-amzn-trace-id"),
    )
    out = [(b"x-amzn-RequestId", request_id.encode()), (b"x-amzn-Remapped-Content-Length", b"0")]
    if kind is InvocationType.DRY_RUN:
        return 204, out, b""
    if kind is InvocationType.EVENT or result is None:
        return 202, out, b""
    out.append((b"X-Amz-Executed-Version", result.executed_version.encode()))
    if result.function_error:
        out.append((b"X-Amz-Function-Error", result.function_error.encode()))
    if result.log_tail is not None:
        out.append((b"X-Amz-Log-Result", base64.b64encode(result.log_tail)))
    out.append((b"content-type", _JSON))
    return 200, out, result.payload


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


class InvokeRoute:
    """Outermost ASGI layer: Invoke is answered here, every other request goes to `app`."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = None
        if scope["type"] == "http" and scope["method"] == "POST":
            name = _function_name(scope["path"])
        if name is None:
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())  # also the throttle event's, when there is one
        try:
            status, headers, body = await invoke(self.engine, name, scope, receive, request_id)
        except errors.LambdaError as exc:
            status, headers, body = _error_answer(exc, request_id.encode())
        except Exception:
            log.exception("unhandled error serving Invoke for %s", name)
            error = errors.service_error("An internal error occurred.")
            status, headers, body = _error_answer(error, request_id.encode())
        await _send(send, status, headers, body)
