#!/usr/bin/env bash
# Load benchmark on loopback, with the servers pinned to one core and wrk to the other:
#
# - cache hits: the gateway's own cache against nginx (worker_processes 1) caching the gateway's
#   own answers with proxy_cache, so both serve the same bytes; one dataset and a 30-item list;
#   the same gateway with its fast path off (every hit through Hummingbird's router); and the
#   gateway's /healthz, which goes through the router;
# - the miss path: a gateway with its cache off in front of nginx serving Mode's HAL as static
#   files, against calling that nginx directly, at one connection.
#
# Any answer that is not 2xx voids the run. Every server it starts listens on 127.0.0.1 only and
# is stopped on exit. Needs wrk and nginx (apt-get install wrk nginx-light); builds the release
# binaries if BIN_DIR lacks them.
#
#   scripts/bench-load.sh [BIN_DIR]        (default: .build/release)
#   BENCH_DURATION=10s BENCH_ROUNDS=5 BENCH_ROUND_DURATION=4s BENCH_CONNECTIONS=50 BENCH_PROFILE=1 scripts/bench-load.sh
#
# The hit comparisons with nginx run in BENCH_ROUNDS alternating rounds of BENCH_ROUND_DURATION
# each and report medians, and the median of the rounds' ratios; the other runs take BENCH_DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/release}"
duration="${BENCH_DURATION:-10s}"
rounds="${BENCH_ROUNDS:-5}"
round_duration="${BENCH_ROUND_DURATION:-4s}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench-load: BENCH_ROUNDS must be a positive whole number" >&2; exit 1; }
connections="${BENCH_CONNECTIONS:-50}"
server_cpu="${BENCH_SERVER_CPU:-0}"
load_cpu="${BENCH_LOAD_CPU:-1}"
sim_port=29090; hit_port=28080; miss_port=28081; nginx_port=28082; static_port=28083; router_port=28084
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk nginx taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "bench-load: $tool is missing (apt-get install wrk nginx-light util-linux curl python3)" >&2; exit 1; }
done
if [ ! -x "$bin/mode-gateway" ] || [ ! -x "$bin/mode-simulator" ]; then
    swift build -c release --product mode-gateway
    swift build -c release --product mode-simulator
    bin="$(swift build -c release --show-bin-path)"
fi
# One core for the servers (taskset execs them: $! is the server), one event loop each: nginx's
# one worker, and the gateway's one NIO loop (NIO counts a cgroup's cpuset and quota, not
# taskset's affinity, so it is told).

auth="Basic $(printf '%s' 'demo-token:demo-secret' | base64)"
SIMULATOR_PORT=$sim_port SIMULATOR_RATE_LIMIT=off taskset -c "$server_cpu" "$bin/mode-simulator" >"$work/simulator.log" 2>&1 &
pids+=($!)
gateway() { # port, cache ttl, Mode's URL, [fast hits]
    GATEWAY_FAST_HITS="${4:-true}" MODE_WORKSPACE=demo MODE_API_TOKEN=demo-token MODE_API_SECRET=demo-secret \
        MODE_API_URL="$3" HTTP_PORT="$1" CACHE_TTL_SECONDS="$2" LOG_LEVEL=warning NIO_SINGLETON_GROUP_LOOP_COUNT=1 \
        MODE_RATE_LIMIT_PER_SECOND=10000 MODE_RATE_LIMIT_BURST=10000 \
        GATEWAY_KEY_RATE_LIMIT_PER_SECOND=1000000 GATEWAY_KEY_RATE_LIMIT_BURST=1000000 \
        GATEWAY_KEY_MODE_RATE_PER_SECOND=1000000 GATEWAY_KEY_MODE_BURST=1000000 \
        taskset -c "$server_cpu" "$bin/mode-gateway" >"$work/gateway-$1.log" 2>&1 &
    pids+=($!)
}
gateway $hit_port 3600 "http://127.0.0.1:$sim_port/api"
hit_pid=${pids[-1]}
gateway $miss_port 0 "http://127.0.0.1:$static_port/api"
# The same cache without the fast path: every hit through Hummingbird's router, as before it.
gateway $router_port 3600 "http://127.0.0.1:$sim_port/api" false

