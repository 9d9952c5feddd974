"""Console API queries over what invocations left behind: logs, Insights, traces, metrics, cost.

The handlers parse parameters and shape JSON; the engine's `Queries` does the reading, on a
worker thread, after the telemetry writer is flushed on the loop so answers include the
latest invocations. Bad parameters get 400 `{"message": ...}` naming the parameter; errors
from the stores keep AWS's code in `code`.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lconsole.api.wire import answer, engine
from lconsole.engine.queries import Queries, QueryError
from lconsole.model.metrics import Series
from lconsole.model.trace import Trace, TraceSummary

T = TypeVar("T")
HOUR_MS = 3_600_000
FEATURES = ("logs", "insights", "traces", "metrics", "cost")


class BadParameter(ValueError):
    pass


async def _read(request: Request, work: Callable[[Queries], T]) -> T:
    eng = engine(request)
    eng.telemetry.flush()
    queries = eng.queries
    return await asyncio.to_thread(work, queries)


def _int(request: Request, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadParameter(f"{name} must be at least {minimum}")
    return value


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise BadParameter(f"{name} is required")
    return value


def _error(message: str, status: int = 400, code: str | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if code:
        body["code"] = code
    return answer(body, status)


def _guarded(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BadParameter as exc:
            return _error(str(exc))
        except QueryError as exc:
            return _error(exc.message, exc.status, exc.code)

    return run


def _window(request: Request, default_ms: int = HOUR_MS) -> tuple[int, int]:
    now = int(time.time() * 1000)
    end = _int(request, "end_ms", now)
    assert end is not None
    start = _int(request, "start_ms", end - default_ms)
    assert start is not None
    if start > end:
        raise BadParameter("start_ms must not be after end_ms")
    return start, end


def _series(s: Series) -> dict[str, Any]:
    return {
        "period_s": s.period_s,
        "timestamps": [t // 1000 for t in s.timestamps],  # epoch seconds
        "values": list(s.values),
    }


# Logs ---------------------------------------------------------------------------------------


@_guarded
async def logs(request: Request) -> Response:
    function = _required(request, "function")
    start, end = _window(request, 24 * HOUR_MS)
    pattern = request.query_params.get("filter") or None
    request_id = request.query_params.get("request_id") or None
    limit = _int(request, "limit", 1000, 1) or 1000
    token = request.query_params.get("next_token") or None
    events, next_token = await _read(
        request,
        lambda q: q.logs(
            function,
            pattern,
            start_ms=start,
            end_ms=end,
            limit=limit,
            next_token=token,
            request_id=request_id,
        ),
    )
    return answer(
        {
            "events": [
                {
                    "id": e.id,
                    "timestamp": e.timestamp,
                    "ingestion_time": e.ingestion_time,
                    "message": e.message,
                    "stream": e.stream,
                    "request_id": e.request_id,
                }
                for e in events
            ],
            "next_token": next_token,
        }
    )


@_guarded
async def insights(request: Request) -> Response:
    function = _required(request, "function")
    query = _required(request, "query")
    start, end = _window(request)
    limit = _int(request, "limit", None, 1)
    return answer(await _read(request, lambda q: q.insights(function, query, start, end, limit)))


# Traces -------------------------------------------------------------------------------------


def summary_shape(s: TraceSummary) -> dict[str, Any]:
    return {
        "id": s.id,
        "start": s.start_time,
        "duration": s.duration,
        "response_time": s.response_time,
        "has_error": s.has_error,
        "has_fault": s.has_fault,
        "has_throttle": s.has_throttle,
        "is_partial": s.is_partial,
        "http_status": s.http.status,
        "annotations": {
            k: [getattr(v, "value", v) for v in values] for k, values in s.annotations.items()
        },
    }


def trace_shape(t: Trace) -> dict[str, Any]:
    return {
        "id": t.id,
        "duration": t.duration,
        "start": t.start_time,
        "segments": [dict(s.document) for s in (*t.segments, *t.orphans)],
    }


@_guarded
async def traces(request: Request) -> Response:
    function = request.query_params.get("function") or None
    start, end = _window(request)
    expression = request.query_params.get("filter") or None
    request_id = request.query_params.get("request_id") or None  # one invocation's trace
    limit = _int(request, "limit", 100, 1) or 100
    found = await _read(
        request,
        lambda q: q.traces(
            function,
            start_ms=start,
            end_ms=end,
            expression=expression,
            limit=limit,
            request_id=request_id,
        ),
    )
    return answer({"traces": [summary_shape(s) for s in found]})


@_guarded
async def trace(request: Request) -> Response:
    trace_id = request.path_params["trace_id"]
    found = await _read(request, lambda q: q.trace(trace_id))
    if found is None:
        return _error(f"trace {trace_id} not found", 404, "ResourceNotFoundException")
    return answer(trace_shape(found))


# Metrics and cost ---------------------------------------------------------------------------


@_guarded
async def metrics(request: Request) -> Response:
    function = _required(request, "function")
    qualifier = request.query_params.get("qualifier") or None
    start, end = _window(request)
    period = _int(request, "period_s", 60, 1) or 60
    record = engine(request).registry.functions.get(function)
    provisioned = {q: c.requested for q, c in record.provisioned.items()} if record else {}
    source, found = await _read(
        request,
        lambda q: q.metrics(
            function,
            qualifier,
            start_ms=start,
            end_ms=end,
            period_s=period,
            provisioned=provisioned,
        ),
    )
    return answer(
        {
            "function": function,
            "qualifier": qualifier,
            "source": source,
            "metrics": [{"name": n, "stat": st, **_series(s)} for n, st, s in found],
        }
    )


@_guarded
async def custom_metrics(request: Request) -> Response:
    namespace = request.query_params.get("namespace") or None
    found = await _read(request, lambda q: q.custom_metrics(namespace))
    return answer(
        {
            "metrics": [
                {"namespace": m.namespace, "name": m.name, "dimensions": dict(m.dimensions)}
                for m in found
            ]
        }
    )


@_guarded
async def custom_series(request: Request) -> Response:
    namespace = _required(request, "namespace")
    name = _required(request, "name")
    stat = request.query_params.get("stat") or "Sum"
    start, end = _window(request)
    period = _int(request, "period_s", 60, 1) or 60
    dimensions = {
        k.removeprefix("dim."): v for k, v in request.query_params.items() if k.startswith("dim.")
    }
    s = await _read(
        request,
        lambda q: q.custom_series(
            namespace, name, dimensions, start_ms=start, end_ms=end, period_s=period, stat=stat
        ),
    )
    return answer(
        {"namespace": namespace, "name": name, "stat": stat, "dimensions": dimensions, **_series(s)}
    )


@_guarded
async def cost(request: Request) -> Response:
    function = _required(request, "function")
    qualifier = request.query_params.get("qualifier") or None
    start, end = _window(request)
    provisioned = engine(request).provisioned_usd(function, qualifier, start, end)
    report = await _read(
        request,
        lambda q: q.cost(
            function, qualifier, start_ms=start, end_ms=end, provisioned_usd=provisioned
        ),
    )
    return answer(
        {
            "function": report.function,
            "qualifier": report.qualifier,
            "since_ms": report.since_ms,
            "until_ms": report.until_ms,
            "invocations": report.invocations,
            "gb_seconds": report.gb_seconds,
            "request_usd": report.request_usd,
            "compute_usd": report.compute_usd,
            "ephemeral_usd": report.ephemeral_usd,
            "provisioned_usd": report.provisioned_usd,
            "total_usd": report.total_usd,
            "by_architecture": [
                {
                    "architecture": a.architecture,
                    "invocations": a.invocations,
                    "gb_seconds": a.gb_seconds,
                    "compute_usd": a.compute_usd,
                }
                for a in report.by_architecture
            ],
            "free_tier": {
                "requests": report.free_tier_requests,
                "gb_seconds": report.free_tier_gb_seconds,
                "usd": report.free_tier_usd,
            },
            "total_after_free_tier_usd": report.total_after_free_tier_usd,
            "monthly_projection_usd": report.monthly_projection_usd,
        }
    )


@_guarded
async def log_retention(request: Request) -> Response:
    function = _required(request, "function")
    days = _int(request, "days", None, 0)
    await _read(request, lambda q: q.put_log_retention(function, days or None))
    return answer({"function": function, "retention_days": days or None})


QUERY_ROUTES = [
    Route("/logs", logs, methods=["GET"]),
    Route("/logs/retention", log_retention, methods=["PUT"]),
    Route("/insights", insights, methods=["GET"]),
    Route("/traces", traces, methods=["GET"]),
    Route("/traces/{trace_id}", trace, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/metrics/custom", custom_metrics, methods=["GET"]),
    Route("/metrics/custom/series", custom_series, methods=["GET"]),
    Route("/cost", cost, methods=["GET"]),
]
