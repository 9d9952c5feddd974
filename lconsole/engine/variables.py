"""The environment a function process starts with: AWS's reserved variables plus the user's.

Built from nothing, never from the engine's own environment, so no credential or setting of
the engine leaks into a function.
"""

from __future__ import annotations

from lconsole.engine.runtimes import Launch, Sandbox
from lconsole.model.function import FunctionConfig


def function_environment(
    config: FunctionConfig,
    *,
    region: str,
    log_stream: str,
    runtime_api: str,
    sandbox: Sandbox,
    launch: Launch,
    init_type: str = "on-demand",
    xray_daemon: str | None = None,
    otlp_endpoint: str | None = None,
) -> dict[str, str]:
    opt, task = sandbox.opt, sandbox.task_root
    env: dict[str, str] = {
        "PATH": f"/usr/local/bin:/usr/bin:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": f"/lib64:/usr/lib64:{task}:{task}/lib:{opt}/lib",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PWD": str(task),
        "SHLVL": "0",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    if otlp_endpoint:  # where an OpenTelemetry SDK exports; the function's own setting wins
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
        env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
        env["OTEL_SERVICE_NAME"] = config.name
    if not sandbox.private:  # no /tmp of its own: point it at its private directory
        env["TMPDIR"] = str(sandbox.tmp)
        env["HOME"] = str(sandbox.tmp)
    env.update(config.environment or {})
    reserved = {
        "_HANDLER": config.handler or "",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": config.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(task),
    }
    if xray_daemon:
        host, _, port = xray_daemon.partition(":")
        reserved["AWS_XRAY_DAEMON_ADDRESS"] = xray_daemon
        reserved["_AWS_XRAY_DAEMON_ADDRESS"] = host
        reserved["_AWS_XRAY_DAEMON_PORT"] = port
    if config.logging.log_format == "JSON":
        reserved["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        if config.logging.application_log_level:
            reserved["AWS_LAMBDA_LOG_LEVEL"] = config.logging.application_log_level
    env.update(reserved)
    env.update(launch.env)
    return env
