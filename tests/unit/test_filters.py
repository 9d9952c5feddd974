"""CloudWatch Logs filter patterns (telemetry.md section 2)."""

from __future__ import annotations

import pickle

import pytest

from lconsole.telemetry.filters import FilterPatternError, Matcher, compile_pattern

L1 = "ERROR 42 payment declined"
L2 = "WARN disk 91%"
L3 = "ERROR db timeout"
LINES = (L1, L2, L3)


def _match(pattern: str, message: str, **kw: object) -> bool:
    return compile_pattern(pattern, **kw).matches(message)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- dialects
@pytest.mark.parametrize(
    ("pattern", "dialect"),
    [
        ("", "all"),
        ("   ", "all"),
        ("ERROR", "terms"),
        ('"a b"', "terms"),
        ("{ $.a = 1 }", "json"),
        ("  { $.a = 1 }  ", "json"),
        ("[a, b]", "space"),
        ("%ERROR%", "regex"),
    ],
)
def test_dialect_detection(pattern: str, dialect: str) -> None:
    m = compile_pattern(pattern)
    assert isinstance(m, Matcher)
    assert m.dialect == dialect


@pytest.mark.parametrize("pattern", ["", "   ", None])
def test_empty_pattern_matches_everything(pattern: str | None) -> None:
    m = compile_pattern(pattern)
    assert m.matches_everything
    assert m.fts_terms == ()
    for line in (*LINES, "", "{}", "anything at all"):
        assert m.matches(line)


# ------------------------------------------------------------------------------------ term lists
# The examples table of telemetry.md 2.2: (pattern, matches L1, L2, L3)
SPEC_TERM_TABLE = [
    ("ERROR", (True, False, True)),
    ("ERROR timeout", (False, False, True)),
    ("?ERROR ?WARN", (True, True, True)),
    ("ERROR -timeout", (True, False, False)),
    ('"payment declined"', (True, False, False)),
    ("error", (False, False, False)),
    ("ERR", (False, False, False)),
]


@pytest.mark.parametrize(("pattern", "expected"), SPEC_TERM_TABLE)
def test_spec_term_table(pattern: str, expected: tuple[bool, bool, bool]) -> None:
    m = compile_pattern(pattern)
    assert tuple(m.matches(line) for line in LINES) == expected


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        # token rule: whole alphanumeric runs
        ("ERROR", "ERROR: boom", True),
        ("ERROR", "[ERROR] boom", True),
        ("ERROR", "xERROR", False),
        ("ERROR", "ERRORS", False),
        ("ERROR", "ERROR_CODE=1", True),  # '_' is not a letter or digit
        ("42", "code 42.", True),
        ("4", "code 42", False),
        ("UNAUTHORIZED", "UNAUTHORIZED user", True),
        ("AUTHORIZED", "UNAUTHORIZED user", False),
        ("user_id", "user_id=7", True),
        # later occurrence on a token boundary still counts
        ("ERROR", "ERRORS then ERROR", True),
        # case sensitive
        ("Error", "ERROR", False),
        # AND of several terms, any order
        ("timeout ERROR", L3, True),
        ("ERROR ERROR", L3, True),
        # quoted phrases
        ('"Task timed out"', "2024 Task timed out after 3.00 seconds", True),
        ('"Task timed out"', "Task  timed out", False),
        ('"user@example.com"', "login user@example.com ok", True),
        ('"user@example.com"', "login xuser@example.com ok", False),
        ('"[ERROR]"', "x[ERROR]y", True),  # edges are not letters/digits: plain substring
        ('"say \\"hi\\""', 'they say "hi" loudly', True),
        ('"back\\\\slash"', "a back\\slash b", True),
        ('"C:\\temp"', "dir C:\\temp here", True),  # unknown escapes are kept verbatim
        ('"a*b"', "x a*b y", True),  # no wildcards in term lists
        ('"a*b"', "x aXb y", False),
        ('" "', "anything", True),  # a quoted blank matches everything (old docs)
        ('" "', "", True),
        # exclusions
        ("-timeout", "all fine", True),
        ("-timeout", L3, False),
        ('-"db timeout"', L3, False),
        ('-"db timeout"', "db  timeout", True),
        ("ERROR -db -timeout", "ERROR db", False),
        ("ERROR -db -timeout", "ERROR disk", True),
        ("-ERR", "ERROR", True),  # token rule applies to exclusions too
        # alternatives
        ("?ERROR", L1, True),
        ("?ERROR", L2, False),
        ("?ERROR ?WARN ?INFO", "INFO x", True),
        ('?"ERROR" "db" ?"WARN" "disk"', L3, True),
        ('?"ERROR" "db" ?"WARN" "disk"', L1, False),
        ('?"ERROR" "db" ?"WARN" "disk"', L2, True),
        ('?"ERROR" "db" ?"WARN" "disk"', "WARN db", False),
        ("?ERROR -timeout ?WARN", L3, False),  # exclusion joins the ERROR alternative
        ("?ERROR -timeout ?WARN", L1, True),
        ("?ERROR -timeout ?WARN", "WARN timeout", True),
        ("ERROR ?WARN", L1, True),  # terms before the first '?' form their own alternative
        ("ERROR ?WARN", L2, True),
        ("ERROR ?WARN", "INFO", False),
        ('?"db timeout" ?"payment declined"', L1, True),
        # unicode tokens
        ("naïve", "a naïve test", True),
        ("naïve", "a naïveté test", False),
    ],
)
def test_terms(pattern: str, message: str, expected: bool) -> None:
    assert _match(pattern, message) is expected


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("ERR", "ERROR", True),
        ("AUTHORIZED", "UNAUTHORIZED", True),
        ("-ERR", "ERROR", False),
        ('"user@example.com"', "xuser@example.com", True),
        ("error", "ERROR", False),
    ],
)
def test_substring_term_matching_switch(pattern: str, message: str, expected: bool) -> None:
    m = compile_pattern(pattern, term_matching="substring")
    assert m.term_matching == "substring"
    assert m.matches(message) is expected


