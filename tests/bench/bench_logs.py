"""Benchmark of the log store: ingest rate, first-page latency, retention keeping the store bounded.

Prints ONE JSON object on stdout; progress goes to stderr. See tests/bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from lconsole.model.telemetry import LogEvent
from lconsole.store.db import connect
from lconsole.store.logs import LogStore
from lconsole.store.telemetry import DAY_MS, TelemetryStore
from lconsole.telemetry.writer import TelemetryWriter

GROUP = "/aws/lambda/orders"
BASE_MS = 1_764_000_000_000  # 2025-11-24
WORDS = (
    "order", "payment", "user", "cart", "checkout", "stock", "item", "price", "total",
    "shipping", "address", "customer", "session", "token", "cache", "miss", "hit", "db",
    "query", "latency", "retry", "connection", "pool", "worker", "queue", "message", "handler",
    "request", "response", "status", "ok", "failed", "timeout", "approved", "pending",
    "created", "updated", "deleted", "inventory", "invoice", "refund", "coupon", "region",
    "zone", "batch", "record",
)
LEVELS = ["INFO"] * 8 + ["WARN"] * 2 + ["ERROR"]
QUERIES = {  # name -> filter pattern
    "term": "ERROR",
    "phrase": '"payment declined"',
    "json": '{ $.level = "ERROR" }',
    "rare_term": "zebracorn",
}
EXTRA_QUERIES = {  # no literal to index: scanned within a row budget
    "or_terms": "?timeout ?refund",
    "json_numeric": "{ $.latency > 1990 }",
}


def log(msg: str) -> None:
    print(f"[bench_logs] {msg}", file=sys.stderr, flush=True)


def lambda_lines(rng: random.Random, n: int, start: int = 0) -> list[tuple[LogEvent, int]]:
    """Lambda-shaped traffic: START/END/REPORT per request, text and JSON lines between them."""
    out: list[tuple[LogEvent, int]] = []
    rid = ""
    for i in range(start, start + n):
        stream = f"2025/11/24/[$LATEST]{i // 1000 % 20:032x}"
        ts = BASE_MS + i * 3 + rng.randrange(40)  # environments interleave: not strictly ordered
        k = i % 10
        if k == 0:
            rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            msg = f"START RequestId: {rid} Version: $LATEST\n"
        elif k == 8:
            msg = f"END RequestId: {rid}\n"
        elif k == 9:
            msg = (f"REPORT RequestId: {rid}\tDuration: {rng.random() * 90:.2f} ms\t"
                   "Billed Duration: 91 ms\tMemory Size: 128 MB\tMax Memory Used: 41 MB\t\n")
        elif k in (3, 6):
            msg = json.dumps({"level": rng.choice(LEVELS), "requestId": rid,
                              "latency": rng.randint(1, 2000), "user": {"id": rng.randint(1, 9999)},
                              "msg": " ".join(rng.choices(WORDS, k=5))}) + "\n"
        else:
            words = " ".join(rng.choices(WORDS, k=rng.randint(4, 12)))
            if rng.randrange(40) == 0:
                words += " payment declined"
            if rng.randrange(50_000) == 0:
                words += " zebracorn"
            msg = f"[{rng.choice(LEVELS)}]\t2025-11-24T00:00:00.000Z\t{rid}\t{words}\n"
        out.append((LogEvent(GROUP, stream, ts, msg, rid), ts + 50))
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 3)


def summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(ms), 3), "p99_ms": pct(ms, 99),
            "max_ms": round(max(ms), 3), "runs": len(ms)}


def used_bytes(conn: sqlite3.Connection) -> int:
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return (pages - free) * page


class Querier(threading.Thread):
    """Runs the benchmark queries in a loop on its own connection until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            db = connect(self.path)
            store = LogStore(db)
            patterns = list(QUERIES.values())
            i = 0
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    store.filter_log_events(GROUP, patterns[i % len(patterns)], limit=100)
                except Exception as exc:  # the group appears with the first batch
                    if getattr(exc, "code", "") != "ResourceNotFoundException":
                        raise
                self.latencies.append((time.perf_counter() - t0) * 1000)
                i += 1
            db.conn.close()
        except BaseException as exc:
            self.error = exc


