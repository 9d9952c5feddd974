"""Trace storage on a real SQLite file: ordering, duplicates, reassembly, summaries, retention."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from lconsole.store.db import connect, transaction
from lconsole.store.traces import TraceStore, create_schema
from lconsole.telemetry.trace_filter import TraceFilterError
from lconsole.telemetry.xray import (
    DefaultSampler,
    FunctionRef,
    InvocationTimes,
    lambda_segments,
    start_invocation_trace,
)

T0 = 1763950000.0
MS = 1000.0
A = "1-69234c70-000000000000000000000001"
B = "1-69234c71-000000000000000000000002"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = connect(tmp_path / "state.db")
    with transaction(database):
        create_schema(database.conn)
    yield database
    database.conn.close()


@pytest.fixture
def store(db: sqlite_utils.Database) -> TraceStore:
    return TraceStore(db)


def _doc(
    trace: str, id_: str, name: str, start: float, end: float | None, **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": id_, "name": name, "trace_id": trace, "start_time": start, **extra}
    if end is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = end
    return doc


def _sub(
    trace: str, id_: str, parent: str, name: str, start: float, end: float, **extra: Any
) -> dict[str, Any]:
    return _doc(trace, id_, name, start, end, parent_id=parent, type="subsegment", **extra)


def _tree() -> list[dict[str, Any]]:
    """One segment with a nested subsegment, plus three streamed subsegments two levels deep."""
    return [
        _doc(A, "aaaaaaaaaaaaaaa1", "web", T0, T0 + 1.0, http={"response": {"status": 200}},
             subsegments=[_doc(A, "aaaaaaaaaaaaaaa2", "render", T0 + 0.8, T0 + 0.9)]),
        _sub(A, "aaaaaaaaaaaaaaa3", "aaaaaaaaaaaaaaa1", "db", T0 + 0.1, T0 + 0.5,
             namespace="remote"),
        _sub(A, "aaaaaaaaaaaaaaa4", "aaaaaaaaaaaaaaa3", "query", T0 + 0.2, T0 + 0.3,
             annotations={"table": "orders"}),
        _sub(A, "aaaaaaaaaaaaaaa5", "aaaaaaaaaaaaaaa2", "template", T0 + 0.81, T0 + 0.82),
    ]  # fmt: skip


def _shape(segment) -> tuple:  # type: ignore[no-untyped-def]
    return (segment.name, tuple(_shape(s) for s in segment.subsegments))


def test_schema_is_idempotent(db: sqlite_utils.Database) -> None:
    with transaction(db):
        create_schema(db.conn)
    assert {"traces", "trace_documents"} <= set(db.table_names())


@pytest.mark.parametrize("order", list(itertools.permutations(range(4)))[::5])
def test_any_arrival_order_reassembles_the_same_tree(store: TraceStore, order: tuple) -> None:
    docs = _tree()
    for i in order:  # one document per batch, children often before their parents
        assert store.put([docs[i]]) == []
    trace = store.trace(A)
    assert trace is not None and not trace.orphans
    assert [_shape(s) for s in trace.segments] == [
        ("web", (("db", (("query", ()),)), ("render", (("template", ()),)))),
    ]
    # the assembled document nests everything, as BatchGetTraces returns it
    web = trace.segments[0].document
    assert [s["name"] for s in web["subsegments"]] == ["db", "render"]
    assert web["subsegments"][0]["subsegments"][0]["annotations"] == {"table": "orders"}


def test_missing_parent_leaves_an_orphan_until_it_arrives(store: TraceStore) -> None:
    store.put([_sub(A, "aaaaaaaaaaaaaaa3", "aaaaaaaaaaaaaaa1", "db", T0 + 0.1, T0 + 0.5)])
    trace = store.trace(A)
    assert trace is not None
    assert trace.segments == () and [o.name for o in trace.orphans] == ["db"]
    store.put([_doc(A, "aaaaaaaaaaaaaaa1", "web", T0, T0 + 1.0)])
    trace = store.trace(A)
    assert trace is not None and trace.orphans == ()
    assert _shape(trace.segments[0]) == ("web", (("db", ()),))


def test_duplicate_ids_are_replaced_by_the_latest(store: TraceStore) -> None:
    store.put([_doc(A, "aaaaaaaaaaaaaaa1", "web", T0, None)])
    trace = store.trace(A)
    assert trace is not None and trace.is_partial
    store.put([_doc(A, "aaaaaaaaaaaaaaa1", "web", T0, T0 + 2.0, fault=True)])
    trace = store.trace(A)
    assert trace is not None and not trace.is_partial
    assert len(trace.segments) == 1 and trace.segments[0].fault
    assert trace.duration == pytest.approx(2.0)
    count = store.db.conn.execute("SELECT COUNT(*) FROM trace_documents").fetchone()[0]
    assert count == 1


def test_invalid_documents_are_returned_not_stored(store: TraceStore) -> None:
    rejected = store.put(
        [
            _doc(A, "aaaaaaaaaaaaaaa1", "web", T0, T0 + 1),
            {"id": "aaaaaaaaaaaaaaa9", "name": "x", "trace_id": "nope", "start_time": T0},
            _doc(A, "short", "web", T0, T0 + 1),
            {"id": "aaaaaaaaaaaaaaa8", "name": "y", "trace_id": A, "start_time": T0},
            {"id": "aaaaaaaaaaaaaaa7", "name": "z", "trace_id": A, "start_time": T0,
             "end_time": T0, "type": "subsegment"},
        ]
    )  # fmt: skip
    assert [(r.id, r.message.split(" ")[0]) for r in rejected] == [
        ("aaaaaaaaaaaaaaa9", "trace_id"),
        ("short", "id"),
        ("aaaaaaaaaaaaaaa8", "end_time"),
        ("aaaaaaaaaaaaaaa7", "a"),
    ]
    trace = store.trace(A)
    assert trace is not None and [s.id for s in trace.segments] == ["aaaaaaaaaaaaaaa1"]


def test_a_batch_that_cannot_be_serialised_writes_nothing(store: TraceStore) -> None:
    bad = _doc(A, "aaaaaaaaaaaaaaa1", "web", T0, T0 + 1)
    bad["self"] = bad  # a cycle: nothing of the batch may be stored
    with pytest.raises(ValueError):
        store.put([_doc(B, "bbbbbbbbbbbbbbb1", "api", T0, T0 + 1), bad])
    assert store.trace(B) is None


def test_unknown_trace_is_none(store: TraceStore) -> None:
    assert store.trace(A) is None


def _lambda_trace(store: TraceStore, name: str, start: float, *, error: bool = False,
                  annotations: dict[str, Any] | None = None) -> str:  # fmt: skip
    """Store what the engine and the function's SDK would record for one invocation."""
    rng = random.Random(start)
    trace = start_invocation_trace("Active", None, now=start, rng=rng, sampler=DefaultSampler())
    fn = FunctionRef(name, f"arn:aws:lambda:us-east-1:123456789012:function:{name}", "123456789012")
    times = InvocationTimes(start, start + 0.01, start + 0.2, start + 0.21, start + 0.22)
    docs = lambda_segments(trace, fn, times, request_id=f"req-{name}", function_error=error)
    sdk = _sub(trace.trace_id, f"{rng.getrandbits(64):016x}", trace.ids.invocation, "handler",
               start + 0.02, start + 0.19, annotations=annotations or {})  # fmt: skip
    assert store.put([sdk, *docs]) == []
    return trace.trace_id


