"""The scriptable verbs: `lconsole invoke` and `lconsole deploy`, over a `Backend`.

Exit codes: 0 success, 1 function error, API error or no engine, 2 bad arguments (checked before
anything is called), 130 interrupted. User errors are one `lconsole: ...` line on stderr, never
a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from lconsole.backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    FunctionSpec,
    InvocationType,
)
from lconsole.cli import launcher

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """A bad argument, found before the backend is called."""


def _fail(message: str, code: int) -> int:
    print(f"lconsole: {message}", file=sys.stderr, flush=True)
    return code


def read_payload(value: str | None) -> bytes:
    """`--payload`: inline JSON, `@file`, or `@-` for stdin; must be JSON (blank means `{}`)."""
    if value is None:
        return b""
    if value.startswith("@"):
        source = value[1:]
        if not source:
            raise UsageError("--payload @ needs a file name (or @- for stdin)")
        try:
            raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read payload file {source}: {exc.strerror or exc}") from None
        where = "stdin" if source == "-" else source
    else:
        raw = value.encode("utf-8", errors="surrogateescape")
        where = "--payload"
    if not raw.strip():
        return b""
    try:
        json.loads(raw)
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not valid JSON: it is not UTF-8 text") from None
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON: {exc}") from None
    return raw


def parse_env(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env expects KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def _connect(state_dir: Path) -> Backend:
    from lconsole.backends.local import LocalBackend

    found = launcher.require_engine(state_dir)
    return LocalBackend(found.url, token=found.token)


def _run(state_dir: Path, work: Callable[[Backend], Awaitable[int]]) -> int:
    try:
        backend = _connect(state_dir)
    except launcher.NoEngine as exc:
        return _fail(str(exc), FAILED)

    async def go() -> int:
        async with backend:
            return await work(backend)

    try:
        return asyncio.run(go())
    except BackendUnavailable as exc:
        return _fail(exc.message, FAILED)
    except BackendError as exc:
        return _fail(f"{exc.code}: {exc.message}", FAILED)
    except KeyboardInterrupt:
        return INTERRUPTED


def _write_stdout(data: bytes) -> None:
    if not data:
        return
    out = sys.stdout.buffer
    out.write(data)
    if not data.endswith(b"\n"):
        out.write(b"\n")
    out.flush()


def invoke(args: argparse.Namespace, state_dir: Path) -> int:
    try:
        payload = read_payload(args.payload)
    except UsageError as exc:
        return _fail(str(exc), USAGE)
    kind: InvocationType = "RequestResponse"
    if args.async_:
        kind = "Event"
    elif args.dry_run:
        kind = "DryRun"

    async def work(backend: Backend) -> int:
        outcome = await backend.invoke(
            args.name, payload, qualifier=args.qualifier, invocation_type=kind, tail=args.tail
        )
        if kind == "Event":
            print(f"accepted: request id {outcome.request_id}", file=sys.stderr)
            return OK
        if kind == "DryRun":
            print(f"dry run: {args.name} can be invoked", file=sys.stderr)
            return OK
        _write_stdout(outcome.payload)
        if args.tail and outcome.log_tail:
            sys.stderr.write(
                outcome.log_tail if outcome.log_tail.endswith("\n") else outcome.log_tail + "\n"
            )
            sys.stderr.flush()
        if outcome.function_error:
            return _fail(f"{args.name} failed ({outcome.function_error} function error)", FAILED)
        return OK

    return _run(state_dir, work)


def deploy(args: argparse.Namespace, state_dir: Path) -> int:
    source: Path = args.dir
    try:
        if not source.is_dir():
            what = "does not exist" if not source.exists() else "is not a directory"
            raise UsageError(f"{source} {what}")
        environment = parse_env(args.env)
        for flag, value in (("--memory", args.memory), ("--timeout", args.timeout)):
            if value is not None and value <= 0:
                raise UsageError(f"{flag} must be a positive number, got {value}")
    except UsageError as exc:
        return _fail(str(exc), USAGE)
    spec = FunctionSpec(
        name=args.name,
        runtime=args.runtime,
        handler=args.handler,
        role=args.role,
        memory_size=args.memory,
        timeout=args.timeout,
        environment=environment,
    )

    async def work(backend: Backend) -> int:
        try:
            outcome = await backend.deploy(spec, source)
        except OSError as exc:  # the tree changed or became unreadable while packaging
            return _fail(f"cannot package {source}: {exc}", USAGE)
        fn = outcome.function
        print(f"{fn.arn}\n{fn.code_sha256}", flush=True)
        verb = "created" if outcome.created else "updated"
        print(f"{verb} {fn.name} ({fn.runtime}, {fn.code_size} bytes)", file=sys.stderr)
        return OK

    return _run(state_dir, work)


COMMANDS: dict[str, Callable[[argparse.Namespace, Path], int]] = {
    "invoke": invoke,
    "deploy": deploy,
}


def run(args: argparse.Namespace, state_dir: Path) -> int:
    try:
        return COMMANDS[args.command](args, state_dir)
    except BrokenPipeError:  # `lconsole invoke ... | head`: quiet, and quiet at exit too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return OK
