#!/usr/bin/env bash
# The fuzzing area of scripts/reliability: builds the libFuzzer targets of the Fuzz package
# (Fuzz/Package.swift, in its own build folder Fuzz/.build) and runs each for a bounded number of
# executions and seconds, from the seed corpus in Fuzz/Corpus/TARGET with the dictionary in
# Fuzz/Dictionaries/TARGET.dict. Each target checks properties as well as crashes: a broken
# property stops the run as a crash does, and libFuzzer saves the input.
#
#   scripts/lib/reliability/fuzz.sh short|long OUTPUT.json
#
# short (CI): the targets that need only the core module, 200,000 executions or 20 s each.
# long: every target, including those that build swift-crypto, SwiftNIO and AsyncHTTPClient,
#   1 million executions or 10 minutes each.
#
# TROVE_FUZZ_SEED=N fixes libFuzzer's seed (default: 1 in the short mode, so that CI repeats
# the same exploration and fails only on a change of the code; a new one each long run, written
# in the results so a run can be repeated); TROVE_FUZZ_TARGETS="store-key resp" runs only those;
# TROVE_FUZZ_RUNS and TROVE_FUZZ_SECONDS change the bounds of each target.
# New inputs go to a temporary corpus, never into Fuzz/Corpus; crash artifacts go to a
# temporary folder that is kept (and named in the results) when something is found.
#
# It writes OUTPUT.json (see scripts/lib/reliability_report.py) and exits non-zero when a build
# fails or a target finds something.
set -euo pipefail
cd "$(dirname "$0")/../../.."

mode=${1:?usage: fuzz.sh short|long OUTPUT.json}
output=${2:?usage: fuzz.sh short|long OUTPUT.json}
case "$mode" in short|long) ;; *) echo "fuzz.sh: mode must be short or long" >&2; exit 2 ;; esac

# name | product | modes | max_len: one target per line.
targets_table="
store-key|FuzzStoreKey|short long|2100
store-url|FuzzStoreURL|short long|600
file-name|FuzzFileName|short long|2100
file-header|FuzzFileHeader|short long|600
envelopes|FuzzEnvelopes|short long|600
crypto-envelopes|FuzzCryptoEnvelopes|long|600
resp|FuzzRESP|long|1200
s3|FuzzS3|long|2100
"
if [ "$mode" = short ]; then runs=200000; seconds=20; else runs=1000000; seconds=600; fi
runs=${TROVE_FUZZ_RUNS:-$runs}
seconds=${TROVE_FUZZ_SECONDS:-$seconds}
if [ "$mode" = short ]; then seed=1; else seed=$(( (RANDOM << 15 | RANDOM) + 1 )); fi
seed=${TROVE_FUZZ_SEED:-$seed}
command="scripts/reliability fuzz"
if [ "$mode" = long ]; then command="scripts/reliability --long fuzz"; fi

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_seconds=$(date +%s.%N)
work=$(mktemp -d "${TMPDIR:-/tmp}/trove-fuzz.XXXXXX")
keep_work=false
cleanup() { if ! $keep_work; then rm -rf "$work"; fi; }
trap cleanup EXIT
rows="$work/rows.tsv"
: > "$rows"

selected=()
while IFS='|' read -r name product modes max_len; do
    [ -n "$name" ] || continue
    [[ " $modes " == *" $mode "* ]] || continue
    if [ -n "${TROVE_FUZZ_TARGETS:-}" ] && [[ " $TROVE_FUZZ_TARGETS " != *" $name "* ]]; then continue; fi
    selected+=("$name|$product|$max_len")
done <<< "$targets_table"

# Build: one product at a time (only what each needs), in Fuzz/.build. The root package's
# Package.resolved, when there is one, pins the same dependency versions as the main build.
if [ ! -f Fuzz/Package.resolved ] && [ -f Package.resolved ]; then cp Package.resolved Fuzz/Package.resolved; fi
build_failed=false
build_log="$work/build.log"
build_start=$(date +%s)
for entry in "${selected[@]}"; do
    IFS='|' read -r name product max_len <<< "$entry"
    echo "-- fuzz: building $product"
    if ! swift build --package-path Fuzz --sanitize=fuzzer --product "$product" >> "$build_log" 2>&1; then
        echo "fuzz.sh: building $product failed; the end of the log:" >&2
        tail -n 40 "$build_log" >&2
        build_failed=true
        break
    fi
done
build_seconds=$(( $(date +%s) - build_start ))
bin=$(swift build --package-path Fuzz --sanitize=fuzzer --show-bin-path 2>/dev/null || echo Fuzz/.build/debug)

