"""OpenTelemetry traces over OTLP/HTTP, turned into the same documents the X-Ray daemon takes.

``POST /v1/traces`` bodies are ``ExportTraceServiceRequest`` messages, protobuf
(``application/x-protobuf``) or OTLP's JSON mapping (``application/json``, ids in hex), possibly
gzip-compressed. Each span becomes one X-Ray document the way AWS's X-Ray exporter converts
them: a SERVER span or one without a parent is a segment, any other is an independent
subsegment; the trace id ``0123456789abcdef...`` becomes ``1-01234567-89abcdef...``; HTTP
status 4xx sets ``error`` (429 also ``throttle``), 5xx ``fault``, and an ERROR status without
one sets ``fault``; ``exception`` events become the ``cause``; attributes listed in
``aws.xray.annotations`` (or configured as indexed) become annotations, the rest metadata.
"""

from __future__ import annotations

import base64
import gzip
import inspect
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger("lconsole.telemetry.otlp")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACES_PATH = "/v1/traces"

_ID_KEYS = {"traceId": 32, "trace_id": 32, "spanId": 16, "span_id": 16}
_ID_KEYS |= {"parentSpanId": 16, "parent_span_id": 16}
_NAME_JUNK = re.compile(r"[^\w .:/%&#=+\-@]")
_PY_FRAME = re.compile(r'\s*File "(?P<path>[^"]*)", line (?P<line>\d+)(?:, in (?P<label>.*))?')

DocumentsSink = Callable[[list[dict[str, Any]]], object]


class SpanKind(IntEnum):
    UNSPECIFIED = 0
    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class OtlpDecodeError(ValueError):
    """A body that is not an ExportTraceServiceRequest in the declared encoding."""


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time: float  # epoch seconds
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class OtlpSpan:
    """One span with plain Python values, and the attributes of the resource that sent it."""

    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start_time: float  # epoch seconds
    end_time: float | None  # None when the span has not ended
    attributes: Mapping[str, Any]
    events: tuple[SpanEvent, ...]
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str
    resource: Mapping[str, Any]


# ------------------------------------------------------------------------------------ decoding
def decode_export(
    body: bytes, content_type: str, content_encoding: str | None = None
) -> ExportTraceServiceRequest:
    """Parse a request body; raises :class:`OtlpDecodeError` when it cannot be read."""
    if (content_encoding or "").strip().lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise OtlpDecodeError(f"bad gzip body: {exc}") from None
    request = ExportTraceServiceRequest()
    if media_type(content_type) == JSON:
        try:
            tree = json.loads(body)
            if not isinstance(tree, dict):
                raise ValueError("the body must be a JSON object")
            json_format.ParseDict(_ids_to_base64(tree), request, ignore_unknown_fields=True)
        except (ValueError, TypeError, json_format.ParseError) as exc:
            raise OtlpDecodeError(f"bad OTLP JSON: {exc}") from None
        return request
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpDecodeError(f"bad OTLP protobuf: {exc}") from None
    return request


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def request_spans(request: ExportTraceServiceRequest) -> list[OtlpSpan]:
    spans: list[OtlpSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            spans.extend(_plain_span(span, resource) for span in scope_spans.spans)
    return spans


def _plain_span(span: Any, resource: Mapping[str, Any]) -> OtlpSpan:
    try:
        kind = SpanKind(span.kind)
    except ValueError:
        kind = SpanKind.UNSPECIFIED
    return OtlpSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        name=span.name,
        kind=kind,
        start_time=span.start_time_unix_nano / 1e9,
        end_time=span.end_time_unix_nano / 1e9 if span.end_time_unix_nano else None,
        attributes=_attributes(span.attributes),
        events=tuple(
            SpanEvent(e.name, e.time_unix_nano / 1e9, _attributes(e.attributes))
            for e in span.events
        ),
        status_code=span.status.code,
        status_message=span.status.message,
        resource=resource,
    )


