"""X-Ray traces as values: segment trees reassembled from documents, and trace summaries.

A trace arrives as loose JSON documents in any order: whole segments (subsegments nested), and
subsegments sent on their own (``type: "subsegment"`` with ``parent_id``). ``assemble_trace``
hangs every independent subsegment under its parent, as BatchGetTraces shows them; ``summarize``
derives what GetTraceSummaries reports. Times are epoch seconds (floats), as in the documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

AnnotationScalar = str | int | float | bool

_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_ENTITY_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class ServiceId:
    """A node of the service graph: a segment's name and origin, or an inferred downstream."""

    name: str
    type: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class HttpInfo:
    url: str | None = None
    method: str | None = None
    user_agent: str | None = None
    client_ip: str | None = None
    status: int | None = None

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> HttpInfo:
        http = document.get("http")
        if not isinstance(http, Mapping):
            return cls()
        req = http.get("request") if isinstance(http.get("request"), Mapping) else {}
        resp = http.get("response") if isinstance(http.get("response"), Mapping) else {}
        status = resp.get("status")
        return cls(
            url=_str(req.get("url")),
            method=_str(req.get("method")),
            user_agent=_str(req.get("user_agent")),
            client_ip=_str(req.get("client_ip")),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        )


@dataclass(frozen=True)
class Segment:
    """One segment or subsegment; ``document`` is its JSON with all subsegments nested."""

    id: str
    name: str
    start_time: float
    end_time: float | None  # None while in progress
    parent_id: str | None
    origin: str | None
    namespace: str | None
    fault: bool
    error: bool
    throttle: bool
    subsegments: tuple[Segment, ...]
    document: Mapping[str, Any] = field(repr=False)

    @property
    def in_progress(self) -> bool:
        return self.end_time is None

    @property
    def duration(self) -> float | None:
        return None if self.end_time is None else self.end_time - self.start_time

    @property
    def http(self) -> HttpInfo:
        return HttpInfo.of(self.document)

    @property
    def annotations(self) -> Mapping[str, AnnotationScalar]:
        found = self.document.get("annotations")
        return found if isinstance(found, Mapping) else {}

    def walk(self) -> Iterator[Segment]:
        """This entity, then every subsegment below it, depth first."""
        yield self
        for child in self.subsegments:
            yield from child.walk()


@dataclass(frozen=True)
class Trace:
    id: str
    segments: tuple[Segment, ...]  # whole segments, subsegments nested, earliest first
    orphans: tuple[Segment, ...] = ()  # subsegments whose parent has not arrived (yet)

    def walk(self) -> Iterator[Segment]:
        for top in (*self.segments, *self.orphans):
            yield from top.walk()

    @property
    def start_time(self) -> float:
        return min(s.start_time for s in self.walk())

    @property
    def end_time(self) -> float:
        return max(s.end_time if s.end_time is not None else s.start_time for s in self.walk())

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time

    @property
    def is_partial(self) -> bool:
        return any(s.in_progress for s in self.walk())

    @property
    def root(self) -> Segment | None:
        """The segment nothing else in the trace is parent of (the earliest, if several)."""
        ids = {s.id for s in self.walk()}
        roots = [s for s in self.segments if s.parent_id is None or s.parent_id not in ids]
        return min(roots, key=lambda s: s.start_time) if roots else None


@dataclass(frozen=True)
class ServiceSummary:
    """What one service did in a trace; the scope of ``service("x") { ... }`` filters."""

    service: ServiceId
    has_fault: bool
    has_error: bool
    has_throttle: bool
    is_partial: bool
    response_time: float | None
    http: HttpInfo

    @property
    def duration(self) -> float | None:
        return self.response_time


@dataclass(frozen=True)
class AnnotationValue:
    value: AnnotationScalar
    service_ids: tuple[ServiceId, ...]


