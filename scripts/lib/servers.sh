# Shared by scripts/test and scripts/servers/*.sh (sourced, never run): starting servers on
# loopback for the tests, and stopping every one of them, by PID, however the run ends.
#
# Each scripts/servers/NAME.sh defines `start_NAME_servers`, which installs the server when it is
# missing, starts it under "$TROVE_SERVERS_DIR" on 127.0.0.1 only, exports the TROVE_TEST_*
# variables its test suites read, and registers how to stop it with `trove_on_exit`.

TROVE_EXIT_COMMANDS=()

# Runs COMMAND (a string) when the script exits, after every command registered later.
trove_on_exit() {
    TROVE_EXIT_COMMANDS+=("$1")
}

trove_run_exit_commands() {
    local index
    for ((index = ${#TROVE_EXIT_COMMANDS[@]} - 1; index >= 0; index--)); do
        eval "${TROVE_EXIT_COMMANDS[index]}" || true
    done
    TROVE_EXIT_COMMANDS=()
}

# Makes the directory every server keeps its files in, removed on exit.
trove_servers_dir() {
    if [ -z "${TROVE_SERVERS_DIR:-}" ]; then
        TROVE_SERVERS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/trove-servers.XXXXXX")
        chmod 755 "$TROVE_SERVERS_DIR"
        export TROVE_SERVERS_DIR
        trove_on_exit "rm -rf '$TROVE_SERVERS_DIR'"
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now, that no earlier call of this run
# printed, and that lies below the kernel's ephemeral range by 10,000 or more. A port from that
# range (what binding port 0 gives) can be taken as the source port of any outgoing connection
# (a cluster node's, a client's) before the server that was meant to listen on it starts; below
# it only listeners compete, and a Redis Cluster node's bus port (its port + 10,000) stays below
# it too.
trove_free_port() {
    python3 - "${TROVE_SERVERS_DIR:-}" <<'PY'
import os, random, socket, sys
record = os.path.join(sys.argv[1], "ports") if sys.argv[1] else None
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
used = set()
if record and os.path.exists(record):
    used = {int(line) for line in open(record) if line.strip()}
top = max(10100, low - 10001)
for _ in range(1000):
    port = random.randint(10000, top)
    if port in used:
        continue
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        probe.close()
    if record:
        with open(record, "a") as out:
            out.write(f"{port}\n")
    print(port)
    sys.exit(0)
sys.exit("no free port found below the ephemeral range")
PY
}

# Waits until something accepts connections on 127.0.0.1:PORT, for at most SECONDS (default 30).
# Fails, naming WHAT, if it does not.
trove_wait_for_port() {
    local port=$1 seconds=${2:-30} what=${3:-"a server"}
    if python3 - "$port" "$seconds" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
    then
        return 0
    fi
    echo "error: $what did not accept connections on 127.0.0.1:$port within ${seconds}s" >&2
    return 1
}

# Stops the process PID: SIGTERM, then SIGKILL if it is still there after SECONDS (default 10).
trove_stop_pid() {
    local pid=$1 seconds=${2:-10} waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((seconds * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Installs Debian's PACKAGES when COMMAND is not on the PATH.
trove_apt_install() {
    local command=$1
    shift
    command -v "$command" >/dev/null 2>&1 && return 0
    echo "== installing $*"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
