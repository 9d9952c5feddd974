"""The key bar at the bottom: Textual's Footer, rebuilt only when the keys it shows change.

Footer rebuilds itself (a widget per key, each styled anew) on every bindings signal, and one key
press sends several: a tab switch moves the focus and refreshes the bindings, a closed dialog
resumes the screen underneath. Comparing what would be shown skips the rebuilds that change
nothing, which were most of the cost of such a key press. When only keys' enabled states
changed (a tab switch that dims a key or two), the keys already shown are restyled in place.
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
        shown, self._shown = self._shown, keys
        same_keys = shown is not None and _without_state(keys) == _without_state(shown)
        if same_keys and self._restyle(keys):
            return
        await super().recompose()

    def _restyle(self, keys: Shown) -> bool:
        """Dim or undim the keys on show; False when they are not all there to restyle."""
        widgets = {
            (getattr(w, "key", None), getattr(w, "action", None)): w
            for w in self.query("FooterKey")
        }
        found = [(widgets.get((key, action)), enabled) for key, _, _, action, enabled, _ in keys]
        if len(widgets) != len(keys) or any(widget is None for widget, _ in found):
            return False
        for widget, enabled in found:
            assert widget is not None
            widget.set_class(not enabled, "-disabled")
            widget._disabled = not enabled  # type: ignore[attr-defined]  # what a click consults
        return True


def _without_state(keys: Shown) -> tuple[tuple[str, str, str, str, str], ...]:
    return tuple((key, shown, text, action, tip) for key, shown, text, action, _, tip in keys)
