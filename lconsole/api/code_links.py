"""Signed download links for deployment packages (AWS hands out presigned S3 URLs)."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from lconsole.api.errors import error_response
from lconsole.api.wire import engine
from lconsole.model import errors


def _signature(secret: str, code_id: str) -> str:
    return hmac.new(secret.encode(), code_id.encode(), hashlib.sha256).hexdigest()[:32]


def code_location(request: Request, code_id: str) -> str:
    base = str(request.base_url).rstrip("/")
    sig = _signature(request.app.state.token, code_id)
    return f"{base}/_lconsole/code/{code_id}.zip?X-Lconsole-Signature={sig}"


async def download(request: Request) -> Response:
    code_id = request.path_params["code_id"]
    given = request.query_params.get("X-Lconsole-Signature", "")
    path = engine(request).code.zip_path(code_id)
    expected = _signature(request.app.state.token, code_id)
    if not hmac.compare_digest(given, expected) or not path.is_file():
        return error_response(
            errors.LambdaError(
                "AccessDenied", "Request has expired or is invalid", 403, "Message", None
            )
        )
    return FileResponse(path, media_type="application/zip")
