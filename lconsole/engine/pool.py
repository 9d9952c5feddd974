"""Environments per function version: hand out a warm one or start one, reap idle ones.

Environments are keyed by (function, version, revision): an update to `$LATEST` gives a new
revision, so requests go to fresh environments at once while the old ones drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from lconsole.engine import namespace
from lconsole.engine.environment import Emit, ExecutionEnvironment
from lconsole.engine.events import EventBus
from lconsole.engine.forkserver import ForkServer
from lconsole.engine.runtime_api import RuntimeApi
from lconsole.engine.runtimes import Sandbox, launcher_for
from lconsole.model.environment import EnvInfo, EnvState
from lconsole.model.function import FunctionConfig
from lconsole.model.telemetry import LogEvent

log = logging.getLogger("lconsole.engine")

Key = tuple[str, str, str]
LayerTree = Callable[[str], Path | None]  # layer version ARN -> unpacked tree


def key_of(config: FunctionConfig) -> Key:
    return (config.name, config.version, config.revision_id)


class Pool:
    def __init__(
        self,
        *,
        runtime_api: RuntimeApi,
        code_tree: Callable[[str], Path],
        layer_tree: LayerTree,
        root: Path,
        emit: Emit,
        region: str,
        idle_ttl: float = 600.0,
        xray_daemon: str | None = None,
        otlp_endpoint: str | None = None,
        events: EventBus | None = None,
        forkserver: ForkServer | None = None,
    ) -> None:
        self.runtime_api = runtime_api
        self.forkserver = forkserver
        self.events = events
        self._why: dict[str, str] = {}  # environment id -> why it is being stopped
        self.code_tree = code_tree
        self.layer_tree = layer_tree
        self.root = root
        self.emit = emit
        self.region = region
        self.idle_ttl = idle_ttl
        self.xray_daemon = xray_daemon
        self.otlp_endpoint = otlp_endpoint
        self.idle: dict[Key, list[ExecutionEnvironment]] = {}
        # (function, qualifier) -> environments kept initialised for a provisioned config
        self.provisioned: dict[tuple[str, str], list[ExecutionEnvironment]] = {}
        self.environments: dict[str, ExecutionEnvironment] = {}
        self._noticed: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping: set[asyncio.Task[None]] = set()
        self._warming: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)  # leftovers of an engine that died
        self.root.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._reap_loop()), loop.create_task(self._memory_loop())]

    # Sandboxes ---------------------------------------------------------------------------

    def _sandbox(self, env_id: str, config: FunctionConfig) -> None:
        home = self.root / env_id
        tmp = home / "tmp"
        opt = home / "opt"
        tmp.mkdir(parents=True)
        opt.mkdir()
        for layer in config.layers:
            tree = self.layer_tree(layer.arn)
            if tree is not None:
                shutil.copytree(tree, opt, symlinks=True, dirs_exist_ok=True, copy_function=_link)

    def _notice(self, config: FunctionConfig, sandbox: Sandbox) -> str | None:
        if config.name in self._noticed or sandbox.private:
            return None
        self._noticed.add(config.name)
        return (
            "lconsole: no private mount namespace for this environment; the code is at "
            f"{sandbox.task_root} (LAMBDA_TASK_ROOT), layers at {sandbox.opt} and the "
            f"writable tmp at {sandbox.tmp} (TMPDIR)."
        )

    # Lease and return --------------------------------------------------------------------

    async def acquire(
        self, config: FunctionConfig, qualifier: str | None = None
    ) -> ExecutionEnvironment:
        """A provisioned environment, else a warm idle one, else a new (cold) one."""
        if qualifier is not None:
            for env in self.provisioned.get((config.name, qualifier), ()):
                if env.state is EnvState.IDLE and env.config.revision_id == config.revision_id:
                    return self._busy(env)
        idle = self.idle.get(key_of(config))
        while idle:
            env = idle.pop()
            if env.state is EnvState.IDLE and not env.retired:
                return self._busy(env)
        return self._busy(await self.create(config))

    def _busy(self, env: ExecutionEnvironment) -> ExecutionEnvironment:
        env.to(EnvState.BUSY)
        if self.events is not None:
            self._announce(env, "busy")
        return env

    async def create(self, config: FunctionConfig) -> ExecutionEnvironment:
        env = self._new(config)
        await self._prepare(env)
        await env.start()
        self._watch_init(env)
        return env

    def _new(self, config: FunctionConfig, *, provisioned: bool = False) -> ExecutionEnvironment:
        env_id = os.urandom(16).hex()
        home = self.root / env_id
        code = self.code_tree(config.code_id)
        ns = None
        if namespace.available():
            sandbox = Sandbox(namespace.TASK_ROOT, namespace.OPT, namespace.TMP, code, home / "opt")
            ns = namespace.Namespace(code, home / "opt", config.ephemeral_storage)
        else:
            sandbox = Sandbox(task_root=code, opt=home / "opt", tmp=home / "tmp")
        env = ExecutionEnvironment(
            config,
            launcher=launcher_for(config.runtime or ""),
            sandbox=sandbox,
            namespace=ns,
            forkserver=self.forkserver,
            runtime_api=self.runtime_api,
            emit=self._emitter(config.name),
            region=self.region,
            provisioned=provisioned,
            xray_daemon=self.xray_daemon,
            otlp_endpoint=self.otlp_endpoint,
            env_id=env_id,
        )
        self.environments[env.id] = env
        self._announce(env, "created")
        return env

    async def _prepare(self, env: ExecutionEnvironment) -> None:
        await asyncio.to_thread(self._sandbox, env.id, env.config)
        env.notice = self._notice(env.config, env.sandbox)

    def release(self, env: ExecutionEnvironment) -> None:
        if env.broken or env.retired or env.state is not EnvState.BUSY:
            self._stop_later(env)
            return
        env.to(EnvState.IDLE)
        if self.events is not None:
            self._announce(env, "idle")
        if not env.provisioned:
            self.idle.setdefault(key_of(env.config), []).append(env)

    # Provisioned concurrency -------------------------------------------------------------

    def provisioned_ready(self, function: str, qualifier: str) -> int:
        return sum(
            1
            for env in self.provisioned.get((function, qualifier), ())
            if env.state in (EnvState.IDLE, EnvState.BUSY)
        )

    def reconcile(self, wanted: dict[tuple[str, str], tuple[FunctionConfig, int]]) -> None:
        """Start or stop provisioned environments until each config has what it asks for."""
        for slot, envs in list(self.provisioned.items()):
            target = wanted.get(slot)
            keep: list[ExecutionEnvironment] = []
            for env in envs:
                stale = target is None or env.config.revision_id != target[0].revision_id
                if env.state is EnvState.STOPPED or env.broken:
                    continue
                if stale or len(keep) >= target[1]:  # type: ignore[index]
                    env.retired = True
                    self._why.setdefault(env.id, "retired")
                    if env.state is not EnvState.BUSY:
                        self._stop_later(env)
                    continue
                keep.append(env)
            if keep:
                self.provisioned[slot] = keep
            else:
                del self.provisioned[slot]
        for slot, (config, n) in wanted.items():
            envs = self.provisioned.setdefault(slot, [])
            while len(envs) < n:
                env = self._new(config, provisioned=True)
                envs.append(env)
                self._spawn_task(self._warm(env))

    async def _warm(self, env: ExecutionEnvironment) -> None:
        try:
            await self._prepare(env)
            if env.retired:
                self._stop_later(env)
                return
            await env.start()
            self._watch_init(env)
            failure = await env.initialise(max(130.0, env.config.timeout))
        except Exception:
            log.exception("provisioned environment %s failed to start", env.id)
            failure = True  # type: ignore[assignment]
        if failure is not None:
            env.broken = True
            self._announce(env, "failed", getattr(failure, "error_type", "Runtime.Unknown"))
            if env.state is EnvState.STARTING:
                self._stop_later(env)
            return
        if env.state is EnvState.STARTING:
            env.to(EnvState.IDLE)
            self._announce(env, "idle")

    def _spawn_task(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro)
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    # Draining and reaping ----------------------------------------------------------------

    def retire(self, name: str, keep: Callable[[FunctionConfig], bool] | None = None) -> None:
        """Stop a function's environments (now if idle, on release if busy)."""
        for env in list(self.environments.values()):
            if env.config.name != name or (keep is not None and keep(env.config)):
                continue
            env.retired = True
            self._why.setdefault(env.id, "retired")
            if env.state is EnvState.IDLE:
                self._remove_idle(env)
                self._stop_later(env)

    def _remove_idle(self, env: ExecutionEnvironment) -> None:
        idle = self.idle.get(key_of(env.config))
        if idle and env in idle:
            idle.remove(env)

    def _stop_later(self, env: ExecutionEnvironment) -> None:
        task = asyncio.get_running_loop().create_task(self._stop(env))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _stop(self, env: ExecutionEnvironment) -> None:
        try:
            await env.stop()
        except Exception:
            log.exception("stopping environment %s failed", env.id)
        finally:
            why = self._why.pop(env.id, None)
            if self.environments.pop(env.id, None) is not None and not env.broken:
                self._announce(env, "reaped", why)  # a broken one was announced as failed
            await asyncio.to_thread(shutil.rmtree, self.root / env.id, True)

    async def _reap_loop(self) -> None:
        period = max(0.05, min(self.idle_ttl / 4, 30.0))
        while True:
            await asyncio.sleep(period)
            cutoff = time.monotonic() - self.idle_ttl
            for env in list(self.environments.values()):
                if env.state is EnvState.IDLE and env.last_used < cutoff and not env.provisioned:
                    self._remove_idle(env)
                    env.retired = True
                    self._why[env.id] = "idle"
                    self._stop_later(env)

    async def _memory_loop(self) -> None:
        """The RSS watchdog: a busy runtime over its MemorySize is killed, like the OOM killer."""
        while True:
            await asyncio.sleep(0.05)
            for env in list(self.environments.values()):
                if env.state is EnvState.BUSY and env.rss_mb() > env.config.memory_size:
                    log.info("environment %s exceeded %d MB", env.id, env.config.memory_size)
                    env.kill_for_memory()

    # Live events -----------------------------------------------------------------------

    def _emitter(self, function: str) -> Emit:
        """Log events go to telemetry and, tagged with their function, onto the live stream."""
        store, events = self.emit, self.events
        if events is None:
            return store
        publish = events.log

        def emit(event: LogEvent) -> None:
            store(event)
            publish(function, event)

        return emit

    def _announce(self, env: ExecutionEnvironment, kind: str, reason: str | None = None) -> None:
        if self.events is not None:
            config = env.config
            self.events.environment(
                kind, env.id, config.name, config.version, env.provisioned, env.state, reason
            )

    def _watch_init(self, env: ExecutionEnvironment) -> None:
        """Announce `initialised` when the runtime (this one or its replacement) first polls."""
        channel = env.channel
        if self.events is None or channel is None:
            return

        def done(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and env.state is not EnvState.STOPPED:
                self._announce(env, "initialised")

        channel.initialised.add_done_callback(done)

    def runtime_lost(self, env: ExecutionEnvironment, reason: str | None) -> None:
        """After an invocation that timed out, crashed or could not init: say what happened.

        A broken environment (init failed for good) is `failed` and will be stopped; otherwise
        its runtime was killed and replaced in place, and the new one is watched for init.
        """
        if env.broken:
            self._announce(env, "failed", reason)
            return
        self._announce(env, "killed", reason)
        self._watch_init(env)

    def infos(self, function: str | None = None) -> list[EnvInfo]:
        return [
            e.info()
            for e in self.environments.values()
            if function is None or e.config.name == function
        ]

    async def stop_all(self) -> None:
        for task in [*self._tasks, *self._warming]:
            task.cancel()
        for task in list(self._warming):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        envs = list(self.environments.values())
        for env in envs:
            env.retired = True
            self._why.setdefault(env.id, "shutdown")
        await asyncio.gather(*(self._stop(env) for env in envs), return_exceptions=True)
        if self._stopping:
            await asyncio.gather(*list(self._stopping), return_exceptions=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
