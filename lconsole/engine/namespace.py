"""Private mount namespaces: each environment sees its code at /var/task, its layers at /opt and
its own /tmp (a tmpfs sized by EphemeralStorage), as Lambda's do.

The first runtime process of an environment makes the namespace itself, between fork and exec
(`unshare` plus four `mount` calls, microseconds), and the engine then holds the namespace open
by a file descriptor. A runtime replaced after a timeout or crash `setns`-es into the same
namespace and finds `/tmp` as it was left. Closing the descriptor, once the environment's
processes are gone, frees the namespace and its tmpfs: nothing outlives the engine. No helper
process and no `nsenter` sit on the cold-start path.

Where namespaces are not available (not root, not Linux, or the engine's own interpreter living
under a path the namespace would hide) environments fall back to plain directories.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HIDDEN = ("/tmp", "/opt", "/var/task")
TASK_ROOT = Path("/var/task")
OPT = Path("/opt")
TMP = Path("/tmp")

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_c_char_p = ctypes.c_char_p
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_unshare = _libc.unshare
_unshare.argtypes = [ctypes.c_int]
_setns = _libc.setns
_setns.argtypes = [ctypes.c_int, ctypes.c_int]
_mount = _libc.mount
_mount.argtypes = [_c_char_p, _c_char_p, _c_char_p, ctypes.c_ulong, _c_char_p]


class NamespaceError(OSError):
    """The namespace could not be made; the message says which step failed."""


def _check(result: int, step: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise NamespaceError(errno, f"{step}: {os.strerror(errno)}")


def build(code: bytes, opt: bytes, tmp_options: bytes, then: Callable[[], None] | None) -> None:
    """Runs in the child before its runtime starts (between fork and exec, or in a fork of the
    Python zygote): only syscalls, nothing that could take a lock."""
    _check(_unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_mount(code, b"/var/task", None, MS_BIND, None), "bind /var/task")
    _check(
        _mount(None, b"/var/task", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None),
        "remount /var/task read-only",
    )
    _check(_mount(opt, b"/opt", None, MS_BIND, None), "bind /opt")
    _check(_mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, tmp_options), "tmpfs /tmp")
    os.chdir(b"/var/task")
    if then is not None:
        then()


def enter(fd: int, then: Callable[[], None] | None) -> None:
    _check(_setns(fd, CLONE_NEWNS), "setns")
    os.chdir(b"/var/task")
    if then is not None:
        then()


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r + "/") for r in roots)


@functools.cache
def available() -> bool:
    """Whether this engine can give environments their own mount namespace."""
    if sys.platform != "linux" or os.environ.get("LCONSOLE_NO_NAMESPACES"):
        return False
    if os.geteuid() != 0:
        return False
    needed = [sys.executable, sys.prefix, str(Path(__file__).resolve().parent)]
    if any(_inside(p, HIDDEN) for p in needed):
        return False
    try:
        TASK_ROOT.mkdir(parents=True, exist_ok=True)
        OPT.mkdir(exist_ok=True)
        probe = subprocess.run(
            ["/bin/sh", "-c", "test -d /var/task"],
            preexec_fn=functools.partial(build, b"/", b"/", b"size=1m,mode=1777", None),
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


class Namespace:
    """One environment's mount namespace, held open by a descriptor once its first process runs."""

    def __init__(self, code: Path, opt: Path, tmp_mb: int) -> None:
        self.code = code
        self.opt = opt
        self.tmp_mb = tmp_mb
        self.fd: int | None = None

    @property
    def tmp_options(self) -> str:
        return f"size={self.tmp_mb}m,mode=1777"

    def preexec(self, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """What the next runtime process runs before exec: make the namespace, or enter it."""
        if self.fd is not None:
            return functools.partial(enter, self.fd, then)
        return functools.partial(
            build, os.fsencode(self.code), os.fsencode(self.opt), self.tmp_options.encode(), then
        )

    def for_fork(self) -> tuple[object, list[int]]:
        """What the Python zygote's child does instead (runtimes/zygote.py), and the fds it needs:
        enter the namespace held open, or make it (then `adopt` holds it)."""
        if self.fd is not None:
            return "enter", [self.fd]
        return {"code": str(self.code), "opt": str(self.opt), "tmp": self.tmp_options}, []

    def adopt(self, pid: int) -> None:
        """Hold the namespace the process `pid` made, so later runtimes can enter it."""
        if self.fd is not None:
            return
        with contextlib.suppress(OSError):  # it died already: the next runtime makes a new one
            self.fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
