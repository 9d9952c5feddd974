"""The layer boundaries in DESIGN.md hold: import-linter contracts and a runtime check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _loaded_after(import_line: str) -> set[str]:
    code = f"import sys\n{import_line}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        check=True,
    ).stdout
    return set(out.split())


def test_engine_never_loads_textual() -> None:
    loaded = _loaded_after("import lconsole.api.app, lconsole.cli.serve")
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)
