"""boto3's side of s3-bench.sh: the phases of S3Bench, in the same order, on the same server.

    python s3_boto3.py small <bucket>
    python s3_boto3.py large <bucket> <MiB>
    python s3_boto3.py create-bucket|delete-bucket <bucket>

Each phase prints one line of JSON: its rate and the process's CPU time (user + system, every
thread) per request or per MiB. The endpoint and keys come from TROVE_BENCH_S3_ENDPOINT,
TROVE_BENCH_S3_ACCESS_KEY and TROVE_BENCH_S3_SECRET_KEY; the bucket must exist.
"""
import io
import json
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def cpu_us():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime + u.ru_stime) * 1e6


def phase(name, count, body, unit="op"):
    cpu = cpu_us()
    start = time.perf_counter()
    body()
    seconds = time.perf_counter() - start
    used = cpu_us() - cpu
    print(json.dumps({"phase": name, "per_second": round(count / seconds, 1),
                      f"cpu_us_per_{unit}": round(used / count)}), flush=True)


def client(pool=16):
    return boto3.client(
        "s3", endpoint_url=os.environ["TROVE_BENCH_S3_ENDPOINT"],
        aws_access_key_id=os.environ["TROVE_BENCH_S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["TROVE_BENCH_S3_SECRET_KEY"],
        region_name=os.environ.get("TROVE_BENCH_S3_REGION", "us-east-1"),
        config=Config(max_pool_connections=pool, retries={"max_attempts": 4, "mode": "standard"},
                      s3={"addressing_style": "path"}))


def delete_all(s3, bucket, keys):
    for i in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})


def small(bucket, run):
    s3 = client()
    tiny = bytes((i * 7) & 0xFF for i in range(100))
    medium = bytes((i * 31) & 0xFF for i in range(100 << 10))
    s3.put_object(Bucket=bucket, Key=f"bench-{run}/warm/k", Body=tiny)
    s3.delete_object(Bucket=bucket, Key=f"bench-{run}/warm/k")
    names = [f"k{i:05d}" for i in range(2000)]

    def check(body, size):
        if len(body) != size:
            raise RuntimeError("a value did not come back whole")

    seq = [f"bench-{run}/seq/{n}" for n in names]
    phase("sequential 100 B PUT", len(seq), lambda: [s3.put_object(Bucket=bucket, Key=k, Body=tiny) for k in seq])
    phase("sequential 100 B GET", len(seq),
          lambda: [check(s3.get_object(Bucket=bucket, Key=k)["Body"].read(), 100) for k in seq])
    delete_all(s3, bucket, seq)

    conc = [f"bench-{run}/conc/{n}" for n in names]
    with ThreadPoolExecutor(16) as pool:
        phase("16 concurrent 100 B PUT", len(conc),
              lambda: list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=tiny), conc)))
        phase("16 concurrent 100 B GET", len(conc),
              lambda: list(pool.map(lambda k: check(s3.get_object(Bucket=bucket, Key=k)["Body"].read(), 100), conc)))
        delete_all(s3, bucket, conc)
        big = [f"bench-{run}/100k/{n}" for n in names[:200]]
        phase("16 concurrent 100 KiB PUT", len(big),
              lambda: list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=medium), big)))
        phase("16 concurrent 100 KiB GET", len(big),
              lambda: list(pool.map(lambda k: check(s3.get_object(Bucket=bucket, Key=k)["Body"].read(), len(medium)), big)))
        delete_all(s3, bucket, big)


class Pattern(io.RawIOBase):
    """`total` bytes of a repeating 1 MiB pattern, made as they are read."""

    chunk = bytes(((i * 13) + (i >> 12)) & 0xFF for i in range(1 << 20))

    def __init__(self, total):
        self.remaining = total

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.remaining, len(self.chunk))
        buffer[:n] = self.chunk[:n]
        self.remaining -= n
        return n


class Sink(io.RawIOBase):
    def __init__(self):
        self.received = 0

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, data):
        self.received += len(data)
        return len(data)


def large(bucket, run, mebibytes):
    s3 = client()
    size = mebibytes << 20
    key = f"bench-{run}/large/big"
    s3.put_object(Bucket=bucket, Key=f"bench-{run}/large/warm", Body=b"warm")
    s3.delete_object(Bucket=bucket, Key=f"bench-{run}/large/warm")
    config = TransferConfig()  # boto3's defaults: 8 MiB parts, 10 threads
    phase(f"{mebibytes} MiB multipart upload", mebibytes,
          lambda: s3.upload_fileobj(io.BufferedReader(Pattern(size), 1 << 20), bucket, key, Config=config), unit="MiB")
    sink = Sink()
    phase(f"{mebibytes} MiB download", mebibytes, lambda: s3.download_fileobj(bucket, key, sink, Config=config), unit="MiB")
    if sink.received != size:
        raise RuntimeError(f"downloaded {sink.received} bytes of {size}")
    s3.delete_object(Bucket=bucket, Key=key)
    print(json.dumps({"phase": "peak RSS", "mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)


def bucket(action, name):
    s3 = client()
    if action == "create-bucket":
        s3.create_bucket(Bucket=name)
        return
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [o["Key"] for o in page.get("Contents", [])]
        if keys:
            delete_all(s3, name, keys)
    s3.delete_bucket(Bucket=name)


if __name__ == "__main__":
    run = uuid.uuid4().hex[:8]
    if sys.argv[1] in ("create-bucket", "delete-bucket"):
        bucket(sys.argv[1], sys.argv[2])
    elif sys.argv[1] == "small":
        small(sys.argv[2], run)
    else:
        large(sys.argv[2], run, int(sys.argv[3]) if len(sys.argv) > 3 else 256)