def test_summaries_window_order_limit_and_function(store: TraceStore) -> None:
    ids = [
        _lambda_trace(store, "orders", T0 + 10, annotations={"tenant": "acme"}),
        _lambda_trace(store, "billing", T0 + 20),
        _lambda_trace(store, "orders", T0 + 30, error=True, annotations={"tenant": "globex"}),
        _lambda_trace(store, "orders", T0 + 40),
    ]
    window = {"since": (T0 + 15) * MS, "until": (T0 + 40) * MS}
    assert [s.id for s in store.summaries(**window)] == [ids[3], ids[2], ids[1]]
    assert [s.id for s in store.summaries(**window, limit=2)] == [ids[3], ids[2]]
    assert [s.id for s in store.summaries(**window, function="orders")] == [ids[3], ids[2]]
    assert store.summaries(**window, function="nope") == []
    everything = {"since": T0 * MS, "until": (T0 + 100) * MS}
    by_tenant = store.summaries(**everything, filter_expression='annotation.tenant = "acme"')
    assert [s.id for s in by_tenant] == [ids[0]]
    faulty = store.summaries(
        **everything,
        filter_expression='service(id(name: "orders", type: "AWS::Lambda::Function")) { fault }',
    )
    assert [s.id for s in faulty] == [ids[2]]
    newest = store.summaries(**everything, filter_expression="responsetime > 0.1", limit=1)
    assert [s.id for s in newest] == [ids[3]]


