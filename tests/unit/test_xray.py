"""X-Ray ids, the trace header, sampling and Lambda's own segments (telemetry.md section 6)."""

from __future__ import annotations

import random

import pytest

from lconsole.model.trace import assemble_trace, document_problem, summarize
from lconsole.telemetry.xray import (
    FUNCTION_ORIGIN,
    SERVICE_ORIGIN,
    DefaultSampler,
    FunctionRef,
    InvocationTimes,
    Sampled,
    TraceHeader,
    TracingMode,
    is_entity_id,
    is_trace_id,
    lambda_segments,
    new_entity_id,
    new_trace_id,
    parse_trace_header,
    sampling_decision,
    start_invocation_trace,
)

NOW = 1763950131.25
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
FN = FunctionRef("orders", "arn:aws:lambda:us-east-1:123456789012:function:orders", "123456789012")


def _rng(seed: int = 7) -> random.Random:
    return random.Random(seed)


# ------------------------------------------------------------------------------------------ ids
def test_trace_id_carries_the_request_second_and_96_random_bits() -> None:
    trace_id = new_trace_id(NOW, _rng())
    assert is_trace_id(trace_id)
    assert trace_id.startswith(f"1-{int(NOW):08x}-")
    assert len(trace_id) == 35
    assert new_trace_id(NOW, _rng(1)) != new_trace_id(NOW, _rng(2))


def test_entity_ids_are_16_hex_digits() -> None:
    rng = _rng()
    ids = {new_entity_id(rng) for _ in range(200)}
    assert len(ids) == 200
    assert all(is_entity_id(i) for i in ids)
    assert not is_entity_id("53995C3F42CD8AD8")
    assert not is_trace_id("1-5759e988-bd862e3fe1be46a99427279")


# --------------------------------------------------------------------------------------- header
def test_header_round_trips_and_keeps_lineage_in_place() -> None:
    text = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:e547cb94:0"
    header = parse_trace_header(text)
    assert header.root == ROOT
    assert header.parent == "53995c3f42cd8ad8"
    assert header.sampled is Sampled.YES
    assert header.lineage == "1:e547cb94:0"
    assert header.format() == text


def test_header_parsing_is_lenient_like_the_sdks() -> None:
    header = parse_trace_header(f" root = {ROOT.upper()} ; sampled=? ;Self=1-x")
    assert header.root == ROOT
    assert header.parent is None
    assert header.sampled is Sampled.REQUESTED
    assert header.extra == (("Self", "1-x"),)
    assert parse_trace_header("Root=nonsense;Parent=xyz;Sampled=2") == TraceHeader()
    assert parse_trace_header(None) == TraceHeader()
    assert parse_trace_header(";;=;junk") == TraceHeader()


def test_response_echo_uses_lower_case_keys() -> None:
    header = TraceHeader(ROOT, "53995c3f42cd8ad8", Sampled.NO, (("Lineage", "cd888fb0:0"),))
    assert header.format(lower_keys=True) == (
        f"root={ROOT};parent=53995c3f42cd8ad8;sampled=0;lineage=cd888fb0:0"
    )


# ------------------------------------------------------------------------------------- sampling
def test_default_rule_takes_the_first_request_each_second_then_five_percent() -> None:
    sampler = DefaultSampler()
    assert sampler.sample(100.1, draw=0.99) is True  # reservoir
    assert sampler.sample(100.2, draw=0.99) is False
    assert sampler.sample(100.3, draw=0.049) is True  # under the 5 % rate
    assert sampler.sample(100.9, draw=0.05) is False
    assert sampler.sample(101.0, draw=0.99) is True  # a new second refills the reservoir


def test_default_rule_rate_over_many_requests_in_one_second() -> None:
    sampler, rng = DefaultSampler(), _rng(3)
    taken = sum(sampler.sample(500.5, rng.random()) for _ in range(10_000))
    assert 1 + 400 <= taken <= 1 + 600  # 1 + 5 % of 9,999, with a generous band


@pytest.mark.parametrize(
    ("mode", "sampled", "expected"),
    [
        ("Active", Sampled.YES, True),
        ("Active", Sampled.NO, False),
        ("PassThrough", Sampled.YES, True),
        ("PassThrough", Sampled.NO, False),
        ("PassThrough", Sampled.REQUESTED, False),
        ("PassThrough", None, False),
    ],
)
def test_upstream_decisions(mode: str, sampled: Sampled | None, expected: bool) -> None:
    upstream = TraceHeader(ROOT, "53995c3f42cd8ad8", sampled)
    # a sampler whose reservoir is untouched would say yes: only Active may consult it
    got = sampling_decision(mode, upstream, sampler=DefaultSampler(), now=NOW, draw=0.0)
    assert got is expected


