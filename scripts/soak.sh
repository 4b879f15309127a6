#!/usr/bin/env bash
# Soak benchmark (a script, not a CI test): mixed traffic for ten minutes at 100 connections,
# against the gateway in front of the simulator, with a fault injected into the simulator every
# minute. It reports the answers by status, the unexpected ones (which must be none), the
# gateway's resident memory every 10 s, the latency percentiles, and Mode calls per 1,000 reads.
#
# The traffic: 97% reads of one dataset, four in five of them among 1,000 hot keys and the rest
# across all 10,000; 2% reads of one page of a list; 1% PATCHes of a dataset's name. Each minute,
# from its 30th second for 10 s, the simulator misbehaves, in turn: 503s, 3 s delays, dropped
# connections, broken JSON, 429s with Retry-After.
#
# Expected answers are 200, and 502, 503 or 504 problem+json while a fault is on (a stale answer,
# when the cache has one, is a 200). Unexpected: any other status (a bare 500 above all), and any
# socket error or timeout wrk sees.
#
# Needs wrk (apt-get install wrk); builds the release binaries if BIN_DIR lacks them.
#
#   scripts/soak.sh [BIN_DIR]              (default: .build/release)
#   SOAK_SECONDS=120 SOAK_CONNECTIONS=50 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/release}"
seconds="${SOAK_SECONDS:-600}"
connections="${SOAK_CONNECTIONS:-100}"
sim_port=29190; gateway_port=28190
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)" >&2; exit 1; }
if [ ! -x "$bin/mode-gateway" ] || [ ! -x "$bin/mode-simulator" ]; then
    swift build -c release --product mode-gateway
    swift build -c release --product mode-simulator
    bin="$(swift build -c release --show-bin-path)"
fi

sim="http://127.0.0.1:$sim_port"
SIMULATOR_PORT=$sim_port SIMULATOR_DATASETS=10000 SIMULATOR_RATE_LIMIT=off "$bin/mode-simulator" >"$work/simulator.log" 2>&1 &
pids+=($!)
# Mode's budget opened to what the simulator takes, and the per-client limits opened (all the
# traffic comes from one address): the soak is about staying whole, not about the limits.
MODE_WORKSPACE=demo MODE_API_TOKEN=demo-token MODE_API_SECRET=demo-secret \
    MODE_API_URL="$sim/api" HTTP_PORT=$gateway_port LOG_LEVEL=warning \
    MODE_RATE_LIMIT_PER_SECOND=400 MODE_RATE_LIMIT_BURST=100 \
    GATEWAY_KEY_RATE_LIMIT_PER_SECOND=1000000 GATEWAY_KEY_RATE_LIMIT_BURST=1000000 \
    GATEWAY_KEY_MODE_RATE_PER_SECOND=1000000 GATEWAY_KEY_MODE_BURST=1000000 \
    "$bin/mode-gateway" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=($gateway_pid)
up=""
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$gateway_port/healthz" >/dev/null 2>&1 && curl -fs "$sim/_simulator/stats" >/dev/null 2>&1 && up=1 && break
    sleep 0.1
