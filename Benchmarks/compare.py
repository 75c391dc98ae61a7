"""Runs the W1 and W2 workloads on Python's persistent dictionaries and on Trove, and prints
one table. `compare.sh` sets up the virtual environment and the directories, then calls:

    python compare.py run SUBJECT DIRECTORY
        one pass of W1 and W2 for a Python subject; prints one JSON object (ops/s per phase),
        the same shape as Trove's `TroveWorkloads SUBJECT DIRECTORY`.

    python compare.py all --trove BIN --kind NAME=DIR [--kind NAME=DIR ...]
        every subject in a fresh process, in each directory; prints the table.

The workloads are Trove's (Benchmarks/WorkloadKit/Workload.swift): key `i` is `key-%07d`,
byte `i` of every value is `(7 * i + 13) % 251`, and the get phase reads the keys in a
Fisher-Yates shuffle driven by SplitMix64 seeded with 42.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MASK = (1 << 64) - 1
PHASES = {"W1": ["put", "get", "list", "delete"], "W2": ["put", "get"]}
COLUMNS = [f"{w} {p}" for w, phases in PHASES.items() for p in phases]


# --- The workloads -----------------------------------------------------------------------

def size(variable, default):
    text = os.environ.get(variable, "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 10_000_000:
        sys.exit(f"{variable} must be a whole number from 1 to 10000000, not '{text}'")
    return int(text)


class Workload:
    def __init__(self, name, key_count, value_byte_count, seed=42):
        self.name = name
        self.key_count = key_count
        self.value_byte_count = value_byte_count
        self.phases = PHASES[name]
        self.keys = [f"key-{i:07d}" for i in range(key_count)]
        self.value = bytes((7 * i + 13) % 251 for i in range(value_byte_count))
        self.read_order = shuffled(list(range(key_count)), seed)

    def size_description(self):
        n = self.value_byte_count
        if n >= 1 << 20 and n % (1 << 20) == 0:
            return f"{n >> 20} MiB"
        if n >= 1 << 10 and n % (1 << 10) == 0:
            return f"{n >> 10} KiB"
        return f"{n} B"


def workloads():
    return [
        Workload("W1", size("TROVE_W1_KEYS", 10_000), size("TROVE_W1_VALUE_BYTES", 100)),
        Workload("W2", size("TROVE_W2_KEYS", 1_000), size("TROVE_W2_VALUE_BYTES", 100 * 1024)),
    ]


def shuffled(elements, seed):
    """Fisher-Yates driven by SplitMix64, exactly as WorkloadKit/SplitMix64.swift does it."""
    state = seed

    def next_value():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    result = list(elements)
    for index in range(len(result) - 1, 0, -1):
        other = next_value() % (index + 1)
        result[index], result[other] = result[other], result[index]
    return result


# --- The subjects: each opens a fresh store in a directory --------------------------------

class RawLoop:
    """The system calls of Trove's raw loop (WorkloadKit/RawDirectory.swift), from Python."""

    def __init__(self, path):
        os.makedirs(os.path.join(path, ".scratch"))
        self.path = path
        self.root = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        self.scratch = os.open(os.path.join(path, ".scratch"), os.O_RDONLY | os.O_DIRECTORY)

    def put(self, key, value):
        fd = os.open(key, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644, dir_fd=self.scratch)
        try:
            view = memoryview(value)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(key, key, src_dir_fd=self.scratch, dst_dir_fd=self.root)

    def get(self, key):
        fd = os.open(key, os.O_RDONLY, dir_fd=self.root)
        try:
            remaining = os.fstat(fd).st_size
            chunks = []
            while remaining > 0:
                chunk = os.read(fd, remaining)
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        finally:
            os.close(fd)

    def list(self):
        return [name for name in os.listdir(self.path) if not name.startswith(".")]

    def delete(self, key):
        os.unlink(key, dir_fd=self.root)

    def close(self):
        os.close(self.scratch)
        os.close(self.root)


class MappingStore:
    """A store used through its dict-like interface: `store[key] = value`, `store[key]`, `del`."""

    def put(self, key, value):
        self.store[key] = value

    def get(self, key):
        return self.store[key]

    def list(self):
        return list(self.store.keys())

    def delete(self, key):
        del self.store[key]

    def close(self):
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


class Persidict(MappingStore):
    def __init__(self, path):
        from persidict import FileDirDict
        self.store = FileDirDict(base_dir=path)


class Simplekv:
    def __init__(self, path):
        from simplekv.fs import FilesystemStore
        self.store = FilesystemStore(path)

    def put(self, key, value):
        self.store.put(key, value)

    def get(self, key):
        return self.store.get(key)

    def list(self):
        return list(self.store.keys())

    def delete(self, key):
        self.store.delete(key)

    def close(self):
        pass


