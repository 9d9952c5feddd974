"""Traces, custom metrics, searchable JSON logs and Lambda metrics from real functions.

Each function runs in a real environment of a real engine and uses the real libraries:
aws-xray-sdk (to the engine's UDP daemon), the OpenTelemetry SDK with its OTLP/HTTP exporter,
Powertools Metrics (EMF) and Powertools Logger (JSON lines). Results are read back through the
console API, as the console and the CLI read them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"

XRAY_APP = """
import os
import httpx
from aws_xray_sdk.core import patch, xray_recorder

patch(["httpx"])

def handler(event, context):
    with xray_recorder.in_subsegment("work") as subsegment:
        subsegment.put_annotation("customer", "c-42")
        httpx.get(event["url"], timeout=5)
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
"""

OTEL_APP = """
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("shop")

def handler(event, context):
    with tracer.start_as_current_span("checkout") as span:
        span.set_attribute("order.id", "o-1")
        with tracer.start_as_current_span("charge"):
            pass
    return {"trace_id": format(span.get_span_context().trace_id, "032x")}
"""

METRICS_APP = """
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="Shop", service="checkout")

@metrics.log_metrics
def handler(event, context):
    metrics.add_dimension(name="stage", value="test")
    metrics.add_metric(name="Orders", unit=MetricUnit.Count, value=3)
    return {"ok": True}
"""

LOGGER_APP = """
from aws_lambda_powertools import Logger

logger = Logger(service="checkout")

def handler(event, context):
    logger.info("order placed", extra={"order_id": "o-7", "latency": 150})
    logger.error("payment failed", extra={"latency": 20})
    return {"ok": True}
"""

ECHO_APP = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return event
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with EngineProcess(tmp_path_factory.mktemp("state")) as proc:
        yield proc


@pytest.fixture(scope="module")
def lam(engine: EngineProcess):  # type: ignore[no-untyped-def]
    return engine.client()


@pytest.fixture(scope="module")
def console(engine: EngineProcess) -> Iterator[httpx.Client]:
    token = engine.endpoint["token"]
    with httpx.Client(
        base_url=engine.url + "/_lconsole/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
def web() -> Iterator[str]:
    """A local HTTP server for the traced function to call."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/items"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _create(lam, name: str, source: str, **kw: Any) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name,
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": source})},
        Timeout=30,
        **kw,
    )


def _invoke(lam, name: str, event: dict[str, Any] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    body = json.loads(resp["Payload"].read())
    assert "FunctionError" not in resp, body
    return body


def _until(probe: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Poll `probe` until it returns something truthy (bounded), and return that."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _walk(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in documents:
        yield doc
        yield from _walk(doc.get("subsegments") or [])


def _trace(console: httpx.Client, trace_id: str, ready: Callable[[list[dict]], bool]) -> list:
    def probe() -> list[dict[str, Any]] | None:
        resp = console.get(f"/traces/{trace_id}")
        if resp.status_code != 200:
            return None
        docs = list(_walk(resp.json()["segments"]))
        return docs if ready(docs) else None

    found = _until(probe)
    assert found, f"trace {trace_id} never had what was expected"
    return found


def test_xray_sdk_subsegments_join_lambdas_segments(engine, lam, console, web) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "traced", XRAY_APP, TracingConfig={"Mode": "Active"})
    root = "1-5f84c3a0-0123456789abcdef01234567"
    resp = httpx.post(
        f"{engine.url}/2015-03-31/functions/traced/invocations",
        content=json.dumps({"url": web}),
        headers={"X-Amzn-Trace-Id": f"Root={root};Sampled=1"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    seen = resp.json()["trace"]
    assert seen.startswith(f"Root={root};Parent=") and seen.endswith(";Sampled=1")

    def complete(docs: list[dict]) -> bool:
        names = {d.get("name") for d in docs}
        return {"work", "Invocation"} <= names and any(d.get("http") for d in docs)

    docs = _trace(console, root, complete)
    origins = {d.get("origin") for d in docs}
    assert {"AWS::Lambda", "AWS::Lambda::Function"} <= origins
    by_name = {d["name"]: d for d in docs}
    assert by_name["work"]["annotations"] == {"customer": "c-42"}
    assert "Initialization" in by_name  # the first invocation was a cold start
    # The SDK's subsegment sits under Lambda's Invocation subsegment, in one tree.
    invocation = by_name["Invocation"]
    assert any(s["name"] == "work" for s in invocation.get("subsegments", []))
    call = next(d for d in docs if d.get("http", {}).get("request", {}).get("url") == web)
    assert call["http"]["response"]["status"] == 200
    # And the trace is listed, with its annotation, for the function.
    listed = console.get("/traces", params={"function": "traced"}).json()["traces"]
    assert any(t["id"] == root and t["annotations"].get("customer") == ["c-42"] for t in listed)


def test_passthrough_without_upstream_is_not_recorded(lam, console) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "untraced", ECHO_APP)
    _invoke(lam, "untraced")
    listed = console.get("/traces", params={"function": "untraced"}).json()["traces"]
    assert listed == []


def test_opentelemetry_spans_arrive_over_otlp_http(lam, console) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "otel", OTEL_APP)
    hex_id = _invoke(lam, "otel")["trace_id"]
    trace_id = f"1-{hex_id[:8]}-{hex_id[8:]}"

    def spans(docs: list[dict]) -> bool:
        return {"checkout", "charge"} <= {d.get("name") for d in docs}

    docs = _trace(console, trace_id, spans)
    checkout = next(d for d in docs if d["name"] == "checkout")
    assert any(s["name"] == "charge" for s in checkout.get("subsegments", []))
    assert "o-1" in json.dumps(checkout)  # the span attribute came along


def test_powertools_metrics_become_custom_metrics(lam, console) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "orders", METRICS_APP)
    _invoke(lam, "orders")
    _invoke(lam, "orders")

    def listed() -> list[dict[str, Any]]:
        found = console.get("/metrics/custom", params={"namespace": "Shop"}).json()["metrics"]
        return [m for m in found if m["name"] == "Orders"]

    metrics = _until(listed)
    assert metrics and metrics[0]["dimensions"] == {"service": "checkout", "stage": "test"}
    series = console.get(
        "/metrics/custom/series",
        params={
            "namespace": "Shop",
            "name": "Orders",
            "stat": "Sum",
            "period_s": 3600,
            "dim.service": "checkout",
            "dim.stage": "test",
        },
    ).json()
    assert sum(series["values"]) == 6


