"""kafka-python 2.0.2 admin flow for the compatibility tests.

Usage: /usr/bin/python3 kafka_python_admin.py <bootstrap> <topic>
Connects a KafkaAdminClient (which probes the broker with ApiVersions v0 pipelined with
Metadata v0, then asks Metadata for the controller) and creates one topic. Prints one JSON
line describing the outcome; exit code 0 only when the topic was created without error.
"""
import json
import sys

from kafka import KafkaAdminClient
from kafka.admin import NewTopic


def main() -> int:
    bootstrap, topic = sys.argv[1], sys.argv[2]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        response = admin.create_topics([NewTopic(topic, 1, 1)])
        errors = [(t[0], t[1]) for t in response.topic_errors]
        print(json.dumps({"created": [t for t, e in errors if e == 0],
                          "errors": [[t, e] for t, e in errors if e != 0],
                          "api_version": list(admin.config["api_version"])}))
        return 0 if all(e == 0 for _, e in errors) else 1
    finally:
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
