"""The OTLP/HTTP receiver under uvicorn, fed by the real OpenTelemetry SDK and by raw requests."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from lconsole.store.db import connect, transaction
from lconsole.store.traces import TraceStore, create_schema
from lconsole.telemetry.otlp import (
    OtlpSpan,
    SpanEvent,
    decode_export,
    export_documents,
    otlp_app,
    span_document,
    xray_trace_id,
)
from lconsole.telemetry.otlp import SpanKind as Kind

STARTUP = 10.0  # seconds uvicorn may take to bind
BAD_HEX_ID = b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}'


@dataclass
class Collector:
    url: str
    batches: list[list[dict[str, Any]]] = field(default_factory=list)
    failing: threading.Event = field(default_factory=threading.Event)

    def documents(self, trace_id: str) -> list[dict[str, Any]]:
        return [d for batch in self.batches for d in batch if d["trace_id"] == trace_id]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    box = Collector(url="")

    def sink(documents: list[dict[str, Any]]) -> None:
        if box.failing.is_set():
            raise RuntimeError("trace store is down")
        box.batches.append(documents)

    config = uvicorn.Config(
        otlp_app(sink), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="otlp-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    box.url = f"http://127.0.0.1:{port}/v1/traces"
    try:
        yield box
    finally:
        server.should_exit = True
        thread.join(STARTUP)
        assert not thread.is_alive()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    db = connect(tmp_path / "state.db")
    with transaction(db):
        create_schema(db.conn)
    yield TraceStore(db)
    db.conn.close()


# ------------------------------------------------------------------------ the real SDK, end to end
def _checkout(provider: TracerProvider) -> str:
    tracer = provider.get_tracer("shop.checkout")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as server:
        server.set_attributes(
            {
                "http.request.method": "POST",
                "url.full": "https://shop.example/checkout",
                "user_agent.original": "curl/8.5",
                "http.response.status_code": 500,
                "enduser.id": "alice",
                "tenant": "acme",
                "cart.items": 3,
                "aws.xray.annotations": ["tenant", "cart.items"],
            }
        )
        with tracer.start_as_current_span("DynamoDB.GetItem", kind=SpanKind.CLIENT) as call:
            call.set_attributes(
                {"rpc.system": "aws-api", "rpc.service": "DynamoDB", "rpc.method": "GetItem",
                 "aws.region": "eu-west-1", "aws.request_id": "REQ1"}
            )  # fmt: skip
        with tracer.start_as_current_span("price cart") as work:
            try:
                raise ValueError("no price for sku-9")
            except ValueError as exc:
                work.record_exception(exc)
                work.set_status(Status(StatusCode.ERROR, "pricing failed"))
        return f"{server.get_span_context().trace_id:032x}"


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_export_becomes_an_xray_trace(
    collector: Collector, store: TraceStore, compression: Compression
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    exporter = OTLPSpanExporter(endpoint=collector.url, timeout=10, compression=compression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        otlp_trace_id = _checkout(provider)
    finally:
        provider.shutdown()
    trace_id = xray_trace_id(otlp_trace_id)
    assert trace_id == f"1-{otlp_trace_id[:8]}-{otlp_trace_id[8:]}"
    documents = collector.documents(trace_id)
    assert len(documents) == 3  # SimpleSpanProcessor exports each span as it ends
    assert store.put(documents) == []

    trace = store.trace(trace_id)
    assert trace is not None and trace.orphans == ()
    (segment,) = trace.segments
    assert segment.name == "shop" and segment.parent_id is None
    assert segment.fault and segment.http.status == 500
    assert segment.http.method == "POST" and segment.http.url == "https://shop.example/checkout"
    assert segment.document["user"] == "alice"
    assert segment.annotations == {"tenant": "acme", "cart_items": 3}
    metadata = segment.document["metadata"]["default"]
    assert metadata["otel.resource.service.name"] == "shop"
    assert "tenant" not in metadata and "http.request.method" not in metadata

    by_name = {s.name: s for s in segment.subsegments}
    assert set(by_name) == {"DynamoDB", "price cart"}
    dynamo = by_name["DynamoDB"]
    assert dynamo.namespace == "aws"
    assert dynamo.document["aws"] == {
        "operation": "GetItem", "region": "eu-west-1", "request_id": "REQ1",
    }  # fmt: skip
    pricing = by_name["price cart"]
    assert pricing.fault and pricing.namespace is None
    (exception,) = pricing.document["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("ValueError", "no price for sku-9")
    assert exception["remote"] is False
    assert exception["stack"][0]["label"] == "_checkout"
    assert exception["stack"][0]["path"].endswith("test_otlp.py")

    (summary,) = store.summaries(
        since=0, until=2**42, filter_expression='annotation.tenant = "acme" AND fault'
    )
    assert summary.id == trace_id and summary.users == ("alice",)
    assert [s.name for s in summary.service_ids] == ["shop", "DynamoDB"]


# ------------------------------------------------------------------------------- raw requests
def _json_export(trace_hex: str, *spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]
                },
                "scopeSpans": [{"scope": {"name": "manual"}, "spans": list(spans)}],
            }
        ]
    }


def _json_span(trace_hex: str, span_hex: str, **extra: Any) -> dict[str, Any]:
    return {
        "traceId": trace_hex,
        "spanId": span_hex,
        "name": "GET /invoice",
        "kind": 2,
        "startTimeUnixNano": "1763950000000000000",
        "endTimeUnixNano": "1763950000250000000",
        **extra,
    }


def test_json_encoded_export(collector: Collector) -> None:
    trace_hex = "69234c70a1b2c3d4e5f60718293a4b5c"
    body = _json_export(
        trace_hex,
        _json_span(
            trace_hex,
            "1111111111111111",
            attributes=[
                {"key": "http.method", "value": {"stringValue": "GET"}},
                {"key": "http.status_code", "value": {"intValue": "429"}},
                {"key": "retry", "value": {"boolValue": True}},
            ],
        ),
        _json_span(
            trace_hex,
            "2222222222222222",
            parentSpanId="1111111111111111",
            name="render pdf",
            kind=1,
            status={"code": 2, "message": "renderer crashed"},
        ),
    )
    response = httpx.post(collector.url, json=body, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    docs = {d["id"]: d for d in collector.documents("1-69234c70-a1b2c3d4e5f60718293a4b5c")}
    server, child = docs["1111111111111111"], docs["2222222222222222"]
    assert server["name"] == "billing" and "type" not in server
    assert server["start_time"] == pytest.approx(1763950000.0)
    assert server["end_time"] == pytest.approx(1763950000.25)
    assert server["http"] == {"request": {"method": "GET"}, "response": {"status": 429}}
    assert server["error"] is True and server["throttle"] is True
    assert server["metadata"]["default"]["retry"] is True
    assert child["type"] == "subsegment" and child["parent_id"] == "1111111111111111"
    assert child["fault"] is True
    assert child["cause"]["exceptions"][0]["message"] == "renderer crashed"


def test_protobuf_answer_is_an_empty_export_response(collector: Collector) -> None:
    request = decode_export(
        json.dumps(_json_export("ab" * 16, _json_span("ab" * 16, "cd" * 8))).encode(),
        "application/json",
    )
    response = httpx.post(
        collector.url,
        content=gzip.compress(request.SerializeToString()),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")
    assert collector.documents("1-abababab-" + "ab" * 12)


def test_spans_with_invalid_ids_are_reported_as_partial_success(collector: Collector) -> None:
    body = _json_export("0" * 32, _json_span("0" * 32, "3333333333333333"))
    response = httpx.post(collector.url, json=body, timeout=10)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "invalid trace id" in response.json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/x-protobuf", b"\xff\xff\xff not protobuf", 400),
        ("application/json", b"{not json", 400),
        ("application/json", BAD_HEX_ID, 400),
        ("application/json", b"[1, 2]", 400),
        ("text/plain", b"hello", 415),
    ],
)  # fmt: skip
def test_bad_requests_answer_like_a_collector(
    collector: Collector, content_type: str, body: bytes, status: int
) -> None:
    response = httpx.post(
        collector.url, content=body, headers={"Content-Type": content_type}, timeout=10
    )
    assert response.status_code == status
    if content_type == "application/json":
        assert response.json()["code"] == 3 and response.json()["message"]
    else:
        assert status_pb2.Status.FromString(response.content).message


def test_a_failing_sink_answers_503_so_the_exporter_retries(collector: Collector) -> None:
    collector.failing.set()
    try:
        body = _json_export("cd" * 16, _json_span("cd" * 16, "4444444444444444"))
        response = httpx.post(collector.url, json=body, timeout=10)
    finally:
        collector.failing.clear()
    assert response.status_code == 503
    assert response.json()["code"] == 14  # UNAVAILABLE


def test_only_post_is_routed(collector: Collector) -> None:
    assert httpx.get(collector.url, timeout=10).status_code == 405


# -------------------------------------------------------------------------------- pure mapping
def _span(**over: Any) -> OtlpSpan:
    base: dict[str, Any] = {
        "trace_id": "69234c70" + "0" * 23 + "1",
        "span_id": "00000000000000a1",
        "parent_span_id": None,
        "name": "work",
        "kind": Kind.INTERNAL,
        "start_time": 10.0,
        "end_time": 11.0,
        "attributes": {},
        "events": (),
        "status_code": 0,
        "status_message": "",
        "resource": {"service.name": "svc"},
    }
    return OtlpSpan(**{**base, **over})


def test_root_span_of_any_kind_is_a_segment_and_a_child_server_span_too() -> None:
    assert "type" not in span_document(_span())
    remote_child = span_document(_span(kind=Kind.SERVER, parent_span_id="00000000000000b2"))
    assert "type" not in remote_child and remote_child["parent_id"] == "00000000000000b2"
    assert remote_child["name"] == "svc"
    child = span_document(_span(kind=Kind.PRODUCER, parent_span_id="00000000000000b2"))
    assert child["type"] == "subsegment" and "namespace" not in child


@pytest.mark.parametrize(
    ("attributes", "name", "namespace"),
    [
        ({"peer.service": "inventory"}, "inventory", "remote"),
        ({"aws.service": "S3"}, "S3", "aws"),
        ({"rpc.system": "aws-api", "aws.remote.service": "AWS::SQS"}, "SQS", "aws"),
        ({"db.name": "orders"}, "orders", "remote"),
        ({"http.host": "api.example.com"}, "api.example.com", "remote"),
        ({}, "work", "remote"),
    ],
)
def test_client_subsegments_are_named_after_the_service_called(
    attributes: dict[str, Any], name: str, namespace: str
) -> None:
    doc = span_document(
        _span(kind=Kind.CLIENT, parent_span_id="00000000000000b2", attributes=attributes)
    )
    assert (doc["name"], doc["namespace"]) == (name, namespace)


def test_unfinished_span_is_in_progress_and_names_are_cleaned() -> None:
    doc = span_document(_span(end_time=None, name="spaces ok; <semicolons> gone!" + "x" * 300))
    assert doc["in_progress"] is True and "end_time" not in doc
    assert doc["name"].startswith("spaces ok semicolons gone") and len(doc["name"]) == 200


def test_index_all_and_configured_indexed_attributes() -> None:
    span = _span(attributes={"tenant": "acme", "weight": 2.5, "tags": ["a", "b"]})
    assert span_document(span, index_all=True)["annotations"] == {
        "otel_resource_service_name": "svc",
        "tenant": "acme",
        "weight": 2.5,
    }
    doc = span_document(span, indexed_attributes={"weight"})
    assert doc["annotations"] == {"weight": 2.5}
    assert doc["metadata"]["default"] == {
        "otel.resource.service.name": "svc", "tenant": "acme", "tags": ["a", "b"],
    }  # fmt: skip


def test_namespaced_metadata_attribute() -> None:
    span = _span(attributes={"aws.xray.metadata.orders": '{"lines": 2}'})
    assert span_document(span)["metadata"]["orders"] == {"lines": 2}


def test_assembled_http_url_and_client_exception_is_remote() -> None:
    span = _span(
        kind=Kind.CLIENT,
        parent_span_id="00000000000000b2",
        attributes={"url.scheme": "https", "server.address": "pay.example", "server.port": 8443,
                    "url.path": "/charge", "url.query": "v=2", "http.response.status_code": 503},
        events=(SpanEvent("exception", 10.5, {"exception.type": "Timeout",
                                              "exception.message": "slow"}),),
    )  # fmt: skip
    doc = span_document(span)
    assert doc["http"]["request"]["url"] == "https://pay.example:8443/charge?v=2"
    assert doc["fault"] is True and "error" not in doc
    assert doc["cause"]["exceptions"][0]["remote"] is True


def test_export_documents_rejects_bad_ids() -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes.fromhex("ab" * 16)
    span.span_id = b"\x00" * 8
    span.name = "x"
    documents, rejected = export_documents(request)
    assert documents == [] and rejected == ["span in trace " + "ab" * 16 + ": invalid span id"]
