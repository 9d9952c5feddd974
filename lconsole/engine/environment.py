"""ExecutionEnvironment: one runtime process (tree) serving one invocation at a time.

An environment owns its Runtime API channel, its `/tmp`, its log stream and its process. It
initialises once (cold), then serves invocations (warm). After a timeout or a crash the runtime
process is replaced inside the same environment: `/tmp` survives, globals do not, as on AWS.
Every state change goes through `model.environment.move`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from lconsole.engine import cgroups
from lconsole.engine.forkserver import ForkServer, ForkUnavailable, Process
from lconsole.engine.namespace import Namespace
from lconsole.engine.runtime_api import (
    Outcome,
    RuntimeApi,
    RuntimeChannel,
    RuntimeInvocation,
    next_headers,
)
from lconsole.engine.runtimes import Launch, Launcher, MissingToolchain, Sandbox
from lconsole.engine.variables import function_environment
from lconsole.model.environment import EnvInfo, EnvState, move
from lconsole.model.function import FunctionConfig
from lconsole.model.invocation import InvokeRequest, Status
from lconsole.model.telemetry import LogEvent
from lconsole.telemetry import cost as pricing
from lconsole.telemetry import logs as platform

log = logging.getLogger("lconsole.engine")

ON_DEMAND_INIT_LIMIT = 10.0  # seconds, as AWS allows on-demand init
MAX_EVENT = 256 * 1024  # CloudWatch's largest log event
TAIL_BYTES = 4096
MAX_LINE = 1 << 20  # a line longer than this is logged in pieces
_ERROR_TYPE = re.compile(r"(Runtime|Function)\.[A-Z][a-zA-Z]+")
_SIGNALS = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGILL: "illegal instruction",
    signal.SIGFPE: "floating point exception",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGPIPE: "broken pipe",
}
RUNTIME_ARN = "0" * 64

Emit = Callable[[LogEvent], None]


def normalise_error_type(value: str | None) -> str | None:
    """The platform's rule for the Error Type shown on REPORT and INIT_REPORT lines."""
    if value is None:
        return None
    if _ERROR_TYPE.search(value):
        return value
    return "Function.Unknown" if value.startswith("Function.") else "Runtime.Unknown"


def exit_reason(returncode: int) -> str:
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"Runtime exited with error: signal: {-returncode}"
        name = _SIGNALS.get(sig, sig.name.lower())
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


def platform_error(error_type: str, message: str) -> bytes:
    """Platform-authored payloads: compact Go-style JSON with errorType first."""
    return json.dumps(
        {"errorType": error_type, "errorMessage": message}, separators=(",", ":")
    ).encode()


class RuntimeExited(Exception):
    def __init__(self, returncode: int) -> None:
        super().__init__(returncode)
        self.returncode = returncode


class TimedOut(Exception):
    pass


@dataclass(frozen=True)
class InitFailure:
    payload: bytes
    error_type: str  # normalised, for INIT_REPORT / REPORT
    status: str = "error"  # "error" | "timeout"


@dataclass
class Attempt:
    """What one invocation did inside the environment."""

    status: Status
    payload: bytes
    duration_ms: float
    init_ms: float | None
    max_memory_mb: int
    error_type: str | None = None
    function_error: bool = False
    content_type: str = "application/json"
    tail: bytes | None = None
    billed_ms: int = 0


