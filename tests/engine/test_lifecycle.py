"""Environment lifecycle: draining on update, idle reaping, client context forwarding."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files
from tests.support.processes import wait_gone

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
APP = """
import os

def handler(event, context):
    cc = context.client_context
    return {
        "pid": os.getpid(),
        "stage": os.environ.get("STAGE"),
        "custom": cc.custom if cc is not None else None,
        "stream": context.log_stream_name,
    }
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path_factory.mktemp("state"), "--idle-ttl", "1") as proc:
        yield proc


def _call(lam, name: str, **kw) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(lam.invoke(FunctionName=name, Payload=b"{}", **kw)["Payload"].read())


def _create(lam, name: str, **kw) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name,
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": APP})},
        **kw,
    )


def test_update_drains_old_environments(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "drain", Environment={"Variables": {"STAGE": "one"}})
    before = _call(lam, "drain")
    assert before["stage"] == "one"
    lam.update_function_configuration(
        FunctionName="drain", Environment={"Variables": {"STAGE": "two"}}
    )
    after = _call(lam, "drain")
    assert after["stage"] == "two" and after["stream"] != before["stream"]
    assert wait_gone(before["pid"])


def test_idle_environments_are_reaped(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "idle")
    first = _call(lam, "idle")
    assert wait_gone(first["pid"])
    second = _call(lam, "idle")
    assert second["stream"] != first["stream"]


def test_client_context_reaches_the_handler(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "ctx")
    context = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    assert _call(lam, "ctx", ClientContext=context)["custom"] == {"tenant": "t1"}
    assert _call(lam, "ctx")["custom"] is None


def test_json_log_format_writes_platform_records(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "jsonlogs", LoggingConfig={"LogFormat": "JSON"})
    resp = lam.invoke(FunctionName="jsonlogs", Payload=b"{}", LogType="Tail")
    request_id = resp["ResponseMetadata"]["RequestId"]
    records = [
        json.loads(line)
        for line in base64.b64decode(resp["LogResult"]).decode().splitlines()
        if line.startswith('{"time"')
    ]
    kinds = [r["type"] for r in records]
    assert kinds[0] == "platform.start" and kinds[-1] == "platform.report"
    start, report = records[0]["record"], records[-1]["record"]
    assert start["requestId"] == request_id and start["version"] == "$LATEST"
    assert report["status"] == "success" and report["requestId"] == request_id
    assert set(report["metrics"]) == {
        "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs",
    }  # fmt: skip
