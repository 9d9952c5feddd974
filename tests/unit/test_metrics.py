"""Lambda's standard metrics: dimensions, 1-second live buckets, per-minute rollups, series.

Expected statistics are worked out by hand from the inputs (telemetry.md §4), not read back
from the code under test.
"""

from __future__ import annotations

import random

import pytest

from lconsole.model.invocation import InvocationRecord, InvocationType, Status
from lconsole.model.metrics import Distribution, MetricKey, MetricPoint
from lconsole.telemetry.metrics import LiveMetrics, keys_for, regroup, rollup, series

T0 = 1_763_950_080_000  # a minute boundary (2025-11-24 02:08:00 UTC)
FN = MetricKey("orders")
_ids = iter(range(1_000_000))


def rec(start_ms: int, duration_ms: float = 10.0, *, qualifier: str | None = None,
        version: str = "$LATEST", status: Status = Status.SUCCESS, cold: bool = False,
        init_ms: float | None = None, end_ms: int | None = None, provisioned: bool = False,
        kind: InvocationType = InvocationType.REQUEST_RESPONSE,
        spillover: bool = False) -> InvocationRecord:
    r = InvocationRecord(
        request_id=f"req-{next(_ids)}", function="orders", qualifier=qualifier,
        executed_version=version, environment_id="env", cold=cold, start_ms=start_ms,
        end_ms=start_ms + int(duration_ms) + 1 if end_ms is None else end_ms,
        init_ms=init_ms, duration_ms=duration_ms, billed_ms=int(duration_ms) + 1,
        status=status, provisioned=provisioned, invocation_type=kind,
    )
    if spillover:
        r.extra["spillover"] = True
    return r


# dimensions -------------------------------------------------------------------------------

def test_unqualified_invoke_counts_only_for_the_function() -> None:
    assert keys_for(rec(T0)) == (FN,)


def test_version_invoke_counts_for_function_and_resource() -> None:
    keys = keys_for(rec(T0, qualifier="3", version="3"))
    assert [k.dimensions() for k in keys] == [
        {"FunctionName": "orders"},
        {"FunctionName": "orders", "Resource": "orders:3"},
    ]
    latest = keys_for(rec(T0, qualifier="$LATEST", version="$LATEST"))
    assert latest[1].resource == "orders:$LATEST"


def test_alias_invoke_counts_for_alias_and_executed_version_not_the_version_resource() -> None:
    keys = keys_for(rec(T0, qualifier="prod", version="7"))
    assert [k.dimensions() for k in keys] == [
        {"FunctionName": "orders"},
        {"FunctionName": "orders", "Resource": "orders:prod"},
        {"FunctionName": "orders", "Resource": "orders:prod", "ExecutedVersion": "7"},
    ]
    assert MetricKey("orders", "7") not in keys


# distributions ----------------------------------------------------------------------------

def test_percentiles_are_nearest_rank_over_all_values() -> None:
    d = Distribution.of(float(v) for v in range(100, 0, -1))  # 1..100, unordered input
    assert (d.count, d.total, d.minimum, d.maximum) == (100, 5050.0, 1.0, 100.0)
    assert d.average == 50.5
    assert (d.p50, d.p90, d.p99) == (50.0, 90.0, 99.0)
    assert d.stat("p99.9") == 100.0
    assert d.stat("p0") == 1.0 and d.stat("p100") == 100.0
    small = Distribution.of([4.0, 1.0, 3.0, 2.0])
    assert (small.p50, small.p90, small.p99) == (2.0, 4.0, 4.0)
    assert Distribution.of([7.5]).p99 == 7.5
    assert Distribution().average is None and Distribution().p50 is None


@pytest.mark.parametrize("stat", ["p101", "pxx", "Median", "average"])
def test_unknown_statistics_are_refused(stat: str) -> None:
    with pytest.raises(ValueError):
        Distribution.of([1.0]).stat(stat)


# live buckets -----------------------------------------------------------------------------

