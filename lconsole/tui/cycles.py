"""Reference cycles in Textual that turn drawn lines into garbage only a full collection frees.

Python frees an object the moment its last reference goes, unless it sits in a reference cycle:
then it waits for the cyclic collector, and if it lived through two young collections, for a
full one. Three places in Textual (8.x) make cycles on the drawing path:

- `Strip.divide` and `Strip.crop_extend` return the strip itself when there is nothing to cut,
  and store that answer in the strip's own cache: the strip refers to itself. The compositor
  asks exactly that of most full-width lines, so most drawn lines, with their segments and
  seven small caches each, outlive their use.
- `LRUCache.clear` drops its dict but not its ring of `[prev, next, key, value]` links, so a
  cleared cache's whole content (a DataTable clears its 10,000-cell render cache whenever a row
  changes) becomes one cycle.
- Every restyle of a widget with component classes (a DataTable has ten) builds one new
  `DOMNode` per class to hold that class's styles, and drops the previous ones; a `DOMNode` is
  a web of cycles (its styles, bindings and signals all point back at it).

In the function view at 500 invocations/s, 60 s of typing left ~1.4 million such objects for
the collector: its full collection then took 1.8 s, against a live set of ~42,000 objects
(measured in the console with `gc.callbacks`). Each fix below keeps Textual's behaviour and
only stops the cycle; `install()` applies them once, before the console draws anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.style import Style
from textual.cache import LRUCache
from textual.css.stylesheet import Stylesheet
from textual.dom import DOMNode
from textual.strip import Strip

_installed = False
_VIRTUAL = "_lconsole_component_nodes"  # a node's virtual nodes, by component class


def install() -> None:
    """Patch the three cycles away (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    _divide = Strip.divide
    _crop_extend = Strip.crop_extend

    def divide(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        cell_length = self.cell_length
        cuts = [cut for cut in cuts if cut <= cell_length]
        if cuts == [cell_length]:
            return [self]  # Textual caches this list in the strip: a cycle
        return _divide(self, cuts)

    def crop_extend(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self  # what Textual returns here, without caching the strip in itself
        return _crop_extend(self, start, end, style)

    def clear(self: LRUCache[Any, Any]) -> None:
        for link in self._cache.values():
            link.clear()  # unlink the ring, so that its content is freed right away
        self._cache.clear()
        self._full = False
        self._head = []

    Strip.divide = divide  # type: ignore[method-assign]
    Strip.crop_extend = crop_extend  # type: ignore[method-assign]
    LRUCache.clear = clear  # type: ignore[method-assign]
    Stylesheet._process_component_classes = _process_component_classes  # type: ignore[method-assign]


def _process_component_classes(self: Stylesheet, node: DOMNode) -> None:
    """Textual's own, except that a node's virtual component nodes are made once.

    The styles of component class `c` are those of a virtual `DOMNode(classes=c)` attached
    under `node`; Textual makes new virtual nodes at every restyle (their styles refer to them
    weakly, so nothing but their own cycles keeps them) and refreshes `node` when the rules
    differ from the last ones. The same virtual node, kept by `node` and restyled in place,
    gives the same rules without a new web of objects each time.
    """
    component_classes = node._get_component_classes()
    if not component_classes:
        return
    virtual_nodes: dict[str, DOMNode] = node.__dict__.setdefault(_VIRTUAL, {})
    refresh_node = False
    for component in sorted(component_classes):
        virtual_node = virtual_nodes.get(component)
        if virtual_node is None:
            virtual_node = virtual_nodes[component] = DOMNode(classes=component)
            virtual_node._attach(node)
            before = None
        else:
            before = _rules(virtual_node)
        self.apply(virtual_node, animate=False)
        if not refresh_node and before != _rules(virtual_node):
            refresh_node = True
        node._component_styles[component] = virtual_node.styles
    if refresh_node:
        node.refresh()


def _rules(node: DOMNode) -> tuple[dict[str, object], dict[str, object]]:
    styles = node.styles
    return dict(styles._base_styles._rules), dict(styles._inline_styles._rules)
