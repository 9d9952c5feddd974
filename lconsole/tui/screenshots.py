"""Screenshots of every main view, from the fixed scene: `python -m lconsole.tui.screenshots`.

Writes `screenshots/*.svg` at the repository root. The snapshot tests drive the same scenes, so
a screenshot that no longer renders is a failing test.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from rich.console import Group
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from lconsole.tui.app import LconsoleApp
from lconsole.tui.scene import NOW, SceneBackend
from lconsole.tui.widgets.logs_pane import LogsPane

OUT = Path(__file__).resolve().parents[2] / "screenshots"
SETTLE_S = 10.0


async def until(pilot: Pilot, condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the scene never showed {what}")
        await pilot.pause(0.02)


async def settled(pilot: Pilot) -> None:
    """Loaded, drawn, and with no cursor blinking: the same pixels every time."""
    app = pilot.app
    assert isinstance(app, LconsoleApp)
    await until(pilot, lambda: app.state.loaded and app.state.recent, "its data")
    detail = getattr(app.screen, "detail", False)
    if detail is None:
        await until(pilot, lambda: app.screen.detail is not None, "the function")  # type: ignore[attr-defined]
    await pilot.pause(0.1)
    app._dirty = True
    app._redraw()
    for widget in app.screen.query("Input, TextArea"):
        assert isinstance(widget, Input | TextArea)
        widget.cursor_blink = False
    await pilot.pause()


def scene_app(**kw: object) -> LconsoleApp:
    app = LconsoleApp(SceneBackend(), clock=lambda: NOW, tz=UTC, **kw)  # type: ignore[arg-type]
    app.animation_level = "none"  # a tab underline caught mid-slide is not a different screen
    return app


Steps = Callable[[Pilot], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    steps: Steps
    size: tuple[int, int] = (80, 24)
    options: tuple[tuple[str, object], ...] = ()

    def app(self) -> LconsoleApp:
        return scene_app(**dict(self.options))

    async def run(self, pilot: Pilot) -> None:
        await settled(pilot)
        await self.steps(pilot)
        await settled(pilot)


def keys(*pressed: str, wait: Callable[[LconsoleApp], object] | None = None) -> Steps:
    async def steps(pilot: Pilot) -> None:
        for key in pressed:
            await pilot.press(key)
            await pilot.pause(0.05)
        if wait is not None:
            app = pilot.app
            assert isinstance(app, LconsoleApp)
            await until(pilot, lambda: wait(app), "the scene")

    return steps


def _text(app: LconsoleApp, selector: str) -> str:
    content = app.screen.query_one(selector, Static).content
    if isinstance(content, Group):
        return " ".join(str(part) for part in content.renderables)
    return str(content)


def _log_lines(app: LconsoleApp) -> int:
    return len(app.screen.query_one(LogsPane).lines)


async def _engine_gone(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, LconsoleApp)
    app.backend.reachable = False  # type: ignore[attr-defined]
    app.feed.wake()
    await until(pilot, lambda: not app.state.connected, "the engine going away")


SCENES = [
    Scene("functions", keys()),
    Scene("functions-wide", keys(), size=(120, 32)),
    Scene("functions-light-read-only", keys(), options=(("theme", "light"), ("read_only", True))),
    Scene("function-invocations", keys("enter")),
    Scene("function-config", keys("enter", "1")),
    Scene("function-versions", keys("enter", "2")),
    Scene("function-aliases", keys("enter", "3")),
    Scene("function-environments", keys("enter", "4")),
    Scene("function-logs", keys("enter", "6", "w", wait=_log_lines)),
    Scene(
        "trace-waterfall",
        keys("enter", "7", "enter", wait=lambda a: "PutItem" in _text(a, ".waterfall")),
    ),
    Scene(
        "invocation-trace",
        keys("enter", "x", wait=lambda a: "PutItem" in _text(a, ".waterfall")),
    ),
    Scene("function-metrics", keys("enter", "8")),
    Scene(
        "invoke",
        keys("enter", "i", "ctrl+s", wait=lambda a: "200 ok" in _text(a, "#result")),
    ),
    Scene("alias-traffic", keys("enter", "3", "t", "right_square_bracket", "right", "enter")),
    Scene("edit-configuration", keys("enter", "e")),
    Scene("help", keys("enter", "question_mark")),
    Scene("command-line", keys("colon", "l", "o", "g", "s", "space", "p")),
    Scene("pulses", keys("p")),
    Scene("engine-gone", _engine_gone),
]


async def shoot(scene: Scene, out: Path) -> Path:
    app = scene.app()
    async with app.run_test(size=scene.size) as pilot:
        await scene.run(pilot)
        path = out / f"{scene.name}.svg"
        path.write_text(app.export_screenshot(title=f"lconsole: {scene.name}"))
    return path


async def shoot_all(out: Path = OUT, only: set[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [await shoot(s, out) for s in SCENES if not only or s.name in only]


def main(argv: list[str] | None = None) -> int:
    only = set(argv if argv is not None else sys.argv[1:])
    for path in asyncio.run(shoot_all(only=only or None)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
