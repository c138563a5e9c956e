// kafkajs 2.2.4. "create": a topic with 2 partitions and RF 3. "produce": 10 records with acks=-1
// uncompressed, 10 with gzip. "idempotent": an idempotent producer (InitProducerId, sequence
// numbers) sends 3 x 10 records.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function create(kafka) {
  const admin = kafka.admin();
  await admin.connect();
  // waitForLeaders is off: until a broker's image has the topic its Metadata answers
  // UNKNOWN_TOPIC_OR_PARTITION, which kafkajs' admin does not retry (libs/Node).
  await admin.createTopics({ topics: [{ topic: 'js-topic', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: false });
  await admin.disconnect();
  console.log('created');
}

async function produce(kafka) {
  const producer = kafka.producer();
  await producer.connect();
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const messages = [];
    for (let i = 0; i < 10; i++) messages.push({ key: `key-${i}`, value: `js-${compression}-${i}` });
    const result = await producer.send({ topic: 'js-topic', acks: -1, compression, messages });
    for (const r of result) if (r.errorCode !== 0) throw new Error(`produce error ${r.errorCode}`);
  }
  await producer.disconnect();
  console.log('produced 20');
}

async function produceIdempotent(kafka) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let round = 0; round < 3; round++) {
    const messages = [];
    for (let i = 0; i < 10; i++) messages.push({ key: `key-${i}`, value: `js-idem-${round}-${i}` });
    const result = await producer.send({ topic: 'js-topic', acks: -1, messages });
    for (const r of result) if (r.errorCode !== 0) throw new Error(`produce error ${r.errorCode}`);
  }
  await producer.disconnect();
  console.log('produced idempotent 30');
}

const kafka = new Kafka({ clientId: 'broker-tests', brokers: process.argv[2].split(','), logLevel: logLevel.ERROR });
const modes = { create, produce, idempotent: produceIdempotent };
modes[process.argv[3]](kafka).catch((e) => { console.error(e); process.exit(1); });
