/*
 * rdkperf: a librdkafka (C API) load generator for bench/Broker.Benchmarks, so the client's own
 * per-record cost is librdkafka's and not an interpreter's (the role of librdkafka's
 * rdkafka_performance, which Debian does not package). Built by Program.cs with
 *   cc -O2 -o rdkperf rdkperf.c -lrdkafka -lpthread      (Debian: librdkafka-dev)
 *
 * rdkperf produce <bootstrap> <topic> <records> <size> <acks> [key=value ...]
 *     Produces <records> records of <size> bytes (no key; librdkafka's partitioner spreads them),
 *     waits for every delivery report. Prints {"records","seconds","failed"}.
 * rdkperf consume <bootstrap> <topic> <records>
 *     Reads <records> records from offset 0 of every partition (assign, no group).
 *     Prints {"records","seconds","bytes"}.
 * rdkperf latency <bootstrap> <topic> <rate> <seconds> <size> <acks>
 *     A consumer thread reads the topic from its end while the producer sends <rate> records/s
 *     with the send time (CLOCK_MONOTONIC ns) in the first 8 bytes of each value.
 *     Prints {"sent","received","p50","p99","max"} (ms). With RDKPERF_TIMELINE set in the
 *     environment it also prints to stderr, per second of send time, p50/max of the produce
 *     acknowledgement and of produce->consume (to see a cluster's warm-up).
 * Extra key=value arguments on produce are passed to the producer's configuration.
 * Exit code 0 on success, 1 when the cluster refuses or a record is lost.
 */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", key, value, err);
        exit(1);
    }
}

static long delivered, failed;

/* Per-second timeline of the latency run (stderr), when RDKPERF_TIMELINE is set: for each second
 * of sending, p50/max of the produce acknowledgement (delivery report) and of produce-to-consume. */
#define TIMELINE_SECONDS 600
static uint64_t timeline_start_ns; /* 0: no timeline */
static double *ack_latencies;
static long ack_count, ack_capacity;
static uint64_t *ack_sent;

static void record_ack(const rd_kafka_message_t *m) {
    if (!timeline_start_ns || m->len < 8 || ack_count >= ack_capacity) return;
    uint64_t sent;
    memcpy(&sent, m->payload, 8);
    if (sent < timeline_start_ns) return;
    ack_sent[ack_count] = sent;
    ack_latencies[ack_count++] = (now_ns() - sent) / 1e6;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (failed++ < 5) fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        delivered++;
        record_ack(m);
    }
}

static rd_kafka_t *new_producer(const char *bootstrap, const char *acks, int argc, char **argv) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "acks", acks);
    set(conf, "linger.ms", "5");
    set(conf, "batch.size", "1000000");
    set(conf, "batch.num.messages", "100000");
    set(conf, "queue.buffering.max.messages", "2000000");
    set(conf, "queue.buffering.max.kbytes", "2097151");
    set(conf, "compression.type", "none");
    set(conf, "enable.idempotence", "false");
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "expected key=value, got %s\n", argv[i]);
            exit(1);
        }
        *eq = 0;
        set(conf, argv[i], eq + 1);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", err);
        exit(1);
    }
    return rk;
}

static int produce(const char *bootstrap, const char *topic, long records, int size, const char *acks, int argc, char **argv) {
    rd_kafka_t *rk = new_producer(bootstrap, acks, argc, argv);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    char *payload = malloc(size);
    memset(payload, 'x', size);
    double start = now_seconds();
    for (long i = 0; i < records; i++) {
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL) == -1) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            rd_kafka_poll(rk, 1);
        }
        if ((i & 0xffff) == 0) rd_kafka_poll(rk, 0);
    }
    while (delivered + failed < records && now_seconds() - start < 300) rd_kafka_poll(rk, 100);
    double seconds = now_seconds() - start;
    printf("{\"records\": %ld, \"seconds\": %.6f, \"failed\": %ld}\n", delivered, seconds, records - delivered);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(payload);
    return delivered == records ? 0 : 1;
}

