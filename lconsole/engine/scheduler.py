"""Concurrency leases: reserved concurrency per function, the unreserved pool for the rest.

A lease is taken before an environment is looked for and given back when the invocation ends,
so throttling decisions are exact at any load. Pure bookkeeping: no I/O, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from lconsole.model import errors
from lconsole.model.record import FunctionRecord

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"


@dataclass
class Lease:
    function: str
    reserved: bool
    released: bool = False


class Scheduler:
    def __init__(self, account_limit: int) -> None:
        self.account_limit = account_limit
        self.in_flight: dict[str, int] = defaultdict(int)
        self.unreserved_in_flight = 0
        self.reserved_total = 0  # kept current by the engine from the registry

    def acquire(self, record: FunctionRecord) -> Lease:
        reserved = record.reserved_concurrency
        name = record.name
        if reserved is not None:
            if self.in_flight[name] >= reserved:
                raise errors.too_many_requests(RESERVED_LIMIT)
            self.in_flight[name] += 1
            return Lease(name, True)
        if self.unreserved_in_flight >= self.account_limit - self.reserved_total:
            raise errors.too_many_requests(ACCOUNT_LIMIT)
        self.in_flight[name] += 1
        self.unreserved_in_flight += 1
        return Lease(name, False)

    def release(self, lease: Lease) -> None:
        if lease.released:
            return
        lease.released = True
        self.in_flight[lease.function] -= 1
        if not lease.reserved:
            self.unreserved_in_flight -= 1

    def concurrent(self, function: str | None = None) -> int:
        if function is None:
            return sum(self.in_flight.values())
        return self.in_flight.get(function, 0)
