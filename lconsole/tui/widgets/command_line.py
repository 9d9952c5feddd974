"""The `:` command line, with completion from `commands.complete` and inline errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from lconsole.tui import commands


class _Completer(Suggester):
    def __init__(self, functions: Callable[[], Sequence[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._functions = functions

    async def get_suggestion(self, value: str) -> str | None:
        found = commands.complete(value, self._functions())
        return found[0] if found else None


class CommandInput(Input):
    BINDINGS = [
        Binding("tab", "accept", "complete", id="command.complete", tooltip="accept completion"),
        Binding("escape", "close", "close", id="command.close", tooltip="close the command line"),
    ]

    def action_accept(self) -> None:
        if self._suggestion:
            self.value = self._suggestion
            self.cursor_position = len(self.value)

    def action_close(self) -> None:
        self.parent.close()  # type: ignore[union-attr]


class CommandLine(Vertical):
    """Shown by `:`; posts `Run` with a parsed command, or shows why it cannot run."""

    class Run(Message):
        def __init__(self, command: commands.Command) -> None:
            super().__init__()
            self.command = command

    def __init__(self, functions: Callable[[], Sequence[str]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._functions = functions

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", classes="command-error")
        yield CommandInput(
            placeholder=":functions  :logs NAME  :invoke NAME  :theme light  (tab completes)",
            suggester=_Completer(self._functions),
        )

    def on_mount(self) -> None:
        self.close(refocus=False)

    def open(self) -> None:
        self.display = True
        self.query_one(Static).update("")
        field = self.query_one(CommandInput)
        field.disabled = False
        field.value = ""
        field.focus()

    def close(self, refocus: bool = True) -> None:
        """Hidden and disabled, so nothing focuses it until `:` opens it again."""
        self.display = False
        self.query_one(CommandInput).disabled = True
        if refocus:
            self.screen.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            command = commands.parse(event.value, list(self._functions()))
        except commands.CommandError as exc:
            self.query_one(Static).update(f"✖ {exc}")
            return
        self.close()
        self.post_message(self.Run(command))
