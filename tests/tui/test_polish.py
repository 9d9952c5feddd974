"""Copy a log line, search highlight and time windows, and from an invocation to its trace."""

from __future__ import annotations

import json

import httpx
import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from lconsole.backends.base import LogLine, LogQuery
from lconsole.tui.app import LconsoleApp
from lconsole.tui.scene import NOW, NOW_MS, SceneBackend
from lconsole.tui.screens.function import FunctionScreen
from lconsole.tui.widgets.log_view import LogView
from lconsole.tui.widgets.logs_pane import (
    MATCH_STYLE,
    LogsPane,
    log_text,
    match_pattern,
    plain_message,
)
from lconsole.tui.widgets.resource_table import ResourceTable
from lconsole.tui.widgets.traces_pane import TracesPane
from tests.support.engine import EngineProcess
from tests.tui.helpers import local_backend, screen_text, settle, until

pytestmark = pytest.mark.anyio


async def command(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("colon", *text, "enter")
    await pilot.pause()


def highlighted(text: Text) -> list[str]:
    return [text.plain[s.start : s.end] for s in text.spans if s.style == MATCH_STYLE]


# What the filter pattern lights up -----------------------------------------------------------


def test_term_patterns_highlight_whole_tokens_like_the_filter_matches() -> None:
    line = LogLine(NOW_MS, "[ERROR] ERRORS ERR: card declined (ERR)", "s", "r1")
    text = log_text(line, timestamps=True, pretty=False, matches=match_pattern("ERR"))
    assert highlighted(text) == ["ERR", "ERR"]  # not inside ERROR or ERRORS

    phrase = match_pattern('"card declined" ?timeout -debug')
    assert phrase is not None
    text = log_text(line, timestamps=False, pretty=False, matches=phrase)
    assert highlighted(text) == ["card declined"]


def test_regex_and_json_patterns_highlight_what_they_compare() -> None:
    line = LogLine(NOW_MS, '{"level": "ERROR", "latency": 1234, "path": "/orders/42"}')
    regex = match_pattern(r"%/orders/[0-9]+%")
    assert highlighted(log_text(line, False, False, regex)) == ["/orders/42"]
    json_pattern = match_pattern('{ $.level = "ERROR" && $.latency > 1000 }')
    assert highlighted(log_text(line, False, False, json_pattern)) == ["ERROR"]
    assert match_pattern("") is None and match_pattern("%[unclosed%") is None


def test_the_timestamp_is_never_highlighted() -> None:
    line = LogLine(NOW_MS, "12 items")
    text = log_text(line, timestamps=True, pretty=False, matches=match_pattern("12"))
    assert text.plain == "12:00:00 12 items"
    assert [(s.start, s.end) for s in text.spans if s.style == MATCH_STYLE] == [(9, 11)]
    assert not text.style and [(s.start, s.end) for s in text.spans if s.style == "dim"] == [(0, 9)]


def test_tabs_land_on_the_columns_they_would_in_a_terminal() -> None:
    line = LogLine(NOW_MS, "REPORT RequestId: r1\tDuration: 2.00 ms\t")
    text = log_text(line, timestamps=True, pretty=False)
    assert "\t" not in text.plain
    assert text.plain.index("Duration") % 8 == 0  # the tab stop counts the timestamp too


def test_copied_text_is_the_message_without_ansi_or_control_bytes() -> None:
    line = LogLine(NOW_MS, "\x1b[31m[ERROR]\x1b[0m boom\rTraceback: x\x07\n")
    assert plain_message(line) == "[ERROR] boom\nTraceback: x"
    shown = log_text(line, timestamps=False, pretty=False)
    assert shown.plain == "✖ [ERROR] boom\nTraceback: x\ufffd"  # colours kept as styles, not bytes
    assert "\x1b" not in shown.plain


# The log view: a cursor that stays where the reader is ---------------------------------------


class Host(App[None]):
    def __init__(self, keep: int) -> None:
        super().__init__()
        self.keep = keep

    def compose(self) -> ComposeResult:
        yield LogView(self.keep)


def entries(*names: str) -> list[tuple[object, Text]]:
    return [(name, Text(f"line {name}")) for name in names]


async def test_new_lines_follow_only_a_reader_at_the_newest_line() -> None:
    app = Host(keep=5)
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LogView)
        view.replace(entries("a", "b", "c"))
        await pilot.pause()
        assert view.cursor_item == "c" and view.at_end

        await pilot.press("up")
        assert view.cursor_item == "b" and not view.at_end
        assert not view.add(entries("d", "e", "f"))  # over the bound: "a" is dropped
        await pilot.pause()
        assert view.entry_count == 5 and view.cursor_item == "b"  # same line under the cursor

        await pilot.press("end")
        await pilot.pause()
        assert view.cursor_item == "f" and view.at_end
        assert view.add(entries("g"))
        assert view.cursor_item == "g"

        await pilot.press("home")
        assert view.cursor_item == "c" and not view.at_end
        await pilot.click(LogView, offset=(3, 2))  # a click puts the cursor on that row's line
        assert view.cursor_item == "e"


