"""The `/` filter: plain text or a regular expression, `!` in front to invert (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable


def matcher(text: str) -> Callable[[str], bool]:
    """A case-insensitive test for one row's text; an invalid regex is taken literally."""
    text = text.strip()
    invert = text.startswith("!")
    if invert:
        text = text[1:].strip()
    if not text:
        return lambda _row: True
    try:
        pattern = re.compile(text, re.IGNORECASE)
    except re.error:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
    if invert:
        return lambda row: pattern.search(row) is None
    return lambda row: pattern.search(row) is not None
