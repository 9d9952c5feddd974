"""The console's fixes for Textual's reference cycles: the same results, and no cyclic garbage.

Each check counts what only the cyclic collector could free (`gc.collect()` with automatic
collection off), so it fails if Textual's cycle comes back, and compares results with what
Textual's own code gives, so it fails if a fix changes behaviour.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.cache import LRUCache
from textual.dom import DOMNode
from textual.strip import Strip
from textual.widgets import DataTable, Input

from lconsole.tui import cycles

pytestmark = pytest.mark.anyio

cycles.install()


@contextmanager
def collector_off() -> Iterator[None]:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cyclic_garbage(make: Callable[[], object]) -> int:
    """Objects left for the cyclic collector once what `make()` returned is dropped."""
    with collector_off():
        make()
        return gc.collect()


def strip() -> Strip:
    return Strip([Segment("hello", Style(bold=True)), Segment(" world")])


def texts(strips: object) -> list[str]:
    return [s.text for s in strips]  # type: ignore[attr-defined]


def test_strip_divide_and_crop_extend_give_textuals_answers() -> None:
    s = strip()
    assert s.divide([11]) == [s] and s.divide([11, 20]) == [s]
    assert texts(s.divide([5, 11])) == ["hello", " world"]
    assert s.crop_extend(0, 11, None) is s
    assert s.crop_extend(-3, 11, None) is s
    assert s.crop_extend(0, 14, None).text == "hello world   "
    assert s.crop_extend(6, 11, None).text == "world"
    assert s.crop_extend(6, 14, Style(italic=True)).text == "world   "


def test_a_strip_drawn_at_its_own_width_is_freed_without_the_collector() -> None:
    def draw() -> None:
        s = strip()
        s.divide([11])
        s.crop_extend(0, 11, None)
        s.crop_extend(0, 11, None).divide([11])

    assert cyclic_garbage(draw) == 0


class Value:
    """A cache value that can be watched with a weak reference."""


def test_a_cleared_lru_cache_frees_its_content_at_once() -> None:
    with collector_off():
        cache: LRUCache[int, Value] = LRUCache(3)
        values = [Value() for _ in range(5)]
        refs = [weakref.ref(v) for v in values]
        for i, v in enumerate(values):
            cache[i] = v
        del values, v
        assert [r() is None for r in refs] == [True, True, False, False, False]  # evicted
        cache.clear()
        assert all(r() is None for r in refs)
        assert len(cache) == 0 and cache.get(4) is None
    for i in range(5):  # still a working cache after `clear`
        cache[i] = Value()
    assert sorted(cache.keys()) == [2, 3, 4]
    assert cyclic_garbage(lambda: cache.clear()) == 0


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(id="t")
        yield Input(id="i")


def fresh_component_rules(node: DOMNode, component: str) -> dict[str, object]:
    """What Textual itself gives for `component` under `node`: a new virtual node, styled."""
    virtual = DOMNode(classes=component)
    virtual._attach(node)
    node.app.stylesheet.apply(virtual, animate=False)
    return dict(virtual.styles._base_styles._rules)


def exact_domnodes() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is DOMNode)


async def test_restyles_reuse_component_nodes_and_follow_focus() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(DataTable)
        table.add_columns("a", "b")
        table.add_row("1", "2")
        await pilot.pause()
        looks = {}
        for focused in (True, False):
            (table if focused else app.query_one(Input)).focus()
            await pilot.pause()
            styles = table.get_component_styles("datatable--cursor")
            rules = dict(styles._base_styles._rules)
            assert rules == fresh_component_rules(table, "datatable--cursor")
            looks[focused] = table.get_component_rich_style("datatable--cursor")
        assert looks[True] != looks[False]  # `DataTable:focus > .datatable--cursor` applies

        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        for component in table._get_component_classes():  # restyled in place, all of them
            rules = dict(table.get_component_styles(component)._base_styles._rules)
            assert rules == fresh_component_rules(table, component), component
        assert table.get_component_rich_style("datatable--cursor") != looks[False]

        with collector_off():
            before = exact_domnodes()
            for _ in range(10):
                table.focus()
                await pilot.pause()
                app.query_one(Input).focus()
                await pilot.pause()
            made = exact_domnodes() - before
        # Textual's own code leaves one new virtual node per component class and restyle.
        assert made < len(table._get_component_classes())
