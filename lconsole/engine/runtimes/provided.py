"""OS-only runtimes: run the package's (or a layer's) `bootstrap` executable."""

from __future__ import annotations

import os

from lconsole.engine.runtimes import Launch, MissingToolchain, Sandbox
from lconsole.model.function import FunctionConfig


class MissingBootstrap(MissingToolchain):
    """AWS's own wording for this case is applied by the environment."""


class ProvidedLauncher:
    def launch(self, config: FunctionConfig, sandbox: Sandbox) -> Launch:
        places = (
            (sandbox.engine_task_root / "bootstrap", sandbox.task_root / "bootstrap"),
            (sandbox.engine_opt / "bootstrap", sandbox.opt / "bootstrap"),
        )
        for on_engine, seen in places:
            if on_engine.is_file() and os.access(on_engine, os.X_OK):
                return Launch([str(seen)])
        raise MissingBootstrap(
            "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
        )

    def version_label(self, config: FunctionConfig) -> str:
        return f"provided:{(config.runtime or '').removeprefix('provided.')}.v1"
