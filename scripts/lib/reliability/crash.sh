#!/usr/bin/env bash
# The crash area of scripts/reliability: a writer process on each store configuration (file
# store buffered and fsync, SQLite synchronous=normal and full) killed with SIGKILL at seeded
# random moments, the store checked after every kill (Sources/TroveReliability/CrashCampaign.swift).
#
#   scripts/lib/reliability/crash.sh short|long OUTPUT.json
#
# The short mode kills each writer 80 times (about 90 seconds in all on two cores), the long mode
# 1,000 times. TROVE_RELIABILITY_SEED=N
# repeats a run. The store lives in a scratch folder that is removed however the run ends.
set -euo pipefail
mode=${1:?usage: crash.sh short|long OUTPUT.json}
output=${2:?usage: crash.sh short|long OUTPUT.json}
case "$output" in /*) ;; *) output=$PWD/$output ;; esac
cd "$(dirname "$0")/../../.."

swift build --product TroveReliability
binary="$(swift build --show-bin-path)/TroveReliability"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/trove-crash.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$binary" crash "$mode" "$output" "$scratch"
