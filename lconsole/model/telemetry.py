"""Telemetry values: log events as CloudWatch Logs holds them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogEvent:
    group: str
    stream: str
    timestamp: int  # epoch ms
    message: str
    request_id: str | None = None
