"""Resource limits and shutdown: cgroup memory ceiling, CPU in proportion to memory, SIGTERM."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
APP = """
import os, signal, sys, time

def _bye(signum, frame):
    print("graceful shutdown: SIGTERM received", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, _bye)

def _cgroup_file(controller, name):
    for line in open("/proc/self/cgroup"):
        _, controllers, path = line.strip().split(":", 2)
        if controller in controllers.split(","):
            try:
                return open(f"/sys/fs/cgroup/{controller}{path}/{name}").read().strip()
            except OSError:
                return None
    return None

def handler(event, context):
    if event.get("action") == "spin":
        wall, cpu = time.monotonic(), time.process_time()
        while time.monotonic() - wall < event["seconds"]:
            pass
        return {"cpu_share": (time.process_time() - cpu) / (time.monotonic() - wall)}
    return {
        "pid": os.getpid(),
        "cgroup": open("/proc/self/cgroup").read(),
        "quota": _cgroup_file("cpu", "cpu.cfs_quota_us"),
        "period": _cgroup_file("cpu", "cpu.cfs_period_us"),
        "memory_limit": _cgroup_file("memory", "memory.limit_in_bytes"),
    }
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with EngineProcess(tmp_path_factory.mktemp("state"), "--idle-ttl", "1") as proc:
        yield proc


@pytest.fixture(scope="module")
def lam(engine):  # type: ignore[no-untyped-def]
    return engine.client()


def _create(lam, name: str, **kw) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name,
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": APP})},
        **kw,
    )


def _call(lam, name: str, event: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return json.loads(resp["Payload"].read())


def _v1_controller(name: str) -> bool:
    """Whether an engine started by this test (same user, same cgroup) gets this controller."""
    if os.environ.get("LCONSOLE_NO_CGROUPS") or os.geteuid() != 0:
        return False
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    own = [ln.split(":", 2) for ln in lines]
    path = next((p for _, c, p in own if name in c.split(",")), None)
    base = Path("/sys/fs/cgroup") / name
    return path is not None and os.access(base / path.lstrip("/"), os.W_OK)


MEMORY, CPU = _v1_controller("memory"), _v1_controller("cpu")


@pytest.mark.skipif(not MEMORY, reason="the engine gets no cgroup v1 controllers on this machine")
def test_environment_runs_in_its_own_cgroups(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "limits", MemorySize=256, EphemeralStorage={"Size": 1024})
    # The runtime joins its cgroups just after init, in the background (off the cold start).
    deadline = time.monotonic() + 10
    body = _call(lam, "limits")
    while "/env-" not in body["cgroup"] and time.monotonic() < deadline:
        time.sleep(0.02)
        body = _call(lam, "limits")
    assert "/env-" in body["cgroup"] and "/lconsole-" in body["cgroup"]
    # Ceiling = MemorySize + /tmp, since tmpfs pages are charged to the writer.
    assert int(body["memory_limit"]) == (256 + 1024) * 1024 * 1024
    if CPU:  # after init: 256/1769 of one CPU
        assert int(body["period"]) == 100_000
        assert int(body["quota"]) == 100_000 * 256 // 1769


@pytest.mark.skipif(not CPU, reason="the engine cannot set CPU quotas on this machine")
def test_cpu_share_follows_memory(lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "cpu-small", MemorySize=128, Timeout=10)
    _create(lam, "cpu-large", MemorySize=1769, Timeout=10)
    for name in ("cpu-small", "cpu-large"):  # joins its cgroups once its first answer is out
        deadline = time.monotonic() + 10
        while "/env-" not in _call(lam, name)["cgroup"] and time.monotonic() < deadline:
            time.sleep(0.02)
    small = _call(lam, "cpu-small", {"action": "spin", "seconds": 1.0})["cpu_share"]
    large = _call(lam, "cpu-large", {"action": "spin", "seconds": 1.0})["cpu_share"]
    # 128 MB gets ~7 % of a CPU; 1,769 MB a whole one (less whatever else the machine runs).
    assert small < 0.15, small
    assert large > 3 * small, (small, large)


def test_sigterm_reaches_the_runtime_before_it_is_reaped(engine, lam) -> None:  # type: ignore[no-untyped-def]
    _create(lam, "graceful")
    pid = _call(lam, "graceful")["pid"]
    db = Path(engine.state_dir) / "state.db"
    deadline = time.monotonic() + 15
    found = []
    while time.monotonic() < deadline and not found:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            found = conn.execute(
                "SELECT message FROM log_events WHERE log_group = '/aws/lambda/graceful'"
                " AND message LIKE 'graceful shutdown%'"
            ).fetchall()
            conn.close()
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    assert found, "the runtime never logged its SIGTERM handler"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
