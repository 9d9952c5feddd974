"""The `/` filter line: hidden until asked for, live as you type, `esc` clears it."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    BINDINGS = [
        Binding("escape", "clear", "clear filter", id="filter.clear", tooltip="clear the filter"),
    ]

    class Updated(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            placeholder="filter: text or regex, ! to invert; enter keeps it, esc clears",
            **kwargs,  # type: ignore[arg-type]
        )

    def on_mount(self) -> None:
        self.display = False
        self.disabled = True  # nothing focuses it until `/` opens it

    def open(self) -> None:
        self.disabled = False
        self.display = True
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Updated(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.display = False
            self.disabled = True
        self.screen.focus_next()

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.disabled = True
        self.post_message(self.Updated(""))
        self.screen.focus_next()
