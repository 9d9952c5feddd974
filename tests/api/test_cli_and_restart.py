"""The AWS CLI runs a full lifecycle unchanged; an engine restart keeps everything."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.api.test_functions import create
from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

SCRIPT = Path(__file__).parent / "scripts" / "lifecycle.sh"


def test_aws_cli_lifecycle(engine: EngineProcess) -> None:
    env = {
        **os.environ,
        "EP": f"--endpoint-url {engine.url}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
    }
    result = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("lifecycle-ok")


def test_restart_keeps_everything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with EngineProcess(state) as first:
        lam = first.client()
        create(lam, "keep-fn", Publish=True, Environment={"Variables": {"A1": "b"}})
        lam.update_function_configuration(FunctionName="keep-fn", MemorySize=512)
        lam.publish_version(FunctionName="keep-fn")
        lam.create_alias(
            FunctionName="keep-fn",
            Name="live",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
        )
        lam.put_function_concurrency(FunctionName="keep-fn", ReservedConcurrentExecutions=7)
        lam.put_provisioned_concurrency_config(
            FunctionName="keep-fn", Qualifier="live", ProvisionedConcurrentExecutions=1
        )
        lam.put_function_event_invoke_config(FunctionName="keep-fn", MaximumRetryAttempts=0)
        lam.add_permission(
            FunctionName="keep-fn", StatementId="s", Action="lambda:*", Principal="*"
        )
        lam.tag_resource(
            Resource=lam.get_function(FunctionName="keep-fn")["Configuration"]["FunctionArn"],
            Tags={"t": "1"},
        )
        layer = lam.publish_layer_version(
            LayerName="keep-layer", Content={"ZipFile": zip_files({"python/x.py": "X = 1"})}
        )
        before = lam.get_function(FunctionName="keep-fn")
        versions_before = lam.list_versions_by_function(FunctionName="keep-fn")["Versions"]
    with EngineProcess(state) as second:
        lam = second.client()
        after = lam.get_function(FunctionName="keep-fn")
        assert after["Configuration"] == before["Configuration"]
        assert after["Tags"] == {"t": "1"} and after["Concurrency"] == before["Concurrency"]
        assert lam.list_versions_by_function(FunctionName="keep-fn")["Versions"] == versions_before
        alias = lam.get_alias(FunctionName="keep-fn", Name="live")
        assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}
        assert (
            lam.get_provisioned_concurrency_config(FunctionName="keep-fn", Qualifier="live")[
                "RequestedProvisionedConcurrentExecutions"
            ]
            == 1
        )
        assert (
            lam.get_function_event_invoke_config(FunctionName="keep-fn")["MaximumRetryAttempts"]
            == 0
        )
        assert "Sid" in lam.get_policy(FunctionName="keep-fn")["Policy"]
        assert (
            lam.get_layer_version(LayerName="keep-layer", VersionNumber=1)["LayerVersionArn"]
            == layer["LayerVersionArn"]
        )
        v3 = lam.update_function_code(
            FunctionName="keep-fn", ZipFile=zip_files({"app.py": "X = 3"}), Publish=True
        )
        assert v3["Version"] == "3"


def test_ctrl_c_stops_the_engine_cleanly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import signal as signals

    proc = EngineProcess(tmp_path / "state").start()
    assert proc.proc is not None
    proc.proc.send_signal(signals.SIGINT)
    proc.proc.wait(20)
    code = proc.stop()
    assert code == 0
    assert "Traceback" not in "".join(proc.output)
