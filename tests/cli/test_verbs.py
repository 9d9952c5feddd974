"""`lconsole deploy` and `lconsole invoke` run as real subprocesses against a real engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest

from lconsole.backends.package import zip_directory
from tests.support.engine import EngineProcess

RUNTIME = "python3.11"
ROOT = Path(__file__).resolve().parents[2]
SHELL_SAMPLE = ROOT / "fakes" / "functions" / "shell-bootstrap"

HANDLER = """\
import os


def handler(event, context):
    print("handled", event.get("n"))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"version": VERSION, "event": event, "greeting": os.environ.get("GREETING")}
"""


def lconsole(*args: str, state: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    return subprocess.run(
        [sys.executable, "-m", "lconsole", *args, "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        input=stdin,
    )


def write_function(directory: Path, version: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(f"VERSION = {version}\n" + HANDLER)
    cache = directory / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / "app.cpython-311.pyc").write_bytes(b"not really bytecode")
    return directory


def deploy(state: Path, source: Path, name: str, *extra: str) -> subprocess.CompletedProcess:
    return lconsole(
        "deploy",
        str(source),
        "--name",
        name,
        "--runtime",
        RUNTIME,
        "--handler",
        "app.handler",
        *extra,
        state=state,
    )


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state_dir = tmp_path_factory.mktemp("cli") / "state"
    with EngineProcess(state_dir):
        yield state_dir


@pytest.fixture(scope="module")
def echo(state: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    source = write_function(tmp_path_factory.mktemp("src") / "echo", 1)
    result = deploy(state, source, "cli-echo", "--env", "GREETING=hi there", "--memory", "256")
    assert result.returncode == 0, result.stderr
    arn, sha = result.stdout.split()
    assert arn == "arn:aws:lambda:us-east-1:000000000000:function:cli-echo"
    assert len(sha) == 44 and sha.endswith("=")
    assert "created cli-echo" in result.stderr
    return "cli-echo"


def test_invoke_prints_payload_and_tail(state: Path, echo: str) -> None:
    result = lconsole("invoke", echo, "--payload", '{"n": 7}', "--tail", state=state)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"version": 1, "event": {"n": 7}, "greeting": "hi there"}
    assert "handled 7" in result.stderr
    assert "REPORT RequestId:" in result.stderr
    assert "Memory Size: 256 MB" in result.stderr
    assert "Traceback" not in result.stderr


def test_invoke_without_tail_keeps_stderr_quiet(state: Path, echo: str) -> None:
    result = lconsole("--state-dir", str(state), "invoke", echo, state=state)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {}
    assert result.stderr == ""


def test_invoke_payload_from_file_and_stdin(state: Path, echo: str, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"n": "from-file", "list": [1, 2]}')
    result = lconsole("invoke", echo, "--payload", f"@{event}", state=state)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"] == {"n": "from-file", "list": [1, 2]}

    piped = lconsole("invoke", echo, "--payload", "@-", state=state, stdin='{"n": "stdin"}')
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["event"] == {"n": "stdin"}

    missing = lconsole("invoke", echo, "--payload", f"@{tmp_path / 'nope.json'}", state=state)
    assert missing.returncode == 2
    assert missing.stderr.startswith("lconsole: cannot read payload file")
    assert "Traceback" not in missing.stderr


def test_function_error_exits_1_and_prints_error_payload(state: Path, echo: str) -> None:
    result = lconsole("invoke", echo, "--payload", '{"fail": true}', state=state)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "asked to fail"
    assert "Unhandled" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_function(state: Path) -> None:
    result = lconsole("invoke", "cli-no-such-fn", state=state)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "lconsole: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:000000000000:function:cli-no-such-fn"
    )


def test_unknown_qualifier(state: Path, echo: str) -> None:
    result = lconsole("invoke", echo, "--qualifier", "42", state=state)
    assert result.returncode == 1
    assert result.stderr.startswith("lconsole: ResourceNotFoundException: ")


def test_invalid_payload_json_is_refused_before_calling(state: Path) -> None:
    # The function does not exist: a clean JSON error (not ResourceNotFound) shows nothing ran.
    result = lconsole("invoke", "cli-no-such-fn", "--payload", "{not json", state=state)
    assert result.returncode == 2
    assert result.stderr.startswith("lconsole: --payload is not valid JSON: ")
    assert "ResourceNotFound" not in result.stderr
    assert "Traceback" not in result.stderr


def test_async_and_dry_run(state: Path, echo: str) -> None:
    queued = lconsole("invoke", echo, "--async", "--payload", '{"n": 1}', state=state)
    assert queued.returncode == 0, queued.stderr
    assert queued.stdout == ""
    assert "request id" in queued.stderr
    dry = lconsole("invoke", echo, "--dry-run", state=state)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == ""


def test_redeploy_updates_code_and_keeps_unset_settings(state: Path, tmp_path: Path) -> None:
    source = write_function(tmp_path / "fn", 1)
    first = deploy(state, source, "cli-redeploy", "--env", "GREETING=one", "--timeout", "9")
    assert first.returncode == 0, first.stderr
    again = deploy(state, source, "cli-redeploy")
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout  # same tree, same CodeSha256
    assert "updated cli-redeploy" in again.stderr

    write_function(source, 2)
    second = deploy(state, source, "cli-redeploy", "--memory", "512")
    assert second.returncode == 0, second.stderr
    assert second.stdout.split()[0] == first.stdout.split()[0]
    assert second.stdout.split()[1] != first.stdout.split()[1]

    result = lconsole("invoke", "cli-redeploy", "--tail", state=state)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["version"] == 2
    assert out["greeting"] == "one"  # no --env on redeploy: the variables are left alone
    assert "Memory Size: 512 MB" in result.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="the sample bootstrap uses curl")
def test_bootstrap_stays_executable(state: Path, tmp_path: Path) -> None:
    source = tmp_path / "shell"
    source.mkdir()
    bootstrap = source / "bootstrap"
    shutil.copyfile(SHELL_SAMPLE / "bootstrap", bootstrap)
    bootstrap.chmod(0o755)
    package = zipfile.ZipFile(BytesIO(zip_directory(source)))
    assert (package.getinfo("bootstrap").external_attr >> 16) & 0o777 == 0o755
    result = lconsole(
        "deploy", str(source), "--name", "cli-shell", "--runtime", "provided.al2023",
        "--handler", "function.handler", state=state,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = lconsole("invoke", "cli-shell", "--payload", '{"k": 1}', state=state)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"shell": {"k": 1}}


def test_zip_directory_skips_pycache_and_is_stable(tmp_path: Path) -> None:
    source = write_function(tmp_path / "fn", 3)
    (source / "pkg").mkdir()
    (source / "pkg" / "mod.py").write_text("X = 1\n")
    names = zipfile.ZipFile(BytesIO(zip_directory(source))).namelist()
    assert names == ["app.py", "pkg/mod.py"]
    assert zip_directory(source) == zip_directory(source)


def test_deploy_user_errors(state: Path, tmp_path: Path) -> None:
    missing = deploy(state, tmp_path / "absent", "cli-bad")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"lconsole: {tmp_path / 'absent'} does not exist"

    source = write_function(tmp_path / "fn", 1)
    bad_env = deploy(state, source, "cli-bad", "--env", "NOEQUALS")
    assert bad_env.returncode == 2
    assert bad_env.stderr.strip() == "lconsole: --env expects KEY=VALUE, got 'NOEQUALS'"

    bad_runtime = lconsole(
        "deploy",
        str(source),
        "--name",
        "cli-bad",
        "--runtime",
        "cobol85",
        "--handler",
        "app.handler",
        state=state,
    )
    assert bad_runtime.returncode == 1
    assert bad_runtime.stderr.startswith("lconsole: InvalidParameterValueException: ")
    for result in (missing, bad_env, bad_runtime):
        assert "Traceback" not in result.stderr


NO_ENGINE = "lconsole: no engine is running on {}; start one with 'lconsole serve' or 'lconsole'"


def test_no_engine_running(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = lconsole("invoke", "anything", "--payload", "{}", state=empty)
    assert result.returncode == 1
    assert result.stderr.strip() == NO_ENGINE.format(empty)
    assert result.stdout == ""

    source = write_function(tmp_path / "fn", 1)
    result = deploy(empty, source, "cli-nowhere")
    assert result.returncode == 1
    assert result.stderr.strip() == NO_ENGINE.format(empty)


def test_stale_endpoint_file_means_not_running(tmp_path: Path) -> None:
    stale = tmp_path / "stale"
    stale.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    (stale / "engine.json").write_text(
        json.dumps(
            {
                "url": "http://127.0.0.1:9",
                "host": "127.0.0.1",
                "port": 9,
                "token": "t",
                "pid": dead.pid,
            }
        )
    )
    result = lconsole("invoke", "anything", state=stale)
    assert result.returncode == 1
    assert result.stderr.strip() == NO_ENGINE.format(stale)
    # Alive pid (ours), but nothing answers at the URL: still not running.
    (stale / "engine.json").write_text(
        json.dumps(
            {
                "url": "http://127.0.0.1:9",
                "host": "127.0.0.1",
                "port": 9,
                "token": "t",
                "pid": os.getpid(),
            }
        )
    )
    result = lconsole("invoke", "anything", state=stale)
    assert result.returncode == 1
    assert result.stderr.strip() == NO_ENGINE.format(stale)