def bench_ingest(path: Path, lines: int, batch: int) -> dict[str, object]:
    """Sustained TelemetryStore.write in writer-sized batches while a thread queries."""
    rng = random.Random(7)
    db = connect(path)
    store = TelemetryStore(db)
    querier = Querier(path)
    querier.start()
    done, write_ms, t0 = 0, [], time.perf_counter()
    try:
        while done < lines:
            chunk = lambda_lines(rng, min(batch, lines - done), done)
            w0 = time.perf_counter()
            store.write(chunk, [])
            write_ms.append((time.perf_counter() - w0) * 1000)
            done += len(chunk)
            if done % 100_000 == 0:
                log(f"ingested {done:,} lines ({done / (time.perf_counter() - t0):,.0f}/s)")
    finally:
        querier.stop.set()
        querier.join(timeout=30)
    elapsed = time.perf_counter() - t0
    if querier.error is not None:
        raise querier.error
    db.conn.close()
    return {
        "lines": lines, "batch": batch, "seconds": round(elapsed, 2),
        "lines_per_s_including_generation": round(lines / elapsed),
        "lines_per_s_in_write": round(lines / (sum(write_ms) / 1000)),
        "write_ms": summary(write_ms) | {"mean_ms": round(statistics.fmean(write_ms), 3)},
        "concurrent_queries": len(querier.latencies),
        "query_under_load_ms": summary(querier.latencies) if querier.latencies else None,
    }


def bench_writer(path: Path, lines: int) -> dict[str, object]:
    """The engine's path: TelemetryWriter buffers on the event loop and flushes every 50 ms."""
    rng = random.Random(11)
    events = lambda_lines(rng, lines, 10_000_000)
    db = connect(path)
    store = TelemetryStore(db)
    batches: list[int] = []
    real_write = store.write

    def counting_write(ev, inv):  # type: ignore[no-untyped-def]
        batches.append(len(ev))
        real_write(ev, inv)

    store.write = counting_write  # type: ignore[method-assign]

    async def main() -> float:
        writer = TelemetryWriter(store)
        writer.start()
        t0 = time.perf_counter()
        for i in range(0, len(events), 100):  # bursts of lines, as invocations emit them
            for event, _ in events[i:i + 100]:
                writer.log(event)
            await asyncio.sleep(0.001)  # let the loop run its timers, so flushes stay small
        await writer.stop()
        return time.perf_counter() - t0

    elapsed = asyncio.run(main())
    db.conn.close()
    return {"lines": lines, "seconds": round(elapsed, 2), "lines_per_s": round(lines / elapsed),
            "flushes": len(batches), "batch_median": statistics.median(batches),
            "batch_max": max(batches)}


def bench_queries(path: Path, runs: int) -> dict[str, object]:
    db = connect(path)
    store = LogStore(db)
    (total,) = db.conn.execute("SELECT count(*) FROM log_events").fetchone()
    out: dict[str, object] = {"stored_lines": total}
    for limit in (100, 10_000):
        section: dict[str, object] = {}
        for name, pattern in {**QUERIES, **EXTRA_QUERIES}.items():
            ms, found = [], 0
            for _ in range(runs):
                t0 = time.perf_counter()
                page = store.filter_log_events(GROUP, pattern, limit=limit)
                ms.append((time.perf_counter() - t0) * 1000)
                found = len(page.events)
            section[name] = summary(ms) | {"pattern": pattern, "events": found,
                                           "next_token": page.next_token is not None}
            log(f"limit={limit} {name}: p50 {section[name]['p50_ms']} ms, {found} events")
        out[f"limit_{limit}"] = section
    page = store.get_log_events(GROUP, "2025/11/24/[$LATEST]" + f"{3:032x}", limit=100)
    t0 = time.perf_counter()
    for _ in range(runs):
        page = store.get_log_events(GROUP, "2025/11/24/[$LATEST]" + f"{3:032x}", limit=100)
    out["get_log_events_newest_100_ms"] = round((time.perf_counter() - t0) * 1000 / runs, 3)
    t0 = time.perf_counter()
    result = store.insights([GROUP], "filter @message like /ERROR/ | stats count() by bin(1m)",
                            BASE_MS, BASE_MS + 300_000)
    out["insights_5min_stats"] = {"ms": round((time.perf_counter() - t0) * 1000, 1),
                                "records_scanned": result.records_scanned}
    db.conn.close()
    return out


