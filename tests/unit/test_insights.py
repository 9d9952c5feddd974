"""Logs Insights query subset (telemetry.md §3) over Lambda-style log events."""

from __future__ import annotations

import json
import re

import pytest

from lconsole.telemetry.insights import (
    DEFAULT_LIMIT,
    InsightsError,
    format_timestamp,
    parse_query,
    run_query,
)

T = 1716222585000  # 2024-05-20 16:29:45.000 UTC
R1 = "8f5a4e2c-1b7d-4c3e-9a6f-0d2b8c7e1f01"
R2 = "3c9e7b1a-5d2f-4a8b-b6c4-7e0f9d1a2b02"
STREAM = "2024/05/20/[$LATEST]d6c10ebbd9cb48dba94a7d9b874b49bb"
XRAY = "1-5d8bba5a-dc2932496a65bab91d2d42d4"
MESSAGES = [
    (0, "INIT_START Runtime Version: python:3.13.v10\tRuntime Version ARN: arn:aws:lambda:"
        "us-east-1::runtime:abc\n"),
    (100, f"START RequestId: {R1} Version: $LATEST\n"),
    (120, f"[INFO]\t2024-05-20T16:29:45.120Z\t{R1}\tprocessing order 42\n"),
    (130, json.dumps({"level": "ERROR", "message": "payment failed", "requestId": R1,
                      "order": {"id": 42, "items": [{"sku": "A"}, {"sku": "B"}]}}) + "\n"),
    (200, f"END RequestId: {R1}\n"),
    (201, f"REPORT RequestId: {R1}\tDuration: 98.50 ms\tBilled Duration: 209 ms\tMemory Size: "
          "128 MB\tMax Memory Used: 40 MB\tInit Duration: 110.10 ms\t\n"),
    (61000, f"START RequestId: {R2} Version: $LATEST\n"),
    (61010, f"[WARNING]\t2024-05-20T16:30:46.010Z\t{R2}\tslow downstream latency=250\n"),
    (61020, json.dumps({"level": "INFO", "message": "done", "requestId": R2, "@origin": "x",
                        "user-agent": "curl"}) + "\n"),
    (61030, f"END RequestId: {R2}\n"),
    (61031, f"REPORT RequestId: {R2}\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: "
            f"128 MB\tMax Memory Used: 41 MB\t\nXRAY TraceId: {XRAY}\tSegmentId: "
            "5ff79d2a06b82ad6\tSampled: true\t\n"),
]
EVENTS = [{"@timestamp": T + dt, "@message": m, "@logStream": STREAM,
           "@log": "123456789012:/aws/lambda/orders"} for dt, m in MESSAGES]


def run(query: str, events: list[dict] | None = None, **kw) -> list[dict]:
    return run_query(parse_query(query), EVENTS if events is None else events, **kw)


def test_default_fields_sort_and_timestamp_format() -> None:
    rows = run("")
    assert len(rows) == len(EVENTS)
    assert list(rows[0]) == ["@timestamp", "@message"]
    assert rows[0]["@timestamp"] == "2024-05-20 16:30:46.031"
    assert rows[-1]["@message"].startswith("INIT_START")
    assert [r["@timestamp"] for r in rows] == sorted((r["@timestamp"] for r in rows), reverse=True)
    assert format_timestamp(T + 7) == "2024-05-20 16:29:45.007"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('filter @type = "REPORT" | fields @requestId, @type',
         [{"@requestId": R2, "@type": "REPORT"}, {"@requestId": R1, "@type": "REPORT"}]),
        ('filter @type = "REPORT" | fields @duration, @billedDuration, @memorySize, '
         "@maxMemoryUsed, @initDuration",
         [{"@duration": 3.01, "@billedDuration": 4.0, "@memorySize": 128_000_000,
           "@maxMemoryUsed": 41_000_000},
          {"@duration": 98.5, "@billedDuration": 209.0, "@memorySize": 128_000_000,
           "@maxMemoryUsed": 40_000_000, "@initDuration": 110.1}]),
        ("filter ispresent(@xrayTraceId) | fields @xrayTraceId, @xraySegmentId",
         [{"@xrayTraceId": XRAY, "@xraySegmentId": "5ff79d2a06b82ad6"}]),
        ('filter @message like "processing" | fields @requestId', [{"@requestId": R1}]),
        ('filter @type = "START" | fields @requestId', [{"@requestId": R2}, {"@requestId": R1}]),
        ('filter level = "ERROR" | fields message, order.id, order.items.1.sku, @requestId',
         [{"message": "payment failed", "order.id": 42, "order.items.1.sku": "B",
           "@requestId": R1}]),
        ("filter ispresent(@@origin) | fields @@origin, `user-agent`",
         [{"@@origin": "x", "user-agent": "curl"}]),
        ('filter @type = "INIT_START" | fields @type, @requestId', [{"@type": "INIT_START"}]),
        ("filter @message like 'latency' | fields @logStream, @log",
         [{"@logStream": STREAM, "@log": "123456789012:/aws/lambda/orders"}]),
    ],
)
def test_discovered_fields(query: str, expected: list[dict]) -> None:
    assert run(query) == expected


