"""Embedded Metric Format parsing (telemetry.md §5): real Powertools output, spec rules."""

from __future__ import annotations

import copy
import json
import random
import time
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit
from aws_lambda_powertools.metrics.provider.base import reset_cold_start_flag_provider

from lconsole.model.metrics import EmfResult, MetricDatum
from lconsole.telemetry import emf

TS = 1763950105448


@pytest.fixture
def powertools(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    metrics = Metrics()
    metrics.clear_metrics()  # the metric set is shared by every Metrics instance
    metrics.clear_default_dimensions()
    yield metrics
    metrics.clear_metrics()
    metrics.clear_default_dimensions()


def _printed_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if line]


def test_real_powertools_flush_parses_into_datums(powertools: Metrics,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = int(time.time() * 1000)
    powertools.add_dimension(name="env", value="dev")
    powertools.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=1)
    powertools.add_metric(name="OrderPlaced", unit=MetricUnit.Count, value=2)
    powertools.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=12.5,
                          resolution=MetricResolution.High)
    powertools.flush_metrics()
    (line,) = _printed_lines(capsys)
    result = emf.parse(line)
    assert result is not None and result.error is None
    placed, latency = result.datums
    dims = (("env", "dev"), ("service", "orders"))
    assert placed == MetricDatum("Shop", "OrderPlaced", (1.0, 2.0), placed.timestamp_ms, dims,
                                 "Count", 60)
    assert latency == MetricDatum("Shop", "Latency", (12.5,), placed.timestamp_ms, dims,
                                  "Milliseconds", 1)
    assert before <= placed.timestamp_ms <= int(time.time() * 1000)


def test_real_powertools_cold_start_line_comes_first(powertools: Metrics,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    reset_cold_start_flag_provider()

    @powertools.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: object) -> str:
        powertools.add_metric(name="OrderValue", unit=MetricUnit.Count, value=event["value"])
        return "ok"

    context = SimpleNamespace(function_name="orders-fn", memory_limit_in_mb=128,
                              invoked_function_arn="arn:aws:lambda:us-east-1:1:function:x",
                              aws_request_id="r-1")
    assert handler({"value": 3}, context) == "ok"
    cold, business = (emf.parse(line) for line in _printed_lines(capsys))
    assert cold is not None and business is not None
    (cold_start,) = cold.datums
    assert (cold_start.name, cold_start.values, cold_start.unit) == ("ColdStart", (1.0,), "Count")
    assert dict(cold_start.dimensions) == {"function_name": "orders-fn", "service": "orders"}
    (value,) = business.datums
    assert (value.namespace, value.name, value.values) == ("Shop", "OrderValue", (3.0,))
    assert value.dimensions == (("service", "orders"),)


def _doc(**root: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_aws": {"Timestamp": TS, "CloudWatchMetrics": [{
            "Namespace": "Shop",
            "Dimensions": [["service"], ["service", "region"]],
            "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Orders"}],
        }]},
        "service": "orders", "region": "eu", "Latency": [3, 4.5], "Orders": 2,
        "requestId": "not a metric",
    }
    doc.update(root)
    return doc


def _parse(doc: Any) -> EmfResult | None:
    return emf.parse(json.dumps(doc))


def test_each_dimension_set_makes_its_own_metric() -> None:
    result = _parse(_doc())
    assert result is not None and result.error is None
    assert [(d.name, d.dimensions, d.values, d.unit) for d in result.datums] == [
        ("Latency", (("service", "orders"),), (3.0, 4.5), "Milliseconds"),
        ("Latency", (("service", "orders"), ("region", "eu")), (3.0, 4.5), "Milliseconds"),
        ("Orders", (("service", "orders"),), (2.0,), "None"),
        ("Orders", (("service", "orders"), ("region", "eu")), (2.0,), "None"),
    ]
    assert all(d.timestamp_ms == TS and d.storage_resolution == 60 for d in result.datums)


def test_dimensionless_sets_flat_keys_and_a_trailing_newline() -> None:
    doc = {"_aws": {"Timestamp": TS, "CloudWatchMetrics": [
        {"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Name": "A.a"}]}]},
        "A.a": 1, "A": {"a": 99}}
    result = emf.parse(json.dumps(doc) + "\n")
    assert result is not None
    (datum,) = result.datums
    assert (datum.name, datum.dimensions, datum.values) == ("A.a", (), (1.0,))


def test_several_directives_and_other_aws_members() -> None:
    doc = _doc()
    doc["_aws"]["LambdaInsights"] = {"ShareTelemetry": True}
    doc["_aws"]["CloudWatchMetrics"].append(
        {"Namespace": "Other", "Dimensions": [["region"]], "Metrics": [{"Name": "Orders"}]})
    result = _parse(doc)
    assert result is not None and result.error is None
    assert [d.namespace for d in result.datums] == ["Shop"] * 4 + ["Other"]


@pytest.mark.parametrize("line", [
    "START RequestId: 8f5a Version: $LATEST",
    '{"level": "INFO", "message": "no metrics here"}',
    '["_aws"]',
    "",
    "{",
])
def test_ordinary_lines_are_not_emf(line: str) -> None:
    assert emf.parse(line) is None