@dataclass(frozen=True)
class TraceSummary:
    """One trace as GetTraceSummaries describes it."""

    id: str
    start_time: float
    duration: float  # seconds, to the millisecond
    response_time: float | None  # the root segment's duration
    has_fault: bool
    has_error: bool
    has_throttle: bool
    is_partial: bool
    http: HttpInfo
    annotations: Mapping[str, tuple[AnnotationValue, ...]]
    users: tuple[str, ...]
    service_ids: tuple[ServiceId, ...]
    resource_arns: tuple[str, ...]
    entry_point: ServiceId | None
    services: tuple[ServiceSummary, ...]


def document_problem(document: Mapping[str, Any]) -> str | None:
    """Why X-Ray would refuse this document, or None when it is acceptable."""
    if not isinstance(document, Mapping):
        return "document is not a JSON object"
    trace_id, entity_id = document.get("trace_id"), document.get("id")
    if not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id):
        return "trace_id must look like 1-<8 hex>-<24 hex>"
    if not isinstance(entity_id, str) or not _ENTITY_ID.fullmatch(entity_id):
        return "id must be 16 hexadecimal digits"
    name = document.get("name")
    if not isinstance(name, str) or not name or len(name) > 200:
        return "name must be 1 to 200 characters"
    if not _is_number(document.get("start_time")):
        return "start_time must be a number of epoch seconds"
    end = document.get("end_time")
    if end is None and document.get("in_progress") is not True:
        return "end_time is required unless in_progress is true"
    if end is not None and not _is_number(end):
        return "end_time must be a number of epoch seconds"
    if is_independent_subsegment(document) and not isinstance(document.get("parent_id"), str):
        return "a subsegment sent on its own needs parent_id"
    return None


def is_independent_subsegment(document: Mapping[str, Any]) -> bool:
    return document.get("type") == "subsegment"


def assemble_trace(trace_id: str, documents: Iterable[Mapping[str, Any]]) -> Trace:
    """Nest independent subsegments under their parents, wherever those sit in the trace."""
    tops: list[dict[str, Any]] = []
    nodes: dict[str, dict[str, Any]] = {}
    parent_of: dict[str, str] = {}
    for doc in documents:
        top = _copy_tree(doc, nodes, parent_of, None)
        tops.append(top)
    attached: set[int] = set()
    for top in tops:
        if not is_independent_subsegment(top):
            continue
        parent = nodes.get(str(top.get("parent_id")))
        if parent is None or parent is top or _is_below(parent, top["id"], parent_of):
            continue
        children = parent.setdefault("subsegments", [])
        children[:] = [c for c in children if c.get("id") != top["id"]]
        children.append(top)
        parent_of[top["id"]] = parent["id"]
        attached.add(id(top))
    segments = [_freeze(t) for t in tops if id(t) not in attached and not _is_sub(t)]
    orphans = [_freeze(t) for t in tops if id(t) not in attached and _is_sub(t)]
    return Trace(trace_id, tuple(sorted(segments, key=_start)), tuple(sorted(orphans, key=_start)))


def summarize(trace: Trace) -> TraceSummary:
    """The GetTraceSummaries view: root-segment errors, any throttle, services and annotations."""
    root = trace.root
    services: dict[ServiceId, list[Segment]] = {}
    owner: dict[str, ServiceId | None] = {}  # the service whose segment holds each entity
    for top in (*trace.segments, *trace.orphans):
        sid = None if is_independent_subsegment(top.document) else _service_of(top)
        if sid is not None:
            services.setdefault(sid, []).append(top)
        for node in top.walk():
            owner[node.id] = sid
            inferred = _inferred_service(node) if node is not top or sid is None else None
            if inferred is not None:
                services.setdefault(inferred, []).append(node)
    # keyed by (is_bool, value) so that True and 1 stay distinct values
    annotations: dict[str, dict[tuple[bool, AnnotationScalar], list[ServiceId]]] = {}
    users: list[str] = []
    arns: list[str] = []
    for node in trace.walk():
        for key, value in node.annotations.items():
            if isinstance(value, str | int | float | bool):
                slot = (isinstance(value, bool), value)
                holders = annotations.setdefault(str(key), {}).setdefault(slot, [])
                holder = owner[node.id]
                if holder is not None and holder not in holders:
                    holders.append(holder)
        user, arn = node.document.get("user"), node.document.get("resource_arn")
        if isinstance(user, str) and user not in users:
            users.append(user)
        if isinstance(arn, str) and arn not in arns:
            arns.append(arn)
    return TraceSummary(
        id=trace.id,
        start_time=trace.start_time,
        duration=round(trace.duration, 3),
        response_time=_ms(root.duration) if root is not None else None,
        has_fault=bool(root and root.fault),
        has_error=bool(root and root.error),
        has_throttle=any(s.throttle for s in trace.walk()),
        is_partial=trace.is_partial,
        http=root.http if root is not None else HttpInfo(),
        annotations={
            k: tuple(AnnotationValue(v, tuple(ids)) for (_, v), ids in vals.items())
            for k, vals in annotations.items()
        },
        users=tuple(users),
        service_ids=tuple(services),
        resource_arns=tuple(arns),
        entry_point=_service_of(root) if root is not None else None,
        services=tuple(_service_summary(sid, segs) for sid, segs in services.items()),
    )


