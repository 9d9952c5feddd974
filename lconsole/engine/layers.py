"""Layer versions: publish, read, list and delete; numbers are never reused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from lconsole.engine import validate
from lconsole.engine.functions import MAX_ZIPPED, decode_zip, paginate
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.function import ARCHITECTURES, DEPRECATED_RUNTIMES, SUPPORTED_RUNTIMES
from lconsole.model.settings import AccountLimits, LayerVersion
from lconsole.model.timefmt import last_modified
from lconsole.store.code import CodeStore

LAYER_RUNTIMES: tuple[str, ...] = tuple(sorted(set(SUPPORTED_RUNTIMES) | DEPRECATED_RUNTIMES))


class Layers:
    def __init__(
        self,
        registry: Registry,
        code: CodeStore,
        limits: AccountLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.code = code
        self.limits = limits
        self.clock = clock

    @staticmethod
    def _name(problems: validate.Problems, value: str | None) -> str:
        if value is None:
            problems.required(None, "layerName")
            problems.raise_if_any()
        assert value is not None
        problems.max_length(value, "layerName", 140)
        problems.pattern(value, "layerName", arns.LAYER_NAME_PATTERN)
        return arns.layer_name_from(value)

    @staticmethod
    def _compat(problems: validate.Problems, body: Mapping[str, Any]) -> None:
        runtimes = body.get("CompatibleRuntimes")
        if runtimes is not None:
            if any(r not in LAYER_RUNTIMES for r in runtimes):
                problems.add(
                    runtimes,
                    "compatibleRuntimes",
                    "Member must satisfy constraint: [Member must satisfy enum value set: "
                    f"[{', '.join(LAYER_RUNTIMES)}]]",
                )
            problems.max_length(runtimes, "compatibleRuntimes", 15)
        archs = body.get("CompatibleArchitectures")
        if archs is not None:
            if any(a not in ARCHITECTURES for a in archs):
                problems.add(
                    archs,
                    "compatibleArchitectures",
                    "Member must satisfy constraint: [Member must satisfy enum value set: "
                    "[x86_64, arm64]]",
                )
            problems.max_length(archs, "compatibleArchitectures", 2)

    async def publish(self, layer_name: str, body: Mapping[str, Any]) -> LayerVersion:
        problems = validate.Problems()
        name = self._name(problems, layer_name)
        content = body.get("Content")
        problems.required(content, "content")
        problems.max_length(body.get("Description"), "description", 256)
        problems.max_length(body.get("LicenseInfo"), "licenseInfo", 512)
        self._compat(problems, body)
        problems.raise_if_any()
        if "ZipFile" not in content:
            raise errors.invalid_parameter(
                "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: "
                "The specified bucket does not exist"
            )
        data = await asyncio.to_thread(decode_zip, content["ZipFile"])
        if len(data) > MAX_ZIPPED:
            raise errors.request_too_large(f"Zipped size must be smaller than {MAX_ZIPPED} bytes")
        stored = await asyncio.to_thread(self.code.put_zip, data)
        if self.registry.total_code_size() + stored.size > self.limits.total_code_size:
            raise errors.code_storage_exceeded()
        version = self.registry.layer_counters.get(name, 1)
        layer = LayerVersion(
            name=name,
            version=version,
            code_sha256=stored.sha256,
            code_size=stored.size,
            code_id=stored.code_id,
            unzipped_size=stored.unzipped_size,
            created=last_modified(self.clock()),
            description=body.get("Description", ""),
            compatible_runtimes=tuple(body.get("CompatibleRuntimes") or ()),
            compatible_architectures=tuple(body.get("CompatibleArchitectures") or ()),
            license_info=body.get("LicenseInfo"),
        )
        self.registry.add_layer_version(layer)
        return layer

    def _version_number(self, problems: validate.Problems, value: str) -> int:
        try:
            return int(value)
        except ValueError:
            problems.add(value, "versionNumber", "Member must be a number")
            problems.raise_if_any()
            raise AssertionError from None

    def get(self, layer_name: str, version: str) -> LayerVersion:
        problems = validate.Problems()
        name = self._name(problems, layer_name)
        number = self._version_number(problems, version)
        problems.raise_if_any()
        if number < 1:
            raise errors.invalid_parameter("Layer Version Cannot be less than 1")
        layer = self.registry.layers.get(name, {}).get(number)
        if layer is None:
            raise errors.not_found("The resource you requested does not exist.")
        return layer

    def get_by_arn(self, arn: str | None) -> LayerVersion:
        problems = validate.Problems()
        problems.required(arn, "arn")
        problems.raise_if_any()
        assert arn is not None
        problems.pattern(arn, "arn", arns.LAYER_VERSION_ARN_PATTERN)
        problems.raise_if_any()
        ref = arns.parse_layer_version_arn(arn)
        if (
            ref is None
            or ref.account != self.registry.account
            or ref.region != self.registry.region
        ):
            raise errors.not_found("The resource you requested does not exist.")
        return self.get(ref.name, str(ref.version))

    def delete(self, layer_name: str, version: str) -> None:
        problems = validate.Problems()
        name = self._name(problems, layer_name)
        number = self._version_number(problems, version)
        problems.raise_if_any()
        if number < 1:
            raise errors.invalid_parameter("Layer Version Cannot be less than 1")
        if number in self.registry.layers.get(name, {}):
            self.registry.remove_layer_version(name, number)

    @staticmethod
    def _matches(layer: LayerVersion, runtime: str | None, arch: str | None) -> bool:
        if runtime is not None and runtime not in layer.compatible_runtimes:
            return False
        return arch is None or arch in layer.compatible_architectures

    def _filters(self, query: Mapping[str, str | None]) -> tuple[str | None, str | None, int]:
        problems = validate.Problems()
        runtime = query.get("CompatibleRuntime")
        arch = query.get("CompatibleArchitecture")
        problems.enum(runtime, "compatibleRuntime", LAYER_RUNTIMES)
        problems.enum(arch, "compatibleArchitecture", ARCHITECTURES)
        limit = validate.max_items(problems, query.get("MaxItems"), 50)
        problems.raise_if_any()
        return runtime, arch, limit or 50

    def list_versions(
        self, layer_name: str, query: Mapping[str, str | None]
    ) -> tuple[list[LayerVersion], str | None]:
        problems = validate.Problems()
        name = self._name(problems, layer_name)
        problems.raise_if_any()
        runtime, arch, limit = self._filters(query)
        versions = self.registry.layers.get(name, {})
        rows = [
            versions[v]
            for v in sorted(versions, reverse=True)
            if self._matches(versions[v], runtime, arch)
        ]
        return paginate(rows, query.get("Marker"), limit)

    def list_layers(self, query: Mapping[str, str | None]) -> tuple[list[LayerVersion], str | None]:
        runtime, arch, limit = self._filters(query)
        rows = []
        for name in sorted(self.registry.layers):
            versions = self.registry.layers[name]
            matching = [
                versions[v]
                for v in sorted(versions, reverse=True)
                if self._matches(versions[v], runtime, arch)
            ]
            if matching:
                rows.append(matching[0])
        return paginate(rows, query.get("Marker"), limit)
