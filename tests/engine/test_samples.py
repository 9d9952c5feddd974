"""The sample functions load with `serve --samples` and each one runs."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.engine import EngineProcess


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path_factory.mktemp("state"), "--samples") as proc:
        yield proc


def test_samples_are_loaded_and_run(lam) -> None:  # type: ignore[no-untyped-def]
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert {"python-echo", "python-xray", "node-hello", "shell-bootstrap"} <= names
    out = json.loads(lam.invoke(FunctionName="python-echo", Payload=b'{"k": 1}')["Payload"].read())
    assert out["echo"] == {"k": 1} and out["count"] == 1
    resp = lam.invoke(FunctionName="python-xray", Payload=b'{"items": [1, 2, 3]}')
    assert "FunctionError" not in resp, resp["Payload"].read()
    out = json.loads(lam.invoke(FunctionName="shell-bootstrap", Payload=b"[1]")["Payload"].read())
    assert out == {"shell": [1]}
    if shutil.which("node"):
        resp = lam.invoke(FunctionName="node-hello", Payload=b'{"name": "x"}')
        assert json.loads(resp["Payload"].read())["hello"] == "x"


def test_fresh_serve_without_samples_is_empty(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path / "state") as proc:
        assert proc.client().list_functions()["Functions"] == []
