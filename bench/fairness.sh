#!/usr/bin/env bash
# shellcheck disable=SC2016 # awk programs are single-quoted on purpose
# Does one caller's flood hurt another caller? A gateway with a per-caller
# rate limit (FAIR_LIMIT, burst FAIR_BURST) in front of the null responder,
# and two registered callers with API keys:
#
#   B, well-behaved: one connection, a pause of FAIR_PACE_MS before each
#      request (well under its limit), FAIR_DURATION per run;
#   A, a flood: FAIR_CONNECTIONS connections, as fast as they go (far over
#      its limit: mostly 429).
#
# Each round measures B alone, then B while A floods (the order alternates
# between rounds), in the same run. The figures: B's p50 and p99 during the
# flood ÷ alone (1.0: the flood costs B nothing), B's refused requests
# (must be 0), and A's share of 429s. See bench/README.md.
#
#   bench/fairness.sh                         # standalone: a report of its own
#   SCENARIOS=fairness bench/run.sh           # the same, as a section of run.sh's report
#
# Environment (defaults in brackets):
#   FAIR_DURATION    [30s]   each of B's runs (A floods 2 s longer, from 1 s before)
#   FAIR_ROUNDS      [3]     alone/flood pairs
#   FAIR_WARMUP      [3s]    B alone, then A alone, before the rounds ("0" skips it)
#   FAIR_PACE_MS     [25]    B's pause before each request (~38 req/s)
#   FAIR_LIMIT       [50/s]  the per-caller limit (rate_limits.principal.rate)
#   FAIR_BURST       [50]    its burst
#   FAIR_CONNECTIONS [16]    A's connections
#   PIN, SERVER_CPUS, WRK_CPUS, BUILD, WARDEN_BIN, OUT_DIR, KEEP_WORK: as in
#                            bench/run.sh (both wrk processes run on WRK_CPUS)
#   FAIR_REPORT      []      write the markdown section here (run.sh sets it)
#                            instead of a report in OUT_DIR
#   FAIR_SUMMARY     []      and the summary table here
#   PROFILE          [0]     "1": after the rounds, A floods alone once more for
#                            FAIR_DURATION with perf recording the gateway (the
#                            cost of refusing); the top symbols go in the report
#                            and the recording in FAIR_PROFILE_DIR (run.sh sets
#                            it) or beside the report, in <report>-profiles/.
#                            PROFILE_FREQ, PROFILE_CALLGRAPH, PROFILE_TOP: see
#                            bench/profile.sh
#
# Exits non-zero if B had a request refused or failed, or A an answer other
# than a success or a 429, after writing the report.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
WRK_DIR="$BENCH/wrk"

INVOKED=""
for knob in FAIR_DURATION FAIR_ROUNDS FAIR_WARMUP FAIR_PACE_MS FAIR_LIMIT FAIR_BURST FAIR_CONNECTIONS PIN \
  SERVER_CPUS WRK_CPUS BUILD WARDEN_BIN OUT_DIR KEEP_WORK PROFILE; do
  [ -n "${!knob:-}" ] && INVOKED+="$knob=$(printf '%q' "${!knob}") "
done
INVOKED+="bench/fairness.sh"

FAIR_DURATION=${FAIR_DURATION:-30s}
FAIR_ROUNDS=${FAIR_ROUNDS:-3}
FAIR_WARMUP=${FAIR_WARMUP:-3s}
FAIR_PACE_MS=${FAIR_PACE_MS:-25}
FAIR_LIMIT=${FAIR_LIMIT:-50/s}
FAIR_BURST=${FAIR_BURST:-50}
FAIR_CONNECTIONS=${FAIR_CONNECTIONS:-16}
PIN=${PIN:-auto}
BUILD=${BUILD:-1}
OUT_DIR=${OUT_DIR:-$BENCH/results}
KEEP_WORK=${KEEP_WORK:-0}
FAIR_REPORT=${FAIR_REPORT:-}
FAIR_SUMMARY=${FAIR_SUMMARY:-}
PROFILE=${PROFILE:-0}
FAIR_PROFILE_DIR=${FAIR_PROFILE_DIR:-}
# Every response is checked: the counters (successes, 429s) come from it.
export CHECK_BODIES=1

