"""A fixed, lifelike scene for screenshots and snapshot tests: a `Backend` over fixed data.

Five functions, a canary alias at 10%, cold starts after a burst, some errors, one timeout and
a throttle, all placed relative to a frozen clock so every render is identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Self

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

NOW = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC, the scene's frozen clock
NOW_MS = int(NOW * 1000)
ACCOUNT = "000000000000"
REGION = "us-east-1"

# name, runtime, memory, invocations in the last 5 min, error share, mean ms, versions
FUNCTIONS = [
    ("checkout-api", "python3.12", 512, 240, 0.04, 85.0, 3),
    ("image-resize", "nodejs20.x", 1024, 60, 0.0, 640.0, 1),
    ("node-hello", "nodejs20.x", 128, 12, 0.0, 3.5, 0),
    ("python-echo", "python3.12", 128, 90, 0.02, 1.8, 2),
    ("shell-bootstrap", "provided.al2023", 128, 0, 0.0, 9.0, 0),
]


def _arn(name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def _config(name: str, runtime: str, memory: int, version: str = "$LATEST") -> FunctionInfo:
    n = sum(map(ord, name))
    return FunctionInfo.from_configuration(
        {
            "FunctionName": name,
            "FunctionArn": _arn(name, None if version == "$LATEST" else version),
            "Runtime": runtime,
            "Handler": "index.handler" if runtime.startswith("node") else "app.handler",
            "Version": version,
            "CodeSha256": f"{n:04x}Qm9yZGVyLWFwaS1jb2RlLXNoYQ==",
            "CodeSize": 1200 + n,
            "MemorySize": memory,
            "Timeout": 10,
            "LastModified": f"2026-01-01T11:2{version if version.isdigit() else 9}:00.000+0000",
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "Description": f"release {version}" if version.isdigit() else "",
            "Environment": {"Variables": {"STAGE": "demo", "LOG_LEVEL": "INFO"}},
            "TracingConfig": {"Mode": "Active" if name == "checkout-api" else "PassThrough"},
            "Architectures": ["arm64" if name == "image-resize" else "x86_64"],
        }
    )


def _invocations(
    name: str, count: int, errors: float, mean: float, versions: int
) -> list[Invocation]:
    rng = random.Random(name)
    out = []
    for i in range(count):
        start = NOW_MS - int(300_000 * (1 - (i + rng.random()) / max(count, 1)))
        cold = i % 40 == 0 or (i > count * 0.6 and i % 17 == 0)
        version = (
            "$LATEST"
            if not versions
            else str(versions if rng.random() < 0.1 else max(1, versions - 1))
        )
        status = "error" if rng.random() < errors else "success"
        if version == str(versions) and versions > 1 and rng.random() < 0.15:
            status = "error"  # the canary is worse: the console should make that visible
        duration = max(0.8, rng.gauss(mean, mean / 4))
        if name == "python-echo" and i == count - 7:
            status, duration = "timeout", 3000.0
        init = rng.uniform(180, 420) if cold else None
        billed = int(duration + (init or 0)) + 1
        memory = {"checkout-api": 512, "image-resize": 1024}.get(name, 128)
        out.append(
            Invocation(
                request_id=f"{rng.getrandbits(32):08x}-{i:04x}-4e20-a15c-{rng.getrandbits(48):012x}",
                function=name,
                executed_version=version,
                cold=cold,
                start_ms=start,
                duration_ms=duration,
                billed_ms=billed,
                init_ms=init,
                memory_mb=memory,
                max_memory_mb=int(memory * rng.uniform(0.2, 0.5)),
                status=status,
                error_type="Sandbox.Timedout" if status == "timeout" else None,
                environment_id=f"env{i % 3}{name[:4]}",
                cost_usd=0.0000002 + billed / 1000 * memory / 1024 * 0.0000166667,
            )
        )
    if name == "checkout-api":
        out.append(
            replace(
                out[-1],
                request_id="throttled-0001",
                status="throttled",
                start_ms=NOW_MS - 42_000,
                duration_ms=0,
                billed_ms=0,
                cost_usd=0.0,
            )
        )
    return sorted(out, key=lambda r: r.start_ms, reverse=True)


class SceneBackend:
    """Everything answers from memory; changes (alias shifts, publishes) stick for the run."""

    def __init__(self) -> None:
        self.functions = {n: _config(n, rt, mem) for n, rt, mem, *_ in FUNCTIONS}
        self.versions = {
            n: [self.functions[n], *(_config(n, rt, mem, str(v)) for v in range(1, vs + 1))]
            for n, rt, mem, _, _, _, vs in FUNCTIONS
        }
        self.aliases: dict[str, list[AliasInfo]] = {
            "checkout-api": [
                AliasInfo(
                    "live", _arn("checkout-api", "live"), "2", "production", "r1", {"3": 0.1}
                ),
                AliasInfo("dev", _arn("checkout-api", "dev"), "$LATEST", "", "r2", {}),
            ],
            "python-echo": [AliasInfo("live", _arn("python-echo", "live"), "2", "", "r3", {})],
        }
        self.records = {n: _invocations(n, c, e, m, vs) for n, _, _, c, e, m, vs in FUNCTIONS}
        self.reachable = True  # False plays an engine that went away

    def _check(self) -> None:
        if not self.reachable:
            raise BackendUnavailable("cannot reach the engine at http://127.0.0.1:9001")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        return None

    async def capabilities(self) -> Capabilities:
        self._check()
        return Capabilities("local 127.0.0.1:9001", True, True, False, True, True, True)

    async def list_functions(self) -> list[FunctionInfo]:
        self._check()
        return list(self.functions.values())

    async def get_function(self, name: str, qualifier: str | None = None) -> FunctionInfo:
        if name not in self.functions:
            raise BackendError(
                "ResourceNotFoundException", f"Function not found: {_arn(name)}", 404
            )
        return self.functions[name]

    async def list_versions(self, name: str) -> list[FunctionInfo]:
        return list(self.versions.get(name, []))

    async def publish_version(self, name: str, description: str = "") -> FunctionInfo:
        fn = self.functions[name]
        version = _config(name, fn.runtime or "", fn.memory_size, str(len(self.versions[name])))
        self.versions[name].append(version)
        return version

    async def list_aliases(self, name: str) -> list[AliasInfo]:
        return list(self.aliases.get(name, []))

    async def update_alias(
        self,
        name: str,
        alias: str,
        *,
        function_version: str | None = None,
        weights: Mapping[str, float] | None = None,
        revision_id: str | None = None,
    ) -> AliasInfo:
        rows = self.aliases[name]
        i = next(i for i, a in enumerate(rows) if a.name == alias)
        new = replace(
            rows[i],
            function_version=function_version or rows[i].function_version,
            weights=dict(weights) if weights is not None else rows[i].weights,
            revision_id=rows[i].revision_id + "'",
        )
        rows[i] = new
        return new

    async def update_configuration(self, name: str, change: ConfigurationChange) -> FunctionInfo:
        fn = self.functions[name]
        raw = {**fn.raw, **change.configuration()}
        self.functions[name] = FunctionInfo.from_configuration(raw)
        return self.functions[name]

    async def concurrency(self, name: str) -> ConcurrencyInfo:
        if name == "checkout-api":
            return ConcurrencyInfo(50, (ProvisionedInfo("live", 2, 2, 2, "READY"),))
        return ConcurrencyInfo(None)

    async def put_reserved_concurrency(self, name: str, value: int | None) -> None:
        return None

    async def invocations(self, name: str, limit: int = 100) -> list[Invocation]:
        return self.records.get(name, [])[:limit]

    async def environments(self, name: str | None = None) -> list[EnvironmentInfo]:
        out = []
        for fn, _runtime, memory, count, *_ in FUNCTIONS:
            if name not in (None, fn) or not count:
                continue
            for i, state in enumerate(("busy", "idle", "idle", "starting")[: 1 + count // 60]):
                out.append(
                    EnvironmentInfo(
                        f"{i:02d}{fn.encode().hex()}"[:32],
                        fn,
                        "2" if fn == "checkout-api" else "$LATEST",
                        state,
                        provisioned=fn == "checkout-api" and i < 2,
                        created_ms=NOW_MS - 60_000 * (i + 1) * 7,
                        invocations=count // (i + 2),
                        memory_mb=memory,
                        max_memory_mb=memory // 3,
                    )
                )
        return out

    async def follow(
        self,
        *,
        after: int | None = None,
        types: Sequence[str] | None = None,
        function: str | None = None,
    ) -> AsyncIterator[LiveEvent]:
        raise NotAvailable("the live event stream")
        yield  # pragma: no cover - makes this an async generator

    async def logs(self, query: LogQuery) -> list[LogLine]:
        rows = [r for r in self.records.get(query.function, [])[:6] if r.status != "throttled"]
        if query.request_id:
            rows = [
                r for r in self.records.get(query.function, []) if r.request_id == query.request_id
            ]
        lines: list[LogLine] = []
        for r in reversed(rows):
            stream = f"2026/01/01/[{r.executed_version}]{r.environment_id}"
            lines.append(
                LogLine(
                    r.start_ms,
                    f"START RequestId: {r.request_id} Version: {r.executed_version}",
                    stream,
                    r.request_id,
                )
            )
            lines.append(
                LogLine(
                    r.start_ms + 1,
                    json.dumps(
                        {
                            "level": "INFO",
                            "message": "order accepted",
                            "requestId": r.request_id[:8],
                        }
                    ),
                    stream,
                    r.request_id,
                )
            )
            if not r.ok:
                lines.append(
                    LogLine(
                        r.start_ms + 2,
                        f"[ERROR] PaymentDeclined: card declined ({r.request_id[:8]})",
                        stream,
                        r.request_id,
                    )
                )
            lines.append(
                LogLine(r.start_ms + 3, f"END RequestId: {r.request_id}", stream, r.request_id)
            )
            lines.append(
                LogLine(
                    r.start_ms + 4,
                    f"REPORT RequestId: {r.request_id}\tDuration: {r.duration_ms:.2f} ms\t"
                    f"Billed Duration: {r.billed_ms} ms\tMemory Size: {r.memory_mb} MB\t"
                    f"Max Memory Used: {r.max_memory_mb} MB",
                    stream,
                    r.request_id,
                )
            )
        if query.filter_pattern:
            lines = [ln for ln in lines if query.filter_pattern.strip('"') in ln.message]
        return lines

    async def traces(
        self,
        name: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        filter_expression: str | None = None,
        request_id: str | None = None,
    ) -> list[TraceSummary]:
        return [
            TraceSummary(
                f"1-6956617{i}-{r.request_id[:24].replace('-', '0')}",
                r.start_ms / 1000,
                r.duration_ms / 1000,
                has_fault=not r.ok,
            )
            for i, r in enumerate(self.records.get(name, [])[:8])
            if request_id in (None, r.request_id)
        ]

    async def trace(self, trace_id: str) -> Trace:
        t0 = NOW - 2
        work = Segment(
            "c3", "DynamoDB PutItem", t0 + 0.030, t0 + 0.071, "b2", annotations={"table": "orders"}
        )
        invocation = Segment("b2", "Invocation", t0 + 0.012, t0 + 0.085, "a1", children=(work,))
        function = Segment(
            "a1",
            "checkout-api",
            t0 + 0.010,
            t0 + 0.090,
            "s0",
            "AWS::Lambda::Function",
            children=(Segment("i1", "Init", t0 + 0.010, t0 + 0.012, "a1"), invocation),
        )
        service = Segment("s0", "checkout-api", t0, t0 + 0.092, None, "AWS::Lambda")
        return Trace(trace_id, 0.092, (service, function))

    async def metrics(
        self, name: str, *, start_ms: int, end_ms: int, period_s: int = 60
    ) -> list[MetricSeries]:
        raise NotAvailable("metrics")

    async def invoke(
        self,
        name: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        invocation_type: InvocationType = "RequestResponse",
        tail: bool = False,
    ) -> InvokeOutcome:
        rid = "5d0c7f3a-1b2c-4e20-a15c-3aa9f917f2a9"
        tail_text = (
            f"START RequestId: {rid} Version: $LATEST\n"
            f"END RequestId: {rid}\n"
            f"REPORT RequestId: {rid}\tDuration: 2.31 ms\tBilled Duration: 215 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 41 MB\tInit Duration: 212.40 ms\t\n"
        )
        status = {"RequestResponse": 200, "Event": 202, "DryRun": 204}[invocation_type]
        body = json.dumps({"statusCode": 200, "body": json.loads(payload or b"{}")}).encode()
        return InvokeOutcome(
            status,
            body if status == 200 else b"",
            "$LATEST",
            None,
            tail_text if tail else None,
            rid,
        )

    async def create_or_update_function(
        self, spec: FunctionSpec, zip_bytes: bytes
    ) -> DeployOutcome:
        raise NotAvailable("deploys")

    async def deploy(self, spec: FunctionSpec, source: Path) -> DeployOutcome:
        raise NotAvailable("deploys")
