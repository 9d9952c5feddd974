"""X-Ray filter expressions over trace summaries (telemetry.md section 6.7)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from lconsole.model.trace import TraceSummary, assemble_trace, summarize
from lconsole.telemetry.trace_filter import TraceFilterError, compile_filter

TRACE = "1-5759e988-bd862e3fe1be46a994272793"
T0 = 1763950000.0


def _seg(id_: str, name: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {"id": id_, "name": name, "trace_id": TRACE, "start_time": start, "end_time": end,
            **extra}  # fmt: skip


def _summary(*docs: dict[str, Any]) -> TraceSummary:
    return summarize(assemble_trace(TRACE, docs))


# An API front (root, answered 500 after 2.5 s), calling a Lambda function that faulted; the
# function wrote annotations and called DynamoDB (throttled).
FAILING = _summary(
    _seg(
        "a000000000000001", "api", T0, T0 + 2.5, origin="AWS::ApiGateway::Stage", fault=True,
        user="alice",
        http={"request": {"method": "POST", "url": "https://api.example.com/v2/orders",
                          "user_agent": "curl/8", "client_ip": "10.0.0.7"},
              "response": {"status": 500}},
    ),
    _seg(
        "b000000000000002", "orders", T0 + 0.1, T0 + 3.0, origin="AWS::Lambda::Function",
        parent_id="a000000000000001", fault=True,
        annotations={"tenant": "acme", "amount": 12.5, "vip": True, "retries": 1},
        subsegments=[_seg("c000000000000003", "DynamoDB", T0 + 0.2, T0 + 0.4, namespace="aws",
                          throttle=True, error=True)],
    ),
)  # fmt: skip

# A quick healthy request to another service.
HEALTHY = _summary(
    _seg(
        "d000000000000004", "billing", T0, T0 + 0.2, origin="AWS::Lambda::Function",
        http={"request": {"method": "GET", "url": "https://billing.local/health"},
              "response": {"status": 200}},
        annotations={"tenant": "globex"},
    )
)  # fmt: skip


def _m(expression: str, summary: TraceSummary = FAILING) -> bool:
    return compile_filter(expression)(summary)


# ------------------------------------------------------------------------------ trace keywords
@pytest.mark.parametrize(
    ("expression", "failing", "healthy"),
    [
        ("fault", True, False),
        ("error", False, False),  # only the root's flags count at trace level
        ("throttle", True, False),  # ...but a throttle anywhere does
        ("ok", False, True),
        ("!ok", True, False),
        ("ok = false", True, False),
        ("ok != true", True, False),
        ("fault = true", True, False),
        ("partial", False, False),
        ("duration > 1", True, False),
        ("duration >= 3", True, False),
        ("duration < 0.5", False, True),
        ("duration <= 0.2", False, True),
        ("duration = 3", True, False),
        ("duration != 3", False, True),
        ("responsetime > 2", True, False),
        ("responsetime = 2.5", True, False),
        ("http.status = 500", True, False),
        ("http.status != 200", True, False),
        ("http.status >= 200 AND http.status < 300", False, True),
        ('http.url CONTAINS "/v2/"', True, False),
        ('http.url BEGINSWITH "https://billing"', False, True),
        ('http.url ENDSWITH "/health"', False, True),
        ('http.url = "https://billing.local/health"', False, True),
        ('http.method = "POST"', True, False),
        ('http.useragent CONTAINS "curl"', True, False),
        ('http.clientip = "10.0.0.7"', True, False),
        ('user = "alice"', True, False),
        ('user CONTAINS ""', True, False),
    ],
)
def test_trace_keywords(expression: str, failing: bool, healthy: bool) -> None:
    assert _m(expression, FAILING) is failing
    assert _m(expression, HEALTHY) is healthy


# ---------------------------------------------------------------------------------- annotations
@pytest.mark.parametrize(
    ("expression", "failing", "healthy"),
    [
        ("annotation.tenant", True, True),
        ("annotation.missing", False, False),
        ("!annotation.amount", False, True),
        ('annotation.tenant = "acme"', True, False),
        ('annotation.tenant != "acme"', False, True),
        ('annotation.tenant BEGINSWITH "glo"', False, True),
        ("annotation.amount > 10", True, False),
        ("annotation.amount = 12.5", True, False),
        ("annotation.retries = 1", True, False),
        ("annotation.vip = true", True, False),
        ("annotation.vip = false", False, False),
        ("annotation.retries = true", False, False),  # 1 is a number, not a boolean
        ("annotation.vip = 1", False, False),  # and true is not a number
        ('annotation.amount = "12.5"', False, False),  # nor is a number a string
    ],
)
def test_annotations_compare_by_type(expression: str, failing: bool, healthy: bool) -> None:
    assert _m(expression, FAILING) is failing
    assert _m(expression, HEALTHY) is healthy


# ------------------------------------------------------------------------------------- services
@pytest.mark.parametrize(
    ("expression", "failing", "healthy"),
    [
        ('service("orders")', True, False),
        ('service("orders") { fault }', True, False),
        ('service("orders") { error }', False, False),
        ('service("api") { http.status = 500 }', True, False),
        ('service("orders") { responsetime > 2.5 }', True, False),
        ("service() { fault }", True, False),
        ('service("DynamoDB") { throttle }', True, False),  # inferred from the aws subsegment
        ('service(id(name: "orders", type: "AWS::Lambda::Function")) { fault }', True, False),
        ('service(id(name: "orders", type: "AWS::Lambda")) { fault }', False, False),
        ('service(id(type: "AWS::Lambda::Function"))', True, True),
        ('service("billing") { ok }', False, True),
        ('!service("orders")', False, True),
    ],
)
def test_service_scope(expression: str, failing: bool, healthy: bool) -> None:
    assert _m(expression, FAILING) is failing
    assert _m(expression, HEALTHY) is healthy


# ------------------------------------------------------------------------------------ combining
@pytest.mark.parametrize(
    ("expression", "failing", "healthy"),
    [
        ("fault AND duration > 1", True, False),
        ("fault and duration > 10", False, False),
        ("fault OR ok", True, True),
        ("NOT fault", False, True),
        ("not (fault or throttle)", False, True),
        ("ok !partial duration < 3", False, True),  # juxtaposition is AND
        ('(fault OR ok) AND annotation.tenant = "globex"', False, True),
        ("fault OR ok AND duration > 100", True, False),  # AND binds tighter than OR
        (
            'service(id(name: "orders", type: "AWS::Lambda::Function")) { fault } '
            'AND duration > 1 AND annotation.tenant = "acme"',
            True,
            False,
        ),
    ],
)
def test_boolean_combinations(expression: str, failing: bool, healthy: bool) -> None:
    assert _m(expression, FAILING) is failing
    assert _m(expression, HEALTHY) is healthy


def test_escaped_quotes_in_strings() -> None:
    quoted = _summary(_seg("e000000000000005", "q", T0, T0 + 1, user='say "hi"'))
    assert _m(r'user = "say \"hi\""', quoted)


# --------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("expression", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("duration >", 10, "expected a number"),
        ("duration > fast", 11, "expected a number"),
        ("fault AND", 9, "expected a keyword"),
        ("(fault", 6, "expected ')'"),
        ("fault)", 5, "unexpected ')'"),
        ("speed > 1", 0, "unknown keyword 'speed'"),
        ("http.url CONTAINS 5", 18, "double-quoted"),
        ("http.url ~ x", 9, "unexpected character '~'"),
        ('http.status CONTAINS "5"', 12, "expected one of"),
        ('service("a") { annotation.x }', 15, "annotation cannot be used inside service"),
        ('service("a") { service("b") }', 15, "cannot be nested"),
        ('service(id(colour: "x"))', 11, "expected name: or type:"),
        ("ok = maybe", 5, "expected true or false"),
        ('http.url = "open', 11, "unexpected character"),
        ("annotation. = 1", 0, "needs a key"),
    ],
)
def test_malformed_expressions_name_the_position(
    expression: str, position: int, fragment: str
) -> None:
    with pytest.raises(TraceFilterError) as info:
        compile_filter(expression)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"Invalid filter expression at position {position}:")


def test_filter_error_survives_pickling() -> None:
    with pytest.raises(TraceFilterError) as info:
        compile_filter("duration >")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.position, again.detail) == (info.value.position, info.value.detail)
