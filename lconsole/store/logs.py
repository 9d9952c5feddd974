"""CloudWatch Logs event queries: FilterLogEvents, GetLogEvents, Insights, and followers.

Every result is ordered by (timestamp, ingestion time, event id), and every token is a position
in that order, so paging resumes exactly where the previous page stopped. A filter pattern is
answered by one of three plans: when the full-text index (log_fts) has few hits for the
pattern's literals, they are fetched and sorted at once; when it has many, time order is walked
in windows and the index is asked only about each window; a pattern with no literals is scanned
within a row budget per call, and the page may come back short with a token, as AWS allows.
Literals are also checked in SQL, so Python sees only plausible rows. The exact `Matcher` has
the last word on every row, so the plan never changes what matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from lconsole.store.telemetry import (
    RETENTION_DAYS,
    LogGroupInfo,
    LogGroups,
    LogsError,
    LogStreamInfo,
    Page,
    check_limit,
    decode_token,
    encode_token,
    invalid,
    not_found,
)
from lconsole.telemetry.filters import FilterPatternError, Matcher, compile_pattern
from lconsole.telemetry.insights import MAX_LIMIT, InsightsError, parse_query, run_query

MAX_EVENTS = 10_000  # FilterLogEvents/GetLogEvents limit (and default)
MAX_PAGE_BYTES = 1_048_576  # pages also stop at 1 MB of messages
MAX_INSIGHTS_GROUPS = 50
NEWEST_FIRST_MIN_START = 1_704_067_200_000  # 2024-01-01T00:00:00Z: startFromHead=false floor
SCAN_BUDGET = 200_000  # rows one call may read for a pattern without literals
FIRST_WINDOW, MAX_WINDOW = 1_024, 65_536
DIRECT_CANDIDATES = 4_096  # up to this many index hits, fetch and sort them all at once
# Measured costs (µs): walking one row of a window / fetching one index hit's row at random.
WINDOW_ROW_COST, HIT_COST = 0.3, 1.0

__all__ = [  # the catalogue names come from lconsole.store.telemetry, re-exported for callers
    "RETENTION_DAYS", "FilteredEvents", "InsightsResult", "LogGroupInfo", "LogGroups",
    "LogStore", "LogStreamInfo", "LogsError", "Page", "StoredLogEvent", "StreamEvents",
]

Key = tuple[int, int, int]  # (timestamp, ingestion time, id)
_COLS = "e.id, e.log_stream, e.ts, e.ingested, e.message, e.request_id"
_STREAM_TOKEN = re.compile(r"([fb])/(\d{19})(\d{19})(\d{18})(?:/s)?")
_ORIGIN: Key = (0, 0, 0)  # before every event


@dataclass(frozen=True)
class StoredLogEvent:
    id: int  # FilterLogEvents' eventId is str(id)
    group: str
    stream: str
    timestamp: int
    ingestion_time: int
    message: str
    request_id: str | None = None

    @property
    def key(self) -> Key:
        return (self.timestamp, self.ingestion_time, self.id)


@dataclass(frozen=True)
class FilteredEvents:
    events: list[StoredLogEvent]
    next_token: str | None  # absent means paging is over; a short or empty page may carry one
    searched_log_streams: list[str] = field(default_factory=list)  # always [] since 2020 on AWS


@dataclass(frozen=True)
class StreamEvents:
    events: list[StoredLogEvent]  # oldest first, whichever way the page was read
    next_forward_token: str
    next_backward_token: str


@dataclass(frozen=True)
class InsightsResult:
    rows: list[dict[str, Any]]
    records_scanned: int
    bytes_scanned: int
    log_groups_scanned: int


# ------------------------------------------------------------------------------------ tokens
def _bad_token() -> LogsError:
    return invalid("The specified nextToken is invalid.")


def _filter_token(forward: bool, key: Key) -> str:
    return encode_token(f"e1 {'f' if forward else 'b'} {key[0]} {key[1]} {key[2]}")


def _read_filter_token(token: str) -> tuple[bool, Key]:
    parts = decode_token(token).split(" ")
    if len(parts) != 5 or parts[0] != "e1" or parts[1] not in ("f", "b"):
        raise _bad_token()
    try:
        return parts[1] == "f", (int(parts[2]), int(parts[3]), int(parts[4]))
    except ValueError:
        raise _bad_token() from None


def _stream_token(direction: str, key: Key) -> str:
    """The AWS shape, `f/` or `b/` + 56 digits + `/s`: the key's three parts, zero-padded."""
    ts, ingested, id_ = (min(max(v, 0), 10**w - 1) for v, w in zip(key, (19, 19, 18), strict=True))
    return f"{direction}/{ts:019d}{ingested:019d}{id_:018d}/s"