def test_powertools_json_logs_match_json_filter_patterns(lam, console) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "shoplog", LOGGER_APP)
    _invoke(lam, "shoplog")

    def search(pattern: str) -> list[dict[str, Any]]:
        resp = console.get("/logs", params={"function": "shoplog", "filter": pattern})
        assert resp.status_code == 200, resp.text
        return [json.loads(e["message"]) for e in resp.json()["events"]]

    errors = _until(lambda: search('{ $.level = "ERROR" }'))
    assert [e["message"] for e in errors] == ["payment failed"]
    slow = search("{ $.latency > 100 }")
    assert [(e["message"], e["order_id"]) for e in slow] == [("order placed", "o-7")]
    assert search('{ $.service = "checkout" && $.level = "INFO" }')[0]["message"] == "order placed"
    bad = console.get("/logs", params={"function": "shoplog", "filter": "{ $.level = "})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidParameterException"


def test_report_metrics_agree_with_invocation_records(lam, console) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "counted", ECHO_APP)
    for n in range(5):
        _invoke(lam, "counted", {"sleep": 0.01 * n})
    records = console.get("/functions/counted/invocations").json()["invocations"]
    assert len(records) == 5
    durations = [r["duration_ms"] for r in records]
    end = int(time.time() * 1000) + 1000
    for period in (1, 60):
        data = console.get(
            "/metrics",
            params={"function": "counted", "period_s": period, "start_ms": end - 120_000,
                    "end_ms": end},
        ).json()
        charts = {(m["name"], m["stat"]): m["values"] for m in data["metrics"]}
        assert sum(charts[("Invocations", "Sum")]) == 5, data["source"]
        assert sum(charts[("ColdStarts", "Sum")]) == 1
        assert sum(charts[("Errors", "Sum")]) == 0
        assert max(charts[("Duration", "Maximum")]) == pytest.approx(max(durations))
    assert data["source"] == "stored"
    cost = console.get("/cost", params={"function": "counted"}).json()
    assert cost["invocations"] == 5
    assert cost["total_usd"] == pytest.approx(sum(r["cost_usd"] for r in records))


def test_cost_includes_provisioned_concurrency_kept_configured(lam, console) -> None:  # type: ignore[no-untyped-def]
    from lconsole.telemetry import cost as pricing

    _create(lam, "kept", ECHO_APP, MemorySize=512)
    version = lam.publish_version(FunctionName="kept")["Version"]
    lam.create_alias(FunctionName="kept", Name="live", FunctionVersion=version)
    lam.put_provisioned_concurrency_config(
        FunctionName="kept", Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    report = console.get("/cost", params={"function": "kept"}).json()
    # Two 512 MB environments for the 5 minutes AWS rounds the enabled time up to.
    expected = pricing.provisioned_cost(2 * 0.5 * 300, "x86_64")
    assert report["provisioned_usd"] == pytest.approx(expected)
    assert report["total_usd"] >= report["provisioned_usd"] > 0


def test_spillover_beyond_provisioned_concurrency_is_counted(lam, console) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    _create(lam, "spill", ECHO_APP)
    version = lam.publish_version(FunctionName="spill")["Version"]
    lam.create_alias(FunctionName="spill", Name="live", FunctionVersion=version)
    lam.put_provisioned_concurrency_config(
        FunctionName="spill", Qualifier="live", ProvisionedConcurrentExecutions=1
    )

    def ready() -> bool:
        cfg = lam.get_provisioned_concurrency_config(FunctionName="spill", Qualifier="live")
        return cfg["Status"] == "READY"

    assert _until(ready, 30)

    def call(_: int) -> None:
        resp = lam.invoke(FunctionName="spill", Qualifier="live", Payload=b'{"sleep": 0.5}')
        resp["Payload"].read()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(call, range(2)))
    end = int(time.time() * 1000) + 1000
    for period in (1, 60):
        data = console.get(
            "/metrics",
            params={"function": "spill", "qualifier": "live", "period_s": period,
                    "start_ms": end - 120_000, "end_ms": end},
        ).json()
        charts = {(m["name"], m["stat"]): m["values"] for m in data["metrics"]}
        assert sum(charts[("Invocations", "Sum")]) == 2, data["source"]
        spilled = charts[("ProvisionedConcurrencySpilloverInvocations", "Sum")]
        assert sum(spilled) == 1, data["source"]
