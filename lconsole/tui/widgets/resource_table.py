"""A DataTable whose rows are keyed by a stable id and updated in place by diffing.

Live views call `sync` with the full list they want; only changed cells are touched, so the
cursor and scroll position stay where the user left them. Any change makes the DataTable render
every visible cell again (~20 ms for a screenful on a slow machine), so a table fed by a stream
can ask to `coalesce`: its changes then reach the screen at most once a second.

Cells are shown as literal text (a `[` in a description is not markup), and a one-line cell is
drawn straight from its Text's segments instead of through Rich's wrapping and padding
renderables: the same cells, in about a tenth of the time, which is what a key press waits for
when it lands on a redraw. A restyle that changed nothing the drawn cells hold (a focus change,
a tab switch) keeps them, where DataTable would draw the table again from nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.geometry import Region
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable

Cells = tuple[object, ...]
COALESCE_S = 1.0  # a coalescing table shows a new list at most this often


def _plain(value: object) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def _literal(cells: Cells) -> Cells:
    """Strings as Text, so that DataTable neither parses them as markup nor measures them so."""
    return tuple(Text(c, end="") if isinstance(c, str) else c for c in cells)


class ResourceTable(DataTable[object]):
    """Rows are `(key, cells)`; the first cell's text must be unique (it orders the rows)."""

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._columns = list(columns)
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []
        self._shown_at = float("-inf")  # monotonic time the last change was applied
        self._pending: list[tuple[str, Cells]] | None = None
        self._pending_timer: Timer | None = None
        self._looks: dict[object, tuple[object, ...]] = {}  # pseudo-class state -> _look()
        self._look_checked = True
        self._drawn_at = 0  # the DataTable update count the drawn cells belong to

    def on_mount(self) -> None:
        for label, key in self._columns:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync(self, rows: Sequence[tuple[str, Cells]], *, coalesce: bool = False) -> None:
        """Make the table show exactly `rows`, in this order, touching only what changed.

        With `coalesce`, a change within `COALESCE_S` of the last one waits for the rest of
        that time, and only the newest list waiting is then shown.
        """
        if coalesce:
            wait = self._shown_at + COALESCE_S - time.monotonic()
            if wait > 0 and self._differs(rows):
                self._pending = list(rows)
                if self._pending_timer is None:
                    self._pending_timer = self.set_timer(wait, self._show_pending)
                return
        if self._pending_timer is not None:
            self._pending_timer.stop()
        self._pending = self._pending_timer = None
        if self._differs(rows):
            self._shown_at = time.monotonic()
            self._apply(rows)

    def _differs(self, rows: Sequence[tuple[str, Cells]]) -> bool:
        return len(rows) != len(self._order) or any(
            key != shown or self._cells.get(key) != cells
            for (key, cells), shown in zip(rows, self._order, strict=False)
        )

    def _show_pending(self) -> None:
        rows, self._pending, self._pending_timer = self._pending, None, None
        if rows is not None and self.region:  # a hidden table is synced when shown again
            self.sync(rows)

    def _apply(self, rows: Sequence[tuple[str, Cells]]) -> None:
        wanted = dict(rows)
        keys = [key for key, _ in rows]
        selected = self.selected_key
        gone = [k for k in self._order if k not in wanted]
        if len(gone) + len(keys) - (len(self._order) - len(gone)) > max(8, len(keys) // 4):
            self._rebuild(rows, selected)  # a burst: one rebuild beats many row removals
            return
        for key in gone:
            self.remove_row(key)
            del self._cells[key]
        column_keys = [key for _, key in self._columns]
        for key, cells in rows:
            old = self._cells.get(key)
            if old is None:
                self.add_row(*_literal(cells), key=key)
            elif old != cells:
                shown = _literal(cells)
                for column, before, after, cell in zip(column_keys, old, cells, shown, strict=True):
                    if before != after:
                        self.update_cell(key, column, cell, update_width=True)
            self._cells[key] = cells
        current = [k for k in self._order if k in wanted] + [
            k for k in keys if k not in self._order
        ]
        if current != keys and keys:
            index = {_plain(wanted[k][0]): i for i, k in enumerate(keys)}
            self.sort(column_keys[0], key=lambda first: index.get(_plain(first), 0))
        self._order = keys
        if selected in wanted:
            row = keys.index(selected)
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False, scroll=False)

    def _rebuild(self, rows: Sequence[tuple[str, Cells]], selected: str | None) -> None:
        scroll_y = self.scroll_y
        self.clear()
        for key, cells in rows:
            self.add_row(*_literal(cells), key=key)
        self._cells = dict(rows)
        self._order = [key for key, _ in rows]
        if selected in self._cells:
            self.move_cursor(row=self._order.index(selected), animate=False, scroll=False)
        self.scroll_to(y=scroll_y, animate=False)

    def notify_style_update(self) -> None:
        """DataTable's, minus dropping every drawn cell and line.

        Those caches are keyed by the table's base style and pseudo-class state (focus among
        them), so a restyle leaves them right unless a component style (cursor, header, hover)
        changed under the same state, as a theme does. That is checked at the next render,
        once the component styles are current: they are updated after this is called.
        """
        Widget.notify_style_update(self)
        self._styles_cache.clear()
        self._get_styles_to_render_cell.cache_clear()
        self._look_checked = False
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._update_count != self._drawn_at:
            # Every drawn cell, row and line is keyed by the update count, so none drawn before
            # a change can be used again: let them go now rather than when the LRU caches are
            # full (thousands of lists and segments the garbage collector walks meanwhile).
            self._drawn_at = self._update_count
            self._forget_drawn()
        if not self._look_checked:
            self._look_checked = True
            look = self._look()
            state = self.get_pseudo_class_state()
            if self._looks.get(state, look) != look:
                self._looks.clear()
                self._forget_drawn()
            self._looks[state] = look
        return super().render_lines(crop)

    def _look(self) -> tuple[object, ...]:
        """What a drawn cell depends on beyond its cache key."""
        styles = sorted(self._component_styles.items())
        return (self.app.theme, *((name, style.rich_style) for name, style in styles))

    def _forget_drawn(self) -> None:
        """DataTable's `_clear_caches` without the widget's line cache: after a single-cell
        update DataTable repaints only that cell's region, and the other lines stay right."""
        self._row_render_cache.clear()
        self._cell_render_cache.clear()
        self._row_renderable_cache.clear()
        self._line_cache.clear()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """DataTable's cell, drawn directly when it is one line of Text that fits.

        Same cache key and the same styles, in the same order, as DataTable's own; anything
        else (the header, a cell that would be cropped, tabs, justified text) is left to it.
        """
        args = (row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or row.height != 1 or column_index < 0:
            return super()._render_cell(*args)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        cell = self._data.get(row_key, {}).get(column_key)
        inner = width - 2 * self.cell_padding
        if (
            not isinstance(cell, Text)
            or cell.justify not in (None, "default")
            or "\t" in cell.plain
            or "\n" in cell.plain
            or cell.cell_len > inner
        ):
            return super()._render_cell(*args)
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            fixed,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        console = self.app.console
        pre_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        pre_style += component_style
        if cell.spans:
            body = list(cell.render(console))
        else:
            body = [Segment(cell.plain, console.get_style(cell.style) if cell.style else None)]
        pad = " " * self.cell_padding
        line = [Segment(pad), *body] if pad else body
        if inner > cell.cell_len:
            line.append(Segment(" " * (inner - cell.cell_len)))
        if pad:
            line.append(Segment(pad))
        lines = [list(Segment.apply_style(line, style=pre_style, post_style=post_style))]
        self._cell_render_cache[cache_key] = lines
        return lines
