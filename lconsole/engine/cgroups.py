"""Control groups per environment: a hard memory ceiling, AWS's CPU share, the kernel's OOM count.

Where the machine lets the engine make child cgroups (root, cgroup v1 `memory`/`cpu`
controllers, or a v2 tree with those controllers delegated), each environment gets its own.
Memory: the ceiling is MemorySize plus the /tmp tmpfs size, because tmpfs pages are charged to
the process that writes them while Lambda counts /tmp apart from memory; the precise MemorySize
check on resident memory stays with the pool's watchdog, and this ceiling is the backstop that a
fast allocation cannot outrun. CPU: init runs unthrottled (Lambda gives init a burst), then the
runtime gets MemorySize / 1769 of a CPU, as Lambda allocates. Everything is best effort: where a
write fails the environment runs without that limit, and `available()` says so once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lconsole.cgroups")

MB = 1024 * 1024
FULL_CPU_MB = 1769  # Lambda: 1,769 MB of memory gets one vCPU
PERIOD_US = 100_000
_MOUNTS = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Hierarchy:
    """Where this engine makes environment cgroups, per controller; `None` when unusable."""

    memory: Path | None
    cpu: Path | None
    v2: bool = False


def _own_paths() -> dict[str, str]:
    """Controller name -> this process's cgroup path, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                out[name] = path
    return out


def _usable(directory: Path, probe_file: str) -> Path | None:
    """Make `directory` (this engine's parent cgroup) and check the controller file is there."""
    try:
        directory.mkdir(exist_ok=True)
    except OSError:
        return None
    if not (directory / probe_file).exists():
        with contextlib.suppress(OSError):
            directory.rmdir()
        return None
    return directory


def _clean_stale(parent: Path) -> None:
    """Remove cgroups left by engines that died without cleaning up."""
    with contextlib.suppress(OSError):
        for entry in parent.glob("lconsole-*"):
            pid = entry.name.removeprefix("lconsole-")
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                for child in entry.iterdir():
                    if child.is_dir():
                        with contextlib.suppress(OSError):
                            child.rmdir()
                with contextlib.suppress(OSError):
                    entry.rmdir()


@functools.cache
def hierarchy() -> Hierarchy:
    if os.environ.get("LCONSOLE_NO_CGROUPS") or os.geteuid() != 0:
        return Hierarchy(None, None)
    own = _own_paths()
    name = f"lconsole-{os.getpid()}"
    if "memory" in own or "cpu" in own:  # cgroup v1
        memory = cpu = None
        if "memory" in own and (_MOUNTS / "memory").is_dir():
            parent = _MOUNTS / "memory" / own["memory"].lstrip("/")
            _clean_stale(parent)
            memory = _usable(parent / name, "memory.limit_in_bytes")
        if "cpu" in own and (_MOUNTS / "cpu").is_dir():
            parent = _MOUNTS / "cpu" / own["cpu"].lstrip("/")
            _clean_stale(parent)
            cpu = _usable(parent / name, "cpu.cfs_quota_us")
        return Hierarchy(memory, cpu)
    if "" in own and (_MOUNTS / "cgroup.controllers").exists():  # cgroup v2, delegated
        parent = _MOUNTS / own[""].lstrip("/")
        try:
            delegated = (parent / "cgroup.subtree_control").read_text().split()
        except OSError:
            return Hierarchy(None, None)
        _clean_stale(parent)
        mine = _usable(parent / name, "cgroup.procs")
        if mine is None:
            return Hierarchy(None, None)
        wanted = [c for c in ("memory", "cpu") if c in delegated]
        with contextlib.suppress(OSError):
            (mine / "cgroup.subtree_control").write_text(" ".join("+" + c for c in wanted))
        control = (mine / "cgroup.subtree_control").read_text().split()
        return Hierarchy(
            mine if "memory" in control else None, mine if "cpu" in control else None, v2=True
        )
    return Hierarchy(None, None)


# One long-lived thread does every migration: a thread created while a migration runs would
# wait for it (thread creation takes the lock a migration holds), and with it whoever started
# that thread, the engine's loop included.
_MIGRATIONS = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lconsole-cgroups")


def prestart() -> None:
    """Start the migration thread now, while no migration can be in the way."""
    if available():
        _MIGRATIONS.submit(lambda: None).result(5)


async def make(env_id: str, memory_mb: int, tmp_mb: int) -> EnvironmentCgroup | None:
    """An environment's cgroups, made on the migration thread; None where none can be made."""

    def build() -> EnvironmentCgroup | None:
        cgroup = EnvironmentCgroup(env_id, memory_mb, tmp_mb)
        return cgroup if cgroup.active else None

    return await asyncio.get_running_loop().run_in_executor(_MIGRATIONS, build)


