"""Handler: Invoke, with AWS's headers, payload limits and LogResult."""

from __future__ import annotations

import base64
import binascii
import json
import uuid

from starlette.requests import Request
from starlette.responses import Response

from lconsole.api.wire import engine
from lconsole.model import errors
from lconsole.model.invocation import InvocationType

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


async def invoke(request: Request) -> Response:
    headers = request.headers
    kind = _invocation_type(headers.get("x-amz-invocation-type"))
    tail = _log_type(headers.get("x-amz-log-type"))
    client_context = _client_context(headers.get("x-amz-client-context"))
    raw = await request.body()
    limit = MAX_ASYNC_PAYLOAD if kind is InvocationType.EVENT else MAX_SYNC_PAYLOAD
    if len(raw) > limit:
        if kind is InvocationType.EVENT:
            raise errors.request_too_large(
                f"{len(raw)} byte payload is too large for the Event invocation type "
                f"(limit {MAX_ASYNC_PAYLOAD} bytes)"
            )
        raise errors.request_too_large(
            f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction "
            "operation"
        )
    payload = _payload(raw)
    request_id = str(uuid.uuid4())
    result = await engine(request).invoke(
        request.path_params["name"],
        request.query_params.get("Qualifier"),
        payload,
        invocation_type=kind,
        tail=tail and kind is InvocationType.REQUEST_RESPONSE,
        client_context=client_context if kind is InvocationType.REQUEST_RESPONSE else None,
        request_id=request_id,
    )
    common = {"x-amzn-RequestId": request_id, "x-amzn-Remapped-Content-Length": "0"}
    if kind is InvocationType.DRY_RUN:
        return Response(b"", status_code=204, headers=common)
    if kind is InvocationType.EVENT or result is None:
        return Response(b"", status_code=202, headers=common)
    out = {**common, "X-Amz-Executed-Version": result.executed_version}
    if result.function_error:
        out["X-Amz-Function-Error"] = result.function_error
    if result.log_tail is not None:
        out["X-Amz-Log-Result"] = base64.b64encode(result.log_tail).decode()
    return Response(result.payload, status_code=200, headers=out, media_type="application/json")
