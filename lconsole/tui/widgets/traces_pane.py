"""A function's traces: the list with duration and status, and one trace as a waterfall.

`show_request` opens the trace of one invocation, found by its request id (Lambda's
`AWS::Lambda` segment carries it). An invocation that was not traced is said so in place of
the waterfall, with what would trace it, never as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from lconsole.backends.base import (
    BackendError,
    NotAvailable,
    Trace,
    TraceSummary,
)
from lconsole.tui import format as fmt
from lconsole.tui.rows import clock
from lconsole.tui.waterfall import waterfall
from lconsole.tui.widgets.resource_table import ResourceTable

NOT_YET = "{what} are not available yet on this engine"
NOT_TRACED = "no trace recorded for this invocation — {why}"
ENABLE_ACTIVE = "enable Active tracing"
NOT_SAMPLED = "not sampled (Active tracing records 1 request a second and 5% of the rest)"
LATE_S = (1.0, 2.0)  # a just-finished invocation's segments may still be on their way


@dataclass(frozen=True)
class RequestTrace:
    """Which invocation's trace to find, and where to look."""

    request_id: str
    start_ms: int | None = None
    end_ms: int | None = None
    active: bool = False  # the executed version has Active tracing: a miss means "not sampled"
    recent: bool = False  # it finished moments ago: look again before saying there is none

    def missing(self) -> str:
        return NOT_TRACED.format(why=NOT_SAMPLED if self.active else ENABLE_ACTIVE)


class Loaded(Message):
    def __init__(self, pane: str, value: object, problem: str = "", request_id: str = "") -> None:
        super().__init__()
        self.pane = pane
        self.value = value
        self.problem = problem
        self.request_id = request_id  # the invocation a trace was opened for, if any


class TracesPane(Vertical):
    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function
        self.shown: str | None = None  # the trace in the waterfall
        self.request_id: str | None = None  # the invocation it was opened for, if any
        self._to_select: str | None = None  # a trace opened by request, for the list's cursor

    def compose(self) -> ComposeResult:
        yield ResourceTable(
            [("TRACE", "id"), ("TIME", "t"), ("DURATION", "d"), ("STATUS", "s")],
            id="traces-table",
        )
        yield Static("", classes="waterfall")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="traces")
    async def load(self) -> None:
        try:
            found = await self.app.backend.traces(self.function)  # type: ignore[attr-defined]
        except NotAvailable:
            self.post_message(Loaded("traces", None, NOT_YET.format(what="traces")))
        except BackendError as exc:
            self.post_message(Loaded("traces", None, f"✖ {exc.code}: {exc.message}"))
        else:
            self.post_message(Loaded("traces", found))

    @work(exclusive=True, group="trace")
    async def open_trace(self, trace_id: str) -> None:
        try:
            trace = await self.app.backend.trace(trace_id)  # type: ignore[attr-defined]
        except BackendError as exc:
            self.post_message(Loaded("trace", None, f"✖ {exc.code}: {exc.message}"))
        else:
            self.post_message(Loaded("trace", trace))

    def show_request(self, wanted: RequestTrace) -> None:
        """Open this invocation's waterfall, or say in its place why there is none."""
        self.query_one(".waterfall", Static).update(
            Text(f"finding the trace of request {wanted.request_id[:8]}…", style="dim italic")
        )
        self.find_trace(wanted)
        self.load()  # the list was loaded earlier: bring the new trace into it

    @work(exclusive=True, group="trace")
    async def find_trace(self, wanted: RequestTrace) -> None:
        backend = self.app.backend  # type: ignore[attr-defined]
        rid = wanted.request_id
        waits = LATE_S if wanted.active and wanted.recent else ()
        try:
            for wait in (0.0, *waits):
                await asyncio.sleep(wait)
                found = await backend.traces(
                    self.function,
                    start_ms=wanted.start_ms,
                    end_ms=wanted.end_ms,
                    request_id=rid,
                )
                if found:
                    break
            trace = await backend.trace(found[0].id) if found else None
        except NotAvailable:
            self.post_message(Loaded("trace", None, NOT_YET.format(what="traces"), rid))
        except BackendError as exc:
            self.post_message(Loaded("trace", None, f"✖ {exc.code}: {exc.message}", rid))
        else:
            self.post_message(Loaded("trace", trace, wanted.missing(), rid))

    def on_loaded(self, message: Loaded) -> None:
        if message.pane not in ("traces", "trace"):
            return
        message.stop()
        detail = self.query_one(".waterfall", Static)
        if message.pane == "traces":
            if message.value is None:
                detail.update(Text(message.problem, style="dim italic"))
            else:
                self._list(message.value)  # type: ignore[arg-type]
            return
        self.request_id = message.request_id or None
        if message.value is None:
            self.shown = None
            detail.update(Text(message.problem, style="dim italic"))
            return
        trace: Trace = message.value  # type: ignore[assignment]
        self.shown = trace.id
        if self.request_id:
            self._to_select = trace.id
            self._select()
        width = max(10, self.size.width - 24 - 1 - 10 - 10)  # label, gap, duration, flag
        detail.update(self._title(trace).append_text(waterfall(trace, width)))

    def _title(self, trace: Trace) -> Text:
        title = Text(f"trace {trace.id}", style="bold")
        if self.request_id:
            title.append(f"  ·  request {self.request_id[:8]}", style="dim")
        return title.append("\n")

    def _list(self, traces: Sequence[TraceSummary]) -> None:
        def status(t: TraceSummary) -> Text:
            if t.has_fault or t.has_error or t.has_throttle:
                word = "fault" if t.has_fault else "error" if t.has_error else "throttle"
                return Text(word, style="bold red")
            return Text("ok", style="green")

        self.query_one(ResourceTable).sync(
            [
                (
                    t.id,
                    (t.id, clock(int(t.start * 1000)), fmt.duration(t.duration * 1000), status(t)),
                )
                for t in traces
            ]
        )
        self._select()

    def _select(self) -> None:
        """Once the list has the trace opened for a request, put the table's cursor on it."""
        table = self.query_one(ResourceTable)
        trace_id = self._to_select
        if trace_id is not None and trace_id in table.rows:
            self._to_select = None
            table.move_cursor(row=table.get_row_index(trace_id), animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.open_trace(event.row_key.value)
