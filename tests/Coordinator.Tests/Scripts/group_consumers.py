"""N kafka-python consumers (one thread each) in one group on one topic.

Usage: group_consumers.py BOOTSTRAP TOPIC GROUP CONSUMERS PARTITIONS EXPECTED_RECORDS [STOP_AFTER_STABLE]
Runs until the group's assignment covers every partition evenly and EXPECTED_RECORDS distinct
records were consumed (deadline 120 s), committing after every non-empty poll. With
STOP_AFTER_STABLE=1, the last consumer then closes (leaves) and the run continues until the
survivors again cover every partition. Prints one JSON line: the final assignment per consumer,
the assignments seen when the group was first balanced, and the distinct records consumed.
"""
import json
import sys
import threading
import time

from kafka import KafkaConsumer

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
n, partitions, expected = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
stop_one = len(sys.argv) > 7 and sys.argv[7] == "1"

lock = threading.Lock()
seen = set()
assign = {}
stopped = {}
done = threading.Event()


def run(i):
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id="consumer-%d" % i,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=10000, heartbeat_interval_ms=500, max_poll_records=5)
    while not done.is_set() and not stopped.get(i):
        batch = consumer.poll(timeout_ms=200)
        with lock:
            for tp, records in batch.items():
                for r in records:
                    seen.add((tp.partition, r.offset))
            assign[i] = sorted(tp.partition for tp in consumer.assignment())
        if batch:
            consumer.commit()
    consumer.close()
    with lock:
        assign.pop(i, None)


def balanced(members):
    with lock:
        parts = [assign.get(i, []) for i in members]
        return (sorted(p for a in parts for p in a) == list(range(partitions))
                and all(len(a) == partitions // len(members) for a in parts))


threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
deadline = time.time() + 120
first = None
final = None
members = list(range(n))
while time.time() < deadline:
    with lock:
        consumed = len(seen)
    if balanced(members) and first is None:
        with lock:
            first = {str(i): assign[i] for i in members}
        if stop_one:
            stopped[n - 1] = True
            threads[n - 1].join()
            members = members[:-1]
            continue
    if first is not None and balanced(members) and consumed >= expected:
        with lock:
            final = {str(i): assign[i] for i in members}
        break
    time.sleep(0.1)
done.set()
for t in threads:
    t.join()
print(json.dumps({"first": first, "final": final, "records": len(seen),
                  "min_offset": min((o for _, o in seen), default=-1)}))
