"""kafka-python 2.0.2 producer flow for the compatibility tests.

Usage: /usr/bin/python3 kafka_python_producer.py <bootstrap> <topic> <count>
Sends <count> keyed messages (key-<i> / value-<i>) with acks=all, retries=5, waits for every
delivery report, flushes and closes. Prints one JSON line with the delivered offsets; exit
code 0 only when every message was acknowledged.
"""
import json
import sys

from kafka import KafkaProducer


def main() -> int:
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5, request_timeout_ms=10000)
    try:
        futures = [producer.send(topic, key=("key-%d" % i).encode(), value=("value-%d" % i).encode())
                   for i in range(count)]
        producer.flush(timeout=15)
        delivered = []
        for future in futures:
            metadata = future.get(timeout=15)
            delivered.append([metadata.partition, metadata.offset])
        print(json.dumps({"delivered": len(delivered), "offsets": delivered,
                          "client_id": producer.config["client_id"]}))
        return 0 if len(delivered) == count else 1
    finally:
        producer.close(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
