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

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
trove_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
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
