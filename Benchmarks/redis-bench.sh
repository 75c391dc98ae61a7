#!/usr/bin/env bash
# Runs the Trove Redis client (RedisClientBench) beside redis-benchmark against one
# redis-server on 127.0.0.1, in the same run: GET and SET of 100-byte values over 10,000 random
# keys (-d 100 -r 10000) at -c 1 -P 1, -c 1 -P 16, -c 50 -P 1 and -c 50 -P 16, the two
# alternating, and prints the medians with the ratio and the CPU time per command of each.
# Trove runs with as many connections as redis-benchmark's clients and, at -c 50, with its
# default 2 connections too; its tasks on Swift's cooperative pool (the default) and on the
# connections' event loops (withTaskExecutorPreference(client.nextTaskExecutor())).
#
#     bash Benchmarks/redis-bench.sh
#
# Environment: TROVE_REDIS_BENCH_RUNS (runs of each, the table shows the median; 3).
# The server is started on a free port with a temporary directory and stopped by PID however
# the script ends.
set -euo pipefail
here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../scripts/lib/servers.sh"
trap trove_run_exit_commands EXIT
trap 'exit 130' INT TERM

echo "Building RedisClientBench (release) ..." >&2
(cd "$here" && swift build -c release --product RedisClientBench >&2)
bench="$(cd "$here" && swift build -c release --show-bin-path)/RedisClientBench"

source "$here/redis-server.sh"
start_bench_redis

python3 - "$bench" "$port" "${TROVE_REDIS_BENCH_RUNS:-3}" <<'PY'
import json, resource, statistics, subprocess, sys

bench, port, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
configs = [(1, 1, 40000), (1, 16, 200000), (50, 1, 200000), (50, 16, 400000)]

def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

def redis_benchmark(test, clients, depth, requests):
    before = children_cpu()
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", port, "-t", test, "-n", str(requests),
                          "-c", str(clients), "-P", str(depth), "-d", "100", "-r", "10000", "--csv"],
                         check=True, capture_output=True, text=True).stdout
    cpu = children_cpu() - before
    for line in out.splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if fields and fields[0] == test.upper():
            return float(fields[1]), cpu / requests * 1e6
    raise SystemExit("no result in redis-benchmark's output: " + out)

def trove(test, clients, depth, requests, connections, loop):
    out = subprocess.run([bench, "127.0.0.1", port, test, str(clients), str(depth), str(requests), str(connections)]
                         + (["loop"] if loop else []),
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return float(result["rps"]), float(result["cpu_us_per_command"])

rows = []
for clients, depth, requests in configs:
    for test in ("get", "set"):
        # Each task on the cooperative pool (the default), or on a connection's event loop.
        variants = [(clients, False), (clients, True)] + ([(2, False), (2, True)] if clients > 2 else [])
        peer, ours = [], {variant: [] for variant in variants}
        for _ in range(runs):
            peer.append(redis_benchmark(test, clients, depth, requests))
            for connections, loop in variants:
                ours[(connections, loop)].append(trove(test, clients, depth, requests, connections, loop))
        peer_rps = statistics.median(r for r, _ in peer)
        peer_cpu = statistics.median(c for _, c in peer)
        for connections, loop in variants:
            rps = statistics.median(r for r, _ in ours[(connections, loop)])
            cpu = statistics.median(c for _, c in ours[(connections, loop)])
            rows.append((test.upper(), clients, depth, connections, "event loop" if loop else "pool", peer_rps, rps, rps / peer_rps, peer_cpu, cpu))
        print(f"done: {test} -c {clients} -P {depth}", file=sys.stderr)

print(f"| test | -c | -P | Trove connections | Trove tasks on | redis-benchmark req/s | Trove req/s | ratio | redis-benchmark CPU µs/cmd | Trove CPU µs/cmd |")
print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|")
for test, clients, depth, connections, where, peer_rps, rps, ratio, peer_cpu, cpu in rows:
    print(f"| {test} | {clients} | {depth} | {connections} | {where} | {peer_rps:,.0f} | {rps:,.0f} | {ratio:.2f}x | {peer_cpu:.1f} | {cpu:.1f} |")
PY
