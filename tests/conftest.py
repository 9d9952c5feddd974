from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProcess]:
    """One real engine per test module, on a free port with its own state dir."""
    state: Path = tmp_path_factory.mktemp("state")
    with EngineProcess(state) as proc:
        yield proc


@pytest.fixture(scope="module")
def lam(engine: EngineProcess):  # type: ignore[no-untyped-def]
    return engine.client()


@pytest.fixture(scope="module")
def raw_lam(engine: EngineProcess):  # type: ignore[no-untyped-def]
    """A client that lets the server see what botocore would refuse to send."""
    return engine.client(parameter_validation=False)
