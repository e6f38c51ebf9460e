#!/usr/bin/env python3
"""A third-party Kafka client (confluent-kafka) against what Biz Retail's services produce.

Consumes the `audit` topic from the beginning to its end (each partition's high watermark when it starts; at least
--expect records), validating each one against
schemas/event-envelope.schema.json and checking the record's key and headers; then produces one event of its own to
the topic. Prints a JSON summary on stdout; exits 1 with the reasons when a record is invalid.
"""
import argparse
import datetime
import json
import sys
import time
import uuid

import jsonschema
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    with open(args.schema) as file:
        schema = json.load(file)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    consumer = Consumer({
        "bootstrap.servers": args.brokers, "group.id": "interop-" + str(uuid.uuid4()),
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    # Every record there is, not the first --expect: the topic may hold more than the audit trail did when the test
    # counted it (an event published since, a record the relay published twice), and partitions are read in no
    # particular order among themselves.
    partitions = sorted(consumer.list_topics(args.topic, timeout=10).topics[args.topic].partitions)
    ends = {}
    for partition in partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, partition), timeout=10)
        if high > low:
            ends[partition] = high
    consumer.assign([TopicPartition(args.topic, partition, OFFSET_BEGINNING) for partition in partitions])
    problems, seen, event_types = [], 0, set()
    deadline = time.time() + args.timeout
    while ends and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            problems.append(f"consumer error: {message.error()}")
            continue
        if message.offset() + 1 >= ends.get(message.partition(), 0):
            ends.pop(message.partition(), None)
        seen += 1
        where = f"{message.topic()}/{message.partition()}@{message.offset()}"
        try:
            event = json.loads(message.value())
        except ValueError as error:
            problems.append(f"{where}: not JSON ({error})")
            continue
        for error in validator.iter_errors(event):
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
        headers = {name: value.decode() for name, value in (message.headers() or [])}
        if headers.get("event_id") != event.get("event_id"):
            problems.append(f"{where}: header event_id differs from the body's")
        if headers.get("event_type") != event.get("event_type"):
            problems.append(f"{where}: header event_type differs from the body's")
        traceparent = headers.get("traceparent", "")
        if traceparent.split("-")[1:2] != [event.get("trace_id")]:
            problems.append(f"{where}: traceparent does not carry the event's trace id")
        if message.key() is None or message.key().decode() != event.get("payload", {}).get("public_id"):
            problems.append(f"{where}: key is not payload.public_id")
        event_types.add(event.get("event_type"))
    consumer.close()
    if ends:
        problems.append(f"partitions {sorted(ends)} were not read to their end within {args.timeout} s")
    if seen < args.expect:
        problems.append(f"only {seen} of at least {args.expect} records arrived")

    entity = str(uuid.uuid4())
    event = {
        "event_id": str(uuid.uuid4()),
        "producer_service": "interop_client",
        "producer_service_id": str(uuid.uuid4()),
        "trace_id": uuid.uuid4().hex,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event_type": "team.created",
        "payload": {"public_id": entity, "name": "Produced by confluent-kafka"},
        "metadata": {
            "owner_id": "interop", "owner_ip": "192.0.2.10", "owner_role": "admin", "owner_type": "service",
            "event_schema_version": "1.0", "ownership_id": entity, "environment": "test",
        },
    }
    validator.validate(event)
    producer = Producer({"bootstrap.servers": args.brokers, "enable.idempotence": True, "acks": "all"})
    delivered = []
    producer.produce(
        args.topic, key=entity, value=json.dumps(event).encode(),
        headers=[("event_id", event["event_id"]), ("event_type", event["event_type"]),
                 ("traceparent", f"00-{event['trace_id']}-{uuid.uuid4().hex[:16]}-01")],
        on_delivery=lambda error, message: delivered.append(error))
    producer.flush(30)
    if delivered != [None]:
        problems.append(f"produce failed: {delivered}")

    print(json.dumps({"validated": seen, "event_types": sorted(event_types), "produced_entity": entity,
                      "produced_event_id": event["event_id"], "problems": problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
