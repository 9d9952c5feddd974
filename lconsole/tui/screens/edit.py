"""Edit $LATEST's memory, timeout, description and environment; checked before it is sent."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static, TextArea

from lconsole.backends.base import (
    BackendError,
    ConcurrencyInfo,
    ConfigurationChange,
    FunctionInfo,
)
from lconsole.tui.keys import key

MEMORY = (128, 10240)  # MB, AWS's range
TIMEOUT = (1, 900)  # seconds


class EditError(ValueError):
    pass


def parse_change(
    fn: FunctionInfo, memory: str, timeout: str, description: str, env: str
) -> ConfigurationChange:
    """Only what differs from `fn`; `KEY=VALUE` lines for the environment."""

    def number(text: str, label: str, bounds: tuple[int, int]) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise EditError(f"{label} must be a whole number, got {text.strip()!r}") from None
        if not bounds[0] <= value <= bounds[1]:
            raise EditError(f"{label} must be between {bounds[0]} and {bounds[1]}, got {value}")
        return value

    mem = number(memory, "memory (MB)", MEMORY)
    secs = number(timeout, "timeout (s)", TIMEOUT)
    variables: dict[str, str] = {}
    for n, line in enumerate(env.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise EditError(f"environment line {n}: expected KEY=VALUE, got {line.strip()!r}")
        variables[name.strip()] = value
    return ConfigurationChange(
        memory_size=mem if mem != fn.memory_size else None,
        timeout=secs if secs != fn.timeout else None,
        description=description if description != fn.description else None,
        environment=variables if variables != fn.environment else None,
    )


def parse_reserved(text: str) -> int | None:
    """Reserved concurrency: blank for none (the unreserved pool), else a whole number >= 0."""
    text = text.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise EditError(f"reserved concurrency must be a whole number, got {text!r}") from None
    if value < 0:
        raise EditError(f"reserved concurrency cannot be negative, got {value}")
    return value


class Saved(Message):
    def __init__(self, problem: str = "") -> None:
        super().__init__()
        self.problem = problem


class EditScreen(ModalScreen[None]):
    BINDINGS = [
        key("ctrl+s", "save", "save", "edit.save", tooltip="update the configuration"),
        key("escape", "dismiss", "cancel", "edit.cancel", tooltip="close without saving"),
    ]

    def __init__(
        self,
        fn: FunctionInfo,
        concurrency: ConcurrencyInfo | None = None,
        on_done: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.fn = fn
        self.concurrency = concurrency
        self.on_done = on_done

    def compose(self) -> ComposeResult:
        fn = self.fn
        env = "\n".join(f"{k}={v}" for k, v in sorted(fn.environment.items()))
        with Vertical(classes="dialog edit"):
            yield Label(f"Configuration of {fn.name} ($LATEST)", classes="dialog-title")
            yield Static("ctrl+s saves · esc cancels · tab moves", id="edit-message")
            with Horizontal(classes="field"):
                yield Label("memory MB (128-10240)")
                yield Input(str(fn.memory_size), id="memory")
            with Horizontal(classes="field"):
                yield Label("timeout s (1-900)")
                yield Input(str(fn.timeout), id="timeout")
            with Horizontal(classes="field"):
                yield Label("description")
                yield Input(fn.description, id="description")
            if self.concurrency is not None:
                reserved = self.concurrency.reserved
                with Horizontal(classes="field"):
                    yield Label("reserved concurrency")
                    yield Input(
                        "" if reserved is None else str(reserved),
                        placeholder="none (unreserved pool)",
                        id="reserved",
                    )
            yield Label("environment, one KEY=VALUE a line")
            yield TextArea(env, id="env")
        yield Footer(show_command_palette=False)

    def action_save(self) -> None:
        try:
            change = parse_change(
                self.fn,
                self.query_one("#memory", Input).value,
                self.query_one("#timeout", Input).value,
                self.query_one("#description", Input).value,
                self.query_one("#env", TextArea).text,
            )
            reserved = self.concurrency.reserved if self.concurrency else None
            if self.concurrency is not None:
                reserved = parse_reserved(self.query_one("#reserved", Input).value)
        except EditError as exc:
            self.query_one("#edit-message", Static).update(f"✖ {exc}")
            return
        reserved_changed = self.concurrency is not None and reserved != self.concurrency.reserved
        if not change.configuration() and not reserved_changed:
            self.query_one("#edit-message", Static).update("nothing changed")
            return
        self.query_one("#edit-message", Static).update("saving…")
        self.save(change, reserved, reserved_changed)

    @work(exclusive=True, group="edit")
    async def save(self, change: ConfigurationChange, reserved: int | None, put: bool) -> None:
        backend = self.app.backend  # type: ignore[attr-defined]
        try:
            if change.configuration():
                await backend.update_configuration(self.fn.name, change)
            if put:
                await backend.put_reserved_concurrency(self.fn.name, reserved)
        except BackendError as exc:
            self.post_message(Saved(f"{exc.code}: {exc.message}"))
            return
        self.post_message(Saved())

    def on_saved(self, message: Saved) -> None:
        if message.problem:
            self.query_one("#edit-message", Static).update(f"✖ {message.problem}")
            return
        if self.on_done is not None:
            self.on_done()
        self.dismiss()
