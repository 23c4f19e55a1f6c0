"""A producer written the way the original pipeline notes write one: Faker for the fields,
kafka-python to send, JSON with the six fields, timestamps from datetime.isoformat(), absolute
URLs from fake.uri(), and no key. The e2e test runs it against the pipeline unchanged.

Environment: BOOTSTRAP_SERVERS, TOPIC, COUNT; NAIVE_ZONE, the zone whose wall-clock time the
zone-less timestamps show (what datetime.now() shows on a machine set to that zone).
"""
import json
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from faker import Faker
from kafka import KafkaProducer

fake = Faker()
Faker.seed(14)

OFFSETS = [timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30)), timezone.utc]
STATUS_CODES = [200, 200, 200, 201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 502, 503]


def timestamp(i, naive_zone):
    # Most records as datetime.now().isoformat() writes them, without a zone; some with an offset.
    if i % 4 == 3:
        return datetime.now(OFFSETS[i % len(OFFSETS)]).isoformat()
    return datetime.now(naive_zone).replace(tzinfo=None).isoformat()


def main():
    producer = KafkaProducer(
        bootstrap_servers=os.environ["BOOTSTRAP_SERVERS"].split(","),
        value_serializer=lambda v: json.dumps(v).encode("utf-8"),
        acks="all",
    )
    naive_zone = ZoneInfo(os.environ.get("NAIVE_ZONE", "UTC"))
    topic = os.environ["TOPIC"]
    count = int(os.environ["COUNT"])
    for i in range(count):
        log = {
            "ip": fake.ipv6() if i % 10 == 0 else fake.ipv4(),
            "timestamp": timestamp(i, naive_zone),
            "method": fake.http_method(),
            "url": fake.uri(),
            "status_code": fake.random_element(STATUS_CODES),
            "user_agent": fake.user_agent(),
        }
        producer.send(topic, value=log)
    producer.flush()
    producer.close()
    print(json.dumps({"sent": count}))


if __name__ == "__main__":
    main()
