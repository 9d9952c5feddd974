"""An execution environment's lifecycle as one explicit state machine.

Every move goes through `move`, which refuses an illegal one before any side effect, so the
diagram below is the whole truth about an environment's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EnvState(StrEnum):
    STARTING = "starting"  # process spawned, runtime initialising
    IDLE = "idle"  # initialised, waiting for work (warm)
    BUSY = "busy"  # serving one invocation
    RESTARTING = "restarting"  # runtime being replaced after a timeout or crash; /tmp kept
    STOPPING = "stopping"
    STOPPED = "stopped"  # reaped, drained, failed or shut down


ALLOWED: dict[EnvState, frozenset[EnvState]] = {
    EnvState.STARTING: frozenset({EnvState.IDLE, EnvState.BUSY, EnvState.STOPPING}),
    EnvState.IDLE: frozenset({EnvState.BUSY, EnvState.STOPPING}),
    EnvState.BUSY: frozenset({EnvState.IDLE, EnvState.RESTARTING, EnvState.STOPPING}),
    EnvState.RESTARTING: frozenset({EnvState.IDLE, EnvState.BUSY, EnvState.STOPPING}),
    EnvState.STOPPING: frozenset({EnvState.STOPPED}),
    EnvState.STOPPED: frozenset(),
}


class IllegalMove(RuntimeError):
    pass


def move(current: EnvState, target: EnvState) -> EnvState:
    if target not in ALLOWED[current]:
        raise IllegalMove(f"environment cannot go from {current} to {target}")
    return target


@dataclass(frozen=True)
class EnvInfo:
    """A view of one environment for the console."""

    id: str
    function: str
    version: str
    state: EnvState
    created_ms: int
    invocations: int
    provisioned: bool
    log_stream: str
    memory_mb: int
    max_memory_mb: int
    pid: int | None