def _read_stream_token(token: str) -> tuple[bool, Key]:
    m = _STREAM_TOKEN.fullmatch(token)
    if m is None:
        raise _bad_token()
    return m[1] == "f", (int(m[2]), int(m[3]), int(m[4]))


# ------------------------------------------------------------------------------------- scope
@dataclass(frozen=True)
class _Scope:
    """Which events a query covers and in which direction, as SQL over `log_events e`."""

    group: str
    forward: bool = True
    streams: tuple[str, ...] | None = None
    stream_prefix: str | None = None
    start_ms: int | None = None  # inclusive
    end_ms: int | None = None
    end_inclusive: bool = True

    def where(self) -> tuple[str, list[object]]:
        sql, args = ["e.log_group = ?"], [self.group]
        if self.streams:
            sql.append(f"e.log_stream IN ({','.join('?' * len(self.streams))})")
            args += self.streams
        if self.stream_prefix:
            sql.append("substr(e.log_stream, 1, ?) = ?")
            args += [len(self.stream_prefix), self.stream_prefix]
        if self.start_ms is not None:
            sql.append("e.ts >= ?")
            args.append(self.start_ms)
        if self.end_ms is not None:
            sql.append("e.ts <= ?" if self.end_inclusive else "e.ts < ?")
            args.append(self.end_ms)
        return " AND ".join(sql), args

    @property
    def order(self) -> str:
        return "e.ts, e.ingested, e.id" if self.forward else "e.ts DESC, e.ingested DESC, e.id DESC"

    def past(self, key: Key | None, *, inclusive: bool = False) -> tuple[str, list[object]]:
        """Rows after `key` in this scope's direction (`inclusive`: up to and including it)."""
        if key is None:
            return "", []
        op = (">" if self.forward else "<") if not inclusive else ("<=" if self.forward else ">=")
        return f" AND (e.ts, e.ingested, e.id) {op} (?, ?, ?)", list(key)


@dataclass
class _Progress:
    position: Key | None = None  # every row up to here has been handed out
    exhausted: bool = False


# What str.isspace() accepts, i.e. what the JSON dialect's message.lstrip() skips.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _prefilter(matcher: Matcher) -> tuple[str, list[object]]:
    """SQL conditions every matching message meets: its literals, and for a JSON pattern a
    leading '{'. They only drop rows the matcher would reject, before Python sees them."""
    sql = "".join(" AND instr(e.message, ?) > 0" for _ in matcher.fts_terms)
    args: list[object] = list(matcher.fts_terms)
    if matcher.dialect == "json":
        sql += " AND substr(ltrim(e.message, ?), 1, 1) = '{'"
        args.append(WHITESPACE)
    return sql, args


def _fts_query(matcher: Matcher) -> str | None:
    """An FTS5 query every matching message satisfies, or None when none can be built.

    Term-list terms sit on token boundaries only with token matching; JSON and space-delimited
    literals are whole values, bounded by quotes, brackets or blanks, under either rule.
    """
    if matcher.dialect == "terms" and matcher.term_matching != "token":
        return None
    usable = [t for t in matcher.fts_terms if any(c.isascii() and c.isalnum() for c in t)]
    if not usable:
        return None
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in usable)


# ------------------------------------------------------------------------------------- plans
def _rows(conn: Any, sql: str, args: list[object], progress: _Progress) -> Iterator[tuple]:
    cur = conn.execute(sql, args)
    try:
        while batch := cur.fetchmany(256):
            yield from batch
        progress.exhausted = True
    finally:
        cur.close()


def _ordered(conn: Any, scope: _Scope, cursor: Key | None, progress: _Progress) -> Iterator:
    where, args = scope.where()
    past, past_args = scope.past(cursor)
    sql = f"SELECT {_COLS} FROM log_events e WHERE {where}{past} ORDER BY {scope.order}"
    return _rows(conn, sql, [*args, *past_args], progress)


