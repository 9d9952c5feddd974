"""Setting a Static's text only when it changed.

`Static.update` asks for a layout of the whole screen (~10 ms at 80x24 on a slow machine), and
live views set the same note four times a second; skipping the no-op updates keeps that time
for the keys.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def set_text(widget: Static, content: VisualType) -> None:
    if widget.content != content:
        widget.update(content)
