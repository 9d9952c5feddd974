"""Timestamp formats AWS uses on the wire and in logs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def last_modified(epoch: float) -> str:
    """`2024-05-01T12:34:56.789+0000`, as FunctionConfiguration.LastModified."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def seconds_offset(epoch: float) -> str:
    """`2019-11-21T19:32:12+0000`, as provisioned-concurrency LastModified."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def parse_seconds_offset(text: str) -> float | None:
    """Epoch seconds of a `seconds_offset` timestamp; None when it is not one."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def iso_millis(epoch: float) -> str:
    """`2024-05-20T16:29:45.123Z`, as runtime and platform log lines."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
