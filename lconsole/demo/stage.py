"""Set up what the demo needs, idempotently, through the `Backend` only.

`demo-checkout` gets two published versions, release 1 and release 2 (a canary), and a `live`
alias that sends the canary a small share. A second run finds matching versions (same code,
same configuration) and reuses them, so it changes nothing but the alias's weights.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import sys
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from lconsole.backends.base import (
    AliasInfo,
    Backend,
    BackendError,
    FunctionInfo,
    FunctionSpec,
)
from lconsole.demo.plan import ALIAS, CHECKOUT

RELEASES = ("1", "2")  # primary, canary
SAMPLES = frozenset({"python-echo", "python-xray", "node-hello", "shell-bootstrap"})
HANDLER_SOURCE = "checkout_function.py"
MEMORY_MB = 256
TIMEOUT_S = 2  # short, so a hanging order times out while the recording watches
ACTIVE_WAIT_S = 30.0
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Stage:
    """What the traffic runs against."""

    primary: str  # the version `live` sends most traffic to
    canary: str
    alias: AliasInfo
    samples: tuple[str, ...] = ()

    def describe(self) -> str:
        split = ", ".join(f"v{v} {share:.0%}" for v, share in self.alias.split())
        samples = f"; samples: {', '.join(self.samples)}" if self.samples else ""
        return f"{CHECKOUT}:{ALIAS} → {split}{samples}"


def python_runtime() -> str:
    """The Python runtime of this interpreter, within the versions Lambda offers."""
    minor = min(max(sys.version_info.minor, 9), 13)
    return f"python3.{minor}"


def checkout_spec(release: str) -> FunctionSpec:
    return FunctionSpec(
        name=CHECKOUT,
        runtime=python_runtime(),
        handler="app.handler",
        memory_size=MEMORY_MB,
        timeout=TIMEOUT_S,
        environment={"DEMO_RELEASE": release},
        description="lconsole demo: places orders; some are declined, some hang",
    )


def checkout_package() -> bytes:
    """The deployment package: the handler as `app.py`, with fixed timestamps and mode."""
    source = resources.files("lconsole.demo").joinpath(HANDLER_SOURCE).read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("app.py", _ZIP_EPOCH)
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        zf.writestr(info, source)
    return buf.getvalue()


def code_sha256(package: bytes) -> str:
    """CodeSha256 as Lambda reports it: base64 of the package's SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode("ascii")


def matches(version: FunctionInfo, spec: FunctionSpec, sha: str) -> bool:
    """A published version that already is `spec` with this code."""
    return (
        version.version != "$LATEST"
        and version.code_sha256 == sha
        and version.runtime == spec.runtime
        and version.handler == spec.handler
        and version.memory_size == spec.memory_size
        and version.timeout == spec.timeout
        and version.environment == dict(spec.environment or {})
    )


def newest(versions: Iterable[FunctionInfo]) -> FunctionInfo | None:
    numbered = [v for v in versions if v.version.isdigit()]
    return max(numbered, key=lambda v: int(v.version), default=None)


async def prepare(backend: Backend, canary_weight: float) -> Stage:
    """Deploy, publish and route as needed; returns what the traffic should hit."""
    package = checkout_package()
    sha = code_sha256(package)
    try:
        versions = await backend.list_versions(CHECKOUT)
    except BackendError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        versions = []
    chosen: dict[str, str] = {}
    for release in RELEASES:
        spec = checkout_spec(release)
        found = newest(v for v in versions if matches(v, spec, sha))
        if found is None:
            outcome = await backend.create_or_update_function(spec, package)
            if outcome.created:
                await _wait_active(backend)
            found = await backend.publish_version(CHECKOUT, f"checkout release {release}")
        chosen[release] = found.version
    primary, canary = chosen[RELEASES[0]], chosen[RELEASES[1]]
    weights = {canary: round(canary_weight, 4)} if canary != primary and canary_weight else {}
    alias = await ensure_alias(backend, primary, weights)
    present = await backend.list_functions()
    samples = tuple(sorted(f.name for f in present if f.name in SAMPLES))
    return Stage(primary, canary, alias, samples)


async def _wait_active(backend: Backend) -> None:
    """A new function is Pending until its first environment could start (AWS), briefly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACTIVE_WAIT_S
    while (await backend.get_function(CHECKOUT)).state == "Pending":
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.2)


async def ensure_alias(backend: Backend, primary: str, weights: Mapping[str, float]) -> AliasInfo:
    aliases = {a.name: a for a in await backend.list_aliases(CHECKOUT)}
    if ALIAS in aliases:
        return await backend.update_alias(
            CHECKOUT, ALIAS, function_version=primary, weights=dict(weights)
        )
    return await backend.create_alias(
        CHECKOUT,
        ALIAS,
        primary,
        weights=weights,
        description="canary: most traffic on the primary version",
    )


