# Sourced by scripts/test (after scripts/lib/servers.sh): starts the Redis servers for the
# TroveRedis suites on 127.0.0.1, on free ports, with their files in directories of their own
# under $TROVE_SERVERS_DIR, and stops each of them by PID when the run ends.
#
# Exports TROVE_TEST_REDIS_URL (redis://127.0.0.1:PORT, no password); TROVE_TEST_REDIS_SERVER,
# the redis-server binary, for the fault tests that start, kill and restart a server of their
# own; and TROVE_TEST_REDIS_CLUSTER_URL (redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...), a
# Redis Cluster of 3 primaries and 3 replicas.

start_redis_servers() {
    trove_apt_install redis-server redis-server
    trove_apt_install redis-cli redis-tools
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
    start_redis_cluster
}

# Six cluster-enabled redis-servers, joined by `redis-cli --cluster create` into 3 primaries
# with one replica each; waits until every node reports cluster_state:ok.
start_redis_cluster() {
    local ports=() port dir pid index
    for index in 1 2 3 4 5 6; do
        # A cluster node also listens on PORT + 10000 (the cluster bus), so both must be free.
        while :; do
            port=$(trove_free_port)
            if [ "$port" -lt 55000 ] && ! (echo >"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null \
                && [[ " ${ports[*]} " != *" $port "* && " ${ports[*]} " != *" $((port + 10000)) "* \
                    && " ${ports[*]} " != *" $((port - 10000)) "* ]]; then
                break
            fi
        done
        # No later call of trove_free_port hands out the bus port.
        echo "$((port + 10000))" >>"$TROVE_SERVERS_DIR/ports"
        dir="$TROVE_SERVERS_DIR/redis-cluster-$port"
        mkdir -p "$dir"
        # A short node timeout, so that a killed primary's replica takes over within seconds;
        # no delay before a full resynchronisation, so that a demoted primary is a replica in
        # step again at once.
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
            --daemonize no --logfile "$dir/redis.log" --protected-mode yes --repl-diskless-sync-delay 0 \
            --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout 3000 &
        pid=$!
        trove_on_exit "trove_stop_pid $pid"
        ports+=("$port")
    done
    local nodes=()
    for port in "${ports[@]}"; do
        trove_wait_for_port "$port" 30 "redis-server (cluster node)" \
            || { cat "$TROVE_SERVERS_DIR/redis-cluster-$port/redis.log" >&2; return 1; }
        nodes+=("127.0.0.1:$port")
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$TROVE_SERVERS_DIR/redis-cluster-create.log" 2>&1 \
        || { cat "$TROVE_SERVERS_DIR/redis-cluster-create.log" >&2; return 1; }
    local waited=0
    # Every node sees the slots covered, and three replicas attached (the failover test needs one).
    for port in "${ports[@]}"; do
        until redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' \
            && [ "$(redis-cli -h 127.0.0.1 -p "$port" cluster nodes 2>/dev/null | awk '$3 ~ /slave/' | wc -l)" -eq 3 ]; do
            if [ "$waited" -ge 600 ]; then
                echo "error: the Redis Cluster on ${nodes[*]} did not reach cluster_state:ok within 60s" >&2
                return 1
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
    done
    local seeds
    seeds=$(IFS=,; echo "${nodes[*]}")
    export TROVE_TEST_REDIS_CLUSTER_URL="redis+cluster://$seeds"
    echo "Redis Cluster of 3 primaries and 3 replicas on $seeds"
}
