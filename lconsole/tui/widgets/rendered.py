"""A Rich renderable drawn once per width, then shown a line at a time (Textual's Line API).

A `Static` holding a Rich `Table` renders the whole table for the layout (to learn its
height) and again for the frame, each time the screen is laid out: the help's table of keys
cost the `?` press most of its time. Drawn once per width, opening help is a layout of one
widget of known height and copies of lines already drawn.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class RenderedOnce(Widget):
    DEFAULT_CSS = "RenderedOnce { height: auto; }"

    def __init__(self, renderable: RenderableType, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.renderable = renderable
        self._width = -1
        self._lines: list[Strip] = []

    def lines(self, width: int) -> list[Strip]:
        """The renderable's lines at `width`, drawn the first time that width is asked for."""
        if width != self._width:
            console = self.app.console
            options = console.options.update_width(max(1, width))
            drawn = console.render_lines(self.renderable, options, pad=False)
            self._lines = [Strip(line) for line in drawn]
            self._width = width
        return self._lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        lines = self.lines(width)
        if y >= len(lines):
            return Strip.blank(width, style)
        return lines[y].extend_cell_length(width).apply_style(style)
