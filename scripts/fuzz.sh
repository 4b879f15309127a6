#!/usr/bin/env bash
# libFuzzer over the HAL rewriter (checked against Foundation's parser) and the query parser
# (round trips, canonical keys, instants checked against Foundation), for SECONDS each.
# The targets are in Fuzz/ (their own package: they are built with -sanitize=fuzzer,address,
# flags the gateway's build must not see); the properties are GatewayFuzzing's FuzzChecks.
#
# The seeds, and every input a run fails on, are kept in Fuzz/corpus/<target>; `swift test`
# checks them all. A failing input is printed and saved there; commit it with the fix.
#
#   scripts/fuzz.sh [SECONDS]        (default 60 per target; CI runs it briefly)
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-60}"
flags=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
swift build "${flags[@]}" >build.log 2>&1 || { tail -n 30 build.log; echo "fuzz: the targets did not build" >&2; exit 1; }
bin="$(swift build "${flags[@]}" --show-bin-path)"
work="$(mktemp -d)"
# A trap is the finding: print it, without the Swift backtracer racing ASan over the stack.
export SWIFT_BACKTRACE=enable=no
status=0
for target in hal query; do
    product=FuzzHAL; [ "$target" = query ] && product=FuzzQuery
    mkdir -p "$work/$target"
    echo "== $product: ${seconds}s"
    # New inputs go to the work folder; the committed corpus is only read.
    # Leaks are not what this looks for (Foundation's caches would be reported as such).
    if "$bin/$product" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -detect_leaks=0 \
        -dict="dictionaries/$target.dict" -artifact_prefix="$work/$target-" -print_final_stats=1 \
        "$work/$target" "corpus/$target" >"$work/$target.log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' "$work/$target.log" | sed 's/^/  /' || true
        echo "  corpus: $(ls "$work/$target" | wc -l) new inputs, $(ls "corpus/$target" | wc -l) kept"
    else
        status=1
        tail -n 40 "$work/$target.log"
        for artifact in "$work/$target"-*; do
            [ -f "$artifact" ] || continue
            cp "$artifact" "corpus/$target/"
            echo "fuzz: $product failed on $(basename "$artifact"), saved in Fuzz/corpus/$target" >&2
        done
    fi
done
exit $status
