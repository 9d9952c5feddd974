"""Fixtures for console tests: a real engine with the samples, and bounded waits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess


@pytest.fixture(scope="module")
def samples_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One real engine per module, with the sample functions loaded."""
    state: Path = tmp_path_factory.mktemp("tui-state")
    with EngineProcess(state, "--samples", "--idle-ttl", "120") as proc:
        yield proc


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the snapshot plugin's failure report out of the repository's top level."""
    import tempfile

    if getattr(config.option, "snapshot_report", None) == "snapshot_report.html":
        config.option.snapshot_report = str(
            Path(tempfile.gettempdir()) / "lconsole-snapshot-report.html"
        )
