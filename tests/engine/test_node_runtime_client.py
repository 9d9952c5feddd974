"""The shipped Node.js runtime client (and the sample runtimes) against a fake Runtime API.

No engine involved: a tiny ThreadingHTTPServer plays the Runtime API, queues events and records
what the runtime posts back.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "lconsole" / "engine" / "runtimes" / "node" / "runtime.mjs"
FAKES = ROOT / "fakes" / "functions"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not on PATH"),
    pytest.mark.timeout(60),
]


# --------------------------------------------------------------------------------------------
# Fake Runtime API


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.body)


@dataclass
class FakeRuntimeApi:
    events: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    posts: queue.Queue[Post] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    address: str = ""

    def add_event(self, event: object) -> str:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, json.dumps(event).encode()))
        return request_id

    def next_post(self, timeout: float = 10.0) -> Post:
        return self.posts.get(timeout=timeout)


def _handler_class(api: FakeRuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != "/2018-06-01/runtime/invocation/next":
                self._reply(404, b'{"errorMessage":"not found","errorType":"NotFound"}')
                return
            while not api.stop.is_set():
                try:
                    request_id, body = api.events.get(timeout=0.1)
                except queue.Empty:
                    continue
                deadline = str(int(time.time() * 1000) + 3000)
                self._reply(200, body, {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": deadline,
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:123456789012:function:fn",
                    "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
                })
                return
            self.close_connection = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            api.posts.put(Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self._reply(202, b'{"status":"OK"}')

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(sys.exc_info()[1], ConnectionError):  # killed runtimes reset sockets
            super().handle_error(request, client_address)


@pytest.fixture
def runtime_api() -> Iterator[FakeRuntimeApi]:
    api = FakeRuntimeApi()
    server = _QuietServer(("127.0.0.1", 0), _handler_class(api))
    api.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield api
    finally:
        api.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Running a runtime process


class RuntimeProcess:
    def __init__(self, argv: list[str], cwd: Path, api: FakeRuntimeApi, handler: str,
                 extra_env: dict[str, str] | None = None) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(cwd),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            **(extra_env or {}),
        }
        # Own process group, so a shell runtime's curl children die with it.
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._output: tuple[str, str] | None = None

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is not None:
            return  # already exited and reaped: its pid/pgid may be someone else's now
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def output(self) -> tuple[str, str]:
        """Stop the process (if still running) and return (stdout, stderr)."""
        if self._output is None:
            self.kill()
            out, err = self.proc.communicate(timeout=10)
            self._output = (out.decode(), err.decode())
        return self._output

    def close(self) -> None:
        self.kill()
        try:
            self.output()
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture
def start_node(runtime_api: FakeRuntimeApi, tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    assert NODE is not None
    started: list[RuntimeProcess] = []

    def start(files: dict[str, str], handler: str, **env: str) -> RuntimeProcess:
        for name, text in files.items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        proc = RuntimeProcess([NODE, str(RUNTIME)], tmp_path, runtime_api, handler, env)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.close()


def _log_lines(stdout: str) -> list[list[str]]:
    # split on LF only: the runtime turns embedded newlines into CR, which must stay in the line
    return [line.split("\t") for line in stdout.split("\n") if line]


# --------------------------------------------------------------------------------------------
# Node client

def test_esm_handler_echo_and_context(runtime_api, start_node) -> None:
    handler = """
export const handler = async (event, context) => ({
  echo: event,
  id: context.awsRequestId,
  name: context.functionName,
  memory: context.memoryLimitInMB,
  arn: context.invokedFunctionArn,
  remaining: context.getRemainingTimeInMillis(),
  trace: process.env._X_AMZN_TRACE_ID,
});
"""
    first = runtime_api.add_event({"a": 1})
    second = runtime_api.add_event([1, "two"])
    proc = start_node({"index.mjs": handler}, "index.handler")

    post = runtime_api.next_post()
    assert post.path == f"/2018-06-01/runtime/invocation/{first}/response"
    body = post.json()
    assert body["echo"] == {"a": 1}
    assert body["id"] == first
    assert body["name"] == "fn"
    assert body["memory"] == "128"
    assert body["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"
    assert 0 < body["remaining"] <= 3000
    assert body["trace"].startswith("Root=1-5bef4de7")

    post = runtime_api.next_post()
    assert post.path == f"/2018-06-01/runtime/invocation/{second}/response"
    assert post.json()["echo"] == [1, "two"]
    assert proc.proc.poll() is None  # still polling /next


def test_cjs_handler_in_subdirectory(runtime_api, start_node) -> None:
    handler = "exports.handler = async (event) => ({ cjs: true, n: event.n + 1 });\n"
    request_id = runtime_api.add_event({"n": 41})
    start_node({"src/app.js": handler}, "src/app.handler")
    post = runtime_api.next_post()
    assert post.path.endswith(f"/{request_id}/response")
    assert post.json() == {"cjs": True, "n": 42}


def test_js_under_type_module_package_is_esm(runtime_api, start_node) -> None:
    files = {
        "package.json": '{"type": "module"}',
        "index.js": "export const handler = async () => ({ esm: import.meta.url.length > 0 });\n",
    }
    runtime_api.add_event({})
    start_node(files, "index.handler")
    assert runtime_api.next_post().json() == {"esm": True}


def test_callback_style_and_undefined_result(runtime_api, start_node) -> None:
    handler = """
