// Two kafkajs consumers in one group (eachMessage, kafkajs' own offset commits).
// Usage: node kafkajs-group.js BOOTSTRAP TOPIC GROUP PARTITIONS EXPECTED_RECORDS
// Runs until both members hold partitions covering the topic and EXPECTED_RECORDS distinct records
// were read (deadline 90 s), disconnects (which commits what was processed) and prints one JSON line.
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, topic, group, partitionsText, expectedText] = process.argv.slice(2);
const partitions = Number(partitionsText);
const expected = Number(expectedText);
const logs = [];
const logCreator = () => ({ namespace, level, label, log }) => {
  if (level <= logLevel.WARN) {
    logs.push(`${label} ${namespace}: ${log.message} ${log.error || ''}`);
  }
};
const kafka = new Kafka({ clientId: 'kafkajs-group', brokers: bootstrap.split(','), logLevel: logLevel.WARN, logCreator, retry: { retries: 10 } });
const seen = new Set();
const assignments = {};

async function main() {
  const consumers = [0, 1].map(() => kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000 }));
  for (const [i, consumer] of consumers.entries()) {
    consumer.on(consumer.events.GROUP_JOIN, e => { assignments[i] = e.payload.memberAssignment[topic] || []; });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => { seen.add(`${partition}:${message.offset}`); } });
  }

  const deadline = Date.now() + 90000;
  let balanced = false;
  while (Date.now() < deadline) {
    const held = Object.values(assignments);
    const all = held.flat().sort((a, b) => a - b);
    balanced = held.length === 2 && held.every(a => a.length > 0) && all.length === partitions && all.every((p, i) => p === i);
    if (balanced && seen.size >= expected) {
      break;
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }

  const result = { balanced, records: seen.size, assignments: JSON.parse(JSON.stringify(assignments)), problems: logs.slice(-12) };
  for (const consumer of consumers) {
    await consumer.disconnect();
  }
  console.log(JSON.stringify(result));
}

main().catch(e => { console.error(e); process.exit(1); });