# ------------------------------------------------------------------------------------ helpers
def _copy_tree(
    doc: Mapping[str, Any],
    nodes: dict[str, dict[str, Any]],
    parent_of: dict[str, str],
    parent: str | None,
) -> dict[str, Any]:
    node = {k: v for k, v in doc.items() if k != "subsegments"}
    entity_id = str(node.get("id"))
    nodes[entity_id] = node
    if parent is not None:
        parent_of[entity_id] = parent
    kids = doc.get("subsegments")
    if isinstance(kids, list):
        node["subsegments"] = [
            _copy_tree(k, nodes, parent_of, entity_id) for k in kids if isinstance(k, Mapping)
        ]
    return node


def _is_below(node: Mapping[str, Any], ancestor: str, parent_of: Mapping[str, str]) -> bool:
    current: str | None = str(node.get("id"))
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def _start(segment: Segment) -> float:
    return segment.start_time


def _is_sub(doc: Mapping[str, Any]) -> bool:
    return is_independent_subsegment(doc)


def _freeze(doc: dict[str, Any]) -> Segment:
    kids = doc.get("subsegments") or []
    kids.sort(key=lambda k: k.get("start_time") or 0.0)
    children = tuple(_freeze(k) for k in kids)
    end = doc.get("end_time")
    return Segment(
        id=str(doc.get("id")),
        name=str(doc.get("name", "")),
        start_time=float(doc.get("start_time") or 0.0),
        end_time=float(end) if _is_number(end) and doc.get("in_progress") is not True else None,
        parent_id=_str(doc.get("parent_id")),
        origin=_str(doc.get("origin")),
        namespace=_str(doc.get("namespace")),
        fault=doc.get("fault") is True,
        error=doc.get("error") is True,
        throttle=doc.get("throttle") is True,
        subsegments=children,
        document=doc,
    )


def _service_of(segment: Segment) -> ServiceId:
    aws = segment.document.get("aws")
    account = _str(aws.get("account_id")) if isinstance(aws, Mapping) else None
    return ServiceId(segment.name, segment.origin, account)


def _inferred_service(node: Segment) -> ServiceId | None:
    """Downstream calls X-Ray draws as their own nodes (type for `aws` calls is approximate)."""
    if node.namespace == "remote":
        return ServiceId(node.name, "remote")
    if node.namespace == "aws":
        return ServiceId(node.name, f"AWS::{node.name}")
    return None


def _service_summary(sid: ServiceId, segments: list[Segment]) -> ServiceSummary:
    durations = [s.duration for s in segments if s.duration is not None]
    first = min(segments, key=lambda s: s.start_time)
    return ServiceSummary(
        service=sid,
        has_fault=any(s.fault for s in segments),
        has_error=any(s.error for s in segments),
        has_throttle=any(s.throttle for s in segments),
        is_partial=any(s.in_progress for s in segments),
        response_time=_ms(max(durations)) if durations else None,
        http=first.http,
    )


def _ms(seconds: float | None) -> float | None:
    """Summaries give durations to the millisecond, as X-Ray does."""
    return None if seconds is None else round(seconds, 3)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
