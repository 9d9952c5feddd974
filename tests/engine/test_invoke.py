"""Invoke against a real engine: real runtime processes, cold and warm, errors as AWS has them."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
FAKES = Path(__file__).resolve().parents[2] / "fakes" / "functions"

APP = r"""
import ctypes, json, os, sys, tempfile, time

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    action = event.get("action") if isinstance(event, dict) else None
    print("handling", action)
    if action == "sleep":
        time.sleep(event["seconds"])
    elif action == "fail":
        raise ValueError(event.get("message", "boom"))
    elif action == "exit":
        sys.exit(event.get("code", 1))
    elif action == "segfault":
        ctypes.string_at(0)
    elif action == "oom":
        hog = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
        time.sleep(5)
    elif action == "touch":
        with open(os.path.join(tempfile.gettempdir(), "mark"), "w") as fh:
            fh.write("x")
    elif action == "big":
        return "x" * (6 * 1024 * 1024 + 200)
    elif action == "env":
        return dict(os.environ)
    elif action == "python":
        import builtins, importlib.util
        return {
            "path": sys.path,
            "cwd": os.getcwd(),
            "stdlib": os.path.dirname(os.__file__),
            "layers": os.environ["PYTHONPATH"].split(":")[0],
            "found": {m: importlib.util.find_spec(m) is not None for m in event["modules"]},
            "builtins": [callable(getattr(builtins, n, None)) for n in ("exit", "quit", "help")],
        }
    elif action == "paths":
        st = os.statvfs("/tmp")
        try:
            open("/var/task/new", "w").close()
            task_writable = True
        except OSError:
            task_writable = False
        return {
            "cwd": os.getcwd(),
            "tmp_mb": st.f_blocks * st.f_frsize // (1024 * 1024),
            "task_writable": task_writable,
            "files": sorted(os.listdir("/var/task")) if os.path.isdir("/var/task") else [],
        }
    return {
        "event": event,
        "count": COUNT,
        "stream": context.log_stream_name,
        "pid": os.getpid(),
        "mark": os.path.exists(os.path.join(tempfile.gettempdir(), "mark")),
        "version": context.function_version,
    }
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    state = tmp_path_factory.mktemp("state")
    env = {"LCONSOLE_TEST_SECRET": "must-not-leak", "AWS_SECRET_ACCESS_KEY": "engine-secret"}
    with EngineProcess(state, env=env) as proc:
        yield proc


def _create(lam, name: str, files: dict[str, str | bytes], **kw) -> dict:  # type: ignore[no-untyped-def]
    modes = kw.pop("modes", None)
    return lam.create_function(
        FunctionName=name,
        Runtime=kw.pop("Runtime", PY),
        Role=ROLE,
        Handler=kw.pop("Handler", "app.handler"),
        Code={"ZipFile": zip_files(files, modes)},
        **kw,
    )


@pytest.fixture(scope="module")
def app(lam) -> str:  # type: ignore[no-untyped-def]
    _create(lam, "app", {"app.py": APP}, Timeout=2)
    return "app"


def _invoke(lam, name: str, payload: object = None, **kw) -> tuple[dict, object]:  # type: ignore[no-untyped-def]
    body = json.dumps(payload if payload is not None else {}).encode()
    resp = lam.invoke(FunctionName=name, Payload=body, **kw)
    data = resp["Payload"].read()
    return resp, json.loads(data) if data else None


def _tail(resp: dict) -> str:
    return base64.b64decode(resp["LogResult"]).decode()


