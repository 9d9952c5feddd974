"""`lconsole serve`: run the engine and its APIs in the foreground on loopback."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable
from typing import IO

import uvicorn

from lconsole.api.app import build_app
from lconsole.api.transport import ApiProtocol
from lconsole.cli import endpoint as endpoints
from lconsole.config import EngineSettings
from lconsole.engine.service import Engine


class EngineLocked(RuntimeError):
    pass


def acquire_lock(settings: EngineSettings) -> IO[str]:
    """One engine per state dir; the lock dies with the process, so no stale locks."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(settings.paths.lock_file, "a+")  # noqa: SIM115 - held for the engine's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        running = endpoints.read(settings.paths.endpoint_file)
        where = f" at {running.url}" if running else ""
        raise EngineLocked(f"an engine is already running on {settings.state_dir}{where}") from None
    return handle


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(f"port {port} on {host} is already in use (try --port 0)") from None
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        on_ready: Callable[[], None],
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._on_shutdown = on_shutdown

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._on_ready()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:  # end live streams first: uvicorn waits for them
            self._on_shutdown()
        await super().shutdown(sockets)


def run(settings: EngineSettings, out: IO[str] = sys.stdout) -> int:
    try:
        lock = acquire_lock(settings)
    except EngineLocked as exc:
        print(f"lconsole: {exc}", file=sys.stderr)
        return 1
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        print(f"lconsole: {exc}", file=sys.stderr)
        lock.close()
        return 1
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    token = secrets.token_urlsafe(32)
    engine = Engine(settings)
    engine.url = url
    app = build_app(engine, token)
    paths = settings.paths

    def ready() -> None:
        endpoints.write(
            paths.endpoint_file, endpoints.Endpoint(url, host, port, token, os.getpid())
        )
        print(f"lconsole engine listening on {url}", file=out, flush=True)

    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        access_log=False,
        loop="uvloop",
        http=ApiProtocol.serving(engine),
        timeout_graceful_shutdown=5,
        server_header=False,
        proxy_headers=False,  # loopback only: no proxy in front whose headers to trust
    )
    server = _Server(config, ready, engine.bus.close)
    try:
        server.run(sockets=[sock])  # on the loop the config names (uvloop)
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it already shut down for
    finally:
        endpoints.remove(paths.endpoint_file, os.getpid())
        sock.close()
        lock.close()
    return 0


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