def test_bad_term_matching_value() -> None:
    with pytest.raises(ValueError, match="term_matching"):
        compile_pattern("x", term_matching="fuzzy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "fts"),
    [
        ("ERROR", ("ERROR",)),
        ("ERROR timeout", ("ERROR", "timeout")),
        ("ERROR ERROR", ("ERROR",)),
        ('"payment declined" ERROR', ("payment declined", "ERROR")),
        ("ERROR -timeout", ("ERROR",)),
        ("-timeout", ()),
        ("?ERROR ?WARN", ()),
        ('?"ERROR" "db" ?"WARN" "db"', ("db",)),  # common to every alternative
        ('" "', ()),
        ('"@@"', ()),  # nothing an FTS index could hold
        ("%ERROR%", ()),
        ("", ()),
    ],
)
def test_fts_terms_for_term_lists(pattern: str, fts: tuple[str, ...]) -> None:
    assert compile_pattern(pattern).fts_terms == fts


def test_quoted_blank_exclusion_matches_nothing() -> None:
    m = compile_pattern('-" "')
    assert not m.matches("x")
    assert not m.matches("")


# ----------------------------------------------------------------------------------------- JSON
EVENT = (
    '{"level":"ERROR","latency":812,"user":{"id":7},"tags":["beta","eu"],'
    '"retry":null,"ok":false}'
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [  # the example table of telemetry.md 2.3
        ('{ $.level = "ERROR" }', True),
        ('{ $.level = "ERR*" }', True),
        ("{ $.latency > 500 && $.user.id = 7 }", True),
        ('{ $.tags[1] = "eu" }', True),
        ("{ $.retry IS NULL }", True),
        ("{ $.ok IS FALSE }", True),
        ("{ $.missing NOT EXISTS }", True),
        ("{ $.user = 7 }", False),
        ('{ $.level = "error" }', False),
        ('{ ($.latency < 100 || $.level = "ERROR") && $.tags[0] = "beta" }', True),
    ],
)
def test_spec_json_table(pattern: str, expected: bool) -> None:
    assert _match(pattern, EVENT) is expected


