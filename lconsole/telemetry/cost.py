"""Billed duration and AWS Lambda price (us-east-1), pure.

All prices live in `PRICES` below — update that one table when AWS changes them. Amounts are USD
floats, unrounded. GB = MemorySize / 1024 (telemetry.md §7); billed duration rounds up to 1 ms and,
since 1 Aug 2025, includes the Init phase for every function (runtime-and-invoke.md §5.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class DurationTier:
    up_to_gb_seconds: float | None  # cumulative monthly GB-s where this tier ends; None: no end
    usd_per_gb_second: float


@dataclass(frozen=True)
class ArchitecturePrices:
    duration_tiers: tuple[DurationTier, ...]
    provisioned_usd_per_gb_second: float  # concurrency configured, idle or not
    provisioned_duration_usd_per_gb_second: float  # duration of invocations run on it


@dataclass(frozen=True)
class PriceTable:
    region: str
    taken: str  # when and from where the numbers were taken
    request_usd_per_million: float
    ephemeral_usd_per_gb_second: float  # storage configured above the included 512 MB
    free_requests: int  # per month, shared by both architectures; not for PC functions
    free_gb_seconds: float
    architectures: Mapping[str, ArchitecturePrices]


PRICES = PriceTable(
    region="us-east-1",
    taken="2026-11, AWS price list as mirrored by third parties (telemetry.md §7)",
    request_usd_per_million=0.20,
    ephemeral_usd_per_gb_second=0.0000000309,
    free_requests=1_000_000,
    free_gb_seconds=400_000,
    architectures=MappingProxyType({
        "x86_64": ArchitecturePrices(
            duration_tiers=(
                DurationTier(6e9, 0.0000166667),
                DurationTier(15e9, 0.000015),
                DurationTier(None, 0.0000133334),
            ),
            provisioned_usd_per_gb_second=0.0000041667,
            provisioned_duration_usd_per_gb_second=0.0000097222,
        ),
        "arm64": ArchitecturePrices(
            duration_tiers=(
                DurationTier(7.5e9, 0.0000133334),
                DurationTier(18.75e9, 0.0000120001),
                DurationTier(None, 0.0000106667),
            ),
            provisioned_usd_per_gb_second=0.0000033334,
            provisioned_duration_usd_per_gb_second=0.0000077778,
        ),
    }),
)

INCLUDED_EPHEMERAL_MB = 512
PROVISIONED_ROUNDING_SECONDS = 300  # PC is charged from enable to disable, rounded up to 5 min
ASYNC_INCLUDED_PAYLOAD_BYTES = 256 * 1024  # async payloads above this bill extra requests...
ASYNC_PAYLOAD_CHUNK_BYTES = 64 * 1024  # ...one per additional 64 KB chunk
SECONDS_PER_MONTH = 30 * 86_400
_ONE_REQUEST = PRICES.request_usd_per_million / 1_000_000


def _prices(architecture: str) -> ArchitecturePrices:
    try:
        return PRICES.architectures[architecture]
    except KeyError:
        known = ", ".join(PRICES.architectures)
        raise ValueError(f"Unknown architecture {architecture!r} (expected {known})") from None


def gb_seconds(billed_ms: float, memory_mb: float) -> float:
    return billed_ms / 1000 * memory_mb / 1024


def billed_duration_ms(duration_ms: float, init_ms: float | None, *, runtime: str,
                       package_type: str = "Zip", legacy_init_billing: bool = False) -> int:
    """Billed Duration as the REPORT line shows it: ceil(Duration + Init Duration), at least 1 ms.

    `init_ms` is the REPORT's Init Duration (cold starts only; suppressed init is already inside
    `duration_ms`). With `legacy_init_billing` the rule before 1 Aug 2025 applies: init is billed
    only for custom runtimes (`provided.*`) and container images.
    """
    total = duration_ms
    if init_ms and (not legacy_init_billing or runtime.startswith("provided")
                    or package_type.lower() == "image"):
        total += init_ms
    return max(1, math.ceil(round(total, 6)))  # round first: 1.1 + 1.9 must stay 3


def billed_requests(payload_bytes: int, *, asynchronous: bool) -> int:
    """Requests billed for one invoke: async payloads over 256 KB add one per further 64 KB."""
    if not asynchronous or payload_bytes <= ASYNC_INCLUDED_PAYLOAD_BYTES:
        return 1
    extra = payload_bytes - ASYNC_INCLUDED_PAYLOAD_BYTES
    return 1 + math.ceil(extra / ASYNC_PAYLOAD_CHUNK_BYTES)


def duration_cost(gb_s: float, architecture: str, *, month_to_date_gb_seconds: float = 0.0
                  ) -> float:
    """On-demand duration price of `gb_s`, tiered by the GB-s already used this month."""
    cost, position, remaining = 0.0, month_to_date_gb_seconds, gb_s
    for tier in _prices(architecture).duration_tiers:
        end = math.inf if tier.up_to_gb_seconds is None else tier.up_to_gb_seconds
        in_tier = max(0.0, min(remaining, end - position))
        cost += in_tier * tier.usd_per_gb_second
        position, remaining = position + in_tier, remaining - in_tier
    return cost


@dataclass(frozen=True)
class InvocationCost:
    request: float
    compute: float
    ephemeral: float
    total: float
    provisioned: bool = False  # ran on provisioned concurrency (no free tier for it)


def invocation_cost(billed_ms: int, memory_mb: int, architecture: str, ephemeral_mb: int = 512,
                    provisioned: bool = False, *, requests: int = 1) -> InvocationCost:
    """Price of one invocation (first duration tier; `summarise` applies the free tier)."""
    prices = _prices(architecture)
    gb_s = gb_seconds(billed_ms, memory_mb)
    request = requests * PRICES.request_usd_per_million / 1_000_000
    if provisioned:
        compute = gb_s * prices.provisioned_duration_usd_per_gb_second
    else:
        compute = gb_s * prices.duration_tiers[0].usd_per_gb_second
    extra_gb = max(0, ephemeral_mb - INCLUDED_EPHEMERAL_MB) / 1024
    ephemeral = extra_gb * billed_ms / 1000 * PRICES.ephemeral_usd_per_gb_second
    return InvocationCost(request, compute, ephemeral, request + compute + ephemeral, provisioned)


def provisioned_gb_seconds(concurrency: int, memory_mb: int, enabled_seconds: float) -> float:
    """GB-s allocated by provisioned concurrency, the enabled time rounded up to 5 minutes."""
    step = PROVISIONED_ROUNDING_SECONDS
    return concurrency * memory_mb / 1024 * math.ceil(enabled_seconds / step) * step


def provisioned_cost(gb_seconds_allocated: float, architecture: str) -> float:
    """Price of provisioned concurrency kept configured (idle or not) for the given GB-s."""
    return gb_seconds_allocated * _prices(architecture).provisioned_usd_per_gb_second


@dataclass(frozen=True)
class CostSummary:
    invocations: int
    gb_seconds: float
    request_cost: float
    compute_cost: float
    ephemeral_cost: float
    provisioned_cost: float
    total: float
    free_tier_requests_used: int
    free_tier_gb_seconds_used: float
    total_after_free_tier: float


CostItem = tuple[InvocationCost, int, int] | tuple[InvocationCost, int, int, int]


def summarise(costs: Iterable[CostItem], *, provisioned_usd: float = 0.0, free_tier: bool = True,
              free_requests_left: int | None = None,
              free_gb_seconds_left: float | None = None) -> CostSummary:
    """Add up invocations given as `(cost, billed_ms, memory_mb[, count])`; amounts are USD.

    `provisioned_usd` is the configured-concurrency charge (see `provisioned_cost`). The monthly
    free tier (default: all of it still left) is drawn in input order, only by invocations not
    run on provisioned concurrency, and credited at each invocation's own duration price.
    """
    requests_left = PRICES.free_requests if free_requests_left is None else free_requests_left
    gbs_left = PRICES.free_gb_seconds if free_gb_seconds_left is None else free_gb_seconds_left
    if not free_tier:
        requests_left, gbs_left = 0, 0.0
    invocations, total_gbs, request, compute, ephemeral = 0, 0.0, 0.0, 0.0, 0.0
    free_requests = 0
    free_gbs = credit = 0.0
    for item in costs:
        cost, billed_ms, memory_mb = item[0], item[1], item[2]
        count = item[3] if len(item) > 3 else 1
        one_gbs = gb_seconds(billed_ms, memory_mb)
        invocations += count
        total_gbs += one_gbs * count
        request += cost.request * count
        compute += cost.compute * count
        ephemeral += cost.ephemeral * count
        if cost.provisioned:
            continue
        covered_requests = min(count * round(cost.request / _ONE_REQUEST),
                               requests_left - free_requests)
        free_requests += covered_requests
        credit += covered_requests * _ONE_REQUEST
        covered_gbs = min(one_gbs * count, gbs_left - free_gbs)
        free_gbs += covered_gbs
        if one_gbs > 0:
            credit += covered_gbs / one_gbs * cost.compute
    total = request + compute + ephemeral + provisioned_usd
    return CostSummary(invocations, total_gbs, request, compute, ephemeral, provisioned_usd, total,
                       free_requests, free_gbs, max(0.0, total - credit))


def monthly_projection(total_usd: float, window_seconds: float) -> float:
    """'At this rate, per month': scale the cost seen over `window_seconds` to 30 days."""
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    return total_usd * SECONDS_PER_MONTH / window_seconds
