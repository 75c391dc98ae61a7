#!/usr/bin/env bash
# Measures PostgresStore on one PostgreSQL server in one run: pgbench's select-only load (the
# server's own ceiling, one and 8 clients, prepared statements), TroveWorkloads' postgres subject
# (PostgresStore beside a raw postgres-nio loop), the psycopg loop, and pgbench again, so that
# every figure has a peer measured minutes apart on the same server.
#
#     bash Benchmarks/postgres.sh
#
# Without TROVE_BENCH_POSTGRES_URL it starts a server of its own the way the tests do
# (scripts/servers/postgres.sh: PostgreSQL 15 on 127.0.0.1, a free port, fsync and
# synchronous_commit off) and stops it at the end; with it, it measures that server (the user
# must be able to create tables; pgbench makes its pgbench_* tables there).
#
# Environment:
#   TROVE_BENCH_POSTGRES_URL   postgres://user:password@host:port/database of the server
#   TROVE_BENCH_ROUNDS         alternating rounds per phase of TroveWorkloads (5)
#   TROVE_BENCH_SECONDS        seconds of each pgbench run (10)
#   TROVE_BENCH_PSYCOPG        0 to leave out the psycopg loop (1)
set -euo pipefail

here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd -- "$here/.." && pwd)"
rounds=${TROVE_BENCH_ROUNDS:-5}
seconds=${TROVE_BENCH_SECONDS:-10}

source "$root/scripts/lib/servers.sh"
trap trove_run_exit_commands EXIT
trap 'exit 130' INT TERM

if [[ -z "${TROVE_BENCH_POSTGRES_URL:-}" ]]; then
    source "$root/scripts/servers/postgres.sh"
    trove_servers_dir
    echo "== starting PostgreSQL" >&2
    start_postgres_servers >&2
    TROVE_BENCH_POSTGRES_URL="$TROVE_TEST_POSTGRES_URL"
fi
export TROVE_BENCH_POSTGRES_URL

# The URL's parts, for pgbench and psycopg.
read -r user password host port database < <(python3 - "$TROVE_BENCH_POSTGRES_URL" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.unquote(u.username or "postgres"), urllib.parse.unquote(u.password or "-"), u.hostname,
      u.port or 5432, (u.path.lstrip("/") or u.username or "postgres"))
PY
)
[[ "$password" == "-" ]] || export PGPASSWORD="$password"

echo "== building TroveWorkloads (release)" >&2
(cd "$here" && swift build -c release --product TroveWorkloads >&2)
workloads="$(cd "$here" && swift build -c release --show-bin-path)/TroveWorkloads"

pgbench_args=(-h "$host" -p "$port" -U "$user")
echo "== pgbench -i (scale 1: 100,000 accounts)" >&2
pgbench "${pgbench_args[@]}" -i -s 1 -q "$database" >/dev/null 2>&1
pgbench_tps() {
    pgbench "${pgbench_args[@]}" -S -M prepared -c "$1" -j "$1" -T "$seconds" "$database" 2>/dev/null \
        | awk '/^tps/ {printf "%.0f", $3}'
}

psycopg_venv="$here/.venv-postgres"
psycopg() {
    [[ "${TROVE_BENCH_PSYCOPG:-1}" == 1 ]] || return 0
    if [[ ! -x "$psycopg_venv/bin/python" ]]; then
        echo "== making $psycopg_venv with psycopg" >&2
        python3 -m venv "$psycopg_venv" >&2
        "$psycopg_venv/bin/pip" install -q "psycopg[binary]==3.3.9" >&2
    fi
    "$psycopg_venv/bin/python" "$here/postgres_psycopg.py"
}

echo "pgbench -S -M prepared, ${seconds} s each (before)"
before1=$(pgbench_tps 1); before8=$(pgbench_tps 8)
echo "  1 client: $before1 tps; 8 clients: $before8 tps"
echo
"$workloads" postgres /tmp --rounds "$rounds"
echo
psycopg
echo
echo "pgbench -S -M prepared, ${seconds} s each (after)"
after1=$(pgbench_tps 1); after8=$(pgbench_tps 8)
echo "  1 client: $after1 tps; 8 clients: $after8 tps"
pgbench "${pgbench_args[@]}" -i -I d "$database" >/dev/null 2>&1 || true
