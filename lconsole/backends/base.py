"""The seam between the console/CLI and whatever runs the functions: the local engine or AWS.

Everything here is backend-neutral: plain values in, plain values out, and one exception type
(`BackendError`) carrying AWS's error code, message and HTTP status. A backend is an async
context manager; `close()` releases its connections. What a backend can show beyond the Lambda
API (environments, per-invocation records, a live stream, logs, traces, metrics) is said by its
`Capabilities`; a call it cannot answer raises `NotAvailable`, never a half-empty value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

from lconsole.backends.values import (
    DEFAULT_ROLE,
    AliasInfo,
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
    ProvisionedInfo,
    Segment,
    Trace,
    TraceSummary,
)

__all__ = [
    "DEFAULT_ROLE",
    "AliasInfo",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Capabilities",
    "ConcurrencyInfo",
    "ConfigurationChange",
    "DeployOutcome",
    "EnvironmentInfo",
    "FunctionInfo",
    "FunctionSpec",
    "Invocation",
    "InvocationType",
    "InvokeOutcome",
    "LiveEvent",
    "LogLine",
    "LogQuery",
    "MetricSeries",
    "NotAvailable",
    "ProvisionedInfo",
    "Segment",
    "Trace",
    "TraceSummary",
]


class BackendError(Exception):
    """An error answered by the backend, in AWS's terms (`ResourceNotFoundException`, ...)."""

    def __init__(
        self, code: str, message: str, status: int = 0, *, error_type: str | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.error_type = error_type  # AWS's `Type` key: "User" or "Service", when present

    @classmethod
    def from_aws(
        cls, status: int, body: Mapping[str, Any] | None, error_type_header: str | None = None
    ) -> BackendError:
        """Build from an AWS JSON error body and its `X-Amzn-ErrorType` header."""
        body = body if isinstance(body, Mapping) else {}
        code = (error_type_header or "").split(":", 1)[0].strip()
        if not code:
            raw = body.get("__type") or body.get("code") or body.get("Code") or ""
            code = str(raw).rsplit("#", 1)[-1]
        message = body.get("message") or body.get("Message") or ""
        kind = body.get("Type")
        return cls(
            code or f"HTTP{status}",
            str(message) or f"the backend answered HTTP {status}",
            status,
            error_type=str(kind) if kind is not None else None,
        )


class BackendUnavailable(BackendError):
    """The backend could not be reached at all (connection refused, timeout, DNS...)."""

    def __init__(self, message: str) -> None:
        super().__init__("ConnectionError", message, 0)


class NotAvailable(BackendError):
    """This backend (or this version of the engine) cannot answer that kind of question."""

    def __init__(self, what: str) -> None:
        super().__init__("NotAvailable", f"{what}: not available on this backend", 404)
        self.what = what


@runtime_checkable
class Backend(Protocol):
    """What the console and the CLI need from wherever functions run."""

    async def invoke(
        self,
        name: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        invocation_type: InvocationType = "RequestResponse",
        tail: bool = False,
    ) -> InvokeOutcome: ...

    async def create_or_update_function(
        self, spec: FunctionSpec, zip_bytes: bytes
    ) -> DeployOutcome:
        """Create the function, or if it exists update its code, then its configuration."""
        ...

    async def deploy(self, spec: FunctionSpec, source: Path) -> DeployOutcome:
        """Package a directory (see `package.zip_directory`) and create or update the function."""
        ...

    async def get_function(self, name: str, qualifier: str | None = None) -> FunctionInfo: ...

    async def list_functions(self) -> list[FunctionInfo]: ...

    async def capabilities(self) -> Capabilities:
        """What this backend can show; cheap, and asked again after a reconnect."""
        ...

    async def list_versions(self, name: str) -> list[FunctionInfo]:
        """Every published version plus $LATEST, as ListVersionsByFunction gives them."""
        ...

    async def publish_version(self, name: str, description: str = "") -> FunctionInfo: ...

    async def list_aliases(self, name: str) -> list[AliasInfo]: ...

    async def update_alias(
        self,
        name: str,
        alias: str,
        *,
        function_version: str | None = None,
        weights: Mapping[str, float] | None = None,
        revision_id: str | None = None,
    ) -> AliasInfo:
        """UpdateAlias; `weights={}` removes the routing config, `None` leaves it."""
        ...

    async def create_alias(
        self,
        name: str,
        alias: str,
        function_version: str,
        *,
        weights: Mapping[str, float] | None = None,
        description: str = "",
    ) -> AliasInfo:
        """CreateAlias, optionally with a weighted additional version."""
        ...

    async def update_configuration(
        self, name: str, change: ConfigurationChange
    ) -> FunctionInfo: ...

    async def concurrency(self, name: str) -> ConcurrencyInfo: ...

    async def put_reserved_concurrency(self, name: str, value: int | None) -> None:
        """PutFunctionConcurrency, or DeleteFunctionConcurrency when `value` is None."""
        ...

    async def invocations(self, name: str, limit: int = 100) -> list[Invocation]:
        """Recent invocations, newest first (`NotAvailable` without the capability)."""
        ...

    async def environments(self, name: str | None = None) -> list[EnvironmentInfo]: ...

    def follow(
        self,
        *,
        after: int | None = None,
        types: Sequence[str] | None = None,
        function: str | None = None,
    ) -> AsyncIterator[LiveEvent]:
        """Live events as they happen, reconnecting by itself (`NotAvailable` without `live`)."""
        ...

    async def logs(self, query: LogQuery) -> list[LogLine]:
        """FilterLogEvents over the function's log group, oldest first."""
        ...

    async def traces(
        self,
        name: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        filter_expression: str | None = None,
        request_id: str | None = None,
    ) -> list[TraceSummary]:
        """Trace summaries, newest first; `filter_expression` in X-Ray's filter language.

        `request_id` keeps the trace of that invocation (none when it was not traced): its
        `AWS::Lambda` segment carries `aws.request_id`, as the REPORT line carries the trace id.
        """
        ...

    async def insights(
        self, name: str, query: str, *, start_ms: int, end_ms: int, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A Logs Insights query over the function's log group: its result rows."""
        ...

    async def put_log_retention(self, name: str, days: int | None) -> None:
        """Retention of the function's log group in days (AWS's allowed values); None: forever."""
        ...

    async def trace(self, trace_id: str) -> Trace: ...

    async def metrics(
        self, name: str, *, start_ms: int, end_ms: int, period_s: int = 60
    ) -> list[MetricSeries]: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...