def test_live_bucket_counts_and_duration_statistics() -> None:
    live = LiveMetrics()
    for i, d in enumerate(range(1, 101)):  # 100 invocations in one second, 1..100 ms
        status = Status.ERROR if i % 10 == 0 else Status.SUCCESS
        live.record(rec(T0 + 500, float(d), status=status))
    live.record(rec(T0 + 1_200, 5.0, status=Status.TIMEOUT))
    live.record(rec(T0 + 1_300, 5.0, status=Status.CRASH))
    first, second = live.points(FN, since_ms=T0, until_ms=T0 + 2_000)
    assert (first.timestamp_ms, first.period_s) == (T0, 1)
    assert (first.invocations, first.errors, first.throttles) == (100, 10, 0)
    assert (first.duration.average, first.duration.p50, first.duration.p90) == (50.5, 50, 90)
    assert (first.duration.p99, first.duration.maximum) == (99.0, 100.0)
    assert (second.timestamp_ms, second.invocations, second.errors) == (T0 + 1_000, 2, 2)


def test_alias_invokes_reach_alias_and_executed_version_series() -> None:
    live = LiveMetrics()
    live.record(rec(T0, qualifier="prod", version="7"))
    live.record(rec(T0, qualifier="prod", version="8"))
    live.record(rec(T0, qualifier="7", version="7"))

    def count(key: MetricKey) -> int:
        return sum(p.invocations for p in live.points(key, since_ms=T0, until_ms=T0 + 1000))

    assert count(FN) == 3
    assert count(MetricKey("orders", "prod")) == 2
    assert count(MetricKey("orders", "prod", "7")) == 1
    assert count(MetricKey("orders", "prod", "8")) == 1
    assert count(MetricKey("orders", "7")) == 1  # the direct invoke only
    assert live.keys("orders")[0] == FN


def test_throttles_count_apart_from_invocations_and_errors() -> None:
    live = LiveMetrics()
    live.throttle("orders", "prod", T0)
    live.throttle("orders", None, T0)
    live.record(rec(T0, status=Status.THROTTLED, qualifier="prod", version="7"))
    (fn,) = live.points(FN, since_ms=T0, until_ms=T0 + 1000)
    (alias,) = live.points(MetricKey("orders", "prod"), since_ms=T0, until_ms=T0 + 1000)
    assert (fn.throttles, fn.invocations, fn.errors, fn.duration.count) == (3, 0, 0, 0)
    assert alias.throttles == 2


def test_cold_starts_init_duration_and_provisioned_counts() -> None:
    live = LiveMetrics()
    live.record(rec(T0, 3.0, cold=True, init_ms=200.0))
    live.record(rec(T0, 3.0, cold=True, init_ms=300.0))
    live.record(rec(T0, 3.0, provisioned=True))
    live.record(rec(T0, 3.0, spillover=True))
    (p,) = live.points(FN, since_ms=T0, until_ms=T0 + 1000)
    assert p.cold_starts == 2
    assert (p.init_duration.average, p.init_duration.maximum) == (250.0, 300.0)
    assert (p.provisioned_invocations, p.spillover_invocations) == (1, 1)
    assert p.value("InitDuration", "Maximum") == 300.0
    assert p.value("ColdStarts") == 2.0


def test_dry_runs_are_not_invocations() -> None:
    live = LiveMetrics()
    live.record(rec(T0, kind=InvocationType.DRY_RUN))
    assert live.points(FN, since_ms=T0, until_ms=T0 + 1000) == []


def test_concurrency_samples_keep_the_maximum_and_utilization() -> None:
    live = LiveMetrics()
    alias = MetricKey("orders", "prod")
    live.sample(alias, T0 + 100, concurrent=3, provisioned_busy=2, provisioned_configured=10)
    live.sample(alias, T0 + 900, concurrent=5, provisioned_busy=7, provisioned_configured=10)
    live.sample(alias, T0 + 950, concurrent=1, provisioned_busy=1, provisioned_configured=10)
    live.sample(FN, T0 + 100, concurrent=4)
    (p,) = live.points(alias, since_ms=T0, until_ms=T0 + 1000)
    assert (p.concurrent_executions, p.provisioned_concurrent_executions) == (5, 7)
    assert p.provisioned_utilization == pytest.approx(0.7)
    assert p.value("ProvisionedConcurrencyUtilization") == pytest.approx(0.7)
    (f,) = live.points(FN, since_ms=T0, until_ms=T0 + 1000)
    assert (f.concurrent_executions, f.provisioned_utilization) == (4, None)


