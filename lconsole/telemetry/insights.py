"""The CloudWatch Logs Insights query subset (CWLI dialect), evaluated over log-event dicts.

Pure and stdlib-only. `parse_query` turns query text into a `Query` (a pipeline of stages compiled
to closures); `run_query` derives the fields Insights discovers for Lambda log groups from each
`{"@timestamp", "@message", "@logStream", "@log"}` event, runs the stages and returns result rows
as ``{field: value}`` in output order. Values keep their Python types except timestamps
(`@timestamp`, `@ingestionTime`, `fromMillis`, `min(@timestamp)`...) and `bin()`, which render the
Insights way (``YYYY-MM-DD HH:MM:SS.mmm`` UTC). Fields without a value are left out of a row, as
GetQueryResults does. Error positions are 0-based character offsets into the query text.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

DEFAULT_LIMIT = 10_000  # rows returned without `limit` (telemetry.md §3.1, AWS limit page)
MAX_LIMIT = 100_000
MAX_JSON_FIELDS = 1_000
DEFAULT_FIELDS = ("@timestamp", "@message")

Row = dict[str, Any]
Stage = Callable[[list[Row]], list[Row]]


class InsightsError(ValueError):
    """A malformed query (AWS: MalformedQueryException); `position` is a 0-based offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class _Timestamp(int):
    """Epoch milliseconds that render as an Insights timestamp string in results."""


def format_timestamp(ms: int) -> str:
    """Epoch ms → ``YYYY-MM-DD HH:MM:SS.mmm`` (UTC), the way Insights shows `@timestamp`."""
    ms = int(ms)
    return f"{datetime.fromtimestamp(ms // 1000, UTC):%Y-%m-%d %H:%M:%S}.{ms % 1000:03d}"


@dataclass(frozen=True)
class Query:
    text: str
    stages: tuple[Stage, ...]
    columns: tuple[str, ...]  # default output fields, in order
    has_stats: bool
    has_limit: bool  # a `limit` command replaces the default row cap


# ----------------------------------------------------------------------------- lexer

class _Tok(NamedTuple):
    kind: str  # name | qname | str | num | dur | op | end
    value: Any
    pos: int
    end: int


_SKIP = re.compile(r"(?:\s+|#[^\n]*)*")
_TOKEN = re.compile(
    r"""(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<qname>`[^`]*`)
    |(?P<dur>\d+(?:\.\d+)?[A-Za-z]+)
    |(?P<num>\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_@][\w@.]*)
    |(?P<op>=~|!=|<=|>=|[=<>|,()\[\]+\-*/%])""",
    re.X,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _lex(text: str, pos: int) -> _Tok:
    pos = _SKIP.match(text, pos).end()  # type: ignore[union-attr]
    if pos >= len(text):
        return _Tok("end", "", pos, pos)
    m = _TOKEN.match(text, pos)
    if m is None:
        what = "string" if text[pos] in "\"'`" else f"character {text[pos]!r}"
        prefix = "Unterminated" if text[pos] in "\"'`" else "Unexpected"
        raise InsightsError(f"{prefix} {what} at position {pos}", pos)
    kind, raw = m.lastgroup or "", m.group()
    value: Any = raw
    if kind == "str":
        value = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e[1], e[1]), raw[1:-1], flags=re.S)
    elif kind == "qname":
        value = raw[1:-1]
    elif kind == "num":
        value = float(raw) if "." in raw else int(raw)
    return _Tok(kind, value, pos, m.end())


_UNITS = {"ms": 1, "s": 1000, "sec": 1000, "second": 1000, "seconds": 1000, "m": 60_000,
          "min": 60_000, "minute": 60_000, "minutes": 60_000, "h": 3_600_000, "hr": 3_600_000,
          "hour": 3_600_000, "hours": 3_600_000, "d": 86_400_000, "day": 86_400_000,
          "days": 86_400_000}


# ----------------------------------------------------------------------------- values

_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?\Z")


def _num(v: Any) -> int | float | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return v
    if isinstance(v, str) and _NUMERIC.match(v.strip()):
        return float(v)
    return None


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    if isinstance(a, int | float) or isinstance(b, int | float):
        na, nb = _num(a), _num(b)
        if na is None or nb is None:
            return op == "!="
        a, b = na, nb
    elif not (isinstance(a, str) and isinstance(b, str)):
        a, b = str(a), str(b)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _truthy(v: Any) -> bool:
    return v is not None and v is not False and v != 0 and v != ""


