"""persist-queue's queues beside Trove's DurableQueue: enqueue, and dequeue plus acknowledge, of
N elements of 100 B, one process (and, for SQLiteAckQueue, several consumer processes).

    python queue_persistqueue.py DIRECTORY [N] [CONSUMERS]

Prints one line per phase: `<queue> <phase> <elements/s>`, the best of three passes.
"""
import multiprocessing
import os
import shutil
import sys
import time

import persistqueue

ELEMENT = bytes((7 * i + 13) % 251 for i in range(100))


def best_of(passes, run):
    rates = []
    for index in range(passes):
        rates.append(run(index))
    return max(rates)


def per_second(n, body):
    """Elements per second of `body`, which moves `n` elements."""
    start = time.perf_counter()
    body()
    return n / (time.perf_counter() - start)


def put_all(queue, n):
    for _ in range(n):
        queue.put(ELEMENT)


def sqlite_ack(root, n, consumers):
    def enqueue(index):
        path = os.path.join(root, f"ack-{index}")
        queue = persistqueue.SQLiteAckQueue(path, multithreading=consumers > 1)
        return per_second(n, lambda: put_all(queue, n))

    def drain(index):
        path = os.path.join(root, f"ack-{index}")
        queue = persistqueue.SQLiteAckQueue(path)
        start = time.perf_counter()
        for _ in range(n):
            item = queue.get(block=False)
            queue.ack(item)
        rate = n / (time.perf_counter() - start)
        shutil.rmtree(path)
        return rate

    print(f"SQLiteAckQueue enqueue {best_of(3, enqueue):.0f}", flush=True)
    print(f"SQLiteAckQueue dequeue+ack {best_of(3, drain):.0f}", flush=True)
    if consumers > 1:
        def parallel(index):
            path = os.path.join(root, f"par-{index}")
            queue = persistqueue.SQLiteAckQueue(path, multithreading=True)
            put_all(queue, n)
            del queue
            start = time.perf_counter()
            with multiprocessing.Pool(consumers) as pool:
                drained = sum(pool.map(consume, [path] * consumers))
            rate = n / (time.perf_counter() - start)
            # The processes do not exclude each other: some elements reach two of them.
            duplicates.append(drained - n)
            shutil.rmtree(path)
            return rate
        duplicates = []
        rate = best_of(3, parallel)
        print(f"SQLiteAckQueue dequeue+ack,{consumers}-processes {rate:.0f} "
              f"(elements delivered twice per pass: {duplicates})", flush=True)


def consume(path):
    queue = persistqueue.SQLiteAckQueue(path, multithreading=True)
    count = 0
    while True:
        try:
            item = queue.get(block=False)
        except persistqueue.Empty:
            return count
        queue.ack(item)
        count += 1


def file_queue(root, n):
    def enqueue(index):
        path = os.path.join(root, f"file-{index}")
        queue = persistqueue.Queue(path, tempdir=root)
        return per_second(n, lambda: put_all(queue, n))

    def drain(index):
        path = os.path.join(root, f"file-{index}")
        queue = persistqueue.Queue(path, tempdir=root)
        start = time.perf_counter()
        for _ in range(n):
            queue.get(block=False)
            queue.task_done()
        rate = n / (time.perf_counter() - start)
        shutil.rmtree(path)
        return rate

    print(f"Queue enqueue {best_of(3, enqueue):.0f}", flush=True)
    print(f"Queue dequeue+ack {best_of(3, drain):.0f}", flush=True)


if __name__ == "__main__":
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    consumers = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    os.makedirs(root, exist_ok=True)
    sqlite_ack(root, n, consumers)
    file_queue(root, n)
