# Sourced by scripts/test (after scripts/lib/servers.sh): starts a Redis server for the
# TroveRedis suites on 127.0.0.1, on a free port, with its files in a directory of its own under
# $TROVE_SERVERS_DIR, and stops it by PID when the run ends.
#
# Exports TROVE_TEST_REDIS_URL (redis://127.0.0.1:PORT, no password), and
# TROVE_TEST_REDIS_SERVER, the redis-server binary, for the fault tests that start, kill and
# restart a server of their own.

start_redis_servers() {
    trove_apt_install redis-server redis-server
    local port dir pid
    port=$(trove_free_port)
    dir="$TROVE_SERVERS_DIR/redis-$port"
    mkdir -p "$dir"
    # No persistence to disk (the suites need none), loopback only, no protected-mode surprises.
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
        --daemonize no --logfile "$dir/redis.log" --protected-mode yes &
    pid=$!
    trove_on_exit "trove_stop_pid $pid"
    trove_wait_for_port "$port" 30 "redis-server" || { cat "$dir/redis.log" >&2; return 1; }
    export TROVE_TEST_REDIS_URL="redis://127.0.0.1:$port"
    TROVE_TEST_REDIS_SERVER=$(command -v redis-server)
    export TROVE_TEST_REDIS_SERVER
    echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port (pid $pid)"
}
