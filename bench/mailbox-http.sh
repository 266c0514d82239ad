#!/usr/bin/env bash
# Issue 16's mailbox measurement over the wire (bench/README.md,
# "mailbox-http"): sends per second and inbox reads per second through one
# running gateway on its embedded SQLite store, over REST with API keys,
# measured with wrk: what an agent sees. bench/mailbox.sh measures the
# Mailbox API alone, without HTTP in front.
#
# Not a direct/gateway pair like run.sh's scenarios (there is no mailbox
# without Warden): the same run also measures a request that does no
# mailbox work on the same gateway (GET /.well-known/jwks.json), so each
# figure can be read as a ratio to the machine's speed at that moment, and
# the gateway's CPU time per request is reported beside it (it holds up
# when the machine is busy). Rounds alternate the scenarios; medians.
#
#   PROFILE  [release]  or debug (quick and meaningless figures)
#   BUILD    [1]        0: reuse the binary built before
#   SECS     [10]       seconds per wrk run
#   ROUNDS   [3]        rounds of (reference, send, inbox)
#   CONNS    [32]       wrk connections (closed loop, keep-alive)
#   LIMIT    [20]       messages per inbox page read
#   PIN      [1]        gateway on CPU 0, wrk on the last CPU (taskset); 0: not pinned
#   PORT     [18680]    gateway port (the admin listener takes PORT+1)
#
# A tiny run: PROFILE=debug SECS=1 ROUNDS=1 bench/mailbox-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
BUILD=${BUILD:-1}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
LIMIT=${LIMIT:-20}
PIN=${PIN:-1}
PORT=${PORT:-18680}
ADMIN_PORT=$((PORT + 1))
BENCH=$PWD/bench

log() { echo "mailbox-http.sh: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

for tool in curl jq awk taskset; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
if ! command -v wrk >/dev/null; then
  log "installing wrk from the distribution's archive"
  SUDO=()
  [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 ||
    die "could not install wrk (apt-get install wrk)"
fi

case "$PROFILE" in
  release) ARGS=(--release) ;;
  debug) ARGS=() ;;
  *) die "PROFILE is release or debug" ;;
esac
if [ "$BUILD" = 1 ]; then
  log "cargo build ${ARGS[*]} -p warden"
  cargo build "${ARGS[@]}" -q -p warden
fi
bin="${CARGO_TARGET_DIR:-target}/$PROFILE/warden"
[ -x "$bin" ] || die "no binary at $bin (BUILD=1 builds it)"

NCPU=$(nproc)
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ]; then
  SRV=(taskset -c 0)
  LOAD=(taskset -c "$((NCPU - 1))")
  PINNING="gateway on CPU 0, wrk on CPU $((NCPU - 1)) (taskset)"
else
  SRV=()
  LOAD=()
  PINNING="not pinned"
fi