async def test_wrap_reflows_rows_and_keeps_the_cursor_line() -> None:
    app = Host(keep=100)
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(LogView)
        long = [(i, Text(f"{i} " + "word " * 30)) for i in range(6)]
        view.replace(long)
        await pilot.press("up", "up")
        assert view.cursor_item == 3
        assert view.virtual_size.height == 6 and view.virtual_size.width > 150
        view.wrap = True
        await pilot.pause()
        assert view.virtual_size.height > 6 * 3 and view.virtual_size.width <= 40
        assert view.cursor_item == 3
        view.wrap = False
        await pilot.pause()
        assert view.virtual_size.height == 6


# In the console, over the fixed scene ---------------------------------------------------------


class RecordingScene(SceneBackend):
    """The scene's data, keeping each log query the console sends."""

    def __init__(self) -> None:
        super().__init__()
        self.queries: list[LogQuery] = []

    async def logs(self, query: LogQuery) -> list[LogLine]:
        self.queries.append(query)
        return await super().logs(query)


def scene_app(backend: SceneBackend) -> LconsoleApp:
    app = LconsoleApp(backend, clock=lambda: NOW)
    app.animation_level = "none"
    return app


async def test_search_matches_are_highlighted_on_screen() -> None:
    app = scene_app(SceneBackend())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        await command(pilot, "logs checkout-api")
        pane = app.screen.query_one(LogsPane)
        await until(pilot, lambda: pane.lines, "log lines")
        await pilot.press("f", *"declined", "enter")
        await until(
            pilot,
            lambda: pane.lines and all("declined" in ln.message for ln in pane.lines),
            "the filtered lines",
        )
        await settle(pilot)
        segments = [s for strip in app.screen._compositor.render_strips() for s in strip]
        lit = [s.text for s in segments if s.style and s.style.reverse]
        assert lit and all(t == "declined" for t in lit)