def _indexed(conn: Any, scope: _Scope, cursor: Key | None, query: str, matcher: Matcher,
             progress: _Progress) -> Iterator[tuple]:
    """Index candidates joined to their rows and sorted: cost grows with the candidate count."""
    where, args = scope.where()
    past, past_args = scope.past(cursor)
    instr, instr_args = _prefilter(matcher)
    sql = (f"SELECT {_COLS} FROM log_fts CROSS JOIN log_events e ON e.id = log_fts.rowid"
           f" WHERE log_fts MATCH ? AND {where}{past}{instr} ORDER BY {scope.order}")
    return _rows(conn, sql, [query, *args, *past_args, *instr_args], progress)


def _scan(conn: Any, scope: _Scope, cursor: Key | None, matcher: Matcher, budget: float,
          progress: _Progress) -> Iterator[tuple]:
    """Time-ordered windows of growing size; stops after `budget` rows of the scope."""
    where, args = scope.where()
    instr, instr_args = _prefilter(matcher)
    window, scanned = FIRST_WINDOW, 0
    while True:
        past, past_args = scope.past(cursor)
        edge = _edge(conn, scope, where, args, past, past_args, window)
        upto, upto_args = scope.past(edge, inclusive=True)
        yield from conn.execute(
            f"SELECT {_COLS} FROM log_events e WHERE {where}{past}{upto}{instr}"
            f" ORDER BY {scope.order}",
            [*args, *past_args, *upto_args, *instr_args],
        ).fetchall()
        if edge is None:
            progress.exhausted = True
            return
        cursor = progress.position = edge
        scanned += window
        if scanned >= budget:
            return
        window = min(window * 2, MAX_WINDOW)


def _edge(conn: Any, scope: _Scope, where: str, args: list[object], past: str,
          past_args: list[object], window: int) -> Key | None:
    """The key `window` rows past the cursor (None when fewer are left): one index walk."""
    row = conn.execute(
        f"SELECT e.ts, e.ingested, e.id FROM log_events e WHERE {where}{past}"
        f" ORDER BY {scope.order} LIMIT 1 OFFSET ?",
        [*args, *past_args, window - 1],
    ).fetchone()
    return None if row is None else tuple(row)  # type: ignore[return-value]


def _indexed_windows(conn: Any, scope: _Scope, cursor: Key | None, query: str,
                     matcher: Matcher, candidates: int, progress: _Progress) -> Iterator[tuple]:
    """Many index hits: walk time order in growing windows and ask the index only for the ids
    inside each window's id range (FTS5 seeks rowid ranges), so a page costs about the hits
    it needs rather than all of them. Ids follow arrival, which follows time closely; when
    they do not, the ranges widen, and once the hits they are expected to hold add up to the
    whole candidate set, the rest is answered by one sorted index query instead."""
    where, args = scope.where()
    instr, instr_args = _prefilter(matcher)
    lowest, highest = conn.execute(  # two subqueries: each is one b-tree seek, min+max is a scan
        "SELECT (SELECT min(id) FROM log_events), (SELECT max(id) FROM log_events)").fetchone()
    density = candidates / max(1, (highest or 0) - (lowest or 0) + 1)  # index hits per id
    expected, window = 0.0, FIRST_WINDOW
    while True:
        past, past_args = scope.past(cursor)
        edge = _edge(conn, scope, where, args, past, past_args, window)
        upto, upto_args = scope.past(edge, inclusive=True)
        bounds = [*args, *past_args, *upto_args]
        lo, hi = conn.execute(
            f"SELECT min(e.id), max(e.id) FROM log_events e WHERE {where}{past}{upto}", bounds
        ).fetchone()
        if lo is not None:
            expected += density * (hi - lo + 1)
            if expected > candidates:
                yield from _indexed(conn, scope, cursor, query, matcher, progress)
                return
            yield from conn.execute(
                f"SELECT {_COLS} FROM log_fts CROSS JOIN log_events e ON e.id = log_fts.rowid"
                " WHERE log_fts MATCH ? AND log_fts.rowid >= ? AND log_fts.rowid <= ?"
                f" AND {where}{past}{upto}{instr} ORDER BY {scope.order}",
                [query, lo, hi, *bounds, *instr_args],
            ).fetchall()
        if edge is None:
            progress.exhausted = True
            return
        cursor = progress.position = edge
        window = min(window * 2, MAX_WINDOW)


