"""Per-function settings that live beside versions: concurrency, async config, policy, layers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProvisionedConcurrency:
    qualifier: str
    requested: int
    last_modified: str
    allocated: int = 0
    status: str = "IN_PROGRESS"  # IN_PROGRESS | READY | FAILED
    status_reason: str | None = None


@dataclass(frozen=True)
class EventInvokeConfig:
    qualifier: str
    last_modified: float  # epoch seconds
    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = None
    on_failure: str | None = None


@dataclass(frozen=True)
class PolicyStatement:
    sid: str
    statement: dict[str, object]


@dataclass(frozen=True)
class Policy:
    revision_id: str
    statements: tuple[PolicyStatement, ...] = ()


@dataclass(frozen=True)
class LayerVersion:
    name: str
    version: int
    code_sha256: str
    code_size: int
    code_id: str
    created: str
    unzipped_size: int = 0
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str | None = None
    policy: Policy | None = None


@dataclass(frozen=True)
class AccountLimits:
    concurrent_executions: int = 1000
    unreserved_minimum: int = 100
    total_code_size: int = 80530636800
    code_size_unzipped: int = 262144000
    code_size_zipped: int = 52428800
