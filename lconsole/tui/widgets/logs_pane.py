"""A function's logs: follow, time window, filter pattern, wrap, timestamps, pretty JSON.

Lines come from the backend's FilterLogEvents-style query and are kept in a bounded buffer.
While following, new lines are polled every second; when the reader has scrolled up they are
not scrolled into view: a "N new lines" marker says they are there, and `end` goes to them.
"""

from __future__ import annotations

import json
import re
from collections import deque

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, RichLog, Static

from lconsole.backends.base import BackendError, LogLine, LogQuery, NotAvailable
from lconsole.tui.keys import key
from lconsole.tui.rows import clock

KEEP = 5000  # lines held; older ones are dropped (and counted)
FOLLOW_S = 1.0
WINDOWS = (("24h", 86_400), ("1h", 3_600), ("15m", 900), ("5m", 300), ("1m", 60))
NOT_YET = "logs are not available yet on this engine"


def log_text(line: LogLine, timestamps: bool, pretty: bool, terms: tuple[str, ...] = ()) -> Text:
    """START/END/REPORT dimmed or bold, errors red and marked, JSON pretty-printed on demand."""
    message = line.message.rstrip("\n").replace("\r", "\n")  # Lambda's multi-line events
    if pretty and message.lstrip().startswith("{"):
        try:
            message = json.dumps(json.loads(message), indent=2)
        except ValueError:
            pass
    text = Text()
    if timestamps:
        text.append(clock(line.timestamp) + " ", style="dim")
    if message.startswith(("START ", "END ", "INIT_START")):
        text.append(message, style="dim")
    elif message.startswith("REPORT "):
        text.append(message, style="bold")
    elif "ERROR" in message or "Task timed out" in message or "Traceback" in message:
        text.append("✖ " + message, style="red")
    else:
        text.append(message)
    if terms:
        text.highlight_words(terms, style="reverse", case_sensitive=True)
    return text


def search_terms(pattern: str) -> tuple[str, ...]:
    """The plain words and phrases of a term-list pattern, for highlighting."""
    if pattern.strip().startswith(("{", "[", "%")):
        return ()
    found = re.findall(r'"([^"]+)"|(\S+)', pattern)
    words = (quoted or bare for quoted, bare in found)
    return tuple(w.lstrip("?") for w in words if w and not w.startswith("-") and w != "?")


