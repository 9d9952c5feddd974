"""A function's traces: the list with duration and status, and one trace as a waterfall."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from lconsole.backends.base import (
    BackendError,
    NotAvailable,
    TraceSummary,
)
from lconsole.tui import format as fmt
from lconsole.tui.rows import clock
from lconsole.tui.waterfall import waterfall
from lconsole.tui.widgets.resource_table import ResourceTable

NOT_YET = "{what} are not available yet on this engine"


class Loaded(Message):
    def __init__(self, pane: str, value: object, problem: str = "") -> None:
        super().__init__()
        self.pane = pane
        self.value = value
        self.problem = problem


class TracesPane(Vertical):
    def __init__(self, function: str) -> None:
        super().__init__()
        self.function = function

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

    def on_loaded(self, message: Loaded) -> None:
        if message.pane not in ("traces", "trace"):
            return
        message.stop()
        detail = self.query_one(".waterfall", Static)
        if message.value is None:
            detail.update(Text(message.problem, style="dim italic"))
        elif message.pane == "trace":
            width = max(10, self.size.width - 24 - 1 - 10 - 10)  # label, gap, duration, flag
            detail.update(waterfall(message.value, width))  # type: ignore[arg-type]
        else:
            self._list(message.value)  # type: ignore[arg-type]

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

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.open_trace(event.row_key.value)
