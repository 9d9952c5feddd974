"""The retention sweep on a real state database: what is past its time goes, the rest stays."""

from __future__ import annotations

from pathlib import Path

from lconsole.engine.retention import DAY_MS, Policy, Retention
from lconsole.model.invocation import InvocationRecord
from lconsole.model.metrics import MetricDatum
from lconsole.model.telemetry import LogEvent
from lconsole.store import db as store_db
from lconsole.store import traces as store_traces
from lconsole.store.logs import LogStore
from lconsole.store.metrics import MetricStore
from lconsole.store.telemetry import TelemetryStore
from lconsole.store.traces import TraceStore

NOW = 1_800_000_000_000
GROUP = "/aws/lambda/fn"


def _segment(trace_id: str, seg_id: str, at_ms: int) -> dict:
    return {
        "trace_id": trace_id,
        "id": seg_id,
        "name": "fn",
        "start_time": at_ms / 1000,
        "end_time": at_ms / 1000 + 0.01,
    }


def test_sweep_expires_each_kind_by_its_policy(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = store_db.connect(path)
    store_traces.create_schema(db.conn)
    old, fresh = NOW - 40 * DAY_MS, NOW - 1000
    telemetry = TelemetryStore(db)
    telemetry.write(
        [
            (LogEvent(GROUP, "s", old, "old line\n"), old),
            (LogEvent(GROUP, "s", fresh, "new\n"), fresh),
        ],
        [
            InvocationRecord("r-old", "fn", None, "$LATEST", "e", False, start_ms=old),
            InvocationRecord("r-new", "fn", None, "$LATEST", "e", False, start_ms=fresh),
        ],
    )
    LogStore(db).put_retention_policy(GROUP, 30)
    TraceStore(db).put(
        [
            _segment("1-00000001-000000000000000000000001", "a" * 16, old),
            _segment("1-00000002-000000000000000000000002", "b" * 16, fresh),
        ]
    )
    MetricStore(db).put_custom(
        [
            MetricDatum("Shop", "Orders", (1.0,), old, (("service", "x"),)),
            MetricDatum("Shop", "Orders", (2.0,), fresh, (("service", "x"),)),
        ]
    )
    swept = Retention(path, Policy(), clock=lambda: NOW / 1000).sweep()
    assert swept.log_events == 1 and swept.traces == 1 and swept.invocations == 1
    assert swept.metric_values == 1
    assert [e.message for e in telemetry.log_events(GROUP)] == ["new\n"]
    assert [r["request_id"] for r in telemetry.invocations("fn")] == ["r-new"]
    # A group without a policy keeps everything, as on AWS.
    LogStore(db).delete_retention_policy(GROUP)
    telemetry.write([(LogEvent(GROUP, "s", old, "kept\n"), old)], [])
    again = Retention(path, Policy(), clock=lambda: NOW / 1000).sweep()
    assert again.log_events == 0 and "kept\n" in [e.message for e in telemetry.log_events(GROUP)]
