"""Lambda's platform log lines (INIT_START, START, END, REPORT, INIT_REPORT), text and JSON.

Pure functions: the environment decides when each line is written, this module decides what it
says, byte for byte as AWS writes it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass


def stream_name(created: float, version: str, instance: str) -> str:
    """`YYYY/MM/DD/[VERSION]<32 hex>`, dated by the environment's creation (UTC)."""
    return time.strftime("%Y/%m/%d", time.gmtime(created)) + f"/[{version}]{instance}"


def iso_ms(epoch_ms: int) -> str:
    secs, ms = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_mb: int
    init_ms: float | None = None
    status: str | None = None  # "timeout" | "error"; None for success and handled errors
    error_type: str | None = None
    trace: tuple[str, str, bool] | None = None  # (trace id, segment id, sampled)


class TextLines:
    """LogFormat Text."""

    @staticmethod
    def init_start(runtime_label: str, region: str, runtime_arn: str) -> str:
        return (
            f"INIT_START Runtime Version: {runtime_label}\t"
            f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:{runtime_arn}\n"
        )

    @staticmethod
    def start(request_id: str, version: str, *, function_arn: str = "") -> str:
        return f"START RequestId: {request_id} Version: {version}\n"

    @staticmethod
    def end(request_id: str) -> str:
        return f"END RequestId: {request_id}\n"

    @staticmethod
    def report(r: Report) -> str:
        line = (
            f"REPORT RequestId: {r.request_id}\tDuration: {r.duration_ms:.2f} ms\t"
            f"Billed Duration: {r.billed_ms} ms\tMemory Size: {r.memory_mb} MB\t"
            f"Max Memory Used: {r.max_memory_mb} MB\t"
        )
        if r.init_ms is not None:
            line += f"Init Duration: {r.init_ms:.2f} ms\t"
        if r.status is not None:
            line += f"Status: {r.status}"
            if r.error_type:
                line += f"\tError Type: {r.error_type}"
        line += "\n"
        if r.trace is not None:
            trace_id, segment, sampled = r.trace
            line += (
                f"XRAY TraceId: {trace_id}\tSegmentId: {segment}\t"
                f"Sampled: {'true' if sampled else 'false'}\t\n"
            )
        return line

    @staticmethod
    def init_report(init_ms: float, phase: str, status: str, error_type: str | None = None) -> str:
        line = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
        if error_type:
            line += f"\tError Type: {error_type}"
        return line + "\n"


def _record(kind: str, now_ms: int, record: dict[str, object]) -> str:
    return (
        json.dumps({"time": iso_ms(now_ms), "type": kind, "record": record}, separators=(",", ":"))
        + "\n"
    )


class JsonLines:
    """LogFormat JSON: `platform.*` records at the default INFO system level."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def init_start(
        self,
        runtime_label: str,
        region: str,
        runtime_arn: str,
        *,
        function: str,
        version: str,
        instance: str,
        memory_mb: int,
        init_type: str,
    ) -> str:
        return _record(
            "platform.initStart",
            self.now_ms,
            {
                "initializationType": init_type,
                "phase": "init",
                "runtimeVersion": runtime_label,
                "runtimeVersionArn": f"arn:aws:lambda:{region}::runtime:{runtime_arn}",
                "functionName": function,
                "functionVersion": version,
                "instanceId": instance,
                "instanceMaxMemory": memory_mb * 1024 * 1024,
            },
        )

    def start(self, request_id: str, version: str, *, function_arn: str) -> str:
        return _record(
            "platform.start",
            self.now_ms,
            {"requestId": request_id, "functionArn": function_arn, "version": version},
        )

    def report(self, r: Report) -> str:
        metrics: dict[str, object] = {
            "durationMs": round(r.duration_ms, 3),
            "billedDurationMs": r.billed_ms,
            "memorySizeMB": r.memory_mb,
            "maxMemoryUsedMB": r.max_memory_mb,
        }
        if r.init_ms is not None:
            metrics["initDurationMs"] = round(r.init_ms, 3)
        record: dict[str, object] = {
            "requestId": r.request_id,
            "metrics": metrics,
            "status": r.status or "success",
        }
        if r.error_type and r.status:
            record["errorType"] = r.error_type
        return _record("platform.report", self.now_ms, record)

    def init_report(
        self, init_ms: float, phase: str, status: str, error_type: str | None = None
    ) -> str:
        record: dict[str, object] = {
            "initializationType": "on-demand",
            "phase": phase,
            "status": status,
        }
        if error_type:
            record["errorType"] = error_type
        record["metrics"] = {"durationMs": round(init_ms, 3)}
        return _record("platform.initReport", self.now_ms, record)
