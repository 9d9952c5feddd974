"""What an invocation asks for and what it produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class InvocationType(StrEnum):
    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"


class Status(StrEnum):
    SUCCESS = "success"
    ERROR = "error"  # the function (or its runtime) reported an error
    TIMEOUT = "timeout"
    CRASH = "crash"  # the runtime exited or was killed mid-invocation
    THROTTLED = "throttled"


@dataclass(frozen=True)
class InvokeRequest:
    function: str
    qualifier: str | None
    payload: bytes
    invoked_arn: str
    request_id: str
    client_context: str | None = None  # decoded JSON text, sync only
    trace_header: str | None = None
    tail: bool = False


@dataclass(frozen=True)
class InvokeResult:
    request_id: str
    executed_version: str
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the payload is an error
    log_tail: bytes | None = None  # last 4 KB of this invocation's log, when asked


@dataclass
class InvocationRecord:
    """One row per invocation: what the console lists and metrics are built from."""

    request_id: str
    function: str
    qualifier: str | None
    executed_version: str
    environment_id: str
    cold: bool
    start_ms: int
    end_ms: int = 0
    init_ms: float | None = None
    duration_ms: float = 0.0
    billed_ms: int = 0
    memory_mb: int = 128
    max_memory_mb: int = 0
    status: Status = Status.SUCCESS
    error_type: str | None = None
    architecture: str = "x86_64"
    invocation_type: InvocationType = InvocationType.REQUEST_RESPONSE
    provisioned: bool = False
    cost_usd: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)
