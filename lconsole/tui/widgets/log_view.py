"""A scrolling list of text entries with a cursor, drawn row by row (Textual's Line API).

Built for logs: a bounded buffer that is appended to many times a second, a wrap toggle that
reflows without re-rendering, and a cursor line for actions such as copy. Only visible rows
are rendered, cached per entry and width.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lconsole.tui.keys import key

KEEP = 5000  # entries held by default; the oldest go first


@dataclass(frozen=True)
class _Entry:
    uid: int  # stable while the entry lives, so trimming the buffer keeps row caches valid
    item: object  # what the line stands for (a LogLine); None for a note such as "no lines"
    text: Text
    widths: tuple[int, ...]  # cell width of each physical line, tabs expanded


class LogView(ScrollView, can_focus=True):
    """Entries in a bounded buffer, drawn a screen row at a time (Textual's Line API).

    Only visible rows are rendered, cached by entry and width; a burst of appends costs the
    new rows, and a wrap toggle re-wraps only entries wider than the view. The cursor entry
    is highlighted; while it is the newest and the view is at the bottom, new entries scroll
    into view, otherwise the view stays where the reader left it.
    """

    COMPONENT_CLASSES = {"log-view--cursor"}
    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        scrollbar-gutter: stable;
    }
    LogView > .log-view--cursor {
        background: $foreground 10%;
    }
    LogView:focus > .log-view--cursor {
        background: $accent 25%;
    }
    """
    BINDINGS = [
        key("up", "cursor(-1)", "previous line", "logs.cursor_up", show=False),
        key("down", "cursor(1)", "next line", "logs.cursor_down", show=False),
        key("pageup", "page(-1)", "page up", "logs.page_up", show=False),
        key("pagedown", "page(1)", "page down", "logs.page_down", show=False),
        key("home", "first", "oldest line", "logs.oldest", show=False),
        key("end", "last", "newest line, and follow", "logs.newest", show=False),
    ]

    def __init__(self, keep: int = KEEP, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.keep = keep
        self.cursor = -1  # index into the entries; -1 when there are none
        self._entries: list[_Entry] = []
        self._starts: list[int] = []  # first screen row of each entry
        self._heights: list[int] = []
        self._rows = 0
        self._widest = 0
        self._uid = 0
        self._wrap = False
        self._stick = True  # the reader is on the newest entry at the bottom: follow
        self._strips: LRUCache[tuple[int, int], list[Strip]] = LRUCache(1024)

    # what the pane asks

    @property
    def wrap(self) -> bool:
        return self._wrap

    @wrap.setter
    def wrap(self, value: bool) -> None:
        if value != self._wrap:
            self._wrap = value
            self._relayout()
            self._reveal_cursor()

    @property
    def at_end(self) -> bool:
        """The reader is at the newest entry (new ones will scroll into view)."""
        return self._stick

    @property
    def cursor_item(self) -> object | None:
        return self._entries[self.cursor].item if 0 <= self.cursor < len(self._entries) else None

    @property
    def entry_count(self) -> int:
        return len(self._entries)

    def replace(self, items: Sequence[tuple[object, Text]], keep_cursor: bool = False) -> None:
        """Show exactly `items`; the cursor goes to the newest, or stays put with `keep_cursor`."""
        self._entries = [self._entry(item, text) for item, text in items]
        last = len(self._entries) - 1
        if keep_cursor and self.cursor >= 0:
            self.cursor = min(self.cursor, last)
        else:
            self.cursor = last
            self._stick = True
        self._relayout()
        if self._stick:
            self.scroll_end(animate=False, x_axis=False)
        else:
            self._reveal_cursor()

    def add(self, items: Sequence[tuple[object, Text]]) -> bool:
        """Append `items`; returns whether they were followed (else the reader is elsewhere)."""
        if not items:
            return self._stick
        follow = self._stick
        width = self._layout_width()
        for item, text in items:
            entry = self._entry(item, text)
            self._entries.append(entry)
            self._starts.append(self._rows)
            height = self._height(entry, width)
            self._heights.append(height)
            self._rows += height
            self._widest = max(self._widest, *entry.widths)
        dropped_rows = 0
        overflow = len(self._entries) - self.keep
        if overflow > 0:
            dropped_rows = sum(self._heights[:overflow])
            del self._entries[:overflow], self._heights[:overflow]
            self._restart()
            self.cursor = max(0, self.cursor - overflow)
        if follow:
            self.cursor = len(self._entries) - 1
        self._resize_virtual()
        if follow:
            self.scroll_end(animate=False, x_axis=False)
        elif dropped_rows:  # keep the reader's lines where they were on screen
            self.scroll_to(y=max(0, self.scroll_y - dropped_rows), animate=False)
        self.refresh()
        return follow

    # keys and mouse

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        if self.cursor < 0:
            return
        row = self._starts[self.cursor] + direction * max(1, self.scrollable_content_region.height)
        self._move(self._entry_at(max(0, min(row, self._rows - 1))))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._entries) - 1)
        self.scroll_end(animate=False, x_axis=False)
        self._stick = True

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and self._rows:
            self._move(self._entry_at(min(offset.y + int(self.scroll_y), self._rows - 1)))

    def _move(self, index: int) -> None:
        if not self._entries:
            return
        self.cursor = max(0, min(index, len(self._entries) - 1))
        self._stick = self.cursor == len(self._entries) - 1
        self._reveal_cursor()
        self.refresh()

    def _reveal_cursor(self) -> None:
        if self.cursor < 0:
            return
        top = self._starts[self.cursor]
        bottom = top + self._heights[self.cursor]
        height = self.scrollable_content_region.height
        if top < self.scroll_y:
            self.scroll_to(y=top, animate=False)
        elif bottom > self.scroll_y + height:
            self.scroll_to(y=min(top, bottom - height), animate=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        last = not self._entries or self.cursor == len(self._entries) - 1
        self._stick = last and round(new_value) >= self.max_scroll_y

    # layout and rendering

    def on_resize(self, event: events.Resize) -> None:
        if self._wrap:
            self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self.rich_style
        row = scroll_y + y
        if row >= self._rows or width <= 0:
            return Strip.blank(width, style)
        index = self._entry_at(row)
        if index == self.cursor:
            style = style + self.get_component_rich_style("log-view--cursor")
        strips = self._lines_of(self._entries[index], self._layout_width())
        offset = row - self._starts[index]
        if offset >= len(strips):  # a layout one frame behind a resize: draw nothing, not garbage
            return Strip.blank(width, style)
        return strips[offset].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)

    def _entry(self, item: object, text: Text) -> _Entry:
        if "\t" in text.plain:  # a tab's width depends on its column: fix it once, here
            text = text.copy()
            text.expand_tabs()
        self._uid += 1
        widths = tuple(cell_len(line) for line in text.plain.split("\n"))
        return _Entry(self._uid, item, text, widths)

    def _layout_width(self) -> int:
        return self.scrollable_content_region.width if self._wrap else 0

    def _height(self, entry: _Entry, width: int) -> int:
        if width <= 0 or max(entry.widths) <= width:
            return len(entry.widths)
        cached = self._strips.get((entry.uid, width))
        return len(cached) if cached is not None else len(entry.text.wrap(self.app.console, width))

    def _lines_of(self, entry: _Entry, width: int) -> list[Strip]:
        """The entry's screen rows: its own lines, or wrapped at `width` (0: no wrapping)."""
        cache_key = (entry.uid, width)
        cached = self._strips.get(cache_key)
        if cached is not None:
            return cached
        console = self.app.console
        if width <= 0 or max(entry.widths) <= width:
            lines = entry.text.split("\n", allow_blank=True)
        else:
            lines = entry.text.wrap(console, width)
        strips = [Strip(list(line.render(console)), line.cell_len) for line in lines]
        self._strips[cache_key] = strips
        return strips

    def _relayout(self) -> None:
        width = self._layout_width()
        self._heights = [self._height(e, width) for e in self._entries]
        self._widest = max((max(e.widths) for e in self._entries), default=0)
        self._restart()
        self._resize_virtual()
        self.refresh()

    def _restart(self) -> None:
        self._starts, row = [], 0
        for height in self._heights:
            self._starts.append(row)
            row += height
        self._rows = row

    def _resize_virtual(self) -> None:
        width = self.scrollable_content_region.width if self._wrap else self._widest
        self.virtual_size = Size(width, self._rows)

    def _entry_at(self, row: int) -> int:
        return max(0, bisect_right(self._starts, row) - 1)
