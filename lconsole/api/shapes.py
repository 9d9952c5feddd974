"""Model records to AWS wire JSON, keys in botocore member order."""

from __future__ import annotations

from typing import Any

from lconsole.model.alias import Alias
from lconsole.model.function import FunctionConfig, State, UpdateStatus
from lconsole.model.settings import EventInvokeConfig, LayerVersion, ProvisionedConcurrency

RUNTIME_VERSION_HASH = "0" * 64


def function_configuration(
    config: FunctionConfig,
    *,
    arn: str,
    region: str,
    listing: bool = False,
    layer_location: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "FunctionName": config.name,
        "FunctionArn": arn,
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "LastModified": config.last_modified,
        "CodeSha256": config.code_sha256,
        "Version": config.version,
    }
    if config.vpc_config:
        out["VpcConfig"] = {
            "SubnetIds": list(config.vpc_config.get("SubnetIds") or []),
            "SecurityGroupIds": list(config.vpc_config.get("SecurityGroupIds") or []),
            "VpcId": "",
            "Ipv6AllowedForDualStack": bool(config.vpc_config.get("Ipv6AllowedForDualStack")),
        }
    if config.dead_letter_target:
        out["DeadLetterConfig"] = {"TargetArn": config.dead_letter_target}
    if config.environment is not None:
        out["Environment"] = {"Variables": dict(config.environment)}
    if config.kms_key_arn:
        out["KMSKeyArn"] = config.kms_key_arn
    out["TracingConfig"] = {"Mode": config.tracing_mode}
    out["RevisionId"] = config.revision_id
    if config.layers:
        out["Layers"] = [{"Arn": layer.arn, "CodeSize": layer.code_size} for layer in config.layers]
    if not listing:
        out["State"] = config.state.value
        if config.state is State.PENDING:
            out["StateReason"] = "The function is being created."
            out["StateReasonCode"] = "Creating"
        if config.last_update_status is not None:
            out["LastUpdateStatus"] = config.last_update_status.value
            if config.last_update_status is UpdateStatus.IN_PROGRESS:
                out["LastUpdateStatusReason"] = "The function is being created."
                out["LastUpdateStatusReasonCode"] = "Creating"
    out["PackageType"] = config.package_type
    out["Architectures"] = list(config.architectures)
    out["EphemeralStorage"] = {"Size": config.ephemeral_storage}
    out["SnapStart"] = {"ApplyOn": config.snap_start_apply_on, "OptimizationStatus": "Off"}
    if not listing:
        out["RuntimeVersionConfig"] = {
            "RuntimeVersionArn": f"arn:aws:lambda:{region}::runtime:{RUNTIME_VERSION_HASH}"
        }
    logging: dict[str, Any] = {"LogFormat": config.logging.log_format}
    if config.logging.application_log_level:
        logging["ApplicationLogLevel"] = config.logging.application_log_level
    if config.logging.system_log_level:
        logging["SystemLogLevel"] = config.logging.system_log_level
    logging["LogGroup"] = config.log_group
    out["LoggingConfig"] = logging
    return out


def alias(value: Alias, arn: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AliasArn": arn,
        "Name": value.name,
        "FunctionVersion": value.function_version,
        "Description": value.description,
    }
    if value.additional_weights:
        out["RoutingConfig"] = {"AdditionalVersionWeights": dict(value.additional_weights)}
    out["RevisionId"] = value.revision_id
    return out


def provisioned(config: ProvisionedConcurrency, arn: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if arn is not None:
        out["FunctionArn"] = arn
    out.update(
        {
            "RequestedProvisionedConcurrentExecutions": config.requested,
            "AvailableProvisionedConcurrentExecutions": config.allocated,
            "AllocatedProvisionedConcurrentExecutions": config.allocated,
            "Status": config.status,
        }
    )
    if config.status_reason:
        out["StatusReason"] = config.status_reason
    out["LastModified"] = config.last_modified
    return out


def event_invoke_config(config: EventInvokeConfig, arn: str) -> dict[str, Any]:
    out: dict[str, Any] = {"LastModified": config.last_modified, "FunctionArn": arn}
    if config.maximum_retry_attempts is not None:
        out["MaximumRetryAttempts"] = config.maximum_retry_attempts
    if config.maximum_event_age_seconds is not None:
        out["MaximumEventAgeInSeconds"] = config.maximum_event_age_seconds
    out["DestinationConfig"] = {
        "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
        "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
    }
    return out


def layer_version(
    layer: LayerVersion, *, layer_arn: str, location: str, listing: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not listing:
        out["Content"] = {
            "Location": location,
            "CodeSha256": layer.code_sha256,
            "CodeSize": layer.code_size,
        }
        out["LayerArn"] = layer_arn
    out["LayerVersionArn"] = f"{layer_arn}:{layer.version}"
    if listing:
        out["Version"] = layer.version
    out["Description"] = layer.description
    out["CreatedDate"] = layer.created
    if not listing:
        out["Version"] = layer.version
    if layer.compatible_runtimes:
        out["CompatibleRuntimes"] = list(layer.compatible_runtimes)
    if layer.license_info is not None:
        out["LicenseInfo"] = layer.license_info
    if layer.compatible_architectures:
        out["CompatibleArchitectures"] = list(layer.compatible_architectures)
    return out