def test_active_decides_itself_when_the_caller_did_not() -> None:
    sampler = DefaultSampler()
    undecided = TraceHeader(ROOT, None, Sampled.REQUESTED)
    assert sampling_decision("Active", undecided, sampler=sampler, now=NOW, draw=0.9)
    assert not sampling_decision("Active", TraceHeader(), sampler=sampler, now=NOW, draw=0.9)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        sampling_decision("Sometimes", TraceHeader(), sampler=DefaultSampler(), now=NOW, draw=0)


# -------------------------------------------------------------------------- invocation traces
def test_active_without_header_starts_a_recorded_trace() -> None:
    trace = start_invocation_trace(
        TracingMode.ACTIVE, None, now=NOW, rng=_rng(), sampler=DefaultSampler()
    )
    assert trace.sampled and trace.recorded
    assert is_trace_id(trace.trace_id) and trace.trace_id[2:10] == f"{int(NOW):08x}"
    assert trace.upstream_parent is None
    assert len({trace.ids.service, trace.ids.function, trace.ids.invocation}) == 3
    header = parse_trace_header(trace.runtime_header)
    assert header.root == trace.trace_id
    assert header.parent == trace.ids.invocation
    assert header.sampled is Sampled.YES


def test_joining_an_upstream_trace_keeps_root_parent_and_lineage() -> None:
    incoming = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1;Lineage=1:e547cb94:0"
    trace = start_invocation_trace(
        "Active", incoming, now=NOW, rng=_rng(), sampler=DefaultSampler()
    )
    assert trace.trace_id == ROOT and trace.upstream_parent == "53995c3f42cd8ad8"
    assert trace.runtime_header == (
        f"Root={ROOT};Parent={trace.ids.invocation};Sampled=1;Lineage=1:e547cb94:0"
    )
    assert trace.response_header == (
        f"root={ROOT};parent={trace.ids.service};sampled=1;lineage=1:e547cb94:0"
    )


def test_passthrough_follows_the_caller_but_records_nothing() -> None:
    incoming = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
    trace = start_invocation_trace(
        "PassThrough", incoming, now=NOW, rng=_rng(), sampler=DefaultSampler()
    )
    assert trace.sampled and not trace.recorded
    # the function's SDK hangs its subsegments off the caller's entity
    assert trace.runtime_header == f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
    times = InvocationTimes(NOW, NOW, NOW + 1, NOW + 1, NOW + 1)
    assert lambda_segments(trace, FN, times, request_id="r") == []


def test_passthrough_without_header_makes_an_unsampled_one() -> None:
    trace = start_invocation_trace(
        "PassThrough", None, now=NOW, rng=_rng(), sampler=DefaultSampler()
    )
    header = parse_trace_header(trace.runtime_header)
    assert not trace.sampled and not trace.recorded
    assert is_trace_id(header.root) and is_entity_id(header.parent)
    assert header.sampled is Sampled.NO


def test_active_with_sampled_zero_propagates_the_no() -> None:
    trace = start_invocation_trace(
        "Active",
        f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0",
        now=NOW,
        rng=_rng(),
        sampler=DefaultSampler(),
    )
    assert not trace.recorded
    assert trace.runtime_header.endswith("Sampled=0")


# ------------------------------------------------------------------------ Lambda's documents
def _cold_times() -> InvocationTimes:
    return InvocationTimes(
        received=NOW,
        init_start=NOW + 0.010,
        init_end=NOW + 0.300,
        invoke_start=NOW + 0.301,
        invoke_end=NOW + 0.401,
        responded=NOW + 0.405,
        done=NOW + 0.420,
    )


def _recorded(incoming: str | None = None):  # type: ignore[no-untyped-def]
    return start_invocation_trace("Active", incoming, now=NOW, rng=_rng(), sampler=DefaultSampler())


