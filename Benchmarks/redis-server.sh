# Sourced by the Redis benchmarks, after scripts/lib/servers.sh: starts one redis-server
# without persistence on a free port of 127.0.0.1 in a temporary directory, stopped by PID when
# the script exits, and sets `port`.
start_bench_redis() {
    trove_servers_dir
    port=$(trove_free_port)
    redis-server --bind 127.0.0.1 --port "$port" --dir "$TROVE_SERVERS_DIR" --save "" --appendonly no \
        --daemonize no --logfile "$TROVE_SERVERS_DIR/redis.log" &
    local pid=$!
    trove_on_exit "trove_stop_pid $pid"
    trove_wait_for_port "$port" 30 "redis-server"
    echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$port" >&2
}
