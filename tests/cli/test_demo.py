"""`lconsole demo`: the traffic plan, the demo function, and the generator against real engines.

The headless run is a real subprocess whose summary is checked against the engine's own
invocation records; the console run drives the app with the generator inside it; the terminal
run starts `lconsole demo` with no engine, quits it, and checks that nothing is left running.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lconsole.backends.base import InvokeOutcome
from lconsole.backends.local import LocalBackend
from lconsole.cli import launcher
from lconsole.demo import checkout_function, stage
from lconsole.demo.plan import (
    ALIAS,
    CHECKOUT,
    OPENING_KINDS,
    Kind,
    TrafficConfig,
    TrafficPlan,
    sample_payload,
)
from lconsole.demo.tally import Tally, is_cold, is_timeout
from lconsole.demo.traffic import TrafficGenerator
from lconsole.telemetry import emf
from lconsole.tui.app import LconsoleApp
from tests.support.engine import EngineProcess
from tests.tui.helpers import screen_text, settle, until

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ("node-hello", "python-echo", "python-xray", "shell-bootstrap")
SUMMARY = re.compile(
    r"demo: (?P<invocations>\d+) invocations? \((?P<asynchronous>\d+) async\), "
    r"(?P<errors>\d+) errors?, (?P<timeouts>\d+) timeouts?, (?P<cold>\d+) cold starts? "
    r"in [\d.]+ s \((?P<functions>[^)]*)\)"
)
RECORDS_WAIT_S = 30.0


def outcome(payload: object = None, *, error: str | None = None, tail: str = "") -> InvokeOutcome:
    body = b"" if payload is None else json.dumps(payload).encode()
    return InvokeOutcome(200, body, "1", error, tail, "rid")


# The plan (pure) ------------------------------------------------------------------------


def shots(plan: TrafficPlan, n: int) -> list[tuple[str, str, bytes, str | None]]:
    return [(s.function, s.kind, s.payload, s.qualifier) for s in (plan.steady() for _ in range(n))]


def test_a_seed_fixes_the_plan_and_another_seed_changes_it() -> None:
    a = TrafficPlan(TrafficConfig(seed=7), SAMPLES)
    b = TrafficPlan(TrafficConfig(seed=7), SAMPLES)
    assert shots(a, 200) == shots(b, 200)
    assert [s.payload for s in a.burst()] == [s.payload for s in b.burst()]
    assert [a.pause() for _ in range(50)] == [b.pause() for _ in range(50)]
    other = TrafficPlan(TrafficConfig(seed=8), SAMPLES)
    assert shots(other, 200) != shots(TrafficPlan(TrafficConfig(seed=7), SAMPLES), 200)


def test_steady_and_burst_streams_do_not_disturb_each_other() -> None:
    """The n-th steady shot is the same however many bursts came between."""
    quiet = TrafficPlan(TrafficConfig(seed=3), SAMPLES)
    busy = TrafficPlan(TrafficConfig(seed=3), SAMPLES)
    expected = shots(quiet, 30)
    got = []
    for _ in range(30):
        busy.burst()
        got.extend(shots(busy, 1))
    assert got == expected


def test_the_opening_shows_every_kind_and_the_first_burst_is_full_with_one_failure() -> None:
    plan = TrafficPlan(TrafficConfig(seed=1, burst=6), SAMPLES)
    opening = [plan.steady() for _ in OPENING_KINDS]
    assert [s.kind for s in opening] == [Kind(k) for k in OPENING_KINDS]
    assert all(s.function == CHECKOUT and s.qualifier == ALIAS for s in opening)
    assert json.loads(opening[1].payload)["decline"] is True
    assert json.loads(opening[3].payload)["hang"] is True
    assert opening[2].invocation_type == "Event"
    first = plan.burst()
    assert len(first) == 6 and all(s.burst and s.function == CHECKOUT for s in first)
    assert [s.kind for s in first].count(Kind.ERROR) == 1
    for _ in range(50):
        assert 3 <= len(plan.burst()) <= 6


def test_shares_and_rate_follow_the_configuration() -> None:
    config = TrafficConfig(
        seed=11, rate=5.0, error_share=0.1, timeout_share=0.05, async_share=0.2, sample_share=0.3
    )
    plan = TrafficPlan(config, ["python-echo"])  # the one sample that can fail on request
    drawn = [plan.steady() for _ in range(4000)][len(OPENING_KINDS) :]
    kinds = collections.Counter(s.kind for s in drawn)
    assert kinds[Kind.ERROR] / len(drawn) == pytest.approx(0.1, abs=0.02)
    assert kinds[Kind.TIMEOUT] / len(drawn) == pytest.approx(0.05, abs=0.015)
    assert kinds[Kind.ASYNC] / len(drawn) == pytest.approx(0.2, abs=0.03)
    to_samples = sum(s.function == "python-echo" for s in drawn) / len(drawn)
    assert to_samples == pytest.approx(0.3, abs=0.03)
    pauses = [plan.pause() for _ in range(4000)]
    assert sum(pauses) / len(pauses) == pytest.approx(1 / 5.0, rel=0.1)
    assert min(pauses) >= 0.02 and max(pauses) <= 0.8


def test_only_python_echo_fails_on_request_and_async_shots_always_succeed() -> None:
    rng = random.Random(0)
    payload, kind = sample_payload("python-echo", Kind.TIMEOUT, 1, rng)
    assert kind is Kind.TIMEOUT and json.loads(payload)["sleep"] > 3  # its timeout is 3 s
    payload, kind = sample_payload("python-echo", Kind.ERROR, 2, rng)
    assert kind is Kind.ERROR and "fail" in json.loads(payload)
    for name in ("node-hello", "python-xray", "shell-bootstrap"):
        assert sample_payload(name, Kind.ERROR, 3, rng)[1] is Kind.OK
        assert sample_payload(name, Kind.ASYNC, 4, rng)[1] is Kind.ASYNC
    plan = TrafficPlan(TrafficConfig(seed=5, async_share=0.5), SAMPLES)
    for shot in (plan.steady() for _ in range(500)):
        if shot.invocation_type == "Event":
            body = json.loads(shot.payload)
            assert not body.get("decline") and not body.get("hang") and "fail" not in body


def test_bad_settings_are_named() -> None:
    assert TrafficConfig().problems() == []
    problems = TrafficConfig(rate=0, burst=-1, burst_every_s=0.5, canary_weight=2).problems()
    assert len(problems) == 4
    assert any("--rate" in p for p in problems) and any("--canary" in p for p in problems)


# What comes back (pure) ----------------------------------------------------------------


def test_cold_starts_and_timeouts_are_read_as_a_client_sees_them() -> None:
    cold = "START RequestId: r Version: 1\nEND RequestId: r\nREPORT RequestId: r\tDuration: 3 ms\t"
    assert is_cold(outcome({}, tail=cold + "Init Duration: 120.00 ms\t\n"))
    assert not is_cold(outcome({}, tail=cold + "\n"))
    assert not is_cold(outcome({}, tail="INIT_REPORT Init Duration: 9.00 ms\tPhase: invoke\n"))
    current = {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: r Error: Task timed"}
    legacy = {"errorMessage": "2024-06-24T22:36:15.685Z r Task timed out after 3.01 seconds"}
    assert is_timeout(outcome(current, error="Unhandled"))
    assert is_timeout(outcome(legacy, error="Unhandled"))
    assert not is_timeout(outcome({"errorType": "Exception"}, error="Unhandled"))
    assert not is_timeout(outcome(current))  # no function error: a payload that says so


def test_the_summary_line_counts_each_kind() -> None:
    plan = TrafficPlan(TrafficConfig(seed=1), [])
    ok, error, asynchronous, timeout = (plan.steady() for _ in OPENING_KINDS)
    tally = Tally(seconds=6.04)
    report = "REPORT RequestId: r\tInit Duration: 1.00 ms\t"
    tally.answered(ok, outcome({}, tail=report))
    tally.answered(error, outcome({"errorType": "PaymentDeclined"}, error="Unhandled"))
    tally.answered(asynchronous, InvokeOutcome(202, b"", None, None, None, "rid"))
    tally.answered(timeout, outcome({"errorType": "Sandbox.Timedout"}, error="Unhandled"))
    tally.refused(ok, TimeoutError())
    assert tally.line() == (
        "demo: 4 invocations (1 async), 1 error, 1 timeout, 1 cold start, 1 refused "
        "in 6.0 s (demo-checkout 4)"
    )
    assert "did not answer in time" in tally.last_error


# The demo function and its package ------------------------------------------------------


class Context:
    """What the Lambda runtime hands a handler, as far as the demo function reads it."""

    aws_request_id = "r-1"

    def get_remaining_time_in_millis(self) -> int:
        return 2000


def test_the_demo_function_logs_an_emf_order_line_and_declines_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = {"order_id": "o-1", "items": 3, "amount": 42.5, "work_ms": 1}
    assert checkout_function.handler(event, Context())["status"] == "placed"
    line = capsys.readouterr().out.strip()
    doc = json.loads(line)
    assert doc["message"] == "order placed" and doc["order_id"] == "o-1"
    parsed = emf.parse(line)
    assert parsed is not None and parsed.error is None
    assert {(d.namespace, d.name, d.values, d.unit, d.dimensions) for d in parsed.datums} == {
        ("lconsole-demo", "OrderValue", (42.5,), "None", (("service", "checkout"),)),
        ("lconsole-demo", "OrderItems", (3.0,), "Count", (("service", "checkout"),)),
    }
    with pytest.raises(checkout_function.PaymentDeclined, match="o-2"):
        checkout_function.handler({"order_id": "o-2", "work_ms": 1, "decline": True}, Context())
    assert json.loads(capsys.readouterr().out)["level"] == "ERROR"


def test_the_package_is_reproducible_and_holds_the_handler_as_app_py() -> None:
    import zipfile

    first, second = stage.checkout_package(), stage.checkout_package()
    assert first == second and stage.code_sha256(first) == stage.code_sha256(second)
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.namelist() == ["app.py"]
        assert zf.read("app.py") == Path(checkout_function.__file__).read_bytes()


def test_the_generator_loads_neither_the_engine_nor_the_console() -> None:
    code = (
        "import sys, lconsole.demo.runner, lconsole.demo.traffic, lconsole.demo.stage\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'boto3', 'sqlite_utils')"
        " or m.startswith(('lconsole.engine', 'lconsole.store', 'lconsole.api', 'lconsole.tui'))]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# Headless, against a real engine --------------------------------------------------------


def lconsole(*args: str, state: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AWS_PROFILE"}
    return subprocess.run(
        [sys.executable, "-m", "lconsole", *args, "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def records(engine: EngineProcess, function: str) -> list[dict]:
    endpoint = engine.endpoint
    response = httpx.get(
        f"{endpoint['url']}/_lconsole/v1/functions/{function}/invocations",
        params={"limit": "10000"},
        headers={"Authorization": f"Bearer {endpoint['token']}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["invocations"]


def records_once_settled(engine: EngineProcess, function: str, count: int) -> list[dict]:
    """The records, once `count` are there (async events run after they were accepted)."""
    deadline = time.monotonic() + RECORDS_WAIT_S
    while True:
        rows = records(engine, function)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@pytest.fixture(scope="module")
def samples_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with EngineProcess(tmp_path_factory.mktemp("demo") / "state", "--samples") as proc:
        yield proc


def test_headless_demo_summary_agrees_with_the_engine(samples_engine: EngineProcess) -> None:
    done = lconsole(
        "demo", "--headless", "--seconds", "6", "--seed", "7", "--burst-every", "3",
        state=samples_engine.state_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    match = SUMMARY.search(done.stdout)
    assert match, done.stdout + done.stderr
    totals = {k: int(v) for k, v in match.groupdict().items() if k != "functions"}
    per_function = {
        name: int(n) for name, n in (part.rsplit(" ", 1) for part in match["functions"].split(", "))
    }
    assert totals["invocations"] > 0 and totals["errors"] >= 1
    assert totals["invocations"] == sum(per_function.values())
    assert f"{CHECKOUT}:{ALIAS} → v1 90%, v2 10%" in done.stderr
    assert set(per_function) <= {CHECKOUT, *SAMPLES} and CHECKOUT in per_function

    lam = samples_engine.client()
    alias = lam.get_alias(FunctionName=CHECKOUT, Name=ALIAS)
    assert alias["FunctionVersion"] == "1"
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.1}
    configuration = lam.get_function_configuration(FunctionName=CHECKOUT)
    assert configuration["CodeSha256"] == stage.code_sha256(stage.checkout_package())

    seen = collections.Counter()
    for name, count in per_function.items():
        rows = records_once_settled(samples_engine, name, count)
        assert len(rows) == count, name  # every answered invoke, and nothing else, was recorded
        sync = [r for r in rows if r["invocation_type"] == "RequestResponse"]
        seen["asynchronous"] += len(rows) - len(sync)
        seen["errors"] += sum(r["status"] in ("error", "crash") for r in sync)
        seen["timeouts"] += sum(r["status"] == "timeout" for r in sync)
        seen["cold"] += sum(r["cold"] for r in sync)
    assert seen == {k: totals[k] for k in ("asynchronous", "errors", "timeouts", "cold")}

    checkout = records(samples_engine, CHECKOUT)
    assert {r["executed_version"] for r in checkout} <= {"1", "2"}
    cold_envs = collections.defaultdict(set)
    for r in checkout:
        if r["cold"]:
            cold_envs[r["executed_version"]].add(r["environment_id"])
    # a burst needed more than one environment of the same version at once
    assert max(len(envs) for envs in cold_envs.values()) >= 2
    assert totals["cold"] > len(per_function)
    assert samples_engine.proc is not None and samples_engine.proc.poll() is None  # not ours

    # a second run reuses the versions and only moves the canary weight
    again = lconsole(
        "demo", "--headless", "--seconds", "1", "--canary", "0.3", "--burst", "2",
        state=samples_engine.state_dir,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    versions = lam.list_versions_by_function(FunctionName=CHECKOUT)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    alias = lam.get_alias(FunctionName=CHECKOUT, Name=ALIAS)
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.3}


def test_bad_demo_arguments_are_refused_before_anything_runs(tmp_path: Path) -> None:
    done = lconsole("demo", "--rate", "0", "--seconds", "3", state=tmp_path / "none")
    assert done.returncode == 2
    assert "--rate" in done.stderr and "--seconds needs --headless" in done.stderr
    assert not (tmp_path / "none").exists()  # no engine was started


# Inside the console ---------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def bare_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with EngineProcess(tmp_path_factory.mktemp("demo-console") / "state") as proc:
        yield proc


def backend_of(engine: EngineProcess) -> LocalBackend:
    endpoint = engine.endpoint
    return LocalBackend(endpoint["url"], token=endpoint["token"])


@pytest.mark.anyio
async def test_traffic_inside_the_console_shows_in_the_functions_view(
    bare_engine: EngineProcess,
) -> None:
    async with backend_of(bare_engine) as backend, backend_of(bare_engine) as traffic:
        generator = TrafficGenerator(traffic, TrafficConfig(seed=2, rate=4.0, burst=3))
        app = LconsoleApp(backend, poll_s=0.2, background=generator.run)
        async with app.run_test(size=(100, 24)) as pilot:
            await until(pilot, lambda: CHECKOUT in app.state.functions, "the demo function")
            await until(
                pilot, lambda: len(app.state.invocations(CHECKOUT)) >= 3, "the demo's invocations"
            )
            await settle(pilot)
            row = next(
                line for line in screen_text(app).splitlines() if line.strip().startswith(CHECKOUT)
            )
            assert "256MB" in row and row.split()[-1].endswith("s")  # LAST: seconds ago
            assert generator.running and generator.stage is not None
            versions = {i.executed_version for i in app.state.invocations(CHECKOUT)}
            assert versions <= {"1", "2"}
        # quitting the console stopped the generator and everything it had in flight
        assert not generator.running and generator.in_flight == 0
        sent = generator.tally.total().invocations
        assert sent >= 3


@pytest.mark.anyio
async def test_a_background_failure_is_shown_and_the_console_stays_up() -> None:
    unreachable = LocalBackend("http://127.0.0.1:9")  # discard port: nothing listens
    async with unreachable:
        generator = TrafficGenerator(unreachable, TrafficConfig(seed=1))
        app = LconsoleApp(unreachable, poll_s=0.2, background=lambda: generator.run(setup_s=0.5))
        async with app.run_test(size=(100, 24), notifications=True) as pilot:
            await until(pilot, lambda: not generator.running, "the generator to give up")
            await until(pilot, lambda: "background stopped" in screen_text(app), "the notice")
            assert app.is_running
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, "the console to quit")


# In a real terminal ---------------------------------------------------------------------


def _pids_alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if launcher.pid_alive(pid)]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def _wait_gone(pids: list[int], timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while _pids_alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _pids_alive(pids)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("ending", ["quit", "sigterm", "hangup"])
def test_demo_in_a_terminal_starts_and_stops_its_own_engine(tmp_path: Path, ending: str) -> None:
    """However the console ends (`q`, SIGTERM, the terminal closing), the engine goes too."""
    state = tmp_path / "state"
    socket = f"lconsole-demo-test-{os.getpid()}"
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"}
    command = (
        f"cd {shlex.quote(str(ROOT))} && "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + f" {shlex.quote(sys.executable)} -m lconsole demo --state-dir {shlex.quote(str(state))}"
        " --port 0 --seed 4 --burst 3; echo DEMO-EXITED $?; sleep 60"
    )

    def tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def wait_for(text: str, timeout: float = 45.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux("capture-pane", "-t", "demo", "-p")
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(
            f"{text!r} never appeared:\n{tmux('capture-pane', '-t', 'demo', '-p')}"
        )

    engine_pid = 0
    tmux("new-session", "-d", "-s", "demo", "-x", "100", "-y", "24", command)
    try:
        wait_for(CHECKOUT)
        found = launcher.find_engine(state)
        assert found is not None
        engine_pid = found.pid
        deadline = time.monotonic() + RECORDS_WAIT_S
        pids: list[int] = []
        while time.monotonic() < deadline and len(pids) < 2:
            listed = httpx.get(
                f"{found.url}/_lconsole/v1/environments",
                headers={"Authorization": f"Bearer {found.token}"},
                timeout=10,
            ).json()["environments"]
            pids = [e["pid"] for e in listed if e.get("pid")]
            time.sleep(0.2)
        assert len(pids) >= 2, "the demo's traffic started no environments"

        if ending == "quit":
            tmux("send-keys", "-t", "demo", "q")
            screen = wait_for("DEMO-EXITED 0")
            assert "stopping the engine the demo started" in screen
            assert _pids_alive([engine_pid, *pids]) == []
        elif ending == "sigterm":
            shell = int(tmux("display-message", "-p", "-t", "demo", "#{pane_pid}").strip())
            (demo,) = _children(shell)
            os.kill(demo, signal.SIGTERM)
            screen = wait_for("DEMO-EXITED 0")
            assert "stopping the engine the demo started" in screen
            assert _pids_alive([engine_pid, *pids]) == []
        else:  # the terminal goes away under it: SIGHUP, and no terminal to write to
            tmux("kill-server")
            assert _wait_gone([engine_pid, *pids]) == []
    finally:
        tmux("kill-server")
        if engine_pid and launcher.pid_alive(engine_pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(engine_pid, signal.SIGKILL)