DOC = (
    '{"s":"Update Item","n":5,"f":2.5,"neg":-3,"big":1e3,"t":true,"f0":false,"z":null,'
    '"code":"400","ip":"123.123.4.5","nested":{"a":{"b":[1,[10,20],{"id":"x"}]}},'
    '"empty":"","star":"a*b","q":"say \\"hi\\"","dash-key":"d","under_key":"u",'
    '"objs":[{"id":1},{"id":2}],"grid":[[0,1],[2,3]],"list":[1,2],"obj":{},"uni":"José"}'
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # strings
        ('{ $.s = "Update Item" }', True),
        ('{$.s="Update Item"}', True),
        ('{ $.s = "Update*" }', True),
        ('{ $.s = "*Item" }', True),
        ('{ $.s = "U*e*m" }', True),
        ('{ $.s = "update*" }', False),
        ('{ $.s = "Update" }', False),
        ('{ $.s != "Update" }', True),
        ('{ $.s != "Update Item" }', False),
        ('{ $.s != "Up*" }', False),
        ('{ $.code = "400" }', True),
        ("{ $.code = 400 }", False),  # numbers compare against JSON numbers only (default)
        ("{ $.code > 399 }", False),
        ('{ $.n = "5" }', False),  # quoted values compare against JSON strings only
        ('{ $.empty = "" }', True),
        ('{ $.star = "a\\*b" }', True),  # escaped star is literal
        ('{ $.star = "a\\*c" }', False),
        ('{ $.q = "say \\"hi\\"" }', True),
        ('{ $.uni = "José" }', True),
        ("{ $.dash-key = d }", True),
        ("{ $.under_key = u }", True),
        # unquoted values
        ("{ $.ip = 123.123.* }", True),
        ("{ $.ip = 123.124.* }", False),
        ("{ $.s = Update* }", True),
        # field exists
        ("{ $.s = * }", True),
        ('{ $.s = "*" }', True),
        ("{ $.n = * }", True),
        ("{ $.z = * }", True),
        ("{ $.nope = * }", False),
        ("{ $.obj = * }", False),  # lands on an object: never matches
        ("{ $.list = * }", False),
        ("{ $.s != * }", False),
        # numbers
        ("{ $.n = 5 }", True),
        ("{ $.n = 5.0 }", True),
        ("{ $.n = +5 }", True),
        ("{ $.n != 5 }", False),
        ("{ $.n != 6 }", True),
        ("{ $.n > 4 }", True),
        ("{ $.n > 5 }", False),
        ("{ $.n >= 5 }", True),
        ("{ $.n < 5 }", False),
        ("{ $.n <= 5 }", True),
        ("{ $.f < 3 }", True),
        ("{ $.f = 2.5 }", True),
        ("{ $.neg < -2 }", True),
        ("{ $.neg = -3 }", True),
        ("{ $.big = 1000 }", True),
        ("{ $.big = 1e3 }", True),
        ("{ $.f > 2.5e-1 }", True),
        ("{ $.n < 1E1 }", True),
        ("{ $.s > 1 }", False),
        ("{ $.t = 1 }", False),  # booleans are not numbers
        ("{ $.f0 = 0 }", False),
        ("{ $.nope > 0 }", False),
        ("{ $.nope != 1 }", False),
        ("{ $.nope != \"x\" }", False),
        # IS / NOT EXISTS
        ("{ $.z IS NULL }", True),
        ("{ $.nope IS NULL }", False),  # absent is not null
        ("{ $.s IS NULL }", False),
        ("{ $.t IS TRUE }", True),
        ("{ $.t IS FALSE }", False),
        ("{ $.f0 IS FALSE }", True),
        ("{ $.n IS TRUE }", False),
        ("{ $.z is null }", True),
        ("{ $.nope NOT EXISTS }", True),
        ("{ $.z NOT EXISTS }", False),  # explicit null exists
        ("{ $.s NOT EXISTS }", False),
        ("{ $.obj NOT EXISTS }", False),
        ("{ $.s.x NOT EXISTS }", True),
        ("{ $.list[5] NOT EXISTS }", True),
        # arrays and nesting
        ("{ $.list[0] = 1 }", True),
        ("{ $.list[1] = 1 }", False),
        ("{ $.list[2] = 1 }", False),
        ('{ $.objs[1].id = 2 }', True),
        ('{ $.objs[0].id = 2 }', False),
        ("{ $.grid[0][1] = 1 }", True),
        ("{ $.grid[1][0] = 2 }", True),
        ("{ $.grid[1][0] > 2 }", False),
        ("{ $.nested.a.b[1][0] = 10 }", True),
        ('{ $.nested.a.b[2].id = "x" }', True),
        ("{ $.nested.a = 1 }", False),
        ("{ $.s[0] = U }", False),  # strings are not indexable
        ("{ $.objs.id = 1 }", False),  # lists have no keys
        ("{ $.list = 1 }", False),
        # boolean structure and precedence
        ('{ $.n = 5 && $.s = "Update Item" }', True),
        ("{ $.n = 5 && $.n = 6 }", False),
        ("{ $.n = 6 || $.n = 5 }", True),
        ("{ $.n = 6 || $.n = 7 }", False),
        ("{ $.n = 6 && $.n = 7 || $.n = 5 }", True),  # && binds tighter
        ("{ $.n = 5 || $.n = 6 && $.n = 7 }", True),
        ("{ ($.n = 5 || $.n = 6) && $.n = 7 }", False),
        ("{ (($.n = 5)) }", True),
        ("{ ($.t IS TRUE && ($.z IS NULL || $.n > 100)) && $.nope NOT EXISTS }", True),
        # regex values
        ("{ $.s = %Up.ate% }", True),
        ("{ $.s = %^Item% }", False),
        ("{ $.s != %^Item% }", True),
        ("{ $.s = %timeout|Item% }", True),
        ("{ $.n = %5% }", False),  # regexes test strings only
    ],
)
def test_json(pattern: str, expected: bool) -> None:
    assert _match(pattern, DOC) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{ $.code = 400 }", True),
        ("{ $.code > 399 }", True),
        ("{ $.code < 399 }", False),
        ("{ $.n = 5 }", True),
        ('{ $.code = "400" }', True),
        ("{ $.s > 0 }", False),
    ],
)
def test_json_numeric_strings_switch(pattern: str, expected: bool) -> None:
    assert _match(pattern, DOC, numeric_strings=True) is expected