def test_summary_fields_follow_get_trace_summaries(store: TraceStore) -> None:
    trace_id = _lambda_trace(store, "orders", T0, annotations={"tenant": "acme", "n": 3})
    (summary,) = store.summaries(since=T0 * MS, until=(T0 + 1) * MS)
    assert summary.id == trace_id
    assert summary.start_time == pytest.approx(T0)
    assert summary.duration == pytest.approx(0.22)
    assert summary.response_time == pytest.approx(0.21)  # the AWS::Lambda root segment
    assert (summary.has_fault, summary.has_error, summary.has_throttle) == (False, False, False)
    assert summary.http.status == 200
    assert [(s.name, s.type) for s in summary.service_ids] == [
        ("orders", "AWS::Lambda"),
        ("orders", "AWS::Lambda::Function"),
    ]
    assert summary.service_ids[1].account_id == "123456789012"
    assert summary.entry_point == summary.service_ids[0]
    (tenant,) = summary.annotations["tenant"]
    assert tenant.value == "acme" and tenant.service_ids == (summary.service_ids[1],)
    assert summary.resource_arns == ("arn:aws:lambda:us-east-1:123456789012:function:orders",)


def test_malformed_filter_raises_before_reading(store: TraceStore) -> None:
    with pytest.raises(TraceFilterError):
        store.summaries(since=0, until=T0 * MS, filter_expression="duration >")


def test_delete_before_drops_whole_traces(store: TraceStore) -> None:
    old = _lambda_trace(store, "orders", T0)
    new = _lambda_trace(store, "orders", T0 + 3600)
    assert store.delete_before((T0 + 60) * MS) == 1
    assert store.trace(old) is None
    assert store.trace(new) is not None
    leftovers = store.db.conn.execute(
        "SELECT COUNT(*) FROM trace_documents WHERE trace_id = ?", [old]
    ).fetchone()[0]
    assert leftovers == 0
    assert store.delete_before((T0 + 60) * MS) == 0


def test_large_batches_span_several_reads(store: TraceStore) -> None:
    docs = [
        _doc(f"1-69234c70-{i:024x}", f"{i + 1:016x}", "svc", T0 + i, T0 + i + 0.5)
        for i in range(450)
    ]
    assert store.put(docs) == []
    got = store.summaries(since=T0 * MS, until=(T0 + 1000) * MS, limit=1000)
    assert len(got) == 450
    assert got[0].start_time == pytest.approx(T0 + 449)
    late = store.summaries(since=T0 * MS, until=(T0 + 1000) * MS, filter_expression="duration < 1",
                           limit=5)  # fmt: skip
    assert len(late) == 5


def test_trace_of_only_orphan_subsegments_has_no_root(store: TraceStore) -> None:
    """PassThrough: the function's SDK traced, Lambda recorded nothing, the caller is elsewhere."""
    store.put(
        [
            _sub(B, "bbbbbbbbbbbbbbb2", "bbbbbbbbbbbbbbb1", "handler", T0, T0 + 0.5,
                 annotations={"tenant": "acme"}),
            _sub(B, "bbbbbbbbbbbbbbb3", "bbbbbbbbbbbbbbb1", "DynamoDB", T0 + 0.1, T0 + 0.2,
                 namespace="aws", throttle=True),
        ]
    )  # fmt: skip
    (summary,) = store.summaries(since=T0 * MS, until=(T0 + 1) * MS)
    assert summary.entry_point is None and summary.response_time is None
    assert summary.duration == pytest.approx(0.5)
    assert summary.has_throttle and not summary.has_fault
    assert [(s.name, s.type) for s in summary.service_ids] == [("DynamoDB", "AWS::DynamoDB")]
    (tenant,) = summary.annotations["tenant"]
    assert tenant.value == "acme" and tenant.service_ids == ()
