"""A function version's configuration: the immutable snapshot every version and $LATEST is."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lconsole.model.arn import LATEST

# The runtimes AWS accepts for create/update, in the (unsorted) order AWS prints them in the
# enum error message.
SUPPORTED_RUNTIMES: tuple[str, ...] = (
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
)

# Known to AWS but blocked for create/update.
DEPRECATED_RUNTIMES: frozenset[str] = frozenset(
    {
        "java8",
        "go1.x",
        "provided",
        "ruby2.7",
        "nodejs14.x",
        "python3.7",
        "dotnetcore3.1",
        "nodejs12.x",
        "nodejs",
        "nodejs4.3",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "python2.7",
        "python3.6",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "ruby2.5",
        "nodejs4.3-edge",
    }
)

ARCHITECTURES: tuple[str, ...] = ("x86_64", "arm64")

RESERVED_ENV_KEYS: frozenset[str] = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


class State(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    FAILED = "Failed"


class UpdateStatus(StrEnum):
    IN_PROGRESS = "InProgress"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"


@dataclass(frozen=True)
class LayerRef:
    arn: str
    code_size: int


@dataclass(frozen=True)
class LoggingConfig:
    log_format: str = "Text"
    log_group: str = ""
    application_log_level: str | None = None
    system_log_level: str | None = None


@dataclass(frozen=True)
class FunctionConfig:
    """Configuration plus code identity of $LATEST or of one published version."""

    name: str
    version: str
    runtime: str | None
    role: str
    handler: str | None
    code_sha256: str  # base64 of the zip's SHA-256, as AWS reports it
    code_size: int
    code_id: str  # hex SHA-256: where the unzipped code lives in the code store
    last_modified: str
    revision_id: str
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: dict[str, str] | None = None
    tracing_mode: str = "PassThrough"
    layers: tuple[LayerRef, ...] = ()
    architectures: tuple[str, ...] = ("x86_64",)
    ephemeral_storage: int = 512
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    package_type: str = "Zip"
    dead_letter_target: str | None = None
    kms_key_arn: str | None = None
    vpc_config: dict[str, object] | None = None
    image_config: dict[str, object] | None = None
    snap_start_apply_on: str = "None"
    state: State = State.ACTIVE
    last_update_status: UpdateStatus | None = UpdateStatus.SUCCESSFUL
    unzipped_size: int = 0

    @property
    def is_latest(self) -> bool:
        return self.version == LATEST

    @property
    def log_group(self) -> str:
        return self.logging.log_group or f"/aws/lambda/{self.name}"

    def fingerprint(self) -> tuple[object, ...]:
        """What makes two snapshots the same version: code plus every user-set setting."""
        return (
            self.code_sha256,
            self.runtime,
            self.role,
            self.handler,
            self.description,
            self.timeout,
            self.memory_size,
            tuple(sorted((self.environment or {}).items()))
            if self.environment is not None
            else None,
            self.tracing_mode,
            self.layers,
            self.architectures,
            self.ephemeral_storage,
            self.logging,
            self.dead_letter_target,
            self.kms_key_arn,
            repr(self.vpc_config),
            repr(self.image_config),
            self.snap_start_apply_on,
        )