class LogsLoaded(Message):
    def __init__(self, lines: list[LogLine] | None, problem: str = "", more: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.problem = problem
        self.more = more  # new lines for a follow, not a fresh query


class LogsPane(Vertical):
    BINDINGS = [
        key("F", "toggle('follow')", "follow", "logs.follow", tooltip="follow new lines"),
        key("w", "toggle('wrap')", "wrap", "logs.wrap", tooltip="wrap long lines"),
        key("T", "toggle('timestamps')", "timestamps", "logs.timestamps", tooltip="timestamps"),
        key("J", "toggle('pretty')", "JSON", "logs.pretty", tooltip="pretty-print JSON lines"),
        key("W", "window", "window", "logs.window", tooltip="time window: 24h 1h 15m 5m 1m"),
        key("f", "filter", "filter", "logs.filter", tooltip="CloudWatch filter pattern"),
        key("G", "to_end", "newest", "logs.end", tooltip="go to the newest line (or end)"),
    ]

    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function
        self.request_id: str | None = None
        self.toggles = {"follow": True, "wrap": False, "timestamps": True, "pretty": False}
        self.window = 0  # index into WINDOWS
        self.lines: deque[LogLine] = deque(maxlen=KEEP)
        self.seen: set[str] = set()
        self.dropped = 0
        self.unseen = 0  # lines that arrived while the reader was scrolled up
        self.available = True
        self.loaded = False  # the first answer (lines or a problem) has arrived

    def compose(self) -> ComposeResult:
        yield Input(placeholder='filter pattern, e.g. ERROR  ?WARN  { $.level = "ERROR" }')
        yield Static("", classes="toggles")
        yield RichLog(wrap=False, markup=False, max_lines=KEEP)

    def on_mount(self) -> None:
        self._show_toggles()
        self.load()
        self.set_interval(FOLLOW_S, self._follow)

    def show_request(self, request_id: str | None) -> None:
        self.request_id = request_id
        self.load()

    def _query(self, since_ms: int | None = None) -> LogQuery:
        now_ms = self.app.now_ms()  # type: ignore[attr-defined]
        start = now_ms - WINDOWS[self.window][1] * 1000
        return LogQuery(
            self.function,
            start_ms=max(start, since_ms or 0),
            filter_pattern=self.query_one(Input).value,
            request_id=self.request_id,
        )

    def _follow(self) -> None:
        if self.unseen and self.query_one(RichLog).is_vertical_scroll_end:
            self.unseen = 0  # the reader went down to them
            self._show_toggles()
        if self.toggles["follow"] and self.available and self.is_on_screen:
            since = self.lines[-1].timestamp if self.lines else None
            self.load_more(self._query(since))

    @work(exclusive=True, group="logs")
    async def load(self) -> None:
        try:
            lines = await self.app.backend.logs(self._query())  # type: ignore[attr-defined]
        except NotAvailable:
            self.post_message(LogsLoaded(None, NOT_YET))
        except BackendError as exc:
            self.post_message(LogsLoaded(None, f"✖ {exc.code}: {exc.message}"))
        else:
            self.post_message(LogsLoaded(lines))

    @work(exclusive=True, group="logs-follow")
    async def load_more(self, query: LogQuery) -> None:
        try:
            lines = await self.app.backend.logs(query)  # type: ignore[attr-defined]
        except BackendError:
            return  # the banner says when the engine is gone; the next tick tries again
        self.post_message(LogsLoaded(lines, more=True))

    def on_logs_loaded(self, message: LogsLoaded) -> None:
        message.stop()
        self.loaded = True
        log = self.query_one(RichLog)
        if message.lines is None:
            self.available = message.problem != NOT_YET
            log.clear()
            log.write(Text(message.problem, style="dim italic"))
            return
        self.available = True
        if not message.more:
            self.lines.clear()
            self.seen.clear()
            self.unseen = 0
        fresh = [ln for ln in message.lines if self._key(ln) not in self.seen]
        for line in fresh:
            if len(self.lines) == KEEP:
                self.dropped += 1
            self.lines.append(line)
            self.seen.add(self._key(line))
        if len(self.seen) > 2 * KEEP:
            self.seen = {self._key(ln) for ln in self.lines}
        if message.more:
            self._append(fresh)
        else:
            self._render_lines()
        self._show_toggles()

    @staticmethod
    def _key(line: LogLine) -> str:
        return line.event_id or f"{line.timestamp}|{line.stream}|{line.message}"

    def _terms(self) -> tuple[str, ...]:
        return search_terms(self.query_one(Input).value)

    def _append(self, lines: list[LogLine]) -> None:
        log = self.query_one(RichLog)
        at_end = log.is_vertical_scroll_end or log.max_scroll_y == 0
        terms = self._terms()
        for line in lines:
            text = log_text(line, self.toggles["timestamps"], self.toggles["pretty"], terms)
            log.write(text, scroll_end=at_end)
        if not at_end:
            self.unseen += len(lines)

    def _render_lines(self) -> None:
        log = self.query_one(RichLog)
        log.clear()
        terms = self._terms()
        for line in self.lines:
            log.write(log_text(line, self.toggles["timestamps"], self.toggles["pretty"], terms))
        if not self.lines:
            log.write(Text("no log lines in this window", style="dim italic"))

    def _show_toggles(self) -> None:
        on = [name for name, value in self.toggles.items() if value]
        parts = [f"last {WINDOWS[self.window][0]}", f"on: {', '.join(on) or 'nothing'}"]
        if self.request_id:
            parts.insert(0, f"request {self.request_id[:8]}")
        if self.unseen:
            parts.append(f"▼ {self.unseen} new lines (end)")
        if self.dropped:
            parts.append(f"{self.dropped} older lines dropped")
        self.query_one(".toggles", Static).update("  ·  ".join(parts))

    def action_toggle(self, name: str) -> None:
        self.toggles[name] = not self.toggles[name]
        self.query_one(RichLog).wrap = self.toggles["wrap"]
        self._show_toggles()
        if name != "follow":
            self._render_lines()

    def action_window(self) -> None:
        self.window = (self.window + 1) % len(WINDOWS)
        self._show_toggles()
        self.load()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_to_end(self) -> None:
        self.query_one(RichLog).scroll_end(animate=False)
        self.unseen = 0
        self._show_toggles()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(RichLog).focus()
        self.load()
