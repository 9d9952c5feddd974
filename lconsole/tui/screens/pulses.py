"""Pulses: a grid of per-function sparklines; `enter` drills into the selected function."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label, Sparkline

from lconsole.tui import format as fmt
from lconsole.tui.keys import key
from lconsole.tui.screens.base import ConsoleScreen
from lconsole.tui.stats import buckets, summarise
from lconsole.tui.widgets.text import set_text


class Pulse(Vertical, can_focus=True):
    def __init__(self, function: str) -> None:
        super().__init__(classes="pulse")
        self.function = function

    def compose(self) -> ComposeResult:
        yield Label(self.function, classes="pulse-title")
        yield Sparkline([0.0] * 30, classes="spark-invocations")
        yield Sparkline([0.0] * 30, classes="spark-errors")
        yield Label("", classes="pulse-figures")


class PulsesScreen(ConsoleScreen):
    crumbs = ("pulses",)
    BINDINGS = [
        key("enter", "open", "open", "pulses.open", tooltip="open the focused function"),
        key("right,l", "app.focus_next", "next", "pulses.next", show=False),
        key("left,h", "app.focus_previous", "previous", "pulses.previous", show=False),
    ]

    def compose_body(self):  # type: ignore[no-untyped-def]
        yield Grid(id="pulses")

    def refresh_view(self) -> None:
        state = self.console.state
        grid = self.query_one("#pulses", Grid)
        have = {p.function: p for p in grid.query(Pulse)}
        if list(have) != list(state.functions):
            grid.remove_children()
            grid.mount_all([Pulse(name) for name in state.functions])
            self.call_after_refresh(self.refresh_view)
            return
        now_ms = self.console.now_ms()
        for name, pulse in have.items():
            recent = state.invocations(name)
            sparks = list(pulse.query(Sparkline))
            sparks[0].data = buckets(recent, now_ms)
            sparks[1].data = buckets(recent, now_ms, what="errors")
            s = summarise(recent, now_ms)
            set_text(
                pulse.query_one(".pulse-figures", Label),
                f"{fmt.rate(s.per_minute)}/min  err {fmt.percent(s.error_rate)}  "
                f"p99 {fmt.duration(s.p99_ms)}  cold {fmt.percent(s.cold_rate)}",
            )
        if self.focused is None and have:
            next(iter(have.values())).focus()

    def action_open(self) -> None:
        if isinstance(self.focused, Pulse):
            self.console.open_function(self.focused.function)
