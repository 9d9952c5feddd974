"""The invoke dialog: an event template, JSON checked as you type, sync/async/dry run."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Select, Static, TextArea

from lconsole.backends.base import BackendError, InvocationType, InvokeOutcome
from lconsole.tui import format as fmt
from lconsole.tui.keys import key
from lconsole.tui.report import parse_report
from lconsole.tui.templates import check_json, load_templates

KINDS: list[tuple[str, InvocationType]] = [
    ("sync", "RequestResponse"),
    ("async (Event)", "Event"),
    ("dry run", "DryRun"),
]
LAST = "__last__"


@dataclass(frozen=True)
class Sent:
    kind: InvocationType
    qualifier: str
    elapsed_ms: float


class InvokeDone(Message):
    def __init__(self, sent: Sent, outcome: InvokeOutcome | None, problem: str = "") -> None:
        super().__init__()
        self.sent = sent
        self.outcome = outcome
        self.problem = problem


def outcome_view(sent: Sent, outcome: InvokeOutcome) -> Group:
    """Status, version, cold/warm and figures on one line; then the response and log tail."""
    head = Text()
    if sent.kind == "Event":
        head.append(f"✔ {outcome.status_code} accepted", style="bold green")
        head.append(f"  request {outcome.request_id}  (runs in the background)")
        return Group(head)
    if sent.kind == "DryRun":
        head.append(f"✔ {outcome.status_code} dry run: the function can be invoked", style="green")
        return Group(head)
    if outcome.ok:
        head.append(f"✔ {outcome.status_code} ok", style="bold green")
    else:
        head.append(f"✖ {outcome.status_code} {outcome.function_error} error", style="bold red")
    version = outcome.executed_version or "?"
    head.append(f"  {'v' if version.isdigit() else ''}{version}")
    report = parse_report(outcome.log_tail)
    if report is not None:
        if report.cold:
            head.append(f"  ❄ cold (init {fmt.duration(report.init_ms)})", style="bold cyan")
        else:
            head.append("  warm", style="dim")
        head.append(
            f"  duration {fmt.duration(report.duration_ms)}"
            f"  billed {fmt.duration(report.billed_ms)}"
            f"  max mem {fmt.megabytes(report.max_memory_mb)}"
        )
    head.append(f"  round trip {fmt.duration(sent.elapsed_ms)}", style="dim")
    body = outcome.payload.decode("utf-8", errors="replace")
    try:
        body = json.dumps(json.loads(body), indent=2)
    except ValueError:
        pass
    parts: list[object] = [head, Text("response", style="bold underline")]
    parts.append(
        Syntax(body, "json", word_wrap=True, theme="ansi_dark") if body else Text("(empty)")
    )
    if outcome.log_tail:
        parts += [Text("log tail", style="bold underline"), Text(outcome.log_tail.rstrip())]
    return Group(*parts)  # type: ignore[arg-type]


class InvokeScreen(ModalScreen[None]):
    BINDINGS = [
        key("ctrl+s", "send", "invoke", "invoke.send", tooltip="send the event"),
        key("ctrl+f", "format", "format JSON", "invoke.format", tooltip="re-indent the JSON"),
        key("escape", "dismiss", "close", "invoke.close", tooltip="close the dialog"),
    ]

    def __init__(self, function: str, qualifiers: list[str], last_payload: str | None) -> None:
        super().__init__()
        self.function = function
        self.qualifiers = qualifiers or ["$LATEST"]
        self.last_payload = last_payload
        self.templates = load_templates()
        self.busy = False

    def compose(self) -> ComposeResult:
        options = [(t.label, t.id) for t in self.templates]
        if self.last_payload is not None:
            options.insert(0, ("Last payload", LAST))
        with Vertical(classes="dialog"):
            yield Label(f"Invoke {self.function}", classes="dialog-title")
            with Horizontal(classes="invoke-options"):
                yield Select(options, value=options[0][1], allow_blank=False, id="template")
                yield Select(
                    [(q, q) for q in self.qualifiers],
                    value=self.qualifiers[0],
                    allow_blank=False,
                    id="qualifier",
                )
                yield Select(KINDS, value="RequestResponse", allow_blank=False, id="kind")
            yield TextArea(self._template_body(options[0][1]), id="payload", soft_wrap=False)
            yield Static("", id="json-error")
            with VerticalScroll(id="result-box"):
                yield Static("ctrl+s invokes · ctrl+f formats · esc closes", id="result")
        yield Footer(show_command_palette=False)

    def _template_body(self, template_id: object) -> str:
        if template_id == LAST and self.last_payload is not None:
            return self.last_payload
        return next((t.body for t in self.templates if t.id == template_id), "{}")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "template":
            self.query_one(TextArea).text = self._template_body(event.value)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        problem = check_json(event.text_area.text)
        self.query_one("#json-error", Static).update(f"✖ {problem}" if problem else "✔ valid JSON")
        self.query_one("#json-error").set_class(bool(problem), "invalid")

    def action_format(self) -> None:
        area = self.query_one(TextArea)
        if check_json(area.text) is None and area.text.strip():
            area.text = json.dumps(json.loads(area.text), indent=2)

    def action_send(self) -> None:
        text = self.query_one(TextArea).text
        problem = check_json(text)
        if problem:
            self.query_one("#json-error", Static).update(f"✖ {problem}: not sent")
            return
        if self.busy:
            return
        self.busy = True
        qualifier = str(self.query_one("#qualifier", Select).value)
        kind: InvocationType = self.query_one("#kind", Select).value  # type: ignore[assignment]
        self.query_one("#result", Static).update(f"invoking {self.function}:{qualifier}…")
        self.app.state.remember_payload(self.function, text)  # type: ignore[attr-defined]
        self.send(text, qualifier, kind)

    @work(exclusive=True, group="invoke")
    async def send(self, text: str, qualifier: str, kind: InvocationType) -> None:
        clock = self.app.clock  # type: ignore[attr-defined]
        started = clock()
        backend = self.app.backend  # type: ignore[attr-defined]
        try:
            outcome = await backend.invoke(
                self.function,
                text.encode(),
                qualifier=None if qualifier == "$LATEST" else qualifier,
                invocation_type=kind,
                tail=kind == "RequestResponse",
            )
        except BackendError as exc:
            sent = Sent(kind, qualifier, (clock() - started) * 1000)
            self.post_message(InvokeDone(sent, None, f"{exc.code}: {exc.message}"))
            return
        sent = Sent(kind, qualifier, (clock() - started) * 1000)
        self.post_message(InvokeDone(sent, outcome))

    def on_invoke_done(self, message: InvokeDone) -> None:
        self.busy = False
        result = self.query_one("#result", Static)
        if message.outcome is None:
            result.update(Text(f"✖ {message.problem}", style="bold red"))
        else:
            result.update(outcome_view(message.sent, message.outcome))
        self.query_one(".dialog").add_class("-answered")  # the answer gets the room now
        self.app.feed.wake()  # type: ignore[attr-defined]
