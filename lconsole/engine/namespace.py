"""Private mount namespaces: each environment sees its code at /var/task, its layers at /opt and
its own /tmp (a tmpfs sized by EphemeralStorage), as Lambda's do.

A small holder process owns the namespace for the environment's whole life, so a runtime
replaced after a timeout or crash enters the same namespace and finds `/tmp` as it was left.
The holder exits when the engine closes its stdin, or dies, so nothing outlives the engine.
Where namespaces are not available (not root, no util-linux, or the engine's own interpreter
living under a path the namespace would hide) environments fall back to plain directories.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

HIDDEN = ("/tmp", "/opt", "/var/task")
_UNSHARE = ("unshare", "--mount", "--propagation", "private", "--")
TASK_ROOT = Path("/var/task")
OPT = Path("/opt")
TMP = Path("/tmp")

_HOLDER = r"""
set -e
mount --bind "$1" /var/task
mount -o remount,bind,ro /var/task
mount --bind "$2" /opt
mount -t tmpfs -o "size=$3m,mode=1777" tmpfs /tmp
echo ready
read -r _ || true
"""


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r + "/") for r in roots)


@functools.cache
def available() -> bool:
    """Whether this engine can give environments their own mount namespace."""
    if sys.platform != "linux" or os.environ.get("LCONSOLE_NO_NAMESPACES"):
        return False
    if os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("nsenter")):
        return False
    needed = [sys.executable, sys.prefix, str(Path(__file__).resolve().parent)]
    if any(_inside(p, HIDDEN) for p in needed):
        return False
    try:
        TASK_ROOT.mkdir(parents=True, exist_ok=True)
        OPT.mkdir(exist_ok=True)
        probe = subprocess.run(
            [
                *_UNSHARE,
                "/bin/sh",
                "-c",
                "mount -t tmpfs -o size=1m tmpfs /tmp",
            ],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


class Namespace:
    """One environment's mount namespace, held open by a holder process."""

    def __init__(self, code: Path, opt: Path, tmp_mb: int) -> None:
        self.code = code
        self.opt = opt
        self.tmp_mb = tmp_mb
        self.holder: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        self.holder = await asyncio.create_subprocess_exec(
            *_UNSHARE,
            "/bin/sh",
            "-c",
            _HOLDER,
            "holder",
            str(self.code),
            str(self.opt),
            str(self.tmp_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.holder.stdout is not None
        line = await asyncio.wait_for(self.holder.stdout.readline(), 10.0)
        if line.strip() != b"ready":
            rest = await self.holder.stdout.read()
            await self.close()
            raise OSError(f"mount namespace setup failed: {(line + rest).decode().strip()}")

    def wrap(self, argv: list[str]) -> list[str]:
        """Run `argv` inside the namespace, starting in /var/task."""
        assert self.holder is not None
        return ["nsenter", f"--target={self.holder.pid}", "--mount", "--wd=/var/task", "--", *argv]

    async def close(self) -> None:
        holder = self.holder
        if holder is None or holder.returncode is not None:
            return
        if holder.stdin is not None:
            holder.stdin.close()
        try:
            await asyncio.wait_for(holder.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(holder.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(holder.wait(), 5.0)
