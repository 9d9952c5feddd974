"""CloudWatch Logs filter patterns (FilterLogEvents, metric/subscription filters, Live Tail).

Pure and stdlib-only. ``compile_pattern(pattern)`` parses once and returns a :class:`Matcher`
whose ``matches(message)`` runs precompiled closures/regexes over the whole event text.

Dialects (chosen from the pattern with surrounding whitespace ignored):

* empty / blank / ``None`` - matches every event;
* ``{ ... }`` - JSON pattern; the event must parse as a JSON object, else no match;
* ``[ ... ]`` - space-delimited pattern;
* ``%regex%`` - standalone regex (unanchored search, case-sensitive);
* anything else - a term list (``ERROR -timeout``, ``?ERROR ?WARN``, ``"exact phrase"``).

Choices where AWS behaviour is unconfirmed (see telemetry.md section 2):

* Plain terms match whole tokens by default (``ERR`` does not match ``ERROR``): a term must not be
  preceded/followed by a letter or digit where it itself starts/ends with one. Pass
  ``term_matching="substring"`` for moto-style substring search.
* ``?`` groups: each ``?`` starts a new alternative; following terms without ``?`` (including
  ``-exclusions``) join it. Terms before the first ``?`` form their own alternative.
* JSON: numeric operators match JSON numbers only, quoted values match JSON strings only. Pass
  ``numeric_strings=True`` to let numeric comparisons also apply to strings that look like numbers.
* Space-delimited: lines split on whitespace; ``"..."`` and ``[...]`` fields are one field and are
  compared without their enclosing quotes/brackets. Without ``...`` the field count must equal the
  number of names.
"""

from __future__ import annotations

import json
import operator
import re
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal, NamedTuple

__all__ = ["FilterPatternError", "Matcher", "compile_pattern"]

TermMatching = Literal["token", "substring"]
DEFAULT_TERM_MATCHING: TermMatching = "token"
MAX_REGEXES = 2  # per JSON / space-delimited pattern

Predicate = Callable[[str], bool]
_Test = Callable[[Any], bool]


# --------------------------------------------------------------------------------------- errors
class FilterPatternError(ValueError):
    """A malformed filter pattern.

    ``message`` is the human text (naming the position), ``detail`` the bare reason, ``position``
    the 0-based offset in the original pattern, ``aws_message`` the text AWS would put in its
    ``InvalidParameterException``.
    """

    def __init__(
        self,
        detail: str,
        position: int,
        pattern: str = "",
        aws_message: str = "Invalid filter pattern",
    ) -> None:
        self.detail = detail
        self.position = position
        self.pattern = pattern
        self.aws_message = aws_message
        self.message = f"Invalid filter pattern at position {position}: {detail}"
        super().__init__(self.message)

    def __reduce__(self) -> Any:
        return (type(self), (self.detail, self.position, self.pattern, self.aws_message))


# -------------------------------------------------------------------------------------- matcher
class Matcher:
    """A compiled filter pattern.

    ``fts_terms``: literal strings that every matching message contains (in ``token`` term
    matching they also sit on token boundaries), suitable for an FTS prefilter; empty when none
    can be derived. ``matches`` never returns True for a message lacking one of them.
    """

    __slots__ = ("_pred", "dialect", "fts_terms", "pattern", "term_matching")

    def __init__(
        self,
        pattern: str,
        dialect: str,
        predicate: Predicate,
        fts_terms: tuple[str, ...],
        term_matching: TermMatching,
    ) -> None:
        self.pattern = pattern
        self.dialect = dialect  # "all" | "terms" | "json" | "space" | "regex"
        self._pred = predicate
        self.fts_terms = fts_terms
        self.term_matching = term_matching

    @property
    def predicate(self) -> Predicate:
        """The bare ``str -> bool`` callable (skips one method call in hot loops)."""
        return self._pred

    @property
    def matches_everything(self) -> bool:
        return self.dialect == "all"

    def matches(self, message: str) -> bool:
        return self._pred(message)

    def __call__(self, message: str) -> bool:
        return self._pred(message)

    def __repr__(self) -> str:
        return f"Matcher({self.pattern!r}, dialect={self.dialect!r}, fts_terms={self.fts_terms!r})"