def bench_retention(path: Path, per_day: int, days: int) -> dict[str, object]:
    """A group kept for 1 day fed `days` days of traffic: the store must stop growing."""
    rng = random.Random(3)
    db = connect(path)
    store, logs = TelemetryStore(db), LogStore(db)
    store.write(lambda_lines(rng, 1), [])
    logs.put_retention_policy(GROUP, 1)
    rounds = []
    step = DAY_MS // per_day
    for day in range(days):
        for i in range(0, per_day, 1000):
            chunk = []
            for event, _ in lambda_lines(rng, 1000, i):
                ts = BASE_MS + day * DAY_MS + (i + len(chunk)) * step
                chunk.append((LogEvent(GROUP, event.stream, ts, event.message), ts + 50))
            store.write(chunk, [])
        before = used_bytes(db.conn)
        now = BASE_MS + (day + 1) * DAY_MS
        stop = threading.Event()
        write_ms: list[float] = []

        def writer(stop: threading.Event = stop, write_ms: list[float] = write_ms,
                   now: int = now) -> None:
            wdb = connect(path)
            wstore = TelemetryStore(wdb)
            while not stop.is_set():
                batch = [(LogEvent(GROUP, "live", now, "INFO live line"), now)] * 50
                w0 = time.perf_counter()
                wstore.write(batch, [])
                write_ms.append((time.perf_counter() - w0) * 1000)
                time.sleep(0.005)
            wdb.conn.close()

        thread = threading.Thread(target=writer)
        thread.start()
        t0 = time.perf_counter()
        expiry = store.apply_retention(now)
        seconds = time.perf_counter() - t0
        stop.set()
        thread.join(timeout=30)
        (left,) = db.conn.execute("SELECT count(*) FROM log_events").fetchone()
        rounds.append({
            "day": day + 1, "used_mb_before": round(before / 1e6, 1),
            "used_mb_after": round(used_bytes(db.conn) / 1e6, 1),
            "file_mb": round(os.path.getsize(path) / 1e6, 1), "deleted": expiry.events,
            "events_left": left, "seconds": round(seconds, 2),
            "longest_lock_hold_ms": expiry.longest_hold_ms, "done": expiry.done,
            "concurrent_write_max_ms": round(max(write_ms), 1) if write_ms else None,
            "concurrent_write_p50_ms": round(statistics.median(write_ms), 2) if write_ms else None,
        })
        log(f"retention day {day + 1}: {rounds[-1]}")
    db.conn.close()
    return {"lines_per_day": per_day, "retention_days": 1, "rounds": rounds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--writer-lines", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--retention-lines-per-day", type=int, default=200_000)
    ap.add_argument("--retention-days", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.writer_lines, args.runs = 50_000, 20_000, 5
        args.retention_lines_per_day, args.retention_days = 10_000, 3
    result: dict[str, object] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "platform": platform.platform()},
    }
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        main_db = Path(tmp) / "logs.db"
        log(f"ingest {args.lines:,} lines in batches of {args.batch} with a concurrent querier")
        result["ingest"] = bench_ingest(main_db, args.lines, args.batch)
        result["store_mb"] = round(os.path.getsize(main_db) / 1e6, 1)
        log("first-page latency")
        result["queries"] = bench_queries(main_db, args.runs)
        log(f"TelemetryWriter end to end, {args.writer_lines:,} lines")
        result["writer"] = bench_writer(Path(tmp) / "writer.db", args.writer_lines)
        log("retention")
        result["retention"] = bench_retention(Path(tmp) / "retention.db",
                                              args.retention_lines_per_day, args.retention_days)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