@pytest.mark.parametrize(
    "message",
    [
        "ERROR level",
        "",
        "[1, 2]",
        '"level"',
        "null",
        '{"level": "ERROR"',  # truncated
        '2024-01-01T00:00:00Z\tabc\tINFO\t{"level":"ERROR"}',  # prefixed: not a JSON object
        '{"level":"ERROR"} trailing',
        "{" * 100_000 + "}" * 100_000,  # absurd nesting must not blow up
    ],
)
def test_json_pattern_never_matches_non_objects(message: str) -> None:
    assert not _match('{ $.level = "ERROR" }', message)
    assert not _match("{ $.x NOT EXISTS }", message)


@pytest.mark.parametrize(
    "message",
    ['  {"level":"ERROR"}', '{"level":"ERROR"}\n', '\n\t{ "level" : "ERROR" }  '],
)
def test_json_pattern_tolerates_surrounding_whitespace(message: str) -> None:
    assert _match('{ $.level = "ERROR" }', message)


def test_json_duplicate_key_last_wins() -> None:
    assert _match('{ $.a = "2" }', '{"a":"1","a":"2"}')


@pytest.mark.parametrize(
    ("pattern", "fts"),
    [
        ('{ $.level = "ERROR" }', ("ERROR",)),
        ("{ $.level = ERROR }", ("ERROR",)),
        ('{ $.level = "ERROR" && $.svc = "db" }', ("ERROR", "db")),
        ('{ $.level = "ERROR" || $.level = "WARN" }', ()),
        ('{ ($.a = "x" && $.b = "y") || ($.a = "x" && $.c = "z") }', ("x",)),
        ('{ $.level != "ERROR" }', ()),
        ('{ $.level = "ERR*" }', ()),
        ("{ $.n = 5 }", ()),
        ("{ $.n > 5 }", ()),
        ('{ $.u = "José" }', ()),  # serializers may write \u00e9
        ('{ $.u = "a/b" }', ()),  # some serializers write \/
        ('{ $.u = "a b" }', ("a b",)),
        ("{ $.x IS NULL }", ()),
    ],
)
def test_fts_terms_for_json(pattern: str, fts: tuple[str, ...]) -> None:
    assert compile_pattern(pattern).fts_terms == fts


