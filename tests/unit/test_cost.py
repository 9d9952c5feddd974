"""Lambda billing and prices (telemetry.md §7, runtime-and-invoke.md §5.5).

Expected dollars are worked out here by hand from the published us-east-1 prices, not read back
from `cost.PRICES`, so a wrong table entry fails a test.
"""

from __future__ import annotations

import pytest

from lconsole.telemetry import cost

X86_GBS = 0.0000166667
ARM_GBS = 0.0000133334
REQUEST = 0.20 / 1_000_000


@pytest.mark.parametrize(
    ("duration", "init", "runtime", "package", "legacy", "billed"),
    [
        (3.01, None, "python3.13", "Zip", False, 4),  # warm REPORT: 3.01 ms → 4 ms
        (3.00, None, "python3.13", "Zip", False, 3),
        (0.2, None, "python3.13", "Zip", False, 1),  # never below 1 ms
        (1.1, 1.9, "python3.13", "Zip", False, 3),  # float sum 3.0000000000000004 stays 3
        (1655.10, 322.04, "python3.13", "Zip", False, 1978),  # recorded cold REPORT
        (1233.96, 463.512, "nodejs22.x", "Zip", False, 1698),  # recorded JSON platform.report
        (1.87, 107.14, "python3.12", "Zip", True, 2),  # before 1 Aug 2025: init not billed
        (1.87, 107.14, "provided.al2023", "Zip", True, 110),  # custom runtimes always were
        (1.87, 107.14, "python3.12", "Image", True, 110),  # so were container images
        (97.30, None, "python3.13", "Zip", False, 98),  # suppressed init is inside Duration
    ],
)
def test_billed_duration(duration, init, runtime, package, legacy, billed) -> None:
    got = cost.billed_duration_ms(duration, init, runtime=runtime, package_type=package,
                                  legacy_init_billing=legacy)
    assert got == billed
    assert isinstance(got, int)


def test_million_invocations_100ms_128mb_x86() -> None:
    one = cost.invocation_cost(100, 128, "x86_64")
    # 100 ms at 0.125 GB = 0.0125 GB-s per call
    assert one.compute == pytest.approx(0.0125 * X86_GBS)
    assert one.request == pytest.approx(REQUEST)
    assert one.ephemeral == 0
    assert one.total == pytest.approx(one.request + one.compute)
    summary = cost.summarise([(one, 100, 128, 1_000_000)], free_tier=False)
    assert summary.invocations == 1_000_000
    assert summary.gb_seconds == pytest.approx(12_500)
    assert summary.request_cost == pytest.approx(0.20)
    assert summary.compute_cost == pytest.approx(12_500 * 0.0000166667)  # $0.2083
    assert summary.total == pytest.approx(0.20 + 0.20833375)
    assert summary.total_after_free_tier == pytest.approx(summary.total)


def test_per_ms_price_at_128mb_x86() -> None:
    assert round(cost.invocation_cost(1, 128, "x86_64").compute, 10) == 0.0000000021


def test_arm64_is_cheaper_per_gb_second() -> None:
    one = cost.invocation_cost(1000, 1024, "arm64")
    assert one.compute == pytest.approx(ARM_GBS)
    assert one.compute < cost.invocation_cost(1000, 1024, "x86_64").compute


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown architecture 'sparc'"):
        cost.invocation_cost(1, 128, "sparc")


def test_ephemeral_storage_above_512mb() -> None:
    assert cost.invocation_cost(1000, 1024, "x86_64", ephemeral_mb=512).ephemeral == 0
    one = cost.invocation_cost(1000, 1024, "x86_64", ephemeral_mb=2048)
    assert one.ephemeral == pytest.approx(1.5 * 1 * 0.0000000309)  # 1.5 GB for 1 s
    assert one.total == pytest.approx(one.request + one.compute + one.ephemeral)


def test_invocation_on_provisioned_concurrency() -> None:
    x86 = cost.invocation_cost(1000, 1024, "x86_64", provisioned=True)
    arm = cost.invocation_cost(1000, 1024, "arm64", provisioned=True)
    assert x86.compute == pytest.approx(0.0000097222)
    assert arm.compute == pytest.approx(0.0000077778)
    assert x86.provisioned


def test_provisioned_concurrency_for_30_days() -> None:
    # PC=10 at 1 GB for 30 days: 25,920,000 GB-s → $108.00 (telemetry.md §7)
    allocated = cost.provisioned_gb_seconds(10, 1024, 30 * 86_400)
    assert allocated == 25_920_000
    assert cost.provisioned_cost(allocated, "x86_64") == pytest.approx(108.0, abs=0.01)
    assert cost.provisioned_cost(1.0, "arm64") == pytest.approx(0.0000033334)


def test_provisioned_time_rounds_up_to_five_minutes() -> None:
    assert cost.provisioned_gb_seconds(1, 1024, 1) == 300
    assert cost.provisioned_gb_seconds(2, 512, 301) == 600


