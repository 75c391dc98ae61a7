#!/usr/bin/env bash
# Measures `trove copy` in one run:
#
# 1. A file store to SeaweedFS's S3 gateway, beside `aws s3 cp --recursive` and `rclone copy` of
#    a plain directory holding the same keys and bytes, on the same server: KEYS values of BYTES
#    (100,000 × 1 KiB) and LARGE_KEYS values of LARGE_BYTES (1,000 × 1 MiB). Each run goes into
#    a bucket of its own, is checked (`rclone size`: every key there, every byte), and its
#    bucket is deleted before the next run.
# 2. The KEYS small values from the file store into SQLite, and from that SQLite file into
#    Redis, beside each destination's own batched write rate (writeBatch of the same entries in
#    key order, in batches of 100, one after the other) measured in the same run. Each copy is
#    checked with `trove check` against its source.
#
#     bash Benchmarks/copy-bench.sh
#
# It builds `trove` and CopyBenchData in release mode inside Benchmarks/, starts SeaweedFS
# (scripts/servers/s3.sh: 127.0.0.1, SigV4 enforced) and one redis-server on a free port,
# installs rclone from Debian when it is missing, and stops the servers and removes its files
# however it ends. Wall time, peak RSS and processor time of every run come from
# /usr/bin/time; the server's processor time over the run (SeaweedFS's or Redis's) from
# /proc, and the load average at its end beside it.
#
# Environment:
#   TROVE_BENCH_COPY_KEYS, TROVE_BENCH_COPY_BYTES              small values (100000, 1024)
#   TROVE_BENCH_COPY_LARGE_KEYS, TROVE_BENCH_COPY_LARGE_BYTES  large values (1000, 1048576)
#   TROVE_BENCH_COPY_TRANSFERS   the --transfers values trove runs with ("8 32")
#   TROVE_BENCH_COPY_RCLONE_TRANSFERS   rclone's --transfers: "default" is its own 4 ("default 32")
#   TROVE_BENCH_COPY_AWS_REQUESTS   aws-cli's s3.max_concurrent_requests: "default" is its 10 ("default")
#   TROVE_BENCH_COPY_PHASES      which parts run: s3, local or both ("s3 local")
#   TROVE_BENCH_COPY_DIR         where the data is made (/dev/shm when it exists, else the
#                                temporary directory); SeaweedFS and Redis keep theirs under
#                                the temporary directory
#   TROVE_AWS                    the aws command (aws on the PATH)
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$here/.." && pwd)"
keys=${TROVE_BENCH_COPY_KEYS:-100000}
bytes=${TROVE_BENCH_COPY_BYTES:-1024}
large_keys=${TROVE_BENCH_COPY_LARGE_KEYS:-1000}
large_bytes=${TROVE_BENCH_COPY_LARGE_BYTES:-1048576}
read -r -a transfers <<<"${TROVE_BENCH_COPY_TRANSFERS:-8 32}"
read -r -a rclone_transfers <<<"${TROVE_BENCH_COPY_RCLONE_TRANSFERS:-default 32}"
read -r -a aws_requests <<<"${TROVE_BENCH_COPY_AWS_REQUESTS:-default}"
phases=" ${TROVE_BENCH_COPY_PHASES:-s3 local} "
aws=${TROVE_AWS:-aws}
if [[ -z "${TROVE_BENCH_COPY_DIR:-}" ]]; then
    if [[ -d /dev/shm ]]; then TROVE_BENCH_COPY_DIR=/dev/shm; else TROVE_BENCH_COPY_DIR=${TMPDIR:-/tmp}; fi
fi
cd "$root"

source "$root/scripts/lib/servers.sh"
trap trove_run_exit_commands EXIT
trap 'exit 130' INT TERM

if [[ ! -x /usr/bin/time ]]; then
    echo "error: copy-bench.sh measures every run with /usr/bin/time (Debian's package time), which is missing" >&2
    exit 1
fi
if [[ "$phases" == *" s3 "* ]] && ! command -v "$aws" >/dev/null; then
    echo "error: aws-cli ('$aws') is not on the PATH; install it or name it in TROVE_AWS" >&2
    exit 1
fi

started=$(date +%s)
echo "== building trove and CopyBenchData (release)" >&2
(cd "$here" && swift build -c release --product trove >&2 && swift build -c release --product CopyBenchData >&2)
bin="$(cd "$here" && swift build -c release --show-bin-path)"
trove="$bin/trove"
data="$bin/CopyBenchData"

