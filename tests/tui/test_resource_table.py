"""ResourceTable draws one-line cells itself: they must come out exactly as DataTable draws them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from lconsole.tui.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.anyio

COLUMNS = [("NAME", "n"), ("STATE", "s"), ("WHAT", "w"), ("WIDE", "x"), ("EMPTY", "e")]
ROWS = [
    ("a", ("alpha", Text("warm", style="green"), "[b]not markup[/b]", "✓ 漢字", "")),
    ("b", ("beta", Text("cold", style="bold cyan"), "plain", "x", "-")),
    ("c", ("gamma", Text.assemble(("err", "red"), " and ", ("ok", "green")), "", "→", "")),
]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="t")


@asynccontextmanager
async def mounted_table() -> AsyncIterator[ResourceTable]:
    app = TableApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync(ROWS)
        await pilot.pause()
        yield table


def simplified(lines: list[list[Segment]]) -> list[tuple[str, Style | None]]:
    """Cells compared by what they show: the same text in the same styles, however split."""
    out: list[tuple[str, Style | None]] = []
    for line in lines:
        for segment in Segment.simplify(line):
            if out and out[-1][1] == segment.style:
                out[-1] = (out[-1][0] + segment.text, segment.style)
            else:
                out.append((segment.text, segment.style))
    return out


def both_ways(table: ResourceTable, *args: object) -> tuple[list, list]:
    """The cell drawn by ResourceTable and by DataTable itself, each from cold caches."""
    table._clear_caches()
    fast = table._render_cell(*args)  # type: ignore[arg-type]
    table._clear_caches()
    return simplified(fast), simplified(DataTable._render_cell(table, *args))  # type: ignore[arg-type]


async def test_cells_are_drawn_as_datatable_draws_them() -> None:
    async with mounted_table() as table:
        table.move_cursor(row=1)
        base = table.rich_style
        compared = 0
        for row in range(len(ROWS)):
            for column, col in enumerate(table.ordered_columns):
                width = col.get_render_width(table)
                for cursor, hover in ((False, False), (True, False), (False, True)):
                    fast, slow = both_ways(table, row, column, base, width, cursor, hover)
                    assert fast == slow, (row, column, cursor, hover)
                    compared += 1
        assert compared == len(ROWS) * len(COLUMNS) * 3


async def test_strings_are_shown_literally_not_as_markup() -> None:
    async with mounted_table() as table:
        lines = table.render_lines(table.region.reset_offset)
        assert "[b]not markup[/b]" in "".join(line.text for line in lines)


async def test_a_cell_too_wide_for_its_column_is_still_cropped_by_datatable() -> None:
    async with mounted_table() as table:
        narrow = 3  # narrower than "alpha" plus padding: DataTable's own path crops it
        fast, slow = both_ways(table, 0, 0, table.rich_style, narrow)
        assert fast == slow
        assert sum(len(text) for text, _ in fast) == narrow
