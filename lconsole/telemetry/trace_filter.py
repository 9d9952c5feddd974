"""X-Ray filter expressions (a subset), compiled once into a predicate over a trace summary.

Supported, as in the X-Ray console and GetTraceSummaries ``FilterExpression``:

* booleans ``ok error fault throttle partial``, bare or ``= true|false`` / ``!= true|false``;
* numbers ``duration responsetime http.status`` with ``= != < <= > >=`` (times in seconds);
* strings ``http.url http.method http.useragent http.clientip user`` with ``= != CONTAINS
  BEGINSWITH ENDSWITH`` and a double-quoted value;
* ``annotation.key`` bare (present) or compared with a string, number or boolean;
* ``service("name")``, ``service()``, ``service(id(name: "n", type: "T"))``, each optionally
  followed by ``{ filter }`` evaluated on that service's own segments;
* ``AND``, ``OR``, ``NOT`` / ``!``, parentheses; juxtaposition means AND (``ok !partial``).

Trace-level ``ok``/``error``/``fault`` read the root segment, ``throttle`` any segment, as
GetTraceSummaries' ``HasError``/``HasFault``/``HasThrottle`` do.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lconsole.model.trace import ServiceSummary, TraceSummary

__all__ = ["TraceFilter", "TraceFilterError", "compile_filter"]

Scope = TraceSummary | ServiceSummary
_Pred = Callable[[Any], bool]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<op>!=|<=|>=|=|<|>)
    | (?P<punct>[!(){},:])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)

_NUMERIC_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_STRING_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "contains": lambda a, b: b in a,
    "beginswith": str.startswith,
    "endswith": str.endswith,
}

_BOOLEANS: dict[str, Callable[[Any], bool]] = {
    "ok": lambda s: not (s.has_fault or s.has_error or s.has_throttle),
    "error": lambda s: s.has_error,
    "fault": lambda s: s.has_fault,
    "throttle": lambda s: s.has_throttle,
    "partial": lambda s: s.is_partial,
}
_NUMBERS: dict[str, Callable[[Any], float | None]] = {
    "duration": lambda s: s.duration,
    "responsetime": lambda s: s.response_time,
    "http.status": lambda s: s.http.status,
}
_STRINGS: dict[str, Callable[[Any], str | None]] = {
    "http.url": lambda s: s.http.url,
    "http.method": lambda s: s.http.method,
    "http.useragent": lambda s: s.http.user_agent,
    "http.clientip": lambda s: s.http.client_ip,
}


class TraceFilterError(ValueError):
    """A malformed filter expression; ``position`` is the 0-based offset of the problem."""

    def __init__(self, detail: str, position: int, expression: str = "") -> None:
        self.detail = detail
        self.position = position
        self.expression = expression
        super().__init__(f"Invalid filter expression at position {position}: {detail}")

    def __reduce__(self) -> Any:
        return (type(self), (self.detail, self.position, self.expression))


@dataclass(frozen=True)
class TraceFilter:
    expression: str
    _predicate: _Pred

    def __call__(self, summary: TraceSummary) -> bool:
        return self._predicate(summary)

    matches = __call__


def compile_filter(expression: str) -> TraceFilter:
    """Parse ``expression``; raises :class:`TraceFilterError` naming where it went wrong."""
    parser = _Parser(expression)
    predicate = parser.parse()
    return TraceFilter(expression, predicate)


@dataclass(frozen=True)
class _Tok:
    kind: str  # string, number, op, punct, word, end
    text: str
    pos: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            raise TraceFilterError(f"unexpected character {text[start]!r}", start, text)
        tokens.append(_Tok(m.lastgroup, m.group(m.lastgroup), m.start(m.lastgroup)))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # ------------------------------------------------------------------------------ plumbing
    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def advance(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, detail: str, tok: _Tok | None = None) -> TraceFilterError:
        return TraceFilterError(detail, (tok or self.tok).pos, self.text)

    def expect(self, text: str) -> _Tok:
        if self.tok.text != text:
            found = self.tok.text or "end of expression"
            raise self.fail(f"expected {text!r}, found {found!r}")
        return self.advance()

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.lower in words

    # ------------------------------------------------------------------------------ grammar
    def parse(self) -> _Pred:
        if self.tok.kind == "end":
            raise self.fail("empty filter expression")
        pred = self.expr(service_scope=False)
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.tok.text!r}")
        return pred

    def expr(self, *, service_scope: bool) -> _Pred:
        parts = [self.conjunction(service_scope)]
        while self.at_word("or"):
            self.advance()
            parts.append(self.conjunction(service_scope))
        return parts[0] if len(parts) == 1 else (lambda s: any(p(s) for p in parts))

    def conjunction(self, service_scope: bool) -> _Pred:
        parts = [self.unary(service_scope)]
        while True:
            if self.at_word("and"):
                self.advance()
            elif not self.starts_term():
                break
            parts.append(self.unary(service_scope))
        return parts[0] if len(parts) == 1 else (lambda s: all(p(s) for p in parts))

    def starts_term(self) -> bool:
        tok = self.tok
        if tok.kind == "punct":
            return tok.text in ("!", "(")
        return tok.kind == "word" and tok.lower not in ("and", "or")

    def unary(self, service_scope: bool) -> _Pred:
        if self.tok.text == "!" or self.at_word("not"):
            self.advance()
            inner = self.unary(service_scope)
            return lambda s: not inner(s)
        return self.primary(service_scope)

    def primary(self, service_scope: bool) -> _Pred:
        tok = self.tok
        if tok.text == "(":
            self.advance()
            inner = self.expr(service_scope=service_scope)
            self.expect(")")
            return inner
        if tok.kind != "word":
            found = tok.text or "end of expression"
            raise self.fail(f"expected a keyword, found {found!r}")
        word = tok.lower
        if word == "service":
            if service_scope:
                raise self.fail("service() cannot be nested inside service()")
            return self.service()
        if word in _BOOLEANS:
            return self.boolean(_BOOLEANS[word])
        if word in _NUMBERS:
            return self.number(_NUMBERS[word])
        if word in _STRINGS:
            return self.string(_STRINGS[word])
        if word == "user":
            if service_scope:
                raise self.fail("user cannot be used inside service()")
            return self.string(lambda s: s.users, many=True)
        if word.startswith("annotation."):
            if service_scope:
                raise self.fail("annotation cannot be used inside service()")
            return self.annotation(tok.text[len("annotation.") :])
        raise self.fail(f"unknown keyword {tok.text!r}")

    # ------------------------------------------------------------------------------ keywords
    def boolean(self, read: Callable[[Any], bool]) -> _Pred:
        self.advance()
        if self.tok.text not in ("=", "!="):
            return read
        negate = self.advance().text == "!="
        value = self.advance()
        if value.lower not in ("true", "false"):
            raise self.fail("expected true or false", value)
        want = (value.lower == "true") != negate
        return lambda s: read(s) == want

    def comparison(self, ops: dict[str, Any]) -> tuple[Callable[[Any, Any], bool], _Tok]:
        tok = self.tok
        key = tok.lower if tok.kind == "word" else tok.text
        if tok.kind not in ("op", "word") or key not in ops:
            raise self.fail(f"expected one of {', '.join(o.upper() for o in ops)}")
        self.advance()
        return ops[key], self.advance()

    def number(self, read: Callable[[Any], float | None]) -> _Pred:
        self.advance()
        op, value = self.comparison(_NUMERIC_OPS)
        if value.kind != "number":
            raise self.fail("expected a number", value)
        target = float(value.text)

        def test(s: Any) -> bool:
            got = read(s)
            return got is not None and op(got, target)

        return test

    def string(self, read: Callable[[Any], Any], *, many: bool = False) -> _Pred:
        self.advance()
        op, value = self.comparison(_STRING_OPS)
        if value.kind != "string":
            raise self.fail("expected a double-quoted string", value)
        target = _unquote(value.text)

        def test(s: Any) -> bool:
            got = read(s)
            values = got if many else (() if got is None else (got,))
            return any(op(v, target) for v in values)

        return test

    def annotation(self, key: str) -> _Pred:
        name_tok = self.advance()
        if not key:
            raise self.fail("annotation needs a key, as in annotation.tenant", name_tok)
        if self.tok.kind != "op" and not self.at_word("contains", "beginswith", "endswith"):
            return lambda s: key in s.annotations
        op_tok = self.tok
        value = self.tokens[self.i + 1]
        accepts: Callable[[Any], bool]
        if value.kind == "string":
            op, value = self.comparison(_STRING_OPS)
            target: Any = _unquote(value.text)
            accepts = _is_string
        elif value.kind == "number":
            op, value = self.comparison(_NUMERIC_OPS)
            target = float(value.text)
            accepts = _is_number
        elif value.lower in ("true", "false") and op_tok.text in ("=", "!="):
            op, value = self.comparison(_NUMERIC_OPS)
            target = value.lower == "true"
            accepts = _is_bool
        else:
            raise self.fail("expected a string, number or boolean value", value)

        def test(s: Any) -> bool:
            entries = s.annotations.get(key, ())
            return any(accepts(e.value) and op(e.value, target) for e in entries)

        return test

    def service(self) -> _Pred:
        self.advance()
        self.expect("(")
        name: str | None = None
        kind: str | None = None
        if self.tok.kind == "string":
            name = _unquote(self.advance().text)
        elif self.at_word("id"):
            name, kind = self.id_function()
        self.expect(")")
        inner: _Pred | None = None
        if self.tok.text == "{":
            self.advance()
            inner = self.expr(service_scope=True)
            self.expect("}")

        def test(summary: TraceSummary) -> bool:
            return any(
                (name is None or svc.service.name == name)
                and (kind is None or svc.service.type == kind)
                and (inner is None or inner(svc))
                for svc in summary.services
            )

        return test

    def id_function(self) -> tuple[str | None, str | None]:
        self.advance()
        self.expect("(")
        fields: dict[str, str] = {}
        while True:
            key = self.tok
            if not self.at_word("name", "type"):
                raise self.fail("expected name: or type: inside id()")
            self.advance()
            self.expect(":")
            value = self.advance()
            if value.kind != "string":
                raise self.fail("expected a double-quoted string", value)
            fields[key.lower] = _unquote(value.text)
            if self.tok.text != ",":
                break
            self.advance()
        self.expect(")")
        return fields.get("name"), fields.get("type")


def _is_string(value: object) -> bool:
    return isinstance(value, str)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])
