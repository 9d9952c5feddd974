"""Argument parsing and dispatch to the verbs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from lconsole.cli.endpoint import Endpoint
from lconsole.config import DEFAULT_ACCOUNT, DEFAULT_PORT, DEFAULT_REGION, default_state_dir

ENGINE_START_S = 30.0


def _state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the engine keeps its state (default: $XDG_DATA_HOME/lconsole)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lconsole",
        description="Run, watch and steer serverless functions from a terminal. Without a "
        "command, opens the console on the engine running for the state dir, starting one "
        "in the background when none runs.",
    )
    _state_dir(parser)
    parser.add_argument(
        "--read-only", action="store_true", help="hide every action that changes anything"
    )
    parser.add_argument("--theme", choices=("dark", "light"), default="dark")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for an engine the console starts (default {DEFAULT_PORT}, else a free one)",
    )
    parser.add_argument(
        "--engine-foreground",
        action="store_true",
        help=argparse.SUPPRESS,  # how the console starts its background engine
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the local executor in the foreground")
    _state_dir(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--region", default=DEFAULT_REGION)
    serve.add_argument("--account", default=DEFAULT_ACCOUNT, help=argparse.SUPPRESS)
    serve.add_argument("--samples", action="store_true", help="load the sample functions")
    serve.add_argument("--account-concurrency", type=int, default=1000)
    serve.add_argument(
        "--idle-ttl", type=float, default=600.0, help="seconds before an idle environment is reaped"
    )
    serve.add_argument(
        "--no-fork-server",
        action="store_true",
        help="start every Python runtime as a new interpreter, not as a fork of a ready one",
    )
    serve.add_argument("-v", "--verbose", action="store_true")
    _verbs(sub)
    from lconsole.cli import observe

    observe.add_parsers(sub, _verb_state_dir)
    return parser


def _verb_state_dir(parser: argparse.ArgumentParser) -> None:
    """Like `_state_dir`, but `lconsole --state-dir D invoke ...` keeps working too."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="the state dir of the engine to use (default: $XDG_DATA_HOME/lconsole)",
    )


def _verbs(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    invoke = sub.add_parser(
        "invoke",
        help="invoke a function and print its response",
        description="Invoke a function on the running engine. The response payload goes to "
        "stdout; exit status 1 on a function error or an API error.",
    )
    invoke.add_argument("name", metavar="NAME", help="function name or ARN")
    invoke.add_argument("--qualifier", help="version or alias")
    invoke.add_argument(
        "--payload", metavar="JSON|@FILE", help="the event: inline JSON, @file, or @- for stdin"
    )
    invoke.add_argument(
        "--tail", action="store_true", help="print the last 4 KB of the log to stderr"
    )
    kind = invoke.add_mutually_exclusive_group()
    kind.add_argument(
        "--async", dest="async_", action="store_true", help="queue an Event invocation"
    )
    kind.add_argument(
        "--dry-run", action="store_true", help="only check that the function can be invoked"
    )
    _verb_state_dir(invoke)

    deploy = sub.add_parser(
        "deploy",
        help="create or update a function from a directory",
        description="Zip DIR and create the function, or update its code and configuration if "
        "it exists. Prints the function ARN and CodeSha256.",
    )
    deploy.add_argument("dir", metavar="DIR", type=Path, help="the function's code directory")
    deploy.add_argument("--name", required=True)
    deploy.add_argument("--runtime", required=True, help="e.g. python3.11, nodejs20.x")
    deploy.add_argument("--handler", required=True, help="e.g. app.handler")
    deploy.add_argument("--memory", type=int, metavar="MB")
    deploy.add_argument("--timeout", type=int, metavar="SECONDS")
    deploy.add_argument(
        "--env", action="append", metavar="KEY=VALUE", help="environment variable (repeatable)"
    )
    deploy.add_argument("--role", default="arn:aws:iam::000000000000:role/lconsole")
    _verb_state_dir(deploy)
    _demo_parser(sub)


def _demo_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from lconsole.demo.plan import TrafficConfig as Defaults

    demo = sub.add_parser(
        "demo",
        help="the console plus generated traffic (cold-start bursts, errors, a canary alias)",
        description="Deploy demo-checkout with two versions and a 'live' alias sending the newer "
        "one a canary share, then keep it and the sample functions busy: a steady trickle, "
        "bursts that start new environments, some errors, timeouts and async events. Opens "
        "the console over that traffic; quitting the console stops it. An engine the demo "
        "starts is stopped when it ends, unless --keep-engine.",
    )
    demo.add_argument(
        "--rate", type=float, default=Defaults.rate, help="steady invocations per second"
    )
    demo.add_argument(
        "--burst",
        type=int,
        default=Defaults.burst,
        help="largest burst of concurrent invocations (0: none)",
    )
    demo.add_argument(
        "--burst-every",
        type=float,
        default=Defaults.burst_every_s,
        metavar="SECONDS",
        help="time between bursts",
    )
    demo.add_argument(
        "--canary",
        type=float,
        default=Defaults.canary_weight,
        metavar="WEIGHT",
        help="the version-2 share of the live alias (0..1)",
    )
    demo.add_argument("--seed", type=int, help="make the traffic plan repeatable")
    demo.add_argument(
        "--headless", action="store_true", help="no console: only the traffic, then a summary"
    )
    demo.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="with --headless: stop after N seconds (default: at Ctrl-C)",
    )
    demo.add_argument(
        "--keep-engine", action="store_true", help="leave an engine the demo started running"
    )
    demo.add_argument(
        "--port",
        type=int,
        default=argparse.SUPPRESS,
        help=f"port for an engine the demo starts (default {DEFAULT_PORT}, else a free one)",
    )
    _verb_state_dir(demo)


