"""One launcher per runtime family: how to start a runtime process for a function."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lconsole.model.function import FunctionConfig


@dataclass(frozen=True)
class Sandbox:
    """The paths a function sees: its code, merged layers and writable /tmp.

    In a private mount namespace these are /var/task, /opt and /tmp, and `host_*` say where
    the engine finds the same trees; otherwise both views are the same directories.
    """

    task_root: Path
    opt: Path
    tmp: Path
    host_task_root: Path | None = None
    host_opt: Path | None = None

    @property
    def private(self) -> bool:
        return self.host_task_root is not None

    @property
    def engine_task_root(self) -> Path:
        return self.host_task_root or self.task_root

    @property
    def engine_opt(self) -> Path:
        return self.host_opt or self.opt


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    notice: str | None = None  # said once in the function's log
    fork_args: list[str] | None = None  # sys.argv[1:] when the Python fork server can start it


class MissingToolchain(Exception):
    """The runtime cannot start here; the message becomes a Runtime.InvalidEntrypoint error."""


class Launcher(Protocol):
    def launch(self, config: FunctionConfig, sandbox: Sandbox) -> Launch: ...

    def version_label(self, config: FunctionConfig) -> str:
        """What INIT_START names as the runtime version, e.g. `python:3.12.v1`."""
        ...


def launcher_for(runtime: str) -> Launcher:
    if runtime.startswith("python"):
        from lconsole.engine.runtimes.python import PythonLauncher

        return PythonLauncher()
    if runtime.startswith("nodejs"):
        from lconsole.engine.runtimes.node import NodeLauncher

        return NodeLauncher()
    if runtime.startswith("provided"):
        from lconsole.engine.runtimes.provided import ProvidedLauncher

        return ProvidedLauncher()
    from lconsole.engine.runtimes.unsupported import UnsupportedLauncher

    return UnsupportedLauncher()