# ------------------------------------------------------------------------------ space-delimited
APACHE = '10.0.0.7 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.html HTTP/1.1" 404 2326'


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # the examples of telemetry.md 2.4
        ("[ip, ident, user, ts, request, status = 4*, bytes > 1000]", True),
        ("[..., status = 404, bytes]", True),
        ("[ip, ident, user, ts, request, status != 404, bytes]", False),
        # field counting
        ("[ip, ident, user, ts, request, status, bytes]", True),
        ("[ip, ident, user, ts, request, status]", False),  # too few names without '...'
        ("[ip, ident, user, ts, request, status, bytes, extra]", False),
        ("[...]", True),
        ("[ip, ...]", True),
        ("[ip = 10.0.0.7, ...]", True),
        ("[ip = 10.0.0.*, ...]", True),
        ("[ip = 10.0.1.*, ...]", False),
        ("[ip, ..., bytes = 2326]", True),
        ("[ip, ident, user, ts, request, ..., status, bytes]", True),  # '...' may be empty
        ("[a, b, c, d, e, f, g, ..., h]", False),  # more names than fields
        # bracketed and quoted fields are one field, compared without their delimiters
        ("[ip, ident, user, ts = 10/Oct/2000*, ...]", True),
        ('[ip, ident, user, ts = "10/Oct/2000:13:55:36 -0700", ...]', True),
        ('[ip, ident, user, ts, request = "GET /a.html HTTP/1.1", ...]', True),
        ("[ip, ident, user, ts, request = *.html*, ...]", True),
        ("[ip, ident, user, ts, request = *.php*, ...]", False),
        ("[ip, ident = -, user = bob, ...]", True),
        ("[ip, ident, user = Bob, ...]", False),  # case sensitive
        # same-field && / ||
        ("[..., status = 404 || status = 410, bytes]", True),
        ("[..., status = 410 || status = 404, bytes]", True),
        ("[..., status = 410 || status = 500, bytes]", False),
        ("[..., status >= 400 && status < 500, bytes]", True),
        ("[..., status >= 400 && status < 404, bytes]", False),
        ("[..., status = 500 || status >= 400 && status < 410, bytes]", True),
        ("[ip, ident, user != alice && user != carol, ...]", True),
        ("[ip, ident, user != alice && user != bob, ...]", False),
        # numbers
        ("[..., bytes = 2326.0]", True),
        ("[..., bytes > 2326]", False),
        ("[..., bytes >= 2326]", True),
        ("[..., bytes < 1e4]", True),
        ("[ip, ident > 1, ...]", False),  # '-' is not a number
        ("[ip, ident != 1, ...]", True),
        ("[ip, ident, user > 0, ...]", False),
        # wildcards and regex
        ("[..., status = *, bytes]", True),
        ('[..., status = "4*", bytes]', True),
        ("[..., status = %^4\\d\\d$%, bytes]", True),
        ("[..., status = %^5%, bytes]", False),
        ("[..., status != %^5%, bytes]", True),
    ],
)
def test_space_delimited(pattern: str, expected: bool) -> None:
    assert _match(pattern, APACHE) is expected


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("[w1=ERROR, w2]", "ERROR boom", True),
        ("[w1=ERROR, w2]", "ERROR boom bang", False),
        ("[w1=ERROR, ...]", "ERROR boom bang", True),
        ("[w1=ERROR,w2]", "ERROR boom", True),
        ("[w1,w2,w3]", "a b c", True),
        ("[ w1 , w2 ]", "a b", True),
        ("[w1!=ERROR && w1!=WARN, w2]", "INFO x", True),
        ("[w1!=ERROR && w1!=WARN, w2]", "WARN x", False),
        ("[w1, w2]", "a\tb\n", True),  # tabs and a trailing newline are separators
        ("[w1, w2]", "a   b", True),  # runs of blanks are one separator
        ("[w1, w2, w3]", "  a b c  ", True),
        ('[w1 = a, w2 = "b c"]', 'a "b c"', True),
        ('[w1, w2 = ""]', 'a ""', True),
        ("[w1, w2 = x]", 'a "x', False),  # unterminated quote in the line stays literal
        ("[w1, w2 = x]", "a [x", False),
        ("[w1]", "", False),
        ("[...]", "", True),
        ("[w1 = 0404, w2]", "404 x", True),  # numeric equality
        ("[w1 = 404, w2]", "4e2 x", False),
        ("[w1 = abc, w2]", "abc x", True),
    ],
)
def test_space_delimited_lines(pattern: str, message: str, expected: bool) -> None:
    assert _match(pattern, message) is expected


