"""Asynchronous-invocation settings per function, version or alias: retries, age, destinations."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from lconsole.engine import names, validate
from lconsole.engine.functions import paginate
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import EventInvokeConfig

DESTINATION_PATTERN = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_SERVICES = {"sqs", "sns", "events", "lambda"}
_FAILURE_ONLY = {"s3"}


class InvokeConfigs:
    def __init__(self, registry: Registry, clock: Callable[[], float] = time.time) -> None:
        self.registry = registry
        self.clock = clock

    def _target(
        self, value: str | None, qualifier: str | None, *, missing: str | None
    ) -> tuple[FunctionRecord | None, str, str]:
        name, q = names.resolve(
            value, qualifier, region=self.registry.region, account=self.registry.account
        )
        q = q or arns.LATEST
        record = self.registry.find(name)
        exists = record is not None and (
            q == arns.LATEST or q in record.versions or q in record.aliases
        )
        if not exists:
            if missing is None:
                raise errors.not_found(
                    f"The function {self.registry.arn(name, q)} doesn't have an EventInvokeConfig"
                )
            raise errors.not_found(missing)
        return record, name, q

    def _check_destination(
        self, function: str, role: str, arn: str | None, other: str | None
    ) -> None:
        if not arn:
            return
        match = re.match(r"^arn:aws[a-zA-Z-]*:([a-z0-9-]+):", arn)
        service = match.group(1) if match else ""
        allowed = _SERVICES | (_FAILURE_ONLY if role == "OnFailure" else set())
        if service not in allowed:
            success = arn if role == "OnSuccess" else other
            failure = arn if role == "OnFailure" else other
            s = f"OnSuccess(destination={success})" if success else "null"
            f = f"OnFailure(destination={failure})" if failure else "null"
            raise errors.invalid_parameter(
                f"The provided destination config DestinationConfig(onSuccess={s}, "
                f"onFailure={f}) is invalid."
            )
        if service == "lambda":
            ref = arns.parse_function_ref(arn)
            if ref is None or self.registry.find(ref.name) is None:
                raise errors.invalid_parameter(f"The destination ARN {arn} is invalid.")
            if ref.name == function:
                raise errors.invalid_parameter(
                    "You can't specify the function as a destination for itself."
                )

    def _validated(
        self, body: Mapping[str, Any]
    ) -> tuple[int | None, int | None, str | None, str | None]:
        problems = validate.Problems()
        retries = body.get("MaximumRetryAttempts")
        age = body.get("MaximumEventAgeInSeconds")
        problems.at_least(retries, "maximumRetryAttempts", 0)
        problems.at_most(retries, "maximumRetryAttempts", 2)
        problems.at_least(age, "maximumEventAgeInSeconds", 60)
        problems.at_most(age, "maximumEventAgeInSeconds", 21600)
        dest = body.get("DestinationConfig") or {}
        success = (dest.get("OnSuccess") or {}).get("Destination")
        failure = (dest.get("OnFailure") or {}).get("Destination")
        for field, arn in (
            ("destinationConfig.onSuccess.destination", success),
            ("destinationConfig.onFailure.destination", failure),
        ):
            if arn is not None:
                problems.max_length(arn, field, 350)
                problems.pattern(arn, field, DESTINATION_PATTERN)
        problems.raise_if_any()
        return retries, age, success or None, failure or None

    def put(
        self, value: str | None, qualifier: str | None, body: Mapping[str, Any], *, merge: bool
    ) -> tuple[FunctionRecord, EventInvokeConfig]:
        retries, age, success, failure = self._validated(body)
        record, name, q = self._target(value, qualifier, missing="The function doesn't exist.")
        assert record is not None
        current = record.invoke_configs.get(q)
        if merge:
            if current is None:
                raise errors.not_found(
                    f"The function {self.registry.arn(name, q)} doesn't have an EventInvokeConfig"
                )
            dest = body.get("DestinationConfig") or {}
            retries = retries if "MaximumRetryAttempts" in body else current.maximum_retry_attempts
            age = age if "MaximumEventAgeInSeconds" in body else current.maximum_event_age_seconds
            success = success if "OnSuccess" in dest else current.on_success
            failure = failure if "OnFailure" in dest else current.on_failure
        elif retries is None and age is None and not success and not failure:
            raise errors.invalid_parameter(
                "You must specify at least one of error handling or destination setting."
            )
        self._check_destination(name, "OnSuccess", success, failure)
        self._check_destination(name, "OnFailure", failure, success)
        config = EventInvokeConfig(
            qualifier=q,
            last_modified=round(self.clock(), 3),
            maximum_retry_attempts=retries,
            maximum_event_age_seconds=age,
            on_success=success,
            on_failure=failure,
        )
        record = dataclasses.replace(record, invoke_configs={**record.invoke_configs, q: config})
        self.registry.commit(record)
        return record, config

    def get(
        self, value: str | None, qualifier: str | None
    ) -> tuple[FunctionRecord, EventInvokeConfig]:
        record, name, q = self._target(value, qualifier, missing=None)
        assert record is not None
        config = record.invoke_configs.get(q)
        if config is None:
            raise errors.not_found(
                f"The function {self.registry.arn(name, q)} doesn't have an EventInvokeConfig"
            )
        return record, config

    def delete(self, value: str | None, qualifier: str | None) -> None:
        record, _ = self.get(value, qualifier)
        _, q = names.resolve(
            value, qualifier, region=self.registry.region, account=self.registry.account
        )
        q = q or arns.LATEST
        configs = {k: v for k, v in record.invoke_configs.items() if k != q}
        self.registry.commit(dataclasses.replace(record, invoke_configs=configs))

    def list(
        self, value: str | None, marker: str | None, max_items: str | None
    ) -> tuple[FunctionRecord, list[EventInvokeConfig], str | None]:
        problems = validate.Problems()
        limit = validate.max_items(problems, max_items, 50)
        problems.raise_if_any()
        name, _ = names.resolve(
            value, None, region=self.registry.region, account=self.registry.account
        )
        record = self.registry.find(name)
        if record is None:
            raise errors.not_found("The function doesn't exist.")
        rows = [c for _, c in sorted(record.invoke_configs.items())]
        page, next_marker = paginate(rows, marker, limit or 50)
        return record, page, next_marker