def start_engine(state_dir: Path, port: int, timeout: float = ENGINE_START_S) -> Endpoint:
    """Start an engine for `state_dir` as a process of its own (it outlives the console).

    Its output goes to `engine.log` in the state dir. When `port` is taken, a free one is used.
    """
    import subprocess
    import time

    from lconsole.cli import launcher
    from lconsole.config import StatePaths

    paths = StatePaths(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    for attempt_port in dict.fromkeys((port, 0)):
        with open(paths.engine_log, "ab") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lconsole",
                    "--engine-foreground",
                    "--state-dir",
                    str(state_dir),
                    "--port",
                    str(attempt_port),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = launcher.find_engine(state_dir)
            if found is not None:
                return found
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        else:
            proc.terminate()
            raise RuntimeError(
                f"the engine did not start within {timeout:.0f} s; see {paths.engine_log}"
            )
        found = launcher.find_engine(state_dir)  # another console may have won the race
        if found is not None:
            return found
    tail = paths.engine_log.read_text(errors="replace").strip().splitlines()[-3:]
    raise RuntimeError("the engine did not start: " + " / ".join(tail))


def stop_engine(pid: int, timeout: float = 20.0) -> bool:
    """SIGTERM an engine, then wait for it (and its environments) to go; SIGKILL at `timeout`."""
    import os
    import signal
    import time

    from lconsole.cli import launcher

    def gone() -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it
            return done == pid
        except ChildProcessError:
            return not launcher.pid_alive(pid)

    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone():
            return True
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)  # the engine leads its own session (start_engine)
    except (ProcessLookupError, PermissionError):
        pass
    return gone()


def run_console(
    state_dir: Path,
    *,
    read_only: bool,
    theme: str,
    port: int,
    background: Callable[[], Awaitable[object]] | None = None,
) -> int:
    """The console on the engine running for `state_dir`, starting one when none runs.

    `background` runs inside the console's event loop for as long as the console does.
    """
    from lconsole.backends.local import LocalBackend
    from lconsole.cli import endpoint as endpoints
    from lconsole.cli import launcher
    from lconsole.config import StatePaths
    from lconsole.tui.app import LconsoleApp
    from lconsole.tui.keys import load_keymap

    found = launcher.find_engine(state_dir)
    started = found is None
    if found is None:
        print(f"lconsole: starting an engine on {state_dir}…", file=sys.stderr, flush=True)
        try:
            found = start_engine(state_dir, port)
        except RuntimeError as exc:
            print(f"lconsole: {exc}", file=sys.stderr)
            return 1
    endpoint_file = StatePaths(state_dir).endpoint_file

    def token() -> str | None:
        current = endpoints.read(endpoint_file)
        return current.token if current is not None else None

    backend = LocalBackend(found.url, token=found.token, token_reader=token)
    app = LconsoleApp(
        backend, read_only=read_only, theme=theme, keymap=load_keymap(), background=background
    )
    app.run()
    if started:
        print(
            f"lconsole: the engine keeps running at {found.url} (pid {found.pid}); "
            f"stop it with: kill {found.pid}",
            file=sys.stderr,
        )
    return 0