@pytest.mark.parametrize(
    ("pattern", "fts"),
    [
        ("[w1=ERROR, w2]", ("ERROR",)),
        ("[w1=ERROR, w2=disk]", ("ERROR", "disk")),
        ("[w1=ERROR || w1=WARN, w2]", ()),
        ("[w1=ERROR && w1!=WARN, w2]", ("ERROR",)),
        ("[w1!=ERROR, w2]", ()),
        ("[w1=ERR*, w2]", ()),
        ("[w1=404, w2]", ()),  # numeric equality also accepts 404.0
        ("[w1=-, w2]", ()),  # no letters or digits
        ("[a, b]", ()),
    ],
)
def test_fts_terms_for_space_delimited(pattern: str, fts: tuple[str, ...]) -> None:
    assert compile_pattern(pattern).fts_terms == fts


# ---------------------------------------------------------------------------------------- regex
@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("%ERROR|WARN%", L1, True),
        ("%ERROR|WARN%", L2, True),
        ("%ERROR|WARN%", "INFO", False),
        ("%^WARN%", L2, True),
        ("%^WARN%", "x WARN", False),
        ("%AUTHORIZED%", "UNAUTHORIZED", True),  # unanchored substring search
        ("%error%", "ERROR", False),  # case sensitive
        ("%[Ee]rror|[Ff]ail%", "an error", True),
        ("%[Ee]rror|[Ff]ail%", "Failed", True),
        ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.0.7", True),
        ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.7", False),
        ("%\\d%", "٣", False),  # \d is ASCII only
        ("%Task\\stimed%", "Task timed out", True),
        ("%\\x28x\\x29%", "f(x)", True),
        ("%a.c%", "abc", True),
        ("%user@example.com$%", "to user@example.com", True),
        ("%^$%", "", True),
        ("  %ERROR%  ", L1, True),
    ],
)
def test_regex(pattern: str, message: str, expected: bool) -> None:
    m = compile_pattern(pattern)
    assert m.dialect == "regex"
    assert m.matches(message) is expected
    assert m.fts_terms == ()


