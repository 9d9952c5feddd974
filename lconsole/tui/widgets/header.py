"""The top line: where you are, which backend, read-only, and whether it answers."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class TopBar(Static):
    """Breadcrumbs on the left; backend, read-only badge and connection on the right."""

    crumbs: reactive[tuple[str, ...]] = reactive(tuple)
    where: reactive[str] = reactive("")
    read_only: reactive[bool] = reactive(False)
    connected: reactive[bool] = reactive(True)
    mode: reactive[str] = reactive("")  # "live" (stream) or "polling"

    def render(self) -> Text:
        left = Text(" lconsole", style="bold")
        for crumb in self.crumbs:
            left.append(" › ", style="dim")
            left.append(crumb, style="bold")
        right = Text()
        if self.where:
            right.append(self.where, style="dim")
        if self.read_only:
            right.append("  ")
            right.append(" READ-ONLY ", style="reverse bold")
        right.append("  ")
        if self.connected:
            right.append(f"● {self.mode or 'connected'} ", style="green")
        else:
            right.append("✖ disconnected ", style="bold red")
        gap = max(1, self.size.width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