def compile_pattern(
    pattern: str | None,
    *,
    term_matching: TermMatching = DEFAULT_TERM_MATCHING,
    numeric_strings: bool = False,
) -> Matcher:
    """Compile a CloudWatch Logs filter pattern; raises :class:`FilterPatternError`."""
    if term_matching not in ("token", "substring"):
        raise ValueError(f"term_matching must be 'token' or 'substring', not {term_matching!r}")
    return _compile(pattern or "", term_matching, bool(numeric_strings))


@lru_cache(maxsize=256)
def _compile(pattern: str, term_matching: TermMatching, numeric_strings: bool) -> Matcher:
    stripped = pattern.strip()
    if not stripped:
        return Matcher(pattern, "all", _always, (), term_matching)
    start = len(pattern) - len(pattern.lstrip())
    end = start + len(stripped)
    first = stripped[0]
    if first == "{":
        pred, terms = _JsonParser(pattern, start, end, numeric_strings).build()
        dialect = "json"
    elif first == "[":
        pred, terms = _SpaceParser(pattern, start, end).build()
        dialect = "space"
    elif first == "%":
        pred, terms = _standalone_regex(pattern, start, end), ()
        dialect = "regex"
    else:
        pred, terms = _compile_terms(pattern, start, end, term_matching)
        dialect = "terms"
    # FTS5 cannot index a phrase without letters or digits; such terms stay internal prefilters.
    fts = tuple(t for t in terms if any(c.isalnum() for c in t))
    return Matcher(pattern, dialect, pred, fts, term_matching)


def _always(_message: str) -> bool:
    return True


def _never(_message: str) -> bool:
    return False


# ----------------------------------------------------------------------------------- shared bits
_NUMBER_RX = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_is_number = _NUMBER_RX.fullmatch
_TOKEN_CHAR = r"[^\W_]"  # a letter or digit (Unicode)
_REGEX_ALLOWED = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "_#=@/;,-:"  # symbols (':' only in some doc versions)
    "^$?[]{}|*+."  # operators ('\\' handled separately)
)


def _err(p: str, detail: str, pos: int, aws: str = "Invalid filter pattern") -> FilterPatternError:
    return FilterPatternError(detail, pos, p, aws)


