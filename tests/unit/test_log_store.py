"""The log store over real SQLite files: FTS prefilter, paging, Describe*, Insights, retention,
and the v2 -> v3 migration (telemetry.md sections 1-3)."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from pathlib import Path

import pytest

from lconsole.model.telemetry import LogEvent
from lconsole.store import db as store_db
from lconsole.store import logs
from lconsole.store.db import connect
from lconsole.store.logs import LogsError, LogStore, StoredLogEvent
from lconsole.store.telemetry import DAY_MS, TelemetryStore
from lconsole.telemetry.filters import compile_pattern
from lconsole.telemetry.writer import TelemetryWriter

G = "/aws/lambda/orders"
OTHER = "/aws/lambda/billing"
T0 = 1_716_222_585_000  # 2024-05-20 16:29:45 UTC


@pytest.fixture
def stores(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = connect(tmp_path / "state.db")
    yield TelemetryStore(db), LogStore(db, account="123456789012")
    db.conn.close()


def put(store: TelemetryStore, group: str, rows: list[tuple[str, int, str]],
        ingested: int | None = None) -> None:
    """rows: (stream, timestamp, message); ingestion time = timestamp + 5 unless given."""
    store.write([(LogEvent(group, s, ts, m), ts + 5 if ingested is None else ingested)
                 for s, ts, m in rows], [])


def all_pages(ls: LogStore, group: str, pattern: str | None, limit: int,
              next_token: str | None = None, **kw: object) -> list[StoredLogEvent]:
    out: list[StoredLogEvent] = []
    token = next_token
    for _ in range(10_000):
        page = ls.filter_log_events(group, pattern, limit=limit, next_token=token, **kw)
        assert len(page.events) <= limit
        assert page.searched_log_streams == []
        out += page.events
        token = page.next_token
        if token is None:
            return out
    raise AssertionError("paging did not end")


def brute(ls: LogStore, group: str, pattern: str | None, **kw: object) -> list[int]:
    """Every event of the group, ordered by (timestamp, ingestion, id), matched in Python."""
    matcher = compile_pattern(pattern, **kw)  # type: ignore[arg-type]
    rows = ls.db.conn.execute(
        "SELECT id, message FROM log_events WHERE log_group = ? ORDER BY ts, ingested, id", (G,)
    ).fetchall()
    assert group == G
    return [i for i, m in rows if matcher.matches(m)]


# ------------------------------------------------------------------ random Lambda-ish traffic
WORDS = ["ERROR", "error", "Error", "ERR", "ERRORS", "WARN", "INFO", "timeout", "db", "payment",
         "declined", "user@example.com", "café", "naïve", "x_y", "_x", "a-b", "[req]", '"q"',
         "42", "4.2", "404", "%", "{", "}", "\u3000", "ERROR\ue000", "ÉRROR", "ＥＲＲＯＲ",
         "\tERROR", "ERROR!", "pay-ment", "payment\u00a0declined"]
PATTERNS = [
    "", "ERROR", "error", "ERR", "timeout", "db", "café", "x_y", "_x", "42", "404",
    '"payment declined"', '"user@example.com"', '"a-b"', '"ERROR!"', '"[req]"', '"pay-ment"',
    "ERROR -timeout", "?ERROR ?WARN", "ERROR db", "?timeout ?declined db", "-ERROR",
    '{ $.level = "ERROR" }', "{ $.code = 404 }", '{ $.code = "404" }', "{ $.user.id = 7 }",
    '{ $.msg = "payment declined" }', '{ $.level = "ERR*" }',
    '{ $.level = "ERROR" || $.code > 300 }', '{ $.level = "WARN" && $.msg = "db" }',
    "{ $.tags[0] = \"beta\" }", "{ $.missing NOT EXISTS }",
    "[w1 = ERROR, w2, w3]", "[..., status = 404, bytes]", '[w1, w2 = "db", ...]',
    "[w1 = ERROR || w1 = WARN, ...]", "%ERR[O]R%", "%^WARN%",
]


def random_message(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:  # JSON, sometimes ASCII-escaped, sometimes with leading blanks
        doc = {"level": rng.choice(["ERROR", "WARN", "INFO", "ERRORS"]),
               "code": rng.choice([404, "404", 200, 500]), "user": {"id": rng.randrange(10)},
               "msg": rng.choice(["payment declined", "db", "timeout", "café"]),
               "tags": rng.sample(["beta", "eu", "ERROR"], 2)}
        if rng.random() < 0.3:
            del doc["msg"]
        lead = rng.choice(["", " ", "\u3000", "\n"])
        return lead + json.dumps(doc, ensure_ascii=rng.random() < 0.5)
    if kind == 1:  # space-delimited access-log style
        return (f"{rng.choice(['ERROR', 'WARN', 'INFO'])} \"db\" [req] "
                f"{rng.choice(['404', '200', '410'])} {rng.randrange(5000)}")
    words = rng.choices(WORDS, k=rng.randint(1, 8))
    sep = rng.choice([" ", "\t", "", ",", "\n"])
    return sep.join(words) or "x"


def random_traffic(ts: TelemetryStore, rng: random.Random, n: int) -> None:
    rows = []
    for i in range(n):
        stream = f"2024/05/20/[$LATEST]{rng.randrange(4):032x}"
        when = T0 + i // 3 + rng.randrange(5)  # equal and out-of-order timestamps
        rows.append((stream, when, random_message(rng)))
    for i in range(0, n, 97):
        put(ts, G, rows[i:i + 97])
    put(ts, OTHER, [("s", T0, "ERROR in another group")] * 20)


# -------------------------------------------------------------- the prefilter changes nothing
@pytest.mark.parametrize("plan", ["default", "direct", "windows"])
def test_prefilter_never_changes_results(stores, monkeypatch, plan: str) -> None:
    ts, ls = stores
    random_traffic(ts, random.Random(1234), 3000)
    if plan == "direct":
        monkeypatch.setattr(logs, "DIRECT_CANDIDATES", 10**9)
    if plan == "windows":
        monkeypatch.setattr(logs, "DIRECT_CANDIDATES", 0)
        monkeypatch.setattr(logs, "WINDOW_ROW_COST", 0.0)
        monkeypatch.setattr(logs, "FIRST_WINDOW", 16)
        monkeypatch.setattr(logs, "MAX_WINDOW", 64)
    for pattern in PATTERNS:
        expected = brute(ls, G, pattern)
        got = [e.id for e in all_pages(ls, G, pattern, limit=10_000)]
        assert got == expected, pattern
        paged = [e.id for e in all_pages(ls, G, pattern, limit=7)]
        assert paged == expected, pattern


def test_substring_matching_and_random_patterns_agree_with_brute_force(stores) -> None:
    ts, ls = stores
    rng = random.Random(99)
    random_traffic(ts, rng, 1500)
    for pattern in ("ERR", "RROR", "afé", "x_"):
        expected = brute(ls, G, pattern, term_matching="substring")
        got = all_pages(ls, G, pattern, limit=50, term_matching="substring")
        assert [e.id for e in got] == expected
    plain = [w for w in WORDS if all(c.isalnum() or c == "_" for c in w)]
    for _ in range(60):  # random term lists: terms, phrases, ? alternatives, exclusions
        parts = []
        for _ in range(rng.randint(1, 3)):
            word = rng.choice(WORDS)
            term = word if word in plain else '"' + word.replace('"', '\\"') + '"'
            parts.append(rng.choice(["", "", "?", "-"]) + term)
        pattern = " ".join(parts)
        try:
            compile_pattern(pattern)
        except ValueError:
            continue
        assert [e.id for e in all_pages(ls, G, pattern, limit=10_000)] == brute(
            ls, G, pattern), pattern


# ---------------------------------------------------------------------------------- paging
def test_paging_resumes_without_gaps_or_duplicates_while_events_arrive(stores) -> None:
    ts, ls = stores
    put(ts, G, [(f"s{i % 3}", T0 + i // 10, f"ERROR item {i}") for i in range(250)])
    first = ls.filter_log_events(G, "ERROR", limit=100)
    assert len(first.events) == 100 and first.next_token
    put(ts, G, [("late", T0 + 1000 + i, f"ERROR late {i}") for i in range(30)])
    rest = all_pages(ls, G, "ERROR", limit=100, next_token=first.next_token)
    ids = [e.id for e in first.events + rest]
    assert ids == brute(ls, G, "ERROR") and len(ids) == 280
    keys = [e.key for e in first.events + rest]
    assert keys == sorted(keys)


def test_order_is_timestamp_then_ingestion_time_then_arrival(stores) -> None:
    ts, ls = stores
    put(ts, G, [("a", T0, "ERROR one")], ingested=T0 + 50)
    put(ts, G, [("b", T0, "ERROR two")], ingested=T0 + 10)
    put(ts, G, [("c", T0 - 1, "ERROR zero"), ("a", T0, "ERROR three")], ingested=T0 + 10)
    page = ls.filter_log_events(G, "ERROR")
    assert [e.message for e in page.events] == ["ERROR zero", "ERROR two", "ERROR three",
                                                "ERROR one"]
    assert page.next_token is None


def test_time_range_streams_and_newest_first(stores) -> None:
    ts, ls = stores
    put(ts, G, [(f"s{i % 2}", T0 + i, f"line {i}") for i in range(20)])
    inclusive = ls.filter_log_events(G, start_ms=T0 + 5, end_ms=T0 + 9)
    assert [e.timestamp - T0 for e in inclusive.events] == [5, 6, 7, 8, 9]
    only = ls.filter_log_events(G, streams=["s1"], end_ms=T0 + 6)
    assert [e.message for e in only.events] == ["line 1", "line 3", "line 5"]
    prefixed = ls.filter_log_events(G, stream_prefix="s0", start_ms=T0 + 15)
    assert [e.message for e in prefixed.events] == ["line 16", "line 18"]
    newest = all_pages(ls, G, "line", limit=3, start_ms=T0, start_from_head=False)
    assert [e.timestamp - T0 for e in newest] == list(range(19, -1, -1))


def test_scan_budget_gives_short_pages_with_a_token(stores, monkeypatch) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0 + i, f"code={i}") for i in range(500)])
    put(ts, G, [("s", T0 + 1000, '{"latency": 2500}')])
    monkeypatch.setattr(logs, "SCAN_BUDGET", 64)
    monkeypatch.setattr(logs, "FIRST_WINDOW", 32)
    first = ls.filter_log_events(G, "{ $.latency > 2000 }")
    assert first.events == [] and first.next_token is not None  # empty page, paging goes on
    found = all_pages(ls, G, "{ $.latency > 2000 }", limit=10)
    assert [e.message for e in found] == ['{"latency": 2500}']


def test_page_stops_at_one_megabyte(stores) -> None:
    ts, ls = stores
    big = "ERROR " + "x" * 300_000
    put(ts, G, [("s", T0 + i, big) for i in range(5)])
    page = ls.filter_log_events(G, "ERROR")
    assert len(page.events) == 3 and page.next_token
    assert len(all_pages(ls, G, "ERROR", limit=10_000)) == 5


def test_filter_errors(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0, "x")])
    with pytest.raises(LogsError) as err:
        ls.filter_log_events(G, limit=10_001)
    assert err.value.code == "InvalidParameterException"
    assert err.value.message == (
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
        "Member must have value less than or equal to 10000")
    with pytest.raises(LogsError, match="does not exist") as err:
        ls.filter_log_events("/aws/lambda/nope")
    assert (err.value.code, err.value.message) == (
        "ResourceNotFoundException", "The specified log group does not exist.")
    with pytest.raises(LogsError, match="nextToken is invalid"):
        ls.filter_log_events(G, next_token="garbage!")
    with pytest.raises(LogsError) as err:
        ls.filter_log_events(G, "{ $.a = 1")
    assert err.value.message == "If a filter pattern starts with '{' it must end with '}'"
    with pytest.raises(LogsError, match="InvalidParameterException"):
        ls.filter_log_events(G, streams=["s"], stream_prefix="s")
    with pytest.raises(LogsError, match="2024"):
        ls.filter_log_events(G, start_from_head=False, start_ms=T0 - 10**12)


# ---------------------------------------------------------------------------- GetLogEvents
def test_get_log_events_tokens_walk_both_ways(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0 + i, f"m{i}") for i in range(10)] + [("other", T0, "nope")])
    newest = ls.get_log_events(G, "s", limit=4)  # startFromHead=false: the newest page
    assert [e.message for e in newest.events] == ["m6", "m7", "m8", "m9"]
    assert newest.next_forward_token.startswith("f/") and newest.next_backward_token[:2] == "b/"
    assert len(newest.next_forward_token) == len("f/") + 56 + len("/s")
    older = ls.get_log_events(G, "s", limit=4, next_token=newest.next_backward_token)
    assert [e.message for e in older.events] == ["m2", "m3", "m4", "m5"]
    oldest = ls.get_log_events(G, "s", limit=4, next_token=older.next_backward_token)
    assert [e.message for e in oldest.events] == ["m0", "m1"]
    end = ls.get_log_events(G, "s", limit=4, next_token=oldest.next_backward_token)
    assert end.events == [] and end.next_backward_token == oldest.next_backward_token
    back_up = ls.get_log_events(G, "s", limit=4, next_token=end.next_forward_token)
    assert [e.message for e in back_up.events] == ["m0", "m1", "m2", "m3"]
    tail = ls.get_log_events(G, "s", next_token=newest.next_forward_token)
    assert tail.events == [] and tail.next_forward_token == newest.next_forward_token
    put(ts, G, [("s", T0 + 50, "m50")])
    grown = ls.get_log_events(G, "s", next_token=tail.next_forward_token)
    assert [e.message for e in grown.events] == ["m50"]


def test_get_log_events_range_head_and_errors(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0 + i, f"m{i}") for i in range(10)])
    head = ls.get_log_events(G, "s", start_from_head=True, start_ms=T0 + 2, end_ms=T0 + 5)
    assert [e.message for e in head.events] == ["m2", "m3", "m4"]  # end is exclusive
    assert head.events[0].ingestion_time == T0 + 7
    with pytest.raises(LogsError, match="specified log stream does not exist"):
        ls.get_log_events(G, "missing")
    with pytest.raises(LogsError, match="specified nextToken is invalid"):
        ls.get_log_events(G, "s", next_token="f/123")
    with pytest.raises(LogsError, match="greater than or equal to 1"):
        ls.get_log_events(G, "s", limit=0)


# ------------------------------------------------------------------------------- Describe*
def test_describe_groups_and_streams(stores) -> None:
    ts, ls = stores
    put(ts, G, [("b", T0 + 5, "héllo"), ("a", T0 + 1, "x"), ("b", T0 + 2, "y")], ingested=T0 + 9)
    put(ts, G, [("c", T0 + 3, "z")], ingested=T0 + 20)
    put(ts, OTHER, [("s", T0, "q")])
    groups = ls.describe_log_groups()
    assert [g.name for g in groups.items] == [OTHER, G] and groups.next_token is None
    orders = groups.items[1]
    assert (orders.stored_bytes, orders.creation_time, orders.retention_days) == (
        len("héllo".encode()) + 3, T0 + 9, None)
    assert [g.name for g in ls.describe_log_groups(prefix="/aws/lambda/o").items] == [G]
    one = ls.describe_log_groups(limit=1)
    assert [g.name for g in ls.describe_log_groups(next_token=one.next_token).items] == [G]

    by_name = ls.describe_log_streams(G)
    assert [s.name for s in by_name.items] == ["a", "b", "c"]
    b = by_name.items[1]
    assert (b.first_event_timestamp, b.last_event_timestamp, b.last_ingestion_time,
            b.creation_time, b.stored_bytes) == (T0 + 2, T0 + 5, T0 + 9, T0 + 9, 0)
    latest = ls.describe_log_streams(G, order_by="LastEventTime", descending=True, limit=2)
    assert [s.name for s in latest.items] == ["b", "c"]
    after = ls.describe_log_streams(G, order_by="LastEventTime", descending=True,
                                    next_token=latest.next_token)
    assert [s.name for s in after.items] == ["a"] and after.next_token is None
    assert [s.name for s in ls.describe_log_streams(G, prefix="b").items] == ["b"]
    with pytest.raises(LogsError, match="Cannot order by LastEventTime"):
        ls.describe_log_streams(G, order_by="LastEventTime", prefix="b")
    with pytest.raises(LogsError, match="enum value set"):
        ls.describe_log_streams(G, order_by="Name")
    with pytest.raises(LogsError, match="less than or equal to 50"):
        ls.describe_log_groups(limit=51)


# -------------------------------------------------------------------------------- Insights
def test_insights_pushes_the_time_range_down(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0 + i * 1000, f"ERROR {i}" if i % 2 else f"INFO {i}") for i in range(10)])
    put(ts, OTHER, [("t", T0 + 2000, "ERROR billing")])
    result = ls.insights([G, OTHER], "filter @message like /ERROR/ | stats count() as n by @log",
                         T0 + 2000, T0 + 6000)
    assert result.records_scanned == 6  # 5 of G (both ends inclusive) + 1 of OTHER
    assert sorted((r["@log"], r["n"]) for r in result.rows) == [
        (f"123456789012:{OTHER}", 1), (f"123456789012:{G}", 2)]
    rows = ls.insights([G], "fields @timestamp, @message, @logStream | sort @timestamp asc",
                       T0, T0 + 1000).rows
    assert rows == [{"@timestamp": "2024-05-20 16:29:45.000", "@message": "INFO 0",
                     "@logStream": "s"},
                    {"@timestamp": "2024-05-20 16:29:46.000", "@message": "ERROR 1",
                     "@logStream": "s"}]
    with pytest.raises(LogsError) as err:
        ls.insights([G, "/aws/lambda/nope"], "fields @message", T0, T0)
    assert err.value.code == "ResourceNotFoundException"
    assert err.value.message == (
        "Log group '/aws/lambda/nope' does not exist for account ID '123456789012'")
    with pytest.raises(LogsError, match="MalformedQueryException"):
        ls.insights([G], "stats count( by", T0, T0)


# ------------------------------------------------------------------------------ followers
def test_logs_tail_follows_new_events_by_id(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0, "old")])
    cursor = ls.last_event_id()
    put(ts, G, [("s", T0 - 99, "late but new"), ("t", T0 + 1, "second")])
    put(ts, OTHER, [("s", T0, "elsewhere")])
    fresh = ls.logs_tail(G, cursor)
    assert [e.message for e in fresh] == ["late but new", "second"]
    assert [e.message for e in ls.logs_tail(G, cursor, streams=["t"])] == ["second"]
    assert ls.logs_tail(G, fresh[-1].id) == []


def test_writer_path_is_indexed_and_queryable(stores) -> None:
    ts, ls = stores

    async def feed() -> None:
        writer = TelemetryWriter(ts, interval=0.001)
        writer.start()
        for i in range(300):
            writer.log(LogEvent(G, "s", T0 + i, f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}"))
        await writer.stop()

    asyncio.run(feed())
    assert len(all_pages(ls, G, "ERROR", limit=33)) == 100


# ------------------------------------------------------------------------------ retention
def fts_count(ls: LogStore, query: str) -> int:
    return ls.db.conn.execute("SELECT count(*) FROM log_fts WHERE log_fts MATCH ?",
                              (query,)).fetchone()[0]


def test_retention_policy_values_and_errors(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0, "x")])
    for days in logs.RETENTION_DAYS:
        ls.put_retention_policy(G, days)
    assert ls.describe_log_groups().items[0].retention_days == 3653
    with pytest.raises(LogsError) as err:
        ls.put_retention_policy(G, 2)
    assert err.value.code == "InvalidParameterException"
    assert err.value.message.startswith(
        "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy "
        "constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120,")
    with pytest.raises(LogsError, match="specified log group does not exist"):
        ls.put_retention_policy("/aws/lambda/nope", 1)
    ls.delete_retention_policy(G)
    assert ls.describe_log_groups().items[0].retention_days is None
    with pytest.raises(LogsError, match="ResourceNotFoundException"):
        ls.delete_retention_policy("/aws/lambda/nope")


def test_apply_retention_deletes_expired_events_and_their_index_rows(stores) -> None:
    ts, ls = stores
    now = T0 + 10 * DAY_MS
    old = [("s", T0 + i, f"ERROR old {i}") for i in range(2500)]
    new = [("s", now - DAY_MS // 2, "ERROR new"), ("t", now - 1000, "INFO newest")]
    put(ts, G, old + new)
    put(ts, OTHER, [("s", T0, "ERROR kept forever")])  # no policy: never expires
    ls.put_retention_policy(G, 1)
    expiry = ts.apply_retention(now, batch=1000)
    assert (expiry.events, expiry.done) == (2500, True)
    assert expiry.bytes == sum(len(m.encode()) for _, _, m in old)
    assert [e.message for e in all_pages(ls, G, None, limit=100)] == ["ERROR new", "INFO newest"]
    assert fts_count(ls, '"old"') == 0 and fts_count(ls, '"ERROR"') == 2
    ls.db.conn.execute("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')")
    group = ls.describe_log_groups(prefix=G).items[0]
    assert group.stored_bytes == len(b"ERROR new") + len(b"INFO newest")
    stream = ls.describe_log_streams(G, prefix="s").items[0]
    assert stream.first_event_timestamp == now - DAY_MS // 2
    assert len(all_pages(ls, OTHER, None, limit=10)) == 1
    assert ts.apply_retention(now).events == 0


def test_retention_keeps_ids_increasing_and_stops_when_told(stores) -> None:
    ts, ls = stores
    put(ts, G, [("s", T0 + i, f"m{i}") for i in range(50)])
    ls.put_retention_policy(G, 1)
    newest = ls.last_event_id()
    assert ts.apply_retention(T0 + 5 * DAY_MS, max_seconds=0).done is False
    expiry = ts.apply_retention(T0 + 5 * DAY_MS, batch=7)
    assert expiry.events == 49 and expiry.longest_hold_ms >= 0  # the newest row stays
    put(ts, G, [("s", T0 + 5 * DAY_MS, "fresh")])
    assert [e.message for e in ls.logs_tail(G, newest)] == ["fresh"]
    ls.delete_retention_policy(G)
    assert ts.apply_retention(T0 + 50 * DAY_MS).events == 0


# ------------------------------------------------------------------------------ migration
V2_DDL = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE functions (name TEXT PRIMARY KEY, doc TEXT)",
    "CREATE TABLE versions (function TEXT, version TEXT, config TEXT,"
    " PRIMARY KEY (function, version))",
    "CREATE TABLE layer_versions (name TEXT, version INTEGER, doc TEXT,"
    " PRIMARY KEY (name, version))",
    "CREATE TABLE layers (name TEXT PRIMARY KEY, next_version INTEGER)",
    "CREATE TABLE IF NOT EXISTS log_events ("
    " id INTEGER PRIMARY KEY, log_group TEXT NOT NULL, log_stream TEXT NOT NULL,"
    " ts INTEGER NOT NULL, ingested INTEGER NOT NULL, request_id TEXT,"
    " message TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS log_events_group_ts ON log_events(log_group, ts)",
    "CREATE INDEX IF NOT EXISTS log_events_request ON log_events(request_id)",
    "CREATE TABLE IF NOT EXISTS invocations ("
    " request_id TEXT PRIMARY KEY, function TEXT NOT NULL, qualifier TEXT,"
    " executed_version TEXT NOT NULL, environment_id TEXT, cold INTEGER NOT NULL,"
    " provisioned INTEGER NOT NULL, invocation_type TEXT NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, init_ms REAL,"
    " duration_ms REAL NOT NULL, billed_ms INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    " max_memory_mb INTEGER NOT NULL, status TEXT NOT NULL, error_type TEXT,"
    " architecture TEXT NOT NULL, cost_usd REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS async_events ("
    " id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, function TEXT NOT NULL,"
    " qualifier TEXT, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL,"
    " enqueued_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS invocations_function_start ON invocations(function, start_ms)",
    "INSERT INTO meta(key, value) VALUES ('schema', '2')",
]


def test_migration_from_a_v2_database(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    raw = sqlite3.connect(path)
    for statement in V2_DDL:
        raw.execute(statement)
    raw.executemany(
        "INSERT INTO log_events(log_group, log_stream, ts, ingested, request_id, message)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(G, "s", T0 + 2, T0 + 10, "r1", "ERROR before upgrade"),
         (G, "t", T0 + 1, T0 + 11, None, "INFO before upgrade"),
         (OTHER, "s", T0, T0 + 12, None, "ERROR elsewhere")],
    )
    raw.commit()
    raw.close()

    db = connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == "3"
    ts, ls = TelemetryStore(db), LogStore(db)
    assert [e.message for e in ls.filter_log_events(G, "ERROR").events] == [
        "ERROR before upgrade"]
    group = ls.describe_log_groups(prefix=G).items[0]
    assert (group.creation_time, group.stored_bytes) == (
        T0 + 10, len("ERROR before upgrade") + len("INFO before upgrade"))
    assert [(s.name, s.first_event_timestamp) for s in ls.describe_log_streams(G).items] == [
        ("s", T0 + 2), ("t", T0 + 1)]
    put(ts, G, [("s", T0 + 3, "ERROR after upgrade")])
    assert ts.log_events(G, request_id="r1")[0].message == "ERROR before upgrade"
    db.conn.close()

    again = connect(path)  # a second open changes nothing
    assert fts_count(LogStore(again), '"ERROR"') == 3
    again.execute("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')")
    names = {r[0] for r in again.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "log_events_group_ts" not in names and "log_events_order" in names
    again.conn.close()


def test_extra_schemas_run_on_every_open(tmp_path: Path, monkeypatch) -> None:
    connect(tmp_path / "x.db").conn.close()  # already at the current version

    def create(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS extra_things (id INTEGER PRIMARY KEY)")

    monkeypatch.setattr(store_db, "EXTRA_SCHEMAS", [create])
    db = connect(tmp_path / "x.db")
    assert db.table("extra_things").exists()
    db.conn.close()
    connect(tmp_path / "x.db").conn.close()  # idempotent


def test_whitespace_constant_is_what_lstrip_skips() -> None:
    skipped = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert skipped == logs.WHITESPACE


def test_index_stays_sound_when_a_writer_runs_during_expiry(tmp_path: Path, monkeypatch) -> None:
    import threading

    from lconsole.store import telemetry

    monkeypatch.setattr(telemetry, "MERGE_PAGES", 1)  # many small merge steps to interleave with
    db = connect(tmp_path / "state.db")
    ts, ls = TelemetryStore(db), LogStore(db)
    rng = random.Random(5)
    put(ts, G, [("s", T0 + i, random_message(rng)) for i in range(3000)])
    ls.put_retention_policy(G, 1)
    for day in range(1, 4):  # each round: a day of traffic, then expiry under a live writer
        put(ts, G, [("s", T0 + day * DAY_MS + i, random_message(rng)) for i in range(3000)])
        stop, errors = threading.Event(), []

        def writer(stop: threading.Event = stop, errors: list = errors, day: int = day) -> None:
            wdb = connect(tmp_path / "state.db")
            try:
                while not stop.is_set():
                    put(TelemetryStore(wdb), G, [("live", T0 + day * DAY_MS, "ERROR live")] * 20)
            except Exception as exc:
                errors.append(exc)
            finally:
                wdb.conn.close()

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            expiry = ts.apply_retention(T0 + (day + 1) * DAY_MS - 1, batch=500, max_seconds=30)
        finally:
            stop.set()
            thread.join(timeout=60)
        assert not thread.is_alive() and errors == []
        assert expiry.events >= 3000 and expiry.done
        db.conn.execute("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')")
    assert [e.id for e in all_pages(ls, G, "ERROR", limit=10_000)] == brute(ls, G, "ERROR")
    db.conn.close()
