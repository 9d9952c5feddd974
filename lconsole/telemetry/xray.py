"""X-Ray for one invocation: ids, the trace header, the sampling decision, Lambda's own segments.

Pure: the clock reading (``now``), the random source (``rng``) and the sampler's state are passed
in. The engine calls :func:`start_invocation_trace` when an invoke arrives, hands
``runtime_header`` to the runtime (``Lambda-Runtime-Trace-Id`` / ``_X_AMZN_TRACE_ID``), and after
the invocation stores :func:`lambda_segments` next to whatever the function's SDK sent.

Lambda behaviour reproduced (telemetry.md section 6):

* ``Active``: an upstream ``Sampled=1``/``0`` is honoured; otherwise the default rule decides
  (the first request each second, then 5 %). Sampled invocations record the ``AWS::Lambda``
  service segment and the ``AWS::Lambda::Function`` segment with ``Initialization`` (cold only),
  ``Invocation`` and ``Overhead`` subsegments.
* ``PassThrough``: only an upstream decision is followed, Lambda never originates one, and it
  records no segments of its own; the header still reaches the function, so its SDK traces when
  the caller sampled. Without an incoming header a fresh one with ``Sampled=0`` is made.
* The function's header names the ``Invocation`` subsegment as ``Parent``, so the SDK's
  subsegments nest under it as they do in traces of Lambda functions.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

TRACE_ID_PATTERN = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
ENTITY_ID_PATTERN = re.compile(r"[0-9a-f]{16}")

SERVICE_ORIGIN = "AWS::Lambda"
FUNCTION_ORIGIN = "AWS::Lambda::Function"


class TracingMode(StrEnum):
    ACTIVE = "Active"
    PASS_THROUGH = "PassThrough"


class Sampled(StrEnum):
    YES = "1"
    NO = "0"
    REQUESTED = "?"  # the caller asks the receiver to decide


# ---------------------------------------------------------------------------------------- ids
def new_trace_id(now: float, rng: random.Random) -> str:
    """``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``."""
    return f"1-{int(now) & 0xFFFFFFFF:08x}-{rng.getrandbits(96):024x}"


def new_entity_id(rng: random.Random) -> str:
    """A segment, subsegment or exception id: 64 random bits as 16 hex digits."""
    return f"{rng.getrandbits(64):016x}"


def is_trace_id(value: object) -> bool:
    return isinstance(value, str) and TRACE_ID_PATTERN.fullmatch(value) is not None


def is_entity_id(value: object) -> bool:
    return isinstance(value, str) and ENTITY_ID_PATTERN.fullmatch(value) is not None


# ------------------------------------------------------------------------------------- header
@dataclass(frozen=True)
class TraceHeader:
    """``X-Amzn-Trace-Id``: Root, Parent, Sampled, and every other key (Lineage, Self...) kept."""

    root: str | None = None
    parent: str | None = None
    sampled: Sampled | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def lineage(self) -> str | None:
        return next((v for k, v in self.extra if k.lower() == "lineage"), None)

    def format(self, *, lower_keys: bool = False) -> str:
        """The header value; Invoke responses echo it with lower-case keys."""
        parts = [("Root", self.root), ("Parent", self.parent)]
        parts.append(("Sampled", self.sampled.value if self.sampled else None))
        parts.extend(self.extra)
        return ";".join(f"{k.lower() if lower_keys else k}={v}" for k, v in parts if v is not None)


def parse_trace_header(value: str | None) -> TraceHeader:
    """Lenient like the SDKs: keys in any case, blanks ignored, malformed ids dropped."""
    if not value:
        return TraceHeader()
    root = parent = None
    sampled: Sampled | None = None
    extra: list[tuple[str, str]] = []
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not key:
            continue
        lowered = key.lower()
        if lowered == "root":
            root = val.lower() if is_trace_id(val.lower()) else None
        elif lowered == "parent":
            parent = val.lower() if is_entity_id(val.lower()) else None
        elif lowered == "sampled":
            sampled = Sampled(val) if val in ("0", "1", "?") else None
        else:
            extra.append((key, val))
    return TraceHeader(root, parent, sampled, tuple(extra))


# ----------------------------------------------------------------------------------- sampling
@dataclass
class DefaultSampler:
    """X-Ray's default rule: a reservoir of ``fixed_target`` requests each second, then ``rate``.

    The only state is the current second and how much of its reservoir is used; ``now`` and the
    uniform ``draw`` in [0, 1) come from the caller so that decisions are reproducible.
    """

    fixed_target: int = 1
    rate: float = 0.05
    _second: int | None = field(default=None, init=False, repr=False)
    _taken: int = field(default=0, init=False, repr=False)

    def sample(self, now: float, draw: float) -> bool:
        second = int(now)
        if second != self._second:
            self._second, self._taken = second, 0
        if self._taken < self.fixed_target:
            self._taken += 1
            return True
        return draw < self.rate


def sampling_decision(
    mode: TracingMode | str,
    upstream: TraceHeader,
    *,
    sampler: DefaultSampler,
    now: float,
    draw: float,
) -> bool:
    """Whether this invocation is traced: Active decides when the caller did not."""
    if upstream.sampled is Sampled.YES:
        return True
    if upstream.sampled is Sampled.NO:
        return False
    if TracingMode(mode) is TracingMode.ACTIVE:
        return sampler.sample(now, draw)
    return False


# ------------------------------------------------------------------------ one invocation's ids
@dataclass(frozen=True)
class LambdaIds:
    """Ids of every entity Lambda records for one invocation, allocated up front."""

    service: str  # the AWS::Lambda segment
    function: str  # the AWS::Lambda::Function segment
    initialization: str
    invocation: str
    overhead: str
    dwell_time: str  # async invokes only
    attempt: str

    @classmethod
    def new(cls, rng: random.Random) -> LambdaIds:
        return cls(*(new_entity_id(rng) for _ in range(7)))


@dataclass(frozen=True)
class InvocationTrace:
    """The trace one invocation belongs to, its sampling decision, and Lambda's entity ids."""

    trace_id: str
    sampled: bool
    recorded: bool  # Lambda records its own segments (Active and sampled)
    upstream_parent: str | None
    ids: LambdaIds
    extra: tuple[tuple[str, str], ...] = ()  # Lineage and other keys, passed on untouched

    @property
    def runtime_header(self) -> str:
        """``Lambda-Runtime-Trace-Id`` for the runtime, which sets ``_X_AMZN_TRACE_ID`` from it."""
        own = self.ids.invocation if self.recorded else None
        return self._header(own or self.upstream_parent or self.ids.function).format()

    @property
    def response_header(self) -> str:
        """``X-Amzn-Trace-Id`` echoed on the Invoke response (lower-case keys, ≈)."""
        parent = self.ids.service if self.recorded else self.upstream_parent
        return self._header(parent or self.ids.function).format(lower_keys=True)

    def _header(self, parent: str) -> TraceHeader:
        sampled = Sampled.YES if self.sampled else Sampled.NO
        return TraceHeader(self.trace_id, parent, sampled, self.extra)


