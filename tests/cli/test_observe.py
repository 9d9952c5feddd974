"""`lconsole logs / insights / traces / trace / metrics` as real subprocesses on a real engine."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lconsole.cli.observe import parse_since, sparkline
from lconsole.cli.verbs import UsageError
from tests.cli.test_verbs import ROOT, lconsole
from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"
APP = """
import json, time
from aws_xray_sdk.core import xray_recorder

def handler(event, context):
    with xray_recorder.in_subsegment("work") as sub:
        sub.put_annotation("n", event.get("n", 0))
    print(json.dumps({"level": "ERROR" if event.get("bad") else "INFO", "n": event.get("n")}))
    print("plain line", event.get("n"))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    with EngineProcess(tmp_path_factory.mktemp("observe") / "state") as proc:
        lam = proc.client()
        lam.create_function(
            FunctionName="watched",
            Runtime=PY,
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": zip_files({"app.py": APP})},
            TracingConfig={"Mode": "Active"},
        )
        for n in range(3):
            lam.invoke(FunctionName="watched", Payload=json.dumps({"n": n, "bad": n == 2}))
        yield proc


def test_since_spans_and_times() -> None:
    now = 10_000_000_000
    assert parse_since("10m", now) == now - 600_000
    assert parse_since("1h30m", now) == now - 5_400_000
    assert parse_since("2026-12-02T10:00:00Z", now) == 1_796_205_600_000
    with pytest.raises(UsageError):
        parse_since("yesterday", now)
    assert sparkline([0, 1, 2, 4]) == "▁▂▄█"


def test_logs_filter_and_json(engine: EngineProcess) -> None:
    state = engine.state_dir
    done = lconsole("logs", "watched", "--filter", '{ $.level = "ERROR" }', "--json", state=state)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [json.loads(x["message"]) for x in lines] == [{"level": "ERROR", "n": 2}]
    text = lconsole("logs", "watched", "--filter", '"plain line"', state=state)
    assert text.returncode == 0 and text.stdout.count("plain line") == 3
    assert text.stdout.splitlines()[0][:4] == time.strftime("%Y", time.gmtime())
    bad = lconsole("logs", "watched", "--filter", "{ $.level = ", state=state)
    assert bad.returncode == 1 and "InvalidParameterException" in bad.stderr
    assert "Traceback" not in bad.stderr
    usage = lconsole("logs", "watched", "--since", "whenever", state=state)
    assert usage.returncode == 2 and "--since" in usage.stderr


def test_logs_follow_prints_new_events(engine: EngineProcess) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lconsole", "logs", "watched", "--follow", "--since", "1s",
         "--filter", "plain", "--state-dir", str(engine.state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        time.sleep(1.0)  # let it print the backlog and start polling
        engine.client().invoke(FunctionName="watched", Payload=json.dumps({"n": 41}))
        deadline = time.monotonic() + 15
        assert proc.stdout is not None
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "plain line 41" in line:
                break
        assert "plain line 41" in line
    finally:
        proc.terminate()
        proc.wait(10)


def test_insights_query(engine: EngineProcess) -> None:
    done = lconsole(
        "insights", "watched",
        'filter @type = "REPORT" | stats count() as n, max(@duration) as worst',
        "--json", state=engine.state_dir,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert int(rows[0]["n"]) >= 3 and float(rows[0]["worst"]) > 0
    table = lconsole("insights", "watched", "fields @message | limit 2", state=engine.state_dir)
    assert table.returncode == 0 and table.stdout.splitlines()[0].startswith("@message")


def test_traces_and_one_trace(engine: EngineProcess) -> None:
    listed = lconsole("traces", "watched", "--json", state=engine.state_dir)
    assert listed.returncode == 0, listed.stderr
    traces = json.loads(listed.stdout)
    # Active tracing samples 1 request a second and 5 % beyond: the first invoke at least, and
    # (on a slow machine, with other tests' invokes seconds apart) at most every invoke.
    metrics = lconsole("metrics", "watched", "--json", state=engine.state_dir)
    charts = {(m["name"], m["stat"]): m["values"] for m in json.loads(metrics.stdout)}
    assert 1 <= len(traces) <= sum(charts[("Invocations", "Sum")])
    shown = lconsole("trace", traces[0]["id"], state=engine.state_dir)
    assert shown.returncode == 0, shown.stderr
    assert "watched" in shown.stdout and "work" in shown.stdout and "Invocation" in shown.stdout
    missing = lconsole("trace", "1-00000000-000000000000000000000000", state=engine.state_dir)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_metrics(engine: EngineProcess) -> None:
    done = lconsole("metrics", "watched", "--json", state=engine.state_dir)
    assert done.returncode == 0, done.stderr
    charts = {(m["name"], m["stat"]): m["values"] for m in json.loads(done.stdout)}
    assert sum(charts[("Invocations", "Sum")]) >= 3
    text = lconsole("metrics", "watched", "--period", "1", state=engine.state_dir)
    assert text.returncode == 0 and "Invocations (Sum)" in text.stdout


def test_no_engine_is_a_clear_error(tmp_path: Path) -> None:
    done = lconsole("logs", "watched", state=tmp_path / "nothing")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_log_retention_takes_aws_values(engine: EngineProcess) -> None:
    done = lconsole("logs", "watched", "--retention", "7", state=engine.state_dir)
    assert done.returncode == 0 and "7 days" in done.stderr
    bad = lconsole("logs", "watched", "--retention", "8", state=engine.state_dir)
    assert bad.returncode == 1 and "retentionInDays" in bad.stderr
    forever = lconsole("logs", "watched", "--retention", "0", state=engine.state_dir)
    assert forever.returncode == 0 and "forever" in forever.stderr
