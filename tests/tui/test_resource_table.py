"""ResourceTable draws one-line cells itself: they must come out exactly as DataTable draws them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

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


class TwoWidgetApp(App[None]):
    """A table and something else to take the focus away from it."""

    CSS = "ResourceTable.alarm > .datatable--cursor { background: red; }"

    def compose(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="t")
        yield Input(id="other")


@asynccontextmanager
async def focused_table() -> AsyncIterator[tuple[TwoWidgetApp, Pilot[None], ResourceTable]]:
    app = TwoWidgetApp()
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResourceTable)
        table.sync(ROWS)
        table.focus()
        await pilot.pause()
        await pilot.pause()  # the column widths settle on idle, which counts as an update
        yield app, pilot, table


def drawn(table: ResourceTable) -> list[tuple[str, Style | None]]:
    """The table's lines from its own caches (the widget's line cache above them dropped)."""
    table._styles_cache.clear()
    return simplified([list(strip) for strip in table.render_lines(table.region.reset_offset)])


def cached_cells(table: ResourceTable) -> dict[object, object]:
    cache = table._cell_render_cache
    return {key: cache.get(key) for key in list(cache.keys())}


def drawn_afresh(table: ResourceTable) -> list[tuple[str, Style | None]]:
    table._clear_caches()
    return drawn(table)


async def test_a_focus_change_keeps_the_drawn_cells_and_draws_the_right_ones() -> None:
    async with focused_table() as (app, pilot, table):
        focused = drawn(table)
        cells = cached_cells(table)
        assert cells
        app.query_one(Input).focus()
        await pilot.pause()
        blurred = drawn(table)
        assert blurred != focused  # the cursor row is drawn in the unfocused style
        table.focus()
        await pilot.pause()
        assert drawn(table) == focused
        kept = cached_cells(table)
        assert all(kept.get(key) is lines for key, lines in cells.items()), "cells drawn again"
        assert drawn_afresh(table) == focused
        app.query_one(Input).focus()
        await pilot.pause()
        assert drawn(table) == blurred == drawn_afresh(table)


async def test_a_theme_change_draws_the_cells_again() -> None:
    async with focused_table() as (app, pilot, table):
        dark = drawn(table)
        app.theme = "textual-light"
        await pilot.pause()
        light = drawn(table)
        assert light != dark
        assert light == drawn_afresh(table)
        app.query_one(Input).focus()  # a state first seen after the change
        await pilot.pause()
        assert drawn(table) == drawn_afresh(table)


async def test_a_component_style_change_alone_draws_the_cells_again() -> None:
    """Only the cursor's style changes here: the cells' cache keys stay the same."""
    async with focused_table() as (_app, pilot, table):
        calm = drawn(table)
        updates = table._update_count
        table.add_class("alarm")
        await pilot.pause()
        alarmed = drawn(table)
        assert table._update_count == updates  # so the cells' cache keys are the same
        assert alarmed != calm
        assert alarmed == drawn_afresh(table)


async def test_cells_drawn_before_a_change_are_let_go() -> None:
    """They are keyed by the update count, so no later render could use them."""
    async with mounted_table() as table:
        drawn(table)
        before = table._update_count
        table.sync([(key, (cells[0] + "!", *cells[1:])) for key, cells in ROWS])
        assert table._update_count != before
        drawn(table)
        caches = (table._cell_render_cache, table._row_render_cache, table._line_cache)
        keys = [key for cache in caches for key in list(cache.keys())]
        assert keys
        counts = {key[-2] for key in keys}  # the update count, next to the pseudo-class state
        assert counts == {table._update_count}
