#!/usr/bin/env bash
# Renders the HTML readiness report of the demo cluster (with the upgrade horizon) and takes a PNG screenshot of it for the
# README: docs/report.png (with KEEP_HTML=1 also docs/report.html).
# Needs headless Chromium (Debian: apt-get install -y chromium). Offline: the page has no external
# assets and Chromium runs with its background networking off.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$CHROMIUM" ]; then
    echo "screenshot-report: chromium not found (apt-get install -y chromium, or set CHROMIUM=...)" >&2
    exit 2
fi
WIDTH="${WIDTH:-1280}"
HEIGHT="${HEIGHT:-1700}"
OUT="${OUT:-docs/report.png}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --quiet
# Exit code 1 means "the gate tripped" (the demo cluster is BLOCKED); anything else is a failure.
set +e
./target/debug/dockershim-audit cluster --snapshot fixtures/demo-cluster/snapshot.json \
    --target-version 1.24 --horizon --format html -o "$work/report.html"
rc=$?
set -e
if [ "$rc" -ne 1 ] && [ "$rc" -ne 0 ]; then
    echo "screenshot-report: dockershim-audit failed with exit code $rc" >&2
    exit "$rc"
fi

mkdir -p "$(dirname "$OUT")"
timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
    --user-data-dir="$work/profile" --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$WIDTH,$HEIGHT" --screenshot="$work/report.png" "file://$work/report.html" 2>"$work/chromium.log" || {
    cat "$work/chromium.log" >&2
    exit 1
}
cp "$work/report.png" "$OUT"
if [ "${KEEP_HTML:-0}" = "1" ]; then
    cp "$work/report.html" "${OUT%.png}.html"
fi
echo "screenshot-report: wrote $OUT ($(wc -c <"$OUT") bytes)"