log() { printf '[fairness %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

for tool in curl jq awk taskset wrk; do
  command -v "$tool" >/dev/null || die "$tool is needed (bench/run.sh installs wrk)"
done

cd "$ROOT"
if [ -z "${WARDEN_BIN:-}" ]; then
  if [ "$BUILD" != 0 ]; then
    log "cargo build --release -p warden"
    cargo build --release -p warden
  fi
  WARDEN_BIN="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/release/warden"
fi
[ -x "$WARDEN_BIN" ] || die "no binary at $WARDEN_BIN"
"$WARDEN_BIN" --help | grep -q '^ *grant' || die "$WARDEN_BIN has no authorisation (\`warden grant\`)"

# seconds_of 10s|2m|10 — a wrk duration in seconds.
seconds_of() {
  case $1 in
    *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
  esac
}
B_SECS=$(seconds_of "$FAIR_DURATION")
A_SECS=$((B_SECS + 2))

NCPU=$(nproc)
if [ "$PIN" = auto ]; then
  if [ "$NCPU" -ge 2 ]; then PIN=1; else PIN=0; fi
fi
if [ "$PIN" = 1 ]; then
  if [ "$NCPU" -le 2 ]; then DEFAULT_SERVER_CPUS=0; else DEFAULT_SERVER_CPUS="0-$((NCPU - 2))"; fi
  SERVER_CPUS=${SERVER_CPUS:-$DEFAULT_SERVER_CPUS}
  WRK_CPUS=${WRK_CPUS:-$((NCPU - 1))}
  SRV=(taskset -c "$SERVER_CPUS")
  LOAD=(taskset -c "$WRK_CPUS")
  PINNING="servers on CPU $SERVER_CPUS, both wrk processes on CPU $WRK_CPUS (taskset)"
else
  SRV=()
  LOAD=()
  PINNING="none"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-fairness.XXXXXX")
mkdir -p "$WORK/raw"
declare -A PID=()
PROFILE_OK=0 PROFILE_NOTE="" PROFILE_PID=""
if [ "$PROFILE" = 1 ]; then
  # shellcheck source=bench/profile.sh
  . "$BENCH/profile.sh"
  mkdir -p "$WORK/profiles"
  profile_init "$WORK"
  [ "$PROFILE_OK" = 1 ] || log "PROFILE=1: $PROFILE_NOTE"
fi
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$PROFILE_PID" ]; then kill -INT "$PROFILE_PID" 2>/dev/null || true; fi
  for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  for name in "${!PID[@]}"; do
    for _ in $(seq 50); do
      kill -0 "${PID[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${PID[$name]}" 2>/dev/null || true
    wait "${PID[$name]}" 2>/dev/null || true
  done
  if [ "$KEEP_WORK" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # start NAME CMD...
  local name=$1
  shift
  "${SRV[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
}
url_of() { # url_of NAME PREFIX
  local name=$1 prefix=$2 url=""
  for _ in $(seq 200); do
    url=$(sed -n "s|^${prefix}[[:space:]]*\(http://[^[:space:]]*\).*|\1|p" "$WORK/$name.out" | head -n1)
    [ -n "$url" ] && break
    kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited: $(cat "$WORK/$name.err")"
    sleep 0.1
  done
  [ -n "$url" ] || die "$name printed no URL: $(cat "$WORK/$name.err")"
  printf '%s\n' "$url"
}

start null "$WARDEN_BIN" agent null --listen 127.0.0.1:0
NULL_URL=$(url_of null "agent [[:alpha:]]* listening on")
# Only the per-caller limit is meant to bite. Both callers come from
# 127.0.0.1, so the per-address limit is raised (between machines it would
# tell them apart); per pair and per skill keep their defaults (50/s and
# 200/s), which B stays under and which A's refused calls do not spend.
# Both callers send one body over and over: retries (`[retries]`, which
# answer a resent message id from the first answer) are turned off on builds
# that have them, so every allowed call reaches the agent.
RETRIES=""
printf '[gateway]\nlisten = "127.0.0.1:0"\ndata_dir = "%s/probe-store"\n\n[retries]\nwindow_secs = 0\n' "$WORK" >"$WORK/probe.toml"
if "$WARDEN_BIN" config check --offline "$WORK/probe.toml" >/dev/null 2>&1; then
  RETRIES=$'\n[retries]\nwindow_secs = 0\n'
fi
cat >"$WORK/gateway.toml" <<EOF
[gateway]
listen = "127.0.0.1:0"
data_dir = "$WORK/gateway-store"

[admin]
listen = "127.0.0.1:0"
$RETRIES

[auth]
mode = "strict"

[rate_limits]
source = { rate = "1000000/s", burst = 1000000 }
principal = { rate = "$FAIR_LIMIT", burst = $FAIR_BURST }

[[agents]]
name = "null"
url = "$NULL_URL"
# Benchmark agents (Warden demo code on loopback) do not sign their cards.
insecure_unsigned_card = true
EOF
declare -A KEY=()
for who in a b; do
  "${SRV[@]}" "$WARDEN_BIN" registry add "caller-$who" --grant null=null --config "$WORK/gateway.toml" \
    >"$WORK/registry.out" 2>&1 || die "warden registry add: $(cat "$WORK/registry.out")"
  KEY[$who]=$("${SRV[@]}" "$WARDEN_BIN" apikey create --sub "caller-$who" --config "$WORK/gateway.toml" 2>"$WORK/apikey.err") ||
    die "warden apikey create: $(cat "$WORK/apikey.err")"
done
start gateway "$WARDEN_BIN" gateway --config "$WORK/gateway.toml"
GW_URL=$(url_of gateway "gateway")
ADMIN_URL=$(url_of gateway "admin")
for _ in $(seq 50); do
  curl -fsS -m 2 "$ADMIN_URL/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS -m 2 "$ADMIN_URL/readyz" >/dev/null || die "the gateway is not ready: $(cat "$WORK/gateway.err")"
URL="$GW_URL/agents/null"
log "null $NULL_URL  gateway $GW_URL ($PINNING)"
# Right after start, before any load.
IDLE_RSS_KB=$(awk '$1 == "VmRSS:" {print $2}' "/proc/${PID[gateway]}/status")

check() { # check WHO — one call with curl, a success or die
  local code
  code=$(curl -sS -m 10 -o "$WORK/check.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'A2A-Version: 1.0' -H "X-API-Key: ${KEY[$1]}" --data-binary "@$WRK_DIR/send.json" "$URL") || code=000
  [ "$code" = 200 ] && jq -e '(has("error") | not) and .result.task.status.state == "TASK_STATE_COMPLETED"' "$WORK/check.body" >/dev/null ||
    die "caller $1: $URL answered $code: $(head -c 600 "$WORK/check.body")"
}
check a
check b

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
field() { sed -n "s/^$1 .* $2=\\([0-9.]*\\).*/\\1/p; s/^$1 $2=\\([0-9.]*\\).*/\\1/p" "$3" | head -n1; }

# b_run RAW SECONDS — B's paced one-connection load.
b_run() {
  local cmd=("${LOAD[@]}" env API_KEY="${KEY[b]}" PACE_MS="$FAIR_PACE_MS" wrk -t1 -c1 -d"$2s" --latency
    -s "bench/wrk/fair-paced.lua" "$URL")
  printf '$ %s\n' "${cmd[*]}" >"$1"
  "${cmd[@]}" >>"$1" 2>&1 || die "wrk failed: $(cat "$1")"
}
a_cmd() { # a_cmd SECONDS
  A_CMD=("${LOAD[@]}" env API_KEY="${KEY[a]}" wrk -t1 -c"$FAIR_CONNECTIONS" -d"$1s" --latency
    -s "bench/wrk/fair-flood.lua" "$URL")
}

if [ "$FAIR_WARMUP" != 0 ]; then
  WARM_SECS=$(seconds_of "$FAIR_WARMUP")
  log "warm-up: B alone $WARM_SECS s, then A alone $WARM_SECS s"
  b_run "$WORK/warm-b.txt" "$WARM_SECS"
  a_cmd "$WARM_SECS"
  "${A_CMD[@]}" >"$WORK/warm-a.txt" 2>&1 || die "wrk failed: $(cat "$WORK/warm-a.txt")"
  sleep 2
fi

# Columns: round phase b_requests b_p50 b_p99 b_max b_failed b_limited b_rps
#          a_requests a_ok a_limited a_bad a_errors a_rps gateway_cpu_pct
ROWS="$WORK/rows.tsv"
: >"$ROWS"
RUN=0
measure() { # measure ROUND PHASE
  local round=$1 phase=$2 raw_b raw_a="" g0 g1 t0 t1 a_pid=""
  RUN=$((RUN + 1))
  raw_b="$WORK/raw/$(printf '%02d' "$RUN")-round$round-$phase-B.txt"
  g0=$(cpu_ticks "${PID[gateway]}")
  t0=$(date +%s%N)
  if [ "$phase" = flood ]; then
    raw_a="$WORK/raw/$(printf '%02d' "$RUN")-round$round-$phase-A.txt"
    a_cmd "$A_SECS"
    printf '$ %s\n' "${A_CMD[*]}" >"$raw_a"
    "${A_CMD[@]}" >>"$raw_a" 2>&1 &
    a_pid=$!
    sleep 1
    g0=$(cpu_ticks "${PID[gateway]}")
    t0=$(date +%s%N)
  fi
  b_run "$raw_b" "$B_SECS"
  g1=$(cpu_ticks "${PID[gateway]}")
  t1=$(date +%s%N)
  if [ -n "$a_pid" ]; then
    wait "$a_pid" || die "wrk (A) failed: $(cat "$raw_a")"
  fi
  local b_req b_p50 b_p99 b_max b_fail b_lim b_rps a_req=0 a_ok=0 a_lim=0 a_bad=0 a_err=0 a_rps=0 gw_pct
  b_req=$(field BENCH requests "$raw_b")
  b_p50=$(field BENCH p50_us "$raw_b")
  b_p99=$(field BENCH p99_us "$raw_b")
  b_max=$(field BENCH max_us "$raw_b")
  b_rps=$(field BENCH rps "$raw_b")
  b_fail=$(grep '^BENCH ' "$raw_b" | tr ' ' '\n' | awk -F= '$1 ~ /^(connect|read|write|timeout|bad)$/ {s += $2} END {print s + 0}')
  b_lim=$(field BENCH-COUNTERS limited "$raw_b")
  if [ -n "$raw_a" ]; then
    a_req=$(field BENCH requests "$raw_a")
    a_rps=$(field BENCH rps "$raw_a")
    a_ok=$(field BENCH-COUNTERS ok "$raw_a")
    a_lim=$(field BENCH-COUNTERS limited "$raw_a")
    a_bad=$(field BENCH bad "$raw_a")
    a_err=$(grep '^BENCH ' "$raw_a" | tr ' ' '\n' | awk -F= '$1 ~ /^(connect|read|write|timeout)$/ {s += $2} END {print s + 0}')
  fi
  gw_pct=$(awk -v t=$((g1 - g0)) -v hz="$CLK_TCK" -v w=$(((t1 - t0) / 1000)) 'BEGIN {printf "%.0f", 100 * t / hz * 1e6 / w}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$phase" "$b_req" "$b_p50" "$b_p99" \
    "$b_max" "$b_fail" "${b_lim:-0}" "$b_rps" "$a_req" "${a_ok:-0}" "${a_lim:-0}" "${a_bad:-0}" "$a_err" "$a_rps" "$gw_pct" >>"$ROWS"
  log "  round $round $phase: B $b_req requests, p50 $(awk -v u="$b_p50" 'BEGIN {printf "%.3f", u / 1000}') ms," \
    "p99 $(awk -v u="$b_p99" 'BEGIN {printf "%.3f", u / 1000}') ms, $b_fail failed$([ -n "$raw_a" ] &&
      echo "; A $a_req requests, $a_ok ok, $a_lim 429, $a_bad bad, $a_err socket errors"); gateway CPU $gw_pct %"
  sleep 1
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$FAIR_ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="alone flood"; else order="flood alone"; fi
  for phase in $order; do measure "$round" "$phase"; done
done
FINISHED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
RSS_KB=$(awk '$1 == "VmHWM:" {print $2}' "/proc/${PID[gateway]}/status")
# PROFILE=1: A's flood alone once more, perf recording the gateway.
PROFILE_MD=""
if [ "$PROFILE_OK" = 1 ]; then
  log "profiling the gateway (perf record) during A's flood alone, $FAIR_DURATION (not measured)"
  a_cmd "$B_SECS"
  profile_start "${PID[gateway]}" "$WORK/profiles/fairness.perf.data"
  if ! "${A_CMD[@]}" >"$WORK/profiles/fairness.wrk.txt" 2>&1; then
    profile_stop
    die "wrk failed: $(cat "$WORK/profiles/fairness.wrk.txt")"
  fi
  profile_stop
  PROFILE_MD=$(profile_report "$WORK/profiles/fairness.perf.data" "fairness: the gateway during A's flood alone, $FAIR_CONNECTIONS connections, $FAIR_DURATION")
fi
METRICS=$(curl -fsS -m 5 "$ADMIN_URL/metrics" | grep -E '^warden_(requests_total|authz_refusals_total)' || true)

# --- the report ---------------------------------------------------------------

med() { awk '$1 != "nan"' | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
col() { awk -F'\t' -v p="$1" '$2 == p {print '"$2"'}' "$ROWS"; }
# Per round: flood ÷ alone.
per_round() {
  awk -F'\t' '{for (i = 1; i <= NF; i++) V[$1, $2, i] = $i; r[$1] = 1}
    END {for (k in r) {split("", a); split("", f); for (i = 1; i <= 16; i++) {a[i] = V[k, "alone", i]; f[i] = V[k, "flood", i]}
      print '"$1"'}}' "$ROWS"
}
ms() { awk -v u="$1" 'BEGIN {if (u == "nan") print "–"; else printf "%.3f ms", u / 1000}'; }
num() { awk -v x="$1" -v f="$2" 'BEGIN {if (x == "nan") print "–"; else printf f, x}'; }

alone50=$(col alone '$4' | med)
alone99=$(col alone '$5' | med)
flood50=$(col flood '$4' | med)
flood99=$(col flood '$5' | med)
ratio50=$(per_round '(a[4] > 0 ? f[4] / a[4] : "nan")' | med)
ratio99=$(per_round '(a[5] > 0 ? f[5] / a[5] : "nan")' | med)
B_FAILED=$(awk -F'\t' '{s += $7} END {print s + 0}' "$ROWS")
B_REQUESTS=$(awk -F'\t' '{s += $3} END {print s + 0}' "$ROWS")
A_REQUESTS=$(awk -F'\t' '{s += $10} END {print s + 0}' "$ROWS")
A_LIMITED=$(awk -F'\t' '{s += $12} END {print s + 0}' "$ROWS")
A_BAD=$(awk -F'\t' '{s += $13 + $14} END {print s + 0}' "$ROWS")
a_share=$(awk -v l="$A_LIMITED" -v n="$A_REQUESTS" 'BEGIN {if (n > 0) printf "%.1f %%", 100 * l / n; else print "–"}')
a_ok_rate=$(col flood '$11 / '"$A_SECS" | med)
# What the limiter should let through: the rate, plus the burst once (A's
# allowance is full when each flood starts).
a_ok_expected=$(awk -v r="$FAIR_LIMIT" -v b="$FAIR_BURST" -v s="$A_SECS" 'BEGIN {
    split(r, x, "/"); per = (x[2] == "h" ? 3600 : x[2] == "m" ? 60 : 1); printf "%.1f", x[1] / per + b / s }')
gw_alone=$(col alone '$16' | med)
gw_flood=$(col flood '$16' | med)

SUMMARY_MD=$(
  echo "Fairness ($FAIR_ROUNDS rounds; per-caller limit $FAIR_LIMIT, burst $FAIR_BURST): caller B, one connection paced at one request per ${FAIR_PACE_MS} ms, $FAIR_DURATION alone and $FAIR_DURATION while caller A floods with $FAIR_CONNECTIONS connections."
  echo
  echo "| B p50 / p99 alone | B p50 / p99 during the flood | **B p50 ratio** | B p99 ratio | B refused or failed | A's answers that were 429 | A's successes/s (limit + burst ÷ ${A_SECS}s) | gateway CPU alone / flood |"
  echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
  printf '| %s / %s | %s / %s | **%s** | %s | %s of %s | %s of %s | %s (%s) | %s %% / %s %% |\n' \
    "$(ms "$alone50")" "$(ms "$alone99")" "$(ms "$flood50")" "$(ms "$flood99")" "$(num "$ratio50" %.2f)" \
    "$(num "$ratio99" %.2f)" "$B_FAILED" "$B_REQUESTS" "$a_share" "$A_REQUESTS" "$(num "$a_ok_rate" %.1f)" "$a_ok_expected" \
    "$gw_alone" "$gw_flood"
)

# Standalone: the report's name (profiles go beside it, in <report>-profiles/).
if [ -z "$FAIR_REPORT" ]; then
  GIT_HEAD=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -z "$(git -C "$ROOT" status --porcelain -- . ':(exclude)bench' 2>/dev/null)" ]; then TAG=$GIT_HEAD; else TAG=worktree; fi
  mkdir -p "$OUT_DIR"
  REPORT="$OUT_DIR/$(date -u +%Y-%m-%d)-$TAG-fairness.md"
  [ -e "$REPORT" ] && REPORT="$OUT_DIR/$(date -u +%Y-%m-%d-%H%M%S)-$TAG-fairness.md"
  PROFILES_LINK="$(basename "${REPORT%.md}")-profiles/"
else
  # run.sh: where its report will find them.
  PROFILES_LINK=${FAIR_PROFILES_LINK:-}
fi

SECTION_MD=$(
  echo "## Fairness — one caller's flood, another caller's latency"
  echo
  echo "\`bench/fairness.sh\`: a gateway with strict authentication and a per-caller limit of $FAIR_LIMIT (burst $FAIR_BURST; per"
  echo "address raised to 1,000,000/s since both callers come from 127.0.0.1; per pair and per skill at their defaults) in front"
  echo "of the null responder, and two registered callers with API keys, both granted skill \`null\`. B sends one request at a"
  echo "time with a pause of $FAIR_PACE_MS ms before each (wrk's \`delay()\`, not counted in the latency), well under its limit;"
  echo "A floods with $FAIR_CONNECTIONS connections and no pause, far over its limit. Each round runs B alone and B during A's"
  echo "flood ($FAIR_DURATION each; A starts 1 s before B and stops 1 s after), the order alternating between rounds; ratios are"
  echo "per round (flood ÷ alone), then the median. A refused call costs the gateway authentication (the API-key lookup) and the"
  echo "authorisation decision before the limit answers 429, so the flood still takes gateway CPU."
  echo
  echo '```'
  echo "$INVOKED"
  echo '```'
  echo
  echo "Started $STARTED, finished $FINISHED (UTC); load average $LOADAVG_START before, $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
  echo "pinning: $PINNING; gateway RSS idle (right after start) $(awk -v k="$IDLE_RSS_KB" 'BEGIN {printf "%.1f MiB", k / 1024}'), peak over the rounds $(awk -v k="$RSS_KB" 'BEGIN {printf "%.1f MiB", k / 1024}')."
  echo
  echo "$SUMMARY_MD"
  echo
  echo "| round | phase | B requests | B req/s | B p50 | B p99 | B max | B failed (429) | A requests | A ok | A 429 | A other | A req/s | gateway CPU |"
  echo "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  awk -F'\t' '{printf "| %s | %s | %d | %.1f | %.3f ms | %.3f ms | %.3f ms | %d (%d) | %s | %s | %s | %s | %s | %s %% |\n",
      $1, $2, $3, $9, $4 / 1000, $5 / 1000, $6 / 1000, $7, $8,
      ($2 == "flood" ? $10 : "–"), ($2 == "flood" ? $11 : "–"), ($2 == "flood" ? $12 : "–"),
      ($2 == "flood" ? $13 + $14 : "–"), ($2 == "flood" ? sprintf("%.0f", $15) : "–"), $16}' "$ROWS"
  echo
  echo "Gateway CPU: the gateway process's CPU time ÷ wall time during B's run (100 % = one CPU). The gateway's counters at the end:"
  echo
  echo '```'
  echo "$METRICS"
  echo '```'
  echo
  if [ "$PROFILE" = 1 ]; then
    echo "#### Profile of the gateway (fairness)"
    echo
    if [ "$PROFILE_OK" = 1 ]; then
      echo "perf record of the gateway process while A flooded alone for $FAIR_DURATION after the rounds (not counted in the figures"
      echo "above): what refusing costs. Full report: [\`${PROFILES_LINK}fairness.perf.data.txt\`](${PROFILES_LINK}fairness.perf.data.txt); recording: \`${PROFILES_LINK}fairness.perf.data\` (not committed)."
      echo
      echo "$PROFILE_MD"
    else
      echo "Not recorded: $PROFILE_NOTE."
    fi
    echo
  fi
  echo "<details><summary>fairness gateway.toml</summary>"
  echo
  echo '```toml'
  sed "s|$WORK|\$WORK|g" "$WORK/gateway.toml"
  echo '```'
  echo
  echo "</details>"
  echo
  for f in "$WORK"/raw/*.txt; do
    echo "<details><summary>fairness $(basename "$f" .txt)</summary>"
    echo
    echo '```'
    cat "$f"
    echo '```'
    echo
    echo "</details>"
    echo
  done
)

if [ -n "$FAIR_REPORT" ]; then
  printf '%s\n' "$SECTION_MD" >"$FAIR_REPORT"
  [ -n "$FAIR_SUMMARY" ] && printf '%s\n' "$SUMMARY_MD" >"$FAIR_SUMMARY"
else
  {
    echo "# Warden fairness — $(date -u +%Y-%m-%d) ($TAG)"
    echo
    echo "\`$("$WARDEN_BIN" --version)\`, binary \`$WARDEN_BIN\`, $NCPU × $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -srm)."
    echo
    printf '%s\n' "$SECTION_MD"
  } >"$REPORT"
  log "report: ${REPORT#"$ROOT"/}"
fi
if [ "$PROFILE_OK" = 1 ]; then
  if [ -n "$FAIR_PROFILE_DIR" ]; then
    mkdir -p "$FAIR_PROFILE_DIR"
    mv "$WORK"/profiles/* "$FAIR_PROFILE_DIR"/
  else
    rm -rf "${REPORT%.md}-profiles"
    mv "$WORK/profiles" "${REPORT%.md}-profiles"
    log "profiles: ${REPORT%.md}-profiles/"
  fi
fi
printf '%s\n' "$SUMMARY_MD" >&2

[ "$B_FAILED" -eq 0 ] || die "B had $B_FAILED refused or failed requests"
[ "$A_BAD" -eq 0 ] || die "A had $A_BAD answers that were neither a success nor a 429, or socket errors"
