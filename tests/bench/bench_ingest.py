"""Log ingest through a real engine under invoke load: lines stored per second, end to end.

A function prints `--lines` log lines per invoke; `--threads` keep-alive clients invoke it for
`--seconds`. Every line goes runtime stdout -> pipe -> engine -> telemetry writer -> SQLite
(with the FTS index). Reported: invokes/s, log lines accepted per second (counted in the
store once the writer has caught up), how long the writer took to catch up after the load
stopped, and invoke latency under that load. Prints one JSON object; progress on stderr.

    PYTHONPATH=. python tests/bench/bench_ingest.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/bench"
APP = """
import sys
LINES = int(__import__("os").environ.get("LINES", "100"))

def handler(event, context):
    out = sys.stdout
    n = event.get("n", 0)
    for i in range(LINES):
        out.write(f"request {n} line {i} status=200 latency={i % 97} user=u{i % 13}\\n")
    out.flush()
    return {"n": n}
"""


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def stored_lines(database: Path, group: str) -> int:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(
            "SELECT count(*) FROM log_events WHERE log_group = ?", [group]
        ).fetchone()[0]
    finally:
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100, help="log lines per invoke")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 2.0
    state = Path(tempfile.mkdtemp(prefix="lconsole-ingest-"))
    engine = EngineProcess(state)
    result: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"nproc": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "lines_per_invoke": args.lines,
        "threads": args.threads,
    }
    try:
        engine.start()
        lam = engine.client()
        lam.create_function(
            FunctionName="chatty",
            Runtime="python3.11",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": zip_files({"app.py": APP})},
            MemorySize=1769,
            Timeout=30,
            Environment={"Variables": {"LINES": str(args.lines)}},
        )
        host, port = engine.url.split("//")[1].split(":")
        stop = time.monotonic() + args.seconds
        latencies: list[list[float]] = [[] for _ in range(args.threads)]
        counts = [0] * args.threads

        def worker(k: int) -> None:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            body = json.dumps({"n": k}).encode()
            while time.monotonic() < stop:
                t = time.perf_counter()
                conn.request("POST", "/2015-03-31/functions/chatty/invocations", body)
                resp = conn.getresponse()
                resp.read()
                latencies[k].append((time.perf_counter() - t) * 1000)
                counts[k] += 1
            conn.close()

        # warm the environments first so the run measures steady state
        warm = http.client.HTTPConnection(host, int(port), timeout=30)
        for _ in range(3):
            warm.request("POST", "/2015-03-31/functions/chatty/invocations", b"{}")
            warm.getresponse().read()
        warm.close()
        database = state / "state.db"
        group = "/aws/lambda/chatty"
        # Lines the warm-up invokes produced (START/END/REPORT plus the function's own).
        deadline = time.monotonic() + 10
        before = stored_lines(database, group)
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = stored_lines(database, group)
            if now == before:
                break
            before = now
        say(f"load: {args.threads} threads x {args.seconds}s, {args.lines} lines per invoke")
        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        load_end = time.monotonic()
        invokes = sum(counts)
        expected = before + invokes * (args.lines + 3)  # + START, END, REPORT
        caught_up = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stored = stored_lines(database, group)
            if stored >= expected:
                caught_up = time.monotonic()
                break
            time.sleep(0.05)
        stored = stored_lines(database, group) - before
        elapsed = (caught_up or time.monotonic()) - started
        all_latency = sorted(x for xs in latencies for x in xs)
        result.update(
            {
                "seconds": round(load_end - started, 3),
                "invokes": invokes,
                "invokes_per_s": round(invokes / (load_end - started), 1),
                "lines_expected": expected - before,
                "lines_stored": stored,
                "lines_per_s_during_load": round(stored / elapsed, 1),
                "writer_caught_up_after_s": None
                if caught_up is None
                else round(caught_up - load_end, 3),
                "invoke_latency_ms": {
                    "p50": round(statistics.median(all_latency), 3),
                    "p99": round(all_latency[int(len(all_latency) * 0.99)], 3),
                },
                "target_lines_per_s": 20000,
                "pass": stored >= expected - before and stored / elapsed >= 20000,
            }
        )
    finally:
        engine.stop()
        shutil.rmtree(state, ignore_errors=True)  # ~300 MB of logs per run
        result["machine"]["loadavg_end"] = os.getloadavg()  # type: ignore[index]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
