#!/usr/bin/env bash
# Builds the image from docker/Dockerfile with a real engine (podman), runs it, and checks it as
# an operator would use it. No registry is reachable here, so the bases are made locally with
# debootstrap (bookworm) and given to the Dockerfile's BUILD_IMAGE and RUNTIME_IMAGE arguments;
# the Swift toolchain and the package mirror are mounted into the build step, not copied.
#
#   docker/check.sh [STAGING_DIR]
#
# With STAGING_DIR, the image's /app (both binaries and the resources) is copied out there, so
# that the live checks run on the very binaries the image ships.
#
# Needs root, podman, runc, debootstrap, curl and python3. Bases are reused between runs from
# $CHECK_WORK (default /var/tmp/mgw-container-check) and podman's store.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
staging="${1:-}"
work="${CHECK_WORK:-/var/tmp/mgw-container-check}"
tag=localhost/mode-gateway:check
build_base=localhost/mgw-build-base:bookworm
runtime_base=localhost/mgw-runtime-base:bookworm
sim_port="${CHECK_SIMULATOR_PORT:-19290}"
gw_port="${CHECK_GATEWAY_PORT:-18290}"
mkdir -p "$work"

step() { printf '== %s (%ss)\n' "$1" "$((SECONDS - started))"; }
fail() { echo "container check failed: $*" >&2; exit 1; }

# crun refuses this machine's cgroups, and setrlimit is refused: runc, and no default ulimits.
conf=/etc/containers/containers.conf
if ! grep -q 'runtime = "runc"' "$conf" 2>/dev/null; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$conf"
fi

# The toolchain's install folder (two levels above `swift`'s bin) and the package mirror git
# rewrites github.com to.
swift_bin="$(readlink -f "$(command -v swift)")"
toolchain="$(dirname "$(dirname "$(dirname "$swift_bin")")")"
case "$toolchain" in
    / | /usr) fail "swift is installed in the system's own /usr ($swift_bin); the build needs a toolchain in a folder of its own to mount" ;;
esac
mirror="$( (git config --get-regexp 'url\..*\.insteadof' || true) | sed -nE 's/^url\.(.*)\.insteadof https:\/\/github\.com\/$/\1/p' | head -n 1)"
[ -n "$mirror" ] || fail "no package mirror: git has no insteadOf rewrite for https://github.com/"

