"""W1 and W2 over redis-py: the peer of TroveWorkloads' redis subject.

Plain strings under a fresh random prefix on the server of TROVE_BENCH_REDIS_URL: SET, GET,
a SCAN of the prefix sorted by key (the store lists in key order), DEL; one command at a time
on one connection, then the same put, get and delete as pipelines of 100 (no MULTI), then W2's
put and get one at a time. The workloads are compare.py's (the same keys, bytes and read order
as Benchmarks/WorkloadKit). Every phase checks what it read, and nothing is left under the
prefix at the end. Prints one JSON object in the shape of TroveWorkloads' output.
"""

import json
import os
import secrets
import time

import redis

from compare import workloads

BATCH = 100


def cpu_seconds():
    times = os.times()
    return times.user + times.system


def main():
    client = redis.Redis.from_url(os.environ["TROVE_BENCH_REDIS_URL"].split("?")[0])
    prefix = "bench-py-" + secrets.token_hex(4) + ":"
    w1, w2 = workloads()
    results = {}

    def measure(name, count, body):
        wall, cpu = time.perf_counter(), cpu_seconds()
        body()
        results[name] = (count / (time.perf_counter() - wall), (cpu_seconds() - cpu) * 1e6 / count)

    def put(workload):
        for key in workload.keys:
            client.set(prefix + key, workload.value)

    def get(workload):
        for index in workload.read_order:
            value = client.get(prefix + workload.keys[index])
            if value is None or len(value) != workload.value_byte_count:
                raise SystemExit(f"redis-py get: {workload.keys[index]} is missing")

    def listing():
        keys = sorted(client.scan_iter(match=prefix + "*", count=1000))
        if len(keys) != w1.key_count:
            raise SystemExit(f"redis-py list: {len(keys)} keys")

    def delete(workload):
        for key in workload.keys:
            if client.delete(prefix + key) != 1:
                raise SystemExit(f"redis-py delete: {key} was missing")

    def batches(keys, command, check):
        for start in range(0, len(keys), BATCH):
            pipeline = client.pipeline(transaction=False)
            for key in keys[start:start + BATCH]:
                command(pipeline, prefix + key)
            for reply in pipeline.execute():
                check(reply)

    def expect(wanted, what):
        def check(reply):
            if not wanted(reply):
                raise SystemExit(f"redis-py {what}: {reply!r}")
        return check

    ordered = [w1.keys[index] for index in w1.read_order]
    try:
        measure("W1 put", w1.key_count, lambda: put(w1))
        measure("W1 get", w1.key_count, lambda: get(w1))
        measure("W1 list", w1.key_count, listing)
        measure("W1 delete", w1.key_count, lambda: delete(w1))
        measure("W1 batch put", w1.key_count, lambda: batches(
            w1.keys, lambda p, k: p.set(k, w1.value), expect(lambda r: r is True, "batch put")))
        measure("W1 batch get", w1.key_count, lambda: batches(
            ordered, lambda p, k: p.get(k), expect(lambda r: r is not None and len(r) == w1.value_byte_count, "batch get")))
        measure("W1 batch delete", w1.key_count, lambda: batches(
            w1.keys, lambda p, k: p.delete(k), expect(lambda r: r == 1, "batch delete")))
        measure("W2 put", w2.key_count, lambda: put(w2))
        measure("W2 get", w2.key_count, lambda: get(w2))
        delete(w2)
        left = sum(1 for _ in client.scan_iter(match=prefix + "*", count=1000))
        if left:
            raise SystemExit(f"redis-py: {left} keys are left under the run's prefix")
    finally:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    parser = "hiredis" if redis.utils.HIREDIS_AVAILABLE else "Python"
    print(json.dumps({
        "subject": f"redis-py {redis.__version__} ({parser} parser)",
        "ops_per_second": {name: round(rate, 1) for name, (rate, _) in results.items()},
        "cpu_microseconds_per_op": {name: round(cpu, 3) for name, (_, cpu) in results.items()},
    }))


if __name__ == "__main__":
    main()
