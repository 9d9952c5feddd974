"""Sample function: echoes its event and shows logging, warm state and a few failure modes.

Event switches: {"sleep": seconds} sleeps first, {"fail": "message"} raises Exception(message),
{"exit": code} calls sys.exit(code).
"""

import logging
import sys
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Module global: survives warm invocations, resets on a cold start.
INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    print(f"python-echo invocation {INVOCATIONS}")
    shape = sorted(event) if isinstance(event, dict) else type(event).__name__
    logger.info("event keys: %s", shape)

    if isinstance(event, dict):
        if "sleep" in event:
            time.sleep(float(event["sleep"]))
        if "fail" in event:
            raise Exception(str(event["fail"]))
        if "exit" in event:
            sys.exit(int(event["exit"]))

    return {
        "echo": event,
        "count": INVOCATIONS,
        "requestId": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
    }
