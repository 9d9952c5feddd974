"""AWS-exact request validation (pure): model constraints first, then Lambda's own rules.

AWS runs its model validator over the whole request and reports every violated constraint in
one ValidationException; Lambda's business rules (runtimes, reserved keys, sizes) come after
and raise InvalidParameterValueException one at a time. The two stages are kept apart here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.function import (
    ARCHITECTURES,
    DEPRECATED_RUNTIMES,
    RESERVED_ENV_KEYS,
    SUPPORTED_RUNTIMES,
)

ENV_NAME_PATTERN = "[a-zA-Z]([a-zA-Z0-9_])+"
MAX_ENV_BYTES = 4096
MAX_LAYERS = 5


def render(value: Any) -> str:
    """How AWS's validator prints a value inside `Value '...'`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{render(k)}={render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Problems:
    """Collects model-constraint violations in request order, then raises them together."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, field: str, constraint: str) -> None:
        shown = "Value null" if value is None else f"Value '{render(value)}'"
        self.items.append(f"{shown} at '{field}' failed to satisfy constraint: {constraint}")

    def add_hidden(self, field: str, constraint: str) -> None:
        self.items.append(f"Value at '{field}' failed to satisfy constraint: {constraint}")

    def pattern(self, value: str | None, field: str, pattern: str) -> None:
        if value is not None and not arns.full_match(pattern, value):
            self.add(value, field, f"Member must satisfy regular expression pattern: {pattern}")

    def max_length(self, value: Any, field: str, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(value, field, f"Member must have length less than or equal to {limit}")

    def min_length(self, value: Any, field: str, limit: int) -> None:
        if value is not None and len(value) < limit:
            self.add(value, field, f"Member must have length greater than or equal to {limit}")

    def at_most(self, value: float | None, field: str, limit: float) -> None:
        if value is not None and value > limit:
            self.add(value, field, f"Member must have value less than or equal to {limit}")

    def at_least(self, value: float | None, field: str, limit: float) -> None:
        if value is not None and value < limit:
            self.add(value, field, f"Member must have value greater than or equal to {limit}")

    def enum(self, value: str | None, field: str, allowed: tuple[str, ...]) -> None:
        if value is not None and value not in allowed:
            self.add(value, field, f"Member must satisfy enum value set: [{', '.join(allowed)}]")

    def required(self, value: Any, field: str) -> None:
        if value is None:
            self.add(None, field, "Member must not be null")

    def raise_if_any(self) -> None:
        if self.items:
            raise errors.validation(self.items)


# Function names -------------------------------------------------------------------------

_NAME_SHAPES = {
    "FunctionName": (arns.FUNCTION_NAME_PATTERN, 140),
    "NamespacedFunctionName": (arns.NAMESPACED_FUNCTION_NAME_PATTERN, 256),
    "UnqualifiedFunctionName": (arns.UNQUALIFIED_FUNCTION_NAME_PATTERN, 140),
}


def function_name(problems: Problems, value: str, shape: str = "FunctionName") -> None:
    pattern, limit = _NAME_SHAPES[shape]
    problems.max_length(value, "functionName", limit)
    problems.pattern(value, "functionName", pattern)


def qualifier(problems: Problems, value: str | None, field: str = "qualifier") -> None:
    if value is None:
        return
    problems.min_length(value, field, 1)
    problems.max_length(value, field, 128)
    if value:
        problems.pattern(value, field, arns.QUALIFIER_PATTERN)


# Configuration ------------------------------------------------------------------------


def runtime(value: str | None) -> None:
    if value is None:
        return
    if value in DEPRECATED_RUNTIMES:
        raise errors.invalid_parameter(
            f"The runtime parameter of {value} is no longer supported for creating or updating "
            "AWS Lambda functions. We recommend you use a supported runtime while creating or "
            "updating functions."
        )
    if value not in SUPPORTED_RUNTIMES:
        raise errors.invalid_parameter(
            f"Value {value} at 'runtime' failed to satisfy constraint: Member must satisfy enum "
            f"value set: [{', '.join(SUPPORTED_RUNTIMES)}] or be a valid ARN"
        )


def configuration(problems: Problems, body: Mapping[str, Any]) -> None:
    """Model constraints shared by CreateFunction and UpdateFunctionConfiguration."""
    if "Role" in body:
        problems.pattern(body["Role"], "role", arns.ROLE_PATTERN)
    if body.get("Handler") is not None:
        problems.max_length(body["Handler"], "handler", 128)
        problems.pattern(body["Handler"], "handler", arns.HANDLER_PATTERN)
    problems.max_length(body.get("Description"), "description", 256)
    problems.at_least(body.get("Timeout"), "timeout", 1)
    problems.at_most(body.get("Timeout"), "timeout", 900)
    problems.at_least(body.get("MemorySize"), "memorySize", 128)
    problems.at_most(body.get("MemorySize"), "memorySize", 10240)
    env = (body.get("Environment") or {}).get("Variables")
    if env and any(not arns.full_match(ENV_NAME_PATTERN, k) for k in env):
        problems.add_hidden(
            "environment.variables",
            "Map keys must satisfy constraint: [Member must satisfy regular expression "
            f"pattern: {ENV_NAME_PATTERN}]",
        )
    tracing = (body.get("TracingConfig") or {}).get("Mode")
    problems.enum(tracing, "tracingConfig.mode", ("Active", "PassThrough"))
    storage = body.get("EphemeralStorage")
    if storage is not None:
        size = storage.get("Size")
        problems.required(size, "ephemeralStorage.size")
        problems.at_least(size, "ephemeralStorage.size", 512)
        problems.at_most(size, "ephemeralStorage.size", 10240)
    logging = body.get("LoggingConfig")
    if logging:
        problems.enum(logging.get("LogFormat"), "loggingConfig.logFormat", ("JSON", "Text"))
        problems.enum(
            logging.get("ApplicationLogLevel"),
            "loggingConfig.applicationLogLevel",
            ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"),
        )
        problems.enum(
            logging.get("SystemLogLevel"),
            "loggingConfig.systemLogLevel",
            ("DEBUG", "INFO", "WARN"),
        )
        group = logging.get("LogGroup")
        if group is not None:
            problems.max_length(group, "loggingConfig.logGroup", 512)
            problems.pattern(group, "loggingConfig.logGroup", r"[\.\-_/#A-Za-z0-9]+")
    layers = body.get("Layers")
    if layers is not None:
        bad = [a for a in layers if not arns.full_match(arns.LAYER_VERSION_ARN_PATTERN, a)]
        if bad:
            problems.add(
                layers,
                "layers",
                "Member must satisfy constraint: [Member must have length less than or equal "
                "to 2048, Member must have length greater than or equal to 1, Member must "
                f"satisfy regular expression pattern: {arns.LAYER_VERSION_ARN_PATTERN}, Member "
                "must not be null]",
            )


def architectures(problems: Problems, value: Any) -> None:
    if value is None:
        return
    if any(a not in ARCHITECTURES for a in value):
        problems.add(
            value,
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: "
            "[x86_64, arm64], Member must not be null]",
        )
    problems.max_length(value, "architectures", 1)
    problems.min_length(value, "architectures", 1)


def environment(variables: Mapping[str, str] | None) -> None:
    """Lambda's own environment rules: reserved keys, then the 4 KB budget."""
    if not variables:
        return
    reserved = [k for k in variables if k in RESERVED_ENV_KEYS]
    if reserved:
        raise errors.invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not "
            f"supported for modification. Reserved keys used in this request: "
            f"{', '.join(reserved)}"
        )
    measured = json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode("utf-8")) > MAX_ENV_BYTES:
        raise errors.invalid_parameter(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. String measured: " + measured
        )


