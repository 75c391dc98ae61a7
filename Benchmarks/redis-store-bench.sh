#!/usr/bin/env bash
# Measures RedisStore beside redis-py on one redis-server in one run: W1 (10,000 x 100 B) put,
# get, list and delete one call at a time and in batches (pipelines) of 100, and W2 (1,000 x
# 100 KiB) put and get, for the store's default layout (a hash and an index per key, written
# by a script), its plain layout (plain strings) and redis-py's plain SET, GET, SCAN and DEL.
# The subjects alternate (run 1 of each, then run 2, ...), each in a fresh process; the table
# shows medians and the ratio to redis-py.
#
#     bash Benchmarks/redis-store-bench.sh
#
# Environment: TROVE_REDIS_STORE_BENCH_RUNS (runs of each subject, 3); TROVE_W1_KEYS,
# TROVE_W1_VALUE_BYTES, TROVE_W2_KEYS, TROVE_W2_VALUE_BYTES as for the other workloads.
# redis-py 8.2.0 with hiredis 3.5.0 goes into Benchmarks/.venv-redis. The server is started on
# a free port without persistence in a temporary directory and stopped by PID however the
# script ends.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/lib/servers.sh"
trap trove_run_exit_commands EXIT
trap 'exit 130' INT TERM

venv="$here/.venv-redis"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "Creating $venv ..." >&2
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check redis==8.2.0 hiredis==3.5.0 >&2

echo "Building TroveWorkloads (release) ..." >&2
(cd "$here" && swift build -c release --product TroveWorkloads >&2)
workloads="$(cd "$here" && swift build -c release --show-bin-path)/TroveWorkloads"

source "$here/redis-server.sh"
start_bench_redis

"$venv/bin/python" - "$workloads" "$port" "${TROVE_REDIS_STORE_BENCH_RUNS:-3}" "$venv/bin/python" "$here" <<'PY'
import json, os, statistics, subprocess, sys

workloads, port, runs, python, here = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
url = f"redis://127.0.0.1:{port}/0"
subjects = [
    ("RedisStore, default layout", [workloads, "redis", "/tmp"], url),
    ("RedisStore, plain layout", [workloads, "redis", "/tmp"], url + "?layout=plain"),
    ("redis-py", [python, os.path.join(here, "redis_py.py")], url),
]
samples = {name: [] for name, _, _ in subjects}
peer_name = None
for run in range(runs):
    for name, command, subject_url in subjects:
        environment = dict(os.environ, TROVE_BENCH_REDIS_URL=subject_url, PYTHONPATH=here)
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=environment).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if name == "redis-py":
            peer_name = result["subject"]
        samples[name].append(result)
    print(f"done: run {run + 1} of {runs}", file=sys.stderr)

phases = list(samples["redis-py"][0]["ops_per_second"].keys())
def median(name, phase, field="ops_per_second"):
    return statistics.median(result[field][phase] for result in samples[name])

print(f"Operations per second, median of {runs} runs; in brackets the ratio to {peer_name}, same server, same run.")
print()
print("| subject | " + " | ".join(phases) + " |")
print("|---|" + "---:|" * len(phases))
for name, _, _ in subjects:
    label = peer_name if name == "redis-py" else name
    cells = []
    for phase in phases:
        rate = median(name, phase)
        cells.append(f"{rate:,.0f} ({rate / median('redis-py', phase):.2f}x)")
    print(f"| {label} | " + " | ".join(cells) + " |")
print()
print("Client CPU (user + system) per operation, µs, median:")
print()
print("| subject | " + " | ".join(phases) + " |")
print("|---|" + "---:|" * len(phases))
for name, _, _ in subjects:
    label = peer_name if name == "redis-py" else name
    print(f"| {label} | " + " | ".join(f"{median(name, phase, 'cpu_microseconds_per_op'):.1f}" for phase in phases) + " |")
PY
