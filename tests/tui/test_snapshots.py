"""SVG snapshots of every main screen, from the fixed scene the screenshots use.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from lconsole.tui.screenshots import SCENES, Scene


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_screen(scene: Scene, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(scene.app(), terminal_size=scene.size, run_before=scene.run)
