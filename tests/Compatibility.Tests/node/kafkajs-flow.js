// kafkajs 2.2.4 flow for the compatibility tests.
// Usage: node kafkajs-flow.js <bootstrap> <topic> <count>
// Admin: connect + createTopics (waits for leaders through Metadata). Producer: connect and send
// <count> keyed messages with a header in one send() (acks -1). Prints one JSON line; exit code 0
// only when the topic was created and every message was acknowledged without error.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, countText] = process.argv.slice(2);
  const count = Number(countText);
  const kafka = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 5000,
    requestTimeout: 10000,
  });

  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
  await admin.disconnect();

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) {
    messages.push({ key: `key-${i}`, value: `value-${i}`, headers: { h1: 'v1' } });
  }
  const metadata = await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();

  const failed = metadata.filter((m) => m.errorCode !== 0);
  console.log(JSON.stringify({ created, delivered: failed.length === 0 ? count : 0, metadata }));
  return created && failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`kafkajs flow failed: ${error && error.stack ? error.stack : error}`);
    process.exit(2);
  });
