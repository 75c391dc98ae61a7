#!/usr/bin/env bash
# Runs the W1 and W2 workloads on Trove (FileSystemStore and the raw system-call loop,
# SQLiteStore and the raw SQLite loop, through TroveWorkloads), on a raw Python loop and on
# Python's persistent dictionaries (persidict, simplekv, sqlitedict, diskcache), on tmpfs and on
# disk, and prints one table.
#
#     bash Benchmarks/compare.sh
#
# Environment:
#   TROVE_W1_KEYS, TROVE_W1_VALUE_BYTES   W1 size (10000 keys x 100 bytes)
#   TROVE_W2_KEYS, TROVE_W2_VALUE_BYTES   W2 size (1000 keys x 102400 bytes)
#   TROVE_COMPARE_RUNS                    runs per subject, interleaved; the table shows the
#                                         median (3)
#   TROVE_COMPARE_SUBJECTS                comma-separated subset: trove-file, trove-raw,
#                                         trove-sqlite, trove-sqlite-raw, python-raw,
#                                         persidict, simplekv, sqlitedict, diskcache
#   TROVE_COMPARE_TMPFS_DIR               where the tmpfs directory is made (/dev/shm)
#   TROVE_COMPARE_DISK_DIR                where the disk directory is made ($TMPDIR or /tmp,
#                                         else /var/tmp, whichever is not tmpfs)
#   TROVE_COMPARE_KINDS                   which of tmpfs,disk to run (both)
#
# It makes one directory under each, and removes it when it ends, however it ends.
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-compare"
kinds_wanted=",${TROVE_COMPARE_KINDS:-tmpfs,disk},"

made=()
cleanup() {
    local directory
    for directory in "${made[@]+"${made[@]}"}"; do rm -rf -- "$directory"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The Python peers, in a virtual environment of their own (pinned: the versions measured).
if [[ ! -x "$venv/bin/python" ]]; then
    echo "Creating $venv ..." >&2
    python3 -m venv "$venv"
fi
echo "Installing persidict, simplekv, sqlitedict, diskcache ..." >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    persidict==0.309.0 simplekv==0.14.1 sqlitedict==2.1.0 diskcache==5.6.3 >&2

# 2. Trove's side, built for speed.
echo "Building TroveWorkloads (release) ..." >&2
(cd "$here" && swift build -c release --product TroveWorkloads >&2)
workloads="$(cd "$here" && swift build -c release --show-bin-path)/TroveWorkloads"

# 3. One fresh directory per kind.
filesystem_type() { stat -f -c %T -- "$1"; }
kinds=()
descriptions=()
add_kind() { # name base
    local directory
    directory="$(mktemp -d "$2/trove-compare-XXXXXX")"
    made+=("$directory")
    kinds+=(--kind "$1=$directory")
    descriptions+=("$1 = $2 ($(filesystem_type "$2"))")
}
if [[ $kinds_wanted == *,tmpfs,* ]]; then
    tmpfs_base="${TROVE_COMPARE_TMPFS_DIR:-/dev/shm}"
    if [[ -d $tmpfs_base ]]; then
        add_kind tmpfs "$tmpfs_base"
    else
        echo "No $tmpfs_base: skipping the tmpfs runs." >&2
    fi
fi
if [[ $kinds_wanted == *,disk,* ]]; then
    disk_base="${TROVE_COMPARE_DISK_DIR:-}"
    if [[ -z $disk_base ]]; then
        for candidate in "${TMPDIR:-/tmp}" /var/tmp; do
            if [[ -d $candidate && $(filesystem_type "$candidate") != tmpfs ]]; then
                disk_base="$candidate"
                break
            fi
        done
    fi
    if [[ -n $disk_base ]]; then
        add_kind disk "$disk_base"
    else
        echo "No temporary directory outside tmpfs: skipping the disk runs." >&2
    fi
fi
if [[ ${#kinds[@]} -eq 0 ]]; then
    echo "No directory to run in." >&2
    exit 1
fi

# 4. Every subject in a fresh process, then the table.
echo "Directories: $(IFS=';'; echo "${descriptions[*]}" | sed 's/;/; /g')" >&2
"$venv/bin/python" "$here/compare.py" all --trove "$workloads" "${kinds[@]}" \
    --subjects "${TROVE_COMPARE_SUBJECTS:-}" --runs "${TROVE_COMPARE_RUNS:-3}"
echo "Directories: $(IFS=';'; echo "${descriptions[*]}" | sed 's/;/; /g')"
