"""Aliases: names for a version, optionally splitting traffic with one more version."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from lconsole.engine import names, validate
from lconsole.engine.functions import new_revision, paginate
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.alias import Alias
from lconsole.model.record import FunctionRecord


class Aliases:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _function(self, value: str | None) -> FunctionRecord:
        name, _ = names.resolve(
            value,
            None,
            region=self.registry.region,
            account=self.registry.account,
            shape="FunctionName",
        )
        return self.registry.require(name)

    def _check_targets(
        self, record: FunctionRecord, version: str, weights: Mapping[str, float]
    ) -> None:
        if version != arns.LATEST and version not in record.versions:
            raise errors.not_found(f"Function not found: {self.registry.arn(record.name, version)}")
        if not weights:
            return
        if len(weights) > 1:
            raise errors.invalid_parameter(
                "Number of items in AdditionalVersionWeights cannot be greater than 1"
            )
        (extra,) = weights
        if extra == version:
            raise errors.invalid_parameter(
                f"Invalid function version {extra}. Function version {extra} is already "
                "included in routing configuration."
            )
        if version == arns.LATEST:
            raise errors.invalid_parameter(
                "$LATEST is not supported for an alias pointing to more than 1 version",
                typed=False,
            )
        if extra not in record.versions:
            raise errors.not_found(f"Function not found: {self.registry.arn(record.name, extra)}")

    @staticmethod
    def _problems(body: Mapping[str, Any], *, creating: bool, name: str | None) -> None:
        problems = validate.Problems()
        validate.alias_name(problems, name)
        version = body.get("FunctionVersion")
        if creating and version is None:
            problems.required(None, "functionVersion")
        if version is not None:
            problems.max_length(version, "functionVersion", 1024)
            problems.pattern(version, "functionVersion", arns.VERSION_PATTERN)
        problems.max_length(body.get("Description"), "description", 256)
        weights = (body.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
        validate.routing_weights(problems, weights)
        problems.raise_if_any()

    def create(self, value: str | None, body: Mapping[str, Any]) -> tuple[FunctionRecord, Alias]:
        name = body.get("Name")
        problems = validate.Problems()
        if name is None:
            problems.required(None, "name")
            problems.raise_if_any()
        self._problems(body, creating=True, name=name)
        record = self._function(value)
        if name in record.aliases:
            raise errors.conflict(f"Alias already exists: {self.registry.arn(record.name, name)}")
        weights = dict((body.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
        self._check_targets(record, body["FunctionVersion"], weights)
        alias = Alias(
            name=name,
            function_version=body["FunctionVersion"],
            revision_id=new_revision(),
            description=body.get("Description", ""),
            additional_weights={k: float(v) for k, v in weights.items()},
        )
        record = dataclasses.replace(record, aliases={**record.aliases, name: alias})
        self.registry.commit(record)
        return record, alias

    def get(self, value: str | None, name: str) -> tuple[FunctionRecord, Alias]:
        self._problems({}, creating=False, name=name)
        record = self._function(value)
        alias = record.aliases.get(name)
        if alias is None:
            raise errors.not_found(f"Cannot find alias arn: {self.registry.arn(record.name, name)}")
        return record, alias

    def update(
        self, value: str | None, name: str, body: Mapping[str, Any]
    ) -> tuple[FunctionRecord, Alias]:
        self._problems(body, creating=False, name=name)
        record = self._function(value)
        alias = record.aliases.get(name)
        if alias is None:
            raise errors.not_found(f"Alias not found: {self.registry.arn(record.name, name)}")
        given = body.get("RevisionId")
        if given is not None and given != alias.revision_id:
            raise errors.precondition_failed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        version = body.get("FunctionVersion", alias.function_version)
        weights = alias.additional_weights
        if body.get("RoutingConfig") is not None:
            weights = dict(body["RoutingConfig"].get("AdditionalVersionWeights") or {})
        self._check_targets(record, version, weights)
        updated = Alias(
            name=name,
            function_version=version,
            revision_id=new_revision(),
            description=body.get("Description", alias.description),
            additional_weights={k: float(v) for k, v in weights.items()},
        )
        record = dataclasses.replace(record, aliases={**record.aliases, name: updated})
        self.registry.commit(record)
        return record, updated

    def delete(self, value: str | None, name: str) -> None:
        self._problems({}, creating=False, name=name)
        record = self._function(value)
        if name not in record.aliases:
            return
        record = dataclasses.replace(
            record,
            aliases={k: v for k, v in record.aliases.items() if k != name},
            provisioned={k: v for k, v in record.provisioned.items() if k != name},
            invoke_configs={k: v for k, v in record.invoke_configs.items() if k != name},
            policies={k: v for k, v in record.policies.items() if k != name},
        )
        self.registry.commit(record)

    def list(
        self,
        value: str | None,
        function_version: str | None,
        marker: str | None,
        max_items: str | None,
    ) -> tuple[FunctionRecord, list[Alias], str | None]:
        problems = validate.Problems()
        limit = validate.max_items(problems, max_items, 10000)
        if function_version is not None:
            problems.pattern(function_version, "functionVersion", arns.VERSION_PATTERN)
        problems.raise_if_any()
        record = self._function(value)
        rows = [
            a
            for _, a in sorted(record.aliases.items())
            if function_version is None or function_version in a.versions()
        ]
        page, next_marker = paginate(rows, marker, min(limit or 50, 10000))
        return record, page, next_marker
