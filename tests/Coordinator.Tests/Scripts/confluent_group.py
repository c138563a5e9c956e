"""confluent-kafka-python (librdkafka) consumer-group scenarios, one JSON line of results.

Usage: confluent_group.py MODE BOOTSTRAP TOPIC GROUP PARTITIONS [EXPECTED_RECORDS]
  static       two static members (group.instance.id a, b); a is closed and restarted within the
               session timeout: it must get its partitions back while b sees no rebalance.
  cooperative  a consumes alone with cooperative-sticky, then b joins: a must give up only what b takes.
  failover     two consumers read EXPECTED_RECORDS records committing synchronously; prints READY once
               half are read (the test then kills the coordinator and produces the rest); reports
               how many revocations (rebalances) the members saw after READY.
"""
import json
import sys
import time

from confluent_kafka import Consumer

mode, bootstrap, topic, group, partitions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
expected = int(sys.argv[6]) if len(sys.argv) > 6 else 0


class Member:
    def __init__(self, name, **extra):
        self.name = name
        self.assigned = set()
        self.assign_calls = []
        self.revoke_calls = []
        conf = {"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                "auto.offset.reset": "earliest", "enable.auto.commit": False,
                "session.timeout.ms": 10000, "heartbeat.interval.ms": 500, "topic.metadata.refresh.interval.ms": 1000}
        conf.update(extra)
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.records = set()
        self.errors = []

    def on_assign(self, consumer, parts):
        self.assign_calls.append(sorted(p.partition for p in parts))
        self.assigned |= {p.partition for p in parts}

    def on_revoke(self, consumer, parts):
        self.revoke_calls.append(sorted(p.partition for p in parts))
        self.assigned -= {p.partition for p in parts}

    def poll(self, commit=False):
        msg = self.consumer.poll(0.05)
        if msg is not None and msg.error() is None:
            self.records.add((msg.partition(), msg.offset()))
            if commit:
                try:
                    self.consumer.commit(message=msg, asynchronous=False)
                except Exception as e:  # coordinator moving: a later commit covers this one
                    self.errors.append(str(e))

    def final_commit(self, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                self.consumer.commit(asynchronous=False)
                return True
            except Exception as e:
                if "_NO_OFFSET" in str(e):  # every position is already committed
                    return True
                self.errors.append("final: " + str(e))
                self.consumer.poll(0.1)
        return False


def pump(members, until, seconds=60, commit=False):
    deadline = time.time() + seconds
    while time.time() < deadline:
        for m in members:
            m.poll(commit)
        if until():
            return True
    return False


def covers(members, each=None):
    parts = sorted(p for m in members for p in m.assigned)
    return parts == list(range(partitions)) and (each is None or all(len(m.assigned) == each for m in members))


result = {"mode": mode}
if mode == "static":
    a = Member("a", **{"group.instance.id": "a"})
    b = Member("b", **{"group.instance.id": "b"})
    result["balanced"] = pump([a, b], lambda: covers([a, b], partitions // 2))
    before = sorted(a.assigned)
    b_calls = len(b.assign_calls) + len(b.revoke_calls)
    a.consumer.close()  # a static member does not leave the group on close
    pump([b], lambda: False, seconds=1)
    a2 = Member("a-restarted", **{"group.instance.id": "a"})
    result["rejoined"] = pump([a2, b], lambda: sorted(a2.assigned) == before, seconds=30)
    pump([a2, b], lambda: False, seconds=2)
    result["a_before"], result["a_after"] = before, sorted(a2.assigned)
    result["b_callbacks_during_restart"] = len(b.assign_calls) + len(b.revoke_calls) - b_calls
    a2.consumer.close()
    b.consumer.close()
elif mode == "cooperative":
    coop = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member("a", **coop)
    result["alone"] = pump([a], lambda: covers([a]))
    b = Member("b", **coop)
    result["balanced"] = pump([a, b], lambda: covers([a, b], partitions // 2))
    # copies: closing revokes what is left and appends to the lists
    result["a_assign_calls"], result["a_revoke_calls"] = list(a.assign_calls), list(a.revoke_calls)
    result["b_assign_calls"] = list(b.assign_calls)
    a.consumer.close()
    b.consumer.close()
elif mode == "failover":
    a, b = Member("a"), Member("b")
    members = [a, b]
    total = lambda: len(a.records | b.records)
    result["half"] = pump(members, lambda: covers(members) and total() >= expected // 2, commit=True)
    revokes_at_ready = len(a.revoke_calls) + len(b.revoke_calls)
    print("READY", flush=True)
    result["all"] = pump(members, lambda: total() >= expected, seconds=90, commit=True)
    result["revokes_after_ready"] = len(a.revoke_calls) + len(b.revoke_calls) - revokes_at_ready
    result["records"] = total()
    result["committed"] = a.final_commit() and b.final_commit()
    result["errors"] = sorted(set(a.errors + b.errors))[:10]
    a.consumer.close()
    b.consumer.close()
print(json.dumps(result), flush=True)
