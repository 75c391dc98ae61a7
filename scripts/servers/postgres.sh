# Sourced by scripts/test (after scripts/lib/servers.sh): starts a PostgreSQL 15 server for the
# TrovePostgres suites on 127.0.0.1, on a free port, in a cluster made for this run under
# "$TROVE_SERVERS_DIR", and stops it (pg_ctl stop, then by PID) however the run ends.
#
# Exports TROVE_TEST_POSTGRES_URL, postgres://trove:PASSWORD@127.0.0.1:PORT/trove_test: a
# password user (SCRAM-SHA-256) that owns the test database and may create schemas in it.

TROVE_POSTGRES_BIN=${TROVE_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}

# Runs a command as the postgres user, since the server refuses to run as root.
trove_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_postgres_servers() {
    if [ ! -x "$TROVE_POSTGRES_BIN/pg_ctl" ]; then
        echo "== installing postgresql-15"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql-15 >/dev/null
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "error: the postgres user is missing (Debian's postgresql-15 creates it)" >&2
        return 1
    fi

    local root="$TROVE_SERVERS_DIR/postgres"
    local data="$root/data"
    local port password
    port=$(trove_free_port)
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    mkdir -p "$root"
    [ "$(id -u)" = 0 ] && chown postgres: "$root"
    chmod 700 "$root"

    # The superuser authenticates over the local socket only (peer); every TCP connection needs a
    # password, checked with SCRAM-SHA-256.
    printf '%s\n' "$password" >"$root/password"
    [ "$(id -u)" = 0 ] && chown postgres: "$root/password"
    trove_as_postgres "$TROVE_POSTGRES_BIN/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 || {
        cat "$root/initdb.log" >&2
        return 1
    }
    rm -f "$root/password"
    # Loopback only; durability off (fsync, synchronous_commit): a test cluster that dies with
    # the run, where a crash need not keep anything.
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$root'
password_encryption = 'scram-sha-256'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

    trove_as_postgres "$TROVE_POSTGRES_BIN/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 start >/dev/null || {
        cat "$root/server.log" >&2
        return 1
    }
    local pid
    pid=$(head -1 "$data/postmaster.pid")
    trove_on_exit "trove_stop_postgres '$data' '$pid'"
    trove_wait_for_port "$port" 30 "PostgreSQL" || return 1

    trove_as_postgres "$TROVE_POSTGRES_BIN/psql" -h "$root" -p "$port" -U postgres -d postgres -q \
        -v ON_ERROR_STOP=1 -v password="$password" >/dev/null <<'SQL' || return 1
SET password_encryption = 'scram-sha-256';
CREATE ROLE trove LOGIN PASSWORD :'password';
CREATE DATABASE trove_test OWNER trove;
SQL
    export TROVE_TEST_POSTGRES_URL="postgres://trove:$password@127.0.0.1:$port/trove_test"
    # For tests that need the server itself (a restart, a superuser's view).
    export TROVE_TEST_POSTGRES_DATA="$data"
    echo "   PostgreSQL $("$TROVE_POSTGRES_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $pid)"
}

# Stops the server of DATA: a fast shutdown with pg_ctl, then by PID if it is still there.
trove_stop_postgres() {
    local data=$1 pid=$2
    trove_as_postgres "$TROVE_POSTGRES_BIN/pg_ctl" -D "$data" -m fast -w -t 20 stop >/dev/null 2>&1 || true
    trove_stop_pid "$pid"
}
