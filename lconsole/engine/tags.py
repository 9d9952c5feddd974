"""Tags on functions (by unqualified function ARN)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from lconsole.engine import validate
from lconsole.engine.functions import new_revision
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.record import FunctionRecord

MAX_TAGS = 50


class Tags:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _function(self, resource: str) -> FunctionRecord:
        problems = validate.Problems()
        problems.max_length(resource, "resource", 256)
        problems.pattern(resource, "resource", arns.TAGGABLE_RESOURCE_PATTERN)
        problems.raise_if_any()
        ref = arns.parse_function_ref(resource)
        if ref is None or ":function:" not in resource:
            raise errors.not_found(f"Function not found: {resource}")
        if ref.qualifier is not None:
            raise errors.invalid_parameter(
                "Tags on function aliases and versions are not supported. Please specify a "
                "function ARN."
            )
        if ref.region != self.registry.region:
            raise errors.not_found(
                f"Functions from '{ref.region}' are not reachable in this region "
                f"('{self.registry.region}')"
            )
        record = self.registry.find(ref.name)
        if record is None or ref.account != self.registry.account:
            raise errors.not_found(f"Function not found: {resource}")
        return record

    def _commit(self, record: FunctionRecord, tags: dict[str, str]) -> None:
        latest = dataclasses.replace(record.latest, revision_id=new_revision())
        self.registry.commit(dataclasses.replace(record, latest=latest, tags=tags))

    def tag(self, resource: str, body: Mapping[str, Any]) -> None:
        given = body.get("Tags")
        if given is None:
            raise errors.validation(
                ["Value null at 'tags' failed to satisfy constraint: Member must not be null"]
            )
        record = self._function(resource)
        if not given:
            raise errors.invalid_parameter("An error occurred and the request cannot be processed.")
        tags = {**record.tags, **given}
        if len(tags) > MAX_TAGS:
            raise errors.invalid_parameter("Number of tags exceeds resource tag limit.")
        self._commit(record, tags)

    def untag(self, resource: str, keys: list[str]) -> None:
        if not keys:
            raise errors.validation(
                ["Value null at 'tagKeys' failed to satisfy constraint: Member must not be null"]
            )
        record = self._function(resource)
        self._commit(record, {k: v for k, v in record.tags.items() if k not in keys})

    def list(self, resource: str) -> dict[str, str]:
        return dict(self._function(resource).tags)