step "base images"
if ! podman image exists "$runtime_base"; then
    rm -rf "$work/runtime"
    debootstrap --variant=minbase --include=ca-certificates,tzdata bookworm "$work/runtime" >"$work/debootstrap-runtime.log"
    rm -rf "$work/runtime"/usr/share/doc/* "$work/runtime"/usr/share/man/* "$work/runtime"/var/cache/apt/*.bin
    tar -C "$work/runtime" -c . | podman import - "$runtime_base" >/dev/null
fi
if ! podman image exists "$build_base"; then
    rm -rf "$work/build"
    # What the toolchain links against, and what the build runs (git for the mirror, binutils).
    debootstrap --variant=minbase \
        --include=ca-certificates,git,binutils,libc6-dev,libgcc-12-dev,libstdc++-12-dev,zlib1g-dev,libcurl4,libxml2,libsqlite3-0,libncurses6,libffi8,libicu72,libedit2,libz3-4,pkg-config \
        bookworm "$work/build" >"$work/debootstrap-build.log"
    printf '[url "%s"]\n\tinsteadOf = https://github.com/\n' "$mirror" >"$work/build/etc/gitconfig"
    tar -C "$work/build" -c . | podman import \
        --change "ENV PATH=$toolchain/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" - "$build_base" >/dev/null
fi

step "podman build"
if [ "${CHECK_REUSE_IMAGE:-}" = 1 ] && podman image exists "$tag"; then
    echo "reusing $tag (CHECK_REUSE_IMAGE=1, for iterating on this script)"
else
podman build --network=host --format docker \
    -v "$toolchain:$toolchain:ro" -v "$mirror:$mirror:ro" \
    --build-arg BUILD_IMAGE="$build_base" --build-arg RUNTIME_IMAGE="$runtime_base" \
    -f docker/Dockerfile -t "$tag" . >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "the image did not build"; }
fi
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image $tag: $((size / 1000000)) MB"

if [ -n "$staging" ]; then
    podman rm -f mgw-extract >/dev/null 2>&1 || true
    podman create --name mgw-extract "$tag" >/dev/null
    rm -rf "$staging"
    mkdir -p "$(dirname "$staging")"
    podman cp mgw-extract:/app "$staging"
    podman rm mgw-extract >/dev/null
    echo "the image's /app copied to $staging"
fi

cleanup() { podman rm -f mgw-check-sim mgw-check-gw >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

step "secrets as files, and a client key"
secrets="$work/secrets"
rm -rf "$secrets"
mkdir -p "$secrets"
token="tok-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
secret="sec-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf %s "$token" >"$secrets/mode_api_token"
printf %s "$secret" >"$secrets/mode_api_secret"
keygen="$(podman run --rm --network=host "$tag" hash-key --scope write --name container-check)"
key="$(printf '%s\n' "$keygen" | sed -n 's/^key (give it to the client; it is not stored): //p')"
printf '%s\n' "$keygen" | tail -n 1 >"$secrets/keys"
[ -n "$key" ] || fail "hash-key printed no key"
chmod 755 "$secrets"
chmod 644 "$secrets"/*

step "run the simulator and the gateway containers (host network)"
podman run -d --name mgw-check-sim --network=host --entrypoint /app/mode-simulator \
    -e SIMULATOR_PORT="$sim_port" -e SIMULATOR_TOKEN="$token" -e SIMULATOR_SECRET="$secret" -e SIMULATOR_RATE_LIMIT=off \
    -e SIMULATOR_RUN_SECONDS=1 "$tag" >/dev/null
podman run -d --name mgw-check-gw --network=host -v "$secrets:/run/secrets:ro" \
    -e HTTP_PORT="$gw_port" -e MODE_WORKSPACE=demo -e MODE_API_URL="http://127.0.0.1:$sim_port/api" \
    -e MODE_API_TOKEN_FILE=/run/secrets/mode_api_token -e MODE_API_SECRET_FILE=/run/secrets/mode_api_secret \
    -e GATEWAY_API_KEYS_FILE=/run/secrets/keys -e SHUTDOWN_GRACE_SECONDS=10 "$tag" >/dev/null
base="http://127.0.0.1:$gw_port"
for _ in $(seq 1 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { podman logs mgw-check-gw | tail -n 20; fail "the gateway container did not come up"; }
# The gateway's health says nothing of the simulator's container, which may start after it: any
# answer from the simulator (401 without credentials) means it listens.
for _ in $(seq 1 100); do
    curl -sS -o /dev/null "http://127.0.0.1:$sim_port/api/demo/datasets/ds0001" 2>/dev/null && break
    sleep 0.1
done
curl -sS -o /dev/null "http://127.0.0.1:$sim_port/api/demo/datasets/ds0001" || { podman logs mgw-check-sim | tail -n 20; fail "the simulator container did not come up"; }

step "the README's calls through the containers"
auth=(-H "Authorization: Bearer $key")
check() {  # check STATUS METHOD PATH [curl args…]
    local want="$1" method="$2" path="$3"
    shift 3
    local got
    got="$(curl -sS -o "$work/answer" -w '%{http_code}' -X "$method" "$@" "$base$path")"
    [ "$got" = "$want" ] || { cat "$work/answer"; fail "$method $path answered $got, not $want"; }
    echo "  $method $path → $got"
}
check 401 GET /datasets/ds0001
check 200 GET /datasets/ds0001 "${auth[@]}"
grep -q '"token":"ds0001"' "$work/answer" || fail "the dataset is not in the answer"
check 200 GET '/spaces/sp-finance/datasets?order=desc&order_by=updated_at' "${auth[@]}"
grep -q '"items":\[' "$work/answer" || fail "the list has no items"
check 200 PATCH /datasets/ds0001 "${auth[@]}" -H 'Content-Type: application/json' -d '{"name": "Renamed in the container check"}'
check 200 GET /datasets/ds0001 "${auth[@]}"
grep -q 'Renamed in the container check' "$work/answer" || fail "the PATCH is not visible to the next read"
check 200 GET '/datasets/ds0001/results?format=csv' "${auth[@]}"
head -c 9 "$work/answer" | grep -q '^id,day' || fail "the CSV rows are not Mode's CSV"
check 200 POST '/reports/rp-sales/runs?wait=20' "${auth[@]}" -H 'Idempotency-Key: container-check' -d '{"parameters": {"rows": 2}}'

step "HEALTHCHECK, user, logs"
podman healthcheck run mgw-check-gw >/dev/null 2>&1 || podman exec mgw-check-gw /app/mode-gateway healthcheck \
    || fail "the image's HEALTHCHECK command fails"
health="$(podman image inspect --format '{{json .Config.Healthcheck}}' "$tag")"
printf %s "$health" | grep -q 'mode-gateway' || fail "the image has no HEALTHCHECK running mode-gateway: $health"
user="$(podman image inspect --format '{{.Config.User}}' "$tag")"
uid="$(podman exec mgw-check-gw sh -c 'id -u')"
[ "$user" = 10001 ] && [ "$uid" = 10001 ] || fail "the process runs as $uid (image user '$user'), not 10001"
echo "  non-root: uid $uid"
podman logs mgw-check-gw >"$work/gateway.log" 2>&1
python3 - "$work/gateway.log" <<'PY'
import json, sys
lines = [line for line in open(sys.argv[1]).read().splitlines() if line.strip()]
bad = [line for line in lines if not isinstance(json.loads(line), dict)]
if bad or not any(json.loads(line).get("message") == "mode-gateway listening" for line in lines):
    sys.exit(f"log lines are not all JSON objects, or no start line: {bad[:3]}")
print(f"  {len(lines)} log lines, all JSON objects")
PY

step "SIGTERM (podman stop) exits 0 within the grace period"
stop_started=$SECONDS
podman stop -t 20 mgw-check-gw >/dev/null
took=$((SECONDS - stop_started))
code="$(podman inspect --format '{{.State.ExitCode}}' mgw-check-gw)"
[ "$code" = 0 ] || fail "the gateway exited $code after SIGTERM"
[ "$took" -le 12 ] || fail "stopping took ${took}s, past the 10 s grace"
podman logs mgw-check-gw 2>&1 | grep -q '"mode-gateway stopped"' || fail "no stop line in the logs"
echo "  exit 0 after ${took}s"

step "no secret in the image, its history, its environment or the logs"
podman history --no-trunc --format '{{.CreatedBy}}' "$tag" >"$work/history"
podman image inspect --format '{{json .Config.Env}}' "$tag" >"$work/env"
podman logs mgw-check-gw >"$work/gateway.log" 2>&1
for text in "$token" "$secret" "$key"; do
    ! grep -qF "$text" "$work/history" "$work/env" "$work/gateway.log" || fail "a secret is in the image or the logs"
done
! grep -qiE '(TOKEN|SECRET|PASSWORD|KEY)[A-Z_]*=' "$work/history" "$work/env" || fail "the image sets a credential variable"
echo "  env: $(cat "$work/env")"

step "compose: the file validates, and its local stack answers through the compose network"
command -v podman-compose >/dev/null || fail "podman-compose is not installed (pip install podman-compose)"
# The mode profile's MODE_WORKSPACE is required even when that profile is not started.
export MODE_WORKSPACE=compose-check
podman-compose -f docker/compose.yaml --profile mode --profile scaled config >"$work/compose.txt" 2>&1 \
    || { cat "$work/compose.txt"; fail "docker/compose.yaml does not validate"; }
echo "  docker/compose.yaml validates"
compose_down() { podman-compose -f docker/compose.yaml down >>"$work/compose.log" 2>&1 || true; }
trap 'cleanup; compose_down' EXIT
podman tag "$tag" mode-gateway:local
podman-compose -f docker/compose.yaml up -d --no-build >"$work/compose.log" 2>&1 || { tail -n 20 "$work/compose.log"; fail "compose up failed"; }
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:8080/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
# The gateway reaches the simulator by its service name (MODE_API_URL=http://simulator:9090/api).
check_compose="$(curl -sS -o "$work/answer" -w '%{http_code}' http://127.0.0.1:8080/datasets/ds0001)"
[ "$check_compose" = 200 ] && grep -q '"token":"ds0001"' "$work/answer" || fail "the compose stack answered $check_compose"
echo "  compose stack: GET /datasets/ds0001 → 200 (gateway → simulator by service name)"
compose_down

step "compose, scaled profile: three replicas share Redis behind nginx"
# No registry here: Redis and nginx come from Debian's packages, on the runtime base.
tools=localhost/mgw-tools:bookworm
if ! podman image exists "$tools"; then
    podman build --network=host -t "$tools" -f - . >"$work/tools.log" 2>&1 <<CONTAINERFILE || { tail -n 20 "$work/tools.log"; fail "the redis/nginx image did not build"; }
FROM $runtime_base
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server nginx >/dev/null \
    && rm -rf /var/lib/apt/lists/*
CONTAINERFILE
fi
export REDIS_IMAGE="$tools" NGINX_IMAGE="$tools"
scaled=(podman-compose -f docker/compose.yaml --profile scaled)
scaled_down() { "${scaled[@]}" down >>"$work/compose.log" 2>&1 || true; }
trap 'cleanup; scaled_down' EXIT
scaled_down  # containers left by an earlier, interrupted run would otherwise be reused
"${scaled[@]}" up -d --no-build simulator redis gateway-1 gateway-2 gateway-3 balancer >"$work/compose.log" 2>&1 \
    || { tail -n 20 "$work/compose.log"; fail "compose --profile scaled up failed"; }
# On failure, what each container said: the gateway's problem detail alone rarely tells why.
scaled_fail() {
    cat "$work/answer" 2>/dev/null; echo
    podman ps -a --format '{{.Names}} {{.Status}}' 2>&1
    for name in $(podman ps -a --format '{{.Names}}' | grep -E 'redis|gateway-|balancer|simulator'); do
        echo "-- $name"; podman logs --tail 15 "$name" 2>&1
    done
    fail "$*"
}
# Ready means every replica is: six answers in a row through the round robin, each 200.
ready=0
for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/readyz)" = 200 ]; then
        ready=$((ready + 1)); [ "$ready" -ge 6 ] && break
    else
        ready=0; sleep 0.2
    fi
done
[ "$ready" -ge 6 ] || scaled_fail "the scaled stack did not become ready"
# The replicas are ready before the simulator need be (a replica's readiness is its own and
# Redis's): wait until a read goes all the way to the simulator, which podman may start last.
for _ in $(seq 1 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/datasets/ds0002)" = 200 ] && break
    sleep 0.2
done
# Every round goes through nginx's round robin: a write through one replica, then reads
# through the next ones, which must show it.
for round in 1 2 3 4 5 6; do
    code="$(curl -sS -o "$work/answer" -w '%{http_code}' -X PATCH http://127.0.0.1:8088/datasets/ds0001 \
        -H 'Content-Type: application/json' -d "{\"name\":\"scaled $round\"}" || true)"
    [ "$code" = 200 ] || scaled_fail "PATCH through the scaled stack answered $code"
    for _ in 1 2 3; do
        code="$(curl -sS -o "$work/answer" -w '%{http_code}' http://127.0.0.1:8088/datasets/ds0001 || true)"
        [ "$code" = 200 ] || scaled_fail "a read through the scaled stack answered $code"
        grep -q "\"name\":\"scaled $round\"" "$work/answer" || scaled_fail "a replica served a name from before the write"
    done
done
redis_ready="$(curl -sS http://127.0.0.1:8088/readyz)"
echo "$redis_ready" | grep -q '"redis":{"connected":true' || fail "a replica is not connected to Redis: $redis_ready"
echo "  scaled stack: 6 writes, each read back through all three replicas behind nginx; Redis connected"
scaled_down

# The build stage's image is left dangling by every build: reclaim its gigabyte and a half.
podman image prune -f >/dev/null 2>&1 || true
step "container check passed: image $((size / 1000000)) MB"