def _read_quoted(p: str, i: int, end: int) -> tuple[str, int]:
    """``p[i]`` is ``"``; return the raw (undecoded) body and the index after the closing quote."""
    j = i + 1
    while j < end:
        c = p[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return p[i + 1 : j], j + 1
        j += 1
    raise _err(p, "unterminated quoted string", i)


def _wild_parts(raw: str) -> list[str]:
    r"""Decode a quoted body: ``\"`` -> ``"``, ``\\`` -> ``\``, ``\*`` -> literal ``*``; other
    escapes are kept verbatim. Returns the literal pieces between unescaped ``*`` wildcards."""
    parts: list[str] = []
    buf: list[str] = []
    k, n = 0, len(raw)
    while k < n:
        c = raw[k]
        if c == "\\" and k + 1 < n:
            nxt = raw[k + 1]
            buf.append(nxt if nxt in '"\\*' else c + nxt)
            k += 2
            continue
        if c == "*":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        k += 1
    parts.append("".join(buf))
    return parts


def _wildcard_test(parts: list[str]) -> Callable[[str], bool]:
    if len(parts) == 1:
        lit = parts[0]
        return lit.__eq__
    if all(not x for x in parts):
        return lambda _s: True
    rx = re.compile(".*".join(re.escape(x) for x in parts), re.DOTALL)
    fm = rx.fullmatch
    return lambda s: fm(s) is not None


def _compile_regex(p: str, body_start: int, body_end: int) -> re.Pattern[str]:
    body = p[body_start:body_end]
    if not body:
        raise _err(p, "empty regex", body_start - 1)
    k, n = 0, len(body)
    while k < n:
        c = body[k]
        if c == "\\":
            if k + 1 >= n:
                raise _err(p, "regex ends with a dangling '\\'", body_start + k)
            nxt = body[k + 1]
            if not (nxt.isascii() and nxt.isprintable()):
                raise _err(p, f"invalid escape '\\{nxt}' in regex", body_start + k)
            k += 2
            continue
        if c not in _REGEX_ALLOWED:
            hint = ""
            if c == " ":
                hint = " (use \\s or \\x20)"
            elif c in "()":
                hint = " (use \\x28 / \\x29)"
            raise _err(p, f"character {c!r} is not allowed in a regex{hint}", body_start + k)
        k += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(body, re.ASCII)
    except re.error as exc:
        raise _err(p, f"invalid regex: {exc.msg}", body_start + (exc.pos or 0)) from None


def _standalone_regex(p: str, start: int, end: int) -> Predicate:
    if end - start < 2 or p[end - 1] != "%":
        raise _err(p, "a regex pattern must be enclosed in '%...%'", end)
    k = start + 1
    while k < end - 1:
        if p[k] == "\\":
            k += 2
            continue
        if p[k] == "%":
            raise _err(p, "unexpected '%' inside a regex pattern", k)
        k += 1
    if k > end - 1:  # the closing % was escaped
        raise _err(p, "unterminated regex", start)
    search = _compile_regex(p, start + 1, end - 1).search
    return lambda m: search(m) is not None


def _and_all(preds: list[Predicate]) -> Predicate:
    if not preds:
        return _always
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda m: a(m) and b(m)
    ps = tuple(preds)

    def all_of(m: Any) -> bool:
        for f in ps:  # noqa: SIM110 - a plain loop beats all(<genexpr>) in the hot path
            if not f(m):
                return False
        return True

    return all_of


def _or_any(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda m: a(m) or b(m)
    ps = tuple(preds)

    def any_of(m: Any) -> bool:
        for f in ps:  # noqa: SIM110 - a plain loop beats any(<genexpr>) in the hot path
            if f(m):
                return True
        return False

    return any_of


def _union(lists: list[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for terms in lists for t in terms))


def _intersection(lists: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not lists:
        return ()
    common = set(lists[0]).intersection(*lists[1:])
    return tuple(t for t in dict.fromkeys(lists[0]) if t in common)


# ------------------------------------------------------------------------------------ term lists
def _is_term_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _term_predicate(term: str, term_matching: TermMatching) -> Predicate:
    left = term_matching == "token" and term[0].isalnum()
    right = term_matching == "token" and term[-1].isalnum()
    if not (left or right):
        return lambda m: term in m
    rx = re.compile(
        (f"(?<!{_TOKEN_CHAR})" if left else "")
        + re.escape(term)
        + (f"(?!{_TOKEN_CHAR})" if right else "")
    )
    search = rx.search
    return lambda m: term in m and search(m) is not None


class _Group:
    __slots__ = ("impossible", "items", "neg", "pos")

    def __init__(self) -> None:
        self.pos: list[str] = []
        self.neg: list[str] = []
        self.items = 0
        self.impossible = False


def _compile_terms(
    p: str, start: int, end: int, term_matching: TermMatching
) -> tuple[Predicate, tuple[str, ...]]:
    groups = [_Group()]
    i = start
    while i < end:
        c = p[i]
        if c.isspace():
            i += 1
            continue
        item_start = i
        prefix = ""
        if c in "?-":
            prefix = c
            i += 1
        if i < end and p[i] == '"':
            raw, j = _read_quoted(p, i, end)
            if j < end and not p[j].isspace():
                raise _err(p, "expected whitespace after closing quote", j)
            if not raw:
                msg = "Invalid character(s) in term '\"\"'"
                raise _err(p, "empty quoted term", item_start, msg)
            text = "*".join(_wild_parts(raw))
            i = j
        else:
            j = i
            while j < end and not p[j].isspace():
                j += 1
            text = p[i:j]
            bad = next((k for k in range(i, j) if not _is_term_char(p[k])), None)
            if not text or bad is not None:
                term = p[item_start:j]
                where = item_start if bad is None else bad
                aws = f"Invalid character(s) in term '{term}'"
                what = f"invalid character {p[bad]!r}" if bad is not None else "missing term"
                raise _err(p, f"{what} in term {term!r} (quote terms with symbols)", where, aws)
            i = j
        group = groups[-1]
        if prefix == "?" and group.items:
            group = _Group()
            groups.append(group)
        group.items += 1
        if text.isspace():  # a quoted blank matches everything (old AWS docs)
            if prefix == "-":
                group.impossible = True
            continue
        (group.neg if prefix == "-" else group.pos).append(text)

    group_preds: list[Predicate] = []
    group_terms: list[tuple[str, ...]] = []
    for g in groups:
        if g.impossible:
            continue
        pos = [_term_predicate(t, term_matching) for t in dict.fromkeys(g.pos)]
        neg = [_term_predicate(t, term_matching) for t in dict.fromkeys(g.neg)]
        group_terms.append(tuple(dict.fromkeys(g.pos)))
        group_preds.append(_group_predicate(pos, neg))
    if not group_preds:
        return _never, ()
    return _or_any(group_preds), _intersection(group_terms)


def _group_predicate(pos: list[Predicate], neg: list[Predicate]) -> Predicate:
    if not neg:
        return _and_all(pos)
    excluded = _or_any(neg)
    if not pos:
        return lambda m: not excluded(m)
    required = _and_all(pos)
    return lambda m: required(m) and not excluded(m)


# ------------------------------------------------------------------- lexer (JSON / space-delim)
class _Tok(NamedTuple):
    kind: str  # lparen rparen and or op string regex word selector comma end
    text: str
    pos: int
    value: Any = None


_OPS = {"=", "!=", "<", "<=", ">", ">="}
_WORD_STOP = frozenset('()",&|=!<>[]{},')
_PROP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_SELECTOR_END = frozenset("=!<>&|()")


def _lex(p: str, start: int, end: int, mode: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = start
    regexes = 0
    while i < end:
        c = p[i]
        if c.isspace():
            i += 1
            continue
        if c in "()" and mode == "json":
            toks.append(_Tok("lparen" if c == "(" else "rparen", c, i))
            i += 1
        elif c == "," and mode == "space":
            toks.append(_Tok("comma", c, i))
            i += 1
        elif c in "&|":
            j = i
            while j < end and p[j] in "&|":
                j += 1
            run = p[i:j]
            if run not in ("&&", "||"):
                raise _err(p, f"invalid operator {run!r} (use '&&' or '||')", i)
            toks.append(_Tok("and" if run == "&&" else "or", run, i))
            i = j
        elif c in "=!<>":
            j = i
            while j < end and p[j] in "=!<>":
                j += 1
            run = p[i:j]
            if run not in _OPS:
                raise _err(p, f"invalid operator {run!r}", i)
            toks.append(_Tok("op", run, i))
            i = j
        elif c == '"':
            raw, j = _read_quoted(p, i, end)
            toks.append(_Tok("string", p[i:j], i, _wild_parts(raw)))
            i = j
        elif c == "%":
            j = i + 1
            while j < end and p[j] != "%":
                j += 2 if p[j] == "\\" else 1
            if j >= end:
                raise _err(p, "unterminated regex (missing closing '%')", i)
            regexes += 1
            if regexes > MAX_REGEXES:
                raise _err(p, f"at most {MAX_REGEXES} regular expressions per pattern", i)
            toks.append(_Tok("regex", p[i : j + 1], i, _compile_regex(p, i + 1, j)))
            i = j + 1
        elif c == "$" and mode == "json":
            j, steps = _lex_selector(p, i, end)
            toks.append(_Tok("selector", p[i:j], i, steps))
            i = j
        else:
            j = i
            while j < end and not p[j].isspace() and p[j] not in _WORD_STOP:
                j += 1
            if j == i:
                raise _err(p, f"unexpected {c!r}", i)
            toks.append(_Tok("word", p[i:j], i))
            i = j
    toks.append(_Tok("end", "", end))
    return toks


def _lex_selector(p: str, i: int, end: int) -> tuple[int, tuple[str | int, ...]]:
    j = i + 1
    if j >= end or p[j] != ".":
        raise _err(p, "expected '.' after '$' (selectors look like $.name)", j)
    steps: list[str | int] = []
    while j < end and p[j] in ".[":
        if p[j] == ".":
            k = j + 1
            while k < end and p[k] in _PROP_CHARS:
                k += 1
            if k == j + 1:
                if k < end and p[k] == "*":
                    raise _err(p, "wildcard selectors ($.*) are not supported", k)
                raise _err(p, "expected a property name", k)
            steps.append(p[j + 1 : k])
        else:
            k = j + 1
            while k < end and p[k].isascii() and p[k].isdigit():
                k += 1
            if k == j + 1:
                raise _err(p, "expected an array index", k)
            if k >= end or p[k] != "]":
                raise _err(p, "expected ']'", k)
            steps.append(int(p[j + 1 : k]))
            k += 1
        j = k
    if j < end and not p[j].isspace() and p[j] not in _SELECTOR_END:
        raise _err(p, f"unexpected {p[j]!r} in selector", j)
    return j, tuple(steps)


class _TokenStream:
    def __init__(self, p: str, toks: list[_Tok]) -> None:
        self.p = p
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def fail(self, detail: str, tok: _Tok | None = None) -> FilterPatternError:
        tok = tok or self.peek()
        return _err(self.p, detail, tok.pos)

    def describe(self, tok: _Tok) -> str:
        return "end of pattern" if tok.kind == "end" else repr(tok.text)


def _safe_fts_literal(s: str) -> bool:
    # Characters a JSON serializer never escapes, so the raw event text contains them verbatim.
    return bool(s) and s.isascii() and s.isprintable() and not any(c in s for c in '"\\/')


# ----------------------------------------------------------------------------------------- JSON
_MISSING: Any = object()
_NUM_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_Node = tuple[Callable[[Any], bool], tuple[str, ...]]


def _is_missing(v: Any) -> bool:
    return v is _MISSING


_IS_TESTS: dict[str, _Test] = {
    "NULL": lambda v: v is None,
    "TRUE": lambda v: v is True,
    "FALSE": lambda v: v is False,
}


def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _make_resolver(steps: tuple[str | int, ...]) -> Callable[[dict[str, Any]], Any]:
    if len(steps) == 1 and isinstance(steps[0], str):
        key = steps[0]
        return lambda o: o.get(key, _MISSING)

    def resolve(o: Any) -> Any:
        for s in steps:
            if s.__class__ is str:
                if o.__class__ is not dict:
                    return _MISSING
                o = o.get(s, _MISSING)
                if o is _MISSING:
                    return o
            else:
                if o.__class__ is not list or s >= len(o):  # type: ignore[operator]
                    return _MISSING
                o = o[s]  # type: ignore[index]
        return o

    return resolve


class _JsonParser:
    def __init__(self, p: str, start: int, end: int, numeric_strings: bool) -> None:
        if p[end - 1] != "}" or end - start < 2:
            raise _err(
                p,
                "a pattern starting with '{' must end with '}'",
                end,
                "If a filter pattern starts with '{' it must end with '}'",
            )
        self.p = p
        self.numeric_strings = numeric_strings
        self.ts = _TokenStream(p, _lex(p, start + 1, end - 1, "json"))

    def build(self) -> tuple[Predicate, tuple[str, ...]]:
        ts = self.ts
        test, terms = self._or()
        tok = ts.peek()
        if tok.kind != "end":
            detail = "expected '&&', '||' or '}'"
            if tok.kind == "rparen":
                detail = "unbalanced ')'"
            raise ts.fail(f"{detail}, found {ts.describe(tok)}", tok)
        loads = json.loads
        prefilter = terms

        def match(message: str) -> bool:
            for t in prefilter:
                if t not in message:
                    return False
            if message[:1] != "{" and message.lstrip()[:1] != "{":
                return False
            try:
                obj = loads(message)
            except (ValueError, RecursionError):
                return False
            return obj.__class__ is dict and test(obj)

        return match, terms

    def _or(self) -> _Node:
        nodes = [self._and()]
        while self.ts.peek().kind == "or":
            self.ts.next()
            nodes.append(self._and())
        if len(nodes) == 1:
            return nodes[0]
        return _or_any([n[0] for n in nodes]), _intersection([n[1] for n in nodes])

    def _and(self) -> _Node:
        nodes = [self._unary()]
        while self.ts.peek().kind == "and":
            self.ts.next()
            nodes.append(self._unary())
        if len(nodes) == 1:
            return nodes[0]
        return _and_all([n[0] for n in nodes]), _union([n[1] for n in nodes])

    def _unary(self) -> _Node:
        ts = self.ts
        tok = ts.next()
        if tok.kind == "lparen":
            node = self._or()
            close = ts.next()
            if close.kind != "rparen":
                raise ts.fail(f"expected ')', found {ts.describe(close)}", close)
            return node
        if tok.kind == "selector":
            return self._condition(tok)
        raise ts.fail(f"expected a selector ($.name) or '(', found {ts.describe(tok)}", tok)

    def _condition(self, sel: _Tok) -> _Node:
        ts = self.ts
        resolve = _make_resolver(sel.value)
        tok = ts.next()
        test: _Test
        terms: tuple[str, ...] = ()
        if tok.kind == "op":
            test, terms = self._comparison(tok)
        elif tok.kind == "word" and tok.text.upper() == "IS":
            what = ts.next()
            word = what.text.upper() if what.kind == "word" else ""
            if word in _IS_TESTS:
                test = _IS_TESTS[word]
            elif word == "NOT":
                raise ts.fail("'IS NOT' is not supported", what)
            else:
                raise ts.fail(f"expected NULL, TRUE or FALSE after IS, found {ts.describe(what)}",
                              what)
        elif tok.kind == "word" and tok.text.upper() == "NOT":
            what = ts.next()
            if what.kind != "word" or what.text.upper() != "EXISTS":
                raise ts.fail(f"expected EXISTS after NOT, found {ts.describe(what)}", what)
            test = _is_missing
        elif tok.kind == "word" and tok.text.upper() == "EXISTS":
            raise ts.fail("'EXISTS' is not supported (use '= *' or 'NOT EXISTS')", tok)
        else:
            raise ts.fail(
                f"expected an operator (=, !=, <, <=, >, >=), IS or NOT EXISTS after "
                f"{sel.text}, found {ts.describe(tok)}",
                tok,
            )
        return (lambda o: test(resolve(o))), terms

    def _comparison(self, op: _Tok) -> tuple[_Test, tuple[str, ...]]:
        ts = self.ts
        val = ts.next()
        negate = op.text == "!="
        if val.kind == "word" and _is_number(val.text):
            return self._numeric(op.text, _parse_number(val.text)), ()
        if op.text not in ("=", "!="):
            raise ts.fail(f"operator {op.text!r} needs a numeric value, found "
                          f"{ts.describe(val)}", val)
        if val.kind == "regex":
            search = val.value.search
            if negate:
                return (lambda v: v.__class__ is str and search(v) is None), ()
            return (lambda v: v.__class__ is str and search(v) is not None), ()
        if val.kind == "string":
            parts = val.value
        elif val.kind == "word":
            if not all(c.isalnum() or c in "_.*" for c in val.text):
                raise ts.fail(f"value {val.text!r} must be in double quotes", val)
            parts = val.text.split("*")
        else:
            raise ts.fail(f"expected a value after {op.text!r}, found {ts.describe(val)}", val)
        if all(not x for x in parts) and len(parts) > 1:  # "*": the field exists (any scalar)
            if negate:
                return (lambda v: False), ()
            return (lambda v: v is not _MISSING and v.__class__ not in (dict, list)), ()
        str_test = _wildcard_test(parts)
        terms = (parts[0],) if len(parts) == 1 and _safe_fts_literal(parts[0]) else ()
        if negate:
            return (lambda v: v.__class__ is str and not str_test(v)), ()
        return (lambda v: v.__class__ is str and str_test(v)), terms

    def _numeric(self, op: str, num: int | float) -> _Test:
        cmp = _NUM_OPS[op]
        if not self.numeric_strings:
            return lambda v: (v.__class__ is int or v.__class__ is float) and cmp(v, num)

        def test(v: Any) -> bool:
            if v.__class__ is int or v.__class__ is float:
                return cmp(v, num)
            if v.__class__ is str and _is_number(v.strip()):
                return cmp(float(v), num)
            return False

        return test


# ------------------------------------------------------------------------------ space-delimited
_FIELD_RX = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')
_NAME_RX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unwrap(field: str) -> str:
    if len(field) >= 2 and (
        (field[0] == '"' and field[-1] == '"') or (field[0] == "[" and field[-1] == "]")
    ):
        return field[1:-1]
    return field


class _SpaceParser:
    def __init__(self, p: str, start: int, end: int) -> None:
        if p[end - 1] != "]" or end - start < 2:
            raise _err(p, "expected ']'", end)
        self.p = p
        self.ts = _TokenStream(p, _lex(p, start + 1, end - 1, "space"))

    def build(self) -> tuple[Predicate, tuple[str, ...]]:
        ts = self.ts
        # slots: None for '...', else (name, test-or-None, terms)
        slots: list[tuple[str, Callable[[str], bool] | None, tuple[str, ...]] | None] = []
        ellipsis_tok: _Tok | None = None
        while True:
            tok = ts.next()
            if tok.kind == "word" and tok.text == "...":
                if ellipsis_tok is not None:
                    raise ts.fail("'...' may appear only once", tok)
                ellipsis_tok = tok
                slots.append(None)
            elif tok.kind == "word" and _NAME_RX.fullmatch(tok.text):
                slots.append(self._slot(tok))
            else:
                raise ts.fail(f"expected a field name or '...', found {ts.describe(tok)}", tok)
            sep = ts.next()
            if sep.kind == "end":
                break
            if sep.kind != "comma":
                raise ts.fail(f"expected ',' or ']', found {ts.describe(sep)}", sep)

        split = _FIELD_RX.findall
        if ellipsis_tok is None:
            count = len(slots)
            checks = tuple((i, s[1]) for i, s in enumerate(slots) if s and s[1])
            exact = True
        else:
            cut = slots.index(None)
            head, tail = slots[:cut], slots[cut + 1 :]
            count = len(head) + len(tail)
            checks = tuple(
                [(i, s[1]) for i, s in enumerate(head) if s and s[1]]
                + [(i - len(tail), s[1]) for i, s in enumerate(tail) if s and s[1]]
            )
            exact = False
        terms = _union([s[2] for s in slots if s])

        def match(message: str) -> bool:
            for t in terms:
                if t not in message:
                    return False
            fields = split(message)
            n = len(fields)
            if (n != count) if exact else (n < count):
                return False
            for idx, test in checks:  # noqa: SIM110 - faster than all(<genexpr>)
                if not test(_unwrap(fields[idx])):
                    return False
            return True

        return match, terms

    def _slot(
        self, name: _Tok
    ) -> tuple[str, Callable[[str], bool] | None, tuple[str, ...]]:
        ts = self.ts
        if ts.peek().kind in ("comma", "end"):
            return name.text, None, ()
        ors: list[tuple[list[Callable[[str], bool]], list[tuple[str, ...]]]] = [([], [])]
        while True:
            test, terms = self._field_condition(name)
            ors[-1][0].append(test)
            ors[-1][1].append(terms)
            conj = ts.peek()
            if conj.kind not in ("and", "or"):
                break
            ts.next()
            again = ts.next()
            if again.kind != "word" or again.text != name.text:
                raise ts.fail(
                    f"conditions joined by {conj.text!r} must all test field {name.text!r} "
                    f"(found {ts.describe(again)})",
                    again,
                )
            if conj.kind == "or":
                ors.append(([], []))
        test = _or_any([_and_all(a) for a, _ in ors])  # type: ignore[arg-type]
        terms = _intersection([_union(t) for _, t in ors])
        return name.text, test, terms

    def _field_condition(self, name: _Tok) -> tuple[Callable[[str], bool], tuple[str, ...]]:
        ts = self.ts
        op = ts.next()
        if op.kind != "op":
            raise ts.fail(
                f"expected an operator, ',' or ']' after {name.text!r}, found {ts.describe(op)}",
                op,
            )
        val = ts.next()
        negate = op.text == "!="
        eq: Callable[[str], bool]
        terms: tuple[str, ...] = ()
        if val.kind == "word" and _is_number(val.text):
            num = _parse_number(val.text)
            raw = val.text
            if op.text not in ("=", "!="):
                cmp = _NUM_OPS[op.text]
                return (lambda s: _is_number(s) is not None and cmp(float(s), num)), ()

            def eq(s: str) -> bool:
                return s == raw or (_is_number(s) is not None and float(s) == num)

        elif op.text not in ("=", "!="):
            raise ts.fail(
                f"operator {op.text!r} needs a numeric value, found {ts.describe(val)}", val
            )
        elif val.kind == "regex":
            search = val.value.search

            def eq(s: str) -> bool:
                return search(s) is not None

        elif val.kind in ("string", "word"):
            parts = val.value if val.kind == "string" else val.text.split("*")
            eq = _wildcard_test(parts)
            if len(parts) == 1 and parts[0]:
                terms = (parts[0],)
        else:
            raise ts.fail(f"expected a value after {op.text!r}, found {ts.describe(val)}", val)
        if negate:
            return (lambda s: not eq(s)), ()
        return eq, terms
