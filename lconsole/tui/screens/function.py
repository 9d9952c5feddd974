"""One function: configuration, versions, aliases, environments, invocations and telemetry.

From an invocation (its row, or a log line of it) `enter` shows its log lines and `x` its
trace, so a slow or failed request is two keys from its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from lconsole.backends.base import (
    AliasInfo,
    BackendError,
    ConcurrencyInfo,
    FunctionInfo,
    LogLine,
)
from lconsole.tui import rows
from lconsole.tui.keys import key
from lconsole.tui.screens.base import ConsoleScreen
from lconsole.tui.stats import error_rate_by_version
from lconsole.tui.widgets.config_view import config_sheet
from lconsole.tui.widgets.log_view import LogView
from lconsole.tui.widgets.logs_pane import LogsPane
from lconsole.tui.widgets.metrics_view import MetricsView
from lconsole.tui.widgets.resource_table import ResourceTable
from lconsole.tui.widgets.text import set_text
from lconsole.tui.widgets.traces_pane import RequestTrace, TracesPane

TABS = ("config", "versions", "aliases", "envs", "invocations", "logs", "traces", "metrics")
SHOWN = 100  # invocation rows on screen; the state keeps more for the figures
# A trace starts when Lambda received the request: up to 6 hours before an async event runs.
TRACE_BEFORE_MS = 6 * 3_600_000 + 60_000
TRACE_AFTER_MS = 60_000
RECENT_MS = 30_000  # an invocation this fresh may not have all its segments stored yet
# Which actions make sense on which tab; elsewhere they are hidden from the footer.
TAB_ACTIONS = {"drill": ("invocations",), "trace": ("invocations", "logs")}


@dataclass(frozen=True)
class Detail:
    latest: FunctionInfo
    versions: list[FunctionInfo]
    aliases: list[AliasInfo]
    concurrency: ConcurrencyInfo | None


class DetailLoaded(Message):
    def __init__(self, detail: Detail | None, problem: str = "") -> None:
        super().__init__()
        self.detail = detail
        self.problem = problem


class FunctionScreen(ConsoleScreen):
    BINDINGS = [
        key("i", "invoke", "invoke", "function.invoke", tooltip="invoke this function"),
        key("P", "publish", "publish", "function.publish", tooltip="publish $LATEST as a version"),
        key("t", "traffic", "traffic", "function.traffic", tooltip="shift the selected alias"),
        key("e", "edit_config", "edit", "function.edit", tooltip="edit memory, timeout, env"),
        key("enter", "drill", "logs", "function.drill", tooltip="logs of this invocation"),
        key("x", "trace", "trace", "function.trace", tooltip="trace of this invocation (X-Ray)"),
        key(
            "r", "reload", "reload", "function.reload", tooltip="poll the backend now", show=False
        ),
        *(
            key(str(i + 1), f"tab('{t}')", t, f"function.tab.{t}", show=False)
            for i, t in enumerate(TABS)
        ),
    ]

    def __init__(self, name: str, tab: str = "invocations") -> None:
        super().__init__()
        self.function = name
        self.crumbs = ("functions", name)
        self.initial_tab = tab if tab in TABS else "invocations"
        self.detail: Detail | None = None

    def compose_body(self) -> ComposeResult:
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            with TabPane("config", id="config"):
                yield Static("loading…", id="config-sheet")
            with TabPane("versions", id="versions"):
                yield ResourceTable(
                    [
                        ("VER", "v"),
                        ("DESCRIPTION", "d"),
                        ("CODE", "c"),
                        ("MEM", "m"),
                        ("MODIFIED", "t"),
                        ("ALIASES", "a"),
                    ],
                    id="versions-table",
                )
            with TabPane("aliases", id="aliases"):
                yield ResourceTable(
                    [("ALIAS", "n"), ("TRAFFIC", "b"), ("ERRORS BY VERSION", "e")],
                    id="aliases-table",
                )
                yield Static("", id="aliases-note", classes="hint")
            with TabPane("envs", id="envs"):
                yield ResourceTable(
                    [
                        ("ENVIRONMENT", "id"),
                        ("VER", "v"),
                        ("STATE", "s"),
                        ("AGE", "a"),
                        ("INV", "n"),
                        ("MAX MEM", "m"),
                    ],
                    id="envs-table",
                )
                yield Static("", id="envs-note", classes="empty")
            with TabPane("invocations", id="invocations"):
                yield ResourceTable(
                    [
                        ("REQUEST", "id"),
                        ("TIME", "t"),
                        ("VER", "v"),
                        ("START", "k"),
                        ("DURATION", "d"),
                        ("BILLED", "b"),
                        ("MEM", "m"),
                        ("STATUS", "s"),
                        ("COST", "c"),
                    ],
                    id="invocations-table",
                )
                yield Static("", id="invocations-note", classes="empty")
            with TabPane("logs", id="logs"):
                yield LogsPane(self.function)
            with TabPane("traces", id="traces"):
                yield TracesPane(self.function)
            with TabPane("metrics", id="metrics"):
                yield MetricsView(self.function)

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    @work(exclusive=True, group="detail")
    async def load(self) -> None:
        backend = self.console.backend
        name = self.function
        try:
            latest = await backend.get_function(name)
            versions = await backend.list_versions(name)
            aliases = await backend.list_aliases(name)
            try:
                concurrency: ConcurrencyInfo | None = await backend.concurrency(name)
            except BackendError:
                concurrency = None
        except BackendError as exc:
            self.post_message(DetailLoaded(None, f"{exc.code}: {exc.message}"))
            return
        self.post_message(DetailLoaded(Detail(latest, versions, aliases, concurrency)))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if message.detail is None:
            if self.detail is None:
                self.query_one("#config-sheet", Static).update(f"✖ {message.problem}")
            else:
                self.notify(message.problem, title="reload failed", severity="warning")
            return
        self.detail = message.detail
        self.query_one("#config-sheet", Static).update(
            config_sheet(message.detail.latest, message.detail.concurrency)
        )
        self.refresh_view()

    def refresh_view(self) -> None:
        """Only the tab on screen is redrawn: hidden tables cost nothing under a burst."""
        active = self.query_one(TabbedContent).active
        state = self.console.state
        now_ms = self.console.now_ms()
        caps = state.capabilities
        if active == "metrics":
            self.query_one(MetricsView).show(state.invocations(self.function), now_ms)
        elif active == "invocations":
            recent = state.invocations(self.function)
            newest = recent[-SHOWN:][::-1]
            tz = self.console.tz
            self.query_one("#invocations-table", ResourceTable).sync(
                [(r.request_id, rows.invocation_row(r, tz)) for r in newest], coalesce=True
            )
            note = self.query_one("#invocations-note", Static)
            note.display = not newest
            set_text(
                note,
                "no invocations yet: press i to invoke"
                if caps.invocations
                else "invocation records are not available yet on this engine"
            )
        elif active == "envs":
            envs = state.environments.get(self.function, [])
            self.query_one("#envs-table", ResourceTable).sync(
                [(e.environment_id, rows.environment_row(e, now_ms)) for e in envs]
            )
            note = self.query_one("#envs-note", Static)
            note.display = not envs
            set_text(
                note,
                "no execution environments: the next invocation starts one (cold)"
                if caps.environments
                else "this backend does not show execution environments"
            )
        if self.detail is None:
            return
        aliases = self.detail.aliases
        if active == "versions":
            self.query_one("#versions-table", ResourceTable).sync(
                [(v.version, rows.version_row(v, aliases)) for v in reversed(self.detail.versions)]
            )
        elif active == "aliases":
            errors = error_rate_by_version(state.invocations(self.function))
            self.query_one("#aliases-table", ResourceTable).sync(
                [(a.name, rows.alias_row(a, errors)) for a in aliases]
            )
            set_text(
                self.query_one("#aliases-note", Static),
                "t shifts traffic of the selected alias" if aliases else "no aliases"
            )

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.load()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        tabs = TAB_ACTIONS.get(action)
        if not allowed or tabs is None:
            return allowed
        try:
            active = self.query_one(TabbedContent).active
        except NoMatches:  # asked before the tabs exist
            return None
        # Dimmed, not hidden, on other tabs: the footer keeps its keys where they were (and
        # restyles two of them instead of rebuilding itself on every tab switch).
        return True if active in tabs else None

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Keys go to what the tab shows: its table, log or sheet.

        The tab is painted first and filled right after: refilling a table (~40 ms for a full
        invocations list) would otherwise hold back the frame that answers the key.
        """
        self.call_after_refresh(self.refresh_view)
        self.refresh_bindings()
        pane = event.tabbed_content.active_pane
        if pane is None:
            return
        for widget in pane.query("DataTable, LogView"):
            if widget.focusable:
                widget.focus()
                return

    def action_reload(self) -> None:
        self.load()
        self.console.feed.wake()

    def action_invoke(self) -> None:
        self.console.open_invoke(self.function, self._qualifiers())

    def action_publish(self) -> None:
        self.console.publish(self.function, self.load)

    def action_edit_config(self) -> None:
        if self.detail is not None:
            self.console.open_config_editor(self.detail.latest, self.detail.concurrency, self.load)

    def action_traffic(self) -> None:
        if self.detail is None or not self.detail.aliases:
            self.notify("this function has no aliases to shift", severity="warning")
            return
        table = self.query_one("#aliases-table", ResourceTable)
        chosen = table.selected_key or self.detail.aliases[0].name
        alias = next(a for a in self.detail.aliases if a.name == chosen)
        versions = [v.version for v in self.detail.versions if v.version != "$LATEST"]
        self.console.open_traffic(self.function, alias, versions, self.load)

    def action_drill(self) -> None:
        """From an invocation to its log lines."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != "invocations":
            return
        table = self.query_one("#invocations-table", ResourceTable)
        if table.selected_key:
            tabs.active = "logs"
            self.query_one(LogsPane).show_request(table.selected_key)

    def action_trace(self) -> None:
        """From an invocation (its row, or a log line of it) to its trace's waterfall."""
        request_id = self._chosen_request()
        if request_id is None:
            self.notify("choose an invocation (or a log line of one) first", severity="warning")
            return
        self.query_one(TabbedContent).active = "traces"
        self.query_one(TracesPane).show_request(self._request_trace(request_id))

    def _chosen_request(self) -> str | None:
        active = self.query_one(TabbedContent).active
        if active == "invocations":
            return self.query_one("#invocations-table", ResourceTable).selected_key
        if active == "logs":
            line = self.query_one(LogView).cursor_item
            if isinstance(line, LogLine) and line.request_id:
                return line.request_id
            return self.query_one(LogsPane).request_id
        return None

    def _request_trace(self, request_id: str) -> RequestTrace:
        """Where to look for the trace, and whether a miss means "not sampled" or "not traced"."""
        invocation = next(
            (
                r
                for r in self.console.state.invocations(self.function)
                if r.request_id == request_id
            ),
            None,
        )
        config = self.console.state.functions.get(self.function)
        if self.detail is not None:
            config = self.detail.latest
            if invocation is not None:
                executed = invocation.executed_version
                config = next((v for v in self.detail.versions if v.version == executed), config)
        active = config is not None and config.tracing_mode == "Active"
        if invocation is None:
            return RequestTrace(request_id, active=active)
        return RequestTrace(
            request_id,
            start_ms=invocation.start_ms - TRACE_BEFORE_MS,
            end_ms=invocation.start_ms + TRACE_AFTER_MS,
            active=active,
            recent=self.console.now_ms() - invocation.start_ms < RECENT_MS,
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "invocations-table":
            self.action_drill()
        elif event.data_table.id == "aliases-table":
            self.action_traffic()

    def _qualifiers(self) -> list[str]:
        if self.detail is None:
            return ["$LATEST"]
        versions = [v.version for v in self.detail.versions if v.version != "$LATEST"]
        return ["$LATEST", *[a.name for a in self.detail.aliases], *reversed(versions)]
