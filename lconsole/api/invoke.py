"""Invoke, with AWS's headers, payload limits and LogResult, answered below ASGI.

Invoke is the one hot operation, so it skips uvicorn's request cycle, Starlette's middleware
and router: the engine's HTTP protocol (`lconsole.api.transport`) recognises
`POST /2015-03-31/functions/NAME/invocations` from the parser, collects the body and calls
`answer`, which returns the whole response. The rest of the API stays on Starlette, where
convenience matters more than microseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from urllib.parse import parse_qs

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


def function_name(path: str) -> str | None:
    """NAME from `/2015-03-31/functions/NAME/invocations`, or None for any other path."""
    if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
        return None
    name = path[len(PREFIX) : -len(SUFFIX)]
    return name if name and "/" not in name else None


def _check_size(size: int, kind: InvocationType) -> None:
    if kind is InvocationType.EVENT:
        raise errors.request_too_large(
            f"{size} byte payload is too large for the Event invocation type "
            f"(limit {MAX_ASYNC_PAYLOAD} bytes)"
        )
    raise errors.request_too_large(
        f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation"
    )


Headers = list[tuple[bytes, bytes]]


def body_limit(invocation_type: bytes | None) -> int:
    """How much of the body to keep: an Event payload has a smaller ceiling than a sync one."""
    return MAX_ASYNC_PAYLOAD if invocation_type == b"Event" else MAX_SYNC_PAYLOAD


def _error_answer(error: errors.LambdaError, request_id: bytes) -> tuple[int, Headers, bytes]:
    headers = [
        (b"x-amzn-RequestId", request_id),
        (b"X-Amzn-ErrorType", error.code.encode()),
        (b"content-type", _JSON),
    ]
    headers += [(k.encode(), v.encode()) for k, v in error.headers.items()]
    body = json.dumps(error.body(), separators=(",", ":")).encode()
    return error.status, headers, body




async def answer(
    engine: Engine, name: str, headers: dict[bytes, bytes], query: bytes, body: bytes | int
) -> tuple[int, Headers, bytes]:
    """The whole response to one Invoke: (status, headers, body), AWS-shaped errors included.

    `body` is the request body, or its size when it was over `body_limit` (not kept).
    """
    request_id = str(uuid.uuid4())  # also the throttle event's, when there is one
    try:
        return await _invoke(engine, name, headers, query, body, request_id)
    except errors.LambdaError as exc:
        return _error_answer(exc, request_id.encode())
    except Exception:
        log.exception("unhandled error serving Invoke for %s", name)
        error = errors.service_error("An internal error occurred.")
        return _error_answer(error, request_id.encode())


async def _invoke(
    engine: Engine,
    name: str,
    headers: dict[bytes, bytes],
    query: bytes,
    body: bytes | int,
    request_id: str,
) -> tuple[int, Headers, bytes]:
    kind = _invocation_type(_header(headers, b"x-amz-invocation-type"))
    tail = _log_type(_header(headers, b"x-amz-log-type"))
    client_context = _client_context(_header(headers, b"x-amz-client-context"))
    if isinstance(body, int):
        _check_size(body, kind)
        body = b""
    payload = _payload(body)
    qualifier = None
    if query:
        values = parse_qs(query.decode("latin-1")).get("Qualifier")
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