def _mutated(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = _doc()
    target = doc
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DELETE = object()
_DIRECTIVE = ("_aws", "CloudWatchMetrics", 0)


@pytest.mark.parametrize(("path", "value", "reason"), [
    (("_aws",), [], "_aws must be an object"),
    (("_aws", "Timestamp"), _DELETE, "Timestamp"),
    (("_aws", "Timestamp"), "1763950105448", "Timestamp"),
    (("_aws", "Timestamp"), 1763950105448.5, "Timestamp"),
    (("_aws", "Timestamp"), True, "Timestamp"),
    (("_aws", "CloudWatchMetrics"), _DELETE, "CloudWatchMetrics"),
    (("_aws", "CloudWatchMetrics"), {}, "CloudWatchMetrics"),
    ((*_DIRECTIVE, "Namespace"), _DELETE, "Namespace"),
    ((*_DIRECTIVE, "Namespace"), "", "Namespace"),
    ((*_DIRECTIVE, "Namespace"), "N" * 1025, "Namespace"),
    ((*_DIRECTIVE, "Dimensions"), [], "Dimensions"),
    ((*_DIRECTIVE, "Dimensions"), _DELETE, "Dimensions"),
    ((*_DIRECTIVE, "Dimensions"), [["service", 3]], "Dimensions[0]"),
    ((*_DIRECTIVE, "Dimensions"), [["missing"]], "'missing'"),
    ((*_DIRECTIVE, "Metrics"), _DELETE, "Metrics"),
    ((*_DIRECTIVE, "Metrics", 0, "Name"), _DELETE, "Name"),
    ((*_DIRECTIVE, "Metrics", 0, "Unit"), "Millis", "Unit"),
    ((*_DIRECTIVE, "Metrics", 0, "StorageResolution"), 5, "StorageResolution"),
    ((*_DIRECTIVE, "Metrics", 0, "Name"), "Absent", "'Absent'"),
    (("service",), 7, "'service'"),
    (("service",), "", "'service'"),
    (("service",), "s" * 1025, "'service'"),
    (("Latency",), "12", "'Latency'"),
    (("Latency",), True, "'Latency'"),
    (("Latency",), [1, "2"], "'Latency'"),
    (("Latency",), [], "'Latency'"),
    (("Latency",), [1.0] * 101, "'Latency'"),
    (("Latency",), {"Values": [1], "Counts": [2]}, "'Latency'"),
    (("Latency",), 10 ** 400, "'Latency'"),
])
def test_invalid_documents_are_rejected_with_a_reason(path: tuple[Any, ...], value: Any,
                                                      reason: str) -> None:
    result = _parse(_mutated(path, value))
    assert result is not None
    assert result.datums == ()
    assert result.error is not None and reason in result.error


def test_limits_on_dimensions_and_metrics() -> None:
    keys = [f"d{i}" for i in range(31)]
    doc = _doc(**dict.fromkeys(keys, "v"))
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [keys[:30]]
    ok = _parse(doc)
    assert ok is not None and ok.error is None and len(ok.datums[0].dimensions) == 30
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [keys]
    too_many = _parse(doc)
    assert too_many is not None and "at most 30" in (too_many.error or "")

    names = {f"m{i}": 1 for i in range(101)}
    doc = _doc(**names)
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] = [{"Name": n} for n in list(names)[:100]]
    ok = _parse(doc)
    assert ok is not None and len(ok.datums) == 200  # 100 metrics x 2 dimension sets
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] = [{"Name": n} for n in names]
    too_many = _parse(doc)
    assert too_many is not None and "at most 100" in (too_many.error or "")
    full = _parse(_doc(Latency=[2.0] * 100))
    assert full is not None and full.datums[0].values == (2.0,) * 100


def test_whole_line_rules() -> None:
    prefixed = f"2025-11-24T02:08:25.448Z\tr-1\tINFO\t{json.dumps(_doc())}"
    result = emf.parse(prefixed)
    assert result is not None and "whole log line" in (result.error or "")
    broken = emf.parse('{"_aws": {"Timestamp": 1,')
    assert broken is not None and "not valid JSON" in (broken.error or "")
    nan = emf.parse(json.dumps(_doc(Latency=float("nan"))))
    assert nan is not None and nan.error is not None
    big = emf.parse(json.dumps(_doc(padding="x" * (1024 * 1024))))
    assert big is not None and "exceeds" in (big.error or "")


def test_the_parser_never_raises() -> None:
    rng = random.Random(11)
    base = json.dumps(_doc())
    junk: list[Any] = [None, True, -1, 0.5, "", "x", [], {}, [[]], {"a": 1}, 2 ** 70]
    outcomes = set()
    for _ in range(2000):
        if rng.random() < 0.5:  # damage the text
            i = rng.randrange(len(base))
            line = base[:i] + rng.choice(['"', "{", "]", ",", "", "\\"]) + base[i + 1:]
        else:  # replace a random node of the document
            doc = copy.deepcopy(_doc())
            node: Any = doc
            while isinstance(node, dict | list) and node and rng.random() < 0.7:
                key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
                if not isinstance(node[key], dict | list) or rng.random() < 0.3:
                    node[key] = rng.choice(junk)
                    break
                node = node[key]
            line = json.dumps(doc)
        result = emf.parse(line)
        assert result is None or isinstance(result, EmfResult)
        outcomes.add("none" if result is None else "error" if result.error else "ok")
    assert outcomes == {"none", "error", "ok"}
