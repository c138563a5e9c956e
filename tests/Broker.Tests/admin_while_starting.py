"""kafka-python 2.0.2's KafkaAdminClient started again and again while brokers come up.

Usage: /usr/bin/python3 admin_while_starting.py <stop-file> <bootstrap> [<bootstrap> ...]
Until <stop-file> exists, one thread per <bootstrap> repeats a round: a new KafkaAdminClient
(which bootstraps from a broker of its list picked at random), create a topic, describe it,
close. One line per round:
  ok <worker>.<n> controller=<id>   the round worked
  retry <worker>.<n> <error>        another failure (a broker down, a timeout, a connection closed under
                                    kafka-python): an application retries
  tripped <worker>.<n> <error>      kafka-python's AssertionError "Broker id N not in current metadata",
                                    raised out of KafkaAdminClient's constructor
Exit code 3 when a round tripped, else 0.
"""
import os
import sys
import threading

from kafka import KafkaAdminClient
from kafka.admin import NewTopic

tripped = threading.Event()
output = threading.Lock()


def say(line: str) -> None:
    with output:  # print() writes the line and its newline apart: threads would interleave them
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def rounds(worker: int, bootstrap: str, stop_file: str) -> None:
    n = 0
    while not os.path.exists(stop_file):
        n += 1
        name = f"{worker}.{n}"
        admin = None
        try:
            # A short reconnect backoff: a client whose broker is down connects soon after it listens again.
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=f"starting-{name}", request_timeout_ms=10000,
                                     reconnect_backoff_max_ms=100)
            topic = f"starting-{worker}-{n}"
            response = admin.create_topics([NewTopic(topic, 1, 1)])
            errors = [e for _, e, *_ in response.topic_errors if e != 0]
            described = admin.describe_topics([topic])
            say(f"ok {name} controller={admin._controller_id} create_errors={errors} described={len(described)}")
        except AssertionError as e:
            tripped.set()
            say(f"tripped {name} {e}")
        except Exception as e:  # pylint: disable=broad-except
            say(f"retry {name} {type(e).__name__}: {e}")
        finally:
            if admin is not None:
                admin.close()


def main() -> int:
    stop_file, bootstraps = sys.argv[1], sys.argv[2:]
    threads = [threading.Thread(target=rounds, args=(w, b, stop_file)) for w, b in enumerate(bootstraps, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 3 if tripped.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
