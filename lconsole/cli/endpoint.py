"""The endpoint file: how commands find the engine that runs on a state dir."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Endpoint:
    url: str
    host: str
    port: int
    token: str
    pid: int


def write(path: Path, endpoint: Endpoint) -> None:
    """Readable by the owner only: the token guards the console API."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(endpoint), out)
    os.replace(tmp, path)


def read(path: Path) -> Endpoint | None:
    try:
        data = json.loads(path.read_text())
        return Endpoint(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove(path: Path, pid: int) -> None:
    current = read(path)
    if current is not None and current.pid == pid:
        path.unlink(missing_ok=True)