found_any=false
for entry in "${selected[@]}"; do
    IFS='|' read -r name product max_len <<< "$entry"
    if $build_failed; then
        printf '%s\t0\t%s\t0\t0\tnot run: the build failed\n' "$name" "$seed" >> "$rows"
        continue
    fi
    echo "-- fuzz: $name ($runs executions or $seconds s, seed $seed)"
    corpus="$work/corpus/$name"
    artifacts="$work/artifacts/$name"
    scratch="$work/scratch/$name"
    mkdir -p "$corpus" "$artifacts" "$scratch"
    log="$work/$name.log"
    dictionary=()
    [ -f "Fuzz/Dictionaries/$name.dict" ] && dictionary=(-dict="Fuzz/Dictionaries/$name.dict")
    status=0
    SWIFT_BACKTRACE=enable=no TROVE_FUZZ_SCRATCH="$scratch" "$bin/$product" "$corpus" "Fuzz/Corpus/$name" \
        -seed="$seed" -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${dictionary[@]}" > "$log" 2>&1 || status=$?
    # The executions libFuzzer ran, its final coverage and corpus.
    executed=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    [ -n "$executed" ] || executed=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
    [ -n "$executed" ] || executed=0
    coverage=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1 || true)
    elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    found=0
    details="${coverage:-no coverage line}; ${elapsed:-?} s; seeds $(find "Fuzz/Corpus/$name" -type f | wc -l)"
    artifact=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | head -n 1)
    if [ "$status" -ne 0 ] || [ -n "$artifact" ]; then
        found=1
        found_any=true
        keep_work=true
        reason=$(grep -m 1 -E 'property violated|Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|out-of-memory|timeout' "$log" || echo "exit status $status")
        details="FOUND: ${reason}; exit status $status"
        if [ -n "$artifact" ] && [ -f "$artifact" ]; then
            details="$details; input $artifact ($(wc -c < "$artifact") bytes): $(head -c 256 "$artifact" | xxd -p | tr -d '\n')"
        fi
        details="$details; log $log"
        echo "fuzz.sh: $name found something: $reason" >&2
        tail -n 30 "$log" >&2
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$executed" "$seed" "$found" "$status" "$details" >> "$rows"
done

ok=true
if $build_failed || $found_any; then ok=false; fi
seconds_taken=$(python3 -c "import time; print(round(time.time() - $start_seconds, 1))")
python3 - "$rows" "$output" "$mode" "$command" "$started" "$seconds_taken" "$ok" "$build_seconds" "$runs" "$seconds" <<'EOF'
import json, sys
rows_path, output, mode, command, started, seconds, ok, build_seconds, runs, limit = sys.argv[1:]
names = {
    "store-key": "StoreKey validation",
    "store-url": "StoreURL parsing",
    "file-name": "file store: key segments as file names",
    "file-header": "file store: value file header",
    "envelopes": "expiry and cache envelopes",
    "crypto-envelopes": "signed and encrypted envelopes",
    "resp": "RESP2/RESP3 decoder",
    "s3": "S3 XML bodies and dates",
}
rows = []
for line in open(rows_path, encoding="utf-8"):
    name, ran, seed, found, status, details = line.rstrip("\n").split("\t", 5)
    rows.append({"case": f"{name}: {names.get(name, name)}", "ran": int(ran), "unit": "executions",
                 "seed": int(seed), "found": int(found), "ok": found == "0" and int(ran) > 0,
                 "details": details})
ok = ok == "true" and all(row["ok"] for row in rows) and bool(rows)
result = {
    "area": "fuzz",
    "title": "Fuzzing",
    "summary": (
        "libFuzzer targets (Fuzz/, built with --sanitize=fuzzer) feed arbitrary bytes to the parsers that read "
        "untrusted input: key validation, store URLs, the file store's file names and value headers, the expiring "
        "and cache layers' envelopes" + (", the signed and encrypted envelopes, the RESP decoder and the S3 XML "
        "and date parsers" if mode == "long" else "") + ". Each target checks properties against a model of "
        "the documented format (valid input accepted, invalid input refused with the documented error, an accepted "
        "header exactly what encoding writes, round trips, one-to-one file names), not only the absence of crashes; "
        f"a broken property stops the run as a crash does. Each target runs {int(runs):,} executions or {limit} s, "
        f"whichever comes first, from the seed corpus in Fuzz/Corpus (build: {build_seconds} s)."
    ),
    "mode": mode,
    "command": command,
    "started": started,
    "seconds": float(seconds),
    "rows": rows,
    "notes": [
        "Fuzzing finds what its executions reach: a clean run is evidence, not proof; the long mode runs every "
        "target far longer, and a finding becomes a regression test in Tests/.",
        "The targets run in a debug build (for @testable access to internal parsers) without AddressSanitizer: "
        "Swift's own bounds and overflow checks stop the run on memory misuse in Swift code.",
    ] + ([] if mode == "long" else [
        "The short mode leaves out the targets that build swift-crypto, SwiftNIO and AsyncHTTPClient "
        "(signed and encrypted envelopes, RESP, S3); the long mode runs them.",
    ]),
    "ok": ok,
}
with open(output, "w", encoding="utf-8") as file:
    json.dump(result, file, indent=2)
    file.write("\n")
EOF
if $keep_work; then echo "fuzz.sh: artifacts and logs kept in $work" >&2; fi
$ok