exports.handler = (event, context, callback) => {
  if (event.none) return callback(null);
  setTimeout(() => callback(null, { cb: event.x }), 10);
};
"""
    runtime_api.add_event({"x": "y"})
    runtime_api.add_event({"none": True})
    start_node({"index.js": handler}, "index.handler")
    assert runtime_api.next_post().json() == {"cb": "y"}
    assert runtime_api.next_post().body == b"null"


def test_thrown_error_payload_and_invoke_error_log(runtime_api, start_node) -> None:
    handler = """
export const handler = async (event) => {
  if (event.str) throw "plain string";
  throw new Error("boom");
};
"""
    first = runtime_api.add_event({})
    runtime_api.add_event({"str": True})
    proc = start_node({"index.mjs": handler}, "index.handler")

    post = runtime_api.next_post()
    assert post.path == f"/2018-06-01/runtime/invocation/{first}/error"
    assert list(post.json()) == ["errorType", "errorMessage", "trace"]
    prefix = b'{"errorType":"Error","errorMessage":"boom","trace":["Error: boom",'
    assert post.body.startswith(prefix)
    trace = post.json()["trace"]
    assert trace[0] == "Error: boom"
    assert trace[1].startswith("    at ")
    assert "index.mjs" in trace[1]

    post = runtime_api.next_post()
    assert post.body == b'{"errorType":"string","errorMessage":"plain string","trace":[]}'

    out, _ = proc.output()
    errors = [f for f in _log_lines(out) if len(f) >= 4 and f[3] == "Invoke Error "]
    assert len(errors) == 2
    assert errors[0][1] == first and errors[0][2] == "ERROR"
    logged = json.loads(errors[0][4])
    assert list(logged) == ["errorType", "errorMessage", "stack"]
    assert logged["errorMessage"] == "boom"


def test_missing_handler_posts_init_error(runtime_api, start_node) -> None:
    proc = start_node({"index.mjs": "export const other = 1;\n"}, "index.handler")
    post = runtime_api.next_post()
    assert post.path == "/2018-06-01/runtime/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.HandlerNotFound"
    body = post.json()
    assert list(body) == ["errorType", "errorMessage", "trace"]
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "index.handler is undefined or not exported"
    assert proc.wait() == 1
    out, _ = proc.output()
    assert "\tundefined\tERROR\tUncaught Exception \t{" in out


def test_handler_not_a_function(runtime_api, start_node) -> None:
    start_node({"index.mjs": "export const handler = 42;\n"}, "index.handler")
    body = runtime_api.next_post().json()
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "index.handler is not a function"


def test_missing_module_posts_import_module_error(runtime_api, start_node) -> None:
    proc = start_node({}, "index.handler")
    post = runtime_api.next_post()
    assert post.path == "/2018-06-01/runtime/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    body = post.json()
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"] == (
        f"Error: Cannot find module 'index'\nRequire stack:\n- {RUNTIME}"
    )
    assert proc.wait() == 1


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message_start"),
    [
        ({"index.mjs": "export const handler = ;\n"}, "index.handler",
         "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ({"index.mjs": "export const handler = 1;\n"}, "index", "Runtime.MalformedHandlerName",
         "Bad handler"),
        ({"index.mjs": "throw new TypeError('init boom');\n"}, "index.handler", "TypeError",
         "init boom"),
    ],
    ids=["syntax", "malformed", "init-throw"],
)
def test_other_init_errors(runtime_api, start_node, files, handler, error_type,
                           message_start) -> None:
    proc = start_node(files, handler)
    post = runtime_api.next_post()
    assert post.path == "/2018-06-01/runtime/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == error_type
    assert post.json()["errorType"] == error_type
    assert post.json()["errorMessage"].startswith(message_start)
    assert proc.wait() == 1


def test_console_log_line_format(runtime_api, start_node) -> None:
    handler = """
