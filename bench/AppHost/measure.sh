#!/usr/bin/env bash
# Warm start and stop of `dotnet run --project AppHost`: the time from the command to its ready
# line, and from Ctrl+C (SIGINT to its process group) to the last node process gone. Runs the
# checkouts given as arguments alternately (e.g. the old launcher's and the Aspire AppHost's), each
# already built with `dotnet build -c Release`, so that both see the same machine in the same run.
#   bench/AppHost/measure.sh ROUNDS CHECKOUT...
# With RDKPERF=path/to/rdkperf (bench/Broker.Benchmarks builds it), each round also produces
# RECORDS (default 2,000,000) 100-byte records with acks=1 to a fresh 16-partition RF=3 topic on
# localhost:9092 and consumes them back, after a warm-up of half as many: the throughput through
# the cluster each host started.
set -uo pipefail
rounds=${1:?rounds}; shift
[ $# -ge 1 ] || { echo "usage: $0 ROUNDS CHECKOUT..." >&2; exit 2; }
nodes='Aspire\.Kafka\.(ControllerService|Broker|Coordinator)|/dcp |dcp start-apiserver|dcp run-controllers'

alive() { pgrep -f -- "$nodes" >/dev/null 2>&1; }

for ((r = 1; r <= rounds; r++)); do
  for checkout in "$@"; do
    data=$(mktemp -d /tmp/apphost-measure-XXXX)
    log=$(mktemp /tmp/apphost-measure-log-XXXX)
    while alive; do sleep 0.2; done
    start=$(date +%s.%N)
    (cd "$checkout" && exec setsid dotnet run --project AppHost -c Release -- --data-dir "$data" >"$log" 2>&1) &
    runner=$!
    ready=""
    for _ in $(seq 1 3000); do
      if grep -q "\[apphost\] ready" "$log"; then ready=$(date +%s.%N); break; fi
      if ! kill -0 $runner 2>/dev/null; then break; fi
      sleep 0.1
    done
    throughput=""
    if [ -n "$ready" ] && [ -n "${RDKPERF:-}" ]; then
      records=${RECORDS:-2000000}
      for t in warmup measured; do
        /usr/bin/python3 -c "from confluent_kafka.admin import AdminClient, NewTopic; import sys; [f.result() for f in AdminClient({'bootstrap.servers': 'localhost:9092'}).create_topics([NewTopic(sys.argv[1], 16, 3)]).values()]" "$t" || echo "create $t failed"
      done
      "$RDKPERF" produce localhost:9092 warmup $((records / 2)) 100 1 >/dev/null
      p=$("$RDKPERF" produce localhost:9092 measured "$records" 100 1)
      c=$("$RDKPERF" consume localhost:9092 measured "$records")
      throughput=" produce $p consume $c"
    fi
    pgid=$(ps -o pgid= -p $runner 2>/dev/null | tr -d ' ')
    stop=$(date +%s.%N)
    [ -n "$pgid" ] && kill -INT -- "-$pgid"
    gone=""
    for _ in $(seq 1 1200); do
      if ! alive && ! kill -0 $runner 2>/dev/null; then gone=$(date +%s.%N); break; fi
      sleep 0.1
    done
    name=$(cd "$checkout" && git log -1 --format=%h 2>/dev/null)
    if [ -z "$ready" ]; then
      echo "round $r $checkout ($name): no ready line; last lines:"; tail -n 15 "$log"
    else
      printf 'round %d %s (%s): start %.1f s, stop %s s%s\n' "$r" "$checkout" "$name" "$(echo "$ready - $start" | bc)" \
        "$([ -n "$gone" ] && printf '%.1f' "$(echo "$gone - $stop" | bc)" || echo 'not within 120')" "$throughput"
    fi
    pkill -9 -f -- "$nodes" 2>/dev/null
    wait $runner 2>/dev/null
    rm -rf "$data" "$log"
  done
done
