"""`?`: every key of the view underneath, generated from its active bindings."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label

from lconsole.tui.keys import key
from lconsole.tui.widgets.footer import KeysFooter
from lconsole.tui.widgets.rendered import RenderedOnce


def bindings_table(rows: Iterable[tuple[str, Binding, bool]]) -> Table:
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    table.add_column("KEY", no_wrap=True)
    table.add_column("DOES")
    table.add_column("ID (remap in keymap.toml)", style="dim", no_wrap=True)
    seen: set[str] = set()
    # The console's own keys (ids like "function.invoke") first, then the widgets' own; within
    # each, the keys that work here before those that do not (on this tab, say).
    ordered = sorted(rows, key=lambda row: ("." not in (row[1].id or ""), not row[2]))
    for shown_key, binding, enabled in ordered:
        ident = binding.id or binding.action
        if ident in seen or binding.system:
            continue
        seen.add(ident)
        what = binding.tooltip or binding.description or binding.action
        table.add_row(shown_key, what if enabled else f"{what} (not now)", ident)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [key("escape,question_mark,q", "dismiss", "close", "help.close")]

    def __init__(self, title: str, rows: list[tuple[str, Binding, bool]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(f"Keys: {self.title_text}", classes="dialog-title")
            with VerticalScroll():
                yield RenderedOnce(bindings_table(self.rows))
        yield KeysFooter(show_command_palette=False)