@pytest.mark.parametrize(
    ("expr", "count"),
    [
        ('@type = "START"', 2),
        ('@type != "START"', 5),  # rows without @type never compare
        ("@duration > 50", 1),
        ("@duration >= 3.01", 2),
        ("@duration < 3.01", 0),
        ("@duration <= 3.01", 1),
        ('@type = "START" or @type = "END"', 4),
        ('@type = "REPORT" and @duration > 50', 1),
        ('@type = "REPORT" and not @duration > 50', 1),
        ("not ispresent(@type)", 4),
        ('@message like "order"', 2),
        ("@message like /(?i)PAYMENT/", 1),
        ("@message not like /RequestId/", 5),
        (r"@message =~ /latency=\d+/", 1),
        (r"@message like /\/aws|runtime:abc/", 1),
        ('@type in ["START", "END"]', 4),
        ('@type not in ["START", "END"]', 3),
        ("order.id = 42", 1),
        ('order.id = "42"', 1),
        ('level = "error"', 0),  # string comparison is case-sensitive
        ('tolower(level) = "error"', 1),
        ("(@duration + 1) * 2 > 100", 1),
        ("@maxMemoryUsed / 1000 / 1000 > 40", 1),
        ("-@duration < -50", 1),
        ("strlen(@requestId) = 36", 10),
        ("ispresent(@initDuration)", 1),
        ("isempty(level)", 9),
        (f"@timestamp >= {T + 61000}", 5),
        ("@type = 'REPORT' and (@duration > 50 or ispresent(@xrayTraceId))", 2),
    ],
)
def test_filter(expr: str, count: int) -> None:
    assert run(f"filter {expr} | stats count() as n") == [{"n": count}]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('filter @type = "REPORT" | fields @duration * 2 as double, '
         'concat(@requestId, "!") as tag, @billedDuration - @duration | limit 1',
         [{"double": 6.02, "tag": R2 + "!", "@billedDuration - @duration": pytest.approx(0.99)}]),
        ("# a comment line\nfields @type # trailing comment\n| filter @type = 'START' | limit 1",
         [{"@type": "START"}]),
        ("fields @type, @requestId | display @requestId | limit 1", [{"@requestId": R2}]),
        ("display @type | display @requestId | limit 1", [{"@requestId": R2}]),
        ("fields @type | fields @requestId | limit 1", [{"@type": "REPORT", "@requestId": R2}]),
        ('filter @type = "REPORT" | fields toupper(@type) as u, tolower(@type) as l, '
         'substr(@requestId, 0, 8) as short, replace(@type, "REP", "X") as r, '
         'strcontains(@message, "XRAY") as x, abs(-@duration) as a, ceil(@duration) as c, '
         "floor(@duration) as f, coalesce(@initDuration, 0) as init, isblank(level) as b, "
         "fromMillis(toMillis(@timestamp)) as ts, datefloor(@timestamp, 1m) as lo, "
         "dateceil(@timestamp, 1m) as hi | limit 1",
         [{"u": "REPORT", "l": "report", "short": R2[:8], "r": "XORT", "x": 1, "a": 3.01,
           "c": 4, "f": 3, "init": 0, "b": True, "ts": "2024-05-20 16:30:46.031",
           "lo": "2024-05-20 16:30:00.000", "hi": "2024-05-20 16:31:00.000"}]),
        (r'parse @message "[*]\t*\t*\t*" as lvl, ts, rid, msg | filter ispresent(lvl) '
         "| display lvl, msg",
         [{"lvl": "WARNING", "msg": "slow downstream latency=250"},
          {"lvl": "INFO", "msg": "processing order 42"}]),
        ('parse "latency=*" as latency | filter latency > 200 | fields latency',
         [{"latency": "250"}]),
        ('parse @message "latency=*" as latency | stats count() as n', [{"n": 11}]),
        ('parse @message "latency=*" as lat | parse lat "*0" as head | filter ispresent(head) '
         "| fields head", [{"head": "25"}]),
        (r"parse @message /\[(?<lvl>[A-Z]+)\]\t\S+\t(?<rid>\S+)/ | filter ispresent(lvl) "
         "| stats count() as n by lvl, rid | sort lvl",
         [{"lvl": "INFO", "rid": R1, "n": 1}, {"lvl": "WARNING", "rid": R2, "n": 1}]),
        ("parse @logStream '*/*/*/[*]*' as y, m, d, version, id | fields version, d | limit 1",
         [{"version": "$LATEST", "d": "20"}]),
    ],
)
def test_fields_display_parse(query: str, expected: list[dict]) -> None:
    assert run(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stats count() as n", [{"n": 11}]),
        ("stats count(*) as all, count(level) as withLevel, count_distinct(@requestId) as reqs",
         [{"all": 11, "withLevel": 2, "reqs": 2}]),
        ('filter @type = "REPORT" | stats sum(@billedDuration) as s, avg(@duration) as a, '
         "min(@maxMemoryUsed) as lo, max(@maxMemoryUsed) as hi",
         [{"s": 213.0, "a": pytest.approx(50.755), "lo": 40_000_000, "hi": 41_000_000}]),
        ("stats count() as n by @type | sort @type",
         [{"@type": "END", "n": 2}, {"@type": "INIT_START", "n": 1}, {"@type": "REPORT", "n": 2},
          {"@type": "START", "n": 2}, {"n": 4}]),
        ("stats count() as n by bin(1m)",
         [{"bin(1m)": "2024-05-20 16:30:00.000", "n": 5},
          {"bin(1m)": "2024-05-20 16:29:00.000", "n": 6}]),
        ("stats count() as n by bin(5s)",
         [{"bin(5s)": "2024-05-20 16:30:45.000", "n": 5},
          {"bin(5s)": "2024-05-20 16:29:45.000", "n": 6}]),
        ("stats count() as n by bin(1h)", [{"bin(1h)": "2024-05-20 16:00:00.000", "n": 11}]),
        ("stats count() as n by bin(1m) as minute, @logStream | sort minute asc | limit 1",
         [{"minute": "2024-05-20 16:29:00.000", "@logStream": STREAM, "n": 6}]),
        ("stats count() as n by @type | sort n desc, @type asc | limit 2",
         [{"n": 4}, {"@type": "END", "n": 2}]),
        ("stats count(*) by @type | sort count(*) desc | limit 1", [{"count(*)": 4}]),
        ("stats count() by bin(1m) | sort bin(1m) | limit 1",
         [{"bin(1m)": "2024-05-20 16:29:00.000", "count()": 6}]),
        ('filter @type = "REPORT" | stats sum(@billedDuration) / count() as mean',
         [{"mean": 106.5}]),
        ("stats earliest(@requestId) as first, latest(@requestId) as last",
         [{"first": R1, "last": R2}]),
        ("stats min(@timestamp) as lo, max(@timestamp) as hi",
         [{"lo": "2024-05-20 16:29:45.000", "hi": "2024-05-20 16:30:46.031"}]),
        ('filter @type = "nope" | stats count() as n, avg(@duration) as a', [{"n": 0}]),
        ('filter @type = "REPORT" | stats max(@duration) as m by @requestId | fields m * 2 as dbl',
         [{"@requestId": R2, "m": 3.01, "dbl": 6.02}, {"@requestId": R1, "m": 98.5, "dbl": 197.0}]),
        ("stats count() as n by @type | display n | limit 1", [{"n": 2}]),
        ("stats count() as n by @type | filter n > 2", [{"n": 4}]),
        ("stats count() as n by @type | stats sum(n) as total, count() as types",
         [{"total": 11, "types": 5}]),
    ],
)
def test_stats(query: str, expected: list[dict]) -> None:
    assert run(query) == expected


