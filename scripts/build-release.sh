#!/usr/bin/env bash
# The release build the Docker image relies on: static Swift stdlib, both executables, and the
# gateway's resource bundle (the OpenAPI companion) beside them. The Dockerfile's build stage runs
# this script, and CI builds that image on every change (docker/check.sh).
#
#   scripts/build-release.sh [staging-dir]     (default: .build/staging)
set -euo pipefail
cd "$(dirname "$0")/.."
staging="${1:-.build/staging}"

swift build -c release --static-swift-stdlib --product mode-gateway
swift build -c release --static-swift-stdlib --product mode-simulator
bin="$(swift build -c release --show-bin-path)"

rm -rf "$staging"
mkdir -p "$staging"
cp "$bin/mode-gateway" "$bin/mode-simulator" "$staging/"
# Symbols stay in .build for profiling; the shipped copies do without them.
strip "$staging/mode-gateway" "$staging/mode-simulator"
cp -R "$bin"/*.resources "$staging/"
echo "release build staged in $staging:"
ls -la "$staging"
