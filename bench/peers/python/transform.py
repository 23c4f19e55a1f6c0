"""The baseline of the transformer benchmark: consume, upper-case, produce, as a first Kafka
tutorial writes it. One KafkaConsumer with auto-commit, the whole value decoded and upper-cased as
one string (keys too: no JSON), one KafkaProducer.send per record, client defaults otherwise.

Configured through the environment: BOOTSTRAP_SERVERS, INPUT_TOPIC, OUTPUT_TOPIC, GROUP_ID.
"""
import os
import signal
import sys

from kafka import KafkaConsumer, KafkaProducer


def main() -> None:
    env = {name: os.environ.get(name, "") for name in ("BOOTSTRAP_SERVERS", "INPUT_TOPIC", "OUTPUT_TOPIC", "GROUP_ID")}
    missing = [name for name, value in env.items() if not value]
    if missing:
        sys.exit(f"{', '.join(missing)} required")
    consumer = KafkaConsumer(
        env["INPUT_TOPIC"],
        bootstrap_servers=env["BOOTSTRAP_SERVERS"],
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        group_id=env["GROUP_ID"],
    )
    producer = KafkaProducer(
        bootstrap_servers=env["BOOTSTRAP_SERVERS"],
        value_serializer=lambda v: v.encode("utf-8"),
    )

    def stop(*_: object) -> None:
        producer.flush()
        consumer.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    for message in consumer:
        transformed = message.value.decode("utf-8").upper()
        producer.send(env["OUTPUT_TOPIC"], key=message.key, value=transformed)


if __name__ == "__main__":
    main()
