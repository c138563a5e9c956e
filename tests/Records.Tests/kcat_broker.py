"""A stand-in broker for KcatInteropTests: answers ApiVersions, Metadata and Produce just enough
for kcat (librdkafka) to produce to topic partition t/0, and saves each Produce request's record
set as OUTDIR/batch-N.bin. Prints the port it listens on, then serves until killed.

Usage: /usr/bin/python3 kcat_broker.py OUTDIR
"""
import socket
import struct
import sys
import threading

OUTDIR = sys.argv[1]
# Produce 0-7, Fetch 0-10, Metadata 1, FindCoordinator 0, ApiVersions 0-3: librdkafka then
# enables MsgVer2 batches and every codec (its LZ4 feature keys off FindCoordinator).
APIS = [(0, 0, 7), (1, 0, 10), (3, 1, 1), (10, 0, 0), (18, 0, 3)]
lock = threading.Lock()
saved = [0]


def i16(v): return struct.pack('>h', v)
def i32(v): return struct.pack('>i', v)
def i64(v): return struct.pack('>q', v)
def string(s): b = s.encode(); return i16(len(b)) + b


def uvarint(n):
    out = b''
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def respond(req, port):
    key, version, correlation = struct.unpack('>hhi', req[:8])
    p = 8
    client_len = struct.unpack('>h', req[p:p + 2])[0]
    p += 2 + max(client_len, 0)
    if key == 18:
        if version >= 3:  # flexible response body, non-flexible response header
            body = i16(0) + uvarint(len(APIS) + 1) + b''.join(i16(a) + i16(lo) + i16(hi) + b'\x00' for a, lo, hi in APIS) + i32(0) + b'\x00'
        else:
            body = i16(0) + i32(len(APIS)) + b''.join(i16(a) + i16(lo) + i16(hi) for a, lo, hi in APIS) + (i32(0) if version >= 1 else b'')
    elif key == 3:
        body = i32(1) + i32(1) + string('127.0.0.1') + i32(port) + i16(-1) + i32(1)
        body += i32(1) + i16(0) + string('t') + b'\x00' + i32(1) + i16(0) + i32(0) + i32(1) + i32(1) + i32(1) + i32(1) + i32(1)
    elif key == 0:
        if version >= 3:
            tid = struct.unpack('>h', req[p:p + 2])[0]
            p += 2 + max(tid, 0)
        p += 6  # acks, timeout
        p += 4  # topic count (1)
        name_len = struct.unpack('>h', req[p:p + 2])[0]
        topic = req[p + 2:p + 2 + name_len].decode()
        p += 2 + name_len + 4  # partition count (1)
        partition = struct.unpack('>i', req[p:p + 4])[0]
        size = struct.unpack('>i', req[p + 4:p + 8])[0]
        records = req[p + 8:p + 8 + size]
        with lock:
            saved[0] += 1
            with open('%s/batch-%04d.bin' % (OUTDIR, saved[0]), 'wb') as f:
                f.write(records)
        body = i32(1) + string(topic) + i32(1) + i32(partition) + i16(0) + i64(0)
        body += (i64(-1) if version >= 2 else b'') + (i64(0) if version >= 5 else b'') + (i32(0) if version >= 1 else b'')
    else:
        return None
    return i32(correlation) + body


def serve(conn, port):
    buf = b''
    with conn:
        while True:
            while len(buf) < 4 or len(buf) < 4 + struct.unpack('>i', buf[:4])[0]:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            n = struct.unpack('>i', buf[:4])[0]
            req, buf = buf[4:4 + n], buf[4 + n:]
            resp = respond(req, port)
            if resp is None:
                return
            conn.sendall(i32(len(resp)) + resp)


def main():
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    port = server.getsockname()[1]
    print(port, flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn, port), daemon=True).start()


if __name__ == '__main__':
    main()