async def settle(cgroup: EnvironmentCgroup, process: int) -> None:
    """After init, on the migration thread: into the cgroups, then the CPU share."""
    await asyncio.get_running_loop().run_in_executor(_MIGRATIONS, cgroup.settle, process)


def available() -> bool:
    h = hierarchy()
    return h.memory is not None or h.cpu is not None


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
    except OSError as exc:
        log.debug("cgroup write %s=%s failed: %s", path, value, exc)
        return False
    return True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class EnvironmentCgroup:
    """One environment's cgroup(s). `join()` runs in the child between fork and exec."""

    def __init__(self, env_id: str, memory_mb: int, tmp_mb: int) -> None:
        h = hierarchy()
        self.v2 = h.v2
        self.memory_mb = memory_mb
        self.memory = self._make(h.memory, env_id)
        self.cpu = self.memory if h.v2 and h.cpu is not None else self._make(h.cpu, env_id)
        self._procs: list[bytes] = []
        if self.memory is not None:
            limit = str((memory_mb + tmp_mb) * MB)
            name = "memory.max" if self.v2 else "memory.limit_in_bytes"
            if _write(self.memory / name, limit):
                if not self.v2:  # no swap escape hatch either, where memsw accounting exists
                    with contextlib.suppress(OSError):
                        (self.memory / "memory.memsw.limit_in_bytes").write_text(limit)
                else:
                    _write(self.memory / "memory.swap.max", "0")
            self._procs.append(os.fsencode(self.memory / "cgroup.procs"))
        if self.cpu is not None and self.cpu != self.memory:
            self._procs.append(os.fsencode(self.cpu / "cgroup.procs"))

    @staticmethod
    def _make(parent: Path | None, env_id: str) -> Path | None:
        if parent is None:
            return None
        path = parent / f"env-{env_id}"
        try:
            path.mkdir(exist_ok=True)
        except OSError:
            return None
        return path

    @property
    def active(self) -> bool:
        return bool(self._procs)

    def join(self) -> None:
        """Move the calling process into this environment's cgroups (child side, pre-exec)."""
        self.attach(os.getpid())

    def attach(self, process: int) -> None:
        """Move a process (its whole thread group) into this environment's cgroups.

        The engine does this from a worker thread once init is done, not in the child before
        exec: a v1 migration can wait for an RCU grace period (~9 ms measured here) and holds
        the lock that fork and exec take, which added ~13 ms to every Init Duration. Init runs
        outside the ceiling and the CPU quota, like Lambda's init burst.
        """
        pid = str(process).encode()
        for procs in self._procs:
            try:
                fd = os.open(procs, os.O_WRONLY)
            except OSError:
                continue
            try:
                os.write(fd, pid)
            except OSError:
                pass
            finally:
                os.close(fd)

    def settle(self, process: int) -> None:
        """After init: the CPU share, then into the cgroups (worker thread).

        In that order, so a process never runs in its cgroup before the quota is there.
        """
        self.share()
        self.attach(process)

    def share(self) -> None:
        """After init: MemorySize / 1769 of a CPU (more than one CPU above 1769 MB)."""
        if self.cpu is None:
            return
        quota = max(1000, PERIOD_US * self.memory_mb // FULL_CPU_MB)
        if self.v2:
            _write(self.cpu / "cpu.max", f"{quota} {PERIOD_US}")
        else:
            _write(self.cpu / "cpu.cfs_period_us", str(PERIOD_US))
            _write(self.cpu / "cpu.cfs_quota_us", str(quota))

    def oom_kills(self) -> int:
        """How many processes the kernel OOM killer took from this environment so far."""
        if self.memory is None:
            return 0
        name = "memory.events" if self.v2 else "memory.oom_control"
        try:
            text = (self.memory / name).read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def peak_mb(self) -> int | None:
        """Peak memory charged to the environment (includes /tmp and page cache)."""
        if self.memory is None:
            return None
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        value = _read_int(self.memory / name)
        return None if value is None else -(-value // MB)

    def kill_all(self) -> None:
        """SIGKILL every process left in the environment, even ones that left its session."""
        for path in {p for p in (self.memory, self.cpu) if p is not None}:
            try:
                pids = (path / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        """Remove the cgroups; call once the environment's processes are gone."""
        for path in {p for p in (self.memory, self.cpu) if p is not None}:
            with contextlib.suppress(OSError):
                path.rmdir()
        self.memory = self.cpu = None
        self._procs = []


def remove_hierarchy() -> None:
    """At engine stop: remove this engine's parent cgroups (empty by then)."""
    if not hierarchy.cache_info().currsize:
        return
    h = hierarchy()
    for path in {p for p in (h.memory, h.cpu) if p is not None}:
        for child in path.glob("env-*"):
            with contextlib.suppress(OSError):
                child.rmdir()
        with contextlib.suppress(OSError):
            path.rmdir()
