"""The local engine, reached over its AWS Lambda REST API with httpx (never by import)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx

from lconsole.backends.base import (
    BackendError,
    BackendUnavailable,
    DeployOutcome,
    FunctionInfo,
    FunctionSpec,
    InvocationType,
    InvokeOutcome,
    zip_directory,
)

API = "/2015-03-31"
# Invoke waits for the function: Lambda's longest timeout plus room for a cold start.
INVOKE_TIMEOUT = httpx.Timeout(960.0, connect=5.0)
CONTROL_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UPDATE_WAIT_SECONDS = 60.0


def _function_path(name: str, suffix: str = "") -> str:
    return f"{API}/functions/{quote(name, safe='')}{suffix}"


class LocalBackend:
    """`Backend` over the engine at `url` (e.g. the `url` in a state dir's engine.json)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token  # guards the console API; the Lambda REST API does not need it
        self._client = httpx.AsyncClient(
            base_url=self.url, timeout=CONTROL_TIMEOUT, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        try:
            response = await self._client.request(
                method,
                path,
                json=json_body,
                content=content,
                headers=headers,
                params=params,
                timeout=timeout or CONTROL_TIMEOUT,
            )
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"the engine at {self.url} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"cannot reach the engine at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def invoke(
        self,
        name: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        invocation_type: InvocationType = "RequestResponse",
        tail: bool = False,
    ) -> InvokeOutcome:
        headers = {"X-Amz-Invocation-Type": invocation_type}
        if tail:
            headers["X-Amz-Log-Type"] = "Tail"
        response = await self._request(
            "POST",
            _function_path(name, "/invocations"),
            content=payload,
            headers=headers,
            params={"Qualifier": qualifier} if qualifier else None,
            timeout=INVOKE_TIMEOUT,
        )
        h = response.headers
        return InvokeOutcome(
            status_code=response.status_code,
            payload=response.content,
            executed_version=h.get("x-amz-executed-version"),
            function_error=h.get("x-amz-function-error"),
            log_tail=_decode_tail(h.get("x-amz-log-result")),
            request_id=h.get("x-amzn-requestid"),
        )

    async def get_function(self, name: str, qualifier: str | None = None) -> FunctionInfo:
        response = await self._request(
            "GET",
            _function_path(name, "/configuration"),
            params={"Qualifier": qualifier} if qualifier else None,
        )
        return FunctionInfo.from_configuration(response.json())

    async def list_functions(self) -> list[FunctionInfo]:
        out: list[FunctionInfo] = []
        marker: str | None = None
        while True:
            params = {"MaxItems": "50"}
            if marker:
                params["Marker"] = marker
            data = (await self._request("GET", f"{API}/functions", params=params)).json()
            out.extend(FunctionInfo.from_configuration(f) for f in data.get("Functions", []))
            marker = data.get("NextMarker")
            if not marker:
                return out

    async def create_or_update_function(
        self, spec: FunctionSpec, zip_bytes: bytes
    ) -> DeployOutcome:
        encoded = base64.b64encode(zip_bytes).decode("ascii")
        create = {"FunctionName": spec.name, **spec.configuration(), "Code": {"ZipFile": encoded}}
        try:
            response = await self._request("POST", f"{API}/functions", json_body=create)
        except BackendError as exc:
            if exc.code != "ResourceConflictException":
                raise
        else:
            return DeployOutcome(FunctionInfo.from_configuration(response.json()), created=True)
        await self._request(
            "PUT", _function_path(spec.name, "/code"), json_body={"ZipFile": encoded}
        )
        await self._wait_for_update(spec.name)
        response = await self._request(
            "PUT", _function_path(spec.name, "/configuration"), json_body=spec.configuration()
        )
        await self._wait_for_update(spec.name)
        return DeployOutcome(FunctionInfo.from_configuration(response.json()), created=False)

    async def deploy(self, spec: FunctionSpec, source: Path) -> DeployOutcome:
        package = await asyncio.to_thread(zip_directory, source)
        return await self.create_or_update_function(spec, package)

    async def _wait_for_update(self, name: str) -> None:
        """Wait while `LastUpdateStatus` is InProgress (the local engine is already done)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + UPDATE_WAIT_SECONDS
        while True:
            info = await self.get_function(name)
            if info.last_update_status != "InProgress" or loop.time() > deadline:
                return
            await asyncio.sleep(0.25)


def _decode_tail(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def _error(response: httpx.Response) -> BackendError:
    try:
        body = json.loads(response.content) if response.content else {}
    except ValueError:
        body = {"message": response.text.strip()[:500]}
    return BackendError.from_aws(
        response.status_code, body, response.headers.get("x-amzn-errortype")
    )