class Sqlitedict(MappingStore):
    def __init__(self, path):
        from sqlitedict import SqliteDict
        os.makedirs(path)
        self.store = SqliteDict(os.path.join(path, "store.sqlite"), autocommit=True)


class Diskcache(MappingStore):
    def __init__(self, path):
        import diskcache
        self.store = diskcache.Cache(path)

    def list(self):
        return list(self.store.iterkeys())


PYTHON_SUBJECTS = {
    "python-raw": RawLoop,
    "persidict": Persidict,
    "simplekv": Simplekv,
    "sqlitedict": Sqlitedict,
    "diskcache": Diskcache,
}

# Table rows, in order: (subject, label, how to run it).
SUBJECTS = [
    ("trove-file", "Trove FileSystemStore", "trove file"),
    ("trove-raw", "Swift raw loop", "trove raw"),
    ("trove-sqlite", "Trove SQLiteStore", "trove sqlite"),
    ("trove-sqlite-raw", "Swift raw SQLite loop", "trove sqlite-raw"),
    ("python-raw", "Python raw loop", "python"),
    ("persidict", "persidict FileDirDict", "python"),
    ("simplekv", "simplekv FilesystemStore", "python"),
    ("sqlitedict", "sqlitedict (autocommit)", "python"),
    ("diskcache", "diskcache Cache", "python"),
]


def run_phase(store, workload, phase):
    """Runs one phase over every key; checks what it did, so a broken run cannot look fast."""
    if phase == "put":
        value = workload.value
        for key in workload.keys:
            store.put(key, value)
    elif phase == "get":
        keys, total = workload.keys, 0
        for index in workload.read_order:
            total += len(store.get(keys[index]))
        check(total, workload.key_count * workload.value_byte_count, "get: bytes read")
    elif phase == "list":
        check(len(store.list()), workload.key_count, "list: keys listed")
    elif phase == "delete":
        for key in workload.keys:
            store.delete(key)


def check(actual, expected, what):
    if actual != expected:
        raise RuntimeError(f"{what}: {actual}, expected {expected}")


def run_python_subject(subject, directory):
    scratch = tempfile.mkdtemp(prefix=f"trove-compare-{subject}-", dir=directory)
    try:
        results, sizes = {}, {}
        for workload in workloads():
            sizes[workload.name] = f"{workload.key_count} x {workload.size_description()}"
            store = PYTHON_SUBJECTS[subject](os.path.join(scratch, workload.name))
            try:
                for phase in workload.phases:
                    start = time.perf_counter()
                    run_phase(store, workload, phase)
                    elapsed = time.perf_counter() - start
                    results[f"{workload.name} {phase}"] = round(workload.key_count / elapsed, 1)
            finally:
                store.close()
        return {"subject": subject, "workloads": sizes, "ops_per_second": results}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # best effort; compare.sh removes the parent too


# --- Driving every subject and printing the table -----------------------------------------

def run_in_process(command):
    """Runs one subject in a fresh process; returns its JSON result or an error line."""
    completed = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if completed.returncode != 0:
        lines = (completed.stderr.strip() or completed.stdout.strip() or "no output").splitlines()
        message = lines[-1].removeprefix("Error: ")
        return {"error": message if len(message) <= 200 else message[:197] + "..."}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_all(trove, kinds, subjects, runs):
    """Runs every subject `runs` times in each directory, interleaved (run 1 of every subject,
    then run 2, ...) so that a slow moment of the machine does not land on one subject alone.
    Before each run, `sync` flushes what the previous one left dirty."""
    rows = []  # (kind, directory, subject, label, {phase: [ops/s per run]}, error)
    for kind, directory in kinds:
        chosen = [(s, label, how) for s, label, how in SUBJECTS if not subjects or s in subjects]
        samples = {s: {} for s, _, _ in chosen}
        errors = {}
        for run in range(runs):
            for subject, label, how in chosen:
                if subject in errors:
                    continue
                if how == "python":
                    command = [sys.executable, os.path.abspath(__file__), "run", subject, directory]
                else:
                    command = [trove, how.split()[1], directory]
                print(f"  {kind:5}  run {run + 1}/{runs}  {label}", file=sys.stderr, flush=True)
                os.sync()
                result = run_in_process(command)
                if "error" in result:
                    errors[subject] = result["error"]
                    continue
                for phase, ops in result["ops_per_second"].items():
                    samples[subject].setdefault(phase, []).append(ops)
        for subject, label, _ in chosen:
            rows.append((kind, directory, subject, label, samples[subject], errors.get(subject)))
    return rows


def format_ops(ops):
    if ops >= 1e6:
        return f"{ops / 1e6:.2f}M"
    if ops >= 1e3:
        return f"{ops / 1e3:.1f}k"
    return f"{ops:.0f}"


