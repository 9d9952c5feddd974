"""Embedded Metric Format: turn one log line into custom metric datums (telemetry.md §5).

A line is EMF when it *is* a JSON object with an `_aws` member; the rules of the CloudWatch
specification are checked and a document that breaks any of them is rejected whole, with the
reason, and stays an ordinary log line. The parser never raises on its input.
"""

from __future__ import annotations

import json
import math
from typing import Any

from lconsole.model.metrics import EmfResult, MetricDatum

MAX_EVENT_BYTES = 1024 * 1024
MAX_METRICS = 100  # MetricDefinitions per directive
MAX_DIMENSIONS = 30  # keys per DimensionSet
MAX_VALUES = 100  # numbers in one metric's array
MAX_NAME = 1024  # Namespace, metric name and dimension value lengths (schema)
MAX_MAGNITUDE = 2.0 ** 360  # CloudWatch rejects values outside ±2^360
RESOLUTIONS = (1, 60)
UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
})


class _Invalid(Exception):
    """A rule of the specification is broken; the message says which."""


def parse(message: str) -> EmfResult | None:
    """Datums of one log event's message; None when the line is not an EMF document at all."""
    text = message.strip()
    if not text.startswith("{"):
        brace = text.find("{")
        if brace > 0 and '"_aws"' in text[brace:]:
            return EmfResult(error="EMF must be the whole log line: text precedes the JSON object")
        return None
    if '"_aws"' not in text:
        return None
    if len(text.encode()) > MAX_EVENT_BYTES:
        return EmfResult(error=f"document exceeds {MAX_EVENT_BYTES} bytes")
    try:
        doc = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        return EmfResult(error=f"not valid JSON: {exc}")
    if not isinstance(doc, dict) or "_aws" not in doc:
        return None
    try:
        return EmfResult(datums=tuple(_datums(doc)))
    except _Invalid as exc:
        return EmfResult(error=str(exc))


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _datums(doc: dict[str, Any]) -> list[MetricDatum]:
    meta = doc["_aws"]
    if not isinstance(meta, dict):
        raise _Invalid("_aws must be an object")
    timestamp = meta.get("Timestamp")
    if not _is_int(timestamp) or timestamp < 0:
        raise _Invalid("_aws.Timestamp must be an integer (epoch milliseconds)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise _Invalid("_aws.CloudWatchMetrics must be an array of MetricDirectives")
    datums: list[MetricDatum] = []
    for i, directive in enumerate(directives):
        datums.extend(_directive(doc, directive, f"CloudWatchMetrics[{i}]", timestamp))
    return datums


def _directive(doc: dict[str, Any], directive: Any, where: str, ts: int) -> list[MetricDatum]:
    if not isinstance(directive, dict):
        raise _Invalid(f"{where} must be an object")
    namespace = directive.get("Namespace")
    if not _is_name(namespace):
        raise _Invalid(f"{where}.Namespace must be a string of 1-{MAX_NAME} characters")
    sets = directive.get("Dimensions")
    if not isinstance(sets, list) or not sets:
        raise _Invalid(f"{where}.Dimensions must be a non-empty array of DimensionSets")
    resolved = [_dimension_set(doc, s, f"{where}.Dimensions[{j}]") for j, s in enumerate(sets)]
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        raise _Invalid(f"{where}.Metrics must be an array of MetricDefinitions")
    if len(metrics) > MAX_METRICS:
        raise _Invalid(f"{where}.Metrics has {len(metrics)} entries; at most {MAX_METRICS}")
    datums = []
    for k, definition in enumerate(metrics):
        name, unit, resolution, values = _metric(doc, definition, f"{where}.Metrics[{k}]")
        datums.extend(MetricDatum(namespace, name, values, ts, dims, unit, resolution)
                      for dims in resolved)
    return datums


def _dimension_set(doc: dict[str, Any], keys: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _Invalid(f"{where} must be an array of member names")
    if len(keys) > MAX_DIMENSIONS:
        raise _Invalid(f"{where} has {len(keys)} dimensions; at most {MAX_DIMENSIONS}")
    pairs = []
    for key in dict.fromkeys(keys):
        if key not in doc:
            raise _Invalid(f"dimension {key!r} in {where} has no root member")
        if not _is_name(doc[key]):
            raise _Invalid(f"dimension {key!r} must be a string of 1-{MAX_NAME} characters")
        pairs.append((key, doc[key]))
    return tuple(pairs)


def _metric(doc: dict[str, Any], definition: Any, where: str
            ) -> tuple[str, str, int, tuple[float, ...]]:
    if not isinstance(definition, dict):
        raise _Invalid(f"{where} must be an object")
    name = definition.get("Name")
    if not _is_name(name):
        raise _Invalid(f"{where}.Name must be a string of 1-{MAX_NAME} characters")
    unit = definition.get("Unit", "None")
    if unit not in UNITS:
        raise _Invalid(f"{where}.Unit {unit!r} is not a CloudWatch unit")
    resolution = definition.get("StorageResolution", 60)
    if not _is_int(resolution) or resolution not in RESOLUTIONS:
        raise _Invalid(f"{where}.StorageResolution must be 1 or 60")
    if name not in doc:
        raise _Invalid(f"metric {name!r} has no root member")
    target = doc[name]
    values = target if isinstance(target, list) else [target]
    if isinstance(target, list) and not 1 <= len(target) <= MAX_VALUES:
        raise _Invalid(f"metric {name!r} must hold 1-{MAX_VALUES} values")
    if not all(_is_number(v) for v in values):
        raise _Invalid(f"metric {name!r} must be a number or an array of numbers")
    return name, unit, resolution, tuple(float(v) for v in values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):  # may be too large for a float: compare exactly
        return abs(value) <= MAX_MAGNITUDE
    return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_NAME
