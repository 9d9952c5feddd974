"""What the demo sends, and when: a seeded, pure plan of invocations ("shots").

The steady trickle and the bursts draw from RNGs of their own, so the n-th shot of each is the
same for a seed however the two interleave in time. The first steady shots are an opening act
(a success, a failure, an async event, a timeout) and the first burst comes at once, so a
recording shows every kind of traffic within seconds.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lconsole.backends.base import InvocationType

CHECKOUT = "demo-checkout"
ALIAS = "live"
OPENING_KINDS = ("ok", "error", "async", "timeout")
SAMPLE_BURST_SHARE = 0.3  # of bursts after the first, to one of the samples
CUSTOMERS = ("ada", "grace", "linus", "barbara", "ken", "margaret", "dennis", "frances")


class Kind(StrEnum):
    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    ASYNC = "async"  # a successful Event invocation (failures would be retried for minutes)


@dataclass(frozen=True)
class TrafficConfig:
    """The knobs of `lconsole demo`; shares are fractions of all shots."""

    rate: float = 3.0  # steady invocations per second
    burst: int = 8  # largest burst: concurrent invocations, so new environments start cold
    burst_every_s: float = 15.0
    error_share: float = 0.06
    timeout_share: float = 0.02
    async_share: float = 0.15
    sample_share: float = 0.3  # of steady shots, to the sample functions present
    canary_weight: float = 0.1  # the alias's share for the newer version
    max_in_flight: int = 24
    seed: int | None = None

    def problems(self) -> list[str]:
        """What is wrong with these settings, in the CLI's words (empty when fine)."""
        out = []
        if not 0 < self.rate <= 200:
            out.append("--rate must be above 0 and at most 200 per second")
        if not 0 <= self.burst <= 64:
            out.append("--burst must be between 0 and 64")
        if self.burst_every_s < 1:
            out.append("--burst-every must be at least 1 second")
        if not 0 <= self.canary_weight <= 1:
            out.append("--canary must be between 0 and 1")
        if self.max_in_flight < 1:
            out.append("--max-in-flight must be at least 1")
        shares = (self.error_share, self.timeout_share, self.async_share, self.sample_share)
        if any(not 0 <= s <= 1 for s in shares) or sum(shares[:3]) > 1:
            out.append("shares must be fractions between 0 and 1")
        return out


@dataclass(frozen=True)
class Shot:
    """One invocation to send."""

    function: str
    payload: bytes
    kind: Kind
    qualifier: str | None = None
    burst: bool = False

    @property
    def invocation_type(self) -> InvocationType:
        return "Event" if self.kind is Kind.ASYNC else "RequestResponse"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sample_payload(function: str, kind: Kind, n: int, rng: random.Random) -> tuple[bytes, Kind]:
    """A sample function's event; only python-echo can fail or time out on request."""
    if function == "python-echo":
        if kind is Kind.ERROR:
            return _json({"fail": "inventory service unavailable", "n": n}), kind
        if kind is Kind.TIMEOUT:
            return _json({"sleep": 3.5, "n": n}), kind  # the sample's timeout is 3 s
        return _json({"n": n, "sleep": round(rng.uniform(0.01, 0.15), 3)}), kind
    quiet = Kind.ASYNC if kind is Kind.ASYNC else Kind.OK
    if function == "python-xray":
        return _json({"items": [rng.randint(1, 99) for _ in range(rng.randint(1, 5))]}), quiet
    if function == "node-hello":
        return _json({"name": rng.choice(CUSTOMERS)}), quiet
    return _json({"n": n}), quiet


def checkout_payload(kind: Kind, order_id: str, rng: random.Random) -> bytes:
    items = rng.randint(1, 6)
    event: dict[str, Any] = {
        "order_id": order_id,
        "customer": rng.choice(CUSTOMERS),
        "items": items,
        "amount": round(items * rng.uniform(4.0, 60.0), 2),
        "work_ms": rng.randint(40, 300),
    }
    if kind is Kind.ERROR:
        event["decline"] = True
    elif kind is Kind.TIMEOUT:
        event["hang"] = True
    return _json(event)


class TrafficPlan:
    """The sequence of shots for one demo run; `samples` are the sample functions present."""

    def __init__(self, config: TrafficConfig, samples: Sequence[str] = ()) -> None:
        seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**32)
        self.config = config
        self.seed = seed
        self.samples = tuple(sorted(samples))
        self._steady = random.Random(f"{seed}:steady")
        self._bursts = random.Random(f"{seed}:bursts")
        self._timing = random.Random(f"{seed}:timing")
        self._steady_count = 0
        self._burst_count = 0

    def pause(self) -> float:
        """Seconds until the next steady shot: Poisson arrivals at `rate`, clipped."""
        mean = 1.0 / self.config.rate
        return min(max(self._timing.expovariate(self.config.rate), mean / 10), mean * 4)

    def _kind(self, rng: random.Random) -> Kind:
        c = self.config
        roll = rng.random()
        for kind, share in (
            (Kind.TIMEOUT, c.timeout_share),
            (Kind.ERROR, c.error_share),
            (Kind.ASYNC, c.async_share),
        ):
            if roll < share:
                return kind
            roll -= share
        return Kind.OK

    def steady(self) -> Shot:
        rng = self._steady
        index = self._steady_count
        self._steady_count += 1
        order = f"o-{index + 1:06d}"
        if index < len(OPENING_KINDS):
            kind = Kind(OPENING_KINDS[index])
            return Shot(CHECKOUT, checkout_payload(kind, order, rng), kind, ALIAS)
        kind = self._kind(rng)
        if self.samples and rng.random() < self.config.sample_share:
            function = rng.choice(self.samples)
            payload, kind = sample_payload(function, kind, index + 1, rng)
            return Shot(function, payload, kind)
        return Shot(CHECKOUT, checkout_payload(kind, order, rng), kind, ALIAS)

    def burst(self) -> list[Shot]:
        """Shots to send at once. The first goes to the alias and carries one failure."""
        rng = self._bursts
        first = self._burst_count == 0
        self._burst_count += 1
        number = self._burst_count
        if self.config.burst <= 0:
            return []
        size = (
            self.config.burst
            if first
            else rng.randint(max(1, math.ceil(self.config.burst / 2)), self.config.burst)
        )
        to_sample = not first and self.samples and rng.random() < SAMPLE_BURST_SHARE
        shots = []
        for i in range(size):
            kind = Kind.ERROR if first and i == size - 1 and size > 1 else Kind.OK
            if to_sample:
                function = self.samples[number % len(self.samples)]
                payload, kind = sample_payload(function, kind, number * 1000 + i, rng)
                shots.append(Shot(function, payload, kind, burst=True))
            else:
                payload = checkout_payload(kind, f"o-b{number:04d}-{i + 1:02d}", rng)
                shots.append(Shot(CHECKOUT, payload, kind, ALIAS, burst=True))
        return shots
