"""The seam between the console/CLI and whatever runs the functions: the local engine or AWS.

Everything here is backend-neutral: plain values in, plain values out, and one exception type
(`BackendError`) carrying AWS's error code, message and HTTP status. A backend is an async
context manager; `close()` releases its connections. What a backend can show beyond the Lambda
API (environments, per-invocation records, a live stream, logs, traces, metrics) is said by its
`Capabilities`; a call it cannot answer raises `NotAvailable`, never a half-empty value.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol, Self, TypeVar, runtime_checkable

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/lconsole"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same CodeSha256
_SKIP_DIRS = frozenset({"__pycache__"})
_T = TypeVar("_T")


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


@dataclass(frozen=True)
class Capabilities:
    """What a backend can show; the console asks this, never which backend it has."""

    where: str = ""  # one line for the header: "local 127.0.0.1:9001", "aws dev eu-west-1"
    invocations: bool = False  # per-invocation records: request id, cold start, duration, cost
    environments: bool = False  # execution environments and their states
    live: bool = False  # a pushed stream of `LiveEvent`s (else the console polls)
    logs: bool = False
    traces: bool = False
    metrics: bool = False


@dataclass(frozen=True)
class InvokeOutcome:
    status_code: int  # 200 RequestResponse, 202 Event, 204 DryRun
    payload: bytes
    executed_version: str | None
    function_error: str | None  # "Unhandled" / "Handled", None when the function succeeded
    log_tail: str | None  # the last 4 KB of the log, decoded, when tail was asked for
    request_id: str | None

    @property
    def ok(self) -> bool:
        return self.function_error is None


@dataclass(frozen=True)
class FunctionSpec:
    """What a deploy sets. `None` leaves a setting as it is on update (AWS's default on create)."""

    name: str
    runtime: str
    handler: str
    role: str = DEFAULT_ROLE
    memory_size: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None
    description: str | None = None

    def configuration(self) -> dict[str, Any]:
        """The FunctionConfiguration request fields, in AWS's casing."""
        out: dict[str, Any] = {"Runtime": self.runtime, "Handler": self.handler, "Role": self.role}
        if self.memory_size is not None:
            out["MemorySize"] = self.memory_size
        if self.timeout is not None:
            out["Timeout"] = self.timeout
        if self.environment is not None:
            out["Environment"] = {"Variables": dict(self.environment)}
        if self.description is not None:
            out["Description"] = self.description
        return out


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    arn: str
    runtime: str | None
    handler: str | None
    version: str
    code_sha256: str
    code_size: int
    memory_size: int
    timeout: int
    last_modified: str
    state: str | None
    last_update_status: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_configuration(cls, data: Mapping[str, Any]) -> FunctionInfo:
        """From an AWS FunctionConfiguration shape (boto3 or the REST API's JSON)."""
        return cls(
            name=str(data.get("FunctionName", "")),
            arn=str(data.get("FunctionArn", "")),
            runtime=data.get("Runtime"),
            handler=data.get("Handler"),
            version=str(data.get("Version", "$LATEST")),
            code_sha256=str(data.get("CodeSha256", "")),
            code_size=int(data.get("CodeSize", 0) or 0),
            memory_size=int(data.get("MemorySize", 128) or 128),
            timeout=int(data.get("Timeout", 3) or 3),
            last_modified=str(data.get("LastModified", "")),
            state=data.get("State"),
            last_update_status=data.get("LastUpdateStatus"),
            raw=dict(data),
        )

    @property
    def description(self) -> str:
        return str(self.raw.get("Description") or "")

    @property
    def environment(self) -> dict[str, str]:
        variables = (self.raw.get("Environment") or {}).get("Variables") or {}
        return {str(k): str(v) for k, v in variables.items()}

    @property
    def layers(self) -> list[str]:
        return [str(layer.get("Arn", "")) for layer in self.raw.get("Layers") or []]

    @property
    def architecture(self) -> str:
        return str((self.raw.get("Architectures") or ["x86_64"])[0])

    @property
    def tracing_mode(self) -> str:
        return str((self.raw.get("TracingConfig") or {}).get("Mode") or "PassThrough")

    @property
    def ephemeral_storage(self) -> int:
        return int((self.raw.get("EphemeralStorage") or {}).get("Size") or 512)


@dataclass(frozen=True)
class AliasInfo:
    """An alias and its traffic split: `function_version` gets whatever `weights` leave."""

    name: str
    arn: str
    function_version: str
    description: str = ""
    revision_id: str = ""
    weights: Mapping[str, float] = field(default_factory=dict)  # additional version -> 0..1

    @classmethod
    def from_aws(cls, data: Mapping[str, Any]) -> AliasInfo:
        routing = (data.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        return cls(
            name=str(data.get("Name", "")),
            arn=str(data.get("AliasArn", "")),
            function_version=str(data.get("FunctionVersion", "")),
            description=str(data.get("Description") or ""),
            revision_id=str(data.get("RevisionId") or ""),
            weights={str(k): float(v) for k, v in routing.items()},
        )

    def split(self) -> list[tuple[str, float]]:
        """(version, share) for every version the alias routes to, primary first."""
        extra = sum(self.weights.values())
        return [(self.function_version, max(0.0, 1.0 - extra)), *self.weights.items()]


@dataclass(frozen=True)
class ConfigurationChange:
    """What the console edits on $LATEST; `None` leaves a setting as it is."""

    memory_size: int | None = None
    timeout: int | None = None
    description: str | None = None
    environment: Mapping[str, str] | None = None

    def configuration(self) -> dict[str, Any]:
        """The UpdateFunctionConfiguration request fields, in AWS's casing."""
        out: dict[str, Any] = {}
        if self.memory_size is not None:
            out["MemorySize"] = self.memory_size
        if self.timeout is not None:
            out["Timeout"] = self.timeout
        if self.description is not None:
            out["Description"] = self.description
        if self.environment is not None:
            out["Environment"] = {"Variables": dict(self.environment)}
        return out


@dataclass(frozen=True)
class ProvisionedInfo:
    qualifier: str
    requested: int
    available: int
    allocated: int
    status: str  # IN_PROGRESS | READY | FAILED


@dataclass(frozen=True)
class ConcurrencyInfo:
    reserved: int | None  # None: the function shares the account's unreserved pool
    provisioned: Sequence[ProvisionedInfo] = ()


@dataclass(frozen=True)
class Invocation:
    """One finished invocation as the console lists it (the engine's invocation record)."""

    request_id: str
    function: str
    executed_version: str
    cold: bool
    start_ms: int
    duration_ms: float = 0.0
    billed_ms: int = 0
    init_ms: float | None = None
    memory_mb: int = 128
    max_memory_mb: int = 0
    status: str = "success"  # success | error | timeout | crash | throttled
    error_type: str | None = None
    qualifier: str | None = None
    environment_id: str = ""
    invocation_type: str = "RequestResponse"
    provisioned: bool = False
    cost_usd: float = 0.0

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Invocation:
        """From the console API's snake_case record (or an `invocation.finished` event)."""
        return _known_fields(cls, data)

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass(frozen=True)
class EnvironmentInfo:
    environment_id: str
    function: str
    version: str
    state: str  # starting | idle | busy | restarting | stopping | stopped
    provisioned: bool = False
    created_ms: int = 0
    invocations: int = 0
    memory_mb: int = 0
    max_memory_mb: int = 0

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> EnvironmentInfo:
        return _known_fields(cls, data)


@dataclass(frozen=True)
class LiveEvent:
    """One line of the live stream: `type` like "invocation.finished", fields as sent."""

    type: str
    seq: int = 0
    time: int = 0  # epoch ms
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> LiveEvent:
        return cls(
            type=str(data.get("type", "")),
            seq=int(data.get("seq") or 0),
            time=int(data.get("time") or 0),
            fields=dict(data),
        )


@dataclass(frozen=True)
class LogQuery:
    """FilterLogEvents over a function's log group, in CloudWatch's terms."""

    function: str
    start_ms: int | None = None
    end_ms: int | None = None
    filter_pattern: str = ""
    request_id: str | None = None
    limit: int = 1000


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # epoch ms
    message: str
    stream: str = ""
    request_id: str | None = None
    event_id: str = ""  # FilterLogEvents' eventId: stable, so pages and polls can be merged


@dataclass(frozen=True)
class Segment:
    """One X-Ray segment or subsegment, times in epoch seconds as in segment documents."""

    id: str
    name: str
    start: float
    end: float | None
    parent_id: str | None = None
    origin: str = ""
    error: bool = False
    fault: bool = False
    throttle: bool = False
    annotations: Mapping[str, Any] = field(default_factory=dict)
    children: Sequence[Segment] = ()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Segment:
        return cls(
            id=str(doc.get("id", "")),
            name=str(doc.get("name", "")),
            start=float(doc.get("start_time") or 0.0),
            end=float(doc["end_time"]) if doc.get("end_time") is not None else None,
            parent_id=doc.get("parent_id"),
            origin=str(doc.get("origin") or ""),
            error=bool(doc.get("error")),
            fault=bool(doc.get("fault")),
            throttle=bool(doc.get("throttle")),
            annotations=dict(doc.get("annotations") or {}),
            children=tuple(cls.from_document(d) for d in doc.get("subsegments") or ()),
        )


@dataclass(frozen=True)
class TraceSummary:
    id: str
    start: float  # epoch seconds
    duration: float  # seconds
    has_error: bool = False
    has_fault: bool = False
    has_throttle: bool = False


@dataclass(frozen=True)
class Trace:
    id: str
    duration: float
    segments: Sequence[Segment] = ()


@dataclass(frozen=True)
class MetricSeries:
    """One CloudWatch metric (`Invocations`, `Errors`, `Duration`...) at a fixed period."""

    name: str
    stat: str  # Sum | Average | Maximum | p99 ...
    period_s: int
    timestamps: Sequence[int] = ()  # epoch seconds, ascending
    values: Sequence[float] = ()


@dataclass(frozen=True)
class DeployOutcome:
    function: FunctionInfo
    created: bool  # False when an existing function was updated


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
        """Package a directory (see `zip_directory`) and create or update the function."""
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


def _known_fields(cls: type[_T], data: Mapping[str, Any]) -> _T:
    """Build a dataclass from a snake_case record, ignoring keys it does not know."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


def zip_directory(root: Path) -> bytes:
    """A deployment package of everything under `root`, as Lambda expects it.

    File modes are kept (so `bootstrap` stays executable), `__pycache__` is left out, entries are
    sorted and timestamps fixed so an unchanged tree always yields the same CodeSha256. Symlinks
    to files are stored as the file they point at; symlinked directories are not followed.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for current, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            base = Path(current)
            for filename in sorted(files):
                path = base / filename
                st = path.stat()  # follows file symlinks
                if not stat.S_ISREG(st.st_mode):
                    continue
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_EPOCH)
                info.external_attr = (stat.S_IFREG | stat.S_IMODE(st.st_mode)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so the mode bits are honoured on extraction
                zf.writestr(info, path.read_bytes())
    return buf.getvalue()
