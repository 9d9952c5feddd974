"""A DataTable whose rows are keyed by a stable id and updated in place by diffing.

Live views call `sync` with the full list they want; only changed cells are touched, so the
cursor and scroll position stay where the user left them.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

Cells = tuple[object, ...]


def _plain(value: object) -> str:
    return value.plain if isinstance(value, Text) else str(value)


class ResourceTable(DataTable[object]):
    """Rows are `(key, cells)`; the first cell's text must be unique (it orders the rows)."""

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._columns = list(columns)
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for label, key in self._columns:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync(self, rows: Sequence[tuple[str, Cells]]) -> None:
        """Make the table show exactly `rows`, in this order, touching only what changed."""
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
                self.add_row(*cells, key=key)
            elif old != cells:
                for column, before, after in zip(column_keys, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, column, after, update_width=True)
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
            self.add_row(*cells, key=key)
        self._cells = dict(rows)
        self._order = [key for key, _ in rows]
        if selected in self._cells:
            self.move_cursor(row=self._order.index(selected), animate=False, scroll=False)
        self.scroll_to(y=scroll_y, animate=False)
