"""W1 one call at a time over psycopg 3: the peer of TroveWorkloads' postgres subject.

The same statements as PostgresStore's (an upsert that returns the metadata, a read of the live
row by key, a delete that says whether the row was live), prepared on the server
(`prepare=True`), in autocommit, binary bytea, one connection, in a table of its own that is
dropped at the end. The server is TROVE_BENCH_POSTGRES_URL; W1's keys, values and read order are
those of Benchmarks/WorkloadKit (Workload.swift), and TROVE_W1_KEYS and TROVE_W1_VALUE_BYTES
change its size as they do there. Prints one line per phase, in operations per second.
"""

import os
import secrets
import time

import psycopg

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def read_order(count, seed=42):
    """The Fisher-Yates shuffle of WorkloadKit's SplitMix64.shuffled."""
    order = list(range(count))
    generator = splitmix64(seed)
    for i in range(count - 1, 0, -1):
        j = next(generator) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def main():
    keys = int(os.environ.get("TROVE_W1_KEYS", "10000"))
    size = int(os.environ.get("TROVE_W1_VALUE_BYTES", "100"))
    names = ["key-%07d" % i for i in range(keys)]
    value = bytes((7 * i + 13) % 251 for i in range(size))
    table = "bench_psycopg_" + secrets.token_hex(4)
    live = "(expires_at IS NULL OR expires_at > now())"
    columns = "size, etag, created_at, modified_at, expires_at"
    write = (
        f"INSERT INTO {table} AS e (key, value, size, etag, created_at, modified_at, expires_at) "
        f"VALUES (%s, %b, %s, %s, now(), now(), COALESCE(%s::timestamptz, now() + %s::float8 * interval '1 microsecond')) "
        f"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, size = EXCLUDED.size, etag = EXCLUDED.etag, "
        f"created_at = CASE WHEN (e.expires_at IS NOT NULL AND e.expires_at <= now()) THEN now() ELSE e.created_at END, "
        f"modified_at = now(), expires_at = EXCLUDED.expires_at RETURNING {columns}"
    )
    read = f"SELECT value, {columns} FROM {table} WHERE key = %s AND {live}"
    delete = f"DELETE FROM {table} WHERE key = %s RETURNING {live}"

    with psycopg.connect(os.environ["TROVE_BENCH_POSTGRES_URL"].split("?")[0], autocommit=True) as connection:
        connection.execute(
            f'CREATE TABLE {table} (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL, size bigint NOT NULL, '
            "etag text NOT NULL, created_at timestamptz NOT NULL, modified_at timestamptz NOT NULL, expires_at timestamptz)"
        )
        try:
            cursor = connection.cursor(binary=True)
            start = time.perf_counter()
            for index, name in enumerate(names):
                cursor.execute(write, (name, value, size, format(index, "x"), None, None), prepare=True)
                cursor.fetchone()
            put = keys / (time.perf_counter() - start)
            start = time.perf_counter()
            for index in read_order(keys):
                cursor.execute(read, (names[index],), prepare=True)
                row = cursor.fetchone()
                if row is None or len(row[0]) != size:
                    raise SystemExit(f"psycopg get: {names[index]} is missing")
            get = keys / (time.perf_counter() - start)
            start = time.perf_counter()
            for name in names:
                cursor.execute(delete, (name,), prepare=True)
                if cursor.fetchone() != (True,):
                    raise SystemExit(f"psycopg delete: {name} was missing")
            remove = keys / (time.perf_counter() - start)
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    print(f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}), one connection, prepared, W1: "
          f"put {put:.0f}/s, get {get:.0f}/s, delete {remove:.0f}/s")


if __name__ == "__main__":
    main()