def _arith(op: str, a: Any, b: Any) -> Any:
    na, nb = _num(a), _num(b)
    if na is None or nb is None or (op in "/%" and nb == 0):
        return None
    return {"+": na + nb, "-": na - nb, "*": na * nb, "/": na / nb, "%": na % nb}[op]


_CHUNK = re.compile(r"[0-9]+|[^0-9]")


def _sort_key(v: Any) -> tuple:
    """Insights' natural sort: non-numbers first (chunked, digit runs by length then value)."""
    n = None if v is None or (isinstance(v, str) and not _NUMERIC.match(v)) else _num(v)
    if n is not None:
        return (1, n, ())
    chunks = _CHUNK.findall("" if v is None else str(v))
    return (0, 0, tuple((0x30, len(c), int(c)) if c[0].isascii() and c[0].isdigit()
                        else (ord(c), 0, 0) for c in chunks))


def _sort(rows: list[Row], keys: list[tuple[Callable[[Row], Any], bool]]) -> list[Row]:
    for fn, desc in reversed(keys):  # successive stable sorts; nulls last either way
        rows = sorted(rows, key=lambda r: (((v := fn(r)) is None) != desc, _sort_key(v)),
                      reverse=desc)
    return rows


def _hyperscan_regex(source: str, pos: int) -> re.Pattern[str]:
    source = re.sub(r"\(\?<(?![=!])", "(?P<", source)
    if "(?i)" in source[4:]:  # Hyperscan takes inline flags anywhere; Python only up front
        source = "(?i)" + source.replace("(?i)", "")
    try:
        return re.compile(source)
    except re.error as exc:
        raise InsightsError(f"Invalid regular expression at position {pos}: {exc}", pos) from exc


# ----------------------------------------------------------------------------- functions

def _substr(s: Any, start: Any, length: Any = None) -> Any:
    if s is None or _num(start) is None:
        return None
    i = int(_num(start) or 0)
    return str(s)[i:] if length is None else str(s)[i:i + int(_num(length) or 0)]


def _timefloor(ts: Any, period: int, ceil: bool = False) -> Any:
    n = _num(ts)
    if n is None:
        return None
    n = int(n)
    floored = n - n % period
    return _Timestamp(floored + period if ceil and floored != n else floored)


_SCALARS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "ispresent": (1, 1, lambda v: v is not None),
    "isempty": (1, 1, lambda v: v is None or v == ""),
    "isblank": (1, 1, lambda v: v is None or str(v).strip() == ""),
    "coalesce": (1, 99, lambda *vs: next((v for v in vs if v is not None), None)),
    "strlen": (1, 1, lambda v: None if v is None else len(str(v))),
    "toupper": (1, 1, lambda v: None if v is None else str(v).upper()),
    "tolower": (1, 1, lambda v: None if v is None else str(v).lower()),
    "concat": (1, 99, lambda *vs: "".join(str(v) for v in vs if v is not None)),
    "substr": (2, 3, _substr),
    "replace": (3, 3, lambda s, a, b: None if s is None else str(s).replace(str(a), str(b))),
    "strcontains": (2, 2, lambda s, a: None if s is None else int(str(a) in str(s))),
    "abs": (1, 1, lambda v: None if _num(v) is None else abs(_num(v))),  # type: ignore[arg-type]
    "ceil": (1, 1, lambda v: None if _num(v) is None else math.ceil(_num(v))),  # type: ignore[arg-type]
    "floor": (1, 1, lambda v: None if _num(v) is None else math.floor(_num(v))),  # type: ignore[arg-type]
    "frommillis": (1, 1, lambda v: None if _num(v) is None else _Timestamp(int(_num(v)))),  # type: ignore[arg-type]
    "tomillis": (1, 1, lambda v: None if _num(v) is None else int(_num(v))),  # type: ignore[arg-type]
}
_PERIOD_FUNCS = {"bin", "datefloor", "dateceil"}


def _pct(values: list[Any], p: float) -> Any:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))]


def _by_time(rows: list[Row], fn: Callable[[Row], Any]) -> list[tuple[Any, Any]]:
    return [(_num(r.get("@timestamp")) or 0, v) for r in rows if (v := fn(r)) is not None]


