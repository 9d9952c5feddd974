"""Create, read, update and delete functions, and publish their versions."""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from lconsole.engine import names, validate
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.function import (
    FunctionConfig,
    LayerRef,
    LoggingConfig,
    State,
    UpdateStatus,
)
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import AccountLimits
from lconsole.model.timefmt import last_modified
from lconsole.store.code import MAX_UNZIPPED, CodeStore, StoredCode

MAX_ZIPPED = 52428800


def new_revision() -> str:
    return str(uuid.uuid4())


def _fingerprint(config: FunctionConfig) -> str:
    return hashlib.sha256(repr(config.fingerprint()).encode()).hexdigest()


def decode_zip(value: Any) -> bytes:
    if not isinstance(value, str):
        raise errors.invalid_parameter(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_parameter(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None


@dataclasses.dataclass(frozen=True)
class Change:
    """What a write returns: the config to answer with and how to present it."""

    config: FunctionConfig
    qualified_arn: bool = False


class Functions:
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

    # Helpers ------------------------------------------------------------------------------

    def _resolve(
        self, value: str | None, qualifier: str | None = None, shape: str = "FunctionName"
    ) -> tuple[str, str | None]:
        return names.resolve(
            value,
            qualifier,
            region=self.registry.region,
            account=self.registry.account,
            shape=shape,
        )

    def _only_latest(self, qualifier: str | None) -> None:
        if qualifier is not None and qualifier != arns.LATEST:
            raise errors.invalid_parameter(
                "Current operation does not support versions other than $LATEST. Please set the "
                "version to $LATEST or do not set a version in your request."
            )

    def _check_revision(self, given: str | None, current: str) -> None:
        if given is not None and given != current:
            raise errors.precondition_failed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )

    async def _store_code(self, code: Mapping[str, Any]) -> StoredCode:
        if code.get("ImageUri"):
            raise errors.invalid_parameter(
                "Please don't provide ImageUri when updating a function with packageType Zip."
            )
        if "ZipFile" not in code:
            if code.get("S3Bucket"):
                raise errors.invalid_parameter(
                    "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error "
                    "Message: The specified bucket does not exist"
                )
            raise errors.invalid_parameter("Please provide a source for function code (ZipFile).")
        data = await asyncio.to_thread(decode_zip, code["ZipFile"])
        if len(data) > MAX_ZIPPED:
            raise errors.request_too_large(f"Zipped size must be smaller than {MAX_ZIPPED} bytes")
        stored = await asyncio.to_thread(self.code.put_zip, data)
        if self.registry.total_code_size() + stored.size > self.limits.total_code_size:
            raise errors.code_storage_exceeded()
        return stored

    def _layers(self, arn_list: list[str] | None, unzipped: int) -> tuple[LayerRef, ...]:
        if not arn_list:
            return ()
        if len(arn_list) > validate.MAX_LAYERS:
            raise errors.invalid_parameter("Cannot reference more than 5 layers.")
        seen: dict[str, str] = {}
        refs = []
        total = unzipped
        for layer_arn in arn_list:
            ref = arns.parse_layer_version_arn(layer_arn)
            if ref is None:
                raise errors.invalid_parameter(f"Layer version {layer_arn} does not exist.")
            if ref.region != self.registry.region:
                raise errors.invalid_parameter(
                    "Layers are not in the same region as the function. Layers are expected to "
                    f"be in region {self.registry.region}."
                )
            layer = self.registry.layers.get(ref.name, {}).get(ref.version)
            if layer is None or ref.account != self.registry.account:
                raise errors.invalid_parameter(f"Layer version {layer_arn} does not exist.")
            base = layer_arn.rsplit(":", 1)[0]
            if base in seen:
                raise errors.invalid_parameter(
                    "Two different versions of the same layer are not allowed to be referenced "
                    f"in the same function. {seen[base]} and {layer_arn} are versions of the "
                    "same layer."
                )
            seen[base] = layer_arn
            total += layer.unzipped_size
            refs.append(LayerRef(layer_arn, layer.code_size))
        if total >= MAX_UNZIPPED:
            raise errors.invalid_parameter(
                "Function code combined with layers exceeds the maximum allowed size of "
                f"{MAX_UNZIPPED} bytes. The actual size is {total} bytes."
            )
        return tuple(refs)

    @staticmethod
    def _logging(body: Mapping[str, Any], current: LoggingConfig | None = None) -> LoggingConfig:
        given = body.get("LoggingConfig")
        base = current or LoggingConfig()
        if not given:
            return base
        fmt = given.get("LogFormat", base.log_format)
        app = given.get("ApplicationLogLevel", base.application_log_level)
        system = given.get("SystemLogLevel", base.system_log_level)
        if fmt == "JSON":
            app = app or "INFO"
            system = system or "INFO"
        elif "LogFormat" in given:
            app = system = None
        return LoggingConfig(fmt, given.get("LogGroup", base.log_group), app, system)

    # Create -------------------------------------------------------------------------------

    async def create(self, body: Mapping[str, Any]) -> Change:
        problems = validate.Problems()
        raw_name = body.get("FunctionName")
        if raw_name is None:
            problems.required(None, "functionName")
        else:
            validate.function_name(problems, raw_name, "FunctionName")
        if body.get("Role") is None:
            problems.required(None, "role")
        if body.get("Code") is None:
            problems.required(None, "code")
        validate.configuration(problems, body)
        validate.architectures(problems, body.get("Architectures"))
        problems.raise_if_any()
        name, _ = names.resolve(
            raw_name,
            None,
            region=self.registry.region,
            account=self.registry.account,
            shape="FunctionName",
            check_account=True,
        )
        if len(name) > 64:
            raise errors.invalid_parameter(
                f"1 validation error detected: Value '{name}' at 'functionName' failed to "
                "satisfy constraint: Member must have length less than or equal to 64"
            )
        package_type = body.get("PackageType", "Zip")
        if package_type == "Image":
            raise errors.invalid_parameter(
                "PackageType Image is not supported by the local executor; deploy a Zip package."
            )
        if not body.get("Runtime") or not body.get("Handler"):
            raise errors.invalid_parameter(
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages."
            )
        validate.runtime(body.get("Runtime"))
        env = (body.get("Environment") or {}).get("Variables")
        validate.environment(env)
        tags = body.get("Tags")
        if tags is not None and len(tags) > 50:
            raise errors.invalid_parameter("Number of tags exceeds resource tag limit.")
        if self.registry.find(name) is not None:
            raise errors.conflict(f"Function already exist: {name}")
        # Layers are checked before the (slow) package is stored.
        self._layers(body.get("Layers"), 0)
        stored = await self._store_code(body["Code"])
        layers = self._layers(body.get("Layers"), stored.unzipped_size)
        if self.registry.find(name) is not None:  # created while the package was stored
            raise errors.conflict(f"Function already exist: {name}")
        now = self.clock()
        environment = None
        if body.get("Environment") is not None:
            environment = dict(env or {})
        config = FunctionConfig(
            name=name,
            version=arns.LATEST,
            runtime=body["Runtime"],
            role=body["Role"],
            handler=body["Handler"],
            code_sha256=stored.sha256,
            code_size=stored.size,
            code_id=stored.code_id,
            unzipped_size=stored.unzipped_size,
            last_modified=last_modified(now),
            revision_id=new_revision(),
            description=body.get("Description", ""),
            timeout=body.get("Timeout", 3),
            memory_size=body.get("MemorySize", 128),
            environment=environment,
            tracing_mode=(body.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            layers=layers,
            architectures=tuple(body.get("Architectures") or ("x86_64",)),
            ephemeral_storage=(body.get("EphemeralStorage") or {}).get("Size", 512),
            logging=self._logging(body),
            dead_letter_target=(body.get("DeadLetterConfig") or {}).get("TargetArn") or None,
            kms_key_arn=body.get("KMSKeyArn") or None,
            vpc_config=body.get("VpcConfig"),
            snap_start_apply_on=(body.get("SnapStart") or {}).get("ApplyOn", "None"),
            state=State.PENDING,
            last_update_status=None,
        )
        # Activation is immediate locally: the answer shows Pending (as AWS's does) while the
        # stored function is already Active with a fresh revision.
        active = dataclasses.replace(
            config,
            state=State.ACTIVE,
            last_update_status=UpdateStatus.SUCCESSFUL,
            revision_id=new_revision(),
        )
        record = FunctionRecord(
            name=name,
            created=config.last_modified,
            latest=active,
            tags=dict(tags or {}),
        )
        new_versions: list[FunctionConfig] = []
        answer = config
        if body.get("Publish"):
            record, version = self._publish(record, None)
            new_versions.append(version)
            answer = dataclasses.replace(config, version=version.version)
        self.registry.commit(record, new_versions)
        return Change(answer)

    # Read ---------------------------------------------------------------------------------

    def get(
        self, value: str | None, qualifier: str | None
    ) -> tuple[FunctionRecord, FunctionConfig, str | None]:
        name, q = self._resolve(value, qualifier, "NamespacedFunctionName")
        record = self.registry.require(name, q)
        return record, self.registry.resolve_version(record, q), q

    def list(
        self, marker: str | None, max_items: str | None, function_version: str | None
    ) -> tuple[list[FunctionConfig], str | None]:
        problems = validate.Problems()
        problems.enum(function_version, "functionVersion", ("ALL",))
        limit = validate.max_items(problems, max_items, 10000)
        problems.raise_if_any()
        rows: list[FunctionConfig] = []
        for name in sorted(self.registry.functions):
            record = self.registry.functions[name]
            rows.append(record.latest)
            if function_version == "ALL":
                rows.extend(record.versions.values())
        return paginate(rows, marker, min(limit or 50, 50))

    def list_versions(
        self, value: str | None, marker: str | None, max_items: str | None
    ) -> tuple[list[FunctionConfig], str | None]:
        problems = validate.Problems()
        limit = validate.max_items(problems, max_items, 10000)
        problems.raise_if_any()
        name, _ = self._resolve(value, None, "NamespacedFunctionName")
        record = self.registry.require(name)
        rows = [record.latest, *record.versions.values()]
        return paginate(rows, marker, min(limit or 50, 50))

    # Update -------------------------------------------------------------------------------

    async def update_code(self, value: str | None, body: Mapping[str, Any]) -> Change:
        problems = validate.Problems()
        validate.architectures(problems, body.get("Architectures"))
        name, q = self._resolve(value)
        problems.raise_if_any()
        self._only_latest(q)
        record = self.registry.require(name)
        self._check_revision(body.get("RevisionId"), record.latest.revision_id)
        stored = await self._store_code(body)
        record = self.registry.require(name)
        self._layers([lr.arn for lr in record.latest.layers], stored.unzipped_size)
        now = self.clock()
        updated = dataclasses.replace(
            record.latest,
            code_sha256=stored.sha256,
            code_size=stored.size,
            code_id=stored.code_id,
            unzipped_size=stored.unzipped_size,
            last_modified=last_modified(now),
            architectures=tuple(body.get("Architectures") or record.latest.architectures),
            revision_id=new_revision(),
        )
        if body.get("DryRun"):
            return Change(dataclasses.replace(updated, revision_id=record.latest.revision_id))
        return self._apply_update(record, updated, publish=bool(body.get("Publish")))

    def update_configuration(self, value: str | None, body: Mapping[str, Any]) -> Change:
        problems = validate.Problems()
        name, q = self._resolve(value)
        validate.configuration(problems, body)
        problems.raise_if_any()
        self._only_latest(q)
        record = self.registry.require(name)
        self._check_revision(body.get("RevisionId"), record.latest.revision_id)
        if "Runtime" in body:
            validate.runtime(body["Runtime"])
        current = record.latest
        environment = current.environment
        if "Environment" in body:
            environment = dict((body.get("Environment") or {}).get("Variables") or {})
            validate.environment(environment)
        layers = current.layers
        if "Layers" in body:
            layers = self._layers(body.get("Layers") or [], current.unzipped_size)
        changes: dict[str, Any] = {
            "environment": environment,
            "layers": layers,
            "logging": self._logging(body, current.logging),
        }
        simple = {
            "Role": "role",
            "Handler": "handler",
            "Description": "description",
            "Timeout": "timeout",
            "MemorySize": "memory_size",
            "Runtime": "runtime",
            "KMSKeyArn": "kms_key_arn",
            "VpcConfig": "vpc_config",
        }
        for key, attr in simple.items():
            if key in body:
                changes[attr] = body[key]
        if "TracingConfig" in body:
            changes["tracing_mode"] = (body["TracingConfig"] or {}).get("Mode", "PassThrough")
        if "EphemeralStorage" in body:
            changes["ephemeral_storage"] = body["EphemeralStorage"]["Size"]
        if "DeadLetterConfig" in body:
            changes["dead_letter_target"] = (body["DeadLetterConfig"] or {}).get(
                "TargetArn"
            ) or None
        if "SnapStart" in body:
            changes["snap_start_apply_on"] = (body["SnapStart"] or {}).get("ApplyOn", "None")
        updated = dataclasses.replace(
            current,
            **changes,
            last_modified=last_modified(self.clock()),
            revision_id=new_revision(),
        )
        return self._apply_update(record, updated, publish=False)

    def _apply_update(
        self, record: FunctionRecord, updated: FunctionConfig, *, publish: bool
    ) -> Change:
        """Commit a new $LATEST; the answer shows the update InProgress, as AWS's does."""
        stored = dataclasses.replace(
            updated,
            state=State.ACTIVE,
            last_update_status=UpdateStatus.SUCCESSFUL,
            revision_id=new_revision(),
        )
        record = dataclasses.replace(record, latest=stored)
        answer = dataclasses.replace(updated, last_update_status=UpdateStatus.IN_PROGRESS)
        if publish:
            record, version = self._publish(record, None)
            self.registry.commit(record, [version])
            return Change(dataclasses.replace(version, state=State.PENDING), qualified_arn=True)
        self.registry.commit(record)
        return Change(answer)

    # Versions -----------------------------------------------------------------------------

    def _publish(
        self, record: FunctionRecord, description: str | None
    ) -> tuple[FunctionRecord, FunctionConfig]:
        number = str(record.next_version)
        version = dataclasses.replace(
            record.latest,
            version=number,
            revision_id=new_revision(),
            description=record.latest.description if description is None else description,
            state=State.ACTIVE,
            last_update_status=UpdateStatus.SUCCESSFUL,
        )
        latest = dataclasses.replace(record.latest, revision_id=new_revision())
        record = dataclasses.replace(
            record,
            latest=latest,
            next_version=record.next_version + 1,
            versions={**record.versions, number: version},
            published_fingerprint=_fingerprint(record.latest),
        )
        return record, version

    def publish_version(self, value: str | None, body: Mapping[str, Any]) -> FunctionConfig:
        problems = validate.Problems()
        problems.max_length(body.get("Description"), "description", 256)
        name, q = self._resolve(value)
        problems.raise_if_any()
        self._only_latest(q)
        record = self.registry.require(name)
        current = record.latest
        sha = body.get("CodeSha256")
        if sha is not None and sha != current.code_sha256:
            raise errors.invalid_parameter(
                f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST "
                f"({current.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
            )
        self._check_revision(body.get("RevisionId"), current.revision_id)
        last = record.latest_published()
        if last is not None and record.published_fingerprint == _fingerprint(current):
            return last
        record, version = self._publish(record, body.get("Description"))
        self.registry.commit(record, [version])
        return version

    # Delete -------------------------------------------------------------------------------

    def delete(self, value: str | None, qualifier: str | None) -> None:
        name, q = self._resolve(value, qualifier, "NamespacedFunctionName")
        record = self.registry.require(name)
        if q is None:
            self.registry.remove(name)
            return
        if q == arns.LATEST:
            raise errors.invalid_parameter(
                "$LATEST version cannot be deleted without deleting the function."
            )
        if not q.isdigit():
            raise errors.invalid_parameter("Deletion of aliases is not currently supported.")
        if q not in record.versions:
            return
        using = sorted(a.name for a in record.aliases.values() if q in a.versions())
        if using:
            raise errors.conflict(
                "Unable to delete version because the following aliases reference it: "
                f"[{', '.join(using)}]"
            )
        versions = {k: v for k, v in record.versions.items() if k != q}
        record = dataclasses.replace(
            record,
            versions=versions,
            provisioned={k: v for k, v in record.provisioned.items() if k != q},
            invoke_configs={k: v for k, v in record.invoke_configs.items() if k != q},
            policies={k: v for k, v in record.policies.items() if k != q},
        )
        self.registry.commit(record, deleted_versions=[q])


def paginate(rows: list[Any], marker: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Opaque index markers; NextMarker only when more rows remain."""
    start = 0
    if marker:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode())
        except (ValueError, binascii.Error):
            raise errors.invalid_parameter("Invalid marker: " + marker) from None
    page = rows[start : start + limit]
    end = start + len(page)
    next_marker = None
    if end < len(rows):
        next_marker = base64.urlsafe_b64encode(str(end).encode()).decode()
    return page, next_marker