def start_invocation_trace(
    mode: TracingMode | str,
    incoming: str | TraceHeader | None,
    *,
    now: float,
    rng: random.Random,
    sampler: DefaultSampler,
) -> InvocationTrace:
    """Join the caller's trace (or start one), decide sampling, and allocate Lambda's ids."""
    upstream = incoming if isinstance(incoming, TraceHeader) else parse_trace_header(incoming)
    sampled = sampling_decision(mode, upstream, sampler=sampler, now=now, draw=rng.random())
    recorded = sampled and TracingMode(mode) is TracingMode.ACTIVE
    if recorded:
        ids = LambdaIds.new(rng)
    else:  # on every untraced invoke: only the fallback Parent is ever read, so one id
        one = new_entity_id(rng)
        ids = LambdaIds(one, one, one, one, one, one, one)
    return InvocationTrace(
        trace_id=upstream.root or new_trace_id(now, rng),
        sampled=sampled,
        recorded=recorded,
        upstream_parent=upstream.parent,
        ids=ids,
        extra=upstream.extra,
    )


# ------------------------------------------------------------------------ Lambda's documents
@dataclass(frozen=True)
class FunctionRef:
    name: str
    arn: str  # unqualified function ARN
    account_id: str


@dataclass(frozen=True)
class InvocationTimes:
    """Epoch seconds of the moments Lambda's segments span."""

    received: float  # the service took the request (async: took the event off the queue)
    invoke_start: float  # the event went to the runtime
    invoke_end: float  # the runtime posted the response or error
    responded: float  # the service answered the caller (async: the attempt ended)
    done: float  # the runtime asked for the next event: the end of Overhead
    init_start: float | None = None  # cold starts only
    init_end: float | None = None
    enqueued: float | None = None  # async invokes only: when the event was accepted


