"""The plain values that cross the backend seam: functions, invocations, logs, traces, metrics.

Frozen dataclasses with snake_case fields, the same whichever backend made them, so the console
and the CLI never see a wire format. `from_dict` constructors ignore keys they do not know, so a
newer engine can add fields without breaking an older console.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/lconsole"
_T = TypeVar("_T")


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


def _known_fields(cls: type[_T], data: Mapping[str, Any]) -> _T:
    """Build a dataclass from a snake_case record, ignoring keys it does not know."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})
