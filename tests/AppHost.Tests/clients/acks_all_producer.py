"""Produces COUNT records with acks=all to TOPIC at about RATE per second (confluent-kafka, librdkafka).

Prints one line per second ("sent N delivered M errors E") and at the end "done delivered M errors E",
then the first errors if any. Exit code 0 only if every record was delivered."""
import sys, time
from confluent_kafka import Producer

bootstrap, topic, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
delivered, errors, first_errors = 0, 0, []

def on_delivery(err, msg):
    global delivered, errors
    if err is None:
        delivered += 1
    else:
        errors += 1
        if len(first_errors) < 5:
            first_errors.append(str(err))

p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
              "message.timeout.ms": 60000, "linger.ms": 5})
start, last_report = time.time(), 0
for i in range(count):
    p.produce(topic, key=b"k%d" % i, value=b"record %d" % i, on_delivery=on_delivery)
    p.poll(0)
    # Pace the sends; the wait is the load's rate, not synchronisation.
    ahead = (i + 1) / rate - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
    now = int(time.time() - start)
    if now != last_report:
        last_report = now
        print("sent %d delivered %d errors %d" % (i + 1, delivered, errors), flush=True)
p.flush(90)
print("done delivered %d errors %d" % (delivered, errors), flush=True)
for e in first_errors:
    print("error:", e, flush=True)
sys.exit(0 if delivered == count and errors == 0 else 1)
