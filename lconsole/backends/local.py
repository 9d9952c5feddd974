"""The local engine, reached over its AWS Lambda REST API and its console API with httpx.

The engine is never imported. The console API (`/_lconsole/v1/...`, token-guarded) adds what AWS
spreads over CloudWatch and X-Ray: invocation records, environments, logs, traces, metrics and
a live event stream. A route the running engine does not have yet answers 404
`UnknownOperationException`, which becomes `NotAvailable`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import importlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from lconsole.backends.base import (
    AliasInfo,
    BackendError,
    BackendUnavailable,
    Capabilities,
    ConcurrencyInfo,
    ConfigurationChange,
    DeployOutcome,
    EnvironmentInfo,
    FunctionInfo,
    FunctionSpec,
    Invocation,
    InvocationType,
    InvokeOutcome,
    LiveEvent,
    LogLine,
    LogQuery,
    MetricSeries,
    NotAvailable,
    ProvisionedInfo,
    Segment,
    Trace,
    TraceSummary,
)
from lconsole.backends.package import zip_directory

API = "/2015-03-31"
CONSOLE = "/_lconsole/v1"
STREAM_MODULE = "lconsole.backends.stream"  # the live stream client, when this build has it
# Invoke waits for the function: Lambda's longest timeout plus room for a cold start.
INVOKE_TIMEOUT = httpx.Timeout(960.0, connect=5.0)
CONTROL_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UPDATE_WAIT_SECONDS = 60.0


def _function_path(name: str, suffix: str = "", api: str = API) -> str:
    return f"{api}/functions/{quote(name, safe='')}{suffix}"


def _stream_client() -> Any | None:
    try:
        return importlib.import_module(STREAM_MODULE)
    except ImportError:
        return None


class LocalBackend:
    """`Backend` over the engine at `url` (e.g. the `url` in a state dir's engine.json)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        token_reader: Callable[[], str | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token  # guards the console API; the Lambda REST API does not need it
        # Where to read the token again: an engine that restarted has a new one.
        self.token_reader = token_reader
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
        rows = await self._pages(f"{API}/functions", "Functions")
        return [FunctionInfo.from_configuration(f) for f in rows]

    async def _pages(self, path: str, key: str, **extra: str) -> list[Any]:
        """Every item of a Marker/NextMarker-paged AWS list."""
        out: list[Any] = []
        marker: str | None = None
        while True:
            params = {**extra, "MaxItems": "50", **({"Marker": marker} if marker else {})}
            data = (await self._request("GET", path, params=params)).json()
            out.extend(data.get(key, []))
            marker = data.get("NextMarker")
            if not marker:
                return out

    def _token(self) -> str | None:
        if self.token_reader is not None:
            self.token = self.token_reader() or self.token
        return self.token

    async def _console(self, what: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a console API route; 404 for an unknown route means the engine lacks `what`."""
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token or ''}"}
            try:
                response = await self._request("GET", CONSOLE + path, headers=headers, params=clean)
            except BackendError as exc:
                if exc.status == 404 and exc.code in ("UnknownOperationException", "HTTP404"):
                    raise NotAvailable(what) from exc
                if exc.status == 403 and attempt == 1 and self.token_reader is not None:
                    self._token()  # the engine restarted with a new token: read it, try again
                    continue
                raise
            return response.json()
        raise AssertionError("unreachable")

    async def capabilities(self) -> Capabilities:
        where = f"local {urlsplit(self.url).netloc}"
        try:
            status = await self._console("the console API", "/status")
        except NotAvailable:
            return Capabilities(where=where)
        features = status.get("features") if isinstance(status, dict) else None
        has = (lambda f: f in features) if isinstance(features, list) else (lambda f: True)
        return Capabilities(
            where=where,
            invocations=True,
            environments=True,
            live=_stream_client() is not None,
            logs=has("logs"),
            traces=has("traces"),
            metrics=has("metrics"),
        )

    async def list_versions(self, name: str) -> list[FunctionInfo]:
        rows = await self._pages(_function_path(name, "/versions"), "Versions")
        return [FunctionInfo.from_configuration(r) for r in rows]

    async def publish_version(self, name: str, description: str = "") -> FunctionInfo:
        body = {"Description": description} if description else {}
        response = await self._request("POST", _function_path(name, "/versions"), json_body=body)
        return FunctionInfo.from_configuration(response.json())

    async def list_aliases(self, name: str) -> list[AliasInfo]:
        rows = await self._pages(_function_path(name, "/aliases"), "Aliases")
        return [AliasInfo.from_aws(r) for r in rows]

    async def update_alias(
        self,
        name: str,
        alias: str,
        *,
        function_version: str | None = None,
        weights: Mapping[str, float] | None = None,
        revision_id: str | None = None,
    ) -> AliasInfo:
        body: dict[str, Any] = {}
        if function_version is not None:
            body["FunctionVersion"] = function_version
        if weights is not None:
            body["RoutingConfig"] = {"AdditionalVersionWeights": dict(weights)}
        if revision_id:
            body["RevisionId"] = revision_id
        path = _function_path(name, f"/aliases/{quote(alias, safe='')}")
        response = await self._request("PUT", path, json_body=body)
        return AliasInfo.from_aws(response.json())

    async def create_alias(
        self,
        name: str,
        alias: str,
        function_version: str,
        *,
        weights: Mapping[str, float] | None = None,
        description: str = "",
    ) -> AliasInfo:
        body: dict[str, Any] = {
            "Name": alias,
            "FunctionVersion": function_version,
            "Description": description,
        }
        if weights:
            body["RoutingConfig"] = {"AdditionalVersionWeights": dict(weights)}
        response = await self._request("POST", _function_path(name, "/aliases"), json_body=body)
        return AliasInfo.from_aws(response.json())

    async def update_configuration(self, name: str, change: ConfigurationChange) -> FunctionInfo:
        response = await self._request(
            "PUT", _function_path(name, "/configuration"), json_body=change.configuration()
        )
        await self._wait_for_update(name)
        return FunctionInfo.from_configuration(response.json())

    async def concurrency(self, name: str) -> ConcurrencyInfo:
        reserved = await self._request("GET", _function_path(name, "/concurrency", "/2019-09-30"))
        rows = await self._pages(
            _function_path(name, "/provisioned-concurrency", "/2019-09-30"),
            "ProvisionedConcurrencyConfigs",
            List="ALL",
        )
        return ConcurrencyInfo(
            reserved=reserved.json().get("ReservedConcurrentExecutions"),
            provisioned=tuple(
                ProvisionedInfo(
                    qualifier=str(r.get("FunctionArn", "")).rsplit(":", 1)[-1],
                    requested=int(r.get("RequestedProvisionedConcurrentExecutions") or 0),
                    available=int(r.get("AvailableProvisionedConcurrentExecutions") or 0),
                    allocated=int(r.get("AllocatedProvisionedConcurrentExecutions") or 0),
                    status=str(r.get("Status") or ""),
                )
                for r in rows
            ),
        )

    async def put_reserved_concurrency(self, name: str, value: int | None) -> None:
        path = _function_path(name, "/concurrency", "/2017-10-31")
        if value is None:
            await self._request("DELETE", path)
        else:
            await self._request("PUT", path, json_body={"ReservedConcurrentExecutions": value})

    async def invocations(self, name: str, limit: int = 100) -> list[Invocation]:
        data = await self._console(
            "invocation records",
            f"/functions/{quote(name, safe='')}/invocations",
            {"limit": limit},
        )
        return [Invocation.from_record(r) for r in data.get("invocations", [])]

    async def environments(self, name: str | None = None) -> list[EnvironmentInfo]:
        data = await self._console("execution environments", "/environments", {"function": name})
        return [EnvironmentInfo.from_record(r) for r in data.get("environments", [])]

    async def follow(
        self,
        *,
        after: int | None = None,
        types: Sequence[str] | None = None,
        function: str | None = None,
    ) -> AsyncIterator[LiveEvent]:
        client = _stream_client()
        if client is None:
            raise NotAvailable("the live event stream")
        items = client.follow_events(
            self.url, self._token, after=after, types=tuple(types or ()), function=function
        )
        async with contextlib.aclosing(items):
            async for item in items:
                yield _live_event(item)

    async def logs(self, query: LogQuery) -> list[LogLine]:
        data = await self._console(
            "log queries",
            "/logs",
            {
                "function": query.function,
                "start_ms": query.start_ms,
                "end_ms": query.end_ms,
                "filter": query.filter_pattern,
                "request_id": query.request_id,
                "limit": query.limit,
            },
        )
        return [
            LogLine(
                timestamp=int(e.get("timestamp") or 0),
                message=str(e.get("message", "")),
                stream=str(e.get("stream") or ""),
                request_id=e.get("request_id"),
                event_id=str(e.get("id") or ""),
            )
            for e in data.get("events", [])
        ]

    async def traces(
        self,
        name: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        filter_expression: str | None = None,
        request_id: str | None = None,
    ) -> list[TraceSummary]:
        data = await self._console(
            "traces",
            "/traces",
            {
                "function": name,
                "start_ms": start_ms,
                "end_ms": end_ms,
                "filter": filter_expression,
                "request_id": request_id,
            },
        )
        return [
            TraceSummary(
                id=str(t.get("id", "")),
                start=float(t.get("start") or 0.0),
                duration=float(t.get("duration") or 0.0),
                has_error=bool(t.get("has_error")),
                has_fault=bool(t.get("has_fault")),
                has_throttle=bool(t.get("has_throttle")),
            )
            for t in data.get("traces", [])
        ]

    async def insights(
        self, name: str, query: str, *, start_ms: int, end_ms: int, limit: int | None = None
    ) -> list[dict[str, Any]]:
        data = await self._console(
            "Logs Insights",
            "/insights",
            {"function": name, "query": query, "start_ms": start_ms, "end_ms": end_ms,
             "limit": limit},
        )
        return [dict(row) for row in data.get("results", [])]

    async def put_log_retention(self, name: str, days: int | None) -> None:
        headers = {"Authorization": f"Bearer {self.token or ''}"}
        params = {"function": name, "days": str(days or 0)}
        await self._request("PUT", CONSOLE + "/logs/retention", headers=headers, params=params)

    async def trace(self, trace_id: str) -> Trace:
        data = await self._console("traces", f"/traces/{quote(trace_id, safe='')}")
        return Trace(
            id=str(data.get("id", trace_id)),
            duration=float(data.get("duration") or 0.0),
            segments=tuple(Segment.from_document(d) for d in data.get("segments", [])),
        )

    async def metrics(
        self, name: str, *, start_ms: int, end_ms: int, period_s: int = 60
    ) -> list[MetricSeries]:
        data = await self._console(
            "metrics",
            "/metrics",
            {"function": name, "start_ms": start_ms, "end_ms": end_ms, "period_s": period_s},
        )
        return [
            MetricSeries(
                name=str(m.get("name", "")),
                stat=str(m.get("stat", "")),
                period_s=int(m.get("period_s") or period_s),
                timestamps=tuple(int(t) for t in m.get("timestamps", [])),
                values=tuple(float(v) for v in m.get("values", [])),
            )
            for m in data.get("metrics", [])
        ]

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


def _live_event(item: Any) -> LiveEvent:
    """The stream client's items as `LiveEvent`s: its events, and hello/gap/reconnecting."""
    kind = type(item).__name__
    if kind == "StreamEvent":
        return LiveEvent(item.type, item.seq, item.time, dict(item.fields))
    if kind == "Hello":
        return LiveEvent("hello", item.seq, 0, {"epoch": item.epoch, "restarted": item.restarted})
    if kind == "Gap":
        return LiveEvent("gap", 0, 0, {"from": item.first, "to": item.last})
    return LiveEvent("reconnecting", 0, 0, {"error": getattr(item, "error", "")})


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
