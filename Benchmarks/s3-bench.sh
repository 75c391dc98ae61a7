#!/usr/bin/env bash
# Measures S3Store beside boto3 on one SeaweedFS server in one run: S3Bench (Trove) and
# s3_boto3.py (boto3) run the same phases, alternating, ROUNDS times each, and the medians
# are printed side by side with their ratio.
#
#     bash Benchmarks/s3-bench.sh
#
# Without TROVE_BENCH_S3_ENDPOINT it starts SeaweedFS the way the tests do
# (scripts/servers/s3.sh: 127.0.0.1 only, SigV4 enforced) and stops it at the end. Phases:
# 2,000 × 100 B sequential PUT and GET (and the client's CPU per request), the same 16 at once,
# 200 × 100 KiB 16 at once, and one value of TROVE_BENCH_S3_MIB (256) MiB uploaded through
# multipart and downloaded, each large run in a process of its own for its peak RSS.
#
# Environment:
#   TROVE_BENCH_S3_ENDPOINT, TROVE_BENCH_S3_ACCESS_KEY, TROVE_BENCH_S3_SECRET_KEY   a server
#   TROVE_BENCH_ROUNDS   rounds of each side (3)
#   TROVE_BENCH_S3_MIB   size of the large value (256)
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$here/.." && pwd)"
rounds=${TROVE_BENCH_ROUNDS:-3}
mib=${TROVE_BENCH_S3_MIB:-256}
cd "$root"

source "$root/scripts/lib/servers.sh"
trap trove_run_exit_commands EXIT
trap 'exit 130' INT TERM

if [[ -z "${TROVE_BENCH_S3_ENDPOINT:-}" ]]; then
    source "$root/scripts/servers/s3.sh"
    trove_servers_dir
    echo "== starting SeaweedFS" >&2
    start_s3_servers >&2
    export TROVE_BENCH_S3_ENDPOINT="$TROVE_TEST_S3_ENDPOINT" TROVE_BENCH_S3_ACCESS_KEY="$TROVE_TEST_S3_ACCESS_KEY"
    export TROVE_BENCH_S3_SECRET_KEY="$TROVE_TEST_S3_SECRET_KEY"
fi

venv="$here/.venv-s3"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "== making $venv with boto3" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "boto3==1.44.8" >&2
fi
python="$venv/bin/python"

echo "== building S3Bench (release)" >&2
(cd "$here" && swift build -c release --product S3Bench >&2)
bench="$(cd "$here" && swift build -c release --show-bin-path)/S3Bench"

bucket="trove-bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
"$python" "$here/s3_boto3.py" create-bucket "$bucket"
trove_on_exit "\"$python\" \"$here/s3_boto3.py\" delete-bucket $bucket"

results="$(mktemp)"
trove_on_exit "rm -f \"$results\""
for round in $(seq "$rounds"); do
    echo "== round $round of $rounds" >&2
    "$bench" small "$bucket" | sed 's/^/trove /' >>"$results"
    "$python" "$here/s3_boto3.py" small "$bucket" | sed 's/^/boto3 /' >>"$results"
    "$bench" large "$bucket" "$mib" | sed 's/^/trove /' >>"$results"
    "$python" "$here/s3_boto3.py" large "$bucket" "$mib" | sed 's/^/boto3 /' >>"$results"
done

python3 - "$results" "$rounds" <<'PY'
import json, statistics, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    side, record = line.split(" ", 1)
    record = json.loads(record)
    name = record.pop("phase")
    if name not in order:
        order.append(name)
    for field, value in record.items():
        rows.setdefault((name, field), {}).setdefault(side, []).append(value)
print(f"S3Store beside boto3 on one SeaweedFS, medians of {sys.argv[2]} alternating rounds")
print()
print("| phase | measure | boto3 | Trove | Trove/boto3 |")
print("| --- | --- | ---: | ---: | ---: |")
for name in order:
    for (phase, field), sides in rows.items():
        if phase != name:
            continue
        b, t = statistics.median(sides["boto3"]), statistics.median(sides["trove"])
        measure = {"per_second": "MiB/s" if "MiB" in name else "ops/s", "mib": "MiB"}.get(field, field.replace("cpu_us_per_", "CPU µs per "))
        print(f"| {name} | {measure} | {b:,.0f} | {t:,.0f} | {t / b:.2f} |")
PY