def test_cold_invocation_segments_match_what_lambda_records() -> None:
    trace = _recorded(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    service, function = lambda_segments(trace, FN, _cold_times(), request_id="req-1")
    assert service == {
        "id": trace.ids.service,
        "name": "orders",
        "start_time": NOW,
        "trace_id": ROOT,
        "end_time": NOW + 0.405,
        "parent_id": "53995c3f42cd8ad8",
        "http": {"response": {"status": 200}},
        "aws": {"request_id": "req-1"},
        "origin": SERVICE_ORIGIN,
        "resource_arn": FN.arn,
    }
    assert function["origin"] == FUNCTION_ORIGIN
    assert function["parent_id"] == trace.ids.service
    assert function["aws"] == {
        "account_id": "123456789012",
        "function_arn": FN.arn,
        "resource_names": ["orders"],
    }
    assert function["start_time"] == NOW + 0.010 and function["end_time"] == NOW + 0.420
    names = [(s["name"], s["start_time"], s["end_time"]) for s in function["subsegments"]]
    assert names == [
        ("Initialization", NOW + 0.010, NOW + 0.300),
        ("Invocation", NOW + 0.301, NOW + 0.401),
        ("Overhead", NOW + 0.401, NOW + 0.420),
    ]
    assert all(s["aws"] == {"function_arn": FN.arn} for s in function["subsegments"])
    assert "fault" not in function and "fault" not in service
    for doc in (service, function):
        assert document_problem(doc) is None


def test_warm_invocation_has_no_initialization() -> None:
    trace = _recorded()
    warm = InvocationTimes(NOW, NOW + 0.001, NOW + 0.050, NOW + 0.051, NOW + 0.050)
    _, function = lambda_segments(trace, FN, warm, request_id="r")
    assert [s["name"] for s in function["subsegments"]] == ["Invocation"]
    assert function["start_time"] == NOW + 0.001
    assert "parent_id" not in lambda_segments(trace, FN, warm, request_id="r")[0]


def test_function_error_sets_fault_and_the_runtime_cause() -> None:
    cause = {
        "working_directory": "/var/task",
        "exceptions": [{"message": "bad thing", "type": "ValueError", "stack": []}],
        "paths": ["/var/task/app.py"],
    }
    trace = _recorded()
    _, function = lambda_segments(
        trace, FN, _cold_times(), request_id="r", function_error=True, error_cause=cause
    )
    assert function["fault"] is True
    assert function["cause"] == cause


def test_async_invocation_adds_dwell_time_and_attempt() -> None:
    trace = _recorded()
    times = InvocationTimes(
        enqueued=NOW,
        received=NOW + 2.0,
        invoke_start=NOW + 2.01,
        invoke_end=NOW + 2.2,
        responded=NOW + 2.2,
        done=NOW + 2.21,
    )
    service, _ = lambda_segments(trace, FN, times, request_id="r", status=202, attempt=2)
    assert service["http"] == {"response": {"status": 202}}
    assert service["start_time"] == NOW
    dwell, attempt = service["subsegments"]
    assert (dwell["name"], dwell["start_time"], dwell["end_time"]) == ("Dwell Time", NOW, NOW + 2)
    assert attempt["name"] == "Attempt #2"
    assert attempt["http"] == {"response": {"status": 200}}


def test_throttled_request_flags_the_service_segment() -> None:
    trace = _recorded()
    times = InvocationTimes(NOW, NOW, NOW, NOW, NOW)
    service, _ = lambda_segments(trace, FN, times, request_id="r", status=429)
    assert service["error"] is True and service["throttle"] is True


def test_sdk_subsegments_nest_under_invocation_once_assembled() -> None:
    """What the function's SDK sends with the runtime header lands inside Invocation."""
    trace = _recorded()
    header = parse_trace_header(trace.runtime_header)
    sdk_doc = {
        "id": "4947763e3792898c", "name": "inner", "start_time": NOW + 0.31,
        "end_time": NOW + 0.32, "parent_id": header.parent, "trace_id": header.root,
        "type": "subsegment", "namespace": "local", "annotations": {"order_id": "o-1"},
    }  # fmt: skip
    docs = [sdk_doc, *lambda_segments(trace, FN, _cold_times(), request_id="r")]
    assembled = assemble_trace(trace.trace_id, docs)
    assert [s.origin for s in assembled.segments] == [SERVICE_ORIGIN, FUNCTION_ORIGIN]
    invocation = next(s for s in assembled.segments[1].subsegments if s.name == "Invocation")
    assert [s.name for s in invocation.subsegments] == ["inner"]
    summary = summarize(assembled)
    assert summary.entry_point is not None and summary.entry_point.type == SERVICE_ORIGIN
    assert summary.response_time == pytest.approx(0.405)
    assert summary.duration == pytest.approx(0.420)
    assert [v.value for v in summary.annotations["order_id"]] == ["o-1"]
