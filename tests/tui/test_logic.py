"""The console's pure parts: commands, traffic shifts, figures, reports, filters, keymaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from lconsole.backends.base import AliasInfo, FunctionInfo, Invocation
from lconsole.tui import format as fmt
from lconsole.tui.commands import CommandError, complete, parse
from lconsole.tui.filtering import matcher
from lconsole.tui.keys import load_keymap
from lconsole.tui.report import parse_report
from lconsole.tui.screens.edit import EditError, parse_change
from lconsole.tui.state import PER_FUNCTION, ConsoleState
from lconsole.tui.stats import buckets, error_rate_by_version, percentile, summarise
from lconsole.tui.templates import check_json, load_templates
from lconsole.tui.traffic import Shift, ShiftError

FUNCTIONS = ["orders", "orders-api", "python-echo"]


def inv(rid: str, start_ms: int, **kw: object) -> Invocation:
    fields: dict[str, object] = {
        "request_id": rid,
        "function": "f",
        "executed_version": "1",
        "cold": False,
        "start_ms": start_ms,
    }
    fields.update(kw)
    return Invocation(**fields)  # type: ignore[arg-type]


class TestCommands:
    def test_parse_verbs_names_and_qualifiers(self) -> None:
        assert parse(":functions", FUNCTIONS).verb == "functions"
        cmd = parse("logs orders@prod", FUNCTIONS)
        assert (cmd.verb, cmd.function, cmd.qualifier) == ("logs", "orders", "prod")
        assert parse("fn", FUNCTIONS).verb == "functions"
        assert parse("theme light", FUNCTIONS).value == "light"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "type a command"),
            ("bogus", "unknown command 'bogus'"),
            ("logs", ":logs needs a function name"),
            ("logs nope", "no function named 'nope'"),
            ("functions extra", ":functions takes no argument"),
            ("theme pink", "unknown theme 'pink'"),
            ("logs a b", ":logs takes one function"),
        ],
    )
    def test_mistakes_are_explained(self, text: str, message: str) -> None:
        with pytest.raises(CommandError, match=message):
            parse(text, FUNCTIONS)

    def test_completion_of_verbs_then_names(self) -> None:
        assert complete("fu", FUNCTIONS) == ["functions", "function"]
        assert complete(":logs ord", FUNCTIONS) == ["logs orders", "logs orders-api"]
        assert complete("theme l", FUNCTIONS) == ["theme light"]
        assert complete("quit x", FUNCTIONS) == []


class TestTrafficShift:
    def alias(self, weights: dict[str, float] | None = None) -> AliasInfo:
        return AliasInfo("live", "arn", "1", weights=weights or {})

    def test_starts_from_the_alias_and_the_newest_other_version(self) -> None:
        assert Shift.of(self.alias(), ["1", "2", "10"]) == Shift("1", "10", 0)
        assert Shift.of(self.alias({"2": 0.25}), ["1", "2", "3"]) == Shift("1", "2", 25)

    def test_steps_clamp_and_typed_weights_are_checked(self) -> None:
        shift = Shift("1", "2", 95)
        assert shift.by(10).weight == 100 and shift.by(-100).weight == 0
        assert shift.by(-1).weight == 94
        with pytest.raises(ShiftError, match="between 0 and 100"):
            shift.to(101)

    def test_update_alias_arguments(self) -> None:
        assert Shift("1", "2", 10).update() == ("1", {"2": 0.1})
        assert Shift("1", "2", 10).promote().update() == ("2", {})
        assert Shift("1", "2", 10).rollback().update() == ("1", {})
        with pytest.raises(ShiftError, match="no target"):
            Shift("1", None, 10).update()

    def test_target_cycles_over_other_versions(self) -> None:
        shift = Shift("2", "3", 0)
        assert shift.next_target(["1", "2", "3"]).target == "1"
        assert shift.next_target(["1", "2", "3"]).next_target(["1", "2", "3"]).target == "3"
        with pytest.raises(ShiftError, match="publish another version"):
            Shift("1", None, 0).next_target(["1"])

    def test_split_sums_to_one(self) -> None:
        assert Shift("1", "2", 30).split() == [("1", 0.7), ("2", 0.3)]
        assert AliasInfo("a", "", "1", weights={"2": 0.3}).split() == [("1", 0.7), ("2", 0.3)]


class TestFigures:
    def test_percentile_is_nearest_rank(self) -> None:
        assert percentile([], 99) is None
        assert percentile([5.0], 99) == 5.0
        assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
        assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0

    def test_summary_over_the_window(self) -> None:
        now = 1_000_000_000
        rows = [
            inv("a", now - 10_000, cold=True, duration_ms=100.0, cost_usd=0.5),
            inv("b", now - 20_000, status="error", duration_ms=300.0),
            inv("c", now - 30_000, status="throttled"),
            inv("old", now - 400_000),
        ]
        s = summarise(rows, now)
        assert s.invocations == 3 and s.throttles == 1
        assert s.error_rate == 0.5 and s.cold_rate == 0.5
        assert s.p99_ms == 300.0 and s.per_minute == pytest.approx(0.6)
        assert s.last_ms == now - 10_000 and s.cost_usd == 0.5
        assert summarise([], now).error_rate is None

    def test_error_rate_by_version_and_buckets(self) -> None:
        now = 100_000
        rows = [inv("a", now - 5_000), inv("b", now - 5_000, executed_version="2", status="error")]
        assert error_rate_by_version(rows) == {"1": (1, 0.0), "2": (1, 1.0)}
        counts = buckets(rows, now, count=3, width_s=10)
        assert counts == [0.0, 0.0, 2.0]
        assert buckets(rows, now, count=3, width_s=10, what="errors") == [0.0, 0.0, 1.0]


class TestState:
    def test_duplicates_are_dropped_and_buffers_bounded(self) -> None:
        state = ConsoleState()
        assert state.add_invocations([inv("a", 1), inv("a", 1)]) == {"f"}
        assert state.add_invocations([inv("a", 1)]) == set()
        state.add_invocations(inv(str(i), i + 2) for i in range(PER_FUNCTION + 50))
        rows = state.invocations("f")
        assert len(rows) == PER_FUNCTION and rows[-1].request_id == str(PER_FUNCTION + 49)
        assert state.recent["f"].dropped == 51

    def test_functions_that_disappear_lose_their_rows(self) -> None:
        state = ConsoleState()
        state.add_invocations([inv("a", 1)])
        state.set_functions([])
        assert state.invocations("f") == [] and state.loaded


def test_report_line_gives_figures_and_cold_start() -> None:
    tail = (
        "START RequestId: x Version: $LATEST\nEND RequestId: x\n"
        "REPORT RequestId: x\tDuration: 1.23 ms\tBilled Duration: 215 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 41 MB\tInit Duration: 212.40 ms\t\n"
    )
    report = parse_report(tail)
    assert report is not None and report.cold
    assert (report.duration_ms, report.billed_ms, report.init_ms) == (1.23, 215.0, 212.4)
    assert (report.memory_mb, report.max_memory_mb) == (128, 41)
    warm = parse_report("REPORT RequestId: y\tDuration: 2.00 ms\tBilled Duration: 2 ms\t")
    assert warm is not None and not warm.cold
    assert parse_report("no report here") is None and parse_report(None) is None


def test_templates_and_json_checks() -> None:
    templates = load_templates()
    ids = [t.id for t in templates]
    assert ids[:3] == ["empty", "apigw-rest-v1", "apigw-http-v2"]
    assert {"s3-put", "sqs", "sns", "eventbridge-scheduled", "dynamodb-stream", "kinesis"} <= set(
        ids
    )
    assert all(check_json(t.body) is None for t in templates)
    assert check_json("") is None
    problem = check_json('{"a": 1,\n "b": }')
    assert problem is not None and "line 2" in problem


def test_filter_text_regex_and_inversion() -> None:
    assert matcher("echo")("python-echo python3.12")
    assert not matcher("!python")("python-echo")
    assert matcher("^node")("node-hello") and not matcher("^node")("a node")
    assert matcher("a(b")("xa(bx")  # an invalid regex is taken literally
    assert matcher("")("anything")


def test_keymap_file(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    assert load_keymap(path).keys == {}
    path.write_text('[keys]\n"functions.invoke" = "x"\n"bad" = 3\n')
    keymap = load_keymap(path)
    assert keymap.keys == {"functions.invoke": "x"} and "ignored bad" in keymap.problem
    path.write_text("not = [toml")
    assert load_keymap(path).keys == {} and load_keymap(path).problem


def test_configuration_edit_is_checked_and_minimal() -> None:
    fn = FunctionInfo.from_configuration(
        {
            "FunctionName": "f",
            "MemorySize": 128,
            "Timeout": 3,
            "Environment": {"Variables": {"A": "1"}},
        }
    )
    change = parse_change(fn, "256", "3", "", "A=1\nB=two=2\n")
    assert change.configuration() == {
        "MemorySize": 256,
        "Environment": {"Variables": {"A": "1", "B": "two=2"}},
    }
    with pytest.raises(EditError, match="between 128 and 10240"):
        parse_change(fn, "64", "3", "", "")
    with pytest.raises(EditError, match="whole number"):
        parse_change(fn, "128", "soon", "", "")
    with pytest.raises(EditError, match="KEY=VALUE"):
        parse_change(fn, "128", "3", "", "JUSTAKEY")


def test_formats() -> None:
    assert fmt.duration(0.5) == "0.5ms" and fmt.duration(812) == "812ms"
    assert fmt.duration(1420) == "1.42s" and fmt.duration(125_000) == "2m05s"
    assert fmt.age(4) == "4s" and fmt.age(720) == "12m" and fmt.age(None) == "-"
    assert fmt.usd(0.00000091) == "$9.1e-7" and fmt.usd(0) == "$0"
    assert fmt.bar([0.9, 0.1], 10) == "█████████▓"
    assert fmt.bar([1.0], 4) == "████"


def test_the_console_never_loads_the_engine_or_boto3() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nimport lconsole.tui.app, lconsole.tui.screenshots, lconsole.backends.local\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
    )
    for banned in ("boto3", "sqlite_utils", "lconsole.engine", "lconsole.store", "lconsole.api"):
        assert not any(m == banned or m.startswith(banned + ".") for m in loaded), banned
