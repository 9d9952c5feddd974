"""Shift an alias's traffic: steps of 1 and 10 points, pick the target, apply after a yes."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from lconsole.backends.base import AliasInfo, BackendError
from lconsole.tui import format as fmt
from lconsole.tui.keys import MUTATING, key
from lconsole.tui.stats import WINDOW_S, error_rate_by_version
from lconsole.tui.traffic import Shift, ShiftError
from lconsole.tui.widgets.text import set_text
from lconsole.tui.widgets.traffic_bar import traffic_bar


class Applied(Message):
    def __init__(self, alias: AliasInfo | None, problem: str = "") -> None:
        super().__init__()
        self.alias = alias
        self.problem = problem


class TrafficScreen(ModalScreen[None]):
    AUTO_FOCUS = None  # keys go to the screen; the weight field takes focus only when opened
    BINDINGS = [
        key(
            "right,plus",
            "shift(1)",
            "+1",
            "traffic.up1",
            key_display="→",
            tooltip="1 point more to the target",
        ),
        key(
            "left,minus",
            "shift(-1)",
            "-1",
            "traffic.down1",
            key_display="←",
            tooltip="1 point less to the target",
        ),
        key(
            "shift+right,right_square_bracket",
            "shift(10)",
            "+10",
            "traffic.up10",
            key_display="]",
            tooltip="10 points more to the target",
        ),
        key(
            "shift+left,left_square_bracket",
            "shift(-10)",
            "-10",
            "traffic.down10",
            key_display="[",
            tooltip="10 points less to the target",
        ),
        key("v", "target", "target", "traffic.target", tooltip="choose the target version"),
        key(
            "equals_sign",
            "set_weight",
            "type %",
            "traffic.type",
            key_display="=",
            tooltip="type a weight",
        ),
        key("enter", "apply", "apply", "traffic.apply", tooltip="apply the split (asks first)"),
        key("P", "promote", "promote", "traffic.promote", tooltip="send 100% to the target"),
        key("R", "rollback", "roll back", "traffic.rollback", tooltip="send 0% to the target"),
        key("y", "confirm", "yes", "traffic.yes", show=False),
        key("n", "cancel", "no", "traffic.no", show=False),
        key("escape", "close", "close", "traffic.close", tooltip="close without changing"),
    ]

    def __init__(
        self,
        function: str,
        alias: AliasInfo,
        versions: list[str],
        on_done: Callable[[], object] | None = None,
    ) -> None:
        super().__init__()
        self.function = function
        self.alias = alias
        self.versions = versions
        self.on_done = on_done
        self.shift = Shift.of(alias, versions)
        self.pending: Shift | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog traffic"):
            yield Label(f"Traffic of {self.function}:{self.alias.name}", classes="dialog-title")
            yield Static("", id="traffic-now")
            yield Static("", id="traffic-next")
            yield Static("", id="traffic-errors")
            yield Input(placeholder="weight % for the target, 0-100, enter sets it", id="weight")
            yield Static("", id="traffic-message")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.display = False
        field.disabled = True  # so nothing focuses it until `=` opens it
        self._draw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if getattr(self.app, "read_only", False) and action in MUTATING:
            return False
        if action in ("confirm", "cancel"):
            return self.pending is not None
        return True

    def on_state_changed(self, message: Message) -> None:
        self._draw()

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#traffic-message", Static).update(Text(text, style=style))

    def _draw(self) -> None:
        self.query_one("#traffic-now", Static).update(
            Text.assemble(("now   ", "bold"), traffic_bar(self.alias.split(), 30))
        )
        target = f"v{self.shift.target}" if self.shift.target else "none"
        self.query_one("#traffic-next", Static).update(
            Text.assemble(
                ("new   ", "bold"),
                traffic_bar(self.shift.split(), 30),
                f"  → {target}",
            )
        )
        now_ms = self.app.now_ms()  # type: ignore[attr-defined]
        recent = [
            r
            for r in self.app.state.invocations(self.function)  # type: ignore[attr-defined]
            if r.start_ms >= now_ms - WINDOW_S * 1000
        ]
        rates = error_rate_by_version(recent)
        parts = [
            f"v{v}: {fmt.percent(rates[v][1], 1)} errors of {rates[v][0]}"
            if v in rates
            else f"v{v}: no invocations"
            for v in dict.fromkeys([self.shift.primary, self.shift.target or ""])
            if v
        ]
        set_text(self.query_one("#traffic-errors", Static), "last 5 min  " + "   ".join(parts))

    def _change(self, shift: Shift) -> None:
        self.shift = shift
        self.pending = None
        self._say("")
        self._draw()
        self.refresh_bindings()

    def action_shift(self, points: int) -> None:
        self._change(self.shift.by(points))

    def action_target(self) -> None:
        try:
            self._change(self.shift.next_target(self.versions))
        except ShiftError as exc:
            self._say(f"✖ {exc}", "bold red")

    def action_set_weight(self) -> None:
        field = self.query_one(Input)
        field.disabled = False
        field.display = True
        field.value = str(self.shift.weight)
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip().rstrip("%")
        try:
            weight = int(text)
            shift = self.shift.to(weight)
        except ValueError as exc:
            message = str(exc) if isinstance(exc, ShiftError) else f"{text!r} is not a number"
            self._say(f"✖ {message}", "bold red")
            return
        event.input.display = False
        event.input.disabled = True
        self.set_focus(None)
        self._change(shift)

    def _ask(self, shift: Shift) -> None:
        try:
            shift.update()
        except ShiftError as exc:
            self._say(f"✖ {exc}", "bold red")
            return
        self.shift = shift
        self.pending = shift
        self._draw()
        words = "  ".join(f"v{v} {fmt.percent(s)}" for v, s in shift.split())
        self._say(f"Shift live traffic to {words}?  y applies, n cancels", "bold yellow")
        self.refresh_bindings()

    def action_apply(self) -> None:
        self._ask(self.shift)

    def action_promote(self) -> None:
        self._ask(self.shift.promote())

    def action_rollback(self) -> None:
        self._ask(self.shift.rollback())

    def action_cancel(self) -> None:
        self.pending = None
        self._say("not applied")
        self.refresh_bindings()

    def action_confirm(self) -> None:
        if self.pending is None or self.busy:
            return
        self.busy = True
        self._say("applying…")
        self.apply(self.pending)

    def action_close(self) -> None:
        field = self.query_one(Input)
        if field.display:  # esc leaves the weight field first, then the dialog
            field.display = False
            field.disabled = True
            self.set_focus(None)
            self._say("")
            return
        self.dismiss()

    @work(exclusive=True, group="traffic")
    async def apply(self, shift: Shift) -> None:
        version, weights = shift.update()
        try:
            alias = await self.app.backend.update_alias(  # type: ignore[attr-defined]
                self.function,
                self.alias.name,
                function_version=version,
                weights=weights,
                revision_id=self.alias.revision_id or None,
            )
        except BackendError as exc:
            self.post_message(Applied(None, f"{exc.code}: {exc.message}"))
            return
        self.post_message(Applied(alias))

    def on_applied(self, message: Applied) -> None:
        self.busy = False
        self.pending = None
        self.refresh_bindings()
        if message.alias is None:
            self._say(f"✖ {message.problem}", "bold red")
            return
        self.alias = message.alias
        self.shift = Shift.of(message.alias, self.versions)
        self._draw()
        self._say("✔ applied", "bold green")
        if self.on_done is not None:
            self.on_done()
