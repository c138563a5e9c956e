"""Independent Kafka record implementation for the interop tests: kafka-python 2.0.2.

Run with /usr/bin/python3 (Debian python3-kafka, python3-snappy). Commands:
  build-v2 CODEC COUNT          -> a v2 batch of the sample records on stdout
  build-legacy MAGIC CODEC COUNT -> a legacy message set (magic 0/1) on stdout
  read                          -> record set from stdin, one JSON line per record on stdout
  snappy-encode xerial|raw      -> stdin compressed with kafka.codec.snappy_encode
  snappy-decode                 -> stdin decompressed with kafka.codec.snappy_decode
"""
import json
import sys

from kafka.codec import snappy_decode, snappy_encode
from kafka.record import MemoryRecords
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder


def sample(i):
    # Must match InteropTests.Sample in C#.
    key = None if i % 5 == 0 else ("key-%d" % i).encode()
    value = None if i % 11 == 0 else (("value-%d-" % i) * (i % 7 + 1)).encode()
    headers = [("h%d" % i, ("v%d" % i).encode()), ("empty", None)] if i % 3 == 0 else []
    return key, value, 1700000000000 + i * 3, headers


def out(data):
    sys.stdout.buffer.write(bytes(data))


def main():
    cmd = sys.argv[1]
    if cmd == "build-v2":
        codec, count = int(sys.argv[2]), int(sys.argv[3])
        b = DefaultRecordBatchBuilder(2, codec, False, -1, -1, -1, 1 << 30)
        for i in range(count):
            key, value, ts, headers = sample(i)
            b.append(i, ts, key, value, headers)
        out(b.build())
    elif cmd == "build-legacy":
        magic, codec, count = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        b = LegacyRecordBatchBuilder(magic, codec, 1 << 30)
        for i in range(count):
            key, value, ts, _ = sample(i)
            b.append(i, ts if magic == 1 else None, key, value)
        out(b.build())
    elif cmd == "read":
        records = MemoryRecords(sys.stdin.buffer.read())
        while records.has_next():
            batch = records.next_batch()
            if isinstance(batch, DefaultRecordBatch) and not batch.validate_crc():
                print("BAD CRC")
                return 1
            for r in batch:
                headers = [[k, None if v is None else v.hex()] for k, v in (getattr(r, "headers", None) or [])]
                print(json.dumps({
                    "offset": r.offset,
                    "timestamp": r.timestamp,
                    "key": None if r.key is None else bytes(r.key).hex(),
                    "value": None if r.value is None else bytes(r.value).hex(),
                    "headers": headers,
                }))
    elif cmd == "snappy-encode":
        out(snappy_encode(sys.stdin.buffer.read(), xerial_compatible=sys.argv[2] == "xerial"))
    elif cmd == "snappy-decode":
        out(snappy_decode(sys.stdin.buffer.read()))
    else:
        raise SystemExit("unknown command " + cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