# ------------------------------------------------------------------------------------- mapping
def xray_trace_id(otlp_trace_id: str) -> str:
    """``1-`` + the first 8 hex digits + ``-`` + the remaining 24, as AWS converts them."""
    return f"1-{otlp_trace_id[:8]}-{otlp_trace_id[8:]}"


def span_document(
    span: OtlpSpan, *, indexed_attributes: Collection[str] = (), index_all: bool = False
) -> dict[str, Any]:
    """The X-Ray segment or independent subsegment document for one span."""
    subsegment = span.kind is not SpanKind.SERVER and span.parent_span_id is not None
    attrs = dict(span.attributes)
    http, attrs = _http(span, attrs)
    name, namespace = _name(span)
    doc: dict[str, Any] = {
        "id": span.span_id,
        "name": name,
        "start_time": span.start_time,
        "trace_id": xray_trace_id(span.trace_id),
    }
    if span.end_time is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = span.end_time
    if span.parent_span_id:
        doc["parent_id"] = span.parent_span_id
    if subsegment:
        doc["type"] = "subsegment"
        if namespace:
            doc["namespace"] = namespace
    doc.update(_flags(span, http))
    cause = _cause(span)
    if cause:
        doc["cause"] = cause
    if http:
        doc["http"] = http
    aws = _aws(span) if namespace == "aws" else {}
    if aws:
        doc["aws"] = aws
    user = attrs.pop("enduser.id", None)
    if isinstance(user, str):
        doc["user"] = user
    annotations, metadata = _annotations_and_metadata(
        attrs, span.resource if not subsegment else {}, set(indexed_attributes), index_all
    )
    if annotations:
        doc["annotations"] = annotations
    if metadata:
        doc["metadata"] = metadata
    return doc