# --------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("pattern", "position", "fragment"),
    [
        # term lists
        ('"unterminated', 0, "unterminated quoted string"),
        ('ERROR "oops', 6, "unterminated quoted string"),
        ('ERROR "a\\"', 6, "unterminated quoted string"),
        ('"a"b', 3, "whitespace after closing quote"),
        ("?", 0, "term '?'"),
        ("ERROR -", 6, "term '-'"),
        ("ERROR ?-x", 7, "invalid character '-'"),
        ("user@example.com", 4, "invalid character '@'"),
        ("ERROR:", 5, "invalid character ':'"),
        ("ERROR *", 6, "invalid character '*'"),
        ('""', 0, "empty quoted term"),
        ("ERROR %x", 6, "invalid character '%'"),
        # standalone regex
        ("%ERROR", 6, "enclosed in '%...%'"),
        ("%", 1, "enclosed in '%...%'"),
        ("%%", 0, "empty regex"),
        ("%a b%", 2, "' ' is not allowed"),
        ("%(a)%", 1, "'(' is not allowed"),
        ("%a%b%", 2, "unexpected '%'"),
        ("%é%", 1, "is not allowed"),
        ("%a[%", 2, "invalid regex"),
        ("%a{2,1}%", 3, "invalid regex"),
        ("%a\\%", 0, "unterminated regex"),
        # JSON
        ("{ $.a = 1", 9, "must end with '}'"),
        ("{", 1, "must end with '}'"),
        ("{}", 1, "expected a selector"),
        ("{ }", 2, "expected a selector"),
        ("{ $.a = 1 } }", 10, "unexpected '}'"),
        ("{ ($.a = 1 }", 11, "expected ')'"),
        ("{ $.a = 1) }", 9, "unbalanced ')'"),
        ("{ (($.a = 1) }", 13, "expected ')'"),
        ("{ $.a == 1 }", 6, "invalid operator '=='"),
        ("{ $.a => 1 }", 6, "invalid operator '=>'"),
        ("{ $.a <> 1 }", 6, "invalid operator '<>'"),
        ("{ $.a ! 1 }", 6, "invalid operator '!'"),
        ("{ $.a = 1 & $.b = 2 }", 10, "invalid operator '&'"),
        ("{ $.a = 1 | $.b = 2 }", 10, "invalid operator '|'"),
        ("{ $.a = 1 $.b = 2 }", 10, "expected '&&', '||' or '}'"),
        ("{ $.a = }", 8, "expected a value"),
        ("{ $.a }", 6, "expected an operator"),
        ("{ $.a > x }", 8, "needs a numeric value"),
        ('{ $.a <= "1" }', 9, "needs a numeric value"),
        ("{ $.a > %x% }", 8, "needs a numeric value"),
        ('{ $.a = "x }', 8, "unterminated quoted string"),
        ("{ $.a = a-b }", 8, "must be in double quotes"),
        ("{ $.a = a@b }", 8, "must be in double quotes"),
        ("{ $.a IS NOT NULL }", 9, "'IS NOT' is not supported"),
        ("{ $.a IS }", 9, "expected NULL, TRUE or FALSE"),
        ("{ $.a IS MAYBE }", 9, "expected NULL, TRUE or FALSE"),
        ("{ $.a EXISTS }", 6, "'EXISTS' is not supported"),
        ("{ $.a NOT NULL }", 10, "expected EXISTS after NOT"),
        ("{ a = 1 }", 2, "expected a selector"),
        ("{ $a = 1 }", 3, "expected '.' after '$'"),
        ("{ $ = 1 }", 3, "expected '.' after '$'"),
        ("{ $. = 1 }", 4, "expected a property name"),
        ("{ $.a. = 1 }", 6, "expected a property name"),
        ("{ $.* = 1 }", 4, "wildcard selectors"),
        ("{ $.a[ = 1 }", 6, "expected an array index"),
        ("{ $.a[x] = 1 }", 6, "expected an array index"),
        ("{ $.a[-1] = 1 }", 6, "expected an array index"),
        ("{ $.a[1 = 1 }", 7, "expected ']'"),
        ("{ $.a@b = 1 }", 5, "unexpected '@' in selector"),
        ("{ $.a = 1 && }", 13, "expected a selector"),
        ("{ && $.a = 1 }", 2, "expected a selector"),
        ("{ $.a = { }", 8, "unexpected '{'"),
        ("{ $.a = %x }", 8, "unterminated regex"),
        ("{ $.a = 1, $.b = 2 }", 9, "unexpected ','"),
        ("{ $.a = %a b% }", 10, "' ' is not allowed"),
        ("{ $.a = %x% || $.b = %y% || $.c = %z% }", 34, "at most 2 regular expressions"),
        # space-delimited
        ("[a, b", 5, "expected ']'"),
        ("[", 1, "expected ']'"),
        ("[]", 1, "expected a field name"),
        ("[a, b] x", 8, "expected ']'"),
        ("[a,, b]", 3, "expected a field name"),
        ("[a, ]", 4, "expected a field name"),
        ("[a b]", 3, "expected an operator"),
        ("[a = ]", 5, "expected a value"),
        ("[a == 1]", 3, "invalid operator '=='"),
        ("[a > x]", 5, "needs a numeric value"),
        ("[status = 4* && bytes > 1000]", 16, "must all test field 'status'"),
        ("[status = 4* || 5*]", 16, "must all test field 'status'"),
        ("[..., a, ...]", 9, "'...' may appear only once"),
        ("[1a, b]", 1, "expected a field name"),
        ('[a = "x]', 5, "unterminated quoted string"),
        ("[a = (x), b]", 5, "unexpected '('"),
        ("[a, [b], c]", 4, "unexpected '['"),
        ("[w1, w2 = [x]", 10, "unexpected '['"),
        ("[w1 = a, w2 = b c]", 16, "expected ',' or ']'"),
        ("[a = %x% , b = %y%, c = %z%]", 24, "at most 2 regular expressions"),
    ],
)
def test_malformed_patterns(pattern: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterPatternError) as info:
        compile_pattern(pattern)
    err = info.value
    assert err.position == position, err.message
    assert fragment in err.detail
    assert err.message == f"Invalid filter pattern at position {position}: {err.detail}"
    assert str(err) == err.message
    assert err.pattern == pattern
    assert isinstance(err, ValueError)