def lambda_segments(
    trace: InvocationTrace,
    function: FunctionRef,
    times: InvocationTimes,
    *,
    request_id: str,
    status: int = 200,
    attempt: int = 1,
    function_error: bool = False,
    error_cause: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The service and function segments Lambda records, or none when it does not record.

    ``status`` is the service's answer (200 sync, 202 async); ``error_cause`` is the
    ``Lambda-Runtime-Function-XRay-Error-Cause`` JSON the runtime sent with an error.
    """
    if not trace.recorded:
        return []
    return [
        _service_segment(trace, function, times, request_id, status, attempt),
        _function_segment(trace, function, times, function_error, error_cause),
    ]


def _service_segment(
    trace: InvocationTrace,
    function: FunctionRef,
    times: InvocationTimes,
    request_id: str,
    status: int,
    attempt: int,
) -> dict[str, Any]:
    start = times.enqueued if times.enqueued is not None else times.received
    doc: dict[str, Any] = {
        "id": trace.ids.service,
        "name": function.name,
        "start_time": start,
        "trace_id": trace.trace_id,
        "end_time": max(times.responded, start),
    }
    if trace.upstream_parent:
        doc["parent_id"] = trace.upstream_parent
    doc.update(_status_flags(status))
    doc["http"] = {"response": {"status": status}}
    doc["aws"] = {"request_id": request_id}
    doc["origin"] = SERVICE_ORIGIN
    doc["resource_arn"] = function.arn
    if times.enqueued is not None:
        ids = trace.ids
        attempt_doc = _sub(ids.attempt, f"Attempt #{attempt}", times.received, times.responded)
        attempt_doc["http"] = {"response": {"status": 200}}
        doc["subsegments"] = [
            _sub(ids.dwell_time, "Dwell Time", times.enqueued, times.received),
            attempt_doc,
        ]
    return doc


def _function_segment(
    trace: InvocationTrace,
    function: FunctionRef,
    times: InvocationTimes,
    function_error: bool,
    error_cause: Mapping[str, Any] | None,
) -> dict[str, Any]:
    cold = times.init_start is not None and times.init_end is not None
    start = times.init_start if cold and times.init_start is not None else times.invoke_start
    end = max(times.done, times.invoke_end)
    ids = trace.ids
    spans: list[tuple[str, str, float, float]] = []
    if cold and times.init_start is not None and times.init_end is not None:
        spans.append((ids.initialization, "Initialization", times.init_start, times.init_end))
    spans.append((ids.invocation, "Invocation", times.invoke_start, times.invoke_end))
    if times.done > times.invoke_end:
        spans.append((ids.overhead, "Overhead", times.invoke_end, times.done))
    subsegments = [
        {**_sub(entity, name, begin, finish), "aws": {"function_arn": function.arn}}
        for entity, name, begin, finish in spans
    ]
    doc: dict[str, Any] = {
        "id": ids.function,
        "name": function.name,
        "start_time": start,
        "trace_id": trace.trace_id,
        "end_time": end,
        "parent_id": ids.service,
    }
    if function_error:
        doc["fault"] = True
        if error_cause:
            doc["cause"] = dict(error_cause)
    doc["aws"] = {
        "account_id": function.account_id,
        "function_arn": function.arn,
        "resource_names": [function.name],
    }
    doc["origin"] = FUNCTION_ORIGIN
    doc["subsegments"] = subsegments
    return doc


def _sub(entity_id: str, name: str, start: float, end: float) -> dict[str, Any]:
    return {"id": entity_id, "name": name, "start_time": start, "end_time": max(end, start)}


def _status_flags(status: int) -> dict[str, bool]:
    """X-Ray's reading of an HTTP status: 4xx error, 429 also throttle, 5xx fault."""
    if status == 429:
        return {"error": True, "throttle": True}
    if 400 <= status < 500:
        return {"error": True}
    if status >= 500:
        return {"fault": True}
    return {}