def print_table(rows, runs):
    sizes = ", ".join(f"{w.name} = {w.key_count} keys x {w.size_description()}" for w in workloads())
    print()
    print(f"Operations per second, median of {runs} run{'s' if runs != 1 else ''} ({sizes}).")
    print("In brackets: the ratio to Trove FileSystemStore in the same directory.")
    print()
    medians = {(kind, subject): {phase: statistics.median(v) for phase, v in samples.items()}
               for kind, _, subject, _, samples, _ in rows}
    header = ["dir", "subject"] + COLUMNS
    table, failures, unreferenced = [header], [], []
    for kind, _, subject, label, samples, error in rows:
        if error:
            failures.append(f"{kind} {label} failed: {error}")
            table.append([kind, label] + ["failed"] + [""] * (len(COLUMNS) - 1))
            continue
        reference = medians.get((kind, "trove-file"), {})
        if not reference and kind not in unreferenced:
            unreferenced.append(kind)
        cells = []
        for column in COLUMNS:
            ops = medians[(kind, subject)].get(column)
            if ops is None:
                cells.append("-")
            elif reference.get(column, 0) > 0:
                cells.append(f"{format_ops(ops)} ({ops / reference[column]:.2f}x)")
            else:
                cells.append(format_ops(ops))
        table.append([kind, label] + cells)
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        print("| " + " | ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                                for i, (cell, width) in enumerate(zip(line, widths))) + " |")
        if index == 0:
            print("|" + "|".join(("-" * (w + 1) + ":") if i >= 2 else "-" * (w + 2)
                                 for i, w in enumerate(widths)) + "|")
    if failures or unreferenced:
        print()
    for failure in failures:
        print(failure)
    for kind in unreferenced:
        print(f"{kind}: no Trove FileSystemStore numbers, so no ratios.")
    print_targets(medians, [kind for kind, _, _, _, _, _ in rows])


def print_targets(medians, kinds):
    """The targets on tmpfs: FileSystemStore put and get >= 0.8x the Swift raw loop and >= 5x
    persidict; SQLiteStore put and get >= 0.8x the Swift raw SQLite loop, and every phase >= 3x
    sqlitedict and diskcache."""
    if "tmpfs" not in kinds:
        return
    print()
    targets = [
        ("trove-file", "FileSystemStore", "trove-raw", "the Swift raw loop", 0.8, ["put", "get"]),
        ("trove-file", "FileSystemStore", "persidict", "persidict", 5.0, ["put", "get"]),
        ("trove-sqlite", "SQLiteStore", "trove-sqlite-raw", "the Swift raw SQLite loop", 0.8, ["put", "get"]),
        ("trove-sqlite", "SQLiteStore", "sqlitedict", "sqlitedict", 3.0, ["put", "get", "list", "delete"]),
        ("trove-sqlite", "SQLiteStore", "diskcache", "diskcache", 3.0, ["put", "get", "list", "delete"]),
    ]
    for subject, label, peer, peer_label, target, phases in targets:
        mine = medians.get(("tmpfs", subject), {})
        other = medians.get(("tmpfs", peer), {})
        if not mine or not other:
            continue
        for phase in phases:
            parts = []
            for column in [f"{w} {phase}" for w in PHASES if phase in PHASES[w]]:
                if column in mine and column in other and other[column] > 0:
                    ratio = mine[column] / other[column]
                    parts.append(f"{column.split()[0]} {ratio:.2f}x {'met' if ratio >= target else 'MISSED'}")
                else:
                    parts.append(f"{column.split()[0]} n/a")
            print(f"Target on tmpfs: {label} {phase} >= {target:g}x {peer_label}: " + ", ".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="one pass of W1 and W2 for one Python subject")
    run.add_argument("subject", choices=sorted(PYTHON_SUBJECTS))
    run.add_argument("directory")
    every = commands.add_parser("all", help="every subject in every directory, then the table")
    every.add_argument("--trove", required=True, help="the TroveWorkloads executable")
    every.add_argument("--kind", action="append", required=True, metavar="NAME=DIR")
    every.add_argument("--subjects", default="", help="comma-separated subset of: "
                       + ", ".join(s for s, _, _ in SUBJECTS))
    every.add_argument("--runs", type=int, default=3, help="runs per subject; the table shows the median")
    arguments = parser.parse_args()

    if arguments.command == "run":
        print(json.dumps(run_python_subject(arguments.subject, arguments.directory)))
        return
    kinds = [tuple(kind.split("=", 1)) for kind in arguments.kind]
    subjects = {s.strip() for s in arguments.subjects.split(",") if s.strip()}
    unknown = subjects - {s for s, _, _ in SUBJECTS}
    if unknown:
        sys.exit(f"unknown subjects: {', '.join(sorted(unknown))}")
    rows = run_all(arguments.trove, kinds, subjects, max(1, arguments.runs))
    print_table(rows, max(1, arguments.runs))


if __name__ == "__main__":
    main()
