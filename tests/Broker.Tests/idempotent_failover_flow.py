# confluent-kafka (librdkafka 2.0.2) idempotent producer for FailoverProcessTests.
# Usage: idempotent_failover_flow.py <bootstrap> <topic> <count> <value prefix> [key=value ...]
# Produces "k<i>:<prefix><i>" for i in 0..count-1 to partition 0 with enable.idempotence=true, paced so
# that a test can kill the partition leader mid-stream; prints "acked <n>" every 500 deliveries
# and "done delivered=<n> errors=<e>" at the end (exit 0 only without errors).
import sys
from confluent_kafka import Producer

bootstrap, topic, count, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
extra = dict(arg.split("=", 1) for arg in sys.argv[5:])
delivered = 0
errors = []


def on_delivery(err, msg):
    global delivered
    if err is not None:
        errors.append(str(err))
        return
    delivered += 1
    if delivered % 500 == 0:
        print(f"acked {delivered}", flush=True)


producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "linger.ms": 5,
    "batch.num.messages": 50,
    "message.timeout.ms": 90000,
    "error_cb": lambda e: errors.append(f"client error: {e}") if e.fatal() else None,
    **extra,
})
for i in range(count):
    while True:
        try:
            producer.produce(topic, key=f"k{i}", value=f"{prefix}{i}", partition=0, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    if i % 20 == 19:
        # Pace the load (about 10,000 records/s) so the leader is killed with batches in flight.
        producer.poll(0.002)
left = producer.flush(120)
print(f"done delivered={delivered} errors={len(errors)} unflushed={left}", flush=True)
for e in errors[:10]:
    print(f"error {e}", flush=True)
sys.exit(0 if not errors and left == 0 and delivered == count else 1)
