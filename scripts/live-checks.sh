#!/usr/bin/env bash
# Checks that need a live gateway: it starts the simulator and the gateway from BIN_DIR on
# loopback, then
#   - validates the OpenAPI document (openapi-spec-validator);
#   - parses /metrics with prometheus_client's parser;
#   - runs Schemathesis over every operation (server errors, status codes, content types and
#     response schemas must all conform);
#   - checks that every line the gateway wrote in json mode is a JSON object.
# Needs: pip install openapi-spec-validator schemathesis prometheus_client
#
#   scripts/live-checks.sh [BIN_DIR]     (default: .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug}"
work="$(mktemp -d)"
sim_port="${LIVE_SIMULATOR_PORT:-19090}"
gw_port="${LIVE_GATEWAY_PORT:-18080}"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== openapi-spec-validator"
python3 -m openapi_spec_validator openapi/openapi.yaml

SIMULATOR_PORT="$sim_port" SIMULATOR_RATE_LIMIT=off SIMULATOR_RUN_SECONDS=0.5 "$bin/mode-simulator" >"$work/simulator.log" 2>&1 &
pids+=($!)
MODE_WORKSPACE=demo MODE_API_TOKEN=demo-token MODE_API_SECRET=demo-secret \
    MODE_API_URL="http://127.0.0.1:$sim_port/api" HTTP_PORT="$gw_port" LOG_FORMAT=json \
    MODE_RATE_LIMIT_PER_SECOND=1000 MODE_RATE_LIMIT_BURST=1000 GATEWAY_KEY_MODE_RATE_PER_SECOND=100000 GATEWAY_KEY_MODE_BURST=100000 \
    GATEWAY_KEY_RATE_LIMIT_PER_SECOND=100000 GATEWAY_KEY_RATE_LIMIT_BURST=100000 \
    "$bin/mode-gateway" >"$work/gateway.log" 2>"$work/gateway.err" &
pids+=($!)

python3 - "$gw_port" <<'PY'
import sys, time, urllib.request
port = sys.argv[1]
for _ in range(200):
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("the gateway did not come up")
PY

echo "== /metrics through prometheus_client's parser"
python3 - "$gw_port" <<'PY'
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
port = sys.argv[1]
for path in ["/datasets/ds0001", "/datasets/ds0001", "/spaces/sp-finance/datasets", "/datasets/not.valid"]:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
    except Exception:
        pass
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
families = {family.name: family for family in text_string_to_metric_families(text)}
expected = ["http_requests", "http_request_duration_seconds", "mode_upstream_requests", "gateway_cache_hits",
            "gateway_cache_misses", "gateway_cache_bytes", "gateway_cache_entries", "mode_breaker_state"]
missing = [name for name in expected if name not in families]
if missing:
    sys.exit(f"missing metric families: {missing}")
hits = sum(sample.value for sample in families["gateway_cache_hits"].samples)
if hits < 1:
    sys.exit("gateway_cache_hits should count the repeated read")
print(f"parsed {len(families)} metric families")
PY

echo "== schemathesis"
schemathesis run "http://127.0.0.1:$gw_port/openapi.json" --url "http://127.0.0.1:$gw_port" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" --generation-deterministic --request-timeout 20

echo "== json log lines"
python3 - "$work/gateway.log" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
bad = [line for line in lines if not isinstance(json.loads(line), dict)]
requests = [line for line in lines if json.loads(line).get("message") == "request"]
if bad or not requests:
    sys.exit(f"{len(bad)} lines are not JSON objects; {len(requests)} request lines")
print(f"{len(lines)} log lines, all JSON objects, {len(requests)} request lines")
PY
echo "live checks passed"
