#!/usr/bin/env bash
# What a request pays for telemetry, as a service sees it: `wrk -t1 -c16` against one-thread services
# with the same request shape (an HTTP handler, a business operation over three steps, one log line
# inside), each next to its twin without telemetry, interleaved, ROUNDS rounds. For each set-up it prints
# requests/s, latency p50/p99 and the CPU time the service process used per request (every thread of
# it: the log writer and the export thread included), and the CPU added per request over its bare twin.
#
#   benches/per-request/run.sh        # ROUNDS=3 DURATION=10 (seconds of load per set-up and round)
#   SETUPS="rust-bare rust-local" benches/per-request/run.sh     # some of the set-ups only
#
# Needs: wrk (Debian's `wrk`), Node.js and npm (the Node stack is installed from the lockfile in node/).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/target/per-request"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10}"
connections=16
port=39180
sink_port=39181
mkdir -p "$out"

for tool in wrk node npm cargo; do
    command -v "$tool" >/dev/null || { echo "per-request: $tool is missing (wrk: apt-get install wrk)" >&2; exit 1; }
done

read -r -a setups <<<"${SETUPS:-rust-bare rust-local rust-exported rust-error node-bare node-stack}"

echo "building the services..." >&2
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p sightline-benches \
    --bin request-service --bin otlp-sink
bin="$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"
if [[ " ${setups[*]} " == *" node-"* ]]; then
    (cd "$here/node" && npm ci --no-audit --no-fund --silent >&2)
fi

# The collector every exporting set-up sends to; it answers 200 and keeps nothing.
exec 3> >("$bin/otlp-sink" "$sink_port" >"$out/sink.txt" 2>&1)
collector="http://127.0.0.1:$sink_port"


start() { # setup -> starts it in the background, its stdout to a file; sets $pid
    local setup="$1" log="$out/$1.log"
    case "$setup" in
        rust-bare) "$bin/request-service" bare "$port" >"$log" 2>"$log.err" & ;;
        rust-local) "$bin/request-service" local "$port" >"$log" 2>"$log.err" & ;;
        rust-exported) "$bin/request-service" exported "$port" "$collector" >"$log" 2>"$log.err" & ;;
        rust-error) "$bin/request-service" error "$port" >"$log" 2>"$log.err" & ;;
        node-bare) (cd "$here/node" && BARE=1 PORT="$port" NODE_ENV=production exec node service.js) \
            >"$log" 2>"$log.err" & ;;
        node-stack) (cd "$here/node" && PORT="$port" NODE_ENV=production \
            OTLP_TRACES_URL="$collector/v1/traces" OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \
            exec node --require ./instrumentation.js service.js) >"$log" 2>"$log.err" & ;;
    esac
    pid=$!
    for _ in $(seq 1 200); do
        if curl -s -o /dev/null "http://127.0.0.1:$port/orders/1"; then return; fi
        sleep 0.05
    done
    echo "per-request: $setup did not start: $(cat "$log.err")" >&2
    exit 1
}

cpu_ticks() { # pid -> utime + stime of every thread, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

to_ms() { # wrk's 245.00us / 1.20ms / 1.01s -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v }
        else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
        else print v }'
}

tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
results="$out/results.txt"
: >"$results"
for round in $(seq 1 "$rounds"); do
    for setup in "${setups[@]}"; do
        start "$setup"
        # Warm-up: JIT, caches, connection pools.
        wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$port/orders/42" >/dev/null
        # Lines are counted over the measured run only; the writer hands off
        # asynchronously, so let the warm-up's lines land first.
        sleep 0.3
        lines_before=$(wc -l <"$out/$setup.log")
        before=$(cpu_ticks "$pid")
        report="$(wrk -t1 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:$port/orders/42")"
        after=$(cpu_ticks "$pid")
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        requests=$(echo "$report" | awk '/requests in/ { print $1 }')
        rps=$(echo "$report" | awk '/Requests\/sec/ { print $2 }')
        p50=$(to_ms "$(echo "$report" | awk '$1 == "50%" { print $2 }')")
        p99=$(to_ms "$(echo "$report" | awk '$1 == "99%" { print $2 }')")
        cpu_us=$(awk -v a="$before" -v b="$after" -v t="$tick_ms" -v n="$requests" \
            'BEGIN { printf "%.2f", (b - a) * t * 1000 / n }')
        lines=$(($(wc -l <"$out/$setup.log") - lines_before))
        echo "$setup $round $rps $p50 $p99 $cpu_us $requests $lines" | tee -a "$results" >&2
    done
done
exec 3>&-

python3 - "$results" "$rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
by = {}
for setup, _round, rps, p50, p99, cpu, requests, lines in rows:
    by.setdefault(setup, []).append((float(rps), float(p50), float(p99), float(cpu), int(requests), int(lines)))
med = lambda setup, i: statistics.median(r[i] for r in by[setup])
names = {
    "rust-bare": "Rust bare (axum, one thread)",
    "rust-local": "sightline, no collector, lines to a file",
    "rust-exported": "sightline, spans exported over OTLP",
    "rust-error": "sightline, level `error` (metrics only)",
    "node-bare": "Node bare (express)",
    "node-stack": "Node, the common guide's stack",
}
twin = lambda setup: "rust-bare" if setup.startswith("rust") else "node-bare"
print(f"Medians of {sys.argv[2]} interleaved rounds; CPU is the service process's, every thread.\n")
print("| set-up | requests/s | p50 ms | p99 ms | CPU per request | added CPU per request | lines per request |")
print("|---|---:|---:|---:|---:|---:|---:|")
added = {}
for setup in ["rust-bare", "rust-local", "rust-exported", "rust-error", "node-bare", "node-stack"]:
    if setup not in by:
        continue
    cpu = med(setup, 3)
    extra = "" if setup == twin(setup) else f"{cpu - med(twin(setup), 3):.2f} µs"
    if setup != twin(setup):
        added[setup] = cpu - med(twin(setup), 3)
    per_request = statistics.median(r[5] / r[4] for r in by[setup])
    print(f"| {names[setup]} | {med(setup, 0):,.0f} | {med(setup, 1):.3f} | {med(setup, 2):.3f} | "
          f"{cpu:.2f} µs | {extra} | {per_request:.2f} |")
print()
print("| target | measured | at most / at least | |")
print("|---|---:|---:|---|")
node = added.get("node-stack")
for setup in ["rust-exported", "rust-local"]:
    if node and setup in added:
        ratio = added[setup] / node
        verdict = "met" if ratio <= 1 / 50 else "**missed**"
        print(f"| added CPU per request, {names[setup]} / Node stack | 1/{1 / ratio:.1f} | 1/50 | {verdict} |")
if "rust-exported" in by and "rust-bare" in by:
    ratio = med("rust-exported", 0) / med("rust-bare", 0)
    verdict = "met" if ratio >= 0.6 else "**missed**"
    print(f"| requests/s, spans exported / bare twin | {ratio:.2f}x | at least 0.60x | {verdict} |")
PY