def alias_name(problems: Problems, value: str | None, field: str = "name") -> None:
    if value is None:
        return
    problems.min_length(value, field, 1)
    problems.max_length(value, field, 128)
    problems.pattern(value, field, arns.ALIAS_PATTERN)


def routing_weights(problems: Problems, weights: Mapping[str, Any] | None) -> None:
    if not weights:
        return
    field = "routingConfig.additionalVersionWeights"
    if any(not arns.full_match("[0-9]+", k) or len(k) > 1024 for k in weights):
        problems.add(
            dict(weights),
            field,
            "Map keys must satisfy constraint: [Member must have length less than or equal to "
            "1024, Member must have length greater than or equal to 1, Member must satisfy "
            "regular expression pattern: [0-9]+]",
        )
    if any(not isinstance(w, (int, float)) or w < 0 or w > 1 for w in weights.values()):
        problems.add(
            {k: float(v) if isinstance(v, (int, float)) else v for k, v in weights.items()},
            field,
            "Map value must satisfy constraint: [Member must have value less than or equal to "
            "1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
        )


def max_items(problems: Problems, value: str | None, limit: int) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        problems.add(value, "maxItems", "Member must be an integer")
        return None
    problems.at_least(n, "maxItems", 1)
    problems.at_most(n, "maxItems", limit)
    return n
