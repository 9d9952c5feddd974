"""Node.js runtimes: the small runtime client shipped beside this module."""

from __future__ import annotations

import shutil
from pathlib import Path

from lconsole.engine.runtimes import Launch, MissingToolchain, Sandbox
from lconsole.model.function import FunctionConfig

CLIENT = Path(__file__).parent / "node" / "runtime.mjs"


class NodeLauncher:
    def launch(self, config: FunctionConfig, sandbox: Sandbox) -> Launch:
        node = shutil.which("node")
        if node is None:
            raise MissingToolchain(f"{config.runtime} needs `node`, which is not installed here")
        major = (config.runtime or "nodejs20.x").removeprefix("nodejs").removesuffix(".x")
        opt = sandbox.opt
        env = {
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "NODE_PATH": ":".join(
                [
                    str(opt / f"nodejs/node{major}/node_modules"),
                    str(opt / "nodejs/node_modules"),
                    str(sandbox.task_root),
                ]
            ),
        }
        return Launch([node, str(CLIENT)], env)

    def version_label(self, config: FunctionConfig) -> str:
        major = (config.runtime or "").removeprefix("nodejs").removesuffix(".x")
        return f"nodejs:{major}.v1"
