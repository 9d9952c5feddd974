"""Invoke benchmarks against a real `lconsole serve` engine; prints ONE JSON object to stdout.

Run from the repo root:  PYTHONPATH=. python tests/bench/bench_invoke.py
(`--quick` for a short smoke run). Progress goes to stderr. See tests/bench/README.md.

Measures: cold start (distinct functions, wall clock + REPORT `Init Duration`), warm invoke
latency over keep-alive http.client / httpx / boto3 (interleaved in rounds so that noise on a
shared machine hits every client alike) with a bare-API GET baseline, warm throughput at
concurrency 4, a `python-lambda-local` process-per-invoke peer, and engine / environment RSS.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.engine import EngineProcess
from tests.support.packages import zip_files

ROLE = "arn:aws:iam::000000000000:role/r"
HELLO_PY = 'def handler(event, context):\n    return {"statusCode": 200, "body": "hello"}\n'
ECHO_PY = "def handler(event, context):\n    return event\n"
PAYLOAD = b'{"hello": "world", "n": 1}'
INIT_RE = re.compile(r"Init Duration: ([0-9.]+) ms")
DURATION_RE = re.compile(r"\tDuration: ([0-9.]+) ms")

TARGETS = {
    "cold_p50_ms": 50.0,
    "warm_http_client_p50_ms": 0.5,
    "warm_http_client_p99_ms": 2.0,
    "throughput_c4_per_s": 1500.0,
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def summary(values_ms: list[float], *ps: int) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {"n": len(values_ms)}
    for p in ps:
        out[f"p{p}_ms"] = r3(pct(values_ms, p)) if values_ms else None
    out["max_ms"] = r3(max(values_ms)) if values_ms else None
    out["mean_ms"] = r3(statistics.fmean(values_ms)) if values_ms else None
    return out


# Machine ---------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_start": loadavg(),
    }


def loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


# /proc -----------------------------------------------------------------------------------


def _proc_kb(pid: int, name: str, field: str) -> int:
    """A `Field:  N kB` figure from /proc/PID/NAME; 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vmrss_kb(pid: int) -> int:
    return _proc_kb(pid, "status", "VmRSS:")


def pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with other processes (a fork's parent) split."""
    return _proc_kb(pid, "smaps_rollup", "Pss:")


def total_mb(pids: list[int], kb: Callable[[int], int] = vmrss_kb) -> float:
    return round(sum(kb(p) for p in pids) / 1024, 1)


def _ppid(stat: str) -> int:
    # comm may hold spaces/parens: after the last ')' come state, ppid, ...
    return int(stat.rsplit(")", 1)[1].split()[1])


def parents() -> dict[int, int]:
    """pid -> ppid for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        table[int(entry)] = _ppid(stat)
    return table


def descendants(engine_pid: int) -> list[int]:
    """Every process below the engine: runtimes and whatever holds their sandboxes."""
    kids: dict[int, list[int]] = {}
    for pid, ppid in parents().items():
        kids.setdefault(ppid, []).append(pid)
    found: list[int] = []
    todo = list(kids.get(engine_pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(kids.get(pid, []))
    return found


def _argv(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _zygote_argv(argv: list[bytes]) -> bool:
    return any(arg.endswith(b"zygote.py") for arg in argv)


def is_zygote(pid: int) -> bool:
    """The fork server itself: zygote.py's command line, its parent's not (its forks share it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parent = _ppid(f.read())
    except OSError:
        return False
    return _zygote_argv(_argv(pid)) and not _zygote_argv(_argv(parent))


def is_runtime(pid: int) -> bool:
    """One runtime interface client per environment; helpers (namespace holders) are not."""
    argv = _argv(pid)
    # `python -m awslambdaric H`, or `python -S -c <start-up code naming awslambdaric> H`,
    # or a fork of the zygote (`python -S .../zygote.py ...`), which is not one itself
    if any(b"awslambdaric" in arg for arg in argv):
        return True
    return _zygote_argv(argv) and not is_zygote(pid)


# HTTP ------------------------------------------------------------------------------------


class Raw:
    """One keep-alive http.client connection to the engine."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def invoke(self, name: str, body: bytes = PAYLOAD, tail: bool = False):  # type: ignore[no-untyped-def]
        headers = {"Content-Type": "application/json"}
        if tail:
            headers["X-Amz-Log-Type"] = "Tail"
        self.conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body, headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200 or resp.getheader("X-Amz-Function-Error"):
            raise RuntimeError(f"invoke {name}: {resp.status} {data[:300]!r}")
        return resp, data

    def get_config(self, name: str) -> bytes:
        self.conn.request("GET", f"/2015-03-31/functions/{name}/configuration")
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"get configuration {name}: {resp.status} {data[:300]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


# 1,769 MB = one vCPU: where the engine can set cgroup CPU quotas, a function gets
# MemorySize / 1769 of a CPU after init (as on Lambda), so a 128 MB echo would measure the
# quota, not the engine. Init is never throttled, so cold starts do not depend on this.
MEMORY_MB = 1769


def create(lam, name: str, source: str) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": source})},
        MemorySize=MEMORY_MB,
        Timeout=30,
    )


def wait_active(lam, names: list[str], timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        name = pending[0]
        state = lam.get_function_configuration(FunctionName=name).get("State", "Active")
        if state == "Active":
            pending.pop(0)
        elif state == "Failed" or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not become Active: {state}")
        else:
            time.sleep(0.05)


# Benchmarks ------------------------------------------------------------------------------


def bench_cold(engine: EngineProcess, lam, n: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    names = [f"bench-cold-{i:03d}" for i in range(n)]
    for i, name in enumerate(names):  # distinct code per function: nothing is shared
        create(lam, name, HELLO_PY + f"# function {i}\n")
    wait_active(lam, names)
    raw = Raw(engine.url)
    raw.get_config(names[0])  # connection open before timing: latency excludes TCP connect
    wall: list[float] = []
    init: list[float] = []
    duration: list[float] = []
    try:
        for name in names:
            t0 = time.perf_counter()
            resp, _ = raw.invoke(name, b"{}", tail=True)
            wall.append((time.perf_counter() - t0) * 1000)
            tail = base64.b64decode(resp.getheader("X-Amz-Log-Result") or "").decode()
            m = INIT_RE.search(tail)
            if m:
                init.append(float(m.group(1)))
            m = DURATION_RE.search(tail)
            if m:
                duration.append(float(m.group(1)))
    finally:
        raw.close()
    return {
        "functions": n,
        "wall": summary(wall, 50, 90),
        "init_duration": summary(init, 50, 90),
        "report_duration": summary(duration, 50, 90),
        "init_duration_found": len(init),
        # engine-side cost outside Init Duration: sandbox setup, spawn, the two HTTP legs
        "wall_minus_init_p50_ms": r3(
            statistics.median(w - i for w, i in zip(wall, init, strict=True))
        )
        if len(init) == len(wall) and wall
        else None,
        # median wall ms of the first / middle / last third: growth would mean idle
        # environments (they stay up) slow later cold starts down
        "wall_p50_by_third_ms": [r3(statistics.median(t)) for t in thirds(wall) if t],
        "floor": interpreter_floor(),
    }


def thirds(values: list[float]) -> list[list[float]]:
    k = max(1, len(values) // 3)
    return [values[:k], values[k : 2 * k], values[2 * k :]]


def interpreter_floor(runs: int = 10) -> dict[str, float | None]:
    """What a cold start cannot beat here: a bare interpreter, and importing the runtime."""
    out: dict[str, float | None] = {}
    cases = {
        "python_c_pass_p50_ms": [sys.executable, "-c", "pass"],
        "python_import_awslambdaric_p50_ms": [
            sys.executable,
            "-c",
            "import awslambdaric.bootstrap",
        ],
    }
    for key, argv in cases.items():
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False)
            times.append((time.perf_counter() - t0) * 1000)
        out[key] = r3(statistics.median(times))
    return out


def bench_warm(engine: EngineProcess, name: str, rounds: int, raw_per: int, other_per: int):  # type: ignore[no-untyped-def]
    """Interleaved rounds: http.client invoke, bare GET, httpx invoke, boto3 invoke."""
    import httpx

    raw = Raw(engine.url)
    hx = httpx.Client(base_url=engine.url, timeout=60)
    lam = engine.client()
    path = f"/2015-03-31/functions/{name}/invocations"
    hx_headers = {"Content-Type": "application/json"}

    def hx_invoke() -> None:
        r = hx.post(path, content=PAYLOAD, headers=hx_headers)
        if r.status_code != 200:
            raise RuntimeError(f"httpx invoke: {r.status_code} {r.text[:300]}")

    def boto_invoke() -> None:
        r = lam.invoke(FunctionName=name, Payload=PAYLOAD)
        r["Payload"].read()
        if r.get("FunctionError"):
            raise RuntimeError(f"boto3 invoke: {r}")

    def raw_invoke() -> None:
        raw.invoke(name)

    def raw_get() -> None:
        raw.get_config(name)

    cases = {
        "http_client": (raw_invoke, raw_per),
        "bare_get_configuration": (raw_get, raw_per),
        "httpx": (hx_invoke, other_per),
        "boto3": (boto_invoke, other_per),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    try:
        for fn, _ in cases.values():  # warm-up: environment, connections, botocore caches
            for _ in range(50):
                fn()
        perf = time.perf_counter
        for _ in range(rounds):
            for key, (fn, per) in cases.items():
                out = times[key]
                for _ in range(per):
                    t0 = perf()
                    fn()
                    out.append((perf() - t0) * 1000)
    finally:
        raw.close()
        hx.close()
    return {k: summary(v, 50, 90, 99) for k, v in times.items()}


def bench_throughput(engine: EngineProcess, name: str, threads: int, seconds: float):  # type: ignore[no-untyped-def]
    counts = [0] * threads
    errors: list[str] = []
    lat: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        raw = Raw(engine.url)
        try:
            for _ in range(20):  # warm this connection (and make the pool grow)
                raw.invoke(name)
            start.wait()
            perf = time.perf_counter
            end = stop_at[0]
            mine = lat[i]
            while True:
                t0 = perf()
                if t0 >= end:
                    break
                raw.invoke(name)
                mine.append((perf() - t0) * 1000)
                counts[i] += 1
        except Exception as exc:  # reported in the JSON, not swallowed
            errors.append(repr(exc))
            with contextlib.suppress(threading.BrokenBarrierError):
                start.abort()
        finally:
            raw.close()

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    time.sleep(0.5)  # let every worker reach the barrier; the clock starts as it releases
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in ts:
        t.join()
    elapsed = max(time.perf_counter() - t0, 1e-9)
    total = sum(counts)
    all_lat = [x for xs in lat for x in xs]
    return {
        "threads": threads,
        "seconds": round(elapsed, 3),
        "invokes": total,
        "per_s": round(total / elapsed, 1),
        "latency": summary(all_lat, 50, 99),
        "errors": errors[:5],
    }


def bench_pll(runs: int, cold_p50: float | None, warm_p50: float | None) -> dict[str, object]:
    exe = shutil.which("python-lambda-local") or str(
        Path(sys.executable).with_name("python-lambda-local")
    )
    if not Path(exe).exists():
        return {
            "skipped": True,
            "note": "python-lambda-local not installed (pip install python-lambda-local)",
        }
    times: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        Path(d, "app.py").write_text(HELLO_PY)
        Path(d, "event.json").write_text(PAYLOAD.decode())
        argv = [exe, "-f", "handler", "app.py", "event.json"]
        for i in range(runs + 1):
            t0 = time.perf_counter()
            p = subprocess.run(argv, cwd=d, capture_output=True, text=True, check=False)
            ms = (time.perf_counter() - t0) * 1000
            if p.returncode != 0 or "hello" not in p.stdout + p.stderr:
                return {"skipped": True, "note": f"python-lambda-local failed: {p.stderr[-300:]}"}
            if i:  # the first run warms the page cache; not counted
                times.append(ms)
    med = statistics.median(times)
    return {
        "skipped": False,
        "runs": runs,
        "median_ms": r3(med),
        "min_ms": r3(min(times)),
        "max_ms": r3(max(times)),
        "ratio_to_lconsole_warm_p50": round(med / warm_p50, 1) if warm_p50 else None,
        "ratio_to_lconsole_cold_p50": round(med / cold_p50, 2) if cold_p50 else None,
    }


# Main ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=int, default=30, help="distinct functions for cold start")
    ap.add_argument("--warm", type=int, default=2000, help="http.client warm invokes")
    ap.add_argument("--other", type=int, default=500, help="httpx / boto3 warm invokes")
    ap.add_argument("--rounds", type=int, default=20, help="interleaving rounds for warm")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--pll-runs", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument(
        "--no-fork-server", action="store_true", help="engine starts each runtime by exec"
    )
    args = ap.parse_args()
    if args.quick:
        args.cold, args.warm, args.other, args.rounds = 3, 100, 20, 2
        args.seconds, args.pll_runs = 1.0, 2

    result: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "function_memory_mb": MEMORY_MB,
    }
    state = Path(tempfile.mkdtemp(prefix="lconsole-bench-"))
    engine = EngineProcess(state, *(["--no-fork-server"] if args.no_fork_server else []))
    result["fork_server"] = not args.no_fork_server
    try:
        engine.start()
        lam = engine.client()
        pid = int(engine.endpoint["pid"])
        time.sleep(1.0)
        idle_kb = vmrss_kb(pid)
        log(f"engine pid {pid} at {engine.url}, idle RSS {idle_kb} kB")

        log(f"cold start: {args.cold} distinct functions")
        result["cold"] = bench_cold(engine, lam, args.cold)

        create(lam, "bench-echo", ECHO_PY)
        wait_active(lam, ["bench-echo"])
        rounds = max(1, args.rounds)
        log(f"warm latency: {args.warm} http.client, {args.other} httpx/boto3, {rounds} rounds")
        result["warm"] = bench_warm(
            engine,
            "bench-echo",
            rounds,
            max(1, args.warm // rounds),
            max(1, args.other // rounds),
        )

        create(lam, "bench-tput", ECHO_PY + "# throughput\n")
        wait_active(lam, ["bench-tput"])
        before = set(descendants(pid))
        log(f"throughput: {args.threads} threads x {args.seconds} s")
        result["throughput"] = bench_throughput(engine, "bench-tput", args.threads, args.seconds)
        time.sleep(0.3)
        after = descendants(pid)
        new = [p for p in after if p not in before]
        new_envs = sum(map(is_runtime, new))
        zygotes = [p for p in after if is_zygote(p)]
        result["memory"] = {
            "engine_idle_rss_mb": round(idle_kb / 1024, 1),
            "zygote_rss_mb": total_mb(zygotes) if zygotes else None,  # the Python fork server
            "engine_rss_after_bench_mb": round(vmrss_kb(pid) / 1024, 1),
            # environments = runtime processes started; RSS = every process started with them
            "throughput_environments": new_envs,
            "throughput_processes": len(new),
            "per_environment_rss_mb": round(total_mb(new) / new_envs, 1) if new_envs else None,
            "per_environment_pss_mb": (
                round(total_mb(new, pss_kb) / new_envs, 1) if new_envs else None
            ),
            "all_environments": sum(map(is_runtime, after)),
            "all_processes": len(after),
            "all_processes_rss_mb": total_mb(after),
        }
    finally:
        code = engine.stop()
        shutil.rmtree(state, ignore_errors=True)
        log(f"engine stopped ({code})")

    cold = result["cold"]["wall"]["p50_ms"]  # type: ignore[index]
    warm = result["warm"]["http_client"]["p50_ms"]  # type: ignore[index]
    log(f"python-lambda-local: {args.pll_runs} runs")
    result["python_lambda_local"] = bench_pll(args.pll_runs, cold, warm)

    w = result["warm"]
    checks = {
        "cold_p50_ms": cold,
        "warm_http_client_p50_ms": warm,
        "warm_http_client_p99_ms": w["http_client"]["p99_ms"],  # type: ignore[index]
        "throughput_c4_per_s": result["throughput"]["per_s"],  # type: ignore[index]
    }
    result["targets"] = {
        k: {
            "figure": v,
            "target": TARGETS[k],
            "pass": bool(
                v is not None
                and (v >= TARGETS[k] if k.startswith("throughput") else v <= TARGETS[k])
            ),
        }
        for k, v in checks.items()
    }
    result["machine"]["loadavg_end"] = loadavg()  # type: ignore[index]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
