#!/usr/bin/env bash
# Measures DurableQueue on the file and SQLite stores beside persist-queue 1.1.0 (the queue
# Python users pick: SQLiteAckQueue, and its file Queue, which has no acknowledgements or
# leases) in one run, on tmpfs when /dev/shm exists: enqueue, and dequeue plus acknowledge, of
# 2,000 elements of 100 B, one at a time and in batches, with 3 consumer processes, and at
# 1,000 and 100,000 queued, beside the store's own writes and deletes of the same shape. Each
# figure is the best of three passes, in elements per second; the table gives each Trove rate
# as a ratio to persist-queue's (or to its own one-at-a-time rate).
#
#     bash Benchmarks/queue-bench.sh
#
# Environment: TROVE_QUEUE_BENCH_ELEMENTS (2000), TROVE_QUEUE_BENCH_CONSUMERS (3). persist-queue
# goes into Benchmarks/.venv-queue.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
elements=${TROVE_QUEUE_BENCH_ELEMENTS:-2000}
consumers=${TROVE_QUEUE_BENCH_CONSUMERS:-3}

venv="$here/.venv-queue"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "Creating $venv ..." >&2
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check persist-queue==1.1.0 >&2

echo "Building QueueBench (release) ..." >&2
(cd "$here" && swift build -c release --product QueueBench >&2)
bench="$(cd "$here" && swift build -c release --show-bin-path)/QueueBench"

base=/dev/shm
[[ -d $base && -w $base ]] || base=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$base/trove-queue-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

results="$scratch/results.txt"
"$venv/bin/python" "$here/queue_persistqueue.py" "$scratch/persist-queue" "$elements" "$consumers" | tee -a "$results"
"$bench" sqlite "$scratch/sqlite" "$elements" "$consumers" | tee -a "$results"
"$bench" file "$scratch/file" "$elements" "$consumers" | tee -a "$results"

python3 - "$results" "$consumers" <<'PY'
import re, sys
rates = {}
for line in open(sys.argv[1]):
    match = re.match(r"(\S+) (.+?) (\d+)(?: \(.*\))?$", line.strip())
    if match:
        rates[(match[1], match[2])] = int(match[3])
consumers = sys.argv[2]
# (store, phase, the peer and its phase to divide by, or None for a figure on its own)
peers = {"sqlite": "SQLiteAckQueue", "file": "Queue"}
rows = []
for store, peer in peers.items():
    own = f"DurableQueue({store})"
    rows += [
        (store, "enqueue", peer, "enqueue"),
        (store, "enqueue batch", peer, "enqueue"),
        (store, "enqueue batch", own, "enqueue"),
        (store, "dequeue+ack", peer, "dequeue+ack"),
        (store, "dequeue+ack batch", peer, "dequeue+ack"),
        (store, "dequeue+ack batch", own, "dequeue+ack"),
        (store, f"dequeue+ack,{consumers}-processes", peer, "dequeue+ack"),
        (store, "dequeue+ack at 1000 queued", None, None),
        (store, "dequeue+ack at 100000 queued", own, "dequeue+ack at 1000 queued"),
        (store, "first delivery at 1000 queued (ms)", None, None),
        (store, "first delivery at 100000 queued (ms)", None, None),
        (store, "raw put", None, None),
        (store, "raw put batch", own, "raw put"),
        (store, "raw delete", None, None),
        (store, "raw delete batch", own, "raw delete"),
    ]
print()
print("| DurableQueue | phase | elements/s | against | its rate | ratio |")
print("| --- | --- | ---: | --- | ---: | ---: |")
for store, phase, peer, peer_phase in rows:
    rate = rates.get((f"DurableQueue({store})", phase))
    if rate is None:
        continue
    if peer is None:
        print(f"| {store} | {phase} | {rate:,} | | | |")
        continue
    against = rates[(peer, peer_phase)]
    label = peer if peer.startswith("DurableQueue") else f"persist-queue {peer}"
    print(f"| {store} | {phase} | {rate:,} | {label} {peer_phase} | {against:,} | {rate / against:.2f} |")
PY
