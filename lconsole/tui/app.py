"""LconsoleApp: the console over one `Backend`; global keys, screens, and the shared state."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import tzinfo

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from lconsole.backends.base import (
    AliasInfo,
    Backend,
    BackendError,
    ConcurrencyInfo,
    EnvironmentInfo,
    FunctionInfo,
    Invocation,
)
from lconsole.tui import cycles, messages
from lconsole.tui.collector import IdleCollector
from lconsole.tui.commands import Command
from lconsole.tui.feed import Feed
from lconsole.tui.keys import Keymap, key
from lconsole.tui.screens.base import ConsoleScreen
from lconsole.tui.screens.edit import EditScreen
from lconsole.tui.screens.function import FunctionScreen
from lconsole.tui.screens.functions import FunctionsScreen
from lconsole.tui.screens.help import HelpScreen
from lconsole.tui.screens.invoke import InvokeScreen
from lconsole.tui.screens.pulses import PulsesScreen
from lconsole.tui.screens.traffic import TrafficScreen
from lconsole.tui.state import ConsoleState
from lconsole.tui.widgets.command_line import CommandLine

THEMES = {"dark": "textual-dark", "light": "textual-light"}
HELP_SCREENS = 8  # composed help screens kept for reuse (a few per view: tabs, modes)
COLLECT_TICK_S = 0.25  # how often the idle collector looks for a quiet moment
REDRAW_S = 0.25  # live data reaches the screen at most four times a second
BACKGROUND_STOP_S = 5.0  # how long quitting waits for background work to clean up
FUNCTION_VIEWS = {
    "function": "invocations",
    "invocations": "invocations",
    "versions": "versions",
    "aliases": "aliases",
    "config": "config",
    "envs": "envs",
    "logs": "logs",
    "traces": "traces",
    "metrics": "metrics",
}


class LconsoleApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "lconsole"
    BINDINGS = [
        key("colon", "command", "command", "app.command", tooltip="jump anywhere by command"),
        key("question_mark", "help", "help", "app.help", tooltip="keys of this view"),
        key("escape", "back", "back", "app.back", tooltip="back to the previous view"),
        key("q", "quit", "quit", "app.quit", tooltip="leave the console"),
    ]

    def __init__(
        self,
        backend: Backend,
        *,
        read_only: bool = False,
        theme: str = "dark",
        keymap: Keymap | None = None,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
        poll_s: float = 1.0,
        background: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        cycles.install()  # before anything is drawn: see cycles.py
        super().__init__()
        self.backend = backend
        self.read_only = read_only
        self.state = ConsoleState()
        self.feed = Feed(backend, self.post_message, poll_s)
        self.clock = clock
        self.tz = tz
        self.keymap = keymap or Keymap({})
        self.initial_theme = THEMES.get(theme, theme)
        self.background = background  # work that lives as long as the console (`lconsole demo`)
        self._background_task: asyncio.Task[None] | None = None
        self.collector: IdleCollector | None = None  # full collections, on a terminal only
        self._help_screens: dict[tuple[object, ...], str] = {}  # what they show -> name
        self._help_ids = itertools.count(1)
        self._dirty = False
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # A console, not a slideshow: a tab's sliding underline alone redrew the tab bar,
            # the footer and the screen around them ~20 times per switch, which is CPU a key
            # press waits for under load, and bytes an SSH link carries for nothing.
            self.animation_level = "none"

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def on_mount(self) -> None:
        if not self.is_headless:  # headless runs (tests: many apps in one process) do not
            self.collect_garbage_when_idle()
            self._exit_on_signals()
        self.theme = self.initial_theme
        if self.keymap.keys:
            self.set_keymap(self.keymap.keys)
        if self.keymap.problem:
            self.notify(self.keymap.problem, title="keymap", severity="warning")
        self.push_screen(FunctionsScreen())
        self.run_worker(self.feed.run(), name="feed", group="feed", exclusive=True)
        if self.background is not None:
            self._background_task = asyncio.create_task(self._background(self.background))
        self.set_interval(REDRAW_S, self._redraw)

    def collect_garbage_when_idle(self) -> None:
        """Keep full garbage collections away from key presses.

        What importing made (~140,000 objects) lives as long as the process, yet every full
        collection walks it: ~80 ms of CPU each, every ~8 s at 500 invocations/s, which key
        presses then wait for. Frozen, it is left out. The full collections themselves then
        run when nobody is typing (collector.py).
        """
        gc.freeze()
        self.collector = IdleCollector()
        self.collector.start()
        self.set_interval(COLLECT_TICK_S, self.collector.tick)

    def _exit_on_signals(self) -> None:
        """SIGTERM, or SIGHUP from a dropped SSH session, quits like `q` does.

        The default action would end the process on the spot, skipping what runs after the
        console: `lconsole demo` stopping the engine it started, above all.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, self.exit)

    async def on_event(self, event: events.Event) -> None:
        if self.collector is not None and isinstance(event, events.Key):
            self.collector.pressed()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        """Quitting stops the background work and waits, briefly, until it has cleaned up."""
        if self.collector is not None:
            self.collector.stop()
        task = self._background_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=BACKGROUND_STOP_S)

    async def _background(self, work: Callable[[], Awaitable[object]]) -> None:
        """Run `work` until it ends or the console quits; a failure is shown, never fatal."""
        try:
            await work()
        except BackendError as exc:
            self.notify(f"{exc.code}: {exc.message}", title="background stopped", severity="error")
        except Exception as exc:
            self.notify(
                f"{type(exc).__name__}: {exc}", title="background stopped", severity="error"
            )

    # state: changed only here, by the messages workers post

    def _changed(self) -> None:
        self._dirty = True

    def _redraw(self) -> None:
        if self._dirty:
            self._dirty = False
            self.screen.post_message(messages.StateChanged())

    def on_capabilities_loaded(self, message: messages.CapabilitiesLoaded) -> None:
        self.state.capabilities = message.capabilities
        self._changed()

    def on_functions_loaded(self, message: messages.FunctionsLoaded) -> None:
        self.state.set_functions(message.functions)
        self._changed()

    def on_invocations_loaded(self, message: messages.InvocationsLoaded) -> None:
        if self.state.add_invocations(message.invocations):
            self._changed()

    def on_environments_loaded(self, message: messages.EnvironmentsLoaded) -> None:
        by_function: dict[str, list[EnvironmentInfo]] = {}
        for env in message.environments:
            if env.state != "stopped":
                by_function.setdefault(env.function, []).append(env)
        self.state.environments = by_function
        self._changed()

    def on_live_batch(self, message: messages.LiveBatch) -> None:
        finished = []
        for event in message.events:
            fields = event.fields
            if event.type == "invocation.finished":
                finished.append(Invocation.from_record(fields))
            elif event.type == "invocation.throttled":
                finished.append(
                    Invocation.from_record(
                        {
                            **fields,
                            "status": "throttled",
                            "start_ms": event.time,
                            "cold": False,
                            "executed_version": fields.get("qualifier") or "",
                        }
                    )
                )
            elif event.type.startswith("environment."):
                self._environment_event(EnvironmentInfo.from_record(fields))
            elif event.type == "function.changed":
                self.feed.wake()
        self.state.add_invocations(finished)
        self._changed()

    def _environment_event(self, env: EnvironmentInfo) -> None:
        envs = [
            e
            for e in self.state.environments.get(env.function, [])
            if e.environment_id != env.environment_id
        ]
        if env.state not in ("stopped", "reaped", "killed", "failed"):
            old = next(
                (
                    e
                    for e in self.state.environments.get(env.function, [])
                    if e.environment_id == env.environment_id
                ),
                None,
            )
            if old is not None and not env.created_ms:
                env = EnvironmentInfo(**{**old.__dict__, "state": env.state})
            envs.append(env)
        self.state.environments[env.function] = envs

    def on_connection_changed(self, message: messages.ConnectionChanged) -> None:
        was = self.state.connected
        self.state.connected = message.connected
        self.state.problem = message.problem
        if message.connected and message.problem:
            self.notify(message.problem, title="backend", severity="warning")
        elif message.connected and not was:
            self.notify("engine is back; live data resumes", title="reconnected")
        self._changed()
        self._redraw()

    # navigation

    def open_function(self, name: str, tab: str = "invocations") -> None:
        for screen in self.screen_stack:
            if isinstance(screen, FunctionScreen) and screen.function == name:
                while self.screen is not screen:
                    self.pop_screen()
                screen.action_tab(tab)
                return
        self.push_screen(FunctionScreen(name, tab))

    def open_invoke(self, name: str, qualifiers: list[str] | None = None) -> None:
        if self.read_only:
            return
        self.push_screen(
            InvokeScreen(name, qualifiers or ["$LATEST"], self.state.last_payload(name))
        )

    def open_traffic(
        self, name: str, alias: AliasInfo, versions: list[str], on_done: Callable[[], object]
    ) -> None:
        if not self.read_only:
            self.push_screen(TrafficScreen(name, alias, versions, on_done))

    def open_config_editor(
        self,
        fn: FunctionInfo,
        concurrency: ConcurrencyInfo | None,
        on_done: Callable[[], object],
    ) -> None:
        if not self.read_only:
            self.push_screen(EditScreen(fn, concurrency, on_done))

    def open_pulses(self) -> None:
        if not isinstance(self.screen, PulsesScreen):
            self.push_screen(PulsesScreen())

    def to_functions(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    @work(exclusive=True, group="publish")
    async def publish(self, name: str, on_done: Callable[[], object] | None = None) -> None:
        if self.read_only:
            return
        try:
            version = await self.backend.publish_version(name)
        except BackendError as exc:
            self.notify(f"{exc.code}: {exc.message}", title="publish failed", severity="error")
            return
        self.notify(
            f"{name} version {version.version} ({version.code_sha256[:10]})", title="published"
        )
        if on_done is not None:
            on_done()

    # global actions

    def action_command(self) -> None:
        if isinstance(self.screen, ConsoleScreen):
            self.screen.open_command_line()

    def action_help(self) -> None:
        screen = self.screen
        rows = [
            (self.get_key_display(active.binding), active.binding, active.enabled)
            for active in screen.active_bindings.values()
        ]
        title = " › ".join(getattr(screen, "crumbs", ())) or type(screen).__name__
        self.push_screen(self._help_screen(title, rows))

    def _help_screen(self, title: str, rows: list[tuple[str, Binding, bool]]) -> str:
        """The name of an installed help screen showing `rows`: composed once, then reused.

        Composing help (its widgets, styles and table) was most of a `?` press; a view shows
        the same keys every time unless its tab, keymap or mode changed.
        """
        shape = (title, tuple((shown, b.id or b.action, b.tooltip, b.description, on)
                              for shown, b, on in rows))  # fmt: skip
        name = self._help_screens.pop(shape, None)
        if name is None:
            name = f"help-{next(self._help_ids)}"
            self.install_screen(HelpScreen(title, rows), name)
        self._help_screens[shape] = name  # newest last
        while len(self._help_screens) > HELP_SCREENS:
            oldest = self._help_screens.pop(next(iter(self._help_screens)))
            if all(s is not self.get_screen(oldest) for s in self.screen_stack):
                self.uninstall_screen(oldest)
        return name

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def on_command_line_run(self, message: CommandLine.Run) -> None:
        self.run_command(message.command)

    def run_command(self, command: Command) -> None:
        verb, name = command.verb, command.function
        if verb == "functions":
            self.to_functions()
        elif verb == "pulses":
            self.open_pulses()
        elif verb == "theme":
            self.theme = THEMES[command.value or "dark"]
        elif verb == "help":
            self.action_help()
        elif verb == "quit":
            self.exit()
        elif verb == "invoke" and name:
            qualifiers = [command.qualifier] if command.qualifier else None
            self.open_invoke(name, qualifiers)
        elif name:
            self.open_function(name, FUNCTION_VIEWS.get(verb, "invocations"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Functions", "list every function", self.to_functions)
        yield SystemCommand("Pulses", "sparklines of every function", self.open_pulses)
        for label, theme in (("Dark theme", "dark"), ("Light theme", "light")):
            yield SystemCommand(
                label,
                f"switch to the {theme} theme",
                lambda t=theme: setattr(self, "theme", THEMES[t]),
            )
        for name in self.state.functions:
            yield SystemCommand(
                f"Open {name}", "its invocations", lambda n=name: self.open_function(n)
            )
            yield SystemCommand(
                f"Logs of {name}", "its log lines", lambda n=name: self.open_function(n, "logs")
            )
            if not self.read_only:
                yield SystemCommand(
                    f"Invoke {name}", "with an event template", lambda n=name: self.open_invoke(n)
                )
