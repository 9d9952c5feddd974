"""Runtimes AWS accepts but whose toolchain this machine may lack (Java, .NET, Ruby)."""

from __future__ import annotations

import shutil

from lconsole.engine.runtimes import Launch, MissingToolchain, Sandbox
from lconsole.model.function import FunctionConfig

_TOOLS = {"java": "java", "dotnet": "dotnet", "ruby": "ruby"}


class UnsupportedLauncher:
    def launch(self, config: FunctionConfig, sandbox: Sandbox) -> Launch:
        runtime = config.runtime or ""
        family = next((f for f in _TOOLS if runtime.startswith(f)), runtime)
        tool = _TOOLS.get(family, family)
        if shutil.which(tool) is None:
            raise MissingToolchain(f"{runtime} needs `{tool}`, which is not installed here")
        raise MissingToolchain(
            f"{runtime} has no runtime interface client in lconsole yet; "
            "deploy it as provided.al2023 with a bootstrap"
        )

    def version_label(self, config: FunctionConfig) -> str:
        return f"{config.runtime}.v1"
