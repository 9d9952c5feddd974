"""Read Lambda's REPORT line out of a log tail: duration, billed, memory, cold start (pure).

`REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t
Max Memory Used: 40 MB\tInit Duration: 120.5 ms` — `Init Duration` appears only on a cold start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FIELD = re.compile(
    r"(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration):\s*([\d.]+)"
)


@dataclass(frozen=True)
class Report:
    duration_ms: float | None = None
    billed_ms: float | None = None
    memory_mb: int | None = None
    max_memory_mb: int | None = None
    init_ms: float | None = None

    @property
    def cold(self) -> bool:
        return self.init_ms is not None


def parse_report(log_tail: str | None) -> Report | None:
    """The last REPORT line's figures, or None when the tail has none."""
    if not log_tail:
        return None
    lines = [ln for ln in log_tail.splitlines() if ln.startswith("REPORT ")]
    if not lines:
        return None
    found = {name: float(value) for name, value in _FIELD.findall(lines[-1])}
    return Report(
        duration_ms=found.get("Duration"),
        billed_ms=found.get("Billed Duration"),
        memory_mb=int(found["Memory Size"]) if "Memory Size" in found else None,
        max_memory_mb=int(found["Max Memory Used"]) if "Max Memory Used" in found else None,
        init_ms=found.get("Init Duration"),
    )
