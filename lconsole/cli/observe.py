"""The observing verbs: `lconsole logs`, `insights`, `traces`, `trace` and `metrics`.

All read through the backend (the engine's console API), print text for people by default and
JSON with `--json` for scripts (`logs --json` writes one object per line, so it pipes into
`jq` while following). Exit codes as for the other verbs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from lconsole.backends.base import Backend, LogLine, LogQuery, Segment
from lconsole.cli.verbs import FAILED, OK, USAGE, UsageError, _fail, _run

_SPAN = re.compile(r"(\d+)\s*(ms|s|m|h|d|w)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
FOLLOW_POLL = 0.5  # seconds between polls while following
SPARK = "▁▂▃▄▅▆▇█"


def parse_since(value: str, now_ms: int) -> int:
    """`--since`: a span back from now (`90s`, `10m`, `2h`, `1d`, `1h30m`) or an ISO time."""
    text = value.strip()
    spans = _SPAN.findall(text)
    if spans and _SPAN.sub("", text).strip() == "":
        return now_ms - sum(int(n) * _UNIT_MS[u] for n, u in spans)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since expects a span like 10m, 2h, 1d or an ISO time, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _iso(ms: int | float) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def add_parsers(sub: argparse._SubParsersAction, state_dir: Any) -> None:  # type: ignore[type-arg]
    logs = sub.add_parser(
        "logs",
        help="print a function's log events",
        description="Print log events of /aws/lambda/NAME, oldest first. --filter takes a "
        "CloudWatch Logs filter pattern: terms, \"quoted phrases\", -exclusions, ?alternatives, "
        "JSON patterns like '{ $.level = \"ERROR\" }', space-delimited patterns.",
    )
    logs.add_argument("name", metavar="NAME")
    logs.add_argument("--filter", metavar="PATTERN", default="")
    logs.add_argument("--since", default="1h", help="how far back: 10m, 2h, 1d or an ISO time")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    logs.add_argument("--request-id", help="only this invocation's lines")
    logs.add_argument("--limit", type=int, default=1000)
    logs.add_argument("--json", action="store_true", help="one JSON object per event")
    logs.add_argument(
        "--retention",
        type=int,
        metavar="DAYS",
        help="set the log group's retention instead (AWS's values: 1, 3, 5, 7, 14, 30, ...; "
        "0 keeps events forever)",
    )
    state_dir(logs)

    insights = sub.add_parser(
        "insights",
        help="run a Logs Insights query over a function's logs",
        description="Run a CloudWatch Logs Insights query, e.g. "
        "'filter @type = \"REPORT\" | stats avg(@duration), pct(@duration, 99) by bin(1m)'.",
    )
    insights.add_argument("name", metavar="NAME")
    insights.add_argument("query", metavar="QUERY")
    insights.add_argument("--since", default="1h")
    insights.add_argument("--limit", type=int)
    insights.add_argument("--json", action="store_true")
    state_dir(insights)

    traces = sub.add_parser("traces", help="list a function's recent traces")
    traces.add_argument("name", metavar="NAME")
    traces.add_argument("--since", default="1h")
    traces.add_argument("--filter", metavar="EXPRESSION", default="", help='e.g. "fault"')
    traces.add_argument("--json", action="store_true")
    state_dir(traces)

    trace = sub.add_parser("trace", help="show one trace as a waterfall")
    trace.add_argument("trace_id", metavar="ID")
    trace.add_argument("--json", action="store_true")
    state_dir(trace)

    metrics = sub.add_parser("metrics", help="show a function's metrics")
    metrics.add_argument("name", metavar="NAME")
    metrics.add_argument("--since", default="15m")
    metrics.add_argument("--period", type=int, default=60, metavar="SECONDS")
    metrics.add_argument("--json", action="store_true")
    state_dir(metrics)


COMMANDS = ("logs", "insights", "traces", "trace", "metrics")


def run(args: argparse.Namespace, state_dir: Path) -> int:
    now = int(time.time() * 1000)
    try:
        since = parse_since(args.since, now) if hasattr(args, "since") else now
        if getattr(args, "limit", None) is not None and args.limit < 1:
            raise UsageError("--limit must be at least 1")
    except UsageError as exc:
        return _fail(str(exc), USAGE)
    work = {
        "logs": lambda b: _logs(b, args, since),
        "insights": lambda b: _insights(b, args, since, now),
        "traces": lambda b: _traces(b, args, since, now),
        "trace": lambda b: _trace(b, args),
        "metrics": lambda b: _metrics(b, args, since, now),
    }[args.command]
    try:
        return _run(state_dir, work)
    except KeyboardInterrupt:
        return 130


# logs -------------------------------------------------------------------------------------


def _print_line(line: LogLine, as_json: bool) -> None:
    if as_json:
        record = {
            "timestamp": line.timestamp,
            "stream": line.stream,
            "request_id": line.request_id,
            "message": line.message.rstrip("\n"),
        }
        print(json.dumps(record), flush=True)
    else:
        print(f"{_iso(line.timestamp)}  {line.message.rstrip()}", flush=True)


async def _logs(backend: Backend, args: argparse.Namespace, since: int) -> int:
    if args.retention is not None:
        await backend.put_log_retention(args.name, args.retention or None)
        kept = f"{args.retention} days" if args.retention else "forever"
        print(f"/aws/lambda/{args.name}: events kept {kept}", file=sys.stderr)
        return OK
    query = LogQuery(
        function=args.name,
        start_ms=since,
        filter_pattern=args.filter,
        request_id=args.request_id,
        limit=args.limit,
    )
    lines = await backend.logs(query)
    seen: set[tuple[int, str, str]] = set()
    last = since
    for line in lines:
        _print_line(line, args.json)
        seen.add((line.timestamp, line.stream, line.message))
        last = max(last, line.timestamp)
    if not args.follow:
        return OK
    while True:  # poll from the newest timestamp printed; the engine applies the filter
        await asyncio.sleep(FOLLOW_POLL)
        fresh = await backend.logs(
            LogQuery(args.name, start_ms=last, filter_pattern=args.filter, limit=10_000)
        )
        for line in fresh:
            key = (line.timestamp, line.stream, line.message)
            if key in seen:
                continue
            _print_line(line, args.json)
            seen.add(key)
            last = max(last, line.timestamp)
        if len(seen) > 100_000:  # keep only what could still come back at `last`
            seen = {k for k in seen if k[0] >= last}


# insights ---------------------------------------------------------------------------------


async def _insights(backend: Backend, args: argparse.Namespace, since: int, now: int) -> int:
    rows = await backend.insights(
        args.name, args.query, start_ms=since, end_ms=now, limit=args.limit
    )
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return OK
    if not rows:
        print("no results", file=sys.stderr)
        return OK
    columns = list(dict.fromkeys(k for row in rows for k in row))
    table = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return OK


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value).rstrip("\n")


# traces -----------------------------------------------------------------------------------


def _status(has_fault: bool, has_error: bool, has_throttle: bool) -> str:
    if has_fault:
        return "FAULT"
    if has_throttle:
        return "THROTTLE"
    return "ERROR" if has_error else "OK"


async def _traces(backend: Backend, args: argparse.Namespace, since: int, now: int) -> int:
    found = await backend.traces(
        args.name, start_ms=since, end_ms=now, filter_expression=args.filter or None
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": t.id,
                        "start": t.start,
                        "duration": t.duration,
                        "status": _status(t.has_fault, t.has_error, t.has_throttle),
                    }
                    for t in found
                ],
                indent=2,
            )
        )
        return OK
    if not found:
        print(f"no traces for {args.name} since {_iso(since)}", file=sys.stderr)
        return OK
    print(f"{'TRACE ID':<35}  {'START':<24}  {'DURATION':>10}  STATUS")
    for t in found:
        status = _status(t.has_fault, t.has_error, t.has_throttle)
        print(f"{t.id:<35}  {_iso(t.start * 1000):<24}  {t.duration * 1000:>8.1f}ms  {status}")
    return OK


def _rows(segments: Any, depth: int = 0) -> list[tuple[int, Segment]]:
    out: list[tuple[int, Segment]] = []
    for s in sorted(segments, key=lambda s: s.start):
        out.append((depth, s))
        out.extend(_rows(s.children, depth + 1))
    return out


async def _trace(backend: Backend, args: argparse.Namespace) -> int:
    found = await backend.trace(args.trace_id)
    rows = _rows(found.segments)
    if args.json:
        print(json.dumps({"id": found.id, "duration": found.duration, "segments": [
            {"depth": d, "id": s.id, "name": s.name, "start": s.start, "end": s.end,
             "origin": s.origin, "error": s.error, "fault": s.fault,
             "annotations": dict(s.annotations)}
            for d, s in rows
        ]}, indent=2))
        return OK
    if not rows:
        return _fail(f"trace {args.trace_id} has no segments", FAILED)
    start = min(s.start for _, s in rows)
    end = max((s.end or s.start) for _, s in rows)
    total = max(end - start, 1e-6)
    width = 30
    print(f"trace {found.id}  {total * 1000:.1f} ms")
    for depth, s in rows:
        left = int((s.start - start) / total * width)
        span = max(1, int(((s.end or s.start) - s.start) / total * width))
        bar = " " * left + "█" * min(span, width - left)
        flag = " FAULT" if s.fault else " ERROR" if s.error else ""
        label = ("  " * depth + s.name)[:34]
        took = f"{((s.end or s.start) - s.start) * 1000:.1f}ms" if s.end else "in progress"
        notes = " ".join(f"{k}={v}" for k, v in s.annotations.items())
        print(f"{label:<34} {bar:<{width}} {took:>11}{flag} {notes}".rstrip())
    return OK


# metrics ----------------------------------------------------------------------------------


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int(v / top * (len(SPARK) - 1)))] for v in values)


async def _metrics(backend: Backend, args: argparse.Namespace, since: int, now: int) -> int:
    if args.period < 1:
        return _fail("--period must be at least 1", USAGE)
    series = await backend.metrics(
        args.name, start_ms=since, end_ms=now, period_s=args.period
    )
    if args.json:
        print(json.dumps([
            {"name": m.name, "stat": m.stat, "period_s": m.period_s,
             "timestamps": list(m.timestamps), "values": list(m.values)}
            for m in series
        ], indent=2))
        return OK
    print(f"{args.name}: since {_iso(since)}, {args.period} s periods")
    for m in series:
        values = list(m.values)
        summary = sum(values) if m.stat == "Sum" else max(values, default=0.0)
        what = "total" if m.stat == "Sum" else "max"
        label = f"{m.name} ({m.stat})"
        print(f"{label:<52} {sparkline(values[-40:]):<40} {what} {_cell(float(summary))}")
    return OK