REPORTS = [{"@timestamp": T + i, "@logStream": STREAM, "@log": "g",
            "@message": f"REPORT RequestId: {i}\tDuration: {i}.00 ms\tBilled Duration: {i} ms\t"
                        "Memory Size: 128 MB\tMax Memory Used: 36 MB\t\n"} for i in range(1, 101)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stats pct(@duration, 50) as p50, pct(@duration, 99) as p99", {"p50": 50.0, "p99": 99.0}),
        ("stats pct(@duration, 0) as lo, pct(@duration, 100) as hi", {"lo": 1.0, "hi": 100.0}),
        ("stats pct(@duration, 95)", {"pct(@duration, 95)": 95.0}),
        ("filter @duration <= 4 | stats stddev(@duration) as sd", {"sd": pytest.approx(1.118034)}),
        ("stats avg(@billedDuration) as a, count_distinct(@maxMemoryUsed) as m",
         {"a": 50.5, "m": 1}),
    ],
)
def test_stats_percentiles(query: str, expected: dict) -> None:
    assert run(query, REPORTS) == [expected]


NATURAL = ["!:", "#", "*%04", "0#", "5A", "111A", "2345_", "@", "@_", "A", "A9876fghj",
           "a12345hfh", "0", "01", "1", "2", "3"]  # the ascending example of AWS's sort page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('filter @type = "REPORT" | sort @duration | fields @duration',
         [{"@duration": 3.01}, {"@duration": 98.5}]),
        ('filter @type = "REPORT" | sort @duration asc | fields @duration',
         [{"@duration": 3.01}, {"@duration": 98.5}]),
        ("sort @duration desc | fields @duration | limit 3",
         [{"@duration": 98.5}, {"@duration": 3.01}, {}]),  # nulls last
        ("sort @duration asc | fields @duration | limit 3",
         [{"@duration": 3.01}, {"@duration": 98.5}, {}]),
        ("sort @timestamp asc | limit 1 | fields @type", [{"@type": "INIT_START"}]),
        ("limit 3 | fields @type", [{"@type": "REPORT"}, {"@type": "END"}, {}]),
        ("limit any 2 | fields @type", [{"@type": "REPORT"}, {"@type": "END"}]),
        ("filter ispresent(@requestId) | fields @requestId, @type | dedup @requestId",
         [{"@requestId": R2, "@type": "REPORT"}, {"@requestId": R1, "@type": "REPORT"}]),
        ("fields @type | dedup @type",  # nulls never dedup
         [{"@type": "REPORT"}, {"@type": "END"}, {}, {}, {"@type": "START"}, {}, {},
          {"@type": "INIT_START"}]),
        ("fields @type | dedup @type | limit 2", [{"@type": "REPORT"}, {"@type": "END"}]),
    ],
)
def test_sort_limit_dedup(query: str, expected: list[dict]) -> None:
    assert run(query) == expected


