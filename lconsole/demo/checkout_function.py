"""The demo's own function, deployed as `app.py` of `demo-checkout`.

It only reads its event, so the traffic plan alone decides what happens: `work_ms` of simulated
work, `decline` raises, `hang` outlives the function's timeout. Every order prints one JSON line
that is also an EMF document, so logs and custom metrics move with the traffic. Release 2 (the
canary) adds a fraud check that costs a little latency.
"""

import json
import os
import time

RELEASE = os.environ.get("DEMO_RELEASE", "1")
INVOCATIONS = 0  # survives warm invocations, resets on a cold start


class PaymentDeclined(Exception):
    pass


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    event = event if isinstance(event, dict) else {}
    order = str(event.get("order_id", "o-unknown"))
    work_ms = float(event.get("work_ms", 80))
    if RELEASE != "1":
        work_ms += 40  # the fraud check release 2 adds
    if event.get("hang"):
        work_ms = context.get_remaining_time_in_millis() + 1000
    time.sleep(max(0.0, work_ms) / 1000)
    if event.get("decline"):
        print(json.dumps({"level": "ERROR", "message": "payment declined", "order_id": order}))
        raise PaymentDeclined(f"card declined for order {order}")
    amount = float(event.get("amount", 0))
    print(
        json.dumps(
            {
                "level": "INFO",
                "message": "order placed",
                "order_id": order,
                "release": RELEASE,
                "warm_invocations": INVOCATIONS,
                "service": "checkout",
                "OrderValue": amount,
                "OrderItems": int(event.get("items", 1)),
                "_aws": {  # the EMF directive: OrderValue and OrderItems become metrics
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "lconsole-demo",
                            "Dimensions": [["service"]],
                            "Metrics": [
                                {"Name": "OrderValue", "Unit": "None"},
                                {"Name": "OrderItems", "Unit": "Count"},
                            ],
                        }
                    ],
                },
            },
            separators=(",", ":"),
        )
    )
    return {"order_id": order, "status": "placed", "release": RELEASE}
