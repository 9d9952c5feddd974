"""App-wide messages: what workers deliver, and the coalesced "state changed" nudge."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from lconsole.backends.base import (
    Capabilities,
    EnvironmentInfo,
    FunctionInfo,
    Invocation,
    LiveEvent,
)


class CapabilitiesLoaded(Message):
    def __init__(self, capabilities: Capabilities) -> None:
        super().__init__()
        self.capabilities = capabilities


class FunctionsLoaded(Message):
    def __init__(self, functions: Sequence[FunctionInfo]) -> None:
        super().__init__()
        self.functions = list(functions)


class InvocationsLoaded(Message):
    def __init__(self, invocations: Sequence[Invocation]) -> None:
        super().__init__()
        self.invocations = list(invocations)


class EnvironmentsLoaded(Message):
    def __init__(self, environments: Sequence[EnvironmentInfo]) -> None:
        super().__init__()
        self.environments = list(environments)


class LiveBatch(Message):
    """Events from the live stream, gathered for up to 100 ms."""

    def __init__(self, events: Sequence[LiveEvent]) -> None:
        super().__init__()
        self.events = list(events)


class ConnectionChanged(Message):
    def __init__(self, connected: bool, problem: str = "") -> None:
        super().__init__()
        self.connected = connected
        self.problem = problem


class StateChanged(Message):
    """Sent to the visible screen at most a few times a second; bursts collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StateChanged)