async def test_time_window_cycles_and_goes_into_the_query() -> None:
    backend = RecordingScene()
    app = scene_app(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        await command(pilot, "logs python-echo")
        pane = app.screen.query_one(LogsPane)
        await until(pilot, lambda: pane.loaded, "the first load")
        assert "last 24h" in screen_text(app)
        assert backend.queries[0].start_ms == NOW_MS - 86_400_000

        def asked(start_ms: int) -> bool:
            return any(q.start_ms == start_ms for q in backend.queries)

        for label, seconds in (("1h", 3_600), ("15m", 900), ("5m", 300), ("1m", 60)):
            await pilot.press("W")  # a fresh query from the window's start (follows start later)
            want = NOW_MS - seconds * 1000
            await until(pilot, lambda want=want: asked(want), f"the {label} query")
            await settle(pilot)
            assert f"last {label}" in screen_text(app)
        await pilot.press("W")
        await settle(pilot)
        assert "last 24h" in screen_text(app)


async def test_copy_puts_the_cursor_line_on_the_clipboard() -> None:
    app = scene_app(SceneBackend())
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        await command(pilot, "logs checkout-api")
        pane = app.screen.query_one(LogsPane)
        await until(pilot, lambda: len(pane.lines) > 3, "log lines")
        await pilot.press("end", "up", "up", "c")
        expected = list(pane.lines)[-3]
        assert app.clipboard == expected.message
        await until(pilot, lambda: "copied" in screen_text(app), "the notification")


# Against a real engine --------------------------------------------------------------------


async def test_copy_strips_the_colours_a_function_printed(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        failed = await backend.invoke(
            "python-echo", json.dumps({"fail": "\x1b[31mred\x1b[0m"}).encode()
        )
        assert failed.function_error == "Unhandled"
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "invocations python-echo")
            table = app.screen.query_one("#invocations-table", ResourceTable)
            await until(pilot, lambda: failed.request_id in table.rows, "the invocation")
            table.move_cursor(row=table.get_row_index(failed.request_id))
            await pilot.press("enter")
            pane = app.screen.query_one(LogsPane)
            await until(pilot, lambda: pane.lines, "its log lines")
            lines = list(pane.lines)
            error = next(i for i, ln in enumerate(lines) if "[ERROR]" in ln.message)
            await pilot.press("end", *["up"] * (len(lines) - 1 - error), "c")
            assert "\x1b" in lines[error].message  # what the function wrote had colour codes
            assert app.clipboard.startswith("[ERROR] Exception: red")
            assert "\x1b" not in app.clipboard


async def test_from_an_invocation_to_its_logs_and_its_trace(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        traced = await backend.invoke("python-xray", b'{"items": [1, 2, 3]}')
        assert traced.ok and traced.request_id
        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            await command(pilot, "invocations python-xray")
            screen = app.screen
            assert isinstance(screen, FunctionScreen)
            table = screen.query_one("#invocations-table", ResourceTable)
            await until(pilot, lambda: traced.request_id in table.rows, "the invocation")
            table.move_cursor(row=table.get_row_index(traced.request_id))

            await pilot.press("x")
            traces = screen.query_one(TracesPane)
            await until(pilot, lambda: "Invocation" in screen_text(app), "the waterfall")
            text = screen_text(app)
            assert f"request {traced.request_id[:8]}" in text and "work" in text
            assert screen.query_one("#tabs").active == "traces"  # type: ignore[attr-defined]
            found = await backend.traces("python-xray", request_id=traced.request_id)
            assert [t.id for t in found] == [traces.shown]
            listed = screen.query_one("#traces-table", ResourceTable)
            await until(pilot, lambda: listed.selected_key == traces.shown, "the trace's row")

            await pilot.press("5")  # back to the invocations: enter still opens its logs
            await pilot.press("enter")
            logs = screen.query_one(LogsPane)
            await until(pilot, lambda: logs.lines, "its log lines")
            assert {ln.request_id for ln in logs.lines} == {traced.request_id}
            traces.shown = None
            await pilot.press("x")  # and from a log line of it, to the same trace
            await until(pilot, lambda: traces.shown == found[0].id, "the trace from a log line")


async def trace_of(pilot, app: LconsoleApp, name: str, request_id: str) -> str:  # type: ignore[no-untyped-def]
    """Select the invocation, press `x`, and return the screen once the waterfall has an answer."""
    await command(pilot, f"invocations {name}")
    table = app.screen.query_one("#invocations-table", ResourceTable)
    await until(pilot, lambda: request_id in table.rows, f"the {name} invocation")
    table.move_cursor(row=table.get_row_index(request_id))
    await pilot.press("x")
    detail = app.screen.query_one(".waterfall", Static)
    await until(pilot, lambda: "finding" not in str(detail.content), "the trace lookup")
    await settle(pilot)
    return screen_text(app)


async def test_an_untraced_invocation_says_why_inline(samples_engine: EngineProcess) -> None:
    async with local_backend(samples_engine) as backend:
        plain = await backend.invoke("python-echo", b"{}")
        response = httpx.post(  # the caller decided not to sample: Lambda honours that
            f"{samples_engine.url}/2015-03-31/functions/python-xray/invocations",
            content=b'{"items": [1]}',
            headers={"X-Amzn-Trace-Id": "Root=1-6956616f-0123456789abcdef01234567;Sampled=0"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        unsampled = response.headers["x-amzn-requestid"]
        assert await backend.traces("python-echo", request_id=plain.request_id) == []
        assert await backend.traces("python-xray", request_id=unsampled) == []

        app = LconsoleApp(backend, poll_s=0.2)
        async with app.run_test(size=(140, 30)) as pilot:
            await until(pilot, lambda: app.state.loaded, "the function list")
            for name, rid, why in (
                ("python-echo", plain.request_id, "enable Active tracing"),
                ("python-xray", unsampled, "not sampled"),
            ):
                text = await trace_of(pilot, app, name, rid)
                assert f"no trace recorded for this invocation — {why}" in text
                assert "✖" not in text


async def test_keys_hold_back_the_idle_full_collection() -> None:
    """A terminal console collects generation 2 only while the keyboard is quiet (the idle
    collector); the key hook is what tells it the user is typing."""
    from lconsole.tui.collector import IdleCollector

    clock = [0.0]
    runs: list[float] = []
    app = scene_app(SceneBackend())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        clock[0] = 100.0
        app.collector = IdleCollector(lambda: clock[0], lambda: runs.append(clock[0]))
        clock[0] = 105.5  # a full collection is due, but for the key
        await pilot.press("down")
        assert app.collector.last_key == 105.5
        app.collector.tick()
        assert runs == []
        clock[0] = 106.6
        app.collector.tick()
        assert runs == [106.6]


async def test_help_is_composed_once_per_set_of_keys_and_reused() -> None:
    from lconsole.tui import app as app_module
    from lconsole.tui.screens.help import HelpScreen

    app = scene_app(SceneBackend())
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.loaded, "the function list")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        first = app.screen
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help again")
        assert app.screen is first and "Keys: functions" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        await command(pilot, "function checkout-api")
        await until(pilot, lambda: isinstance(app.screen, FunctionScreen), "the function")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the function's help")
        assert app.screen is not first and "checkout-api" in screen_text(app)
        await pilot.press("escape")
        names = [app._help_screen(f"view {n}", []) for n in range(app_module.HELP_SCREENS + 2)]
        assert not app.is_screen_installed(names[0])  # the oldest are let go
        assert all(app.is_screen_installed(n) for n in names[2:])
