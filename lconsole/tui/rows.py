"""Table rows for one function's versions, aliases, environments and invocations (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from rich.text import Text

from lconsole.backends.base import AliasInfo, EnvironmentInfo, FunctionInfo, Invocation
from lconsole.tui import format as fmt
from lconsole.tui.widgets.traffic_bar import traffic_bar

# What the console calls each environment state (AWS's words where it has them).
ENV_STATES = {
    "starting": "initialising",
    "idle": "warm idle",
    "busy": "busy",
    "restarting": "restarting",
    "stopping": "reaping",
    "stopped": "reaped",
}
STATUS_STYLE = {
    "success": "green",
    "error": "bold red",
    "timeout": "bold red",
    "crash": "bold red",
    "throttled": "yellow",
}


def clock(ms: int, tz: tzinfo | None = None) -> str:
    """Time of day, in local time unless `tz` is given (snapshots pin UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%H:%M:%S")


def start_kind(inv: Invocation) -> Text:
    """Cold or warm, by word and by colour (❄ for a cold start)."""
    if inv.status == "throttled":
        return Text("-", style="dim")
    if inv.cold:
        return Text("❄ cold", style="bold cyan")
    return Text("warm", style="dim")


def invocation_row(inv: Invocation, tz: tzinfo | None = None) -> tuple[object, ...]:
    status = inv.status
    return (
        inv.request_id[:8],
        clock(inv.start_ms, tz),
        inv.executed_version,
        start_kind(inv),
        fmt.duration(inv.duration_ms) if inv.status != "throttled" else "-",
        f"{inv.billed_ms}ms" if inv.billed_ms else "-",
        fmt.megabytes(inv.max_memory_mb),
        Text(status, style=STATUS_STYLE.get(inv.status, "")),
        fmt.usd(inv.cost_usd),
    )


def version_row(v: FunctionInfo, aliases: Sequence[AliasInfo]) -> tuple[object, ...]:
    pointing = [a.name for a in aliases if v.version in dict(a.split())]
    return (
        v.version,
        v.description or "-",
        v.code_sha256[:10],
        fmt.megabytes(v.memory_size),
        v.last_modified[:19].replace("T", " "),
        ", ".join(pointing) or "-",
    )


def alias_row(
    a: AliasInfo, errors: dict[str, tuple[int, float]], width: int = 16
) -> tuple[object, ...]:
    per_version = "  ".join(
        f"v{v} {fmt.percent(errors[v][1], 1)} err" for v, _ in a.split() if v in errors
    )
    return (a.name, traffic_bar(a.split(), width), per_version or "-")


def environment_row(e: EnvironmentInfo, now_ms: int) -> tuple[object, ...]:
    state = ENV_STATES.get(e.state, e.state)
    if e.provisioned:
        state += " (provisioned)"
    style = {"busy": "bold yellow", "idle": "green", "starting": "cyan"}.get(e.state, "dim")
    return (
        e.environment_id[:12],
        e.version,
        Text(state, style=style),
        fmt.age((now_ms - e.created_ms) / 1000 if e.created_ms else None),
        str(e.invocations),
        fmt.megabytes(e.max_memory_mb),
    )
