"""Event templates for the invoke dialog: the sample AWS events in `fakes/events`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

EVENTS = Path(__file__).resolve().parents[2] / "fakes" / "events"

# file stem -> label, in the order the dialog offers them
LABELS = {
    "apigw-rest-v1": "API Gateway REST (v1)",
    "apigw-http-v2": "API Gateway HTTP (v2)",
    "s3-put": "S3 put",
    "sqs": "SQS message",
    "sns": "SNS notification",
    "eventbridge-scheduled": "EventBridge schedule",
    "dynamodb-stream": "DynamoDB stream",
    "kinesis": "Kinesis stream",
}


@dataclass(frozen=True)
class Template:
    id: str
    label: str
    body: str


def load_templates(root: Path = EVENTS) -> list[Template]:
    """Every template found, known ones first in `LABELS` order; `{}` leads the list."""
    out = [Template("empty", "Empty event {}", "{}")]
    files = sorted(root.glob("*.json")) if root.is_dir() else []
    order = {stem: i for i, stem in enumerate(LABELS)}
    for path in sorted(files, key=lambda p: (order.get(p.stem, len(order)), p.stem)):
        try:
            body = json.dumps(json.loads(path.read_text()), indent=2)
        except (OSError, ValueError):
            continue
        out.append(Template(path.stem, LABELS.get(path.stem, path.stem), body))
    return out


def check_json(text: str) -> str | None:
    """None when `text` is a valid event, else a one-line reason with its position."""
    if not text.strip():
        return None  # an empty payload is sent as no body, as the CLI and AWS allow
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    return None
