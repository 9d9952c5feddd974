"""What an invocation leaves behind besides its log lines: traces, metrics, custom metrics.

One object the engine owns: it decides each invocation's trace (X-Ray header in, sampling per
TracingConfig, the header the runtime sees), records Lambda's own segments for traced
invocations, runs the X-Ray daemon endpoint functions send their segments to, keeps the
1-second live metrics, turns EMF log lines into custom metrics, and samples concurrency.
Everything that must last goes through the telemetry writer, in its batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lconsole.model import arn as arns
from lconsole.model.environment import EnvState
from lconsole.model.function import FunctionConfig
from lconsole.model.invocation import InvocationRecord, Status
from lconsole.model.metrics import MetricKey
from lconsole.model.telemetry import LogEvent
from lconsole.telemetry import emf, xray
from lconsole.telemetry.metrics import LiveMetrics
from lconsole.telemetry.writer import TelemetryWriter
from lconsole.telemetry.xray_daemon import XRayDaemon

log = logging.getLogger("lconsole.engine")

SAMPLE_PERIOD = 1.0  # seconds between concurrency samples


@dataclass(frozen=True)
class Busy:
    """What the pool reports for one environment, for the concurrency metrics."""

    function: str
    version: str
    qualifier: str | None
    provisioned: bool
    state: EnvState


class Observability:
    def __init__(
        self,
        writer: TelemetryWriter,
        *,
        account: str,
        region: str,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.writer = writer
        self.account = account
        self.region = region
        self.clock = clock
        self.rng = rng or random.Random()
        self.sampler = xray.DefaultSampler()
        self.metrics = LiveMetrics()
        self.daemon = XRayDaemon(writer.segment)
        self.daemon_address: str | None = None
        self._sampler_task: asyncio.Task[None] | None = None

    async def start(self, environments: Callable[[], Iterable[Busy]]) -> None:
        try:
            await self.daemon.start()
            self.daemon_address = self.daemon.daemon_address
        except OSError as exc:  # no UDP on loopback: functions run untraced, nothing else
            log.warning("x-ray daemon endpoint unavailable: %s", exc)
        self._sampler_task = asyncio.get_running_loop().create_task(self._sample(environments))

    async def stop(self) -> None:
        if self._sampler_task is not None:
            self._sampler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler_task
        await self.daemon.stop()

    # Traces --------------------------------------------------------------------------------

    def trace(self, config: FunctionConfig, incoming: str | None) -> xray.InvocationTrace:
        return xray.start_invocation_trace(
            config.tracing_mode, incoming, now=self.clock(), rng=self.rng, sampler=self.sampler
        )

    def finished(
        self,
        trace: xray.InvocationTrace | None,
        config: FunctionConfig,
        record: InvocationRecord,
        *,
        received: float,
        responded: float,
        status: int = 200,
    ) -> None:
        """Lambda's own segments for a traced invocation, and the live metrics for all."""
        self.metrics.record(record)
        if trace is None or not trace.recorded:
            return
        invoke_end = record.end_ms / 1000
        invoke_start = invoke_end - record.duration_ms / 1000
        init_start = init_end = None
        if record.init_ms is not None:
            init_end = invoke_start
            init_start = init_end - record.init_ms / 1000
        arn = arns.function_arn(self.region, self.account, config.name)
        documents = xray.lambda_segments(
            trace,
            xray.FunctionRef(config.name, arn, self.account),
            xray.InvocationTimes(
                received=min(received, init_start or received),
                invoke_start=invoke_start,
                invoke_end=invoke_end,
                responded=max(responded, invoke_end),
                done=max(responded, invoke_end),
                init_start=init_start,
                init_end=init_end,
            ),
            request_id=record.request_id,
            status=status,
            function_error=record.status is not Status.SUCCESS,
        )
        for document in documents:
            self.writer.segment(document)

    # Metrics -------------------------------------------------------------------------------

    def throttled(self, function: str, qualifier: str | None) -> None:
        self.metrics.throttle(function, qualifier, int(self.clock() * 1000))

    def log(self, event: LogEvent) -> None:
        """EMF: a JSON log line carrying `_aws.CloudWatchMetrics` becomes custom metrics."""
        message = event.message
        if '"_aws"' not in message:
            return
        result = emf.parse(message)
        if result is None:
            return
        if result.error:
            log.debug("EMF document in %s rejected: %s", event.group, result.error)
            return
        self.writer.custom_metrics(result.datums)

    async def _sample(self, environments: Callable[[], Iterable[Busy]]) -> None:
        while True:
            await asyncio.sleep(SAMPLE_PERIOD)
            try:
                self.sample(environments())
            except Exception:
                log.exception("concurrency sample failed")

    def sample(self, environments: Iterable[Busy]) -> None:
        """ConcurrentExecutions and provisioned utilisation, per function and per version."""
        now = int(self.clock() * 1000)
        busy: Counter[MetricKey] = Counter()
        provisioned_busy: Counter[MetricKey] = Counter()
        provisioned: Counter[MetricKey] = Counter()
        for env in environments:
            keys = (MetricKey(env.function), MetricKey(env.function, env.version))
            if env.provisioned and env.qualifier and env.qualifier != env.version:
                keys += (MetricKey(env.function, env.qualifier),)
            for key in keys:
                if env.state is EnvState.BUSY:
                    busy[key] += 1
                    if env.provisioned:
                        provisioned_busy[key] += 1
                if env.provisioned:
                    provisioned[key] += 1
        for key in set(busy) | set(provisioned) | set(self.metrics.keys()):
            self.metrics.sample(
                key,
                now,
                concurrent=busy[key],
                provisioned_busy=provisioned_busy[key],
                provisioned_configured=provisioned[key],
            )
