// The brokers kafkajs's admin client sees (describeCluster), one JSON line: node kafkajs-cluster.js BOOTSTRAP
const { Kafka, logLevel } = require('kafkajs');

(async () => {
  const kafka = new Kafka({ clientId: 'kafkajs-cluster', brokers: process.argv[2].split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  await admin.disconnect();
  console.log(JSON.stringify({ brokers: cluster.brokers.map(b => b.nodeId).sort((a, b) => a - b), controller: cluster.controller }));
})().catch(e => { console.error(e); process.exit(1); });
