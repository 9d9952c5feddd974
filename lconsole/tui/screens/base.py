"""What every full screen has: the top bar, the engine-gone banner, `:` line and footer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from lconsole.tui.keys import MUTATING
from lconsole.tui.messages import StateChanged
from lconsole.tui.widgets.command_line import CommandLine
from lconsole.tui.widgets.footer import KeysFooter
from lconsole.tui.widgets.header import TopBar

if TYPE_CHECKING:
    from lconsole.tui.app import LconsoleApp


class ConsoleScreen(Screen[None]):
    """Subclasses yield their body from `compose_body` and redraw in `refresh_view`."""

    crumbs: tuple[str, ...] = ()

    @property
    def console(self) -> LconsoleApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static("", classes="banner")
        yield from self.compose_body()
        yield CommandLine(lambda: list(self.console.state.functions), classes="command-line")
        yield KeysFooter(show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self._update_chrome()
        self.refresh_view()

    def on_screen_resume(self) -> None:
        self._update_chrome()
        self.refresh_view()

    def on_state_changed(self, message: StateChanged) -> None:
        self._update_chrome()
        self.refresh_view()

    def refresh_view(self) -> None:
        """Redraw from `self.console.state`; cheap, called a few times a second at most."""

    def _update_chrome(self) -> None:
        state = self.console.state
        bar = self.query_one(TopBar)
        bar.crumbs = self.crumbs
        bar.where = state.capabilities.where
        bar.read_only = self.console.read_only
        bar.connected = state.connected
        bar.mode = "live" if state.capabilities.live else "polling"
        banner = self.query_one(".banner", Static)
        banner.display = not state.connected
        if not state.connected:
            banner.update(
                f"⚠ engine unreachable ({state.problem or 'no answer'}); showing what was last "
                "seen, reconnecting…"
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Under --read-only, actions that change something are hidden and refused."""
        return not (self.console.read_only and action in MUTATING)

    def open_command_line(self) -> None:
        self.query_one(CommandLine).open()
