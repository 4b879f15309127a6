#!/usr/bin/env bash
# Load benchmark on loopback: the gateway's cache against nginx's proxy_cache, and the gateway's
# miss path against calling the simulator directly. Bounded in time (about two minutes); every
# server it starts listens on 127.0.0.1 only and is stopped on exit.
#
# Needs wrk and nginx (apt-get install wrk nginx); builds the release binaries if BIN_DIR lacks them.
#
#   scripts/bench-load.sh [BIN_DIR]        (default: .build/release)
#   BENCH_DURATION=10s BENCH_CONNECTIONS=50 scripts/bench-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/release}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-50}"
threads="${BENCH_THREADS:-2}"
sim_port=29090; hit_port=28080; miss_port=28081; nginx_port=28082
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { echo "bench-load: $tool is missing (apt-get install wrk nginx)" >&2; exit 1; }
done
if [ ! -x "$bin/mode-gateway" ] || [ ! -x "$bin/mode-simulator" ]; then
    swift build -c release --product mode-gateway
    swift build -c release --product mode-simulator
    bin="$(swift build -c release --show-bin-path)"
fi

auth="Basic $(printf '%s' 'demo-token:demo-secret' | base64)"
SIMULATOR_PORT=$sim_port SIMULATOR_RATE_LIMIT=off "$bin/mode-simulator" >"$work/simulator.log" 2>&1 &
pids+=($!)
gateway() { # port, cache ttl
    MODE_WORKSPACE=demo MODE_API_TOKEN=demo-token MODE_API_SECRET=demo-secret \
        MODE_API_URL="http://127.0.0.1:$sim_port/api" HTTP_PORT="$1" CACHE_TTL_SECONDS="$2" LOG_LEVEL=warning \
        MODE_RATE_LIMIT_PER_SECOND=10000 MODE_RATE_LIMIT_BURST=10000 \
        GATEWAY_KEY_RATE_LIMIT_PER_SECOND=1000000 GATEWAY_KEY_RATE_LIMIT_BURST=1000000 \
        GATEWAY_KEY_MODE_RATE_PER_SECOND=1000000 GATEWAY_KEY_MODE_BURST=1000000 \
        "$bin/mode-gateway" >"$work/gateway-$1.log" 2>&1 &
    pids+=($!)
}
gateway $hit_port 3600
gateway $miss_port 0

mkdir -p "$work/nginx-cache"
# nginx workers drop to an unprivileged user when started as root: let them use the cache.
chmod 755 "$work"
chmod 777 "$work/nginx-cache"
cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=mode:16m max_size=256m inactive=60m use_temp_path=off;
    upstream mode { server 127.0.0.1:$sim_port; keepalive 32; }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://mode/api/demo/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "$auth";
            proxy_cache mode;
            proxy_cache_valid 200 60m;
            proxy_cache_lock on;
            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon on;' -p "$work"

wait_for() { # url
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "bench-load: $1 did not come up" >&2; tail -n 5 "$work"/*.log >&2; exit 1
}
single="/datasets/ds0001"
list="/spaces/sp-finance/datasets?page=1"
wait_for "http://127.0.0.1:$hit_port/healthz"
wait_for "http://127.0.0.1:$miss_port/healthz"
for path in "$single" "$list"; do    # warm both caches
    for _ in 1 2 3; do
        curl -fsS -o /dev/null "http://127.0.0.1:$hit_port$path"
        curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port$path"
    done
done
echo "gateway: $(curl -s -D - -o /dev/null "http://127.0.0.1:$hit_port$single" | grep -i '^x-cache')" >&2
echo "nginx:   $(curl -s -D - -o /dev/null "http://127.0.0.1:$nginx_port$single" | grep -i '^x-cache')" >&2

# run_wrk NAME URL THREADS CONNECTIONS [HEADER]: prints "rps p50_ms p99_ms bytes_per_request"
run_wrk() {
    local name="$1" url="$2" t="$3" c="$4" header="${5:-}"
    local out="$work/wrk-$name.txt"
    if [ -n "$header" ]; then
        wrk -t"$t" -c"$c" -d"$duration" --latency -H "$header" "$url" >"$out"
    else
        wrk -t"$t" -c"$c" -d"$duration" --latency "$url" >"$out"
    fi
    python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(label):
    match = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), text, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
read = re.search(r"requests in [\d.]+\w+, ([\d.]+)(KB|MB|GB|B) read", text)
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[read.group(2)]
if errors: sys.exit(f"{sys.argv[1]}: {errors.group(1)} error answers")
print(f"{rps:.0f} {ms('50%'):.3f} {ms('99%'):.3f} {float(read.group(1)) * scale / requests:.0f}")
PY
}

declare -A result
result[gw_single]=$(run_wrk gw-single "http://127.0.0.1:$hit_port$single" "$threads" "$connections")
result[ng_single]=$(run_wrk ng-single "http://127.0.0.1:$nginx_port$single" "$threads" "$connections")
result[gw_list]=$(run_wrk gw-list "http://127.0.0.1:$hit_port$list" "$threads" "$connections")
result[ng_list]=$(run_wrk ng-list "http://127.0.0.1:$nginx_port$list" "$threads" "$connections")
# The miss path, one connection, so that latency is the request's own and not queueing.
result[miss_gw]=$(run_wrk miss-gw "http://127.0.0.1:$miss_port$single" 1 1)
result[miss_sim]=$(run_wrk miss-sim "http://127.0.0.1:$sim_port/api/demo/datasets/ds0001" 1 1 "Authorization: $auth")

python3 - "${result[gw_single]}" "${result[ng_single]}" "${result[gw_list]}" "${result[ng_list]}" \
    "${result[miss_gw]}" "${result[miss_sim]}" "$connections" "$duration" <<'PY'
import sys
gw_s, ng_s, gw_l, ng_l, miss_gw, miss_sim = [list(map(float, a.split())) for a in sys.argv[1:7]]
c, d = sys.argv[7], sys.argv[8]
print(f"\n## Cache hits, {c} connections, {d} each (wrk)\n")
print("| payload | server | requests/s | p50 ms | p99 ms | bytes/answer |")
print("|---|---|---|---|---|---|")
for name, gw, ng in [("one dataset", gw_s, ng_s), ("30-item list", gw_l, ng_l)]:
    print(f"| {name} | mode-gateway | {gw[0]:.0f} | {gw[1]:.3f} | {gw[2]:.3f} | {gw[3]:.0f} |")
    print(f"| {name} | nginx proxy_cache | {ng[0]:.0f} | {ng[1]:.3f} | {ng[2]:.3f} | {ng[3]:.0f} |")
print("\n| target | measured | met |\n|---|---|---|")
for name, gw, ng in [("one dataset", gw_s, ng_s), ("30-item list", gw_l, ng_l)]:
    ratio = gw[0] / ng[0]
    print(f"| hit throughput ≥ 1.0× nginx, {name} | {ratio:.2f}× | {'yes' if ratio >= 1.0 else 'NO'} |")
    print(f"| hit p99 ≤ 2 ms at {c} connections, {name} | {gw[2]:.3f} ms | {'yes' if gw[2] <= 2.0 else 'NO'} |")
added = miss_gw[1] - miss_sim[1]
print(f"| miss adds ≤ 0.3 ms at p50 (1 connection): gateway {miss_gw[1]:.3f} ms, simulator {miss_sim[1]:.3f} ms | {added:.3f} ms | {'yes' if added <= 0.3 else 'NO'} |")
PY
