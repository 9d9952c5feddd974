"""The key bar at the bottom: Textual's Footer, rebuilt only when the keys it shows change.

Footer rebuilds itself (a widget per key, each styled anew) on every bindings signal, and one key
press sends several: a tab switch moves the focus and refreshes the bindings, a closed dialog
resumes the screen underneath. Comparing what would be shown skips the rebuilds that change
nothing, which were most of the cost of such a key press.
"""

from __future__ import annotations

from textual.dom import NoScreen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, str, bool, str], ...]


class KeysFooter(Footer):
    _shown: Shown | None = None

    def _keys(self) -> Shown:
        return tuple(
            (
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                enabled,
                tooltip or "",
            )
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )

    async def recompose(self) -> None:
        if not self.is_attached:  # its screen was closed before the rebuild came due
            return
        try:
            keys = self._keys()
        except NoScreen:
            return
        if keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