def test_cold_then_warm_keeps_globals(lam, app) -> None:  # type: ignore[no-untyped-def]
    first, body1 = _invoke(lam, app, {"n": 1}, LogType="Tail")
    second, body2 = _invoke(lam, app, {"n": 2}, LogType="Tail")
    assert first["StatusCode"] == 200 and first["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in first
    assert body1["event"] == {"n": 1} and body2["count"] == body1["count"] + 1
    assert body1["stream"] == body2["stream"]
    log1, log2 = _tail(first), _tail(second)
    request_id = first["ResponseMetadata"]["RequestId"]
    assert log1.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert "handling None\n" in log1
    assert f"END RequestId: {request_id}\n" in log1
    report1 = next(ln for ln in log1.splitlines() if ln.startswith("REPORT"))
    report2 = next(ln for ln in log2.splitlines() if ln.startswith("REPORT"))
    assert "\tInit Duration: " in report1 and "Init Duration" not in report2
    fields = report2.split("\t")
    assert fields[0] == f"REPORT RequestId: {second['ResponseMetadata']['RequestId']}"
    assert fields[1].startswith("Duration: ") and fields[1].endswith(" ms")
    assert fields[2].startswith("Billed Duration: ") and fields[3] == "Memory Size: 128 MB"
    assert fields[4].startswith("Max Memory Used: ") and fields[5] == ""
    assert body1["stream"].endswith(body1["stream"][-32:])
    assert "/[$LATEST]" in body1["stream"]


def test_concurrent_requests_get_their_own_environments(lam, app) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(lambda _: _invoke(lam, app, {"action": "sleep", "seconds": 0.8})[1], range(3))
        )
    assert len({r["stream"] for r in results}) == 3
    assert len({r["pid"] for r in results}) == 3


def test_function_error_payload(lam, app) -> None:  # type: ignore[no-untyped-def]
    resp, body = _invoke(lam, app, {"action": "fail", "message": "bad thing"})
    assert resp["FunctionError"] == "Unhandled"
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "bad thing" and body["errorType"] == "ValueError"
    assert body["requestId"] == resp["ResponseMetadata"]["RequestId"]


def test_timeout_restarts_runtime_but_keeps_tmp(lam, app) -> None:  # type: ignore[no-untyped-def]
    _invoke(lam, app, {"action": "touch"})
    resp, body = _invoke(lam, app, {"action": "sleep", "seconds": 5}, LogType="Tail")
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert resp["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 2.00 seconds",
    }
    report = next(ln for ln in _tail(resp).splitlines() if ln.startswith("REPORT"))
    assert "\tDuration: 2000.00 ms\t" in report and report.endswith("\tStatus: timeout")
    # The environments are warm again and healthy; at least one of them kept /tmp.
    marks = {_invoke(lam, app, {"action": "sleep", "seconds": 0.01})[1]["mark"] for _ in range(4)}
    assert True in marks


@pytest.mark.parametrize(
    ("action", "reason", "report_type"),
    [
        (
            {"action": "exit", "code": 3},
            "Runtime exited with error: exit status 3",
            "Runtime.ExitError",
        ),
        (
            {"action": "exit", "code": 0},
            "Runtime exited without providing a reason",
            "Runtime.ExitError",
        ),
        (
            {"action": "segfault"},
            "Runtime exited with error: signal: segmentation fault",
            "Runtime.ExitError",
        ),
    ],
)
def test_runtime_exits(lam, app, action, reason, report_type) -> None:  # type: ignore[no-untyped-def]
    resp, body = _invoke(lam, app, action, LogType="Tail")
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert resp["FunctionError"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: {reason}",
    }
    report = next(ln for ln in _tail(resp).splitlines() if ln.startswith("REPORT"))
    assert report.endswith(f"\tStatus: error\tError Type: {report_type}")
    _, again = _invoke(lam, app, {"n": 3})
    assert again["event"] == {"n": 3}


def test_out_of_memory(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "hog", {"app.py": APP}, MemorySize=128, Timeout=10)
    resp, body = _invoke(lam, "hog", {"action": "oom", "mb": 400}, LogType="Tail")
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    report = next(ln for ln in _tail(resp).splitlines() if ln.startswith("REPORT"))
    assert report.endswith("\tStatus: error\tError Type: Runtime.OutOfMemory")
    assert "\tMax Memory Used: 128 MB\t" in report
    _, again = _invoke(lam, "hog", {"n": 1})
    assert again["event"] == {"n": 1}


