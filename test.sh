#!/usr/bin/env bash
# The one test command (design.md §7): installs missing prerequisites, builds, runs every
# test project, and prints as its last line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

log() { echo "[test.sh] $*" >&2; }

# --- prerequisites -------------------------------------------------------------------------
need_apt=()
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
/usr/bin/python3 -c 'import kafka' >/dev/null 2>&1 || need_apt+=(python3-kafka)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || need_apt+=(python3-confluent-kafka)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v lz4 >/dev/null 2>&1 || need_apt+=(lz4)
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
/usr/bin/python3 -c 'import snappy' >/dev/null 2>&1 || need_apt+=(python3-snappy)
# The browser the dashboard test drives through Playwright (no browser download is possible here).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then
    log "not root: install them yourself: sudo apt-get install -y ${need_apt[*]}"
  else
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}") >&2 \
      || log "apt-get install failed; the tests that need ${need_apt[*]} will fail and say so"
  fi
fi
# Prometheus is only a tool for the tests: the Debian package starts a service we do not want.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus prometheus-node-exporter >/dev/null 2>&1 || true; fi

for dir in tests/*/node; do
  if [ -f "$dir/package-lock.json" ]; then
    log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || log "npm ci failed in $dir"
  fi
done

# --- build ---------------------------------------------------------------------------------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# The protocol staleness test finds Kafka's specs in an ancestor's shared/kafka-messages or
# through KAFKA_MESSAGES_DIR; on this project's machines they live in /work/shared, so a clone
# anywhere (CI's included) still runs that check instead of reporting it not applicable.
if [ -z "${KAFKA_MESSAGES_DIR:-}" ] && [ -d /work/shared/kafka-messages/clients ]; then
  export KAFKA_MESSAGES_DIR=/work/shared/kafka-messages
fi
log "building"
build_log=$(mktemp)
if ! dotnet build Aspire.Kafka.sln -c Release -nologo -v q > "$build_log" 2>&1; then
  log "build failed"
  grep -E "error" "$build_log" | sort -u | head -n 40 >&2
  rm -f "$build_log"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f "$build_log"

# --- run -----------------------------------------------------------------------------------
passed=0; failed=0; skipped=0
# Tests send SIGINT (Ctrl+C) to the processes they start. A shell script started in the background
# (`./test.sh &`, nohup, some CI runners) passes SIGINT on as *ignored*, and a shell cannot undo
# that; perl (Debian's essential perl-base) restores the default before running the tests.
with_sigint=()
if command -v perl >/dev/null 2>&1; then
  with_sigint=(perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die "exec $ARGV[0]: $!\n"')
fi
results=$(mktemp -d)
# Every test project of the solution (a project outside the solution is not built, so not run).
for proj in $(dotnet sln Aspire.Kafka.sln list | grep -E '^tests/.*\.Tests\.csproj$' | sort); do
  name=$(basename "$proj" .csproj)
  log "running $name"
  trx="$results/$name.trx"
  "${with_sigint[@]}" dotnet test "$proj" -c Release --no-build -nologo --logger "trx;LogFileName=$trx" --logger "console;verbosity=normal" \
    > "$results/$name.log" 2>&1
  rc=$?
  if [ -f "$trx" ]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
    p=$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p'); p=${p:-0}
    f=$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p'); f=${f:-0}
    t=$(echo "$counters" | sed -n 's/.* total="\([0-9]*\)".*/\1/p'); t=${t:-0}
    e=$(echo "$counters" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p'); e=${e:-0}
    s=$((t - e))
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$f" -gt 0 ] || [ $rc -ne 0 ]; then
      # Each failure with its message (a process test's message carries the process's output).
      grep -E -A 40 "^\s+Failed " "$results/$name.log" | grep -v -E "^\s+at (System|Xunit|Microsoft)\." | head -n 200 >&2
      grep -E "seed" "$results/$name.log" | head -n 10 >&2
      if [ "$f" -eq 0 ]; then failed=$((failed + 1)); log "$name exited with $rc"; tail -n 40 "$results/$name.log" >&2; fi
    fi
    log "$name: $p passed, $f failed, $s skipped"
  else
    log "$name produced no results (exit $rc)"; tail -n 40 "$results/$name.log" >&2
    failed=$((failed + 1))
  fi
done
rm -rf "$results"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
