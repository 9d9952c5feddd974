"""Where lconsole keeps things, and the engine's settings. Nobody else builds these paths."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 9001
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


def default_state_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "lconsole"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lconsole"


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "state.db"

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def environments(self) -> Path:
        return self.root / "environments"

    @property
    def runtimes(self) -> Path:
        return self.root / "runtimes"

    @property
    def endpoint_file(self) -> Path:
        return self.root / "engine.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "engine.lock"

    @property
    def engine_log(self) -> Path:
        return self.root / "engine.log"


@dataclass(frozen=True)
class EngineSettings:
    state_dir: Path
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_concurrency: int = 1000
    idle_ttl_seconds: float = 600.0
    fork_python: bool = True  # Python runtimes forked from a pre-initialised one (forkserver.py)
    load_samples: str = "never"  # "never" | "first-start" | "always"

    @property
    def paths(self) -> StatePaths:
        return StatePaths(self.state_dir)