def test_init_errors(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "noimport", {"other.py": "x = 1\n"})
    resp, body = _invoke(lam, "noimport", {}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Unable to import module 'app': No module named 'app'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    log = _tail(resp)
    assert (
        "INIT_REPORT Init Duration: " in log
        and "\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError" in log
    )
    assert (
        log.rstrip("\n")
        .split("\n")[-1]
        .endswith("\tStatus: error\tError Type: Runtime.ImportModuleError")
    )

    _create(lam, "nohandler", {"app.py": "x = 1\n"})
    _, body = _invoke(lam, "nohandler")
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'handler' missing on module 'app'"

    _create(lam, "initraise", {"app.py": "raise Exception('Runtime startup fails')\n"})
    _, body = _invoke(lam, "initraise")
    assert body["errorType"] == "Exception" and body["requestId"] == ""
    assert body["errorMessage"] == "Runtime startup fails"


def test_missing_bootstrap_and_toolchain(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "noboot", {"README": "no bootstrap"}, Runtime="provided.al2023", Handler="x")
    resp, body = _invoke(lam, "noboot")
    request_id = resp["ResponseMetadata"]["RequestId"]
    assert body == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": f"RequestId: {request_id} Error: Couldn't find valid bootstrap(s): "
        "[/var/task/bootstrap /opt/bootstrap]",
    }
    if shutil.which("java") is None:
        _create(lam, "javafn", {"A.class": b"\xca\xfe"}, Runtime="java21", Handler="A::h")
        _, body = _invoke(lam, "javafn")
        assert body["errorType"] == "Runtime.InvalidEntrypoint"
        assert "java21 needs `java`" in body["errorMessage"]


def test_no_engine_environment_leaks(lam, app) -> None:  # type: ignore[no-untyped-def]
    _, env = _invoke(lam, app, {"action": "env"})
    assert "LCONSOLE_TEST_SECRET" not in env
    assert env.get("AWS_SECRET_ACCESS_KEY") != "engine-secret"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "app"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/app"
    assert env["_HANDLER"] == "app.handler" and env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{PY}"
    host, _, port = env["AWS_LAMBDA_RUNTIME_API"].partition(":")
    assert host == "127.0.0.1" and port.isdigit()


def test_python_runtime_sees_its_packages_but_not_the_engine(lam, app) -> None:  # type: ignore[no-untyped-def]
    modules = ["json", "boto3", "awslambdaric", "lconsole"]
    _, seen = _invoke(lam, app, {"action": "python", "modules": modules})
    assert seen["found"] == {"json": True, "boto3": True, "awslambdaric": True, "lconsole": False}
    assert seen["builtins"] == [True, True, True]  # exit(), quit(), help() as site gives them
    path = seen["path"]
    assert path[0] == seen["cwd"]  # as `python -m` makes it
    layers = seen["layers"]  # /opt/python, or the layers' private directory without root
    packages = [i for i, p in enumerate(path) if p.endswith("site-packages") and layers not in p]
    assert packages and path.index(layers) < path.index(seen["stdlib"]) < packages[0]


def test_reserved_concurrency_throttles(lam, raw_lam, app) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "limited", {"app.py": APP}, Timeout=5)
    lam.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as info:
        _invoke(raw_lam, "limited")
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err["Error"]["Code"] == "TooManyRequestsException"
    assert err["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert err["Error"]["Message"] == "Rate Exceeded."
    lam.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(_invoke, raw_lam, "limited", {"action": "sleep", "seconds": 1.0})
            for _ in range(2)
        ]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result()[0]["StatusCode"])
            except ClientError as exc:
                outcomes.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    assert sorted(outcomes) == [200, 429]


