"""Python runtimes: the real awslambdaric, under the matching interpreter when it has one."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

from lconsole.engine.runtimes import Launch, Sandbox
from lconsole.model.function import FunctionConfig


@functools.cache
def _interpreter(version: str) -> tuple[str, str | None]:
    """(python executable, notice) for `3.12`: a matching one that can run awslambdaric."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version == own:
        return sys.executable, None
    candidate = shutil.which(f"python{version}")
    if candidate:
        try:
            ok = (
                subprocess.run(
                    [candidate, "-c", "import awslambdaric"],
                    capture_output=True,
                    timeout=10,
                    check=False,
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return candidate, None
    return sys.executable, (
        f"lconsole: python{version} with awslambdaric is not installed here; "
        f"running this function on Python {own} instead."
    )


class PythonLauncher:
    def launch(self, config: FunctionConfig, sandbox: Sandbox) -> Launch:
        version = (config.runtime or "python3.12").removeprefix("python")
        python, notice = _interpreter(version)
        opt = sandbox.opt
        paths = [str(opt / "python"), str(opt / f"python/lib/python{version}/site-packages")]
        env = {
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "PYTHONPATH": ":".join(paths),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_CTYPE": "C.UTF-8",
        }
        return Launch([python, "-m", "awslambdaric", config.handler or ""], env, notice)

    def version_label(self, config: FunctionConfig) -> str:
        return f"python:{(config.runtime or '').removeprefix('python')}.v1"
