"""Engine: the one facade the APIs call; it opens the store and starts and stops the parts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from lconsole.config import EngineSettings
from lconsole.engine import cgroups, samples
from lconsole.engine.aliases import Aliases
from lconsole.engine.async_invoke import AsyncInvoker
from lconsole.engine.concurrency import Concurrency
from lconsole.engine.events import RECORD_FIELDS, EventBus
from lconsole.engine.forkserver import ForkServer
from lconsole.engine.functions import Functions
from lconsole.engine.invoke import Invoker
from lconsole.engine.invoke_configs import InvokeConfigs
from lconsole.engine.layers import Layers
from lconsole.engine.observability import Busy, Observability
from lconsole.engine.permissions import Permissions
from lconsole.engine.pool import Pool
from lconsole.engine.queries import Queries
from lconsole.engine.registry import Registry
from lconsole.engine.retention import Retention
from lconsole.engine.runtime_api import RuntimeApi
from lconsole.engine.runtimes import python as python_runtime
from lconsole.engine.scheduler import Scheduler
from lconsole.engine.tags import Tags
from lconsole.model import arn as arns
from lconsole.model import timefmt
from lconsole.model.environment import EnvInfo
from lconsole.model.invocation import InvocationType, InvokeRequest, InvokeResult
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import AccountLimits
from lconsole.model.telemetry import LogEvent
from lconsole.store import db as store_db
from lconsole.store import traces as store_traces
from lconsole.store.catalog import Catalog
from lconsole.store.code import CodeStore
from lconsole.store.metrics import MetricStore
from lconsole.store.queue import EventQueue, QueuedEvent
from lconsole.store.telemetry import TelemetryStore
from lconsole.store.traces import TraceStore
from lconsole.telemetry import cost as pricing
from lconsole.telemetry.otlp import otlp_app
from lconsole.telemetry.writer import TelemetryWriter

log = logging.getLogger("lconsole.engine")


def _version() -> str:
    try:
        return metadata.version("lconsole")
    except metadata.PackageNotFoundError:
        return "unknown"


class Engine:
    def __init__(self, settings: EngineSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        paths = settings.paths
        paths.root.mkdir(parents=True, exist_ok=True)
        self.fresh = not paths.database.exists()  # first start: load the samples
        self.db = store_db.connect(paths.database)
        self.code = CodeStore(paths.code)
        self.limits = AccountLimits(concurrent_executions=settings.account_concurrency)
        self.registry = Registry(Catalog(self.db), settings.region, settings.account)
        self.functions = Functions(self.registry, self.code, self.limits, clock)
        self.aliases = Aliases(self.registry)
        self.concurrency = Concurrency(self.registry, self.limits, clock)
        self.invoke_configs = InvokeConfigs(self.registry, clock)
        self.permissions = Permissions(self.registry)
        self.tags = Tags(self.registry)
        self.layers = Layers(self.registry, self.code, self.limits, clock)
        store_traces.create_schema(self.db.conn)
        self.telemetry_store = TelemetryStore(self.db)  # reads on the loop
        # The writer works on a thread of its own, so it gets a connection of its own.
        self.telemetry_db = store_db.connect(paths.database)
        self.telemetry = TelemetryWriter(
            TelemetryStore(self.telemetry_db),
            traces=TraceStore(self.telemetry_db),
            metrics=MetricStore(self.telemetry_db),
        )
        self.observability = Observability(
            self.telemetry, account=settings.account, region=settings.region, clock=clock
        )
        self.queries = Queries(paths.database, self.observability.metrics)
        self.retention = Retention(paths.database)
        self.runtime_api: RuntimeApi | None = None
        self.forkserver: ForkServer | None = None
        self.scheduler = Scheduler(self.limits.concurrent_executions)
        self.scheduler.reserved_total = self.concurrency.reserved_total()
        self.pool: Pool | None = None
        self.invoker: Invoker | None = None
        self.events = EventQueue(self.db)
        self.async_invoker: AsyncInvoker | None = None
        self.bus = EventBus(clock=clock)  # the live event stream; a new epoch per engine start
        self.started_ms = int(clock() * 1000)
        self.url: str | None = None  # the API's own address, once serving (OTLP export target)
        self.registry.on_change(self._changed)

    def _layer_tree(self, arn: str) -> Path | None:
        ref = arns.parse_layer_version_arn(arn)
        if ref is None:
            return None
        layer = self.registry.layers.get(ref.name, {}).get(ref.version)
        return self.code.tree(layer.code_id) if layer is not None else None

    def _changed(
        self, name: str, before: FunctionRecord | None, after: FunctionRecord | None
    ) -> None:
        what = "created" if before is None else "deleted" if after is None else "updated"
        self.bus.function_changed(name, what)
        self.scheduler.reserved_total = self.concurrency.reserved_total()
        if self.pool is None or before is None:
            self._provision()
            return
        if after is None:
            self.pool.retire(name)
            self._provision()
            return
        live = {c.revision_id for c in after.versions.values()} | {after.latest.revision_id}
        self.pool.retire(name, keep=lambda c: c.revision_id in live)
        self._provision()

    def _provision(self) -> None:
        """Bring provisioned environments in line with every provisioned config."""
        if self.pool is None:
            return
        wanted = {}
        for record in self.registry.functions.values():
            for qualifier, config in record.provisioned.items():
                version = qualifier
                if qualifier in record.aliases:
                    version = record.aliases[qualifier].function_version
                target = record.config(version)
                if target is not None:
                    wanted[(record.name, qualifier)] = (target, config.requested)
        self.pool.reconcile(wanted)

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def account(self) -> str:
        return self.settings.account

    async def start(self) -> None:
        removed = self.code.collect(self.registry.code_ids())
        if removed:
            log.info("removed %d unreferenced code packages", removed)
        wanted = self.settings.load_samples
        if wanted == "always" or (wanted == "first-start" and self.fresh):
            await samples.load(self.functions)
        cgroups.prestart()
        self.telemetry.start()
        self.retention.start()
        await self.observability.start(self._busy)
        self.runtime_api = RuntimeApi()
        dirs = python_runtime.site_dirs() if self.settings.fork_python else None
        if dirs is not None:
            self.forkserver = ForkServer(dirs)
            await self.forkserver.start()
        self.pool = Pool(
            forkserver=self.forkserver,
            runtime_api=self.runtime_api,
            code_tree=self.code.tree,
            layer_tree=self._layer_tree,
            root=self.settings.paths.environments,
            emit=self._emit,
            region=self.region,
            idle_ttl=self.settings.idle_ttl_seconds,
            events=self.bus,
            xray_daemon=self.observability.daemon_address,
            otlp_endpoint=self.url,
        )
        self.pool.start()
        pool = self.pool
        self.concurrency.allocated = lambda fn, q: pool.provisioned_ready(fn, q)
        self._provision()
        self.invoker = Invoker(
            self.registry,
            self.scheduler,
            self.pool,
            self.telemetry.record,
            events=self.bus,
            observability=self.observability,
        )
        self.async_invoker = AsyncInvoker(self.events, self._run_event)
        self.async_invoker.start()

    async def invoke(
        self,
        value: str | None,
        qualifier: str | None,
        payload: bytes,
        *,
        invocation_type: InvocationType,
        tail: bool,
        client_context: str | None,
        request_id: str,
        trace_header: str | None = None,
    ) -> InvokeResult | None:
        """Run (RequestResponse), queue (Event) or only check (DryRun) one invocation."""
        assert self.invoker is not None and self.async_invoker is not None
        record, config, q, invoked_arn = self.invoker.resolve(value, qualifier)
        if invocation_type is InvocationType.DRY_RUN:
            return None
        if invocation_type is InvocationType.EVENT:
            event = self.events.put(
                request_id, record.name, q, invoked_arn, payload, int(self.clock() * 1000)
            )
            self.async_invoker.submit(event)
            return None
        request = InvokeRequest(
            function=record.name,
            qualifier=q,
            payload=payload,
            invoked_arn=invoked_arn,
            request_id=request_id,
            client_context=client_context,
            trace_header=trace_header,
            tail=tail,
        )
        return await self.invoker.invoke(record, config, request)

    async def _run_event(self, event: QueuedEvent) -> None:
        assert self.invoker is not None
        record, config, q, _ = self.invoker.resolve(event.function, event.qualifier)
        request = InvokeRequest(
            function=record.name,
            qualifier=q,
            payload=event.payload,
            invoked_arn=event.invoked_arn,
            request_id=event.request_id,
        )
        await self.invoker.invoke(record, config, request, InvocationType.EVENT)

    async def stop(self) -> None:
        self.bus.close()
        if self.async_invoker is not None:
            await self.async_invoker.stop()
        if self.pool is not None:
            await self.pool.stop_all()
        if self.forkserver is not None:
            await self.forkserver.stop()
        await self.observability.stop()
        await self.retention.stop()
        cgroups.remove_hierarchy()
        if self.runtime_api is not None:
            await self.runtime_api.close_all()
        await self.telemetry.stop()
        self.telemetry_db.conn.close()
        self.db.conn.close()

    def otlp_receiver(self) -> Starlette:
        """The OTLP/HTTP trace endpoint functions' OpenTelemetry SDKs export to."""

        def spans(documents: list[dict[str, Any]]) -> None:
            for document in documents:
                self.telemetry.segment(document)

        return otlp_app(spans)

    def _emit(self, event: LogEvent) -> None:
        self.telemetry.log(event)
        self.observability.log(event)

    def _busy(self) -> list[Busy]:
        """Every environment, as the concurrency metrics see it."""
        pool = self.pool
        if pool is None:
            return []
        qualifiers = {
            env.id: qualifier for (_, qualifier), envs in pool.provisioned.items() for env in envs
        }
        return [
            Busy(e.config.name, e.config.version, qualifiers.get(e.id), e.provisioned, e.state)
            for e in pool.environments.values()
        ]

    # Console views --------------------------------------------------------------------------

    def recent_invocations(self, function: str, limit: int) -> list[dict[str, object]]:
        """A function's invocation records, newest first, including ones not yet flushed."""
        self.telemetry.flush()
        rows = self.telemetry_store.invocations(function, limit)
        for row in rows:
            row["cold"] = bool(row["cold"])
            row["provisioned"] = bool(row["provisioned"])
        return [{name: row.get(name) for name in RECORD_FIELDS} for row in rows]

    def provisioned_usd(
        self, function: str, qualifier: str | None, start_ms: int, end_ms: int
    ) -> float:
        """What the function's provisioned concurrency, kept configured, costs in the window.

        Only the configurations in place now count (each from its LastModified on); ones
        removed earlier are not remembered.
        """
        record = self.registry.functions.get(function)
        if record is None:
            return 0.0
        total = 0.0
        for q, config in record.provisioned.items():
            if qualifier is not None and q != qualifier:
                continue
            since = timefmt.parse_seconds_offset(config.last_modified)
            target = record.config(record.aliases[q].function_version if q in record.aliases else q)
            if since is None or target is None:
                continue
            seconds = (end_ms - max(start_ms, int(since * 1000))) / 1000
            if seconds <= 0:
                continue
            arch = target.architectures[0] if target.architectures else "x86_64"
            gb_s = pricing.provisioned_gb_seconds(config.requested, target.memory_size, seconds)
            total += pricing.provisioned_cost(gb_s, arch)
        return total

    def environment_infos(self, function: str | None = None) -> list[EnvInfo]:
        return self.pool.infos(function) if self.pool is not None else []

    def status(self) -> dict[str, object]:
        return {
            "epoch": self.bus.epoch,
            "seq": self.bus.seq,
            "version": _version(),
            "started_ms": self.started_ms,
            "functions": len(self.registry.functions),
            "environments": len(self.pool.environments) if self.pool is not None else 0,
        }

    def account_settings(self) -> dict[str, dict[str, int]]:
        return {
            "AccountLimit": {
                "TotalCodeSize": self.limits.total_code_size,
                "CodeSizeUnzipped": self.limits.code_size_unzipped,
                "CodeSizeZipped": self.limits.code_size_zipped,
                "ConcurrentExecutions": self.limits.concurrent_executions,
                "UnreservedConcurrentExecutions": self.concurrency.unreserved(),
            },
            "AccountUsage": {
                "TotalCodeSize": self.registry.total_code_size(),
                "FunctionCount": len(self.registry.functions),
            },
        }
