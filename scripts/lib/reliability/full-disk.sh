#!/usr/bin/env bash
# The full-disk area of scripts/reliability: each store configuration on a small tmpfs of its
# own, filled until writes fail (Sources/TroveReliability/FullDiskCampaign.swift).
#
#   scripts/lib/reliability/full-disk.sh short|long OUTPUT.json
#
# Mounting needs root (CI runs as root): without it the area fails, and says so in its results.
# Every file system it mounts is unmounted however the run ends.
set -euo pipefail
mode=${1:?usage: full-disk.sh short|long OUTPUT.json}
output=${2:?usage: full-disk.sh short|long OUTPUT.json}
case "$output" in /*) ;; *) output=$PWD/$output ;; esac
cd "$(dirname "$0")/../../.."
command="scripts/reliability full-disk"
[ "$mode" = long ] && command="scripts/reliability --long full-disk"

if [ "$(id -u)" -ne 0 ]; then
    echo "full-disk: mounting the small tmpfs file systems this area fills needs root; run it as root (CI does)" >&2
    cat > "$output" <<JSON
{
  "area": "full-disk",
  "title": "Full and failing disks",
  "summary": "Not run: mounting the small tmpfs file systems this area fills needs root.",
  "mode": "$mode",
  "command": "$command",
  "started": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "seconds": 0,
  "rows": [],
  "notes": ["The area needs root to mount tmpfs file systems; it ran as user $(id -u) and checked nothing."],
  "ok": false
}
JSON
    exit 1
fi

swift build --product TroveReliability
binary="$(swift build --show-bin-path)/TroveReliability"

mounts=$(mktemp -d "${TMPDIR:-/tmp}/trove-full-disk.XXXXXX")
mounted=()
cleanup() {
    for point in "${mounted[@]}"; do
        # A file left open keeps a file system busy: detach it all the same.
        umount "$point" 2>/dev/null || umount -l "$point" || echo "full-disk: could not unmount $point" >&2
    done
    rm -rf "$mounts"
}
trap cleanup EXIT
for configuration in file-buffered file-fsync sqlite-normal sqlite-full; do
    mkdir "$mounts/$configuration"
    mount -t tmpfs -o size=16m tmpfs "$mounts/$configuration"
    mounted+=("$mounts/$configuration")
done
"$binary" full-disk "$mode" "$output" "$mounts"
