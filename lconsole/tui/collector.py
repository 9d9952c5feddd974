"""Full garbage collections while the user is not typing.

A full collection walks every tracked object. Before `cycles.py`, Textual's reference cycles
left every drawn line and every restyle to the collector: a full collection took 77-100 ms on
an idle machine and 250-320 ms at 500 invocations/s, in the middle of the layout that answers
a key, and the first one forced after a minute of typing 0.9-1.8 s. Without that garbage a
full collection walks the console's ~45,000 live objects in ~10 ms, but it still need not run
under a key press: the console turns Python's own full collections off and runs them itself,
once the keyboard has been quiet for `QUIET_S`, at most every `EVERY_S`, and in any case
`AT_MOST_S` after the last one, so memory stays flat however long someone types. Young
collections (generations 0 and 1) stay automatic: they are short, and most garbage goes there.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

QUIET_S = 1.0  # no key for this long: the user is reading, not typing
EVERY_S = 5.0  # at most one full collection this often
AT_MOST_S = 60.0  # however busy the keyboard, one this often
NEVER = 2**31 - 1  # a generation-2 threshold Python's own collector never reaches


class IdleCollector:
    """Runs generation-2 collections at quiet moments; `pressed()` on every key."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        collect: Callable[[], object] = gc.collect,
    ) -> None:
        self.clock = clock
        self.collect = collect
        now = clock()
        self.last_key = now
        self.last_full = now
        self.full_collections = 0
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        """Take generation 2 away from Python's collector (`stop` gives it back)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, NEVER)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def pressed(self) -> None:
        self.last_key = self.clock()

    def due(self) -> bool:
        now = self.clock()
        since = now - self.last_full
        return since >= AT_MOST_S or (since >= EVERY_S and now - self.last_key >= QUIET_S)

    def tick(self) -> None:
        """Called on a timer: collect if now is a good moment."""
        if self.due():
            self.collect()
            self.last_full = self.clock()
            self.full_collections += 1