def test_ring_keeps_only_the_window_and_drops_writes_older_than_a_slot() -> None:
    live = LiveMetrics(window_s=10)
    live.record(rec(T0))
    live.record(rec(T0 + 10_000))  # same slot, ten seconds later: replaces it
    live.record(rec(T0 + 500))  # now older than the slot's second: dropped
    assert live.points(FN, since_ms=T0, until_ms=T0 + 1000) == []
    (p,) = live.points(FN, since_ms=T0, until_ms=T0 + 11_000)
    assert (p.timestamp_ms, p.invocations) == (T0 + 10_000, 1)
    for s in range(100):  # memory stays window_s buckets per key
        live.record(rec(T0 + s * 1000))
    assert len(live._rings[FN]) == 10
    kept = live.points(FN, since_ms=T0, until_ms=T0 + 200_000)
    assert [p.timestamp_ms for p in kept] == [T0 + s * 1000 for s in range(90, 100)]


def test_bucket_values_are_capped_but_count_sum_and_max_stay_exact() -> None:
    live = LiveMetrics(max_values_per_bucket=50, rng=random.Random(7))
    for d in range(1, 1001):
        live.record(rec(T0, float(d)))
    (p,) = live.points(FN, since_ms=T0, until_ms=T0 + 1000)
    assert (p.duration.count, p.duration.total, p.duration.maximum) == (1000, 500500.0, 1000.0)
    assert p.duration.minimum == 1.0
    assert len(p.duration.sample) == 50
    assert 300 < p.duration.p50 < 700  # an estimate from a uniform reservoir


def test_forget_drops_a_function() -> None:
    live = LiveMetrics()
    live.record(rec(T0, qualifier="prod", version="1"))
    live.forget("orders")
    assert live.keys() == []


# rollups ----------------------------------------------------------------------------------

def _traffic() -> list[InvocationRecord]:
    rng = random.Random(3)
    records = []
    for i in range(400):
        start = T0 + rng.randrange(0, 180_000)
        status = rng.choice([Status.SUCCESS] * 8 + [Status.ERROR, Status.TIMEOUT])
        records.append(rec(start, round(rng.uniform(1, 900), 2), status=status,
                           qualifier=rng.choice([None, "prod", "2"]),
                           version=rng.choice(["2", "3"]), cold=i % 25 == 0,
                           init_ms=150.0 + i if i % 25 == 0 else None))
    for r in records:  # a direct version invoke runs that version
        if r.qualifier == "2":
            r.executed_version = "2"
    return records


def test_live_seconds_regrouped_agree_with_the_minute_rollup() -> None:
    records = _traffic()
    live = LiveMetrics()
    for r in records:
        live.record(r)
    rolled = rollup(records, 60)
    keys = {p.key for p in rolled}
    assert MetricKey("orders", "prod", "3") in keys and MetricKey("orders", "2") in keys
    for key in keys:
        minutes = live.points(key, since_ms=T0, until_ms=T0 + 180_000, period_s=60)
        stored = [p for p in rolled if p.key == key]
        assert [(p.timestamp_ms, p.invocations, p.errors, p.cold_starts, p.duration,
                 p.init_duration) for p in minutes] == \
               [(p.timestamp_ms, p.invocations, p.errors, p.cold_starts, p.duration,
                 p.init_duration) for p in stored]
    assert sum(p.invocations for p in rolled if p.key == FN) == 400


def test_rollup_statistics_per_minute() -> None:
    records = [rec(T0 + 1_000, d) for d in (10.0, 20.0, 30.0, 40.0)]
    records.append(rec(T0 + 61_000, 5.0, status=Status.ERROR))
    first, second = rollup(records, 60)
    assert (first.timestamp_ms, first.period_s, first.invocations) == (T0, 60, 4)
    assert (first.duration.average, first.duration.p50, first.duration.p99) == (25, 20, 40)
    assert (second.timestamp_ms, second.invocations, second.errors) == (T0 + 60_000, 1, 1)