def _fill(group: str, rows: Iterator[tuple], matcher: Matcher, limit: int,
          progress: _Progress) -> tuple[list[StoredLogEvent], Key | None]:
    """Take matching rows until the page is full; return them and where the next page starts."""
    events: list[StoredLogEvent] = []
    last: Key | None = None
    size, matches = 0, matcher.predicate
    with closing(rows) as it:
        for id_, stream, ts, ingested, message, request_id in it:
            if matches(message):
                n = len(message.encode())
                if events and size + n > MAX_PAGE_BYTES:
                    return events, last
                events.append(StoredLogEvent(id_, group, stream, ts, ingested, message, request_id))
                size += n
            last = (ts, ingested, id_)
            if len(events) >= limit:
                return events, (last if next(it, None) is not None else None)
    return events, None if progress.exhausted else progress.position


class LogStore(LogGroups):
    """Queries over log events: FilterLogEvents, GetLogEvents, Insights and followers; the
    group/stream catalogue (Describe*, retention policy) comes from `LogGroups`."""

    @property
    def _conn(self) -> Any:
        return self.db.conn

    # ------------------------------------------------------------------------ FilterLogEvents
    def filter_log_events(
        self,
        group: str,
        pattern: str | None = None,
        *,
        streams: Sequence[str] | None = None,
        stream_prefix: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = MAX_EVENTS,
        next_token: str | None = None,
        interleaved: bool = True,  # ignored, as on AWS since 2019: always interleaved
        start_from_head: bool = True,
        term_matching: str = "token",
    ) -> FilteredEvents:
        """FilterLogEvents over one group; `start_ms` and `end_ms` are both inclusive."""
        check_limit("limit", limit, MAX_EVENTS)
        if streams is not None and stream_prefix is not None:
            raise invalid("logStreamNames and logStreamNamePrefix cannot both be specified.")
        if streams is not None and not 1 <= len(streams) <= 100:
            raise invalid("logStreamNames must name between 1 and 100 log streams.")
        if next_token is None and not start_from_head and (
            start_ms is None or start_ms < NEWEST_FIRST_MIN_START
        ):
            raise invalid("startFromHead=false requires a startTime on or after "
                          "Jan 1, 2024 00:00:00 UTC.")
        try:
            matcher = compile_pattern(pattern, term_matching=term_matching)  # type: ignore[arg-type]
        except FilterPatternError as exc:
            raise invalid(exc.aws_message) from None
        self.require_group(group)
        forward, cursor = (start_from_head, None) if next_token is None else (
            _read_filter_token(next_token))
        scope = _Scope(group, forward, tuple(streams) if streams else None, stream_prefix,
                       start_ms, end_ms)
        progress = _Progress()
        rows = self._plan(scope, cursor, matcher, limit, progress)
        if rows is None:
            return FilteredEvents([], None)
        events, resume = _fill(group, rows, matcher, limit, progress)
        return FilteredEvents(events, None if resume is None else _filter_token(forward, resume))

    def _plan(self, scope: _Scope, cursor: Key | None, matcher: Matcher, limit: int,
              progress: _Progress) -> Iterator[tuple] | None:
        """Pick the cheapest way to produce candidate rows; None when nothing can match."""
        conn = self._conn
        if matcher.matches_everything:
            return _ordered(conn, scope, cursor, progress)
        query = _fts_query(matcher)
        if query is None:
            return _scan(conn, scope, cursor, matcher, SCAN_BUDGET, progress)
        (candidates,) = conn.execute(
            "SELECT count(*) FROM log_fts WHERE log_fts MATCH ?", (query,)
        ).fetchone()
        if not candidates:
            return None
        (total,) = conn.execute("SELECT coalesce(sum(events), 0) FROM log_groups").fetchone()
        walk = limit * max(total, 1) / candidates  # rows a page needs if hits are spread evenly
        if candidates <= DIRECT_CANDIDATES or walk * WINDOW_ROW_COST > candidates * HIT_COST:
            return _indexed(conn, scope, cursor, query, matcher, progress)
        return _indexed_windows(conn, scope, cursor, query, matcher, candidates, progress)

    # --------------------------------------------------------------------------- GetLogEvents
    def get_log_events(
        self,
        group: str,
        stream: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        next_token: str | None = None,
        start_from_head: bool = False,
    ) -> StreamEvents:
        """GetLogEvents: `start_ms` inclusive, `end_ms` exclusive; the token's direction wins."""
        if limit is not None:
            check_limit("limit", limit, MAX_EVENTS)
        cap = limit or MAX_EVENTS
        self.require_group(group)
        if not self._conn.execute(
            "SELECT 1 FROM log_streams WHERE log_group = ? AND name = ?", (group, stream)
        ).fetchone():
            raise not_found("The specified log stream does not exist.")
        forward, cursor = (start_from_head, None) if next_token is None else (
            _read_stream_token(next_token))
        scope = _Scope(group, forward, (stream,), None, start_ms, end_ms, end_inclusive=False)
        progress = _Progress()
        events, _ = _fill(group, _ordered(self._conn, scope, cursor, progress),
                          compile_pattern(None), cap, progress)
        if not forward:
            events.reverse()
        if events:
            return StreamEvents(events, _stream_token("f", events[-1].key),
                                _stream_token("b", events[0].key))
        if cursor is None:
            return StreamEvents([], _stream_token("f", _ORIGIN), _stream_token("b", _ORIGIN))
        # The end in this direction: echo the token, and point the other way at the same place.
        ts, ingested, id_ = cursor
        if forward:
            return StreamEvents([], next_token or "", _stream_token("b", (ts, ingested, id_ + 1)))
        return StreamEvents([], _stream_token("f", (ts, ingested, max(id_ - 1, 0))),
                            next_token or "")

    # ------------------------------------------------------------------------------- Insights
    def insights(
        self, groups: Sequence[str], query_text: str, start_ms: int, end_ms: int,
        limit: int | None = None,
    ) -> InsightsResult:
        """A Logs Insights query over events with start_ms <= timestamp <= end_ms."""
        if not 1 <= len(groups) <= MAX_INSIGHTS_GROUPS:
            raise invalid(f"Between 1 and {MAX_INSIGHTS_GROUPS} log groups must be specified.")
        if limit is not None:
            check_limit("limit", limit, MAX_LIMIT)
        if end_ms < start_ms:
            raise invalid("endTime must be greater than or equal to startTime.")
        try:
            query = parse_query(query_text)
        except InsightsError as exc:
            raise LogsError("MalformedQueryException", str(exc)) from None
        for group in groups:
            try:
                self.require_group(group)
            except LogsError:
                raise not_found(f"Log group '{group}' does not exist for account ID "
                                f"'{self.account}'") from None
        scanned = [0, 0]
        rows = run_query(query, self._insights_rows(groups, start_ms, end_ms, scanned),
                         limit=limit)
        return InsightsResult(rows, scanned[0], scanned[1], len(set(groups)))

    def _insights_rows(self, groups: Sequence[str], start_ms: int, end_ms: int,
                       scanned: list[int]) -> Iterator[dict[str, Any]]:
        """Events streamed from SQL with the time range applied there, never all at once."""
        for group in dict.fromkeys(groups):
            log = f"{self.account}:{group}"
            cur = self._conn.execute(
                "SELECT log_stream, ts, ingested, message FROM log_events"
                " WHERE log_group = ? AND ts >= ? AND ts <= ?",
                (group, start_ms, end_ms),
            )
            with closing(cur):
                while batch := cur.fetchmany(1024):
                    for stream, ts, ingested, message in batch:
                        scanned[0] += 1
                        scanned[1] += len(message)
                        yield {"@timestamp": ts, "@ingestionTime": ingested, "@message": message,
                               "@logStream": stream, "@log": log}

    # ------------------------------------------------------------------------------ followers
    def last_event_id(self) -> int:
        """The cursor a new follower starts from (it then sees only newer events)."""
        return self._conn.execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0]

    def logs_tail(self, group: str, after_id: int, *, streams: Sequence[str] | None = None,
                  limit: int = 1000) -> list[StoredLogEvent]:
        """Events of `group` with id > `after_id`, in arrival order; ids only ever grow."""
        sql = ("SELECT e.id, e.log_stream, e.ts, e.ingested, e.message, e.request_id"
               " FROM log_events e WHERE e.id > ? AND e.log_group = ?")
        args: list[object] = [after_id, group]
        if streams:
            sql += f" AND e.log_stream IN ({','.join('?' * len(streams))})"
            args += streams
        rows = self._conn.execute(sql + " ORDER BY e.id LIMIT ?", [*args, limit]).fetchall()
        return [StoredLogEvent(i, group, s, t, g, m, r) for i, s, t, g, m, r in rows]
