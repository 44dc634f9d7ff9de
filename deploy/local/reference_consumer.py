#!/usr/bin/env python3
# deploy/local/reference_consumer.py — the short consumer a user would write instead of
# socmetrics: confluent-kafka, orjson and prometheus_client. It reads native alerts from the
# beginning of TOPIC in a fresh GROUP, counts them by (source, severity), keeps a histogram
# of the detection delay (detected_at − occurred_at, seconds), serves them on /metrics at
# PORT, and stops once it has consumed RECORDS records; it prints one JSON line:
# {"records": N, "seconds": S, "counted": C}, S measured from the top of this script.
#
# Usage:  reference_consumer.py BROKERS TOPIC GROUP RECORDS [PORT]   (PORT default 19748)
#
# Environment: none. Packages: deploy/local/requirements-bench.txt (bench-e2e.sh installs
# them into a venv).
import time; T0 = time.monotonic()  # noqa: E702
import sys, json  # noqa: E401
from datetime import datetime
import orjson
from confluent_kafka import Consumer
from prometheus_client import Counter, Histogram, start_http_server

brokers, topic, group, wanted = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start_http_server(int(sys.argv[5]) if len(sys.argv) > 5 else 19748, addr="127.0.0.1")
alerts = Counter("alerts", "Alerts by source and severity", ["source", "severity"])
delay = Histogram("detection_delay_seconds", "detected_at - occurred_at",
                  buckets=(1, 10, 60, 300, 900, 1800, 3600, 7200, 86400))


def millis(t):  # RFC 3339 text or epoch milliseconds
    return t if isinstance(t, (int, float)) else datetime.fromisoformat(t).timestamp() * 1000


consumer = Consumer({"bootstrap.servers": brokers, "group.id": group,
                     "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
consumed = counted = 0
while consumed < wanted:
    for message in consumer.consume(num_messages=10_000, timeout=1.0):
        if message.error():
            continue
        consumed += 1
        try:
            alert = orjson.loads(message.value())
            alerts.labels(alert["source"], alert["severity"]).inc()
            if "occurred_at" in alert:
                delay.observe((millis(alert["detected_at"]) - millis(alert["occurred_at"])) / 1000)
            counted += 1
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            pass
consumer.close()
print(json.dumps({"records": consumed, "seconds": round(time.monotonic() - T0, 3),
                  "counted": counted}))