done
[ -n "$up" ] || { echo "soak: the gateway or the simulator did not come up" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
curl -fsS -X DELETE "$sim/_simulator/stats" >/dev/null

cat >"$work/soak.lua" <<'LUA'
local threads = {}
function setup(thread)
    thread:set("id", #threads + 1)
    table.insert(threads, thread)
end
function init(args)
    statuses = {}
    reads = 0
    writes = 0
    math.randomseed(os.time() * 100 + id)
end
local function dataset()
    local index
    if math.random() < 0.8 then index = math.random(1, 1000) else index = math.random(1, 10000) end
    return string.format("ds%04d", index)
end
function request()
    local roll = math.random()
    if roll < 0.01 then
        writes = writes + 1
        return wrk.format("PATCH", "/datasets/" .. dataset(), { ["Content-Type"] = "application/json" },
            string.format('{"name": "soak %d"}', math.random(1, 1000000)))
    end
    reads = reads + 1
    if roll < 0.03 then
        local space = ({ "sp-finance", "sp-growth", "sp-product" })[math.random(1, 3)]
        return wrk.format("GET", "/spaces/" .. space .. "/datasets?page=" .. math.random(1, 20))
    end
    return wrk.format("GET", "/datasets/" .. dataset())
end
function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
    local total, reads, writes = {}, 0, 0
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
        reads = reads + thread:get("reads")
        writes = writes + thread:get("writes")
    end
    local errors = summary.errors
    io.write(string.format("RESULT requests %d reads %d writes %d\n", summary.requests, reads, writes))
    io.write(string.format("RESULT socket_errors connect %d read %d write %d timeout %d\n",
        errors.connect, errors.read, errors.write, errors.timeout))
    for status, count in pairs(total) do io.write(string.format("RESULT status %d %d\n", status, count)) end
    for _, p in ipairs({ 50, 90, 99, 99.9 }) do
        io.write(string.format("RESULT latency_ms p%s %.2f\n", p, latency:percentile(p) / 1000))
    end
    io.write(string.format("RESULT latency_ms max %.2f\n", latency.max / 1000))
end
LUA

metric() { curl -fs "http://127.0.0.1:$gateway_port/metrics" | awk -v name="$1" '$1 == name {printf "%d", $2}'; }
# Memory every 10 s: the process's resident set, and the cache's own bytes and entries in it.
(
    elapsed=0
    while kill -0 "$gateway_pid" 2>/dev/null; do
        rss="$(awk '/VmRSS/ {print $2}' "/proc/$gateway_pid/status" 2>/dev/null || echo 0)"
        echo "$elapsed $rss $(metric gateway_cache_bytes) $(metric gateway_cache_entries)" >>"$work/rss.txt"
        sleep 10
        elapsed=$((elapsed + 10))
    done
) &
pids+=($!)

# A fault each minute, from its 30th second, for 10 s.
(
    faults=(
        '{"fault": "status", "status": 503}'
        '{"fault": "delay", "milliseconds": 3000}'
        '{"fault": "drop"}'
        '{"fault": "broken_json"}'
        '{"fault": "status", "status": 429, "retry_after": 1}'
    )
    minute=0
    while true; do
        sleep 30
        fault="${faults[$((minute % ${#faults[@]}))]}"
        # A switch that fails is logged, never the end of the loop (a fault left on would turn
        # the rest of the run into expected errors).
        if curl -fsS -X PUT "$sim/_simulator/fault" -d "$fault" >/dev/null; then
            echo "$((minute * 60 + 30)) $fault" >>"$work/faults.txt"
        else
            echo "$((minute * 60 + 30)) could not set $fault" >>"$work/faults.txt"
        fi
        sleep 10
        until curl -fsS -X DELETE "$sim/_simulator/fault" >/dev/null; do sleep 1; done
        sleep 20
        minute=$((minute + 1))
    done
) &
pids+=($!)

echo "soak: ${seconds}s at $connections connections against 127.0.0.1:$gateway_port (work dir $work)"
wrk -t2 -c"$connections" -d"${seconds}s" --timeout 40s -s "$work/soak.lua" "http://127.0.0.1:$gateway_port" >"$work/wrk.txt" 2>&1
mode_calls="$(curl -fsS "$sim/_simulator/stats" | sed -n 's/.*"requests" *: *\([0-9]*\).*/\1/p')"

results="$(grep '^RESULT' "$work/wrk.txt" | sed 's/^RESULT //')"
reads="$(echo "$results" | awk '$1 == "requests" {print $4}')"
unexpected="$(echo "$results" | awk '
    $1 == "status" && $2 != 200 && $2 != 502 && $2 != 503 && $2 != 504 {n += $3}
    $1 == "socket_errors" {n += $3 + $5 + $7 + $9}
    END {print n + 0}')"
echo
echo "== answers"
echo "$results" | awk '$1 == "requests" {print "  requests " $2 ", reads " $4 ", writes " $6}'
echo "$results" | awk '$1 == "status" {print "  " $2 ": " $3}' | sort
echo "$results" | awk '$1 == "socket_errors" {print "  socket errors: connect " $3 ", read " $5 ", write " $7 ", timeout " $9}'
echo "  unexpected: $unexpected"
echo "== latency, from the gateway's own histogram (the bucket each percentile falls in)"
# wrk's own tail percentiles can be far off (they once claimed more slow requests than 100
# connections have time for); the gateway's request-duration buckets, summed over routes, cannot.
curl -fs "http://127.0.0.1:$gateway_port/metrics" >"$work/metrics.txt" || true
awk '/^http_request_duration_seconds_bucket/ { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); sum[le] += $NF }
     END { for (le in sum) print le, sum[le] }' "$work/metrics.txt" | sort -g >"$work/buckets.txt"
total="$(awk '$1 == "+Inf" {print $2}' "$work/buckets.txt")"
for p in 50 90 99 99.9; do
    echo "  p$p ≤ $(awk -v p="$p" -v total="${total:-0}" '$2 >= total * p / 100 {print $1 " s"; exit}' "$work/buckets.txt")"
done
echo "  (wrk says p50 $(echo "$results" | awk '$1 == "latency_ms" && $2 == "p50" {print $3}') ms)"
echo "== Mode calls"
echo "  $mode_calls calls for $reads reads: $(awk -v c="$mode_calls" -v r="$reads" 'BEGIN {printf "%.1f", r ? c * 1000 / r : 0}') per 1,000 reads"
echo "== faults injected (second: fault)"
sed 's/^/  /' "$work/faults.txt" 2>/dev/null || true
echo "== why answers were 503 (the gateway's counters)"
for name in mode_breaker_rejections_total mode_rate_limiter_rejections_total gateway_cache_stale_total mode_breaker_openings_total; do
    echo "  $name $(metric "$name")"
done
echo "== memory (second: resident MiB, cache MiB, cache entries)"
awk '{printf "  %4d: %6.1f %6.1f %6d\n", $1, $2 / 1024, $3 / 1048576, $4}' "$work/rss.txt" 2>/dev/null || echo "  (not sampled)"
echo "== the gateway's log: $(grep -c 'warning' "$work/gateway.log" || true) warnings, $(grep -c 'error' "$work/gateway.log" || true) lines naming an error"
# No traffic counted (a broken script, wrk killed) is a failure, not a clean run.
[ "${reads:-0}" -gt 0 ] || { echo "soak: wrk reported no reads" >&2; tail -n 20 "$work/wrk.txt" >&2; exit 1; }
[ "$unexpected" -eq 0 ] || { echo "soak: $unexpected unexpected answers" >&2; exit 1; }
