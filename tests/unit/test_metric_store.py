"""Metric store on a real SQLite file: custom EMF metrics, Lambda rollups, cost summaries.

Dollar amounts are worked out by hand from the published us-east-1 prices (telemetry.md §7).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from lconsole.model.invocation import InvocationRecord, InvocationType, Status
from lconsole.model.metrics import CustomMetric, MetricDatum, MetricKey
from lconsole.store import db as state
from lconsole.store.metrics import MetricStore, create_schema
from lconsole.store.telemetry import TelemetryStore
from lconsole.telemetry import cost, emf
from lconsole.telemetry.metrics import rollup

T0 = 1_763_950_080_000  # a minute boundary
X86_GBS = 0.0000166667
ARM_GBS = 0.0000133334
REQUEST = 0.20 / 1_000_000
EPHEMERAL_GBS = 0.0000000309


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    db = state.connect(tmp_path / "state.db")
    yield db
    db.conn.close()


@pytest.fixture
def store(database: sqlite_utils.Database) -> MetricStore:
    return MetricStore(database)


def test_schema_is_idempotent_on_a_database_or_a_raw_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "raw.db")
    try:
        create_schema(conn)
        create_schema(conn)
        create_schema(sqlite_utils.Database(conn))
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"metric_series", "metric_values"} <= tables
    finally:
        conn.close()


# custom metrics -------------------------------------------------------------------------

def _datum(name: str, values: tuple[float, ...], ts: int, unit: str = "Milliseconds",
           **dims: str) -> MetricDatum:
    return MetricDatum("Shop", name, values, ts, tuple(dims.items()), unit)


def test_custom_series_statistics_per_period(store: MetricStore) -> None:
    store.put_custom([
        _datum("Latency", (10.0, 20.0), T0 + 1_000, service="orders", env="dev"),
        _datum("Latency", (30.0, 40.0), T0 + 59_999, env="dev", service="orders"),  # same metric
        _datum("Latency", (5.0,), T0 + 120_000, service="orders", env="dev"),
        _datum("Latency", (999.0,), T0 + 1_000, service="orders"),  # another metric
    ])
    dims = {"service": "orders", "env": "dev"}

    def values(stat: str, **kw: object) -> tuple[float, ...]:
        return store.custom_series("Shop", "Latency", dims, T0, T0 + 180_000, 60, stat,
                                   **kw).values  # type: ignore[arg-type]

    assert values("Sum") == (100.0, 0.0, 5.0)
    assert values("Average") == (25.0, 0.0, 5.0)
    assert values("Maximum") == (40.0, 0.0, 5.0)
    assert values("Minimum") == (10.0, 0.0, 5.0)
    assert values("SampleCount") == (4.0, 0.0, 1.0)
    assert values("p50") == (20.0, 0.0, 5.0)
    assert values("p99", fill=None) == (40.0, 5.0)
    series = store.custom_series("Shop", "Latency", dims, T0 + 30_000, T0 + 180_000, 60, "Sum",
                                 fill=None)
    assert series.timestamps == (T0, T0 + 120_000)
    assert series.values == (30.0 + 40.0, 5.0)  # values before `since` are not read
    only = store.custom_series("Shop", "Latency", {"service": "orders"}, T0, T0 + 60_000, 60,
                               "Sum")
    assert only.values == (999.0,)  # a metric is its exact dimension set
    with pytest.raises(ValueError):
        store.custom_series("Shop", "Latency", dims, T0, T0 + 60_000, 60, "Median")


def test_custom_series_by_unit_and_high_resolution_periods(store: MetricStore) -> None:
    store.put_custom([_datum("Size", (1.0,), T0 + 100, "Bytes"),
                      _datum("Size", (2.0,), T0 + 1_500, "Kilobytes")])
    got = store.custom_series("Shop", "Size", {}, T0, T0 + 2_000, 1, "Sum", unit="Bytes")
    assert (got.timestamps, got.values) == ((T0, T0 + 1_000), (1.0, 0.0))
    both = store.custom_series("Shop", "Size", {}, T0, T0 + 2_000, 1, "Sum")
    assert both.values == (1.0, 2.0)


def test_list_custom_metrics_like_list_metrics(store: MetricStore) -> None:
    store.put_custom([
        _datum("Latency", (1.0,), T0, service="orders", env="dev"),
        _datum("Latency", (1.0,), T0, env="dev", service="orders"),
        MetricDatum("Other", "Count", (1.0,), T0),
        _datum("Errors", (1.0,), T0, service="orders"),
    ])
    assert store.list_custom_metrics() == [
        CustomMetric("Other", "Count", ()),
        CustomMetric("Shop", "Errors", (("service", "orders"),)),
        CustomMetric("Shop", "Latency", (("env", "dev"), ("service", "orders"))),
    ]
    assert [m.name for m in store.list_custom_metrics("Shop")] == ["Errors", "Latency"]
    assert store.list_custom_metrics("Shop", name="Errors")[0].dimensions == (
        ("service", "orders"),)


def test_delete_before_drops_old_values_and_empty_series(store: MetricStore) -> None:
    store.put_custom([_datum("Old", (1.0, 2.0), T0), _datum("Kept", (3.0,), T0),
                      _datum("Kept", (4.0,), T0 + 60_000)])
    assert store.delete_before(T0 + 1) == 3
    assert [m.name for m in store.list_custom_metrics()] == ["Kept"]
    store.put_custom([_datum("Old", (5.0,), T0 + 60_000)])  # the series comes back
    got = store.custom_series("Shop", "Old", {}, T0, T0 + 120_000, 60, "Sum")
    assert got.values == (0.0, 5.0)


def test_a_powertools_line_round_trips_through_the_store(store: MetricStore) -> None:
    line = ('{"_aws":{"Timestamp":1763950105448,"CloudWatchMetrics":[{"Namespace":"Shop",'
            '"Dimensions":[["service"]],"Metrics":[{"Name":"OrderPlaced","Unit":"Count"},'
            '{"Name":"OrderValue","Unit":"Milliseconds"}]}]},"service":"orders",'
            '"OrderPlaced":[1.0,1.0],"OrderValue":[12.5]}')
    parsed = emf.parse(line)
    assert parsed is not None
    assert store.put_custom(parsed.datums) == 3
    got = store.custom_series("Shop", "OrderPlaced", {"service": "orders"}, T0, T0 + 60_000,
                              60, "Sum")
    assert got.values == (2.0,)


# Lambda metrics from the invocations table -------------------------------------------------

_ids = iter(range(1_000_000))


def _inv(start: int, duration: float = 100.0, *, qualifier: str | None = None,
         version: str = "$LATEST", memory: int = 1024, arch: str = "x86_64",
         status: Status = Status.SUCCESS, end: int | None = None, ephemeral: int = 512,
         provisioned: bool = False, cold: bool = False, init: float | None = None,
         function: str = "orders") -> InvocationRecord:
    billed = cost.billed_duration_ms(duration, init, runtime="python3.13")
    charge = cost.invocation_cost(billed, memory, arch, ephemeral, provisioned)
    return InvocationRecord(
        request_id=f"r-{next(_ids)}", function=function, qualifier=qualifier,
        executed_version=version, environment_id="e", cold=cold, start_ms=start,
        end_ms=start + int(duration) + 1 if end is None else end, init_ms=init,
        duration_ms=duration, billed_ms=billed, memory_mb=memory, status=status,
        architecture=arch, provisioned=provisioned, cost_usd=charge.total,
    )


def _write(database: sqlite_utils.Database, records: list[InvocationRecord]) -> None:
    TelemetryStore(database).write([], records)


def test_minute_rollups_match_the_pure_rollup_of_the_same_records(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    records = [_inv(T0 + i * 700, 10.0 + i, qualifier=q, version=v, status=s)
               for i, (q, v, s) in enumerate([(None, "$LATEST", Status.SUCCESS),
                                              ("prod", "3", Status.ERROR),
                                              ("prod", "4", Status.SUCCESS),
                                              ("3", "3", Status.TIMEOUT)] * 30)]
    records.append(_inv(T0, function="other"))
    _write(database, records)
    expected = rollup([r for r in records if r.function == "orders"], 60)
    for resource, executed in [(None, None), ("prod", None), ("orders:prod", "4"), ("3", None)]:
        got = store.minute_rollups("orders", resource, T0, T0 + 180_000,
                                   executed_version=executed)
        qualifier = None if resource is None else resource.removeprefix("orders:")
        key = MetricKey("orders", qualifier, executed)
        assert got == [p for p in expected if p.key == key]
        assert got and all(p.period_s == 60 for p in got)
    total = store.minute_rollups("orders", None, T0, T0 + 180_000)
    assert sum(p.invocations for p in total) == 120
    assert sum(p.errors for p in total) == 60  # 30 errors + 30 timeouts


def test_minute_rollups_count_runs_that_started_before_the_window_only_as_concurrency(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    _write(database, [_inv(T0 + 30_000, 120_000.0, end=T0 + 150_000),  # runs into minute 3
                      _inv(T0 + 65_000, 5.0)])
    points = store.minute_rollups("orders", None, T0 + 60_000, T0 + 180_000)
    assert [(p.timestamp_ms, p.invocations, p.concurrent_executions) for p in points] == [
        (T0 + 60_000, 1, 2), (T0 + 120_000, 0, 1)]


def test_a_window_starting_mid_minute_counts_only_what_started_inside(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    _write(database, [_inv(T0 + 30_000, 20_000.0, end=T0 + 50_000), _inv(T0 + 45_000, 1.0)])
    (p,) = store.minute_rollups("orders", None, T0 + 40_000, T0 + 60_000)
    assert (p.timestamp_ms, p.invocations, p.concurrent_executions) == (T0, 1, 2)
    assert p.duration.maximum == 1.0


def test_minute_rollups_spillover_and_utilization_from_the_provisioned_map(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    _write(database, [_inv(T0 + 10, qualifier="prod", version="2", provisioned=True,
                           end=T0 + 5_000),
                      _inv(T0 + 20, qualifier="prod", version="2", end=T0 + 5_000)])
    (p,) = store.minute_rollups("orders", "prod", T0, T0 + 60_000, provisioned={"prod": 2})
    assert (p.provisioned_invocations, p.spillover_invocations) == (1, 1)
    assert p.provisioned_concurrent_executions == 1
    assert p.provisioned_utilization == pytest.approx(0.5)


# cost -------------------------------------------------------------------------------------

def test_cost_summary_by_architecture_with_ephemeral_storage_and_free_tier(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    records = [_inv(T0 + i, 99.5) for i in range(10)]  # billed 100 ms at 1 GB, x86
    records += [_inv(T0 + 100 + i, 199.2, memory=512, arch="arm64", ephemeral=2048,
                     qualifier="prod", version="2") for i in range(4)]  # 200 ms at 0.5 GB
    records.append(_inv(T0 + 200, status=Status.THROTTLED))  # never billed
    records.append(_inv(T0 + 3_600_000))  # outside the window
    _write(database, records)
    window = 60_000
    report = store.cost_summary("orders", since=T0, until=T0 + window, free_tier=False)
    x86_gbs, arm_gbs = 10 * 0.1 * 1.0, 4 * 0.2 * 0.5
    assert report.invocations == 14
    assert report.gb_seconds == pytest.approx(x86_gbs + arm_gbs)
    assert report.request_usd == pytest.approx(14 * REQUEST)
    assert report.compute_usd == pytest.approx(x86_gbs * X86_GBS + arm_gbs * ARM_GBS)
    assert report.ephemeral_usd == pytest.approx(4 * 1.5 * 0.2 * EPHEMERAL_GBS)
    expected_total = (14 * REQUEST + x86_gbs * X86_GBS + arm_gbs * ARM_GBS
                      + 4 * 1.5 * 0.2 * EPHEMERAL_GBS)
    assert report.total_usd == pytest.approx(expected_total)
    assert report.total_after_free_tier_usd == pytest.approx(expected_total)
    assert report.free_tier_usd == 0
    assert [(a.architecture, a.invocations) for a in report.by_architecture] == [
        ("arm64", 4), ("x86_64", 10)]
    assert report.by_architecture[0].gb_seconds == pytest.approx(arm_gbs)
    assert report.by_architecture[1].compute_usd == pytest.approx(x86_gbs * X86_GBS)
    assert report.monthly_projection_usd == pytest.approx(expected_total * 30 * 86_400 / 60)

    free = store.cost_summary("orders", since=T0, until=T0 + window)
    assert free.free_tier_requests == 14
    assert free.free_tier_gb_seconds == pytest.approx(x86_gbs + arm_gbs)
    assert free.total_usd == pytest.approx(expected_total)  # charges shown before credit
    assert free.total_after_free_tier_usd == pytest.approx(4 * 1.5 * 0.2 * EPHEMERAL_GBS)
    assert free.free_tier_usd == pytest.approx(expected_total - free.total_after_free_tier_usd)

    alias = store.cost_summary("orders", resource="orders:prod", since=T0, until=T0 + window)
    assert (alias.qualifier, alias.invocations) == ("prod", 4)
    assert [a.architecture for a in alias.by_architecture] == ["arm64"]


def test_cost_summary_of_provisioned_runs_and_configured_concurrency(
        database: sqlite_utils.Database, store: MetricStore) -> None:
    _write(database, [_inv(T0 + i, 999.1, provisioned=True, qualifier="prod", version="1")
                      for i in range(3)])  # billed 1 s at 1 GB on PC
    pc_charge = cost.provisioned_cost(cost.provisioned_gb_seconds(2, 1024, 60), "x86_64")
    report = store.cost_summary("orders", since=T0, until=T0 + 60_000,
                                provisioned_usd=pc_charge)
    assert report.compute_usd == pytest.approx(3 * 1.0 * 0.0000097222)
    assert report.ephemeral_usd == 0
    assert report.provisioned_usd == pytest.approx(2 * 300 * 0.0000041667)  # 5-minute minimum
    assert report.free_tier_requests == 0  # no free tier for PC functions
    assert report.total_after_free_tier_usd == pytest.approx(report.total_usd)


def test_cost_summary_of_an_empty_window(store: MetricStore) -> None:
    report = store.cost_summary("orders", since=T0, until=T0)
    assert (report.invocations, report.total_usd, report.monthly_projection_usd) == (0, 0, 0)
    assert report.by_architecture == ()


def test_stored_rows_keep_their_values(database: sqlite_utils.Database,
                                       store: MetricStore) -> None:
    """The rollup reads the columns TelemetryStore writes (a schema drift would show here)."""
    r = _inv(T0 + 5, 12.0, qualifier="prod", version="9", cold=True, init=250.0,
             status=Status.CRASH)
    r.invocation_type = InvocationType.EVENT
    _write(database, [r])
    (p,) = store.minute_rollups("orders", "prod", T0, T0 + 60_000, executed_version="9")
    assert (p.invocations, p.errors, p.cold_starts) == (1, 1, 1)
    assert (p.duration.maximum, p.init_duration.maximum) == (12.0, 250.0)
