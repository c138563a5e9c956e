"""What clients see of a cluster with a coordinator tier (issue 17), one JSON line of results.

Usage: cluster_checks.py MODE BOOTSTRAP NAME
  view      the brokers kafka-python's and confluent-kafka's Metadata list; then, with confluent-kafka's
            AdminClient, topic NAME-a with an explicit replica assignment over every broker listed
            and topic NAME-rf with replication factor = the number of brokers listed (their errors, or null).
  commit    a standalone commit (confluent-kafka) to NAME-missing, a topic that does not exist: its
            error, and what committed() reads back for it.
  list      standalone commits for groups NAME-0..NAME-4 on existing topic NAME (which the test created),
            then kafka-python's list_consumer_groups() and confluent-kafka's list_groups(): how often
            each of those groups is listed (Kafka's admin clients ask every broker and concatenate).
"""
import json
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaAdminClient

mode, bootstrap, name = sys.argv[1], sys.argv[2], sys.argv[3]
result = {}

if mode == "view":
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="view-kafka-python")
    admin._client.poll(future=admin._client.cluster.request_update())
    result["kafka_python"] = sorted(b.nodeId for b in admin._client.cluster.brokers())
    admin.close()

    confluent = AdminClient({"bootstrap.servers": bootstrap})
    brokers = sorted(confluent.list_topics(timeout=20).brokers.keys())
    result["confluent"] = brokers
    topics = [NewTopic(name + "-a", num_partitions=len(brokers), replica_assignment=[brokers[i:] + brokers[:i] for i in range(len(brokers))]),
              NewTopic(name + "-rf", num_partitions=2, replication_factor=len(brokers))]
    for topic, future in confluent.create_topics(topics, request_timeout=30).items():
        try:
            future.result()
            result[topic] = None
        except KafkaException as e:
            result[topic] = str(e)
    md = confluent.list_topics(timeout=20)
    result["replicas_a"] = {p: sorted(md.topics[name + "-a"].partitions[p].replicas) for p in md.topics[name + "-a"].partitions} if name + "-a" in md.topics else None

elif mode == "commit":
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": name, "enable.auto.commit": False})
    try:
        answered = consumer.commit(offsets=[TopicPartition(name + "-missing", 0, 5)], asynchronous=False)
        result["commit_error"] = str(answered[0].error) if answered and answered[0].error else None
    except KafkaException as e:
        result["commit_error"] = str(e)
    result["committed"] = [tp.offset for tp in consumer.committed([TopicPartition(name + "-missing", 0)], timeout=20)]
    consumer.close()

elif mode == "list":
    groups = [f"{name}-{i}" for i in range(5)]
    for group in groups:
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
        consumer.commit(offsets=[TopicPartition(name, 0, 1)], asynchronous=False)
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="list-kafka-python")
    listed = [g for g, _ in admin.list_consumer_groups()]
    admin.close()
    result["kafka_python"] = {g: listed.count(g) for g in groups}
    confluent = [g.id for g in AdminClient({"bootstrap.servers": bootstrap}).list_groups(timeout=20)]
    result["confluent"] = {g: confluent.count(g) for g in groups}

print(json.dumps(result), flush=True)