class ExecutionEnvironment:
    def __init__(
        self,
        config: FunctionConfig,
        *,
        launcher: Launcher,
        sandbox: Sandbox,
        runtime_api: RuntimeApi,
        emit: Emit,
        region: str,
        provisioned: bool = False,
        notice: str | None = None,
        xray_daemon: str | None = None,
        otlp_endpoint: str | None = None,
        env_id: str | None = None,
        namespace: Namespace | None = None,
        forkserver: ForkServer | None = None,
    ) -> None:
        self.namespace = namespace
        self.forkserver = forkserver
        self.config = config
        self.id = env_id or secrets.token_hex(16)
        self.launcher = launcher
        self.sandbox = sandbox
        self.runtime_api = runtime_api
        self.region = region
        self.provisioned = provisioned
        self.emit_event = emit
        self.notice = notice
        self.xray_daemon = xray_daemon
        self.otlp_endpoint = otlp_endpoint
        self.created = time.time()
        self.log_stream = platform.stream_name(self.created, config.version, self.id)
        self.state = EnvState.STARTING
        self.invocations = 0
        self.last_used = time.monotonic()
        self.max_memory_mb = 0
        self.retired = False  # config changed or engine stopping: stop when released
        self.broken = False  # init failed for good: never reuse
        self.channel: RuntimeChannel | None = None
        self.port = 0
        self.proc: Process | None = None
        self.exited: asyncio.Future[int] | None = None
        self.oom = False
        self.init_ms: float | None = None  # how long the last successful init took
        self.cold_pending = not provisioned  # the first invoke reports Init Duration
        self._spawned_at = 0.0
        self._launch: Launch | None = None
        self._launch_error: str | None = None
        self._output: Output | None = None
        self._status_fd: int | None = None
        self._settle: asyncio.Task[None] | None = None  # joining the cgroups after init
        self._settle_pending = False
        self._status_pid = 0
        self._watcher: asyncio.Task[None] | None = None
        self._tail: list[str] | None = None
        self._request_id: str | None = None
        self._json_logs = config.logging.log_format == "JSON"
        self.cgroup: cgroups.EnvironmentCgroup | None = None
        self._oom_kills = 0

    # Views ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def info(self) -> EnvInfo:
        return EnvInfo(
            id=self.id,
            function=self.config.name,
            version=self.config.version,
            state=self.state,
            created_ms=int(self.created * 1000),
            invocations=self.invocations,
            provisioned=self.provisioned,
            log_stream=self.log_stream,
            memory_mb=self.config.memory_size,
            max_memory_mb=self.max_memory_mb,
            pid=self.pid,
        )

    def to(self, state: EnvState) -> None:
        self.state = move(self.state, state)

    # Logging -------------------------------------------------------------------------------

    def emit(self, message: str, request_id: str | None = None) -> None:
        if len(message) > MAX_EVENT:
            message = message[:MAX_EVENT]
        if self._tail is not None:
            self._tail.append(message)
        self.emit_event(
            LogEvent(
                self.config.log_group,
                self.log_stream,
                int(time.time() * 1000),
                message,
                request_id if request_id is not None else self._request_id,
            )
        )

    def _init_start_line(self) -> str:
        label = self.launcher.version_label(self.config)
        if self._json_logs:
            return platform.JsonLines(int(time.time() * 1000)).init_start(
                label,
                self.region,
                RUNTIME_ARN,
                function=self.config.name,
                version=self.config.version,
                instance=self.log_stream,
                memory_mb=self.config.memory_size,
                init_type=self.init_type,
            )
        return platform.TextLines.init_start(label, self.region, RUNTIME_ARN)

    def _lines(self) -> type[platform.TextLines] | platform.JsonLines:
        if self._json_logs:
            return platform.JsonLines(int(time.time() * 1000))
        return platform.TextLines

    @property
    def init_type(self) -> str:
        return "provisioned-concurrency" if self.provisioned else "on-demand"

    # Process -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the Runtime API and start the runtime; init runs until its first `/next`."""
        self.channel = RuntimeChannel()
        self.port = await self.runtime_api.open(self.channel)
        if self.notice:
            self.emit(self.notice + "\n", "")
        await self._spawn(log_init_start=True)

    async def _spawn(self, *, log_init_start: bool) -> None:
        assert self.channel is not None
        self._spawned_at = time.monotonic()
        loop = asyncio.get_running_loop()
        self.exited = loop.create_future()
        if log_init_start:
            self.emit(self._init_start_line(), "")
        if self._launch_error is not None:  # the sandbox itself could not be set up
            self.exited.set_result(127)
            return
        try:
            launch = self._launch or self.launcher.launch(self.config, self.sandbox)
        except MissingToolchain as exc:
            self._launch_error = str(exc)
            self.exited.set_result(127)
            return
        self._launch = launch
        if launch.notice:
            self.emit(launch.notice + "\n", "")
            launch = dataclasses.replace(launch, notice=None)
            self._launch = launch
        env = function_environment(
            self.config,
            region=self.region,
            log_stream=self.log_stream,
            runtime_api=f"127.0.0.1:{self.port}",
            sandbox=self.sandbox,
            launch=launch,
            init_type=self.init_type,
            xray_daemon=self.xray_daemon,
            otlp_endpoint=self.otlp_endpoint,
        )
        read_end, write_end = os.pipe()  # stdout and stderr, as one stream, like Lambda's
        try:
            proc = await self._fork(launch, env, write_end) or await self._exec(
                launch, env, write_end
            )
        except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
            os.close(read_end)
            if isinstance(exc, OSError):
                self._launch_error = f"could not start {launch.argv[0]}: {exc.strerror}"
            else:  # the namespace step before the runtime failed
                self._launch_error = "could not set up the environment's mount namespace"
            self.exited.set_result(127)
            return
        finally:
            os.close(write_end)
        self.proc = proc
        if self.namespace is not None:
            self.namespace.adopt(proc.pid)
        self._output = Output(read_end, self.emit, loop)
        self._watcher = loop.create_task(self._watch(proc, self.exited))

    async def _fork(self, launch: Launch, env: dict[str, str], output: int) -> Process | None:
        """The runtime forked from the pre-initialised Python runtime, where it can be."""
        if self.forkserver is None or launch.fork_args is None:
            return None
        try:
            return await self.forkserver.spawn(
                launch.fork_args, env, str(self.sandbox.engine_task_root), self.namespace, output
            )
        except ForkUnavailable:
            return None

    async def _exec(self, launch: Launch, env: dict[str, str], output: int) -> Process:
        preexec = self.namespace.preexec() if self.namespace is not None else None
        cwd = None if self.namespace is not None else str(self.sandbox.engine_task_root)
        return await asyncio.create_subprocess_exec(
            *launch.argv,
            env=env,
            cwd=cwd,
            preexec_fn=preexec,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )

    async def _watch(self, proc: Process, exited: asyncio.Future[int]) -> None:
        code = await proc.wait()
        if self.cgroup is not None:
            kills = self.cgroup.oom_kills()
            if kills > self._oom_kills:  # the kernel's OOM killer took it at the ceiling
                self._oom_kills = kills
                self.oom = True
        output = self._output
        if output is not None:  # the rest of its output belongs to this process's life
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(output.closed), 1.0)
            output.close()
        self._close_status()
        if not exited.done():
            exited.set_result(code)
        channel = self.channel
        if channel is not None and channel.current is not None:
            outcome = channel.current.outcome
            if not outcome.done():
                outcome.set_exception(RuntimeExited(code))

    def _kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    async def _replace_runtime(self, *, log_init_start: bool = True) -> None:
        """Kill the runtime process and start a fresh one in the same environment."""
        self._kill()
        if self.exited is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), 5.0)
        assert self.channel is not None
        self.channel.reset()
        self.init_ms = None
        await self._spawn(log_init_start=log_init_start)

    async def stop(self, grace: float = 2.0) -> None:
        if self.state in (EnvState.STOPPING, EnvState.STOPPED):
            return
        self.to(EnvState.STOPPING)
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            # A runtime blocked in its native /next call only runs Python signal handlers once
            # that call returns: end it, so the function's SIGTERM handler gets its grace period.
            await self.runtime_api.close(self.port)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                self._kill()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5.0)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group
        if self.cgroup is not None:
            if self._settle is not None:  # let a pending join finish before emptying it
                with contextlib.suppress(TimeoutError, OSError):
                    await asyncio.wait_for(asyncio.shield(self._settle), 5.0)
            self.cgroup.kill_all()  # and any that left the group
        await self.runtime_api.close(self.port)
        if self.namespace is not None:
            self.namespace.close()
        if self.cgroup is not None:
            self.cgroup.remove()
        self.to(EnvState.STOPPED)

    # Init ----------------------------------------------------------------------------------

    async def initialise(self, limit: float = ON_DEMAND_INIT_LIMIT) -> InitFailure | None:
        """Wait for the runtime's first `/next`; the failure, if init did not get there."""
        assert self.channel is not None and self.exited is not None
        channel = self.channel
        if channel.initialised.done() and not self.exited.done():
            return None
        started = self._spawned_at
        try:
            await asyncio.wait_for(
                asyncio.wait(
                    {channel.initialised, self.exited}, return_when=asyncio.FIRST_COMPLETED
                ),
                max(0.0, limit - (time.monotonic() - started)),
            )
        except TimeoutError:
            self._kill()
            return InitFailure(b"", "Runtime.Unknown", status="timeout")
        if channel.initialised.done() and not self.exited.done():
            self.init_ms = (time.monotonic() - started) * 1000
            if cgroups.available():
                # Into the environment's cgroups after init, in the background: making one and
                # moving a process in hold the kernel's cgroup lock for an RCU grace period
                # (see EnvironmentCgroup.attach), so an on-demand environment joins once its
                # first answer is out, a provisioned one at once; nothing on the cold-start
                # path touches cgroups. From then on it has MemorySize / 1769 of a CPU.
                self._settle_pending = True
                if self.provisioned:
                    self._join_cgroups()
            return None
        return self._init_failure_from_exit()

    def _init_failure_from_exit(self) -> InitFailure:
        assert self.channel is not None and self.exited is not None
        if self._launch_error is not None:
            message = self._launch_error
            error_type = "Runtime.InvalidEntrypoint"
            payload = platform_error(error_type, "RequestId: {id} Error: " + message)
            return InitFailure(payload, error_type)
        reported = self.channel.init_error
        if reported is not None:
            error_type = normalise_error_type(reported.error_type) or "Runtime.Unknown"
            return InitFailure(reported.body, error_type)
        code = self.exited.result()
        return InitFailure(
            platform_error("Runtime.ExitError", "RequestId: {id} Error: " + exit_reason(code)),
            "Runtime.ExitError",
        )

    def init_elapsed_ms(self) -> float:
        return (time.monotonic() - self._spawned_at) * 1000

    # Invoke --------------------------------------------------------------------------------

    async def invoke(self, request: InvokeRequest, *, started: float) -> Attempt:
        """Serve one invocation: init first if needed (cold), then run it to an outcome.

        `started` is the `time.monotonic()` at which the request arrived.
        """
        assert self.channel is not None and self.exited is not None
        request_id = request.request_id
        self._tail = [] if request.tail else None
        deadline = started + self.config.timeout
        cold = self.cold_pending
        self.cold_pending = False
        if not self.channel.initialised.done() or self.exited.done():
            failure = await self.initialise(
                ON_DEMAND_INIT_LIMIT if not self.provisioned else max(130.0, self.config.timeout)
            )
            if failure is not None:
                # Suppressed init: report the failed phase, then init again inside the invoke.
                cold = False
                reported_type = failure.error_type if failure.status == "error" else None
                self.emit(
                    self._lines().init_report(
                        self.init_elapsed_ms(), "init", failure.status, reported_type
                    ),
                    "",
                )
                if self._launch_error is None:
                    await self._replace_runtime(log_init_start=False)
                    failure = await self.initialise(max(0.0, deadline - time.monotonic()))
                if failure is not None:
                    return self._failed_init(request_id, failure, started, request.invoked_arn)
        init_ms = self.init_ms if cold else None
        if cold:  # Duration and the deadline start when the handler does
            started = time.monotonic()
            deadline = started + self.config.timeout
        invocation = RuntimeInvocation(
            request_id,
            request.payload,
            next_headers(
                request_id,
                int((time.time() + deadline - time.monotonic()) * 1000),
                request.invoked_arn,
                request.trace_header,
                request.client_context,
            ),
        )
        self._request_id = request_id
        self.emit(
            self._lines().start(request_id, self.config.version, function_arn=request.invoked_arn),
            request_id,
        )
        self.invocations += 1
        self.channel.dispatch(invocation)
        loop = asyncio.get_running_loop()
        timer = loop.call_at(
            loop.time() + max(0.0, deadline - time.monotonic()), _expire, invocation.outcome
        )
        try:
            outcome = await invocation.outcome
            timer.cancel()
            attempt = self._from_outcome(outcome, started, init_ms)
        except TimedOut:
            attempt = Attempt(
                Status.TIMEOUT,
                platform_error(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after "
                    f"{self.config.timeout:.2f} seconds",
                ),
                self.config.timeout * 1000.0,
                init_ms,
                self._memory(),
                error_type="Sandbox.Timedout",
                function_error=True,
            )
            await self._replace_runtime()
        except RuntimeExited as exc:
            timer.cancel()
            oom, self.oom = self.oom, False
            attempt = Attempt(
                Status.CRASH,
                platform_error(
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: {exit_reason(exc.returncode)}",
                ),
                (time.monotonic() - started) * 1000,
                init_ms,
                self.config.memory_size if oom else self.max_memory_mb,
                error_type="Runtime.OutOfMemory" if oom else "Runtime.ExitError",
                function_error=True,
            )
            await self._replace_runtime()
        if self._output is not None:  # what the runtime wrote before answering comes before END
            self._output.drain()
        self._finish(attempt, request_id)
        if self._settle_pending:  # after this answer is sent (call_soon runs after the write)
            asyncio.get_running_loop().call_soon(self._join_cgroups)
        return attempt

    def _join_cgroups(self) -> None:
        if not self._settle_pending or self.proc is None:
            return
        if self.state in (EnvState.STOPPING, EnvState.STOPPED):
            return
        self._settle_pending = False
        self._settle = asyncio.get_running_loop().create_task(self._settle_in(self.proc.pid))

    async def _settle_in(self, pid: int) -> None:
        if self.cgroup is None:
            self.cgroup = await cgroups.make(
                self.id, self.config.memory_size, self.config.ephemeral_storage
            )
        if self.cgroup is not None:
            await cgroups.settle(self.cgroup, pid)

    def _from_outcome(self, outcome: Outcome, started: float, init_ms: float | None) -> Attempt:
        duration = (time.monotonic() - started) * 1000
        memory = self._memory()
        if outcome.kind == "response":
            return Attempt(
                Status.SUCCESS,
                outcome.body,
                duration,
                init_ms,
                memory,
                content_type=outcome.content_type,
            )
        if outcome.kind == "too_large":
            return Attempt(
                Status.ERROR,
                json.dumps(
                    {
                        "errorMessage": "Response payload size exceeded maximum allowed payload "
                        "size (6291556 bytes).",
                        "errorType": "Function.ResponseSizeTooLarge",
                    },
                    separators=(",", ":"),
                ).encode(),
                duration,
                init_ms,
                memory,
                error_type="Function.ResponseSizeTooLarge",
                function_error=True,
            )
        error_type = outcome.error_type
        if error_type is None:
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                error_type = json.loads(outcome.body).get("errorType")
        return Attempt(
            Status.ERROR,
            outcome.body,
            duration,
            init_ms,
            memory,
            error_type=error_type,
            function_error=True,
        )

    def _failed_init(
        self, request_id: str, failure: InitFailure, started: float, function_arn: str
    ) -> Attempt:
        self._request_id = request_id
        self.emit(
            self._lines().init_report(
                self.init_elapsed_ms(), "invoke", failure.status, failure.error_type
            ),
            request_id,
        )
        self.emit(
            self._lines().start(request_id, self.config.version, function_arn=function_arn),
            request_id,
        )
        payload = failure.payload.replace(b"{id}", request_id.encode())
        status = Status.TIMEOUT if failure.status == "timeout" else Status.ERROR
        if failure.status == "timeout":
            payload = platform_error(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after "
                f"{self.config.timeout:.2f} seconds",
            )
        attempt = Attempt(
            status,
            payload,
            (time.monotonic() - started) * 1000,
            None,
            self._memory(),
            error_type=failure.error_type,
            function_error=True,
        )
        self.broken = True
        self._finish(attempt, request_id, platform_status=failure.status)
        return attempt

    def _finish(
        self, attempt: Attempt, request_id: str, platform_status: str | None = None
    ) -> None:
        attempt.billed_ms = pricing.billed_duration_ms(
            attempt.duration_ms, attempt.init_ms, runtime=self.config.runtime or ""
        )
        status = platform_status
        if status is None:
            if attempt.status is Status.TIMEOUT:
                status = "timeout"
            elif attempt.status is Status.CRASH:
                status = "error"
        report = platform.Report(
            request_id=request_id,
            duration_ms=attempt.duration_ms,
            billed_ms=attempt.billed_ms,
            memory_mb=self.config.memory_size,
            max_memory_mb=attempt.max_memory_mb,
            init_ms=attempt.init_ms,
            status=status,
            error_type=attempt.error_type if status == "error" else None,
        )
        if self._tail is not None:  # the caller wants END and REPORT in its answer
            self._report(report)
            text = "".join(self._tail).encode()
            attempt.tail = text[-TAIL_BYTES:]
        else:  # otherwise log them once the answer is on its way; still before the next START
            asyncio.get_running_loop().call_soon(self._report, report)
        self._tail = None
        self._request_id = None
        self.last_used = time.monotonic()

    def _report(self, report: platform.Report) -> None:
        if not self._json_logs:
            self.emit(platform.TextLines.end(report.request_id), report.request_id)
        self.emit(self._lines().report(report), report.request_id)

    def _status_kb(self, field: bytes) -> int | None:
        """One `/proc/PID/status` figure of the live runtime process, in kB.

        The file stays open for the process's life and is re-read with `pread`: this runs on
        every invoke, and reopening it costs more than reading it.
        """
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return None
        if self._status_fd is None or self._status_pid != proc.pid:
            self._close_status()
            try:
                self._status_fd = os.open(f"/proc/{proc.pid}/status", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
            self._status_pid = proc.pid
        try:
            data = os.pread(self._status_fd, 8192, 0)
            at = data.index(field) + len(field)
            return int(data[at : data.index(b"kB", at)])
        except (OSError, ValueError):
            return None

    def _close_status(self) -> None:
        fd, self._status_fd = self._status_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _memory(self) -> int:
        """Peak resident memory of the runtime process, in MB (what REPORT calls Max Memory)."""
        kb = self._status_kb(b"VmHWM:")
        if kb is not None:
            self.max_memory_mb = max(self.max_memory_mb, -(-kb // 1024))
        return self.max_memory_mb

    def rss_mb(self) -> int:
        return (self._status_kb(b"VmRSS:") or 0) // 1024

    def kill_for_memory(self) -> None:
        self.oom = True
        self._kill()


class Output:
    """A runtime's stdout+stderr pipe, split into log lines as data arrives.

    A plain non-blocking pipe read from the loop, rather than a StreamReader task, so that
    `drain()` can take everything already written synchronously: output the function wrote
    before answering is always logged ahead of END, with no extra loop round trip.
    """

    def __init__(
        self, fd: int, emit: Callable[[str], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        self.fd = fd
        self.emit = emit
        self.loop = loop
        self.closed: asyncio.Future[None] = loop.create_future()
        self._partial = b""
        os.set_blocking(fd, False)
        loop.add_reader(fd, self.drain)

    def drain(self) -> None:
        if self.closed.done():
            return
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._eof()
                return
            self._lines(data)

    def _lines(self, data: bytes) -> None:
        data = self._partial + data if self._partial else data
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self.emit(data[start : end + 1].decode("utf-8", "replace"))
            start = end + 1
        rest = data[start:]
        while len(rest) > MAX_LINE:
            self.emit(rest[:MAX_LINE].decode("utf-8", "replace"))
            rest = rest[MAX_LINE:]
        self._partial = rest

    def _eof(self) -> None:
        if self._partial:
            self.emit(self._partial.decode("utf-8", "replace") + "\n")
            self._partial = b""
        self.close()

    def close(self) -> None:
        if not self.closed.done():
            self.loop.remove_reader(self.fd)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.closed.set_result(None)


def _expire(outcome: asyncio.Future[Outcome]) -> None:
    if not outcome.done():
        outcome.set_exception(TimedOut())