export const handler = async () => {
  console.log("hello %s", "there", { n: 1 });
  console.warn("multi\\nline");
  console.error("bad");
  return 1;
};
"""
    request_id = runtime_api.add_event({})
    proc = start_node({"index.mjs": handler}, "index.handler")
    runtime_api.next_post()
    out, _ = proc.output()
    lines = _log_lines(out)
    by_level = {f[2]: f for f in lines if len(f) == 4 and f[1] == request_id}
    assert by_level["INFO"][3] == "hello there { n: 1 }"
    assert by_level["WARN"][3] == "multi\rline"
    assert by_level["ERROR"][3] == "bad"
    timestamp = by_level["INFO"][0]
    assert len(timestamp) == 24 and timestamp.endswith("Z") and timestamp[19] == "."
    assert f"\t{request_id}\tINFO\thello there" in out


def test_json_log_format(runtime_api, start_node) -> None:
    handler = 'export const handler = async () => { console.info("hi", 2); return null; };\n'
    request_id = runtime_api.add_event({})
    proc = start_node({"index.mjs": handler}, "index.handler", AWS_LAMBDA_LOG_FORMAT="JSON")
    runtime_api.next_post()
    out, _ = proc.output()
    record = json.loads(out.split("\n")[0])
    assert list(record) == ["timestamp", "level", "requestId", "message"]
    assert record["level"] == "INFO"
    assert record["requestId"] == request_id
    assert record["message"] == "hi 2"


def test_unhandled_rejection_reports_and_exits(runtime_api, start_node) -> None:
    handler = """
export const handler = (event) => {
  Promise.reject(new Error("yikes"));
  return new Promise(() => {});
};
"""
    request_id = runtime_api.add_event({})
    proc = start_node({"index.mjs": handler}, "index.handler")
    post = runtime_api.next_post()
    assert post.path.endswith(f"/{request_id}/error")
    body = post.json()
    assert body["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert body["errorMessage"] == "Error: yikes"
    assert proc.wait() == 129


def test_node_hello_sample(runtime_api, start_node) -> None:
    source = (FAKES / "node-hello" / "index.mjs").read_text()
    request_id = runtime_api.add_event({"name": "lconsole"})
    start_node({"index.mjs": source}, "index.handler")
    assert runtime_api.next_post().json() == {"hello": "lconsole", "requestId": request_id}


# --------------------------------------------------------------------------------------------
# Other samples


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not on PATH")
def test_shell_bootstrap_sample(runtime_api, tmp_path: Path) -> None:
    directory = FAKES / "shell-bootstrap"
    bootstrap = directory / "bootstrap"
    assert os.access(bootstrap, os.X_OK)
    first = runtime_api.add_event({"k": [1, 2]})
    second = runtime_api.add_event("text")
    # Its mktemp header file goes in TMPDIR, as the engine sets it; the SIGKILL below leaves
    # no chance for the script's own clean-up.
    proc = RuntimeProcess(
        [str(bootstrap)], directory, runtime_api, "function.handler", {"TMPDIR": str(tmp_path)}
    )
    try:
        post = runtime_api.next_post()
        assert post.path == f"/2018-06-01/runtime/invocation/{first}/response"
        assert post.json() == {"shell": {"k": [1, 2]}}
        post = runtime_api.next_post()
        assert post.path == f"/2018-06-01/runtime/invocation/{second}/response"
        assert post.json() == {"shell": "text"}
    finally:
        proc.close()
    out, _ = proc.output()
    assert f"handling request {first}" in out


def _load_module(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_echo_sample() -> None:
    app = _load_module(FAKES / "python-echo" / "app.py", "lconsole_fake_python_echo")
    context = SimpleNamespace(
        aws_request_id="req-1", get_remaining_time_in_millis=lambda: 2500,
    )
    first = app.handler({"hello": "world"}, context)
    assert first == {"echo": {"hello": "world"}, "count": 1, "requestId": "req-1",
                     "remaining": 2500}
    assert app.handler({}, context)["count"] == 2
    with pytest.raises(Exception, match=r"^nope$"):
        app.handler({"fail": "nope"}, context)
    with pytest.raises(SystemExit) as exited:
        app.handler({"exit": 3}, context)
    assert exited.value.code == 3


def test_python_xray_sample_runs() -> None:
    # In a subprocess: the sample patches httpx globally, which must not leak into this process.
    code = (
        "import json, types, app\n"
        "ctx = types.SimpleNamespace(aws_request_id='req-x')\n"
        "print(json.dumps(app.handler({'items': [1, 2, 3]}, ctx)))\n"
    )
    env = {**os.environ, "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_SDK_ENABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=FAKES / "python-xray", env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "traced": True, "total": 6, "requestId": "req-x",
    }
