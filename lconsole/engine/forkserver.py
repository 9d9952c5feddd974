"""The engine's side of the Python fork server (`runtimes/zygote.py`).

A cold start of a Python function on the engine's own interpreter used to be an interpreter
start plus awslambdaric's imports (35-45 ms on our machines) before the handler's module was
even read. The zygote has done both once; each new environment is a fork of it. This module
starts it, asks it for processes and turns its reports into what `ExecutionEnvironment` needs
of a process: a pid, a returncode and `wait()`.

Anything the zygote cannot give (it is not running yet, it died, the function's variables
change how an interpreter starts) makes `spawn` raise `ForkUnavailable`, and the environment
starts its runtime with exec as before: the fork server is only ever a faster path.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lconsole.engine import namespace as namespaces
from lconsole.engine.runtimes.python import LOCALE

log = logging.getLogger("lconsole.engine")

ZYGOTE = Path(__file__).resolve().parent / "runtimes" / "zygote.py"
START_TIMEOUT_S = 10.0
SPAWN_TIMEOUT_S = 15.0  # above the zygote's own bound on a child's setup (10 s)
# Variables an interpreter reads when it starts, beyond the two the child applies by hand.
_APPLIED = {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE"}


class ForkUnavailable(Exception):
    """This process cannot come from the fork server; start it with exec instead."""


def can_fork(env: dict[str, str]) -> bool:
    """Whether a forked child would start as `python -S` would with this environment."""
    if any(k.startswith("PYTHON") and k not in _APPLIED for k in env):
        return False
    return not env.get("LC_ALL") and env.get("LC_CTYPE", LOCALE) == LOCALE


class Process(Protocol):
    """What an environment needs of its runtime process, forked or exec'd."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


class ForkedProcess:
    """A runtime process forked by the zygote; its exit status comes from the zygote."""

    def __init__(self, pid: int, exited: asyncio.Future[int]) -> None:
        self.pid = pid
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)


@dataclass
class _Zygote:
    proc: asyncio.subprocess.Process
    sock: socket.socket
    ready: asyncio.Future[None]


class ForkServer:
    """One zygote for the engine's interpreter, started and stopped with the engine."""

    def __init__(self, site_dirs: list[str]) -> None:
        self.site_dirs = site_dirs
        self._zygote: _Zygote | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[int]] = {}
        self._children: dict[int, asyncio.Future[int]] = {}
        self._dead = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ns_module = namespaces.__file__ if namespaces.available() else ""
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-S",
                str(ZYGOTE),
                json.dumps(self.site_dirs),
                ns_module,
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                env={"LC_CTYPE": LOCALE, "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.defpath},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            self._dead = True
            log.warning("the Python fork server did not start (%s): runtimes start with exec", exc)
            return
        finally:
            theirs.close()
        ours.setblocking(False)
        zygote = self._zygote = _Zygote(proc, ours, loop.create_future())
        loop.add_reader(ours.fileno(), self._readable)
        try:  # ~50 ms: the engine is ready when its cold starts are forks
            await asyncio.wait_for(asyncio.shield(zygote.ready), START_TIMEOUT_S)
        except TimeoutError:
            log.warning("the Python fork server is slow to start: runtimes start with exec")

    async def spawn(
        self,
        args: list[str],
        env: dict[str, str],
        cwd: str,
        ns: namespaces.Namespace | None,
        output: int,
    ) -> ForkedProcess:
        """A new runtime process running awslambdaric with `args`; raises ForkUnavailable."""
        zygote = self._zygote
        if zygote is None or self._dead or not zygote.ready.done() or not can_fork(env):
            raise ForkUnavailable
        request_id = next(self._ids)
        where, ns_fds = ns.for_fork() if ns is not None else (None, [])
        fds = [output, *ns_fds]
        message = {"id": request_id, "args": args, "env": env, "cwd": cwd, "namespace": where}
        reply = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        try:
            socket.send_fds(zygote.sock, [json.dumps(message).encode()], fds)
        except OSError as exc:
            self._replies.pop(request_id, None)
            raise ForkUnavailable from exc
        try:  # a RuntimeError with the child's own words when its setup failed
            pid = await asyncio.wait_for(reply, SPAWN_TIMEOUT_S)
        except TimeoutError:
            self._lost("the Python fork server stopped answering: runtimes start with exec")
            with contextlib.suppress(ProcessLookupError):
                zygote.proc.kill()
            raise ForkUnavailable from None
        return ForkedProcess(pid, self._children[pid])

    def _readable(self) -> None:
        zygote = self._zygote
        assert zygote is not None
        while True:
            try:
                data = zygote.sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._lost("the Python fork server exited: new runtimes start with exec")
                return
            self._on(json.loads(data))

    def _on(self, message: dict[str, object]) -> None:
        zygote = self._zygote
        assert zygote is not None
        if "ready" in message:
            if not zygote.ready.done():
                zygote.ready.set_result(None)
        elif "exit" in message:
            exited = self._children.pop(int(message["exit"]), None)  # type: ignore[call-overload]
            if exited is not None and not exited.done():
                exited.set_result(int(message["code"]))  # type: ignore[call-overload]
        else:
            reply = self._replies.pop(int(message["id"]), None)  # type: ignore[call-overload]
            if reply is None or reply.done():
                return
            if "pid" in message:
                pid = int(message["pid"])  # type: ignore[call-overload]
                self._children[pid] = asyncio.get_running_loop().create_future()
                reply.set_result(pid)
            else:
                reply.set_exception(RuntimeError(str(message.get("error"))))

    def _lost(self, why: str | None) -> None:
        """The zygote is gone (`why`, None when stopping): its children can no longer be waited
        for, so end them."""
        zygote = self._zygote
        assert zygote is not None
        if why is not None and not self._dead:
            log.warning(why)
        self._dead = True
        asyncio.get_running_loop().remove_reader(zygote.sock.fileno())
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(ForkUnavailable())
        self._replies.clear()
        for pid, exited in self._children.items():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            if not exited.done():
                exited.set_result(-signal.SIGKILL)
        self._children.clear()
        if not zygote.ready.done():
            zygote.ready.set_result(None)

    async def stop(self) -> None:
        zygote = self._zygote
        if zygote is None:
            return
        self._lost(None)
        zygote.sock.close()  # the zygote ends its children and exits on EOF
        try:
            await asyncio.wait_for(zygote.proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                zygote.proc.kill()
            await zygote.proc.wait()