def test_rollup_concurrency_is_the_most_overlapping_runs() -> None:
    records = [
        rec(T0 + 0, end_ms=T0 + 1_000),
        rec(T0 + 500, end_ms=T0 + 2_000),
        rec(T0 + 2_000, end_ms=T0 + 3_000),  # starts as the second ends: not concurrent
        rec(T0 + 2_500, end_ms=T0 + 150_000),  # runs into the third minute
    ]
    points = {p.timestamp_ms: p for p in rollup(records, 60)}
    assert points[T0].concurrent_executions == 2
    assert points[T0 + 60_000].concurrent_executions == 1  # only the long run
    assert points[T0 + 60_000].invocations == 0
    assert points[T0 + 120_000].concurrent_executions == 1


def test_rollup_provisioned_concurrency_and_utilization() -> None:
    records = [rec(T0 + i * 10, end_ms=T0 + 5_000, qualifier="prod", version="4",
                   provisioned=True) for i in range(3)]
    records.append(rec(T0 + 100, end_ms=T0 + 5_000, qualifier="prod", version="4",
                       spillover=True))
    points = {p.key: p for p in rollup(records, 60, provisioned={"prod": 4})}
    alias = points[MetricKey("orders", "prod")]
    assert (alias.concurrent_executions, alias.provisioned_concurrent_executions) == (4, 3)
    assert alias.provisioned_utilization == pytest.approx(0.75)
    assert (alias.provisioned_invocations, alias.spillover_invocations) == (3, 1)
    assert points[FN].provisioned_utilization is None


def test_rollup_ignores_throttled_records_for_concurrency() -> None:
    (p,) = rollup([rec(T0, status=Status.THROTTLED), rec(T0 + 1)], 60)
    assert (p.throttles, p.invocations, p.concurrent_executions) == (1, 1, 1)


# series -----------------------------------------------------------------------------------

def test_series_is_aligned_and_zero_filled() -> None:
    live = LiveMetrics()
    live.record(rec(T0 + 2_100, 8.0))
    live.record(rec(T0 + 2_900, 4.0))
    live.record(rec(T0 + 5_000, 1.0))
    s = live.series(FN, "Invocations", since_ms=T0 + 500, until_ms=T0 + 6_000)
    assert s.timestamps == tuple(T0 + i * 1000 for i in range(6))
    assert s.values == (0.0, 0.0, 2.0, 0.0, 0.0, 1.0)
    avg = live.series(FN, "Duration", since_ms=T0, until_ms=T0 + 6_000, fill=None)
    assert list(zip(avg.timestamps, avg.values, strict=True)) == [(T0 + 2000, 6.0),
                                                                  (T0 + 5000, 1.0)]
    coarse = live.series(FN, "Duration", "Maximum", since_ms=T0, until_ms=T0 + 6_000,
                         period_s=5)
    assert (coarse.period_s, coarse.timestamps, coarse.values) == (5, (T0, T0 + 5000),
                                                                   (8.0, 1.0))


def test_series_from_rollup_points() -> None:
    points = rollup([rec(T0 + 61_000, 3.0)], 60)
    s = series(points, "Duration", "p99", since_ms=T0, until_ms=T0 + 180_000, period_s=60)
    assert s.values == (0.0, 3.0, 0.0)
    assert s.timestamps == (T0, T0 + 60_000, T0 + 120_000)


@pytest.mark.parametrize(("metric", "stat"), [("Invocations", "p99"), ("Nope", None),
                                              ("ConcurrentExecutions", "Sum")])
def test_series_refuses_unknown_metrics_and_statistics(metric: str, stat: str | None) -> None:
    with pytest.raises(ValueError):
        series([], metric, stat, since_ms=T0, until_ms=T0 + 1000, period_s=1)


def test_regroup_merges_samples_for_exact_coarser_percentiles() -> None:
    fine = [MetricPoint(FN, T0 + i * 1000, 1, invocations=1,
                        duration=Distribution.of([float(i + 1)])) for i in range(10)]
    (p,) = regroup(fine, 10)
    assert (p.invocations, p.duration.p90, p.duration.average) == (10, 9.0, 5.5)