work=$(mktemp -d "$TROVE_BENCH_COPY_DIR/trove-copy-bench.XXXXXX")
trove_on_exit "rm -rf '$work'"
results="$work/results"
: >"$results"

# The processor seconds (user + system) the server process $server_pid has used so far.
server_cpu() {
    awk -v tick="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / tick}' "/proc/$server_pid/stat"
}

# Runs COMMAND under /usr/bin/time, and appends "GROUP TOOL SETTING SECONDS PEAK_KIB CPU
# SERVER_CPU LOAD" to the results: wall seconds, peak RSS, the command's processor seconds
# (user + system), the server's over the same time, and the machine's load average (1 minute)
# at the end. The command's standard output goes to $work/out.
timed() {
    local group=$1 tool=$2 setting=$3
    shift 3
    echo "== $group: $tool ($setting)" >&2
    local before
    before=$(server_cpu)
    if ! /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" >"$work/out" 2>"$work/err"; then
        cat "$work/err" >&2
        echo "error: $tool ($setting) failed" >&2
        exit 1
    fi
    local seconds peak user system cpu server
    read -r seconds peak user system <"$work/time"
    cpu=$(python3 -c "print(f'{$user + $system:.2f}')")
    server=$(python3 -c "print(f'{$(server_cpu) - $before:.2f}')")
    echo "$group $tool $setting $seconds $peak $cpu $server $(cut -d' ' -f1 /proc/loadavg)" >>"$results"
    echo "   $seconds s, peak RSS $((peak / 1024)) MiB, CPU $cpu s, server CPU $server s, load $(cut -d' ' -f1 /proc/loadavg)" >&2
}

# --- 1. file store (and plain files) to S3 -------------------------------------------------

populate() {   # NAME COUNT BYTES: $work/NAME-plain and $work/NAME-store
    echo "== writing $2 × $3 B as plain files and into a file store" >&2
    "$data" populate "$work/$1-plain" "$work/$1-store" "$2" "$3" >&2
}

if [[ "$phases" == *" s3 "* ]]; then
    trove_apt_install rclone rclone
    source "$root/scripts/servers/s3.sh"
    trove_servers_dir
    echo "== starting SeaweedFS" >&2
    start_s3_servers >&2
    server_pid=$TROVE_TEST_S3_PID
    endpoint=$TROVE_TEST_S3_ENDPOINT
    export AWS_ACCESS_KEY_ID=$TROVE_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TROVE_TEST_S3_SECRET_KEY
    export AWS_DEFAULT_REGION=$TROVE_TEST_S3_REGION AWS_REGION=$TROVE_TEST_S3_REGION
    # aws-cli with its defaults, whatever ~/.aws holds; a setting of its own where asked.
    : >"$work/aws-config"
    export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-config"
    # rclone's remote "bench", from the environment only.
    export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=$endpoint
    export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
    export RCLONE_CONFIG_BENCH_REGION=$AWS_DEFAULT_REGION RCLONE_CONFIG=/dev/null
    # rclone's AWS SDK refuses AWS_CA_BUNDLE with its own HTTP transport ("unable to load custom
    # CA bundle"), even for an http endpoint: it runs without it.
    rclone=(env -u AWS_CA_BUNDLE rclone)

    populate small "$keys" "$bytes"
    populate large "$large_keys" "$large_bytes"

    bucket_stem="copy-bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    buckets=0
    # Makes a fresh, empty bucket, named in $bucket, deleted on exit if a run fails.
    fresh_bucket() {
        buckets=$((buckets + 1))
        bucket="$bucket_stem-$buckets"
        "${rclone[@]}" mkdir "bench:$bucket"
        trove_on_exit "env -u AWS_CA_BUNDLE rclone purge 'bench:$bucket' 2>/dev/null"
    }
    # Checks that the bucket's prefix copy/ holds COUNT objects of COUNT × SIZE bytes in all,
    # then deletes the bucket (SeaweedFS deletes a bucket with its objects).
    check_and_drop() {
        local count=$1 size=$2 found
        found=$("${rclone[@]}" size "bench:$bucket/copy" --json)
        if ! python3 -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(0 if (s["count"], s["bytes"]) == (int(sys.argv[2]), int(sys.argv[2]) * int(sys.argv[3])) else 1)' \
            "$found" "$count" "$size"; then
            echo "error: s3://$bucket/copy/ holds $found, not $count objects of $size bytes" >&2
            exit 1
        fi
        echo "   checked: $found" >&2
        "${rclone[@]}" rmdir "bench:$bucket"
    }

    for set in small large; do
        if [[ $set == small ]]; then count=$keys size=$bytes; else count=$large_keys size=$large_bytes; fi
        group="s3-$set"
        for requests in "${aws_requests[@]}"; do
            if [[ $requests == default ]]; then : >"$work/aws-config"; else
                printf '[default]\ns3 =\n  max_concurrent_requests = %s\n' "$requests" >"$work/aws-config"
            fi
            fresh_bucket
            timed "$group" awscli "$requests" "$aws" s3 cp --recursive --endpoint-url "$endpoint" "$work/$set-plain" "s3://$bucket/copy"
            check_and_drop "$count" "$size"
        done
        : >"$work/aws-config"
        for parallel in "${rclone_transfers[@]}"; do
            flags=()
            [[ $parallel == default ]] || flags=(--transfers "$parallel")
            fresh_bucket
            timed "$group" rclone "$parallel" "${rclone[@]}" copy "${flags[@]}" "$work/$set-plain" "bench:$bucket/copy"
            check_and_drop "$count" "$size"
        done
        for parallel in "${transfers[@]}"; do
            fresh_bucket
            timed "$group" trove "$parallel" "$trove" copy "file:$work/$set-store" "s3://$bucket/copy?endpoint=$endpoint" --transfers "$parallel"
            check_and_drop "$count" "$size"
        done
        echo "s3-$set-size $count $size" >>"$results"
    done
    rm -rf "$work/large-plain" "$work/large-store"
    aws_version=$("$aws" --version 2>&1 | awk '{print $1}')
    echo "versions awscli=${aws_version#aws-cli/} rclone=$(rclone version | awk 'NR == 1 {print $2}') seaweedfs=$("$TROVE_WEED" version 2>/dev/null | awk '{print $3}')" >>"$results"