def test_natural_sort_order() -> None:
    events = [{"@timestamp": T, "@message": json.dumps({"v": v})} for v in reversed(NATURAL)]
    asc = [r["v"] for r in run("sort v asc | fields v", events)]
    assert asc[:13] == NATURAL[:13]
    assert sorted(asc[13:15]) == ["01", "1"]  # equal as numbers
    assert asc[15:] == NATURAL[15:]
    desc = [r["v"] for r in run("sort v desc | fields v", events)]
    assert desc[:2] == ["3", "2"]
    assert desc[-1] == "!:"


def test_limits() -> None:
    many = [{"@timestamp": T + i, "@message": str(i)} for i in range(DEFAULT_LIMIT + 5)]
    assert DEFAULT_LIMIT == 10_000
    assert len(run("fields @message", many)) == 10_000
    assert len(run("limit 10005", many)) == 10_005
    assert len(run("", many, limit=20)) == 20
    with pytest.raises(InsightsError):
        run("", many, limit=0)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (f"2024-05-20T16:29:45.123Z\t{R1}\tINFO\thello from node\n", {"@requestId": R1}),
        ("2024-05-20T16:29:45.123Z\tundefined\tINFO\tduring init\n", {}),
        ("[INFO]\t2024-05-20T16:29:45.123Z\t\tinit-phase line\n", {}),
        ("START of batch 7\n", {}),  # a user line is not a platform record
        ("INIT_REPORT Init Duration: 87.28 ms\tPhase: invoke\tStatus: error\tError Type: "
         "Runtime.ImportModuleError\n", {"@type": "INIT_REPORT", "@initDuration": 87.28}),
        ('{"time":"2026-10-08T07:30:29.470Z","type":"platform.report","record":{"requestId":"'
         + R2 + '","metrics":{"durationMs":1233.96,"billedDurationMs":1698,"memorySizeMB":256,'
         '"maxMemoryUsedMB":123,"initDurationMs":463.512},"status":"success"}}',
         {"@type": "REPORT", "@requestId": R2, "@duration": 1233.96, "@billedDuration": 1698.0,
          "@memorySize": 256_000_000, "@maxMemoryUsed": 123_000_000, "@initDuration": 463.512}),
    ],
)
def test_discovered_fields_of_other_formats(message: str, expected: dict) -> None:
    query = ("fields @type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed, "
             "@initDuration")
    assert run(query, [{"@timestamp": T, "@message": message}]) == [expected]


