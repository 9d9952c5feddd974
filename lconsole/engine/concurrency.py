"""Reserved and provisioned concurrency settings, checked against the account's pool."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from lconsole.engine import names, validate
from lconsole.engine.functions import paginate
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import AccountLimits, ProvisionedConcurrency
from lconsole.model.timefmt import seconds_offset

# (function, qualifier) -> environments initialised so far for that provisioned config.
AllocationProbe = Callable[[str, str], int]


class Concurrency:
    def __init__(
        self,
        registry: Registry,
        limits: AccountLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.clock = clock
        self.allocated: AllocationProbe = lambda fn, q: self._requested(fn, q)

    def _requested(self, function: str, qualifier: str) -> int:
        record = self.registry.find(function)
        config = record.provisioned.get(qualifier) if record else None
        return config.requested if config else 0

    def _resolve(self, value: str | None, qualifier: str | None = None) -> tuple[str, str | None]:
        return names.resolve(
            value,
            qualifier,
            region=self.registry.region,
            account=self.registry.account,
            shape="FunctionName",
        )

    # Account view -------------------------------------------------------------------------

    def reserved_total(self, exclude: str | None = None) -> int:
        return sum(
            r.reserved_concurrency or 0
            for r in self.registry.functions.values()
            if r.name != exclude
        )

    def provisioned_total(self, record: FunctionRecord, exclude: str | None = None) -> int:
        return sum(p.requested for q, p in record.provisioned.items() if q != exclude)

    def unreserved(self) -> int:
        return self.limits.concurrent_executions - self.reserved_total()

    @property
    def floor(self) -> int:
        return min(self.limits.unreserved_minimum, self.limits.concurrent_executions // 10)

    # Reserved -----------------------------------------------------------------------------

    def _unqualified(self, value: str | None) -> FunctionRecord:
        name, q = self._resolve(value)
        if q is not None:
            raise errors.invalid_parameter(
                "This operation is permitted on Lambda functions only. Aliases and versions do "
                "not support this operation. Please specify either a function name or an "
                "unqualified function ARN."
            )
        return self.registry.require(name, arns.LATEST)

    def put_reserved(self, value: str | None, body: Mapping[str, Any]) -> int:
        problems = validate.Problems()
        n = body.get("ReservedConcurrentExecutions")
        problems.required(n, "reservedConcurrentExecutions")
        problems.at_least(n, "reservedConcurrentExecutions", 0)
        problems.raise_if_any()
        record = self._unqualified(value)
        left = self.limits.concurrent_executions - self.reserved_total(record.name) - n
        if left < self.floor:
            raise errors.invalid_parameter(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{self.floor}].",
                typed=False,
            )
        provisioned = self.provisioned_total(record)
        if n < provisioned:
            raise errors.invalid_parameter(
                f" ReservedConcurrentExecutions  {n} should not be lower than function's total "
                f"provisioned concurrency [{provisioned}].",
                typed=False,
            )
        self.registry.commit(dataclasses.replace(record, reserved_concurrency=n))
        return n

    def get_reserved(self, value: str | None) -> int | None:
        name, _ = self._resolve(value)
        return self.registry.require(name).reserved_concurrency

    def delete_reserved(self, value: str | None) -> None:
        record = self._unqualified(value)
        self.registry.commit(dataclasses.replace(record, reserved_concurrency=None))

    # Provisioned --------------------------------------------------------------------------

    def _target(
        self, value: str | None, qualifier: str | None, *, putting: bool
    ) -> tuple[FunctionRecord, str]:
        problems = validate.Problems()
        if qualifier is None:
            problems.required(None, "qualifier")
        else:
            problems.max_length(qualifier, "qualifier", 128)
            problems.pattern(qualifier, "qualifier", arns.PROVISIONED_QUALIFIER_PATTERN)
        problems.raise_if_any()
        name, q = self._resolve(value, qualifier)
        assert q is not None
        if q == arns.LATEST:
            raise errors.invalid_parameter(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
                if putting
                else "The function resource provided must be an alias or a published version."
            )
        record = self.registry.find(name)
        if q.isdigit():
            if record is None or q not in record.versions:
                raise errors.not_found(f"Function not found: {self.registry.arn(name, q)}")
        elif record is None or q not in record.aliases:
            raise errors.not_found(f"Cannot find alias arn: {self.registry.arn(name, q)}")
        return record, q

    def view(
        self, record: FunctionRecord, config: ProvisionedConcurrency
    ) -> ProvisionedConcurrency:
        allocated = min(self.allocated(record.name, config.qualifier), config.requested)
        status = "READY" if allocated >= config.requested else "IN_PROGRESS"
        return dataclasses.replace(config, allocated=allocated, status=status)

    def put_provisioned(
        self, value: str | None, qualifier: str | None, body: Mapping[str, Any]
    ) -> ProvisionedConcurrency:
        problems = validate.Problems()
        n = body.get("ProvisionedConcurrentExecutions")
        problems.required(n, "provisionedConcurrentExecutions")
        problems.at_least(n, "provisionedConcurrentExecutions", 1)
        problems.raise_if_any()
        record, q = self._target(value, qualifier, putting=True)
        if q.isdigit():
            clash = any(
                a.function_version == q and a.name in record.provisioned
                for a in record.aliases.values()
            )
            if clash:
                raise errors.conflict("Version is pointed by a Provisioned Concurrency alias")
        else:
            version = record.aliases[q].function_version
            if version in record.provisioned:
                raise errors.conflict(
                    "Alias can't be used for Provisioned Concurrency configuration on an "
                    "already Provisioned version"
                )
        others = self.provisioned_total(record, exclude=q)
        if record.reserved_concurrency is not None:
            if others + n > record.reserved_concurrency:
                raise errors.invalid_parameter(
                    "Requested Provisioned Concurrency should not be greater than the "
                    "reservedConcurrentExecution for function"
                )
        else:
            unreserved = self.unreserved()
            if others + n > unreserved:
                raise errors.invalid_parameter(
                    "Specified ConcurrentExecutions for function is greater than account's "
                    f"unreserved concurrency [{unreserved}].",
                    typed=False,
                )
            if unreserved - others - n < self.floor:
                raise errors.invalid_parameter(
                    "Specified ConcurrentExecutions for function decreases account's "
                    "UnreservedConcurrentExecution below its minimum value of "
                    f"[{self.floor}].",
                    typed=False,
                )
        config = ProvisionedConcurrency(
            qualifier=q,
            requested=n,
            last_modified=seconds_offset(self.clock()),
        )
        record = dataclasses.replace(record, provisioned={**record.provisioned, q: config})
        self.registry.commit(record)
        # The answer reflects the moment of acceptance: nothing allocated yet.
        return config

    def get_provisioned(self, value: str | None, qualifier: str | None) -> ProvisionedConcurrency:
        record, q = self._target(value, qualifier, putting=False)
        config = record.provisioned.get(q)
        if config is None:
            raise errors.provisioned_config_not_found(
                "No Provisioned Concurrency Config found for this function"
            )
        return self.view(record, config)

    def delete_provisioned(self, value: str | None, qualifier: str | None) -> None:
        record, q = self._target(value, qualifier, putting=False)
        if q not in record.provisioned:
            return
        provisioned = {k: v for k, v in record.provisioned.items() if k != q}
        self.registry.commit(dataclasses.replace(record, provisioned=provisioned))

    def list_provisioned(
        self, value: str | None, marker: str | None, max_items: str | None
    ) -> tuple[FunctionRecord, list[ProvisionedConcurrency], str | None]:
        problems = validate.Problems()
        limit = validate.max_items(problems, max_items, 50)
        problems.raise_if_any()
        name, _ = self._resolve(value)
        record = self.registry.require(name)
        rows = [self.view(record, c) for _, c in sorted(record.provisioned.items())]
        page, next_marker = paginate(rows, marker, limit or 50)
        return record, page, next_marker
