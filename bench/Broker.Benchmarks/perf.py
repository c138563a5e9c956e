"""librdkafka (confluent-kafka-python) load generator for bench/Broker.Benchmarks.

produce <bootstrap> <topic> <records> <size> <acks>
    Produces <records> records of <size> bytes as fast as librdkafka takes them (keys none,
    round-robin over partitions via the sticky partitioner), waits for every delivery report;
    prints {"records", "seconds", "failed"}.
consume <bootstrap> <topic> <records>
    Reads <records> records from the beginning of every partition (no group: assign); prints
    {"records", "seconds", "bytes"}.
latency <bootstrap> <topic> <rate> <seconds> <size>
    Produces at <rate> records/s (acks=all) with the send time in the value while a consumer
    reads the topic; prints the produce->consume latencies' p50/p99 in ms.
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def produce(bootstrap, topic, records, size, acks):
    failed = [0]

    def report(err, _msg):
        if err is not None:
            failed[0] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.size": 1000000,
                  "queue.buffering.max.messages": 2000000, "queue.buffering.max.kbytes": 2097151,
                  "compression.type": "none", "enable.idempotence": False})
    payload = b"x" * size
    start = time.perf_counter()
    for i in range(records):
        while True:
            try:
                p.produce(topic, payload, on_delivery=report)
                break
            except BufferError:
                p.poll(0.001)
        if i % 10000 == 0:
            p.poll(0)
    p.flush(120)
    seconds = time.perf_counter() - start
    print(json.dumps({"records": records, "seconds": seconds, "failed": failed[0]}))


def partitions_of(consumer, topic):
    md = consumer.list_topics(topic, timeout=10)
    return sorted(md.topics[topic].partitions.keys())


def consume(bootstrap, topic, records):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "perf-unused", "enable.auto.commit": False,
                  "fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 10485760})
    c.assign([TopicPartition(topic, p, 0) for p in partitions_of(c, topic)])
    got = 0
    total = 0
    start = time.perf_counter()
    deadline = time.time() + 120
    while got < records and time.time() < deadline:
        for m in c.consume(10000, 1.0):
            if m.error() is None:
                got += 1
                total += len(m.value())
    seconds = time.perf_counter() - start
    c.close()
    print(json.dumps({"records": got, "seconds": seconds, "bytes": total}))


def latency(bootstrap, topic, rate, seconds, size):
    latencies = []
    done = threading.Event()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "perf-latency-unused", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 5, "fetch.min.bytes": 1})
    c.assign([TopicPartition(topic, p, -1) for p in partitions_of(c, topic)])

    def reader():
        while not done.is_set():
            for m in c.consume(1000, 0.1):
                if m.error() is None:
                    sent = float(m.value()[:20].decode())
                    latencies.append((time.time() - sent) * 1000.0)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(1.0)  # the consumer's assignment settles before the measured traffic
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 1, "enable.idempotence": False})
    pad = b"x" * max(0, size - 20)
    start = time.perf_counter()
    sent = 0
    while time.perf_counter() - start < seconds:
        target = int((time.perf_counter() - start) * rate)
        while sent < target:
            try:
                p.produce(topic, ("%20.6f" % time.time()).encode() + pad)
                sent += 1
            except BufferError:
                p.poll(0.001)
        p.poll(0)
        time.sleep(0.0005)
    p.flush(30)
    end = time.time() + 10
    while len(latencies) < sent and time.time() < end:
        time.sleep(0.05)
    done.set()
    t.join()
    c.close()
    latencies.sort()
    n = len(latencies)
    print(json.dumps({"sent": sent, "received": n,
                      "p50": latencies[n // 2] if n else None,
                      "p99": latencies[min(n - 1, int(n * 0.99))] if n else None}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif mode == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "latency":
        latency(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit("unknown mode " + mode)
