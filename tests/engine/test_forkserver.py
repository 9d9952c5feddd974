"""Python runtimes forked from the pre-initialised runtime (the zygote), against a real engine.

A forked runtime must be indistinguishable from one started as a new interpreter: the
function's environment, log format and level, its own random state, exit codes; and where it
cannot be (interpreter start-up variables), the engine starts a new interpreter instead.
"""

from __future__ import annotations

import base64
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess
from tests.support.packages import create_python
from tests.support.processes import wait_gone

APP = r"""
import logging, os, random, sys, time

def handler(event, context):
    if event.get("action") == "sleep":
        time.sleep(event["seconds"])
    if event.get("action") == "log":
        logging.getLogger().info("info line")
        logging.getLogger().warning("warning line")
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        parent = [a.decode() for a in f.read().split(b"\0") if a]
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "parent": parent,
        "random": random.random(),
        "hash_randomization": sys.flags.hash_randomization,
        "tz": os.environ.get("TZ"),
        "argv": sys.argv[1:],
    }
"""


def _create(lam, name: str, **kw) -> None:  # type: ignore[no-untyped-def]
    create_python(lam, name, APP, **kw)


def _invoke(lam, name: str, payload: object = None, **kw) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kw)
    return resp, json.loads(resp["Payload"].read())


def _forked(body: dict) -> bool:
    return any(arg.endswith("zygote.py") for arg in body["parent"])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path_factory.mktemp("state")) as proc:
        yield proc


@pytest.fixture(scope="module")
def lam(engine):  # type: ignore[no-untyped-def]
    return engine.client()


def test_environments_are_forks_of_one_zygote_with_their_own_state(lam, engine) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "forked", Timeout=5)
    with ThreadPoolExecutor(2) as pool:
        sleep = {"action": "sleep", "seconds": 0.5}
        bodies = [b for _, b in pool.map(lambda _: _invoke(lam, "forked", sleep), range(2))]
    assert all(_forked(b) for b in bodies)
    assert bodies[0]["ppid"] == bodies[1]["ppid"] != engine.endpoint["pid"]
    with open(f"/proc/{bodies[0]['ppid']}/stat") as f:  # the zygote is the engine's child
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == engine.endpoint["pid"]
    assert bodies[0]["pid"] != bodies[1]["pid"]
    assert bodies[0]["random"] != bodies[1]["random"]  # each child reseeds its generator
    assert bodies[0]["tz"] == ":UTC" and bodies[0]["argv"] == ["app.handler"]
    # SIGTERM does to a forked runtime what it does to a new interpreter: it ends that one only
    os.kill(bodies[0]["pid"], signal.SIGTERM)
    assert wait_gone(bodies[0]["pid"])
    with ThreadPoolExecutor(2) as pool:  # both environments serve: the other one is still warm
        again = [b["pid"] for _, b in pool.map(lambda _: _invoke(lam, "forked", sleep), range(2))]
    assert bodies[1]["pid"] in again


def test_forked_runtime_reads_the_functions_log_format_and_level(lam) -> None:  # type: ignore[no-untyped-def]
    _create(
        lam,
        "forked-json",
        LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"},
    )
    resp, body = _invoke(lam, "forked-json", {"action": "log"}, LogType="Tail")
    assert _forked(body)
    lines = [json.loads(x) for x in base64.b64decode(resp["LogResult"]).decode().splitlines()]
    app = [x for x in lines if "message" in x and "line" in str(x["message"])]
    assert [(x["level"], x["message"]) for x in app] == [("WARNING", "warning line")]


def test_interpreter_start_up_variables_get_a_new_interpreter(lam, engine) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "seeded", Environment={"Variables": {"PYTHONHASHSEED": "0"}})
    _, body = _invoke(lam, "seeded")
    assert not _forked(body) and body["ppid"] == engine.endpoint["pid"]
    assert body["hash_randomization"] == 0


def test_runtime_exit_codes_come_through_the_zygote(lam) -> None:  # type: ignore[no-untyped-def]
    code = "import os, signal\ndef handler(e, c):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    create_python(lam, "forked-crash", code)
    resp = lam.invoke(FunctionName="forked-crash", Payload=b"{}")
    error = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith(
        "Error: Runtime exited with error: signal: segmentation fault"
    )


def test_zygote_gone_ends_its_runtimes_and_the_engine_starts_new_interpreters(
    tmp_path: Path,
) -> None:
    with EngineProcess(tmp_path / "state") as proc:
        lam = proc.client()
        _create(lam, "orphan")
        _, first = _invoke(lam, "orphan")
        assert _forked(first)
        os.kill(first["ppid"], signal.SIGKILL)
        assert wait_gone(first["pid"]), "the forked runtime outlived its zygote"
        resp, second = _invoke(lam, "orphan")
        assert "FunctionError" not in resp
        assert not _forked(second) and second["ppid"] == proc.endpoint["pid"]


def test_no_fork_server_starts_every_runtime_as_a_new_interpreter(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "state", "--no-fork-server") as proc:
        lam = proc.client()
        _create(lam, "execd")
        _, body = _invoke(lam, "execd")
        assert not _forked(body) and body["ppid"] == proc.endpoint["pid"]


def test_engine_killed_takes_the_zygote_and_its_runtimes_with_it(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "state") as proc:
        lam = proc.client()
        _create(lam, "abandoned")
        _, body = _invoke(lam, "abandoned")
        assert _forked(body)
        assert proc.proc is not None
        proc.proc.kill()  # no shutdown: the zygote sees its control socket close
        proc.proc.wait(10)
        assert wait_gone(body["ppid"]), "the zygote outlived the engine"
        assert wait_gone(body["pid"]), "a forked runtime outlived the engine"
