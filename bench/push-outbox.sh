#!/usr/bin/env bash
# Issue 15's push-outbox measurement (bench/README.md, "push-outbox"):
# sustained deliveries from the durable outbox on SQLite, through the
# gateway's own worker and signing deliverer, to a receiver on loopback.
# Not a direct/gateway pair like run.sh's scenarios: one process, one
# SQLite file per measurement, a report in Markdown on stdout.
#
#   MODES      [sign drain steady]  any of sign, drain, drain-plain, steady
#   PROFILE    [release]            or debug (quick and meaningless figures)
#   N, TASKS, RATE, SECS, PRODUCERS, CONCURRENCY, MAX_IN_FLIGHT: passed on
#   (crates/warden-gateway/examples/push_outbox.rs says what they do).
#
# A tiny run: PROFILE=debug MODES="drain steady" N=200 RATE=100 SECS=1 bench/push-outbox.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
MODES=${MODES:-sign drain steady}
case "$PROFILE" in
  release) cargo build --release -q -p warden-gateway --example push_outbox ;;
  debug) cargo build -q -p warden-gateway --example push_outbox ;;
  *) echo "PROFILE is release or debug" >&2; exit 2 ;;
esac
bin="${CARGO_TARGET_DIR:-target}/$PROFILE/examples/push_outbox"
echo "# push-outbox, $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "Command: \`${N:+N=$N }${RATE:+RATE=$RATE }${SECS:+SECS=$SECS }${PRODUCERS:+PRODUCERS=$PRODUCERS }PROFILE=$PROFILE MODES=\"$MODES\" bench/push-outbox.sh\`; load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
for m in $MODES; do
  MODE=$m "$bin"
done