def test_empty_input_and_missing_message() -> None:
    assert run("stats count() as n", []) == [{"n": 0}]
    assert run("", []) == []
    assert run("fields @type", [{"@timestamp": T}]) == [{}]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("foo", "Unexpected token 'foo' at position 0"),
        ("fields @message | foo", "Unexpected token 'foo' at position 18"),
        ("filter @type = ", "Unexpected end of query at position 15"),
        ("fields a,, b", "Unexpected token ',' at position 9"),
        ("fields @message @type", "Unexpected token '@type' at position 16"),
        ("fields @message |", "Unexpected end of query at position 17"),
        ("filter and", "Unexpected token 'and' at position 7"),
        ("sort", "Unexpected end of query at position 4"),
        ('filter x = "abc', "Unterminated string at position 11"),
        ("fields `open", "Unterminated string at position 7"),
        ("filter a = 1 ~ 2", "Unexpected character '~' at position 13"),
        ("filter @message like /abc", "Unterminated regular expression at position 21"),
        ("filter @message like /(?<x/", "Invalid regular expression at position 21"),
        ('parse @message "* *" as a', "parse pattern has 2 wildcards for 1 fields at position 15"),
        ("parse @message /abc/", "parse regex needs named groups"),
        ("parse @message 42", "Unexpected token '42' at position 15"),
        ("stats level", "Field 'level' must be inside an aggregate function at position 6"),
        ("stats count() + 1 as n, 2", "stats needs an aggregate function at position 24"),
        ("stats count() by bin(5q)", "Invalid time period '5q' at position 21"),
        ("stats count() by bin(5)", "Unexpected token '5' at position 21"),
        ("stats bin(5m)", "bin() must be used after 'by' at position 6"),
        ("stats pct(@duration, 101)", "pct needs a percentile from 0 to 100 at position 21"),
        ("filter count() > 1", "Aggregate function 'count' is only allowed in stats at position 7"),
        ("fields nosuch(@message)", "Unknown function 'nosuch' at position 7"),
        ("fields strlen()", "Function 'strlen' takes 1 arguments, not 0, at position 7"),
        ("limit 0", "limit must be an integer from 1 to 100000 at position 6"),
        ("limit 100001", "limit must be an integer from 1 to 100000 at position 6"),
        ("limit 2.5", "limit must be an integer from 1 to 100000 at position 6"),
        ("limit", "Unexpected end of query at position 5"),
        ("dedup @type | sort @type", "Only limit may follow dedup, not 'sort' at position 14"),
        ("filter @type in START", "Unexpected token 'START' at position 16"),
        ("sort @type up", "Unexpected token 'up' at position 11"),
    ],
)
def test_errors(query: str, message: str) -> None:
    with pytest.raises(InsightsError, match="^" + re.escape(message)) as info:
        parse_query(query)
    assert isinstance(info.value, ValueError)
    assert info.value.position is not None