static rd_kafka_t *new_consumer(const char *bootstrap, const char *topic, int64_t offset, const char *wait_ms) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", "rdkperf-unused");
    set(conf, "enable.auto.commit", "false");
    set(conf, "fetch.max.bytes", "52428800");
    set(conf, "max.partition.fetch.bytes", "10485760");
    set(conf, "fetch.wait.max.ms", wait_ms);
    set(conf, "queued.min.messages", "1000000");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        exit(1);
    }
    rd_kafka_poll_set_consumer(rk);
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "metadata of %s: %s\n", topic, rd_kafka_err2str(e ? e : md->topics[0].err));
        exit(1);
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int p = 0; p < md->topics[0].partition_cnt; p++) {
        int32_t id = md->topics[0].partitions[p].id;
        int64_t start = offset;
        if (offset == RD_KAFKA_OFFSET_END) {
            /* The end as of now, explicitly: with a logical END librdkafka resolves each partition's
             * end on its own schedule, and records produced before that are silently skipped. */
            int64_t low, high;
            /* Right after the topic is created a broker may not know it yet: retry for a while. */
            double until = now_seconds() + 15;
            while ((e = rd_kafka_query_watermark_offsets(rk, topic, id, &low, &high, 10000)) && now_seconds() < until) {
                struct timespec pause = {0, 100000000};
                nanosleep(&pause, NULL);
            }
            if (e) {
                fprintf(stderr, "watermarks of %s-%d: %s\n", topic, id, rd_kafka_err2str(e));
                exit(1);
            }
            start = high;
        }
        rd_kafka_topic_partition_list_add(parts, topic, id)->offset = start;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if ((e = rd_kafka_assign(rk, parts))) {
        fprintf(stderr, "assign: %s\n", rd_kafka_err2str(e));
        exit(1);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rk;
}

static int consume(const char *bootstrap, const char *topic, long records) {
    rd_kafka_t *rk = new_consumer(bootstrap, topic, RD_KAFKA_OFFSET_BEGINNING, "500");
    long got = 0;
    long long bytes = 0;
    double start = now_seconds(), first = 0;
    while (got < records && now_seconds() - start < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) continue;
        if (!m->err) {
            if (got++ == 0) first = now_seconds();
            bytes += m->len;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    double seconds = now_seconds() - start;
    printf("{\"records\": %ld, \"seconds\": %.6f, \"bytes\": %lld, \"first_record_after\": %.6f}\n", got, seconds, bytes, first ? first - start : -1);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got >= records ? 0 : 1;
}

struct reader {
    rd_kafka_t *rk;
    volatile int done;
    volatile long seen;          /* every record read, warm-up ones included */
    volatile char partition_seen[1024]; /* a record of this partition was read */
    volatile uint64_t from_ns;   /* only records sent at or after this time are measured */
    double *latencies;
    uint64_t *sent;              /* send time of each measured latency */
    long capacity, count;
};

static void *read_latencies(void *arg) {
    struct reader *r = arg;
    while (!r->done) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
        if (!m) continue;
        if (!m->err && m->len >= 8) {
            uint64_t sent;
            memcpy(&sent, m->payload, 8);
            r->seen++;
            if (m->partition >= 0 && m->partition < 1024) r->partition_seen[m->partition] = 1;
            if (sent >= r->from_ns && r->count < r->capacity) {
                r->sent[r->count] = sent;
                r->latencies[r->count++] = (now_ns() - sent) / 1e6;
            }
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints, per second of send time, the count, p50 and max of the latencies sent in that second. */
static void print_timeline(const char *what, const uint64_t *sent, const double *latencies, long n, uint64_t start_ns) {
    long start[TIMELINE_SECONDS + 1] = {0};
    for (long i = 0; i < n; i++) {
        uint64_t second = (sent[i] - start_ns) / 1000000000ull;
        if (second < TIMELINE_SECONDS) start[second + 1]++;
    }
    for (int s = 0; s < TIMELINE_SECONDS; s++) start[s + 1] += start[s];
    double *sorted = malloc(sizeof(double) * (n ? n : 1));
    long fill[TIMELINE_SECONDS];
    memcpy(fill, start, sizeof fill);
    for (long i = 0; i < n; i++) {
        uint64_t second = (sent[i] - start_ns) / 1000000000ull;
        if (second < TIMELINE_SECONDS) sorted[fill[second]++] = latencies[i];
    }
    for (int s = 0; s < TIMELINE_SECONDS; s++) {
        long k = start[s + 1] - start[s];
        if (!k) continue;
        double *bucket = sorted + start[s];
        qsort(bucket, k, sizeof(double), cmp_double);
        fprintf(stderr, "%s second %3d: %7ld records, p50 %9.3f ms, max %9.3f ms\n", what, s, k, bucket[k / 2], bucket[k - 1]);
    }
    free(sorted);
}

static int latency(const char *bootstrap, const char *topic, double rate, double seconds, int size, const char *acks) {
    struct reader r = {.rk = new_consumer(bootstrap, topic, RD_KAFKA_OFFSET_END, "5"), .from_ns = UINT64_MAX};
    r.capacity = (long)(rate * seconds) + 1000;
    r.latencies = malloc(sizeof(double) * r.capacity);
    r.sent = malloc(sizeof(uint64_t) * r.capacity);
    pthread_t thread;
    pthread_create(&thread, NULL, read_latencies, &r);
    char *linger[] = {strdup("linger.ms=1")};
    rd_kafka_t *rk = new_producer(bootstrap, acks, 1, linger);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    /* The consumer must be fetching every partition before measured traffic starts: a warm-up
     * record to each partition round trips first (else the first records of a partition wait
     * for the consumer to get there, which is start-up, not latency). */
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "metadata of %s failed\n", topic);
        return 1;
    }
    int partitions = md->topics[0].partition_cnt < 1024 ? md->topics[0].partition_cnt : 1024;
    rd_kafka_metadata_destroy(md);
    char *payload = calloc(1, size < 8 ? 8 : size);
    memset(payload + 8, 'x', size > 8 ? size - 8 : 0);
    double warm = now_seconds();
    int all_seen = 0;
    while (!all_seen && now_seconds() - warm < 30) {
        all_seen = 1;
        for (int p = 0; p < partitions; p++) {
            if (r.partition_seen[p]) continue;
            all_seen = 0;
            uint64_t t = now_ns();
            memcpy(payload, &t, 8);
            rd_kafka_produce(rkt, p, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL);
        }
        rd_kafka_poll(rk, 100);
    }
    if (!all_seen) {
        fprintf(stderr, "the consumer did not read every partition of %s within 30 s\n", topic);
        return 1;
    }
    rd_kafka_flush(rk, 10000);
    delivered = failed = 0;
    r.from_ns = now_ns();
    if (getenv("RDKPERF_TIMELINE")) {
        ack_capacity = r.capacity;
        ack_latencies = malloc(sizeof(double) * ack_capacity);
        ack_sent = malloc(sizeof(uint64_t) * ack_capacity);
        timeline_start_ns = r.from_ns;
    }
    long sent = 0;
    double start = now_seconds();
    while (now_seconds() - start < seconds) {
        long target = (long)((now_seconds() - start) * rate);
        while (sent < target) {
            uint64_t t = now_ns();
            memcpy(payload, &t, 8);
            if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload, size, NULL, 0, NULL) == -1) break;
            sent++;
        }
        rd_kafka_poll(rk, 0);
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL); /* pacing the offered load, not synchronization */
    }
    rd_kafka_flush(rk, 30000);
    double end = now_seconds();
    while (r.count < sent && now_seconds() - end < 10) rd_kafka_poll(rk, 50);
    r.done = 1;
    pthread_join(thread, NULL);
    long n = r.count;
    if (timeline_start_ns) {
        print_timeline("ack", ack_sent, ack_latencies, ack_count, timeline_start_ns);
        print_timeline("e2e", r.sent, r.latencies, n, timeline_start_ns);
    }
    qsort(r.latencies, n, sizeof(double), cmp_double);
    printf("{\"sent\": %ld, \"received\": %ld, \"failed\": %ld, \"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}\n", sent, n, failed,
           n ? r.latencies[n / 2] : -1.0, n ? r.latencies[(long)(n * 0.99) < n ? (long)(n * 0.99) : n - 1] : -1.0, n ? r.latencies[n - 1] : -1.0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    rd_kafka_consumer_close(r.rk);
    rd_kafka_destroy(r.rk);
    return n >= sent && failed == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 7 && !strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6], argc - 7, argv + 7);
    if (argc == 5 && !strcmp(argv[1], "consume")) return consume(argv[2], argv[3], atol(argv[4]));
    if (argc == 8 && !strcmp(argv[1], "latency"))
        return latency(argv[2], argv[3], atof(argv[4]), atof(argv[5]), atoi(argv[6]), argv[7]);
    fprintf(stderr, "usage: rdkperf produce <bootstrap> <topic> <records> <size> <acks> [key=value ...]\n"
                    "       rdkperf consume <bootstrap> <topic> <records>\n"
                    "       rdkperf latency <bootstrap> <topic> <rate> <seconds> <size> <acks>\n");
    return 2;
}
