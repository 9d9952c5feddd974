"""Argument parsing and dispatch to the verbs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lconsole.config import DEFAULT_ACCOUNT, DEFAULT_PORT, DEFAULT_REGION, default_state_dir


def _state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the engine keeps its state (default: $XDG_DATA_HOME/lconsole)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lconsole", description="Run, watch and steer serverless functions from a terminal."
    )
    _state_dir(parser)
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
    serve.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    state_dir = args.state_dir or default_state_dir()
    if args.command in (None, "serve"):
        from lconsole.cli import serve
        from lconsole.config import EngineSettings

        console = args.command is None
        if console:
            args = parser.parse_args(["serve", *(argv or sys.argv[1:])])
        settings = EngineSettings(
            state_dir=state_dir,
            region=args.region,
            account=args.account,
            host=args.host,
            port=args.port,
            account_concurrency=args.account_concurrency,
            idle_ttl_seconds=args.idle_ttl,
            load_samples="always" if args.samples else ("first-start" if console else "never"),
        )
        serve.configure_logging(args.verbose)
        return serve.run(settings)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