fi

# --- 2. file store to SQLite, SQLite to Redis --------------------------------------------------

if [[ "$phases" == *" local "* ]]; then
    [[ -d "$work/small-store" ]] || populate small "$keys" "$bytes"
    trove_apt_install redis-server redis-server
    trove_apt_install redis-cli redis-tools
    trove_servers_dir
    port=$(trove_free_port)
    mkdir -p "$TROVE_SERVERS_DIR/redis"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$TROVE_SERVERS_DIR/redis" --save "" --appendonly no \
        --daemonize no --logfile "$TROVE_SERVERS_DIR/redis/redis.log" &
    server_pid=$!
    trove_on_exit "trove_stop_pid $server_pid"
    trove_wait_for_port "$port" 30 "redis-server"
    redis="redis://127.0.0.1:$port/0"
    flush_redis() { redis-cli -p "$port" flushall >/dev/null; }

    # Each destination's own batched write rate: the same entries in key order, 100 per
    # writeBatch, one batch at a time (the target's yardstick), and 8 batches at once for scale.
    for concurrency in 1 8; do
        timed write-rate sqlite "$concurrency" "$data" write-rate "sqlite:$work/rate-$concurrency.db" "$keys" "$bytes" 100 "$concurrency"
        echo "rate sqlite $concurrency $(python3 -c 'import json, sys; print(json.load(sys.stdin)["keys_per_second"])' <"$work/out")" >>"$results"
        rm -f "$work/rate-$concurrency.db"*
        timed write-rate redis "$concurrency" "$data" write-rate "$redis?prefix=rate:" "$keys" "$bytes" 100 "$concurrency"
        echo "rate redis $concurrency $(python3 -c 'import json, sys; print(json.load(sys.stdin)["keys_per_second"])' <"$work/out")" >>"$results"
        flush_redis
    done

    for parallel in "${transfers[@]}"; do
        database="$work/copy-$parallel.db"
        timed local file-to-sqlite "$parallel" "$trove" copy "file:$work/small-store" "sqlite:$database" --transfers "$parallel" --json
        echo "inside file-to-sqlite $parallel $(python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])' <"$work/out")" >>"$results"
        "$trove" check "file:$work/small-store" "sqlite:$database" >&2
        timed local sqlite-to-redis "$parallel" "$trove" copy "sqlite:$database" "$redis?prefix=copy:" --transfers "$parallel" --json
        echo "inside sqlite-to-redis $parallel $(python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])' <"$work/out")" >>"$results"
        "$trove" check "sqlite:$database" "$redis?prefix=copy:" >&2
        flush_redis
        rm -f "$database"*
    done
    echo "local-size $keys $bytes" >>"$results"
    echo "versions-local redis=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') sqlite=$(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)')" >>"$results"