wait_for() { # url [curl arguments]
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$@" 2>/dev/null && return 0; sleep 0.1; done
    echo "bench-load: $1 did not come up" >&2; tail -n 5 "$work"/*.log >&2; exit 1
}
single="/datasets/ds0001"
list="/spaces/sp-finance/datasets?page=1"
wait_for "http://127.0.0.1:$sim_port/api/demo/datasets/ds0001" -H "Authorization: $auth"
# Mode's HAL for the miss path, as static files.
mkdir -p "$work/static/api/demo/datasets"
curl -fsS -H "Authorization: $auth" "http://127.0.0.1:$sim_port/api/demo/datasets/ds0001" >"$work/static/api/demo/datasets/ds0001"

mkdir -p "$work/nginx-cache"
# nginx workers drop to an unprivileged user when started as root: let them read and cache.
chmod 755 "$work" "$work/static" "$work/static/api" "$work/static/api/demo" "$work/static/api/demo/datasets"
chmod 644 "$work/static/api/demo/datasets/ds0001"
chmod 777 "$work/nginx-cache"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=gw:16m max_size=256m inactive=60m use_temp_path=off;
    upstream gateway { server 127.0.0.1:$hit_port; keepalive 32; }
    server {
        # The gateway's own answers, kept by nginx: the same bytes from both caches.
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host 127.0.0.1;
            proxy_cache gw;
            proxy_cache_valid 200 60m;
            proxy_ignore_headers Cache-Control Expires;
            proxy_cache_lock on;
        }
    }
    server {
        # Mode's HAL as files: the fastest upstream there is, for the miss path.
        listen 127.0.0.1:$static_port;
        root $work/static;
        default_type application/json;
        keepalive_requests 1000000;
    }
}
NGINX
taskset -c "$server_cpu" nginx -c "$work/nginx.conf" -g 'daemon on;' -p "$work"

wait_for "http://127.0.0.1:$hit_port/healthz"
wait_for "http://127.0.0.1:$miss_port/healthz"
wait_for "http://127.0.0.1:$router_port/healthz"
for path in "$single" "$list"; do    # warm the caches
    for _ in 1 2 3; do
        curl -fsS -o /dev/null "http://127.0.0.1:$hit_port$path"
        curl -fsS -o /dev/null "http://127.0.0.1:$router_port$path"
        curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port$path"
    done
done
curl -fsS -o /dev/null "http://127.0.0.1:$miss_port$single"
gw_bytes=$(curl -fsS "http://127.0.0.1:$hit_port$single" | wc -c)
ng_bytes=$(curl -fsS "http://127.0.0.1:$nginx_port$single" | wc -c)
[ "$gw_bytes" = "$ng_bytes" ] || { echo "bench-load: the bodies differ ($gw_bytes and $ng_bytes bytes)" >&2; exit 1; }

# run_wrk NAME URL CONNECTIONS: prints "rps p50_ms p99_ms bytes_per_request"
run_wrk() { # NAME URL CONNECTIONS [DURATION]
    local name="$1" url="$2" c="$3" d="${4:-$duration}"
    local out="$work/wrk-$name.txt"
    taskset -c "$load_cpu" wrk -t1 -c"$c" -d"$d" --latency "$url" >"$out"
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
sockets = re.search(r"Socket errors: (.*)", text)
read = re.search(r"requests in [\d.]+\w+, ([\d.]+)(KB|MB|GB|B) read", text)
scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[read.group(2)]
if errors: sys.exit(f"{sys.argv[1]}: {errors.group(1)} error answers: the run is void")
if sockets: sys.exit(f"{sys.argv[1]}: socket errors ({sockets.group(1)}): the run is void")
print(f"{rps:.0f} {ms('50%'):.3f} {ms('99%'):.3f} {float(read.group(1)) * scale / requests:.0f}")
PY
}

declare -A result
# The gateway against nginx in alternating rounds: this VM's speed drifts by 10 to 20% within a
# minute, so each round's ratio is taken while both saw the same machine, and the medians are kept.
# median LINE...: the median of each column of "rps p50 p99 bytes" lines.
median() {
    python3 -c 'import sys, statistics; rows = [list(map(float, a.split())) for a in sys.argv[1:]]; print(" ".join(f"{statistics.median(c):.3f}" for c in zip(*rows)))' "$@"
}
compare() { # NAME PATH: sets result[gw_NAME], result[ng_NAME] (medians) and ratio[NAME] (median of the rounds' ratios)
    local name="$1" path="$2" round gw ng gws=() ngs=() ratios=()
    for round in $(seq 1 "$rounds"); do
        if [ $((round % 2)) = 1 ]; then
            gw=$(run_wrk "gw-$name-$round" "http://127.0.0.1:$hit_port$path" "$connections" "$round_duration")
            ng=$(run_wrk "ng-$name-$round" "http://127.0.0.1:$nginx_port$path" "$connections" "$round_duration")
        else
            ng=$(run_wrk "ng-$name-$round" "http://127.0.0.1:$nginx_port$path" "$connections" "$round_duration")
            gw=$(run_wrk "gw-$name-$round" "http://127.0.0.1:$hit_port$path" "$connections" "$round_duration")
        fi
        gws+=("$gw"); ngs+=("$ng")
        ratios+=("$(python3 -c 'import sys; print(float(sys.argv[1].split()[0]) / float(sys.argv[2].split()[0]))' "$gw" "$ng")")
        echo "round $round, $name: gateway $gw | nginx $ng" >&2
    done
    result[gw_$name]=$(median "${gws[@]}")
    result[ng_$name]=$(median "${ngs[@]}")
    ratio[$name]=$(median "${ratios[@]}")
}
declare -A ratio
compare single "$single"
compare list "$list"
result[rt_single]=$(run_wrk rt-single "http://127.0.0.1:$router_port$single" "$connections")
result[rt_list]=$(run_wrk rt-list "http://127.0.0.1:$router_port$list" "$connections")
result[gw_health]=$(run_wrk gw-health "http://127.0.0.1:$hit_port/healthz" "$connections")
# The miss path, one connection, so that latency is the request's own and not queueing.
result[miss_gw]=$(run_wrk miss-gw "http://127.0.0.1:$miss_port$single" 1)
result[miss_direct]=$(run_wrk miss-direct "http://127.0.0.1:$static_port/api/demo/datasets/ds0001" 1)
fast_hits=$(curl -fsS "http://127.0.0.1:$hit_port/metrics" | awk '/^gateway_cache_fast_hits_total /{print $2}')

python3 - "${result[gw_single]}" "${result[ng_single]}" "${result[gw_list]}" "${result[ng_list]}" "${result[gw_health]}" \
    "${result[miss_gw]}" "${result[miss_direct]}" "${result[rt_single]}" "${result[rt_list]}" "$connections" "$duration" "${fast_hits:-0}" \
    "${ratio[single]}" "${ratio[list]}" "$rounds" "$round_duration" <<'PY'
import sys
gw_s, ng_s, gw_l, ng_l, gw_h, miss_gw, miss_direct, rt_s, rt_l = [list(map(float, a.split())) for a in sys.argv[1:10]]
c, d, fast = sys.argv[10], sys.argv[11], sys.argv[12]
ratios = {"one dataset": float(sys.argv[13]), "30-item list": float(sys.argv[14])}
rounds, round_d = sys.argv[15], sys.argv[16]
print(f"\n## Cache hits, {c} connections (wrk -t1; servers on one core, wrk on the other)\n")
print(f"Gateway and nginx: medians of {rounds} alternating rounds of {round_d}; the others: one run of {d}.\n")
print("| payload | server | requests/s | p50 ms | p99 ms | bytes/answer |")
print("|---|---|---|---|---|---|")
for name, gw, ng, rt in [("one dataset", gw_s, ng_s, rt_s), ("30-item list", gw_l, ng_l, rt_l)]:
    print(f"| {name} | mode-gateway, fast path | {gw[0]:.0f} | {gw[1]:.3f} | {gw[2]:.3f} | {gw[3]:.0f} |")
    print(f"| {name} | mode-gateway, router only (GATEWAY_FAST_HITS=false) | {rt[0]:.0f} | {rt[1]:.3f} | {rt[2]:.3f} | {rt[3]:.0f} |")
    print(f"| {name} | nginx proxy_cache | {ng[0]:.0f} | {ng[1]:.3f} | {ng[2]:.3f} | {ng[3]:.0f} |")
print(f"| /healthz (the router) | mode-gateway | {gw_h[0]:.0f} | {gw_h[1]:.3f} | {gw_h[2]:.3f} | {gw_h[3]:.0f} |")
print(f"\nHits answered on the event loop: {float(fast):.0f}.")
print("\n| target | measured | met |\n|---|---|---|")
for name, gw, ng, rt in [("one dataset", gw_s, ng_s, rt_s), ("30-item list", gw_l, ng_l, rt_l)]:
    ratio, ratio_rt = ratios[name], rt[0] / ng[0]
    print(f"| hit throughput ≥ 1.0× nginx, {name} (median of the rounds' ratios) | {ratio:.2f}× (router only, one run against nginx's median: {ratio_rt:.2f}×) | {'yes' if ratio >= 1.0 else 'NO'} |")
    ok = gw[2] <= ng[2] or gw[2] <= 1.5
    print(f"| hit p99 ≤ nginx's ({ng[2]:.3f} ms) or 1.5 ms at {c} connections, {name} | {gw[2]:.3f} ms | {'yes' if ok else 'NO'} |")
added = miss_gw[1] - miss_direct[1]
print(f"| miss adds ≤ 0.3 ms at p50 over nginx static (1 connection): gateway {miss_gw[1]:.3f} ms, direct {miss_direct[1]:.3f} ms | {added:.3f} ms | {'yes' if added <= 0.3 else 'NO'} |")
PY

if [ -n "${BENCH_PROFILE:-}" ] && command -v perf >/dev/null; then
    # Where a hit's time goes: the gateway under the one-dataset load, sampled by perf.
    taskset -c "$load_cpu" wrk -t1 -c"$connections" -d12s "http://127.0.0.1:$hit_port$single" >/dev/null &
    load=$!
    sleep 1
    perf record -F 2999 -g -p "$hit_pid" -o "$work/perf.data" -- sleep 8 >/dev/null 2>&1 || true
    wait "$load"
    echo; echo "## Profile of hits (perf, by shared object, then the top symbols)"; echo
    perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8
    echo
    perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -30
fi
