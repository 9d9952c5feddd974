"""A function's logs: follow, time window, filter with highlighted matches, wrap, copy a line.

Lines come from the backend's FilterLogEvents-style query and are kept in a bounded buffer.
While following, new lines are polled every second; when the reader has moved up they are
not scrolled into view: a "N new lines" marker says they are there, and `end` goes to them.
A cursor line (arrows, page keys, a click) is what `c` copies, through the terminal's OSC 52
clipboard sequence, so copying works over SSH too.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from lconsole.backends.base import BackendError, LogLine, LogQuery, NotAvailable
from lconsole.tui.keys import key
from lconsole.tui.rows import clock
from lconsole.tui.widgets.log_view import LogView
from lconsole.tui.widgets.text import set_text

KEEP = 5000  # lines held; older ones are dropped (and counted)
FOLLOW_S = 1.0
WINDOWS = (("24h", 86_400), ("1h", 3_600), ("15m", 900), ("5m", 300), ("1m", 60))
NOT_YET = "logs are not available yet on this engine"
MATCH_STYLE = "reverse"
TAB_SIZE = 8
PLATFORM_LINES = ("START ", "END ", "INIT_START", "REPORT ")  # Lambda's own, never marked
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")  # not \t, \n or ESC (ANSI colour)


def plain_message(line: LogLine) -> str:
    """The message as the function wrote it, without ANSI colour codes: what `c` copies."""
    message = line.message.rstrip("\n").replace("\r", "\n")  # Lambda's multi-line events
    if "\x1b" in message:
        message = Text.from_ansi(message).plain
    return _CONTROL.sub("", message)


def match_pattern(pattern: str) -> re.Pattern[str] | None:
    """What to highlight for a CloudWatch filter pattern: its terms, phrases or regex.

    Term lists match whole tokens (as the filter does), `%regex%` highlights its matches, and
    JSON or space-delimited patterns highlight the quoted values they compare with.
    """
    pattern = pattern.strip()
    if not pattern:
        return None
    if len(pattern) > 1 and pattern.startswith("%") and pattern.endswith("%"):
        try:
            return re.compile(pattern[1:-1])
        except re.error:
            return None
    if pattern.startswith(("{", "[")):
        words = [w.strip("*") for w in re.findall(r'"((?:[^"\\]|\\.)+)"', pattern)]
    else:
        found = re.findall(r'"([^"]+)"|(\S+)', pattern)
        words = [(quoted or bare).lstrip("?") for quoted, bare in found]
        words = [w for w in words if w and not w.startswith("-")]
    words = [w for w in words if w]
    if not words:
        return None
    alternatives = sorted({_token(w) for w in words}, key=len, reverse=True)
    return re.compile("|".join(alternatives))


def _token(word: str) -> str:
    """A whole-token regex for a term: `ERR` must not light up inside `ERROR`."""
    left = r"(?<![A-Za-z0-9])" if word[0].isalnum() else ""
    right = r"(?![A-Za-z0-9])" if word[-1].isalnum() else ""
    return left + re.escape(word) + right


def log_text(
    line: LogLine, timestamps: bool, pretty: bool, matches: re.Pattern[str] | None = None
) -> Text:
    """START/END/REPORT dimmed or bold, errors red and marked, JSON pretty-printed on demand."""
    message = line.message.rstrip("\n").replace("\r", "\n")
    if pretty and message.lstrip().startswith("{"):
        try:
            message = json.dumps(json.loads(message), indent=2)
        except ValueError:
            pass
    message = _CONTROL.sub("\ufffd", message)  # a stray control byte must not reach the terminal
    prefix = clock(line.timestamp) + " " if timestamps else ""
    platform = message.startswith(PLATFORM_LINES)
    error = "ERROR" in message or "Task timed out" in message or "Traceback" in message
    mark = "✖ " if error and not platform else ""
    if "\t" in message and "\x1b" not in message:  # REPORT's tabs, at the columns they land on
        pad = cell_len(prefix + mark)
        message = (" " * pad + message).expandtabs(TAB_SIZE)[pad:]
    body = Text.from_ansi(message) if "\x1b" in message else Text(message)
    if message.startswith(("START ", "END ", "INIT_START")):
        body.stylize("dim")
    elif message.startswith("REPORT "):
        body.stylize("bold")
    elif mark:
        body = Text(mark).append_text(body)
        body.stylize("red")
    if matches is not None:
        body.highlight_regex(matches, style=MATCH_STYLE)
    return Text().append(prefix, style="dim").append_text(body)


class LogsLoaded(Message):
    def __init__(self, lines: list[LogLine] | None, problem: str = "", more: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.problem = problem
        self.more = more  # new lines for a follow, not a fresh query


class LogsPane(Vertical):
    BINDINGS = [
        key("f", "filter", "filter", "logs.filter", tooltip="CloudWatch filter pattern"),
        key("c", "copy", "copy", "logs.copy", tooltip="copy the cursor line (works over SSH)"),
        key("F", "toggle('follow')", "follow", "logs.follow", tooltip="follow new lines"),
        key("W", "window", "window", "logs.window", tooltip="time window: 24h 1h 15m 5m 1m"),
        key("w", "toggle('wrap')", "wrap", "logs.wrap", tooltip="wrap long lines"),
        key("T", "toggle('timestamps')", "timestamps", "logs.timestamps", tooltip="timestamps"),
        key("J", "toggle('pretty')", "JSON", "logs.pretty", tooltip="pretty-print JSON lines"),
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
        yield LogView(KEEP)

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
        if self.unseen and self.query_one(LogView).at_end:
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
        if message.lines is None:
            self.available = message.problem != NOT_YET
            self.query_one(LogView).replace([(None, Text(message.problem, style="dim italic"))])
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

    def _texts(self, lines: Sequence[LogLine]) -> list[tuple[object, Text]]:
        matches = match_pattern(self.query_one(Input).value)
        timestamps, pretty = self.toggles["timestamps"], self.toggles["pretty"]
        return [(line, log_text(line, timestamps, pretty, matches)) for line in lines]

    def _append(self, lines: list[LogLine]) -> None:
        if not lines:
            return
        view = self.query_one(LogView)
        if view.cursor_item is None:  # the view shows a note, not lines: start over
            self._render_lines()
        elif not view.add(self._texts(lines)):
            self.unseen += len(lines)

    def _render_lines(self, keep_cursor: bool = False) -> None:
        view = self.query_one(LogView)
        if self.lines:
            view.replace(self._texts(self.lines), keep_cursor=keep_cursor)
        else:
            view.replace([(None, Text("no log lines in this window", style="dim italic"))])

    def _show_toggles(self) -> None:
        on = [name for name, value in self.toggles.items() if value]
        parts = [f"last {WINDOWS[self.window][0]}", f"on: {', '.join(on) or 'nothing'}"]
        if self.request_id:
            parts.insert(0, f"request {self.request_id[:8]}")
        if self.unseen:
            parts.append(f"▼ {self.unseen} new lines (end)")
        if self.dropped:
            parts.append(f"{self.dropped} older lines dropped")
        set_text(self.query_one(".toggles", Static), "  ·  ".join(parts))

    def action_toggle(self, name: str) -> None:
        self.toggles[name] = not self.toggles[name]
        self._show_toggles()
        if name == "wrap":
            self.query_one(LogView).wrap = self.toggles["wrap"]
        elif name != "follow":
            self._render_lines(keep_cursor=True)

    def action_window(self) -> None:
        self.window = (self.window + 1) % len(WINDOWS)
        self._show_toggles()
        self.load()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_copy(self) -> None:
        """The cursor line's message to the clipboard, by OSC 52 (so it works over SSH)."""
        line = self.query_one(LogView).cursor_item
        if not isinstance(line, LogLine):
            self.notify("no log line to copy", title="copy", severity="warning")
            return
        text = plain_message(line)
        self.app.copy_to_clipboard(text)
        preview = text.splitlines()[0] if text else ""
        preview = preview if len(preview) <= 60 else preview[:59] + "…"
        self.notify(f"{len(text)} characters: {preview}", title="copied")

    def action_to_end(self) -> None:
        self.query_one(LogView).action_last()
        self.unseen = 0
        self._show_toggles()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(LogView).focus()
        self.load()
