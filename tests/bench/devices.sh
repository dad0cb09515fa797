#!/usr/bin/env bash
# Reproducible figures for the till's devices (issue 14, "Figures for your note"): builds the
# bench example (crates/coop-pos-devices/examples/devices.rs) in release and runs it: "card" to
# approved through the ZVT driver and through the payment bridge with the simulated terminal,
# and a 30-line receipt on a network printer stand-in. Env: RUNS (100).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
echo "devices.sh: building the bench (release)" >&2
(cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-pos-devices --example devices)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}/release
"$TARGET/examples/devices"