def test_error_position_counts_leading_whitespace() -> None:
    with pytest.raises(FilterPatternError) as info:
        compile_pattern('   ERROR "oops')
    assert info.value.position == 9


@pytest.mark.parametrize(
    ("pattern", "aws"),
    [
        ("?", "Invalid character(s) in term '?'"),
        ('""', "Invalid character(s) in term '\"\"'"),
        ("a@b", "Invalid character(s) in term 'a@b'"),
        ("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'"),
        ("{ $.a == 1 }", "Invalid filter pattern"),
        ("[a, b", "Invalid filter pattern"),
    ],
)
def test_aws_error_texts(pattern: str, aws: str) -> None:
    with pytest.raises(FilterPatternError) as info:
        compile_pattern(pattern)
    assert info.value.aws_message == aws


def test_error_pickles() -> None:
    with pytest.raises(FilterPatternError) as info:
        compile_pattern("{ $.a == 1 }")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.position, copy.detail, copy.message) == (
        info.value.position,
        info.value.detail,
        info.value.message,
    )


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a = %x% || $.b = %y% }",
        "[a = %x%, b = %y%]",
        '{ $.msg = %timeout|refused% }',
    ],
)
def test_two_regexes_are_allowed(pattern: str) -> None:
    compile_pattern(pattern)


# ------------------------------------------------------------------------------------ the API
def test_compile_is_cached_and_matcher_is_reusable() -> None:
    a = compile_pattern("ERROR -timeout")
    assert compile_pattern("ERROR -timeout") is a
    assert compile_pattern("ERROR -timeout", term_matching="substring") is not a
    assert [a.matches(line) for line in LINES] == [True, False, False]
    assert [a.predicate(line) for line in LINES] == [True, False, False]
    assert [a(line) for line in LINES] == [True, False, False]
    assert "ERROR -timeout" in repr(a)


@pytest.mark.parametrize(
    "pattern",
    [
        "ERROR",
        "ERROR timeout",
        '"payment declined"',
        '{ $.level = "ERROR" }',
        '{ $.level = "ERROR" && $.user.id = 7 }',
        "[w1 = ERROR, ...]",
    ],
)
def test_fts_terms_are_contained_in_every_match(pattern: str) -> None:
    m = compile_pattern(pattern)
    messages = [*LINES, EVENT, '{"level":"ERROR","user":{"id":7}}', "ERROR", "x ERROR y"]
    for msg in messages:
        if m.matches(msg):
            assert all(t in msg for t in m.fts_terms)