fi

echo "wall $(( $(date +%s) - started ))" >>"$results"
cp "$results" "${TMPDIR:-/tmp}/copy-bench-results.txt"
echo "== raw results (also in ${TMPDIR:-/tmp}/copy-bench-results.txt)" >&2
cat "$results" >&2

python3 - "$results" <<'PY'
import sys
rows, rates, inside, sizes, notes = [], {}, {}, {}, []
for line in open(sys.argv[1]):
    fields = line.split()
    if fields[0] in ("versions", "versions-local", "wall"):
        notes.append(line.strip())
    elif fields[0].endswith("-size"):
        sizes[fields[0][:-5]] = (int(fields[1]), int(fields[2]))
    elif fields[0] == "rate":
        rates[(fields[1], fields[2])] = float(fields[3])
    elif fields[0] == "inside":
        inside[(fields[1], fields[2])] = float(fields[3])
    else:
        group, tool, setting, seconds, peak, cpu, server, load = fields
        rows.append((group, tool, setting, float(seconds), int(peak), float(cpu), float(server), float(load)))

def show(size):
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB" if size >= 1 << 10 else f"{size} B"

for group in ("s3-small", "s3-large"):
    if group not in sizes:
        continue
    count, size = sizes[group]
    mine = [r for r in rows if r[0] == group]
    best = lambda tool: max((count / r[3] for r in mine if r[1] == tool), default=None)
    aws, rclone = best("awscli"), best("rclone")
    print(f"\nfile store / plain files to SeaweedFS S3, {count:,} × {show(size)}\n")
    print("| tool | parallel | seconds | files/s | MiB/s | peak RSS (MiB) | CPU s: tool, server | load | ÷ awscli (best) | ÷ rclone (best) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for _, tool, setting, seconds, peak, cpu, server, load in mine:
        rate = count / seconds
        label = {"awscli": "max_concurrent_requests", "rclone": "--transfers", "trove": "--transfers"}[tool]
        setting = {"awscli": "10 (default)", "rclone": "4 (default)"}.get(tool, setting) if setting == "default" else setting
        print(f"| {tool} | {label} {setting} | {seconds:.1f} | {rate:,.0f} | {rate * size / 2**20:,.1f} | {peak / 1024:,.0f} | {cpu:.0f}, {server:.0f} | {load:.1f} "
              f"| {rate / aws:.2f} | {rate / rclone:.2f} |")
if "local" in sizes:
    count, size = sizes["local"]
    print(f"\ntrove copy between local stores and Redis, {count:,} × {show(size)}\n")
    print("| what | --transfers / batches at once | seconds | keys/s | peak RSS (MiB) | CPU s: process, Redis | load | ÷ slower store's batched write rate |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    # Write rates: the loop alone, timed inside the process. Copies: the whole process, and in
    # brackets the copy as trove's own summary times it (opening the stores included).
    slower = min(rates.get(("sqlite", "1"), float("inf")), rates.get(("redis", "1"), float("inf")))
    for group, tool, setting, seconds, peak, cpu, server, load in rows:
        if group == "write-rate":
            print(f"| writeBatch of 100 into {tool} | {setting} | {count / rates[(tool, setting)]:.2f} | {rates[(tool, setting)]:,.0f} "
                  f"| {peak / 1024:,.0f} | {cpu:.1f}, {server:.1f} | {load:.1f} | |")
    for group, tool, setting, seconds, peak, cpu, server, load in rows:
        if group == "local":
            rate, own = count / seconds, count / inside[(tool, setting)]
            print(f"| copy {tool} | {setting} | {seconds:.2f} ({inside[(tool, setting)]:.2f}) | {rate:,.0f} ({own:,.0f}) "
                  f"| {peak / 1024:,.0f} | {cpu:.1f}, {server:.1f} | {load:.1f} | {rate / slower:.2f} ({own / slower:.2f}) |")
print()
for note in notes:
    print(note)
PY
