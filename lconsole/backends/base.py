"""The seam between the console/CLI and whatever runs the functions: the local engine or AWS.

Everything here is backend-neutral: plain values in, plain values out, and one exception type
(`BackendError`) carrying AWS's error code, message and HTTP status. A backend is an async
context manager; `close()` releases its connections.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, Self, runtime_checkable

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/lconsole"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same CodeSha256
_SKIP_DIRS = frozenset({"__pycache__"})


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

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...


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