def test_alias_weights_route_within_two_points(lam, engine) -> None:  # type: ignore[no-untyped-def]
    """Routing is a random draw per request, as Lambda's is: over 2,000 requests ±2 points is
    ±1.95 standard deviations at a 30 % weight, which a correct router misses one run in 20.
    So boto3 checks a few hundred answers, and 13,000 plain requests measure the split, where
    ±2 points is 5 standard deviations."""
    handler = {"app.py": "def handler(e, c):\n    return c.function_version\n"}
    _create(lam, "canary", handler, MemorySize=1769)  # 128 MB's CPU share would slow the loop
    v1 = lam.publish_version(FunctionName="canary")["Version"]
    lam.update_function_configuration(FunctionName="canary", Description="v2")
    lam.get_waiter("function_updated_v2").wait(FunctionName="canary")
    v2 = lam.publish_version(FunctionName="canary")["Version"]
    lam.create_alias(
        FunctionName="canary",
        Name="live",
        FunctionVersion=v1,
        RoutingConfig={"AdditionalVersionWeights": {v2: 0.3}},
    )
    seen = {v1: 0, v2: 0}
    for _ in range(300):
        resp = lam.invoke(FunctionName="canary", Qualifier="live", Payload=b"{}")
        executed = resp["ExecutedVersion"]
        assert json.loads(resp["Payload"].read()) == executed
        seen[executed] += 1
    assert seen[v1] and seen[v2]
    parts = urlsplit(engine.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    counts = {v1: 0, v2: 0}
    n = 13_000
    try:
        for _ in range(n):
            conn.request("POST", "/2015-03-31/functions/canary/invocations?Qualifier=live", b"{}")
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 200
            counts[answer.getheader("X-Amz-Executed-Version")] += 1
    finally:
        conn.close()
    assert abs(counts[v2] / n - 0.3) <= 0.02, counts


def test_payload_rules(lam, raw_lam, app) -> None:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=app, Payload=b"")
    assert json.loads(resp["Payload"].read())["event"] == {}
    resp = lam.invoke(FunctionName=app, Payload=b"[1, 2]")
    assert json.loads(resp["Payload"].read())["event"] == [1, 2]
    with pytest.raises(ClientError) as info:
        raw_lam.invoke(FunctionName=app, Payload=b"{not json")
    assert info.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert info.value.response["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )
    with pytest.raises(ClientError) as info:
        raw_lam.invoke(FunctionName=app, Payload=b'"' + b"x" * 6291456 + b'"')
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    dry = lam.invoke(FunctionName=app, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    resp, body = _invoke(lam, app, {"action": "big"})
    assert resp["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="does-not-exist", Payload=b"{}")
    assert info.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:does-not-exist"
    )


def test_event_invoke_is_accepted(lam, app) -> None:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=app, InvocationType="Event", Payload=b'{"async": true}')
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_same_echo_on_node_and_shell_bootstrap(lam) -> None:  # type: ignore[no-untyped-def]
    node = (FAKES / "node-hello" / "index.mjs").read_text()
    _create(lam, "node-echo", {"index.mjs": node}, Runtime="nodejs20.x", Handler="index.handler")
    resp, body = _invoke(lam, "node-echo", {"name": "lconsole"}, LogType="Tail")
    assert body["hello"] == "lconsole"
    assert body["requestId"] == resp["ResponseMetadata"]["RequestId"]
    assert "REPORT RequestId: " in _tail(resp)
    boot = (FAKES / "shell-bootstrap" / "bootstrap").read_text()
    _create(
        lam,
        "shell-echo",
        {"bootstrap": boot},
        modes={"bootstrap": 0o755},
        Runtime="provided.al2023",
        Handler="function.handler",
    )
    for n in range(2):
        _, body = _invoke(lam, "shell-echo", {"n": n})
        assert body == {"shell": {"n": n}}


PIPELINING_BOOTSTRAP = """#!{python} -S
import json, os, socket

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
sock = socket.create_connection((host, int(port)))
reader = sock.makefile("rb")
API = b"/2018-06-01/runtime"


def read():
    status = reader.readline().split()[1].decode()
    headers = {{}}
    while (line := reader.readline()) not in (b"\\r\\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", 0)))


def post(path, body):
    return b"POST %s HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n%s" % (
        API + path, len(body), body)


seen = []
while True:
    sock.sendall(b"GET " + API + b"/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    _, headers, event = read()
    answer = b"/invocation/" + headers["lambda-runtime-aws-request-id"].encode() + b"/response"
    body = json.dumps({{"event": json.loads(event), "seen": seen}}).encode()
    # The answer, a GET where only POST goes, and the same answer again, in one write.
    sock.sendall(
        post(answer, body)
        + b"GET " + API + b"/nope HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
        + post(answer, body)
    )
    seen = [read()[0] for _ in range(3)]
"""


def test_pipelined_runtime_requests_are_answered_in_order(lam) -> None:  # type: ignore[no-untyped-def]
    """What a runtime sends on one connection without waiting is answered in order."""
    _create(
        lam,
        "pipelining",
        {"bootstrap": PIPELINING_BOOTSTRAP.format(python=sys.executable)},
        modes={"bootstrap": 0o755},
        Runtime="provided.al2023",
        Handler="function.handler",
    )
    _, first = _invoke(lam, "pipelining", {"n": 1})
    _, second = _invoke(lam, "pipelining", {"n": 2})
    assert first == {"event": {"n": 1}, "seen": []}
    assert second == {"event": {"n": 2}, "seen": ["202", "405", "403"]}


def test_no_process_left_after_shutdown(tmp_path: Path) -> None:
    with EngineProcess(tmp_path / "state") as proc:
        lam = proc.client()
        _create(lam, "pids", {"app.py": APP})
        _, body = _invoke(lam, "pids")
        pid = body["pid"]
        os.kill(pid, 0)  # alive while the engine runs
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_provisioned_environments_serve_without_init(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "prov", {"app.py": APP}, Timeout=5)
    version = lam.publish_version(FunctionName="prov")["Version"]
    lam.create_alias(FunctionName="prov", Name="live", FunctionVersion=version)
    lam.put_provisioned_concurrency_config(
        FunctionName="prov", Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    deadline = time.monotonic() + 20
    status = ""
    while time.monotonic() < deadline:
        cfg = lam.get_provisioned_concurrency_config(FunctionName="prov", Qualifier="live")
        status = cfg["Status"]
        if status == "READY":
            break
        time.sleep(0.05)
    assert status == "READY" and cfg["AvailableProvisionedConcurrentExecutions"] == 2
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(
                lambda _: _invoke(
                    lam,
                    "prov",
                    {"action": "sleep", "seconds": 0.5},
                    Qualifier="live",
                    LogType="Tail",
                ),
                range(3),
            )
        )
    inits = ["Init Duration" in _tail(resp) for resp, _ in results]
    # Two provisioned environments serve without init; the third request spills over cold.
    assert sorted(inits) == [False, False, True]
    _, env = _invoke(lam, "prov", {"action": "env"}, Qualifier="live")
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == version


def test_environment_sees_lambda_paths(lam) -> None:  # type: ignore[no-untyped-def]
    """As root the function gets /var/task, /opt and a sized /tmp; elsewhere the fallback."""
    from lconsole.engine import namespace

    _create(lam, "paths", {"app.py": APP}, EphemeralStorage={"Size": 1024})
    _, env = _invoke(lam, "paths", {"action": "env"})
    if not namespace.available():
        assert env["LAMBDA_TASK_ROOT"] != "/var/task" and "TMPDIR" in env
        assert env["PWD"] == env["LAMBDA_TASK_ROOT"]
        return
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and "TMPDIR" not in env
    _, body = _invoke(lam, "paths", {"action": "paths"})
    assert body == {"cwd": "/var/task", "tmp_mb": 1024, "task_writable": False, "files": ["app.py"]}