def run_demo(args: argparse.Namespace, state_dir: Path) -> int:
    """`lconsole demo`: find or start the engine, then traffic with (or without) the console."""
    import asyncio

    from lconsole.backends.local import LocalBackend
    from lconsole.cli import endpoint as endpoints
    from lconsole.cli import launcher
    from lconsole.config import StatePaths
    from lconsole.demo import runner
    from lconsole.demo.plan import TrafficConfig

    config = TrafficConfig(
        rate=args.rate,
        burst=args.burst,
        burst_every_s=args.burst_every,
        canary_weight=args.canary,
        seed=args.seed,
    )
    problems = config.problems()
    if args.seconds is not None and not args.headless:
        problems.append("--seconds needs --headless")
    if args.seconds is not None and args.seconds <= 0:
        problems.append("--seconds must be above 0")
    if problems:
        for problem in problems:
            print(f"lconsole: {problem}", file=sys.stderr)
        return 2
    found = launcher.find_engine(state_dir)
    started = found is None
    if found is None:
        print(f"lconsole: starting an engine on {state_dir}…", file=sys.stderr, flush=True)
        try:
            found = start_engine(state_dir, args.port)
        except RuntimeError as exc:
            print(f"lconsole: {exc}", file=sys.stderr)
            return 1
    engine = found
    endpoint_file = StatePaths(state_dir).endpoint_file

    def token() -> str | None:
        current = endpoints.read(endpoint_file)
        return current.token if current is not None else None

    def connect() -> LocalBackend:
        return LocalBackend(engine.url, token=engine.token, token_reader=token)

    async def headless() -> int:
        from lconsole.backends.base import BackendError

        async with connect() as backend:
            try:
                await runner.headless(backend, config, args.seconds)
            except BackendError as exc:
                print(f"lconsole: demo: {exc.code}: {exc.message}", file=sys.stderr)
                return 1
        return 0

    try:
        if args.headless:
            return asyncio.run(headless())
        return run_console(
            state_dir,
            read_only=args.read_only,
            theme=args.theme,
            port=args.port,
            background=runner.beside_console(connect, config),
        )
    finally:
        if started and args.keep_engine:
            _say(
                f"lconsole: the engine keeps running at {engine.url} (pid {engine.pid}); "
                f"stop it with: kill {engine.pid}"
            )
        elif started:
            _say(f"lconsole: stopping the engine the demo started (pid {engine.pid})…")
            stop_engine(engine.pid)


def _say(line: str) -> None:
    """To stderr, unless the terminal has gone (a hung-up SSH session): cleanup goes on."""
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command is None and not args.engine_foreground:
        return run_console(state_dir, read_only=args.read_only, theme=args.theme, port=args.port)
    if args.command in (None, "serve"):
        from lconsole.cli import serve
        from lconsole.config import EngineSettings

        console = args.command is None  # the console's own engine: samples on first start
        if console:
            rest = [a for a in (argv or sys.argv[1:]) if a != "--engine-foreground"]
            args = parser.parse_args(["serve", *rest])
        settings = EngineSettings(
            state_dir=state_dir,
            region=args.region,
            account=args.account,
            host=args.host,
            port=args.port,
            account_concurrency=args.account_concurrency,
            idle_ttl_seconds=args.idle_ttl,
            fork_python=not args.no_fork_server,
            load_samples="always" if args.samples else ("first-start" if console else "never"),
        )
        serve.configure_logging(args.verbose)
        return serve.run(settings)
    if args.command == "demo":
        return run_demo(args, state_dir)
    if args.command in ("invoke", "deploy"):
        from lconsole.cli import verbs

        return verbs.run(args, state_dir)
    if args.command in ("logs", "insights", "traces", "trace", "metrics"):
        from lconsole.cli import observe

        return observe.run(args, state_dir)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
