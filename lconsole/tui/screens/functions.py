"""The Functions view: every function with its live figures; `/` filters, `enter` opens."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from lconsole.backends.base import EnvironmentInfo, FunctionInfo
from lconsole.tui import format as fmt
from lconsole.tui.filtering import matcher
from lconsole.tui.keys import key
from lconsole.tui.screens.base import ConsoleScreen
from lconsole.tui.stats import FunctionStats, summarise
from lconsole.tui.widgets.filter_bar import FilterBar
from lconsole.tui.widgets.resource_table import ResourceTable

COLUMNS = [
    ("NAME", "name"),
    ("RUNTIME", "runtime"),
    ("MEM", "memory"),
    ("INV/M", "rate"),
    ("ERR", "errors"),
    ("P99", "p99"),
    ("COLD", "cold"),
    ("W/B", "envs"),
    ("LAST", "last"),
]


def function_row(
    fn: FunctionInfo, stats: FunctionStats, envs: list[EnvironmentInfo], now_ms: int
) -> tuple[object, ...]:
    warm = sum(e.state == "idle" for e in envs)
    busy = sum(e.state == "busy" for e in envs)
    errors = Text(fmt.percent(stats.error_rate))
    if stats.error_rate:
        errors.stylize("bold red")
    last = None if stats.last_ms is None else (now_ms - stats.last_ms) / 1000
    return (
        fn.name,
        fn.runtime or "-",
        fmt.megabytes(fn.memory_size),
        fmt.rate(stats.per_minute),
        errors,
        fmt.duration(stats.p99_ms),
        fmt.percent(stats.cold_rate),
        f"{warm}/{busy}" if envs or stats.last_ms else "-",
        fmt.age(last),
    )


class FunctionsScreen(ConsoleScreen):
    crumbs = ("functions",)
    BINDINGS = [
        key("enter", "open", "open", "functions.open", tooltip="open the selected function"),
        key("i", "invoke", "invoke", "functions.invoke", tooltip="invoke the selected function"),
        key("slash", "filter", "filter", "functions.filter", tooltip="filter by name or runtime"),
        key("p", "pulses", "pulses", "functions.pulses", tooltip="sparklines of every function"),
        key("r", "reload", "reload", "functions.reload", tooltip="poll the backend now"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._filter = ""

    def compose_body(self) -> ComposeResult:
        yield FilterBar(id="filter")
        yield ResourceTable(COLUMNS, id="functions")
        yield Static("", id="functions-empty", classes="empty")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ResourceTable).focus()

    def refresh_view(self) -> None:
        state = self.console.state
        now_ms = self.console.now_ms()
        keep = matcher(self._filter)
        rows = []
        for name, fn in state.functions.items():
            if not keep(f"{name} {fn.runtime or ''} {fn.description}"):
                continue
            stats = summarise(state.invocations(name), now_ms)
            rows.append((name, function_row(fn, stats, state.environments.get(name, []), now_ms)))
        self.query_one(ResourceTable).sync(rows)
        empty = self.query_one("#functions-empty", Static)
        empty.display = not rows
        if not state.loaded:
            empty.update("loading functions…")
        elif not rows:
            empty.update(
                f"no function matches {self._filter!r} (esc clears the filter)"
                if self._filter
                else "no functions yet: deploy one with `lconsole deploy DIR --name NAME ...`"
            )

    def on_filter_bar_updated(self, message: FilterBar.Updated) -> None:
        self._filter = message.text
        self.refresh_view()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def selected(self) -> str | None:
        return self.query_one(ResourceTable).selected_key

    def action_open(self) -> None:
        if name := self.selected():
            self.console.open_function(name)

    def action_invoke(self) -> None:
        if name := self.selected():
            self.console.open_invoke(name)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def action_pulses(self) -> None:
        self.console.open_pulses()

    def action_reload(self) -> None:
        self.console.feed.wake()
