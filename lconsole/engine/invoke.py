"""The synchronous invoke path: resolve → route → lease → environment → record.

Everything here is per request and on the hot path: no SQLite (telemetry is buffered), no
work that could be done once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Callable

from lconsole.engine import names
from lconsole.engine.environment import Attempt, ExecutionEnvironment
from lconsole.engine.events import EventBus
from lconsole.engine.observability import Observability
from lconsole.engine.pool import Pool
from lconsole.engine.registry import Registry
from lconsole.engine.routing import route
from lconsole.engine.scheduler import Scheduler
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.function import FunctionConfig
from lconsole.model.invocation import (
    InvocationRecord,
    InvocationType,
    InvokeRequest,
    InvokeResult,
    Status,
)
from lconsole.model.record import FunctionRecord
from lconsole.telemetry import cost as pricing
from lconsole.telemetry.xray import InvocationTrace

log = logging.getLogger("lconsole.engine")

Recorder = Callable[[InvocationRecord], None]


class Invoker:
    def __init__(
        self,
        registry: Registry,
        scheduler: Scheduler,
        pool: Pool,
        record: Recorder,
        rng: random.Random | None = None,
        events: EventBus | None = None,
        observability: Observability | None = None,
    ) -> None:
        self.events = events
        self.observability = observability
        self.registry = registry
        self.scheduler = scheduler
        self.pool = pool
        self.record = record
        self.rng = rng or random.Random()

    def resolve(
        self, value: str | None, qualifier: str | None
    ) -> tuple[FunctionRecord, FunctionConfig, str | None, str]:
        """(record, config to run, qualifier as given, invoked ARN)."""
        name, q = names.resolve(
            value,
            qualifier,
            region=self.registry.region,
            account=self.registry.account,
        )
        record = self.registry.require(name, q)
        invoked_arn = self.registry.arn(name, q)
        if q is None or q == arns.LATEST:
            return record, record.latest, q, invoked_arn
        config = record.versions.get(q)
        if config is not None:
            return record, config, q, invoked_arn
        alias = record.aliases.get(q)
        if alias is None:
            raise errors.not_found(f"Function not found: {invoked_arn}")
        version = (
            route(alias, self.rng.random())
            if alias.additional_weights
            else (alias.function_version)
        )
        config = record.config(version)
        if config is None:
            raise errors.not_found(f"Function not found: {invoked_arn}")
        return record, config, q, invoked_arn

    async def invoke(
        self,
        record: FunctionRecord,
        config: FunctionConfig,
        request: InvokeRequest,
        invocation_type: InvocationType = InvocationType.REQUEST_RESPONSE,
    ) -> InvokeResult:
        started = time.monotonic()
        received = time.time()
        start_ms = int(received * 1000)
        events, obs = self.events, self.observability
        trace = None
        if obs is not None:  # the runtime sees the trace as Lambda-Runtime-Trace-Id
            trace = obs.trace(config, request.trace_header)
            request = dataclasses.replace(request, trace_header=trace.runtime_header)
        try:
            lease = self.scheduler.acquire(record)
        except errors.LambdaError as exc:
            if obs is not None:
                obs.throttled(record.name, request.qualifier)
            if events is not None:
                reason = str(exc.extra.get("Reason", exc.code))
                events.invocation_throttled(
                    request.request_id, record.name, request.qualifier, reason
                )
            raise
        env = None
        try:
            env = await self.pool.acquire(config, request.qualifier)
            if events is not None:
                events.invocation_started(
                    request.request_id,
                    config.name,
                    request.qualifier,
                    config.version,
                    env.id,
                    env.cold_pending,
                    invocation_type,
                )
            attempt = await env.invoke(request, started=started)
            if attempt.status is not Status.SUCCESS and (
                env.broken or attempt.status in (Status.TIMEOUT, Status.CRASH)
            ):
                self.pool.runtime_lost(env, attempt.error_type)
        finally:
            self.scheduler.release(lease)
            if env is not None:
                self.pool.release(env)
        end_ms = int(time.time() * 1000)
        # The record, its event, metrics and Lambda's segments wait until the answer is on
        # its way; call_soon still runs them before any later request on this loop is served.
        asyncio.get_running_loop().call_soon(
            self._finished,
            request,
            config,
            env,
            attempt,
            invocation_type,
            trace,
            start_ms,
            end_ms,
            received,
        )
        return InvokeResult(
            request_id=request.request_id,
            executed_version=config.version,
            payload=attempt.payload,
            function_error="Unhandled" if attempt.function_error else None,
            log_tail=attempt.tail,
        )

    def _finished(
        self,
        request: InvokeRequest,
        config: FunctionConfig,
        env: ExecutionEnvironment,
        attempt: Attempt,
        invocation_type: InvocationType,
        trace: InvocationTrace | None,
        start_ms: int,
        end_ms: int,
        received: float,
    ) -> None:
        billed = attempt.billed_ms
        architecture = config.architectures[0] if config.architectures else "x86_64"
        cost = pricing.invocation_cost(
            billed, config.memory_size, architecture, config.ephemeral_storage, env.provisioned
        )
        finished = InvocationRecord(
            request_id=request.request_id,
            function=config.name,
            qualifier=request.qualifier,
            executed_version=config.version,
            environment_id=env.id,
            cold=attempt.init_ms is not None,  # only a cold start reports Init Duration
            start_ms=start_ms,
            end_ms=end_ms,
            init_ms=attempt.init_ms,
            duration_ms=attempt.duration_ms,
            billed_ms=billed,
            memory_mb=config.memory_size,
            max_memory_mb=attempt.max_memory_mb,
            status=attempt.status,
            error_type=attempt.error_type,
            architecture=architecture,
            invocation_type=invocation_type,
            provisioned=env.provisioned,
            cost_usd=cost.total,
        )
        if not env.provisioned and (config.name, request.qualifier) in self.pool.provisioned:
            finished.extra["spillover"] = True  # ProvisionedConcurrencySpilloverInvocations
        self.record(finished)
        if self.events is not None:
            self.events.invocation_finished(finished)
        if self.observability is not None:
            status = 202 if invocation_type is InvocationType.EVENT else 200
            self.observability.finished(
                trace, config, finished, received=received, responded=time.time(), status=status
            )
