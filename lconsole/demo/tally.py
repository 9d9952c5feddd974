"""What the demo's invocations came back with, counted per function, as a client sees it.

A client learns of a cold start the way it does on AWS: the log tail of a synchronous invoke
(`LogType=Tail`, the last 4 KB of the log) ends with a REPORT line that carries `Init Duration`
only when the invocation started a new environment. Async invocations are counted as accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lconsole.backends.base import BackendError, InvokeOutcome
from lconsole.demo.plan import Shot

TIMEOUT_ERROR = "Sandbox.Timedout"


def is_cold(outcome: InvokeOutcome) -> bool:
    """True when the tail's REPORT line reports an Init Duration."""
    for line in reversed((outcome.log_tail or "").splitlines()):
        if line.startswith("REPORT RequestId:"):
            return "Init Duration:" in line
    return False


def is_timeout(outcome: InvokeOutcome) -> bool:
    """A function error whose payload says the task timed out (current and legacy shapes)."""
    if outcome.function_error is None:
        return False
    try:
        body = json.loads(outcome.payload or b"{}")
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    message = str(body.get("errorMessage") or "")
    return body.get("errorType") == TIMEOUT_ERROR or "Task timed out after" in message


@dataclass
class FunctionTally:
    invocations: int = 0  # answered synchronously, or accepted for async
    asynchronous: int = 0
    errors: int = 0  # function errors other than timeouts
    timeouts: int = 0
    cold_starts: int = 0
    refused: int = 0  # API errors and invokes the backend did not answer in time


@dataclass
class Tally:
    functions: dict[str, FunctionTally] = field(default_factory=dict)
    skipped: int = 0  # shots not sent because every in-flight slot was taken
    seconds: float = 0.0
    last_error: str = ""

    def _of(self, function: str) -> FunctionTally:
        return self.functions.setdefault(function, FunctionTally())

    def answered(self, shot: Shot, outcome: InvokeOutcome) -> None:
        row = self._of(shot.function)
        row.invocations += 1
        if shot.invocation_type == "Event":
            row.asynchronous += 1
            return
        if is_timeout(outcome):
            row.timeouts += 1
        elif outcome.function_error is not None:
            row.errors += 1
        if is_cold(outcome):
            row.cold_starts += 1

    def refused(self, shot: Shot, error: Exception) -> None:
        self._of(shot.function).refused += 1
        if isinstance(error, BackendError):
            self.last_error = f"{error.code}: {error.message}"
        elif isinstance(error, TimeoutError):
            self.last_error = f"{shot.function} did not answer in time"
        else:
            self.last_error = f"{type(error).__name__}: {error}"

    def total(self) -> FunctionTally:
        out = FunctionTally()
        for row in self.functions.values():
            for name in out.__dataclass_fields__:
                setattr(out, name, getattr(out, name) + getattr(row, name))
        return out

    def line(self) -> str:
        """The one-line summary `lconsole demo --headless` prints."""
        t = self.total()
        parts = [
            f"{_count(t.invocations, 'invocation')} ({t.asynchronous} async)",
            _count(t.errors, "error"),
            _count(t.timeouts, "timeout"),
            _count(t.cold_starts, "cold start"),
        ]
        if t.refused:
            parts.append(f"{t.refused} refused")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        per_function = ", ".join(
            f"{name} {row.invocations}" for name, row in sorted(self.functions.items())
        )
        text = f"demo: {', '.join(parts)} in {self.seconds:.1f} s"
        return f"{text} ({per_function})" if per_function else text


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