work=$(mktemp -d)
gw_pid=
cleanup() {
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Rates and quotas out of the way: the bench measures the work of a send,
# not the limits (which refuse a burst of thousands from one agent).
cat >"$work/warden.toml" <<EOF
[gateway]
listen = "127.0.0.1:$PORT"
data_dir = "$work/data"
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[rate_limits]
source = { rate = "1000000/s", burst = 1000000 }
principal = { rate = "1000000/s", burst = 1000000 }
[mailbox]
sender_rate = { rate = "1000000/s", burst = 1000000 }
pair_rate = { rate = "1000000/s", burst = 1000000 }
inbox_max_messages = 100000000
inbox_max_bytes = 1099511627776
EOF
cfg=(--config "$work/warden.toml")
for a in alice bob; do "$bin" registry add "$a" "${cfg[@]}" >/dev/null; done
ALICE=$("$bin" apikey create --sub alice "${cfg[@]}")
BOB=$("$bin" apikey create --sub bob "${cfg[@]}")

for port in "$PORT" "$ADMIN_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is taken by another process (PORT=N picks another pair)"
  fi
done
"${SRV[@]}" "$bin" gateway "${cfg[@]}" >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || die "the gateway stopped: $(tail -5 "$work/gateway.log")"
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null || die "the gateway is not ready"
base="http://127.0.0.1:$PORT"

# bob grants alice; one send and one inbox read, checked, before any run.
curl -fsS -X POST "$base/mail/v1/grants" -H "X-API-Key: $BOB" -H 'Content-Type: application/json' \
  -d '{"sender":"alice"}' >/dev/null || die "bob could not grant alice"
sent=$(curl -sS -w '\n%{http_code}' -X POST "$base/mail/v1/messages" -H "X-API-Key: $ALICE" \
  -H 'Content-Type: application/json' --data-binary @"$BENCH/wrk/mail-send.json")
[ "$(tail -1 <<<"$sent")" = 201 ] || die "a send was not stored: $sent"
page=$(curl -fsS "$base/mail/v1/inbox?limit=$LIMIT" -H "X-API-Key: $BOB")
[ "$(jq '.messages | length' <<<"$page")" -ge 1 ] || die "bob's inbox is empty: $page"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$gw_pid/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# One wrk run: prints "rps p50_us p99_us cpu_us_per_request".
run() {
  local script=$1 path=$2 key=$3 before after out line reqs
  before=$(cpu_ticks)
  out=$(API_KEY=$key "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$BENCH/wrk/$script" "$base$path")
  after=$(cpu_ticks)
  line=$(grep '^BENCH ' <<<"$out") || die "wrk printed no summary: $out"
  if ! grep -q 'connect=0 read=0 write=0 status=0 timeout=0 checked=[0-9]* bad=0' <<<"$line"; then
    die "$script: failed requests: $line $(grep '^BENCH-FIRST-BAD' <<<"$out" || true)"
  fi
  reqs=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
  awk -v l="$line" -v t=$((after - before)) -v us="$TICK_US" -v n="$reqs" 'BEGIN {
    split(l, f, " "); for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "%.0f %d %d %.0f\n", v["rps"], v["p50_us"], v["p99_us"], (n > 0 ? t * us / n : 0)
  }'
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R
for r in $(seq 1 "$ROUNDS"); do
  log "round $r of $ROUNDS"
  R[ref,$r]=$(run mail-reference.lua /.well-known/jwks.json "-")
  R[send,$r]=$(run mail-send.lua /mail/v1/messages "$ALICE")
  R[inbox,$r]=$(run mail-inbox.lua "/mail/v1/inbox?limit=$LIMIT" "$BOB")
done

col() { # scenario, field (1 rps, 2 p50, 3 p99, 4 cpu)
  for r in $(seq 1 "$ROUNDS"); do awk -v f="$2" '{print $f}' <<<"${R[$1,$r]}"; done | median
}

echo "# mailbox over HTTP, $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo
echo "Command: \`PROFILE=$PROFILE SECS=$SECS ROUNDS=$ROUNDS CONNS=$CONNS LIMIT=$LIMIT PIN=$PIN bench/mailbox-http.sh\`;"
echo "$NCPU CPUs, $PINNING; load average before the runs $load_before."
echo "One gateway on its embedded SQLite store, wrk closed loop ($CONNS connections, 1 thread), API keys in X-API-Key."
echo
echo "| scenario | req/s (median of $ROUNDS) | ratio to reference | p50 µs | p99 µs | gateway CPU µs per request | target |"
echo "|---|---|---|---|---|---|---|"
ref=$(col ref 1)
for s in ref send inbox; do
  case $s in
    ref) name="reference: \`GET /.well-known/jwks.json\`"; target="—" ;;
    send) name="send: \`POST /mail/v1/messages\` (alice → bob, one text part)"; target="≥ 5,000/s" ;;
    inbox) name="inbox read: \`GET /mail/v1/inbox?limit=$LIMIT\` (bob)"; target="≥ 10,000/s" ;;
  esac
  rps=$(col "$s" 1)
  ratio=$(awk -v a="$rps" -v b="$ref" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  echo "| $name | $rps | $ratio | $(col "$s" 2) | $(col "$s" 3) | $(col "$s" 4) | $target |"
done
echo
printf 'Every round (req/s):'
for r in $(seq 1 "$ROUNDS"); do
  printf ' round %s: reference %s, send %s, inbox %s;' "$r" "$(cut -d' ' -f1 <<<"${R[ref,$r]}")" \
    "$(cut -d' ' -f1 <<<"${R[send,$r]}")" "$(cut -d' ' -f1 <<<"${R[inbox,$r]}")"
done
echo
echo
echo "Every response was checked (201 with a message id; 200 with a page of messages; the JWKS); no request failed."
