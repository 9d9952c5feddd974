"""What the console knows right now: functions, recent invocations, environments.

One instance lives on the app and is changed only by message handlers on the event loop.
Every collection is bounded so memory stays flat however long the console runs.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from lconsole.backends.base import (
    Capabilities,
    EnvironmentInfo,
    FunctionInfo,
    Invocation,
)

PER_FUNCTION = 500  # invocations kept per function
SEEN_IDS = 4000  # request ids remembered per function, to drop duplicates from polls and replays
LAST_PAYLOADS = 20


@dataclass
class Recent:
    """One function's newest invocations, oldest first, without duplicates."""

    rows: deque[Invocation] = field(default_factory=lambda: deque(maxlen=PER_FUNCTION))
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    dropped: int = 0

    def add(self, invocation: Invocation) -> bool:
        if invocation.request_id in self.seen:
            return False
        self.seen[invocation.request_id] = None
        if len(self.seen) > SEEN_IDS:
            self.seen.popitem(last=False)
        if len(self.rows) == self.rows.maxlen:
            self.dropped += 1
        self.rows.append(invocation)
        return True


@dataclass
class ConsoleState:
    capabilities: Capabilities = field(default_factory=Capabilities)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    recent: dict[str, Recent] = field(default_factory=dict)
    environments: dict[str, list[EnvironmentInfo]] = field(default_factory=dict)
    connected: bool = True
    problem: str = ""  # why the backend cannot be reached, while it cannot
    last_payloads: deque[tuple[str, str]] = field(
        default_factory=lambda: deque(maxlen=LAST_PAYLOADS)
    )
    loaded: bool = False  # the first function list has arrived

    def set_functions(self, functions: Iterable[FunctionInfo]) -> None:
        self.functions = {f.name: f for f in sorted(functions, key=lambda f: f.name)}
        for gone in set(self.recent) - set(self.functions):
            del self.recent[gone]
        self.loaded = True

    def add_invocations(self, invocations: Iterable[Invocation]) -> set[str]:
        """Merge records in any order; returns the functions that got something new."""
        changed: set[str] = set()
        for inv in sorted(invocations, key=lambda r: r.start_ms):
            if self.recent.setdefault(inv.function, Recent()).add(inv):
                changed.add(inv.function)
        return changed

    def invocations(self, function: str) -> list[Invocation]:
        recent = self.recent.get(function)
        return list(recent.rows) if recent else []

    def remember_payload(self, function: str, payload: str) -> None:
        self.last_payloads.append((function, payload))

    def last_payload(self, function: str) -> str | None:
        for name, payload in reversed(self.last_payloads):
            if name == function:
                return payload
        return None