_AGGREGATES: dict[str, Callable[[list[Any]], Any]] = {
    "count": len,
    "count_distinct": lambda vs: len(set(vs)),
    "sum": lambda ns: sum(ns) if ns else None,
    "avg": lambda ns: sum(ns) / len(ns) if ns else None,
    "min": lambda ns: min(ns) if ns else None,
    "max": lambda ns: max(ns) if ns else None,
    "stddev": lambda ns: statistics.pstdev(ns) if ns else None,
}
_NUMERIC_AGGS = {"sum", "avg", "min", "max", "stddev", "pct"}
_AGG_NAMES = {*_AGGREGATES, "pct", "earliest", "latest"}


def _lift(op: Callable[..., Any], *fns: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda env: op(*(f(env) for f in fns))


def _agg_fn(name: str, arg: Callable[[Row], Any] | None, p: float) -> Callable[[list[Row]], Any]:
    if arg is None:
        return len  # count() / count(*)
    if name in ("earliest", "latest"):
        pick = min if name == "earliest" else max
        return lambda rows: pick(ps, key=lambda t: t[0])[1] if (ps := _by_time(rows, arg)) else None

    def run(rows: list[Row]) -> Any:
        values = [v for r in rows if (v := arg(r)) is not None]
        if name in _NUMERIC_AGGS:
            values = [n for v in values if (n := _num(v)) is not None]
        if name == "pct":
            return _pct(values, p) if values else None
        return _AGGREGATES[name](values)

    return run


# ----------------------------------------------------------------------------- stages

def _fields_stage(items: list[tuple[str, Callable[[Row], Any], bool]]) -> Stage:
    computed = [(name, fn) for name, fn, bare in items if not bare]

    def run(rows: list[Row]) -> list[Row]:
        for r in rows:
            for name, fn in computed:
                if (v := fn(r)) is None:
                    r.pop(name, None)
                else:
                    r[name] = v
        return rows

    return run


def _parse_stage(source: Callable[[Row], Any], rx: re.Pattern[str], names: list[str] | None
                 ) -> Stage:
    def run(rows: list[Row]) -> list[Row]:
        for r in rows:
            if (v := source(r)) is None or (m := rx.search(str(v))) is None:
                continue  # a non-matching event stays, without the extracted fields
            pairs = zip(names, m.groups(), strict=True) if names else m.groupdict().items()
            r.update((k, val) for k, val in pairs if val is not None)
        return rows

    return run


def _stats_stage(items: list, groups: list) -> Stage:
    def run(rows: list[Row]) -> list[Row]:
        buckets: dict[tuple, list[Row]] = {}
        for r in rows:
            buckets.setdefault(tuple(fn(r) for _, fn, _ in groups), []).append(r)
        if not groups and not buckets:
            buckets[()] = []
        out = []
        for key, members in buckets.items():
            row = {g[0]: v for g, v in zip(groups, key, strict=True) if v is not None}
            row.update((name, v) for name, fn, _ in items if (v := fn(members)) is not None)
            out.append(row)
        return out

    return run


def _dedup_stage(keys: list[Callable[[Row], Any]]) -> Stage:
    def run(rows: list[Row]) -> list[Row]:
        seen: set[tuple] = set()
        out = []
        for r in rows:
            key = tuple(fn(r) for fn in keys)
            if None in key or key not in seen:  # nulls never dedup
                seen.add(key)
                out.append(r)
        return out

    return run


# ----------------------------------------------------------------------------- parser

_COMMANDS = ("fields", "display", "filter", "parse", "stats", "sort", "limit", "dedup")
_KEYWORDS = {"and", "or", "not", "like", "in", "as", "by", "asc", "desc"}
_CMP_OPS = ("=", "!=", "<", "<=", ">", ">=")
_REGEX_LIT = re.compile(r"/((?:[^/\\\n]|\\.)*)/")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tok = _lex(text, 0)
        self.last_end = 0
        self.seen_stats = False
        self.aggs = 0  # aggregate calls compiled inside stats

    def _advance(self) -> _Tok:
        tok = self.tok
        self.last_end = tok.end
        self.tok = _lex(self.text, tok.end)
        return tok

    def _is(self, kind: str, *values: str, tok: _Tok | None = None) -> bool:
        tok = tok or self.tok
        if tok.kind != kind:
            return False
        return not values or (tok.value.lower() if kind == "name" else tok.value) in values

    def _accept(self, kind: str, *values: str) -> _Tok | None:
        return self._advance() if self._is(kind, *values) else None

    def _expect(self, kind: str, *values: str) -> _Tok:
        if not self._is(kind, *values):
            raise self._unexpected()
        return self._advance()

    def _unexpected(self) -> InsightsError:
        tok = self.tok
        if tok.kind == "end":
            return InsightsError(f"Unexpected end of query at position {tok.pos}", tok.pos)
        return InsightsError(
            f"Unexpected token {self.text[tok.pos:tok.end]!r} at position {tok.pos}", tok.pos)

    def _name(self) -> str:
        if self.tok.kind not in ("name", "qname") or self._is("name", *_KEYWORDS):
            raise self._unexpected()
        return self._advance().value

    # -- commands
    def query(self) -> Query:
        stages: list[Stage] = []
        columns: list[str] = []
        display: list[str] | None = None
        has_stats = dedup_at = False
        commands: list[str] = []
        while self.tok.kind != "end":
            if stages:
                self._expect("op", "|")
            tok = self.tok
            if not self._is("name", *_COMMANDS):
                raise self._unexpected()
            cmd = self._advance().value.lower()
            commands.append(cmd)
            if dedup_at and cmd != "limit":
                raise InsightsError(f"Only limit may follow dedup, not {cmd!r} at position "
                                    f"{tok.pos}", tok.pos)
            if cmd in ("fields", "display"):
                items = self._items("row")
                stages.append(_fields_stage(items))
                names = [name for name, _, _ in items]
                if cmd == "display":
                    display = names
                else:
                    columns += [n for n in names if n not in columns]
            elif cmd == "filter":
                stages.append(self._filter())
            elif cmd == "parse":
                stages.append(self._parse_cmd())
            elif cmd == "stats":
                items = self._items("group")
                groups = self._items("row") if self._accept("name", "by") else []
                stages.append(_stats_stage(items, groups))
                columns = [g[0] for g in groups] + [i[0] for i in items]
                display, has_stats, self.seen_stats = None, True, True
            elif cmd == "sort":
                stages.append(self._sort())
            elif cmd == "limit":
                stages.append(self._limit())
            else:
                keys = [self._expr("row")]
                while self._accept("op", ","):
                    keys.append(self._expr("row"))
                stages.append(_dedup_stage(keys))
                dedup_at = True
        cols = display or columns or list(DEFAULT_FIELDS)
        return Query(self.text, tuple(stages), tuple(dict.fromkeys(cols)), has_stats,
                     "limit" in commands)

    def _items(self, mode: str) -> list[tuple[str, Callable[[Any], Any], bool]]:
        items = []
        while True:
            first, aggs = self.tok, self.aggs
            fn = self._expr(mode)
            bare = first.kind in ("name", "qname") and self.last_end == first.end
            name = first.value if bare else self.text[first.pos:self.last_end].strip()
            if mode == "group" and self.aggs == aggs:
                raise InsightsError(f"stats needs an aggregate function at position {first.pos}",
                                    first.pos)
            if self._accept("name", "as"):
                name, bare = self._name(), False
            items.append((name, fn, bare))
            if not self._accept("op", ","):
                return items

    def _filter(self) -> Stage:
        fn = self._expr("row")
        return lambda rows: [r for r in rows if _truthy(fn(r))]

    def _parse_cmd(self) -> Stage:
        source: Callable[[Row], Any] = lambda r: r.get("@message")  # noqa: E731
        if not (self.tok.kind == "str" or self._is("op", "/")):
            source = self._primary("row")
        if self.tok.kind != "str":
            rx = self._regex()
            if not rx.groupindex:
                raise InsightsError(f"parse regex needs named groups (?<name>...) at position "
                                    f"{self.last_end}", self.last_end)
            return _parse_stage(source, rx, None)
        tok = self._advance()
        self._expect("name", "as")
        names = [self._name()]
        while self._accept("op", ","):
            names.append(self._name())
        if tok.value.count("*") != len(names):
            raise InsightsError(f"parse pattern has {tok.value.count('*')} wildcards for "
                                f"{len(names)} fields at position {tok.pos}", tok.pos)
        parts = [re.escape(p) for p in tok.value.split("*")]
        source_rx = "(.*?)".join(parts[:-1]) + ("(.*)" if parts[-1] == "" else "(.*?)" + parts[-1])
        return _parse_stage(source, re.compile(source_rx), names)

    def _sort(self) -> Stage:
        keys = []
        while True:
            fn = self._expr("row")
            desc = bool(self._accept("name", "desc"))
            if not desc:
                self._accept("name", "asc")
            keys.append((fn, desc))
            if not self._accept("op", ","):
                return lambda rows: _sort(rows, keys)

    def _limit(self) -> Stage:
        self._accept("name", "any")
        tok = self.tok
        if tok.kind != "num" or not isinstance(tok.value, int) or not 1 <= tok.value <= MAX_LIMIT:
            if tok.kind in ("num", "dur"):
                raise InsightsError(f"limit must be an integer from 1 to {MAX_LIMIT} at position "
                                    f"{tok.pos}", tok.pos)
            raise self._unexpected()
        n = self._advance().value
        return lambda rows: rows[:n]

    # -- expressions: or < and < not < comparison < + - < * / % < unary < primary
    def _expr(self, mode: str) -> Callable[[Any], Any]:
        left = self._and(mode)
        while self._accept("name", "or"):
            left = _lift(lambda a, b: _truthy(a) or _truthy(b), left, self._and(mode))
        return left

    def _and(self, mode: str) -> Callable[[Any], Any]:
        left = self._not(mode)
        while self._accept("name", "and"):
            left = _lift(lambda a, b: _truthy(a) and _truthy(b), left, self._not(mode))
        return left

    def _not(self, mode: str) -> Callable[[Any], Any]:
        if self._accept("name", "not"):
            return _lift(lambda a: not _truthy(a), self._not(mode))
        return self._cmp(mode)

    def _cmp(self, mode: str) -> Callable[[Any], Any]:
        left = self._add(mode)
        tok, negate = self.tok, False
        if tok.kind == "op" and tok.value in _CMP_OPS:
            self._advance()
            return _lift(lambda a, b: _compare(tok.value, a, b), left, self._add(mode))
        if self._is("name", "not") and self._is("name", "like", "in", tok=_lex(self.text, tok.end)):
            self._advance()
            negate = True
        if self._is("name", "like") or self._is("op", "=~"):
            substring = self._advance().value.lower() == "like" and self.tok.kind == "str"
            if substring:
                sub = self._advance().value
                return _lift(lambda a: a is not None and (sub in str(a)) != negate, left)
            rx = self._regex() if self.tok.kind != "str" else _hyperscan_regex(
                self.tok.value, self._advance().pos)
            return _lift(lambda a: a is not None and bool(rx.search(str(a))) != negate, left)
        if self._accept("name", "in"):
            self._expect("op", "[")
            values = [] if self._is("op", "]") else [self._add(mode)]
            while self._accept("op", ","):
                values.append(self._add(mode))
            self._expect("op", "]")
            return _lift(lambda a, *vs: a is not None and any(_compare("=", a, v) for v in vs)
                         != negate, left, *values)
        return left

    def _add(self, mode: str) -> Callable[[Any], Any]:
        left = self._mul(mode)
        while self._is("op", "+", "-"):
            op = self._advance().value
            left = _lift(lambda a, b, op=op: _arith(op, a, b), left, self._mul(mode))
        return left

    def _mul(self, mode: str) -> Callable[[Any], Any]:
        left = self._unary(mode)
        while self._is("op", "*", "/", "%"):
            op = self._advance().value
            left = _lift(lambda a, b, op=op: _arith(op, a, b), left, self._unary(mode))
        return left

    def _unary(self, mode: str) -> Callable[[Any], Any]:
        if self._accept("op", "-"):
            return _lift(lambda a: None if (n := _num(a)) is None else -n, self._unary(mode))
        return self._primary(mode)

    def _primary(self, mode: str) -> Callable[[Any], Any]:
        tok = self.tok
        if tok.kind in ("num", "str"):
            self._advance()
            return lambda _env: tok.value
        if self._accept("op", "("):
            fn = self._expr(mode)
            self._expect("op", ")")
            return fn
        if tok.kind == "name" and _lex(self.text, tok.end)[:2] == ("op", "("):
            return self._call(mode)
        if tok.kind not in ("name", "qname") or self._is("name", *_KEYWORDS):
            raise self._unexpected()
        self._advance()
        if mode == "group":
            raise InsightsError(f"Field {tok.value!r} must be inside an aggregate function at "
                                f"position {tok.pos}", tok.pos)
        return lambda r: r.get(tok.value)

    def _call(self, mode: str) -> Callable[[Any], Any]:
        tok = self._advance()
        fname = tok.value.lower()
        self._expect("op", "(")
        if fname in _AGG_NAMES:
            fn = self._aggregate(fname, tok, mode)
        elif fname in _PERIOD_FUNCS:
            arg: Callable[[Any], Any] = lambda r: r.get("@timestamp")  # noqa: E731
            if fname != "bin":
                arg = self._expr(mode)
                self._expect("op", ",")
            elif mode == "group":
                raise InsightsError(f"bin() must be used after 'by' at position {tok.pos}",
                                    tok.pos)
            period, ceil = self._period(), fname == "dateceil"
            self._expect("op", ")")
            fn = _lift(lambda t: _timefloor(t, period, ceil), arg)
            if fname == "bin":
                fn = _lift(lambda t: None if t is None else format_timestamp(t), fn)
        elif fname in _SCALARS:
            args = [] if self._is("op", ")") else [self._expr(mode)]
            while self._accept("op", ","):
                args.append(self._expr(mode))
            self._expect("op", ")")
            lo, hi, scalar = _SCALARS[fname]
            if not lo <= len(args) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise InsightsError(f"Function {tok.value!r} takes {want} arguments, not "
                                    f"{len(args)}, at position {tok.pos}", tok.pos)
            fn = _lift(scalar, *args)
        else:
            raise InsightsError(f"Unknown function {tok.value!r} at position {tok.pos}", tok.pos)
        if mode == "row" and self.seen_stats:  # after stats, `count(*)`/`bin(5m)` name a column
            text, inner = self.text[tok.pos:self.last_end], fn
            return lambda r: r[text] if text in r else inner(r)
        return fn

    def _aggregate(self, fname: str, tok: _Tok, mode: str) -> Callable[[Any], Any]:
        if mode != "group" and not self.seen_stats:
            raise InsightsError(f"Aggregate function {tok.value!r} is only allowed in stats at "
                                f"position {tok.pos}", tok.pos)
        arg, p = None, 0.0
        if fname == "count" and self._is("op", "*"):
            self._advance()
        elif not (fname == "count" and self._is("op", ")")):
            arg = self._expr("row")
        if fname == "pct":
            self._expect("op", ",")
            ptok = self._expect("num")
            if not 0 <= ptok.value <= 100:
                raise InsightsError(f"pct needs a percentile from 0 to 100 at position "
                                    f"{ptok.pos}", ptok.pos)
            p = ptok.value
        self._expect("op", ")")
        if mode != "group":
            return lambda _r: None
        self.aggs += 1
        return _agg_fn(fname, arg, p)

    def _period(self) -> int:
        tok = self.tok
        m = re.fullmatch(r"([\d.]+)([A-Za-z]+)", str(tok.value)) if tok.kind == "dur" else None
        if m is None:
            raise self._unexpected()
        ms = int(float(m[1]) * _UNITS.get(m[2].lower(), 0))
        if ms <= 0:
            raise InsightsError(f"Invalid time period {tok.value!r} at position {tok.pos}", tok.pos)
        self._advance()
        return ms

    def _regex(self) -> re.Pattern[str]:
        tok = self.tok
        if not self._is("op", "/"):
            raise self._unexpected()
        m = _REGEX_LIT.match(self.text, tok.pos)
        if m is None:
            raise InsightsError(f"Unterminated regular expression at position {tok.pos}", tok.pos)
        self.last_end, self.tok = m.end(), _lex(self.text, m.end())
        return _hyperscan_regex(m.group(1).replace("\\/", "/"), tok.pos)


# ----------------------------------------------------------------------------- discovered fields

_PLATFORM = re.compile(r"(?:START|END|REPORT)(?= RequestId: )|(?:INIT|RESTORE)_(?:START|REPORT) ")
_REQUEST_ID = re.compile(r"RequestId: (\S+)")
_REPORT_PART = re.compile(r"(?:XRAY )?([A-Za-z ]+): ([\d.]+ (?:ms|MB)|\S+)")
_REPORT_FIELDS = {"Duration": "@duration", "Billed Duration": "@billedDuration",
                  "Init Duration": "@initDuration", "Memory Size": "@memorySize",
                  "Max Memory Used": "@maxMemoryUsed", "TraceId": "@xrayTraceId",
                  "SegmentId": "@xraySegmentId"}
_PYTHON_TEXT = re.compile(r"\[[A-Z]+\]\t[^\t]*\t([^\t]+)\t")  # [INFO]\t<ts>\t<request id>\t…
_NODE_TEXT = re.compile(r"\d{4}-\d\d-\d\dT[^\t]*\t([^\t]+)\t[A-Z]+\t")  # <ts>\t<id>\tINFO\t…
_JSON_TYPES = {"platform.start": "START", "platform.report": "REPORT",
               "platform.initStart": "INIT_START", "platform.initReport": "INIT_REPORT"}
_JSON_METRICS = {"durationMs": "@duration", "billedDurationMs": "@billedDuration",
                 "initDurationMs": "@initDuration", "memorySizeMB": "@memorySize",
                 "maxMemoryUsedMB": "@maxMemoryUsed"}
_DECODER = json.JSONDecoder()


def _metric(name: str, raw: Any) -> Any:
    """Durations in ms (float); memory in bytes with decimal MB, as Insights reports them."""
    if name in ("@xrayTraceId", "@xraySegmentId"):
        return str(raw)
    n = _num(raw.split()[0] if isinstance(raw, str) else raw)
    if n is None:
        return None
    return int(n * 1_000_000) if name in ("@memorySize", "@maxMemoryUsed") else float(n)


def _flatten(value: Any, prefix: str, out: Row) -> None:
    if len(out) >= MAX_JSON_FIELDS:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else ("@" + k if k.startswith("@") else k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}.{i}", out)
    elif value is not None and prefix:
        out[prefix] = value


def _derive(event: Row) -> Row:
    r = dict(event)
    for key in ("@timestamp", "@ingestionTime"):
        if isinstance(r.get(key), int) and not isinstance(r[key], bool):
            r[key] = _Timestamp(r[key])
    msg = r.get("@message")
    if not isinstance(msg, str):
        return r
    found: Row = {}
    if m := _PLATFORM.match(msg):
        found["@type"] = m[0].rstrip()
        if rid := _REQUEST_ID.search(msg.split("\n", 1)[0]):
            found["@requestId"] = rid[1]
        for part in re.split(r"[\t\n]", msg[m.end():]):
            pm = _REPORT_PART.fullmatch(part.strip())
            if pm and (name := _REPORT_FIELDS.get(pm[1])):
                found[name] = _metric(name, pm[2])
    elif (m := _PYTHON_TEXT.match(msg) or _NODE_TEXT.match(msg)) and m[1] != "undefined":
        found["@requestId"] = m[1]
    if (start := msg.find("{")) >= 0:  # only the first embedded JSON fragment is discovered
        try:
            obj = _DECODER.raw_decode(msg, start)[0]
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            flat: Row = {}
            _flatten(obj, "", flat)
            found.update((k, v) for k, v in flat.items() if k not in found)
            rid = flat.get("requestId", flat.get("record.requestId"))
            if rid is not None:
                found.setdefault("@requestId", rid)
            if (kind := _JSON_TYPES.get(str(flat.get("type")))) is not None:
                found.setdefault("@type", kind)
                for key, name in _JSON_METRICS.items():
                    if (v := flat.get(f"record.metrics.{key}")) is not None:
                        found.setdefault(name, _metric(name, v))
    for k, v in found.items():
        if v is not None:
            r.setdefault(k, v)
    return r


# ----------------------------------------------------------------------------- API

def parse_query(text: str) -> Query:
    """Compile a Logs Insights query; raises InsightsError naming the offending token."""
    return _Parser(text).query()


def _timestamp_of(r: Row) -> Any:
    return r.get("@timestamp")


def run_query(query: Query, rows: Iterable[Row], *, limit: int | None = None) -> list[Row]:
    """Run `query` over log events; `limit` is StartQuery's (default 10,000, max 100,000)."""
    cap = (MAX_LIMIT if query.has_limit else DEFAULT_LIMIT) if limit is None else limit
    if not 1 <= cap <= MAX_LIMIT:
        raise InsightsError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    data = _sort([_derive(e) for e in rows], [(_timestamp_of, True)])  # default @timestamp desc
    for stage in query.stages:
        data = stage(data)
    return [{c: format_timestamp(v) if isinstance(v, _Timestamp) else v
             for c in query.columns if (v := r.get(c)) is not None} for r in data[:cap]]
