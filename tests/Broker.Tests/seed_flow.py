# The seeds' kafka-python flow: admin create (RF 3), producer acks=all retries=5, consumer from the beginning.
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

bootstrap = sys.argv[1].split(",")
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="seed-admin")
admin.create_topics([NewTopic(name="test-topic", num_partitions=1, replication_factor=3)])
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
for i in range(10):
    producer.send("test-topic", key=("key-%d" % i).encode(), value=("message-%d" % i).encode()).get(timeout=30)
producer.flush()
producer.close()

consumer = KafkaConsumer("test-topic", bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=15000)
for message in consumer:
    print("%d %s %s" % (message.offset, message.key.decode(), message.value.decode()), flush=True)
    if message.offset == 9:
        break
consumer.close()