def export_documents(
    request: ExportTraceServiceRequest,
    *,
    indexed_attributes: Collection[str] = (),
    index_all: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents for every span with valid ids, and why the others were rejected."""
    documents: list[dict[str, Any]] = []
    rejected: list[str] = []
    for span in request_spans(request):
        if len(span.trace_id) != 32 or set(span.trace_id) == {"0"}:
            rejected.append(f"span {span.span_id or '?'}: invalid trace id")
        elif len(span.span_id) != 16 or set(span.span_id) == {"0"}:
            rejected.append(f"span in trace {span.trace_id}: invalid span id")
        else:
            documents.append(
                span_document(span, indexed_attributes=indexed_attributes, index_all=index_all)
            )
    return documents, rejected


# ------------------------------------------------------------------------------------ endpoint
def otlp_app(
    sink: DocumentsSink, *, indexed_attributes: Collection[str] = (), index_all: bool = False
) -> Starlette:
    """An OTLP/HTTP trace receiver: each export's documents go to ``sink`` in one call.

    ``sink`` may be a plain or an async callable; if it raises, the exporter gets 503 and
    retries, as from a collector under pressure.
    """

    async def traces(request: Request) -> Response:
        kind = media_type(request.headers.get("content-type"))
        if kind not in (PROTOBUF, JSON):
            return _status(415, code_pb2.INVALID_ARGUMENT, f"unsupported content type {kind!r}")
        try:
            export = decode_export(
                await request.body(), kind, request.headers.get("content-encoding")
            )
        except OtlpDecodeError as exc:
            return _status(400, code_pb2.INVALID_ARGUMENT, str(exc), kind)
        documents, rejected = export_documents(
            export, indexed_attributes=indexed_attributes, index_all=index_all
        )
        if documents:
            try:
                outcome = sink(documents)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("trace sink failed on %d OTLP spans", len(documents))
                return _status(503, code_pb2.UNAVAILABLE, "trace store unavailable", kind)
        answer = ExportTraceServiceResponse()
        if rejected:
            answer.partial_success.rejected_spans = len(rejected)
            answer.partial_success.error_message = "; ".join(rejected[:10])
        return _encoded(200, answer, kind)

    return Starlette(routes=[Route(TRACES_PATH, traces, methods=["POST"])])


def _encoded(status: int, message: Any, kind: str) -> Response:
    if kind == JSON:
        return Response(json_format.MessageToJson(message, indent=None), status, media_type=JSON)
    return Response(message.SerializeToString(), status, media_type=PROTOBUF)


def _status(http_status: int, code: int, text: str, kind: str = PROTOBUF) -> Response:
    return _encoded(http_status, status_pb2.Status(code=code, message=text), kind)


# ------------------------------------------------------------------------------------ helpers
def _ids_to_base64(node: Any) -> Any:
    """OTLP JSON writes ids in hex where protobuf's JSON mapping expects base64."""
    if isinstance(node, list):
        return [_ids_to_base64(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        width = _ID_KEYS.get(key)
        if width is not None and isinstance(value, str) and value:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raise OtlpDecodeError(f"{key} {value!r} is not hex") from None
            if len(raw) * 2 != width:
                raise OtlpDecodeError(f"{key} {value!r} must be {width} hex digits")
            out[key] = base64.b64encode(raw).decode()
        else:
            out[key] = _ids_to_base64(value)
    return out


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which) if which else None


def _name(span: OtlpSpan) -> tuple[str, str | None]:
    """X-Ray names a (sub)segment after a service, not an operation: find one."""
    a = span.attributes
    kind = span.kind
    namespace = "aws" if a.get("rpc.system") == "aws-api" else None
    name = a.get("aws.local.service") if kind is SpanKind.SERVER else None
    if not name and kind in (SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER):
        remote = a.get("aws.remote.service")
        if isinstance(remote, str) and namespace == "aws":
            remote = remote.removeprefix("AWS.SDK.").removeprefix("AWS::")
        name = remote
    name = name or a.get("peer.service")
    if not name and a.get("aws.service"):
        name, namespace = a["aws.service"], namespace or "aws"
    if not name and kind is SpanKind.SERVER:
        name = span.resource.get("service.name")
    for key in ("db.name", "rpc.service", "http.host", "net.peer.name"):
        name = name or a.get(key)
    cleaned = _NAME_JUNK.sub("", str(name or span.name))[:200]
    if namespace is None and kind is SpanKind.CLIENT:
        namespace = "remote"
    return cleaned or "span", namespace


_HTTP_KEYS = {
    "method": ("http.method", "http.request.method"),
    "user_agent": ("http.user_agent", "user_agent.original"),
    "client_ip": ("http.client_ip", "client.address"),
}
_URL_PARTS = ("http.url", "url.full", "http.scheme", "url.scheme", "http.host", "server.address",
              "server.port", "http.target", "url.path", "url.query")  # fmt: skip
_STATUS_KEYS = ("http.status_code", "http.response.status_code")


def _http(span: OtlpSpan, attrs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``http`` object and the attributes left once its keys are taken out."""
    request: dict[str, Any] = {}
    for field, keys in _HTTP_KEYS.items():
        for key in keys:
            if isinstance(attrs.get(key), str):
                request.setdefault(field, attrs[key])
    url = attrs.get("http.url") or attrs.get("url.full") or _assemble_url(attrs)
    if url:
        request["url"] = url
    status = next((attrs[k] for k in _STATUS_KEYS if isinstance(attrs.get(k), int)), None)
    taken = {k for keys in _HTTP_KEYS.values() for k in keys} | set(_URL_PARTS) | set(_STATUS_KEYS)
    if not request and status is None:
        return {}, attrs
    http: dict[str, Any] = {}
    if request:
        http["request"] = request
    if status is not None:
        http["response"] = {"status": status}
    return http, {k: v for k, v in attrs.items() if k not in taken}


def _assemble_url(attrs: Mapping[str, Any]) -> str | None:
    host = attrs.get("http.host") or attrs.get("server.address")
    if not host:
        return None
    scheme = attrs.get("http.scheme") or attrs.get("url.scheme") or "http"
    port = attrs.get("server.port")
    if port and (scheme, str(port)) not in (("http", "80"), ("https", "443")):
        host = f"{host}:{port}"
    target = attrs.get("http.target") or attrs.get("url.path") or "/"
    if attrs.get("url.query") and not attrs.get("http.target"):
        target = f"{target}?{attrs['url.query']}"
    return f"{scheme}://{host}{target}"


def _flags(span: OtlpSpan, http: Mapping[str, Any]) -> dict[str, bool]:
    status = (http.get("response") or {}).get("status")
    if isinstance(status, int) and 400 <= status <= 499:
        return {"error": True, "throttle": True} if status == 429 else {"error": True}
    if isinstance(status, int) and 500 <= status <= 599:
        return {"fault": True}
    return {"fault": True} if span.status_code == 2 else {}


def _cause(span: OtlpSpan) -> dict[str, Any] | None:
    remote = span.kind in (SpanKind.CLIENT, SpanKind.PRODUCER)
    exceptions = []
    for i, event in enumerate(e for e in span.events if e.name == "exception"):
        a = event.attributes
        exc: dict[str, Any] = {
            "id": _exception_id(span.span_id, i),
            "message": str(a.get("exception.message", "")),
            "type": str(a.get("exception.type", "")),
            "remote": remote,
        }
        stack = _python_stack(str(a.get("exception.stacktrace", "")))
        if stack:
            exc["stack"] = stack
        exceptions.append(exc)
    if exceptions:
        return {"exceptions": exceptions}
    if span.status_code == 2 and span.status_message:
        return {
            "exceptions": [{"id": _exception_id(span.span_id, 0), "message": span.status_message}]
        }
    return None


def _exception_id(span_id: str, index: int) -> str:
    """Stable per span, so a re-sent export replaces rather than duplicates."""
    return f"{int(span_id, 16) ^ (index + 1):016x}"


def _python_stack(text: str) -> list[dict[str, Any]]:
    """Frames of a Python traceback, innermost first as X-Ray lists them."""
    frames = []
    for line in text.splitlines():
        m = _PY_FRAME.match(line)
        if m:
            frame = {"path": m["path"], "line": int(m["line"]), "label": m["label"] or ""}
            frames.append(frame)
    return frames[::-1]


def _aws(span: OtlpSpan) -> dict[str, Any]:
    a = span.attributes
    found = {
        "operation": a.get("rpc.method") or a.get("aws.operation"),
        "region": a.get("aws.region") or span.resource.get("cloud.region"),
        "request_id": a.get("aws.request_id") or a.get("aws.requestId"),
        "queue_url": a.get("aws.queue_url"),
        "table_name": a.get("aws.table_name"),
    }
    return {k: v for k, v in found.items() if isinstance(v, str)}


def _annotations_and_metadata(
    attrs: dict[str, Any], resource: Mapping[str, Any], indexed: set[str], index_all: bool
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    listed = attrs.pop("aws.xray.annotations", None)
    if isinstance(listed, list):
        indexed |= {k for k in listed if isinstance(k, str)}
    annotations: dict[str, Any] = {}
    metadata: dict[str, dict[str, Any]] = {}
    default: dict[str, Any] = {}
    items = [(f"otel.resource.{k}", v) for k, v in resource.items()] + list(attrs.items())
    for key, value in items:
        scalar = isinstance(value, str | int | float | bool)
        if scalar and (index_all or key in indexed):
            annotations[_annotation_key(key)] = value
        elif key.startswith("aws.xray.metadata.") and isinstance(value, str):
            namespace = key.removeprefix("aws.xray.metadata.")
            try:
                parsed = json.loads(value)
            except ValueError:
                default[key] = value
                continue
            if namespace.lower() == "default" and isinstance(parsed, dict):
                default.update(parsed)
            else:
                metadata[namespace] = parsed
        elif value is not None:
            default[key] = value
    if default:
        metadata["default"] = default
    return annotations, metadata


def _annotation_key(key: str) -> str:
    """X-Ray annotation keys are letters, digits and underscores."""
    return re.sub(r"[^A-Za-z0-9_]", "_", key)
