"""Sample function for Active tracing: a `work` subsegment with an annotation and metadata."""

import logging
import time

from aws_xray_sdk.core import xray_recorder

logger = logging.getLogger()
logger.setLevel(logging.INFO)

try:
    from aws_xray_sdk.core import patch

    patch(["httpx"])
except Exception:  # the library or its patcher may be unavailable; tracing still works
    logger.warning("could not patch httpx for X-Ray")


def handler(event, context):
    started = time.time()
    with xray_recorder.in_subsegment("work") as subsegment:
        items = event.get("items", []) if isinstance(event, dict) else []
        total = sum(x for x in items if isinstance(x, (int, float)))
        if subsegment is not None:
            subsegment.put_annotation("sample", True)
            subsegment.put_metadata("items", items, "lconsole")
            subsegment.put_metadata("total", total, "lconsole")
    logger.info("work done in %.1f ms", (time.time() - started) * 1000)
    return {"traced": True, "total": total, "requestId": context.aws_request_id}
