"""Python runtimes: the real awslambdaric, under the matching interpreter when it has one."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import site
import subprocess
import sys
from pathlib import Path

from lconsole.engine.runtimes import Launch, Sandbox
from lconsole.model.function import FunctionConfig

LOCALE = "C.UTF-8"  # a runtime's LC_CTYPE; the fork server's zygote starts with it too


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


# The engine's own interpreter starts a runtime without `site` (-S). Most of site's start-up
# time is the .pth files of the engine's environment (an editable install's import finder
# alone took 10 ms of a 38 ms start), which a function has no use for: it could even import
# the engine through them. What a function does get from site is put back by hand: the
# environment's site-packages (awslambdaric, boto3: what /var/runtime holds on Lambda) after
# the standard library, and the exit(), quit() and help() builtins. sys.path[0] is the working
# directory, as `python -m` makes it.
_START = """\
import os, runpy, site, sys
sys.path[0] = os.getcwd()
sys.path.extend({site_packages!r})
site.setquit(); site.setcopyright(); site.sethelper()
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""


@functools.cache
def site_dirs() -> list[str] | None:
    """The site dirs a runtime started without `site` gets; None when awslambdaric is not in
    one (only a .pth puts it on the path): then runtimes start with site, and are not forked."""
    dirs = [d for d in (*site.getsitepackages(), site.getusersitepackages()) if d in sys.path]
    spec = importlib.util.find_spec("awslambdaric")
    origin = spec.origin if spec is not None else None
    if origin is None or not any(Path(origin).is_relative_to(d) for d in dirs):
        return None
    return dirs


def _start_without_site() -> str | None:
    """The -S start-up code, or None when awslambdaric is not in a site dir (then use site)."""
    dirs = site_dirs()
    return None if dirs is None else _START.format(site_packages=dirs)


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
            "LC_CTYPE": LOCALE,
        }
        handler = config.handler or ""
        start = _start_without_site() if python == sys.executable else None
        if start is not None:
            return Launch([python, "-S", "-c", start, handler], env, notice, fork_args=[handler])
        return Launch([python, "-m", "awslambdaric", handler], env, notice)

    def version_label(self, config: FunctionConfig) -> str:
        return f"python:{(config.runtime or '').removeprefix('python')}.v1"