@pytest.mark.parametrize(
    ("arch", "after_free_tier"), [("x86_64", 18.83 + 1.80), ("arm64", 15.07 + 1.80)])
def test_worked_month_with_free_tier(arch, after_free_tier) -> None:
    # x86, 1024 MB, 10M invokes, billed 150 ms, 1 % cold starts billed 150 + 300 ms init
    warm = cost.invocation_cost(150, 1024, arch)
    cold = cost.invocation_cost(450, 1024, arch)
    s = cost.summarise([(warm, 150, 1024, 9_900_000), (cold, 450, 1024, 100_000)])
    assert s.invocations == 10_000_000
    assert s.gb_seconds == pytest.approx(1_530_000)
    assert s.free_tier_requests_used == 1_000_000
    assert s.free_tier_gb_seconds_used == pytest.approx(400_000)
    assert round(s.total_after_free_tier, 2) == pytest.approx(after_free_tier)
    assert s.total == pytest.approx(2.0 + 1_530_000 * (X86_GBS if arch == "x86_64" else ARM_GBS))


def test_small_usage_is_free_but_ephemeral_and_pc_are_not() -> None:
    one = cost.invocation_cost(100, 128, "x86_64", ephemeral_mb=1536)
    s = cost.summarise([(one, 100, 128, 1000)], provisioned_usd=1.5)
    assert s.free_tier_requests_used == 1000
    assert s.free_tier_gb_seconds_used == pytest.approx(12.5)
    expected_ephemeral = 1000 * 1.0 * 0.1 * 0.0000000309
    assert s.ephemeral_cost == pytest.approx(expected_ephemeral)
    assert s.total_after_free_tier == pytest.approx(1.5 + expected_ephemeral)


def test_free_tier_is_not_for_provisioned_invocations() -> None:
    one = cost.invocation_cost(1000, 1024, "x86_64", provisioned=True)
    s = cost.summarise([(one, 1000, 1024)])
    assert s.free_tier_requests_used == 0
    assert s.free_tier_gb_seconds_used == 0
    assert s.total_after_free_tier == pytest.approx(REQUEST + 0.0000097222)


def test_free_tier_left_this_month() -> None:
    one = cost.invocation_cost(1000, 1024, "x86_64")
    s = cost.summarise([(one, 1000, 1024, 10)], free_requests_left=4, free_gb_seconds_left=2.5)
    assert s.free_tier_requests_used == 4
    assert s.free_tier_gb_seconds_used == pytest.approx(2.5)
    assert s.total_after_free_tier == pytest.approx(6 * REQUEST + 7.5 * X86_GBS)


def test_empty_summary() -> None:
    s = cost.summarise([])
    assert (s.invocations, s.total, s.total_after_free_tier) == (0, 0, 0)


def test_async_payload_requests() -> None:
    assert cost.billed_requests(300 * 1024, asynchronous=False) == 1
    assert cost.billed_requests(256 * 1024, asynchronous=True) == 1
    assert cost.billed_requests(256 * 1024 + 1, asynchronous=True) == 2
    assert cost.billed_requests(1024 * 1024, asynchronous=True) == 13  # 768 KB / 64 KB = 12 more
    assert cost.invocation_cost(1, 128, "x86_64", requests=2).request == pytest.approx(2 * REQUEST)


def test_duration_tiers() -> None:
    assert cost.duration_cost(1.0, "x86_64") == pytest.approx(X86_GBS)
    # straddling the 6 B GB-s boundary: 1 GB-s in tier 1, 1 GB-s in tier 2
    assert cost.duration_cost(2.0, "x86_64", month_to_date_gb_seconds=6e9 - 1) == pytest.approx(
        0.0000166667 + 0.000015)
    assert cost.duration_cost(1.0, "x86_64", month_to_date_gb_seconds=20e9) == pytest.approx(
        0.0000133334)
    # arm64 boundaries are 25 % wider: 7.5 B and 18.75 B
    assert cost.duration_cost(1.0, "arm64", month_to_date_gb_seconds=7e9) == pytest.approx(ARM_GBS)
    assert cost.duration_cost(1.0, "arm64", month_to_date_gb_seconds=8e9) == pytest.approx(
        0.0000120001)
    assert cost.duration_cost(1.0, "arm64", month_to_date_gb_seconds=19e9) == pytest.approx(
        0.0000106667)


def test_price_table_records_when_it_was_taken() -> None:
    assert cost.PRICES.region == "us-east-1"
    assert "2026" in cost.PRICES.taken


def test_monthly_projection() -> None:
    assert cost.monthly_projection(0.5, 3600) == pytest.approx(0.5 * 24 * 30)
    assert cost.monthly_projection(2.0, 30 * 86_400) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cost.monthly_projection(1.0, 0)
