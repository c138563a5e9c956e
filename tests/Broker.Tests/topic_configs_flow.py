# Topic-level storage configs through the real controller: kafka-python creates topics with them,
# reads them back with DescribeConfigs, and a LogAppendTime topic stamps the broker's time.
import sys
import time
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

bootstrap = sys.argv[1].split(",")
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="configs-admin")
configs = {
    "message.timestamp.type": "LogAppendTime",
    "index.interval.bytes": "128",
    "min.cleanable.dirty.ratio": "0.25",
    "preallocate": "false",
}
response = admin.create_topics([NewTopic(name="stamped", num_partitions=1, replication_factor=3, topic_configs=configs)])
print("create stamped: %d" % response.topic_errors[0][1], flush=True)
try:
    admin.create_topics([NewTopic(name="bad", num_partitions=1, replication_factor=3, topic_configs={"min.cleanable.dirty.ratio": "1.5"})])
    print("create bad: accepted", flush=True)
except Exception as e:  # kafka-python raises the topic's error
    print("create bad: %s %s" % (type(e).__name__, e), flush=True)

described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "stamped")])
entries = {entry[0]: entry[1] for entry in described[0].resources[0][4]}
for key in sorted(configs):
    print("config %s=%s" % (key, entries.get(key)), flush=True)
admin.close()

before = int(time.time() * 1000)
producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)
for i in range(5):
    producer.send("stamped", value=("v%d" % i).encode(), timestamp_ms=1000).get(timeout=30)
producer.close()

consumer = KafkaConsumer("stamped", bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=15000)
for message in consumer:
    print("record %d type=%d broker-time=%s" % (message.offset, message.timestamp_type, message.timestamp >= before), flush=True)
    if message.offset == 4:
        break
consumer.close()
