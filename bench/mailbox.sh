#!/usr/bin/env bash
# Issue 16's mailbox measurement: sends per second and inbox listings per
# second through warden-mailbox's Mailbox on a SQLite store file (targets:
# >= 5,000 sends/s and >= 10,000 inbox reads/s on the 2-core machine).
# The Mailbox API itself: validation, Warden's signature, the store's
# transaction (the SQLite writer's batches); no HTTP in front. One process,
# one SQLite file per mode, a Markdown table on stdout.
#
#   MODE     [both]     send, inbox or both
#   PROFILE  [release]  or debug (quick and meaningless figures)
#   N, PRODUCERS, READERS, SENDERS, RECIPIENTS, PAGE, SECS: passed on
#   (crates/warden-mailbox/examples/mailbox_bench.rs says what they do).
#
# A tiny run: PROFILE=debug N=2000 SECS=2 bench/mailbox.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
case "$PROFILE" in
  release) cargo build --release -q -p warden-mailbox --example mailbox_bench ;;
  debug) cargo build -q -p warden-mailbox --example mailbox_bench ;;
  *) echo "PROFILE is release or debug" >&2; exit 2 ;;
esac
bin="${CARGO_TARGET_DIR:-target}/$PROFILE/examples/mailbox_bench"
echo "# mailbox, $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "Command: \`${N:+N=$N }${PRODUCERS:+PRODUCERS=$PRODUCERS }${READERS:+READERS=$READERS }${SECS:+SECS=$SECS }PROFILE=$PROFILE MODE=${MODE:-both} bench/mailbox.sh\`; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
MODE=${MODE:-both} "$bin"
