#!/usr/bin/env bash
# shellcheck disable=SC2016 # awk programs and expressions are single-quoted on purpose
# Warden's load benchmark. For each scenario, the same wrk load is sent
# straight to an upstream agent and through the gateway, alternately, in one
# run; the figures are the ratio (through / direct), the CPU-cost ratio (from
# each process's CPU time per request, which other load on the machine barely
# moves) and the added latency. See bench/README.md.
#
#   bench/run.sh
#   DURATION=30s CONNECTIONS=32 ROUNDS=5 bench/run.sh
#
# Environment (defaults in brackets):
#   DURATION      [10s]  each measured wrk run under load
#   CONNECTIONS   [16]   connections under load
#   THREADS       [1]    wrk threads
#   ROUNDS        [3]    direct/gateway pairs per scenario (order alternates)
#   WARMUP        [3s]   unmeasured run before each scenario, each side ("0"
#                        skips them)
#   LAT_DURATION  [5s]   each one-connection latency run ("0" skips them)
#   SCENARIOS     [jsonrpc-send sse-stream rest-send echo-send apikey-send bearer-send
#                  bearer-shared-one bearer-two bearer-shared authz-send mtls-send
#                  sse-10k fairness]
#                 (apikey-send needs a build with authentication, bearer-send
#                 and bearer-two one with `warden token mint --count`,
#                 bearer-shared and bearer-shared-one one that also takes
#                 `[shared]` (Redis) and a Redis server answering on
#                 127.0.0.1:6379 (else they are left out, with the reason in
#                 the log and the report, also when asked for; bearer-shared
#                 brings its companions bearer-shared-one and bearer-two, which
#                 its target lines compare it with, when they are not named;
#                 with SHARED_REPLICAS=1 it is one gateway and brings none),
#                 authz-send and
#                 fairness one with authorisation (`warden grant`), mtls-send
#                 one with authorisation and `warden token mint --cnf-x5t`
#                 (mTLS and certificate-bound tokens); each is left out by
#                 default when the binary cannot run it. mtls-send uses
#                 bench/loadgen (wrk cannot present a client certificate),
#                 built with cargo into LOADGEN_TARGET_DIR.
#                 `fairness` is not a direct/gateway pair: it runs
#                 bench/fairness.sh once the others are done, and its figures
#                 get a section of their own in the report; nor is `sse-10k`,
#                 which needs `warden agent null --stream-event-interval-ms`
#                 and python3: bench/sse_streams.py holds SSE10K_STREAMS
#                 streams open at once through a gateway of its own)
#   SSE10K_STREAMS          [10000] concurrent streams in sse-10k (fewer if
#                           the open-file limit cannot hold them; the report
#                           says so)
#   SSE10K_INTERVAL_MS      [10000] the upstream's pause between a stream's 5
#                           events: each stream lasts 4 × this, which must
#                           outlast the opening of all of them
#   SSE10K_OPEN_CONCURRENCY [256]   streams waiting for their response headers
#                           at a time while they are opened
#   PROFILE       [0]    "1": a CPU profile (perf record) of the gateway per
#                        scenario, in one extra run through the gateway after
#                        the measured ones (sse-10k: during its run); the
#                        report lists the top symbols by self time, and the
#                        perf.data and report text are kept beside the report
#                        in <report>-profiles/
#   PROFILE_DURATION [DURATION]  that extra run
#   PROFILE_FREQ, PROFILE_CALLGRAPH, PROFILE_TOP: see bench/profile.sh
#   LOADGEN_TARGET_DIR [/var/tmp/warden-loadgen-target]  where
#                        `cargo build --release` puts bench/loadgen's binary
#                        (only when mtls-send runs; always from this working
#                        tree's bench/, also with REV; a no-op when up to date)
#   SHARED_REPLICAS [2]  bearer-shared's gateways: 2, or 1 (one gateway with
#                        [shared] taking the whole load, as bearer-shared-one
#                        measures in the same run; kept for older invocations)
#   SHARED_REDIS  [own]  the Redis of bearer-shared and bearer-shared-one:
#                        "own", a redis-server the bench starts for the run
#                        (on a free loopback port, no persistence, pinned to
#                        the load generator's CPU like a server of its own,
#                        stopped at the end; the machine's Redis where the
#                        redis-server binary is missing), or "machine", the
#                        one answering on 127.0.0.1:6379 (shared with whatever
#                        else uses it, and not pinned)
#   BEARER_TTL    [90s]  lifetime of the single-use tokens bearer-send (and
#                        bearer-shared) mints
#                        before each gateway run (they must outlive the
#                        minting and the run; used ones stay in the gateway's
#                        replay cache until they expire, plus 30 s of leeway)
#   CHECK_BODIES  [1]    the wrk scripts check every response body ("0": only
#                        HTTP status and socket errors are counted)
#   PIN           [auto] pin wrk and the servers to different CPUs with taskset
#                        ("auto": when there are 2+ CPUs; "0": never)
#   SERVER_CPUS   [all but the last CPU]  for the gateway and the agents
#   WRK_CPUS      [the last CPU]          for wrk
#   BUILD         [1]    cargo build --release -p warden first ("0": reuse)
#   BUILD_PROFILE [release]  "debug": cargo build -p warden and the binary in
#                        <target>/debug (smoke runs only: a debug build's
#                        figures say nothing about performance)
#   REV           []     benchmark a committed revision instead of the working
#                        tree: it is exported with `git archive` to
#                        $BENCH_SRC_DIR/<sha> [/var/tmp/warden-bench-src] and
#                        built there into BENCH_TARGET_DIR
#                        [/var/tmp/warden-bench-target], so uncommitted edits
#                        neither break nor colour the figures
#   WARDEN_BIN    [<cargo target dir>/<BUILD_PROFILE>/warden]
#   OUT_DIR       [bench/results]  where the report (and profiles) go
#   UPDATE_README [1 when OUT_DIR is bench/results, else 0]  rewrite the
#                        "latest results" block of bench/README.md
#   KEEP_WORK     [0]    keep the temporary directory (logs, stores, raw output)
#   LABEL         []     appended to the report's name: <date>-<sha>-LABEL.md
#   FAIR_*               the fairness measurement's knobs (FAIR_DURATION,
#                        FAIR_ROUNDS, FAIR_WARMUP, FAIR_PACE_MS, FAIR_LIMIT,
#                        FAIR_BURST, FAIR_CONNECTIONS): see bench/fairness.sh
#
# Exits non-zero if any request failed (an HTTP error, a socket error, or a
# response body that is not a success) or an sse-10k stream did not
# complete, after writing the report.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
WRK_DIR="$BENCH/wrk"

# The invocation as given: the knobs set in the environment, then the script.
INVOKED=""
for knob in DURATION CONNECTIONS THREADS ROUNDS WARMUP LAT_DURATION SCENARIOS CHECK_BODIES PIN \
  SERVER_CPUS WRK_CPUS BUILD BUILD_PROFILE REV WARDEN_BIN OUT_DIR UPDATE_README KEEP_WORK LABEL BEARER_TTL SHARED_REPLICAS SHARED_REDIS LOADGEN_TARGET_DIR \
  BENCH_SRC_DIR BENCH_TARGET_DIR SSE10K_STREAMS SSE10K_INTERVAL_MS SSE10K_OPEN_CONCURRENCY \
  PROFILE PROFILE_DURATION PROFILE_FREQ PROFILE_CALLGRAPH PROFILE_TOP \
  FAIR_DURATION FAIR_ROUNDS FAIR_WARMUP FAIR_PACE_MS FAIR_LIMIT FAIR_BURST FAIR_CONNECTIONS; do
  [ -n "${!knob+x}" ] && INVOKED+="$knob=$(printf '%q' "${!knob}") "
done
INVOKED+="bench/run.sh${*:+ $*}"

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3s}
LAT_DURATION=${LAT_DURATION:-5s}
SCENARIOS=${SCENARIOS:-}
CHECK_BODIES=${CHECK_BODIES:-1}
PIN=${PIN:-auto}
BUILD=${BUILD:-1}
BUILD_PROFILE=${BUILD_PROFILE:-release}
OUT_DIR=${OUT_DIR:-$BENCH/results}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
# The README links the report: only a report under bench/results belongs there.
if [ "$OUT_DIR" = "$BENCH/results" ]; then UPDATE_README=${UPDATE_README:-1}; else UPDATE_README=${UPDATE_README:-0}; fi
SSE10K_STREAMS=${SSE10K_STREAMS:-10000}
SSE10K_INTERVAL_MS=${SSE10K_INTERVAL_MS:-10000}
SSE10K_OPEN_CONCURRENCY=${SSE10K_OPEN_CONCURRENCY:-256}
PROFILE=${PROFILE:-0}
PROFILE_DURATION=${PROFILE_DURATION:-$DURATION}
KEEP_WORK=${KEEP_WORK:-0}
REV=${REV:-}
BEARER_TTL=${BEARER_TTL:-90s}
SHARED_REPLICAS=${SHARED_REPLICAS:-2}
case $SHARED_REPLICAS in 1 | 2) ;; *) echo "SHARED_REPLICAS is 1 or 2, not $SHARED_REPLICAS" >&2 && exit 1 ;; esac
SHARED_REDIS=${SHARED_REDIS:-own}
case $SHARED_REDIS in own | machine) ;; *) echo "SHARED_REDIS is own or machine, not $SHARED_REDIS" >&2 && exit 1 ;; esac
LOADGEN_TARGET_DIR=${LOADGEN_TARGET_DIR:-/var/tmp/warden-loadgen-target}
export CHECK_BODIES

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# --- tools ------------------------------------------------------------------

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
case $BUILD_PROFILE in
  release) CARGO_PROFILE_ARGS=(--release) ;;
  debug) CARGO_PROFILE_ARGS=() ;;
  *) die "BUILD_PROFILE is release or debug, not $BUILD_PROFILE" ;;
esac
WRK_VERSION=$(wrk -v 2>&1 | head -n1 || true)

BUILD_DIR=$ROOT
if [ -n "$REV" ]; then
  REV_SHA=$(git -C "$ROOT" rev-parse --verify "$REV^{commit}") || die "no such revision: $REV"
  BUILD_DIR="${BENCH_SRC_DIR:-/var/tmp/warden-bench-src}/$REV_SHA"
  if [ ! -f "$BUILD_DIR/Cargo.toml" ]; then
    log "exporting $REV_SHA to $BUILD_DIR"
    mkdir -p "$BUILD_DIR"
    git -C "$ROOT" archive "$REV_SHA" | tar -x -C "$BUILD_DIR"
  fi
  # Its own target directory: building another source tree into the shared
  # one would replace the working tree's release binary.
  export CARGO_TARGET_DIR=${BENCH_TARGET_DIR:-/var/tmp/warden-bench-target}
fi
cd "$BUILD_DIR"
if [ "$BUILD" != 0 ]; then
  log "cargo build ${CARGO_PROFILE_ARGS[*]} -p warden (in $BUILD_DIR)"
  cargo build "${CARGO_PROFILE_ARGS[@]}" -p warden
fi
if [ -z "${WARDEN_BIN:-}" ]; then
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
  WARDEN_BIN="$TARGET_DIR/$BUILD_PROFILE/warden"
fi
# What the report calls the binary: a debug build's figures mean nothing.
case $WARDEN_BIN in
  */debug/*) BIN_KIND=debug ;;
  */release/*) BIN_KIND=release ;;
  *) BIN_KIND=$BUILD_PROFILE ;;
esac
cd "$ROOT"
[ -x "$WARDEN_BIN" ] || die "no binary at $WARDEN_BIN"
WARDEN_VERSION=$("$WARDEN_BIN" --version)
# Builds with authentication (strict by default) have `warden apikey`.
WARDEN_HELP=$("$WARDEN_BIN" --help)
if grep -q '^ *apikey' <<<"$WARDEN_HELP"; then HAS_AUTH=1; else HAS_AUTH=0; fi
# bearer-send mints its tokens in bulk with `warden token mint --count`.
HAS_MINT_COUNT=0
[ "$HAS_AUTH" = 1 ] && "$WARDEN_BIN" token mint --help 2>/dev/null | grep -q -- '--count' && HAS_MINT_COUNT=1
# Builds with authorisation (grants, policy rules, rate limits) have
# `warden grant`; their gateways take `[authz]` and `[rate_limits]`.
if grep -q '^ *grant' <<<"$WARDEN_HELP"; then HAS_AUTHZ=1; else HAS_AUTHZ=0; fi
# mtls-send sends one certificate-bound token (`warden token mint
# --cnf-x5t`, which came with the TLS listener and mTLS) to a gateway with
# authorisation (the caller's grant).
HAS_MTLS=0
[ "$HAS_AUTHZ" = 1 ] && "$WARDEN_BIN" token mint --help 2>/dev/null | grep -q -- '--cnf-x5t' && HAS_MTLS=1
# sse-10k holds streams open with a null responder that spaces its events.
HAS_STREAM_INTERVAL=0
"$WARDEN_BIN" agent --help 2>/dev/null | grep -q -- '--stream-event-interval-ms' && HAS_STREAM_INTERVAL=1
HAS_PYTHON=0
command -v python3 >/dev/null && HAS_PYTHON=1
# bearer-shared: two gateways sharing single-use ids and rate limits on
# Redis (`[shared]`, issue 14). Builds without it refuse the section
# (`unknown field`); `config check --offline` reads it without connecting
# anywhere. REDIS_PORT: the machine's Redis, or the bench's own once started
# (start_redis).
REDIS_PORT=6379
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
REDIS_MODE=$SHARED_REDIS REDIS_MODE_NOTE=""
if [ "$REDIS_MODE" = own ] && ! command -v redis-server >/dev/null; then
  REDIS_MODE=machine
  REDIS_MODE_NOTE="SHARED_REDIS=own, but there is no redis-server binary: the machine's Redis on 127.0.0.1:6379 instead"
fi
HAS_SHARED=0
if [ "$HAS_MINT_COUNT" = 1 ] && [ "$HAS_AUTHZ" = 1 ]; then
  SHARED_PROBE=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench-probe.XXXXXX")
  printf '[gateway]\nlisten = "127.0.0.1:0"\ndata_dir = "%s/store"\n\n[shared]\nredis_url = "%s"\nkey_prefix = "warden-bench-probe:"\n' \
    "$SHARED_PROBE" "$REDIS_URL" >"$SHARED_PROBE/shared.toml"
  "$WARDEN_BIN" config check --offline "$SHARED_PROBE/shared.toml" >/dev/null 2>&1 && HAS_SHARED=1
  rm -rf "$SHARED_PROBE"
fi
# Safe retries (`[retries]`): a SendMessage resent with the same message id
# is answered from the first answer. Every scenario here sends one body over
# and over, so the gateways turn retries off and every call reaches the
# agent; builds without the section would refuse it.
HAS_RETRIES=0
RETRIES_PROBE=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench-probe.XXXXXX")
printf '[gateway]\nlisten = "127.0.0.1:0"\ndata_dir = "%s/store"\n\n[retries]\nwindow_secs = 0\n' \
  "$RETRIES_PROBE" >"$RETRIES_PROBE/retries.toml"
"$WARDEN_BIN" config check --offline "$RETRIES_PROBE/retries.toml" >/dev/null 2>&1 && HAS_RETRIES=1
rm -rf "$RETRIES_PROBE"
# redis_ping [PORT] — Redis answers PING on 127.0.0.1:PORT (default
# REDIS_PORT; redis-cli, or bash's /dev/tcp where redis-cli is missing).
redis_ping() {
  local port=${1:-$REDIS_PORT}
  if command -v redis-cli >/dev/null; then
    [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]
  else
    timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"' && printf "PING\r\n" >&3 && read -r reply <&3 && [ "${reply%$'"'"'\r'"'"'}" = "+PONG" ]' 2>/dev/null
  fi
}
SHARED_SKIP="" SHARED_WHY=""
if [ "$HAS_SHARED" != 1 ]; then
  SHARED_WHY="it needs a build whose gateway takes \`[shared]\` (Redis) and \`warden token mint --count\`"
elif [ "$REDIS_MODE" = machine ] && ! redis_ping; then
  SHARED_WHY="Redis does not answer PING on 127.0.0.1:6379${REDIS_MODE_NOTE:+ ($REDIS_MODE_NOTE)}"
fi
if [ -z "$SCENARIOS" ]; then
  SCENARIOS="jsonrpc-send sse-stream rest-send echo-send"
  [ "$HAS_AUTH" = 1 ] && SCENARIOS="$SCENARIOS apikey-send"
  [ "$HAS_MINT_COUNT" = 1 ] && SCENARIOS="$SCENARIOS bearer-send"
  # (Left out below, with its reason, when it cannot run.)
  [ "$HAS_MINT_COUNT" = 1 ] && SCENARIOS="$SCENARIOS bearer-shared"
  [ "$HAS_AUTHZ" = 1 ] && SCENARIOS="$SCENARIOS authz-send"
  if [ "$HAS_MTLS" = 1 ]; then
    SCENARIOS="$SCENARIOS mtls-send"
  else
    log "mtls-send left out: it needs a build with authorisation and \`warden token mint --cnf-x5t\` (mTLS)"
  fi
  if [ "$HAS_STREAM_INTERVAL" = 1 ] && [ "$HAS_PYTHON" = 1 ]; then
    SCENARIOS="$SCENARIOS sse-10k"
  else
    log "sse-10k left out: it needs \`warden agent null --stream-event-interval-ms\` and python3"
  fi
  [ "$HAS_AUTHZ" = 1 ] && SCENARIOS="$SCENARIOS fairness"
fi
case " $SCENARIOS " in
  *" apikey-send "*) [ "$HAS_AUTH" = 1 ] || die "apikey-send needs a build with authentication" ;;
esac
case " $SCENARIOS " in
  *" bearer-send "*) [ "$HAS_MINT_COUNT" = 1 ] || die "bearer-send needs a build with \`warden token mint --count\`" ;;
esac
case " $SCENARIOS " in
  *" bearer-two "*) [ "$HAS_MINT_COUNT" = 1 ] || die "bearer-two needs a build with \`warden token mint --count\`" ;;
esac
# bearer-shared and bearer-shared-one depend on a service outside the bench
# as well as on the build: when they cannot run they are left out, asked for
# or not, and the log and the report say why.
if [ -n "$SHARED_WHY" ]; then
  shared_named=$(tr ' ' '\n' <<<"$SCENARIOS" | grep -x -e bearer-shared -e bearer-shared-one | paste -sd ' ' | sed 's/ / and /' || true)
  if [ -n "$shared_named" ]; then
    SHARED_SKIP="$shared_named left out: $SHARED_WHY"
    log "$SHARED_SKIP"
    SCENARIOS=$(tr ' ' '\n' <<<"$SCENARIOS" | grep -vx -e bearer-shared -e bearer-shared-one -e '' | paste -sd ' ' || true)
  fi
fi
# bearer-shared's target lines compare it with the same two gateways without
# [shared] (bearer-two: what the shared state adds) and with one gateway
# with [shared] (bearer-shared-one, against bearer-send), in the same run:
# it brings them when they are not named, just before itself.
if [ "$SHARED_REPLICAS" = 2 ]; then
  case " $SCENARIOS " in
    *" bearer-shared "*)
      companions=""
      for sc in bearer-shared-one bearer-two; do
        case " $SCENARIOS " in *" $sc "*) ;; *) companions+="$sc " ;; esac
      done
      if [ -n "$companions" ]; then
        log "bearer-shared brings ${companions% } (its target lines compare it with them)"
        SCENARIOS=$(sed "s/\(^\| \)bearer-shared\( \|$\)/\1${companions}bearer-shared\2/" <<<"$SCENARIOS")
      fi
      ;;
  esac
fi
for sc in authz-send fairness; do
  case " $SCENARIOS " in
    *" $sc "*) [ "$HAS_AUTHZ" = 1 ] || die "$sc needs a build with authorisation (\`warden grant\`)" ;;
  esac
done
case " $SCENARIOS " in
  *" mtls-send "*) [ "$HAS_MTLS" = 1 ] || die "mtls-send needs a build with authorisation and \`warden token mint --cnf-x5t\` (mTLS)" ;;
esac
case " $SCENARIOS " in
  *" sse-10k "*)
    [ "$HAS_STREAM_INTERVAL" = 1 ] || die "sse-10k needs a build with \`warden agent null --stream-event-interval-ms\`"
    [ "$HAS_PYTHON" = 1 ] || die "sse-10k needs python3 (bench/sse_streams.py)"
    ;;
esac
# fairness is measured by bench/fairness.sh, after the direct/gateway pairs;
# sse-10k by bench/sse_streams.py, between the two.
RUN_FAIRNESS=0 RUN_SSE10K=0
case " $SCENARIOS " in *" fairness "*) RUN_FAIRNESS=1 ;; esac
case " $SCENARIOS " in *" sse-10k "*) RUN_SSE10K=1 ;; esac
PAIRS=$(tr ' ' '\n' <<<"$SCENARIOS" | grep -vx -e fairness -e sse-10k -e '' | paste -sd ' ' || true)
# if_set FLAG TEXT — TEXT when FLAG is 1. (Never `[ … ] && echo` in a
# substitution: under `set -e` an assignment whose substitution ends
# non-zero ends the script.)
if_set() { if [ "$1" = 1 ]; then printf '%s' "$2"; fi; }
# mtls-send's load generator, bench/loadgen (wrk cannot present a TLS client
# certificate): always this tree's (like the wrk scripts, also with REV),
# always a release build (a debug one would be the limit), into a target
# directory of its own; from the second run on, a no-op.
LOADGEN_BIN="" LOADGEN_VERSION=""
case " $SCENARIOS " in
  *" mtls-send "*)
    log "cargo build --release --locked --manifest-path bench/loadgen/Cargo.toml (into $LOADGEN_TARGET_DIR)"
    cargo build --release --locked --manifest-path "$BENCH/loadgen/Cargo.toml" --target-dir "$LOADGEN_TARGET_DIR" ||
      die "could not build bench/loadgen"
    LOADGEN_BIN="$LOADGEN_TARGET_DIR/release/warden-loadgen"
    LOADGEN_VERSION=$("$LOADGEN_BIN" --version)
    ;;
esac
# Every parameter as it took effect.
COMMAND_LINE="${REV:+REV=$REV }DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS ROUNDS=$ROUNDS WARMUP=$WARMUP LAT_DURATION=$LAT_DURATION SCENARIOS=\"$SCENARIOS\" CHECK_BODIES=$CHECK_BODIES PIN=$PIN$(case " $SCENARIOS " in *" bearer-"*) echo " BEARER_TTL=$BEARER_TTL" ;; esac)$(case " $SCENARIOS " in *" bearer-shared "*) echo " SHARED_REPLICAS=$SHARED_REPLICAS" ;; esac)$(case " $SCENARIOS " in *" bearer-shared "* | *" bearer-shared-one "*) echo " SHARED_REDIS=$REDIS_MODE" ;; esac)$(if_set "$RUN_SSE10K" " SSE10K_STREAMS=$SSE10K_STREAMS SSE10K_INTERVAL_MS=$SSE10K_INTERVAL_MS SSE10K_OPEN_CONCURRENCY=$SSE10K_OPEN_CONCURRENCY")$(if_set "$PROFILE" " PROFILE=1 PROFILE_DURATION=$PROFILE_DURATION") bench/run.sh"

# --- pinning ----------------------------------------------------------------

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
  # CPUs available to the servers, for "busy" percentages.
  SERVER_NCPU=$(taskset -c "$SERVER_CPUS" nproc)
  WRK_NCPU=$(taskset -c "$WRK_CPUS" nproc)
  PINNING="servers on CPU $SERVER_CPUS, wrk on CPU $WRK_CPUS (taskset)"
else
  SRV=()
  LOAD=()
  SERVER_NCPU=$NCPU
  WRK_NCPU=$NCPU
  PINNING="none (wrk and the servers share all $NCPU CPUs)"
fi

# "0-2,4" -> "0 1 2 4"
expand_cpus() {
  local out=() part i parts
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then
      for ((i = ${part%-*}; i <= ${part#*-}; i++)); do out+=("$i"); done
    else
      out+=("$part")
    fi
  done
  echo "${out[*]}"
}
if [ "$PIN" = 1 ]; then
  SERVER_CPU_LIST=$(expand_cpus "$SERVER_CPUS")
  WRK_CPU_LIST=$(expand_cpus "$WRK_CPUS")
else
  SERVER_CPU_LIST=$(seq -s ' ' 0 $((NCPU - 1)))
  WRK_CPU_LIST=$SERVER_CPU_LIST
fi
# cpu_sample "0 1" -> "<busy ticks> <all ticks>" of those CPUs, whoever ran
# there (steal counts as busy: time the servers could not have had).
cpu_sample() {
  awk -v list=" $1 " '$1 ~ /^cpu[0-9]+$/ && index(list, " " substr($1, 4) " ") {
      tot += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; idle += $5 + $6
    } END {print tot - idle, tot}' /proc/stat
}
pct() { # pct "<busy0> <all0>" "<busy1> <all1>"
  awk -v a="$1" -v b="$2" 'BEGIN {split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0)}'
}

# --- processes ----------------------------------------------------------------

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench.XXXXXX")
mkdir -p "$WORK/raw"
declare -A PID=()
# PROFILE=1: perf recordings and their reports, moved beside the report at the end.
PROFILE_DIR="$WORK/profiles"
PROFILE_OK=0 PROFILE_NOTE="" PROFILE_PID=""
if [ "$PROFILE" = 1 ]; then
  # shellcheck source=bench/profile.sh
  . "$BENCH/profile.sh"
  mkdir -p "$PROFILE_DIR"
  profile_init "$WORK"
  [ "$PROFILE_OK" = 1 ] || log "PROFILE=1: $PROFILE_NOTE"
fi

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$PROFILE_PID" ]; then kill -INT "$PROFILE_PID" 2>/dev/null || true; fi
  for name in "${!PID[@]}"; do
    kill -TERM "${PID[$name]}" 2>/dev/null || true
  done
  for name in "${!PID[@]}"; do
    for _ in $(seq 50); do
      kill -0 "${PID[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${PID[$name]}" 2>/dev/null || true
    wait "${PID[$name]}" 2>/dev/null || true
  done
  if [ "$KEEP_WORK" = 1 ]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME CMD... — runs CMD on the server CPUs, output in $WORK/NAME.{out,err}.
start() {
  local name=$1
  shift
  "${SRV[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PID[$name]=$!
}

# url_of NAME PREFIX — waits for the line "PREFIX http(s)://…" and prints the URL.
url_of() {
  local name=$1 prefix=$2 url=""
  for _ in $(seq 200); do
    url=$(sed -n "s|^${prefix}[[:space:]]*\(https\{0,1\}://[^[:space:]]*\).*|\1|p" "$WORK/$name.out" | head -n1)
    [ -n "$url" ] && break
    kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited: $(cat "$WORK/$name.err")"
    sleep 0.1
  done
  [ -n "$url" ] || die "$name printed no URL: $(cat "$WORK/$name.err")"
  printf '%s\n' "$url"
}

log "starting the null responder, the echo agent and the gateway ($PINNING)"
start null "$WARDEN_BIN" agent null --listen 127.0.0.1:0
start echo "$WARDEN_BIN" agent echo --listen 127.0.0.1:0 --data-dir "$WORK/echo-store"
NULL_URL=$(url_of null "agent [[:alpha:]]* listening on")
ECHO_URL=$(url_of echo "agent [[:alpha:]]* listening on")

# gateway_config NAME AUTH_MODE [POLICY_FILE] — a gateway in front of both agents.
# GW_PUBLIC_URL, when set, is its gateway.public_url (bearer-shared).
gateway_config() {
  cat <<EOF
[gateway]
listen = "127.0.0.1:0"
data_dir = "$WORK/$1-store"
EOF
  if [ -n "${GW_PUBLIC_URL:-}" ]; then printf 'public_url = "%s"\n' "$GW_PUBLIC_URL"; fi
  cat <<EOF

[admin]
listen = "127.0.0.1:0"
EOF
  if [ "$HAS_RETRIES" = 1 ]; then printf '\n[retries]\nwindow_secs = 0\n'; fi
  if [ "$HAS_AUTH" = 1 ]; then
    printf '\n[auth]\nmode = "%s"\n' "$2"
    # bearer-send spends thousands of single-use tokens a second, and each
    # stays in the replay cache until it expires (BEARER_TTL + 30 s): room
    # for them, or the gateway answers 503 once the cache is full. Builds
    # since 115c905 size it from auth.replay_rate (× the longest hold the
    # config allows, 660 s here, not the bench's 120 s) and still take
    # replay_cache_entries, the one key every revision reads: the same room
    # for all.
    [ "$2" = strict ] && printf 'replay_cache_entries = 2000000\n'
  fi
  if [ "$HAS_AUTHZ" = 1 ]; then
    # Every limit on (each call is checked against it, so its cost is in
    # the figures) but far above anything wrk can send: the defaults (200/s
    # per address, 100/s per caller, 50/s per pair, 32 open streams per
    # caller) would refuse most of the load, which all comes from one
    # address and one caller. bench/fairness.sh measures a limit that bites.
    cat <<'EOF'

[rate_limits]
source = { rate = "1000000/s", burst = 1000000 }
principal = { rate = "1000000/s", burst = 1000000 }
pair = { rate = "1000000/s", burst = 1000000 }
skill = { rate = "1000000/s", burst = 1000000 }
max_streams_per_principal = 100000
EOF
    [ -n "${3:-}" ] && printf '\n[authz]\npolicy_file = "%s"\n' "$3"
  fi
  cat <<EOF

[[agents]]
name = "null"
url = "$NULL_URL"
# Benchmark agents (Warden demo code on loopback) do not sign their cards.
insecure_unsigned_card = true

[[agents]]
name = "echo"
url = "$ECHO_URL"
# Benchmark agents (Warden demo code on loopback) do not sign their cards.
insecure_unsigned_card = true
EOF
}
# wait_gateway NAME — prints "GATEWAY_URL ADMIN_URL" once it is ready.
wait_gateway() {
  local gw admin
  gw=$(url_of "$1" "gateway")
  admin=$(url_of "$1" "admin")
  for _ in $(seq 50); do
    curl -fsS -m 2 "$admin/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS -m 2 "$admin/readyz" >/dev/null || die "$1 is not ready: $(cat "$WORK/$1.err")"
  printf '%s %s\n' "$gw" "$admin"
}

# bound_url NAME — http://ADDR of a gateway whose public_url is not its own
# address, from its start-up log line ("gateway starting listen=ADDR …").
bound_url() {
  local addr
  addr=$(sed -n 's/.*gateway starting.* listen=\([0-9.:]*\).*/\1/p' "$WORK/$1.err" | head -n1)
  [ -n "$addr" ] || die "$1: no \"gateway starting listen=…\" line in its log: $(head -c 600 "$WORK/$1.err")"
  printf 'http://%s\n' "$addr"
}

# The gateway for every scenario but apikey-send, bearer-send and authz-send:
# authentication off (builds without authentication have none), so the
# figures are the pipeline's (parse, transform, proxy, record) and compare
# across revisions. With authentication off, authorisation has no identity
# to decide on; the rate limits are still checked.
gateway_config gateway insecure-off >"$WORK/gateway.toml"
start gateway "$WARDEN_BIN" gateway --config "$WORK/gateway.toml"
read -r GW_URL ADMIN_URL < <(wait_gateway gateway) || true
[ -n "${ADMIN_URL:-}" ] || die "the gateway did not start: $(cat "$WORK/gateway.err")"
log "null $NULL_URL  echo $ECHO_URL  gateway $GW_URL  admin $ADMIN_URL"
AUTH_GW_URL="" AUTH_ADMIN_URL="" API_KEY=""
case " $SCENARIOS " in
  *" apikey-send "* | *" bearer-send "*)
    # Strict authentication (the default): a registered caller with an API
    # key (apikey-send), or with single-use access tokens that Warden issues
    # (bearer-send: minted before each run, see mint_tokens).
    gateway_config gateway-auth strict >"$WORK/gateway-auth.toml"
    "${SRV[@]}" "$WARDEN_BIN" registry add bench --grant null=null --config "$WORK/gateway-auth.toml" \
      >"$WORK/registry.out" 2>&1 || die "warden registry add: $(cat "$WORK/registry.out")"
    API_KEY=$("${SRV[@]}" "$WARDEN_BIN" apikey create --sub bench --config "$WORK/gateway-auth.toml" 2>"$WORK/apikey.err") ||
      die "warden apikey create: $(cat "$WORK/apikey.err")"
    start gateway-auth "$WARDEN_BIN" gateway --config "$WORK/gateway-auth.toml"
    read -r AUTH_GW_URL AUTH_ADMIN_URL < <(wait_gateway gateway-auth) || true
    [ -n "$AUTH_ADMIN_URL" ] || die "the authenticating gateway did not start: $(cat "$WORK/gateway-auth.err")"
    log "authenticating gateway $AUTH_GW_URL  admin $AUTH_ADMIN_URL"
    ;;
esac
export API_KEY
AUTHZ_GW_URL="" AUTHZ_ADMIN_URL="" AUTHZ_API_KEY=""
case " $SCENARIOS " in
  *" authz-send "*)
    # Strict authentication with an API key, as apikey-send, plus policy
    # rules (bench/authz-policy.toml) on every call; the rate limits as in
    # the others (on, never reached). A store of its own.
    cp "$BENCH/authz-policy.toml" "$WORK/authz-policy.toml"
    gateway_config gateway-authz strict "$WORK/authz-policy.toml" >"$WORK/gateway-authz.toml"
    "${SRV[@]}" "$WARDEN_BIN" registry add bench --grant null=null --config "$WORK/gateway-authz.toml" \
      >"$WORK/registry-authz.out" 2>&1 || die "warden registry add: $(cat "$WORK/registry-authz.out")"
    AUTHZ_API_KEY=$("${SRV[@]}" "$WARDEN_BIN" apikey create --sub bench --config "$WORK/gateway-authz.toml" 2>"$WORK/apikey.err") ||
      die "warden apikey create: $(cat "$WORK/apikey.err")"
    start gateway-authz "$WARDEN_BIN" gateway --config "$WORK/gateway-authz.toml"
    read -r AUTHZ_GW_URL AUTHZ_ADMIN_URL < <(wait_gateway gateway-authz) || true
    [ -n "$AUTHZ_ADMIN_URL" ] || die "the authorising gateway did not start: $(cat "$WORK/gateway-authz.err")"
    log "authorising gateway $AUTHZ_GW_URL  admin $AUTHZ_ADMIN_URL"
    ;;
esac

MTLS_GW_URL="" MTLS_ADMIN_URL="" MTLS_TOKEN="" MTLS_X5T=""
case " $SCENARIOS " in
  *" mtls-send "*)
    # Strict authentication over mutual TLS: a TLS listener that requires a
    # client certificate from a throw-away CA (bench/loadgen makes it, and
    # the server and client certificates), the caller `bench` with its
    # grant, and ONE token bound to the client certificate (RFC 8705,
    # `cnf.x5t#S256`) that every connection sends on every call: such a
    # token may be reused, and the gateway verifies it in full once per
    # connection (and again after 60 s), then recognises it (docs/tls.md).
    # The rate limits as in the others. A store of its own.
    MTLS_X5T=$("$LOADGEN_BIN" certs --out "$WORK/pki" 2>"$WORK/pki.err") ||
      die "warden-loadgen certs: $(cat "$WORK/pki.err")"
    {
      gateway_config gateway-mtls strict
      cat <<EOF

# A table of [gateway] (TOML takes it after the others).
[gateway.tls]
cert_file = "$WORK/pki/server.pem"
key_file = "$WORK/pki/server.key"
client_ca_files = ["$WORK/pki/ca.pem"]
client_auth = "required"
EOF
    } >"$WORK/gateway-mtls.toml"
    "${SRV[@]}" "$WARDEN_BIN" registry add bench --grant null=null --config "$WORK/gateway-mtls.toml" \
      >"$WORK/registry-mtls.out" 2>&1 || die "warden registry add: $(cat "$WORK/registry-mtls.out")"
    start gateway-mtls "$WARDEN_BIN" gateway --config "$WORK/gateway-mtls.toml"
    read -r MTLS_GW_URL MTLS_ADMIN_URL < <(wait_gateway gateway-mtls) || true
    [ -n "$MTLS_ADMIN_URL" ] || die "the mTLS gateway did not start: $(cat "$WORK/gateway-mtls.err")"
    # Minted once the gateway has started (it records its issuer, its
    # https:// URL, in the store), for longer than any run lasts.
    MTLS_TOKEN=$("$WARDEN_BIN" token mint --sub bench --aud null --ttl 12h --cnf-x5t "$MTLS_X5T" \
      --config "$WORK/gateway-mtls.toml" 2>"$WORK/mint.err") || die "warden token mint --cnf-x5t: $(cat "$WORK/mint.err")"
    log "mTLS gateway $MTLS_GW_URL  admin $MTLS_ADMIN_URL  (client certificate x5t#S256 $MTLS_X5T)"
    ;;
esac

# bearer-send replicated. Every one of these gateways is gateway-auth's
# configuration (strict, the same replay room and rate limits) with a data
# directory, so a store, of its own: its own signing key, and the caller
# \`bench\` registered with its grant in each (\`warden registry add\`, as for
# gateway-auth). Tokens are minted from each gateway's own store and each
# wrk process sends only its gateway's (see wrk_env), so no key has to be
# copied between them. (Replicas in a deployment share an external issuer,
# or one PostgreSQL store: docs/scale-out.md. Until cac22e5 the two shared
# gateways shared one SQLite file instead, which cost about 20 points of
# their figure in audit writes two processes made to one file.) They all
# have one public_url, standing for their load balancer (never called: each
# wrk process is given its gateway's bound address, from its log): replicas
# are one issuer.
#   bearer-shared      gateway-shared-a and gateway-shared-b: [shared] on the
#                      machine's Redis, under a key prefix of this run's own
#   bearer-shared-one  gateway-shared-a alone (b idles meanwhile)
#   bearer-two         gateway-two-a and gateway-two-b: the same two
#                      gateways without [shared] (each its own replay cache
#                      and rate limits): what a second process costs by itself
REPLICAS_PUBLIC_URL="http://replicas.warden-bench.invalid"
declare -A REPLICA_URL=() REPLICA_ADMIN=()
# replica NAME SHARED — writes $WORK/NAME.toml ([shared] when SHARED is 1),
# registers the caller in its store, starts it and waits until it is ready.
replica() {
  local name=$1 admin=""
  {
    GW_PUBLIC_URL=$REPLICAS_PUBLIC_URL gateway_config "$name" strict
    # timeout_ms: the bench prices the round trip, not a starved Redis: on
    # the busy 2-core box a Redis behind other work on its CPU can take
    # longer than the default 250 ms to answer, and the call would fail (503)
    # instead of waiting.
    if [ "$2" = 1 ]; then printf '\n[shared]\nredis_url = "%s"\nkey_prefix = "%s"\ntimeout_ms = 5000\n' "$REDIS_URL" "$SHARED_PREFIX"; fi
  } >"$WORK/$name.toml"
  "${SRV[@]}" "$WARDEN_BIN" registry add bench --grant null=null --config "$WORK/$name.toml" \
    >"$WORK/registry-$name.out" 2>&1 || die "warden registry add ($name): $(cat "$WORK/registry-$name.out")"
  start "$name" "$WARDEN_BIN" gateway --config "$WORK/$name.toml"
  read -r _ admin < <(wait_gateway "$name") || true
  [ -n "$admin" ] || die "$name did not start: $(cat "$WORK/$name.err")"
  REPLICA_ADMIN[$name]=$admin
  REPLICA_URL[$name]=$(bound_url "$name")
}
# start_redis — SHARED_REDIS=own: a redis-server of the run's own on a free
# loopback port (a few random ones tried), no persistence, pinned to the load
# generator's CPU(s) like a server on a machine of its own (off the server
# CPUs whose time the gateways' figures are; its own CPU time is reported
# beside them), and no other client: every command it counts is the bench's.
# Stopped with the rest at the end.
start_redis() {
  local port attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    "${LOAD[@]}" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --dir "$WORK" --logfile "$WORK/redis.log" >"$WORK/redis.out" 2>&1 &
    PID[redis]=$!
    for _ in $(seq 50); do
      redis_ping "$port" && break
      kill -0 "${PID[redis]}" 2>/dev/null || break
      sleep 0.1
    done
    if redis_ping "$port"; then
      REDIS_PORT=$port REDIS_URL="redis://127.0.0.1:$port/0"
      log "Redis of the bench's own: redis-server pid ${PID[redis]} on 127.0.0.1:$port ($(if [ "$PIN" = 1 ]; then echo "CPU $WRK_CPUS"; else echo "not pinned"; fi))"
      return 0
    fi
    kill -TERM "${PID[redis]}" 2>/dev/null || true
    wait "${PID[redis]}" 2>/dev/null || true
    unset "PID[redis]"
  done
  die "could not start a redis-server of the bench's own (SHARED_REDIS=own; SHARED_REDIS=machine uses the machine's): $(tail -n 5 "$WORK/redis.log" 2>/dev/null)"
}
SHARED_GW_URL="" SHARED_ADMIN_URL="" SHARED_GW_URL_B="" SHARED_ADMIN_URL_B="" SHARED_PREFIX=""
REDIS_PID="" REDIS_NOTE="" REDIS_WHO="" REDIS_WHERE=""
case " $SCENARIOS " in
  *" bearer-shared "* | *" bearer-shared-one "*)
    SHARED_PREFIX="warden-bench:$$:$(date +%s):"
    if [ "$REDIS_MODE" = own ]; then start_redis; fi
    replica gateway-shared-a 1
    SHARED_GW_URL=${REPLICA_URL[gateway-shared-a]} SHARED_ADMIN_URL=${REPLICA_ADMIN[gateway-shared-a]}
    if [ "$SHARED_REPLICAS" = 2 ] && [[ " $SCENARIOS " == *" bearer-shared "* ]]; then
      replica gateway-shared-b 1
      SHARED_GW_URL_B=${REPLICA_URL[gateway-shared-b]} SHARED_ADMIN_URL_B=${REPLICA_ADMIN[gateway-shared-b]}
    fi
    # The Redis server's CPU time is read like the gateways'. The machine's
    # is not pinned by the bench: it runs wherever the machine runs it.
    if [ "$REDIS_MODE" = own ]; then
      REDIS_PID=${PID[redis]}
    else
      REDIS_PID=$(pgrep -x redis-server | head -n1 || true)
    fi
    if [ -z "$REDIS_PID" ] || [ ! -r "/proc/$REDIS_PID/stat" ]; then
      REDIS_PID=""
      REDIS_NOTE="no redis-server process found (pgrep -x redis-server): Redis CPU not measured"
      log "bearer-shared: $REDIS_NOTE"
    elif [ "$REDIS_MODE" = machine ] && [ "$(pgrep -x redis-server | wc -l)" -gt 1 ]; then
      REDIS_NOTE="several redis-server processes; the first, pid $REDIS_PID, was measured"
      log "bearer-shared: $REDIS_NOTE"
    fi
    if [ "$REDIS_MODE" = own ]; then
      REDIS_WHO="a Redis of the bench's own"
      if [ "$PIN" = 1 ]; then REDIS_WHERE="the bench's own, on the load generator's CPU $WRK_CPUS"; else REDIS_WHERE="the bench's own, not pinned"; fi
    else
      REDIS_WHO="the machine's Redis"
      REDIS_WHERE="the machine's, not pinned by the bench: it runs where the machine runs it"
      [ -z "$REDIS_MODE_NOTE" ] || log "bearer-shared: $REDIS_MODE_NOTE"
    fi
    log "shared-state gateways $SHARED_GW_URL ${SHARED_GW_URL_B:-(no second one)}  admin $SHARED_ADMIN_URL $SHARED_ADMIN_URL_B" \
      "(a store each; Redis $REDIS_URL, key prefix $SHARED_PREFIX, redis-server pid ${REDIS_PID:-unknown})"
    ;;
esac
TWO_GW_URL="" TWO_GW_URL_B=""
case " $SCENARIOS " in
  *" bearer-two "*)
    replica gateway-two-a 0
    replica gateway-two-b 0
    TWO_GW_URL=${REPLICA_URL[gateway-two-a]} TWO_GW_URL_B=${REPLICA_URL[gateway-two-b]}
    log "two gateways without [shared] $TWO_GW_URL $TWO_GW_URL_B  admin ${REPLICA_ADMIN[gateway-two-a]} ${REPLICA_ADMIN[gateway-two-b]} (a store each)"
    ;;
esac

# The bearer scenarios: access tokens for the registered caller, minted by
# Warden's own authority (the store of the scenario's gateway, S_CONF; the
# gateway must have started once); MINT2 from the second gateway's store
# (S_CONF2), for the second wrk process. Set by scenario().
MINT=() MINT2=()
TOKENS_MINTED=0 TOKEN_REDOS=0 TOKENS_LAST=0
# mint_tokens FILE COUNT [2] — COUNT fresh tokens living BEARER_TTL, one per
# line (2: from the second gateway's store). Not pinned: it runs between
# measurements, and is faster on every CPU.
mint_tokens() {
  local mint=("${MINT[@]}")
  [ "${3:-}" = 2 ] && mint=("${MINT2[@]}")
  "${mint[@]}" --ttl "$BEARER_TTL" --count "$2" >"$1" 2>"$WORK/mint.err" ||
    die "warden token mint: $(cat "$WORK/mint.err")"
  [ "$(sort -u "$1" | wc -l)" -eq "$2" ] || die "warden token mint --count $2 did not print $2 distinct tokens"
  TOKENS_MINTED=$((TOKENS_MINTED + $2))
}
# seconds_of 10s|2m|1h|10 — a wrk duration in seconds.
seconds_of() {
  case $1 in
    *h) echo $((${1%h} * 3600)) ;; *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
  esac
}
# The highest gateway req/s seen so far in bearer-send, per phase: the next
# gateway run gets 1.3 × that many tokens per second, plus 1,000 (the
# warm-up gets 5,000 a second). A run that still runs out is redone with
# twice as many (see measure).
declare -A BEARER_RATE=([load]=0 [latency]=0)
bearer_rate_seen() { # bearer_rate_seen PHASE RPS
  BEARER_RATE[$1]=$(awk -v a="${BEARER_RATE[$1]}" -v b="$2" 'BEGIN {printf "%.0f", (b > a ? b : a)}')
}
tokens_for() { # tokens_for PHASE DURATION
  local rate=${BEARER_RATE[$1]}
  [ "$rate" = 0 ] && rate=${BEARER_RATE[load]}
  [ "$rate" = 0 ] && rate=5000
  awk -v r="$rate" -v s="$(seconds_of "$2")" 'BEGIN {printf "%d", r * s * 1.3 + 1000}'
}
# wrk_env SIDE PHASE DURATION THREADS [THREADS_B] — sets WRK_ENV, the
# environment of one wrk run: for bearer-send through the gateway, a fresh
# token file (each token sent once); direct, a small file used over and over
# (the null responder ignores the header; wrk does the same work as through
# the gateway). With THREADS_B (two wrk processes, one per gateway: SPLIT_C
# set before), also WRK_ENV2 for the second one: through the gateways, a
# file for each, minted from its gateway's own store, the count shared out
# as the connections are. TOKENS_LAST: how many were minted for the run.
WRK_ENV=() WRK_ENV2=()
wrk_env() {
  WRK_ENV=() WRK_ENV2=()
  # The API key of the scenario's gateway (both sides send it: the null
  # responder ignores it, and wrk does the same work).
  [ -n "$S_KEY" ] && WRK_ENV=(env API_KEY="$S_KEY") && WRK_ENV2=("${WRK_ENV[@]}")
  [ -n "$S_BEARER" ] || return 0
  if [ "$1" = direct ]; then
    [ -s "$WORK/direct-tokens" ] || mint_tokens "$WORK/direct-tokens" 1000
    WRK_ENV=(env TOKENS_FILE="$WORK/direct-tokens" TOKENS_THREADS="$4" TOKENS_CYCLE=1)
    [ -n "${5:-}" ] && WRK_ENV2=(env TOKENS_FILE="$WORK/direct-tokens" TOKENS_THREADS="$5" TOKENS_CYCLE=1)
  else
    local n=${WANT_TOKENS:-$(tokens_for "$2" "$3")} na nb
    if [ -n "${5:-}" ]; then
      na=$(((n * SPLIT_C[0] + SPLIT_C[0] + SPLIT_C[1] - 1) / (SPLIT_C[0] + SPLIT_C[1])))
      nb=$(((n * SPLIT_C[1] + SPLIT_C[0] + SPLIT_C[1] - 1) / (SPLIT_C[0] + SPLIT_C[1])))
      mint_tokens "$WORK/tokens.a" "$na"
      mint_tokens "$WORK/tokens.b" "$nb" 2
      TOKENS_LAST=$((na + nb))
      WRK_ENV=(env TOKENS_FILE="$WORK/tokens.a" TOKENS_THREADS="$4")
      WRK_ENV2=(env TOKENS_FILE="$WORK/tokens.b" TOKENS_THREADS="$5")
    else
      mint_tokens "$WORK/tokens" "$n"
      TOKENS_LAST=$n
      WRK_ENV=(env TOKENS_FILE="$WORK/tokens" TOKENS_THREADS="$4")
    fi
  fi
  return 0
}
# exhausted RAW — how many requests a run could not make for lack of tokens
# (the two-gateway scenarios' raw outputs hold three counter lines, one per
# wrk process and their sum: the largest).
exhausted() {
  sed -n 's/^BENCH-COUNTERS.* tokens_exhausted=\([0-9]*\).*/\1/p' "$1" | sort -n | tail -n1
}

# bearer-shared and bearer-two: two wrk processes at once (one per gateway
# through the gateways; both to the null responder direct), CONNECTIONS split between
# them. wrk can spread one run over two hosts only with difficulty (its Lua
# picks a host per thread, not per connection), and two processes keep the
# token files apart.
# split_conns CONNS THREADS — sets SPLIT_C (connections of each process, the
# first one taking the odd one) and SPLIT_T (their threads).
split_conns() {
  SPLIT_C=($((($1 + 1) / 2)) $(($1 / 2)))
  SPLIT_T=("$2" "$2")
  [ "${SPLIT_C[0]}" -lt "$2" ] && SPLIT_T[0]=${SPLIT_C[0]}
  [ "${SPLIT_C[1]}" -lt "$2" ] && SPLIT_T[1]=${SPLIT_C[1]}
  return 0
}
# wrk_two OUT DURATION SCRIPT URL_A URL_B — runs the two wrk processes
# (SPLIT_C, SPLIT_T, WRK_ENV and WRK_ENV2 set before), pinned like wrk, and
# writes both commands and outputs to OUT, then one BENCH line for the two
# together, which is what measure() reads: requests, rates, errors, checks
# and counters summed, duration the longer, max latency the larger, and
# p50/p90/p99 the means of the two weighted by their requests (wrk prints no
# histogram to merge; the two sides run the same load against identical
# gateways). Fails if either wrk failed.
wrk_two() {
  local out=$1 dur=$2 script=$3 pa pb sa=0 sb=0 sm=0
  local cmda=("${LOAD[@]}" "${WRK_ENV[@]}" wrk -t"${SPLIT_T[0]}" -c"${SPLIT_C[0]}" -d"$dur" --latency -s "$script" "$4")
  local cmdb=("${LOAD[@]}" "${WRK_ENV2[@]}" wrk -t"${SPLIT_T[1]}" -c"${SPLIT_C[1]}" -d"$dur" --latency -s "$script" "$5")
  "${cmda[@]}" >"$out.a" 2>&1 &
  pa=$!
  "${cmdb[@]}" >"$out.b" 2>&1 &
  pb=$!
  wait "$pa" || sa=$?
  wait "$pb" || sb=$?
  {
    printf '$ %s &\n' "$(shown "${cmda[@]}")"
    printf '$ %s &\n' "$(shown "${cmdb[@]}")"
    printf -- '--- the first (exit %s):\n' "$sa"
    cat "$out.a"
    printf -- '--- the second (exit %s):\n' "$sb"
    cat "$out.b"
    printf -- '--- the two together:\n'
    cat "$out.a" "$out.b" | awk '
      /^BENCH / {
        n++
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2]; if (n == 1) name[i - 1] = kv[1] }
        nf = NF - 1
        req += v["requests"]; rps += v["rps"]
        if (v["duration_us"] > dur) dur = v["duration_us"]
        if (v["max_us"] > mx) mx = v["max_us"]
        for (k in v) if (k ~ /^p[0-9]+_us$/) w[k] += v[k] * v["requests"]; else if (k !~ /^(requests|rps|duration_us|max_us)$/) sum[k] += v[k]
        split("", v)
      }
      /^BENCH-COUNTERS / {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (!(kv[1] in c)) order[++nc] = kv[1]; c[kv[1]] += kv[2] }
      }
      END {
        if (n != 2) exit 1
        line = "BENCH"
        for (i = 1; i <= nf; i++) {
          k = name[i]
          if (k == "requests") x = req; else if (k == "rps") x = sprintf("%.1f", rps)
          else if (k == "duration_us") x = dur; else if (k == "max_us") x = mx
          else if (k ~ /^p[0-9]+_us$/) x = (req > 0 ? sprintf("%.0f", w[k] / req) : 0)
          else x = sum[k] + 0
          line = line " " k "=" x
        }
        print line
        if (nc) { line = "BENCH-COUNTERS"; for (i = 1; i <= nc; i++) line = line " " order[i] "=" c[order[i]]; print line }
      }' || {
      echo "(no BENCH line from one of them)"
      sm=1
    }
  } >>"$out"
  rm -f "$out.a" "$out.b"
  [ "$sa" = 0 ] && [ "$sb" = 0 ] && [ "$sm" = 0 ]
}

# --- measurements -----------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# gw_ticks — the scenario's gateway's CPU ticks; bearer-shared: both gateways'.
gw_ticks() {
  local t
  t=$(cpu_ticks "${PID[$S_GW]}")
  [ -n "$S_GW2" ] && t=$((t + $(cpu_ticks "${PID[$S_GW2]}")))
  echo "$t"
}
# redis_ticks — bearer-shared: the redis-server process's CPU ticks (0 when
# it is not measured, or for the other scenarios).
redis_ticks() {
  if [ -n "$S_REDIS" ] && [ -n "$REDIS_PID" ]; then
    awk '{print $14 + $15}' "/proc/$REDIS_PID/stat" 2>/dev/null || echo 0
  else
    echo 0
  fi
}
# redis_commands — bearer-shared: the commands the Redis server has processed
# since it started (INFO stats; "nan" without redis-cli), to show what the
# gateways asked of it per call, and that nobody else was using it.
redis_commands() {
  local n=""
  if [ -n "$S_REDIS" ] && command -v redis-cli >/dev/null; then
    n=$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info stats 2>/dev/null | tr -d '\r' |
      awk -F: '$1 == "total_commands_processed" {print $2}' || true)
  fi
  echo "${n:-nan}"
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

MEM_ROWS="$WORK/memory.tsv"
: >"$MEM_ROWS"
declare -A MEM_RSS=() MEM_HWM=() IDLE_RSS=()
mem_point() { # mem_point LABEL [GATEWAY]
  local gw=${2:-gateway}
  MEM_RSS[$1]=$(status_kb "${PID[$gw]}" VmRSS)
  MEM_HWM[$1]=$(status_kb "${PID[$gw]}" VmHWM)
  printf '%s\t%s\t%s\t%s\n' "$1" "$gw" "${MEM_RSS[$1]}" "${MEM_HWM[$1]}" >>"$MEM_ROWS"
}
# idle_point GATEWAY — its RSS right after start (ready, before any load).
idle_point() {
  mem_point "started, before any load${2:+ ($1)}" "$1"
  IDLE_RSS[$1]=${MEM_RSS["started, before any load${2:+ ($1)}"]}
}
idle_point gateway
[ -n "$AUTH_GW_URL" ] && idle_point gateway-auth named
[ -n "$AUTHZ_GW_URL" ] && idle_point gateway-authz named
[ -n "$MTLS_GW_URL" ] && idle_point gateway-mtls named
[ -n "$SHARED_GW_URL" ] && idle_point gateway-shared-a named
[ -n "$SHARED_GW_URL_B" ] && idle_point gateway-shared-b named
[ -n "$TWO_GW_URL" ] && idle_point gateway-two-a named
[ -n "$TWO_GW_URL_B" ] && idle_point gateway-two-b named

# Scenario table: upstream process, script, body, curl check, direct URL, gateway URL, title;
# S_TOOL: the load generator (wrk, or bench/loadgen for mtls-send).
# bearer-shared and bearer-two: S_GW2 the second gateway, S_GATEWAY2 its URL;
# bearer-shared and bearer-shared-one: S_REDIS=1 (Redis's CPU is read too).
# S_CONF: the configuration whose store mints the bearer tokens (S_CONF2:
# the second gateway's).
scenario() {
  S_GW=gateway S_KEY="" S_BEARER="" S_TOOL=wrk S_TOKEN="" S_GW2="" S_GATEWAY2="" S_REDIS="" S_CONF=gateway-auth S_CONF2=""
  case $1 in
    jsonrpc-send) S_UP=null S_SCRIPT=jsonrpc-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$GW_URL/agents/null"
      S_TITLE="SendMessage, small body, JSON-RPC, null upstream" ;;
    sse-stream) S_UP=null S_SCRIPT=sse-stream.lua S_BODY=stream.json S_CHECK=check_stream
      S_DIRECT="$NULL_URL/" S_GATEWAY="$GW_URL/agents/null"
      S_TITLE="SendStreamingMessage, SSE, 5 events per response, JSON-RPC, null upstream" ;;
    rest-send) S_UP=null S_SCRIPT=rest-send.lua S_BODY=rest-send.json S_CHECK=check_rest
      S_DIRECT="$NULL_URL/message:send" S_GATEWAY="$GW_URL/agents/null/message:send"
      S_TITLE="SendMessage, small body, HTTP+JSON (REST), null upstream" ;;
    echo-send) S_UP=echo S_SCRIPT=jsonrpc-send.lua S_BODY=send.json S_CHECK=check_echo
      S_DIRECT="$ECHO_URL/" S_GATEWAY="$GW_URL/agents/echo"
      S_TITLE="SendMessage, JSON-RPC, demo echo agent (tasks persisted in SQLite)" ;;
    apikey-send) S_UP=null S_SCRIPT=apikey-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$AUTH_GW_URL/agents/null" S_GW=gateway-auth S_KEY=$API_KEY
      S_TITLE="SendMessage, JSON-RPC, null upstream, strict authentication with an API key (X-API-Key) on every request" ;;
    bearer-send) S_UP=null S_SCRIPT=bearer-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$AUTH_GW_URL/agents/null" S_GW=gateway-auth S_BEARER=1
      S_TITLE="SendMessage, JSON-RPC, null upstream, strict authentication with a single-use access token (Authorization: Bearer, EdDSA JWT) per request" ;;
    bearer-shared) S_UP=null S_SCRIPT=bearer-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$SHARED_GW_URL/agents/null" S_GW=gateway-shared-a S_BEARER=1
      S_REDIS=1 S_CONF=gateway-shared-a
      S_TITLE="bearer-send through two gateways, a store each, that share single-use ids and rate limits on Redis ([shared]), the load split between them"
      if [ -n "$SHARED_GW_URL_B" ]; then
        S_GATEWAY2="$SHARED_GW_URL_B/agents/null" S_GW2=gateway-shared-b S_CONF2=gateway-shared-b
      else
        S_TITLE="bearer-send through one gateway whose single-use ids and rate limits are on Redis ([shared]; SHARED_REPLICAS=1)"
      fi ;;
    bearer-shared-one) S_UP=null S_SCRIPT=bearer-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$SHARED_GW_URL/agents/null" S_GW=gateway-shared-a S_BEARER=1
      S_REDIS=1 S_CONF=gateway-shared-a
      S_TITLE="bearer-send through one gateway whose single-use ids and rate limits are on Redis ([shared]): gateway-shared-a alone" ;;
    bearer-two) S_UP=null S_SCRIPT=bearer-send.lua S_BODY=send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$TWO_GW_URL/agents/null" S_GW=gateway-two-a S_BEARER=1 S_CONF=gateway-two-a
      S_GATEWAY2="$TWO_GW_URL_B/agents/null" S_GW2=gateway-two-b S_CONF2=gateway-two-b
      S_TITLE="bearer-send through two gateways, a store each, each with its own replay cache and rate limits (no [shared]), the load split between them" ;;
    authz-send) S_UP=null S_SCRIPT=authz-send.lua S_BODY=skill-send.json S_CHECK=check_send
      S_DIRECT="$NULL_URL/" S_GATEWAY="$AUTHZ_GW_URL/agents/null" S_GW=gateway-authz S_KEY=$AUTHZ_API_KEY
      S_TITLE="SendMessage naming its skill (Warden skill extension), JSON-RPC, null upstream, strict authentication with an API key, three policy rules (CEL) and rate limits on every request" ;;
    mtls-send) S_UP=null S_SCRIPT="" S_BODY=send.json S_CHECK=check_send S_TOOL=loadgen
      S_DIRECT="$NULL_URL/" S_GATEWAY="$MTLS_GW_URL/agents/null" S_GW=gateway-mtls S_TOKEN=$MTLS_TOKEN
      S_TITLE="SendMessage, JSON-RPC, null upstream, mutual TLS and strict authentication with one certificate-bound access token (RFC 8705) reused on every request, authorisation and rate limits" ;;
    *) die "unknown scenario $1" ;;
  esac
  MINT=("$WARDEN_BIN" token mint --sub bench --aud null --config "$WORK/$S_CONF.toml")
  MINT2=()
  if [ -n "$S_CONF2" ]; then MINT2=("$WARDEN_BIN" token mint --sub bench --aud null --config "$WORK/$S_CONF2.toml"); fi
  return 0
}

CHECK_TOKEN=""
post() { # post URL BODYFILE OUTFILE — prints the HTTP status
  local key=() tls=()
  [ -n "$S_KEY" ] && key=(-H "X-API-Key: $S_KEY")
  [ -n "$S_TOKEN" ] && key=(-H "Authorization: Bearer $S_TOKEN")
  [ -n "$CHECK_TOKEN" ] && key=(-H "Authorization: Bearer $CHECK_TOKEN")
  # mtls-send's gateway: its CA, and the client certificate.
  case $1 in https://*) tls=(--cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/client.pem" --key "$WORK/pki/client.key") ;; esac
  curl -sS -m 10 -N -o "$3" -w '%{http_code}' -X POST "${tls[@]}" \
    -H 'Content-Type: application/json' -H 'A2A-Version: 1.0' "${key[@]}" \
    --data-binary "@$WRK_DIR/$2" "$1"
}
check_send() {
  local code
  code=$(post "$1" "$2" "$WORK/check.body") || return 1
  [ "$code" = 200 ] &&
    jq -e '(has("error") | not) and .result.task.status.state == "TASK_STATE_COMPLETED"' "$WORK/check.body" >/dev/null
}
check_echo() {
  check_send "$@" && jq -e '.result.task.artifacts[0].parts[0].text == "hello"' "$WORK/check.body" >/dev/null
}
check_rest() {
  local code
  code=$(post "$1" "$2" "$WORK/check.body") || return 1
  [ "$code" = 200 ] && jq -e '.task.status.state == "TASK_STATE_COMPLETED"' "$WORK/check.body" >/dev/null
}
check_stream() {
  local code
  code=$(post "$1" "$2" "$WORK/check.body") || return 1
  [ "$code" = 200 ] || return 1
  sed -n 's/^data: *//p' "$WORK/check.body" >"$WORK/check.events"
  [ "$(wc -l <"$WORK/check.events")" -eq 5 ] &&
    jq -e -s 'length == 5 and all(.[]; has("result") and (has("error") | not))
              and (.[-1].result.statusUpdate.status.state == "TASK_STATE_COMPLETED")' \
      "$WORK/check.events" >/dev/null
}
check_or_die() { # check_or_die LABEL URL [2] — 2: the scenario's second gateway
  # bearer-send: a token of its own for every check (they are single-use),
  # from the store of the gateway it goes to.
  local mint=("${MINT[@]}")
  [ "${3:-}" = 2 ] && mint=("${MINT2[@]}")
  if [ -n "$S_BEARER" ]; then
    CHECK_TOKEN=$("${mint[@]}" 2>"$WORK/mint.err") || die "warden token mint: $(cat "$WORK/mint.err")"
    TOKENS_MINTED=$((TOKENS_MINTED + 1))
  fi
  if ! "$S_CHECK" "$2" "$S_BODY"; then
    die "$1: $2 did not answer $S_BODY with a success: $(head -c 600 "$WORK/check.body")"
  fi
  CHECK_TOKEN=""
}

# loadgen_cmd CONNECTIONS DURATION URL — sets LOADGEN_CMD: one bench/loadgen
# run (mtls-send), pinned like wrk, with the curl check's headers and, when
# CHECK_BODIES is on, the wrk scripts' check of every response (a JSON-RPC
# result, a completed task, no error). Both sides send the token (the null
# responder ignores it); https:// (the gateway) adds the client certificate.
LOADGEN_CMD=()
loadgen_cmd() {
  LOADGEN_CMD=("${LOAD[@]}" "$LOADGEN_BIN" run --url "$3" --body "bench/wrk/$S_BODY"
    --header 'Content-Type: application/json' --header 'A2A-Version: 1.0'
    --header "Authorization: Bearer $S_TOKEN" --connections "$1" --duration "$2")
  case $3 in https://*) LOADGEN_CMD+=(--cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/client.pem" --key "$WORK/pki/client.key") ;; esac
  if [ "$CHECK_BODIES" = 1 ]; then
    LOADGEN_CMD+=(--expect '"result"' --expect '"TASK_STATE_COMPLETED"' --reject '"error"')
  fi
  return 0
}
# shown CMD... — a command as the raw outputs show it: arguments with spaces
# or quotes quoted, the token and the work directory by name.
shown() {
  local a line=""
  for a in "$@"; do
    if [[ $a == *[\"\$]* ]]; then
      a="'$a'"
    elif [[ $a == *[[:space:]]* ]]; then
      a="\"$a\""
    fi
    line+="${line:+ }$a"
  done
  [ -n "$S_TOKEN" ] && line=${line//"$S_TOKEN"/'$MTLS_TOKEN'}
  printf '%s\n' "${line//"$WORK"/'$WORK'}"
}

# children_us FILE — the children's user+system CPU time in a `times` output, in µs.
children_us() {
  awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2]}; printf "%.0f", t * 1e6}' "$1"
}
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
RUN_NO=0
FAILED_RUNS=0
# measure SCENARIO PHASE ROUND MODE CONNECTIONS DURATION — one wrk run, recorded.
measure() {
  local sc=$1 phase=$2 round=$3 mode=$4 conns=$5 dur=$6 url url2="" threads raw two=0
  if [ "$mode" = direct ]; then url=$S_DIRECT url2=$S_DIRECT; else url=$S_GATEWAY url2=$S_GATEWAY2; fi
  check_or_die "$sc/$mode" "$url"
  # bearer-shared and bearer-two under load: two wrk processes, one per
  # gateway (both to the null responder direct); with one connection, one
  # wrk through the first gateway only.
  if [ -n "$S_GATEWAY2" ] && [ "$conns" -ge 2 ]; then
    two=1
    [ "$mode" = gateway ] && check_or_die "$sc/$mode (the second gateway)" "$url2" 2
  fi
  threads=$THREADS
  [ "$conns" -lt "$threads" ] && threads=$conns
  RUN_NO=$((RUN_NO + 1))
  raw="$WORK/raw/$(printf '%03d' "$RUN_NO")-$sc-$phase-$round-$mode.txt"
  local gw0 up0 gw1 up1 rd0 rd1 rc0 rc1 t0 t1 srv0 srv1 lg0 lg1 cmd short attempt=1 WANT_TOKENS=""
  while :; do
    if [ "$two" = 1 ]; then
      split_conns "$conns" "$THREADS"
      wrk_env "$mode" "$phase" "$dur" "${SPLIT_T[0]}" "${SPLIT_T[1]}"
    else
      wrk_env "$mode" "$phase" "$dur" "$threads"
    fi
    if [ "$S_TOOL" = loadgen ]; then
      loadgen_cmd "$conns" "$dur" "$url"
      cmd=("${LOADGEN_CMD[@]}")
    else
      cmd=("${LOAD[@]}" "${WRK_ENV[@]}" wrk -t"$threads" -c"$conns" -d"$dur" --latency -s "bench/wrk/$S_SCRIPT" "$url")
    fi
    gw0=$(gw_ticks)
    up0=$(cpu_ticks "${PID[$S_UP]}")
    rd0=$(redis_ticks) rc0=$(redis_commands)
    srv0=$(cpu_sample "$SERVER_CPU_LIST")
    lg0=$(cpu_sample "$WRK_CPU_LIST")
    t0=$(date +%s%N)
    times >"$WORK/times0" # children's CPU time so far; wrk is the only child in between
    if [ "$two" = 1 ]; then
      : >"$raw"
      wrk_two "$raw" "$dur" "bench/wrk/$S_SCRIPT" "$url" "$url2" || die "wrk failed: $(cat "$raw")"
    else
      printf '$ %s\n' "$(shown "${cmd[@]}")" >"$raw"
      "${cmd[@]}" >>"$raw" 2>&1 || die "$S_TOOL failed: $(cat "$raw")"
    fi
    times >"$WORK/times1"
    t1=$(date +%s%N)
    gw1=$(gw_ticks)
    up1=$(cpu_ticks "${PID[$S_UP]}")
    rd1=$(redis_ticks) rc1=$(redis_commands)
    srv1=$(cpu_sample "$SERVER_CPU_LIST")
    lg1=$(cpu_sample "$WRK_CPU_LIST")
    # A bearer-send run that ran out of tokens stopped early, but wrk divides
    # by the full duration: set it aside and run it again with twice as many.
    short=$(exhausted "$raw")
    [ "${short:-0}" -gt 0 ] || break
    WANT_TOKENS=$((TOKENS_LAST * 2))
    TOKEN_REDOS=$((TOKEN_REDOS + 1))
    mv "$raw" "${raw%.txt}-ran-out-of-tokens-$attempt.txt"
    log "  $sc $phase round $round $mode: ran out of tokens; again with $WANT_TOKENS"
    attempt=$((attempt + 1))
    [ "$attempt" -le 3 ] || die "$sc: ran out of tokens three times"
  done
  local line fields errs wall_us srv_pct lg_pct wrk_us wrk_pct
  # (bearer-shared: the last one, the two wrk processes together)
  line=$(grep '^BENCH ' "$raw" | tail -n1) || die "no BENCH line in $raw"
  [ -n "$line" ] || die "no BENCH line in $raw"
  # requests duration_us rps p50 p90 p99 max connect read write status timeout checked bad
  fields=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^[a-z0-9_]*=//p' | paste -sd '\t')
  wall_us=$(((t1 - t0) / 1000))
  srv_pct=$(pct "$srv0" "$srv1")
  lg_pct=$(pct "$lg0" "$lg1")
  wrk_us=$(($(children_us "$WORK/times1") - $(children_us "$WORK/times0")))
  wrk_pct=$(awk -v u="$wrk_us" -v w="$wall_us" -v n="$WRK_NCPU" 'BEGIN {printf "%.0f", 100 * u / w / n}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$phase" "$round" "$mode" "$fields" \
    "$((gw1 - gw0))" "$((up1 - up0))" "$wall_us" "$srv_pct" "$lg_pct" "$wrk_us" \
    "$(if [ -n "$S_REDIS" ]; then echo $((rd1 - rd0)); else echo nan; fi)" \
    "$(if [ -n "$S_REDIS" ] && [ "$rc0" != nan ] && [ "$rc1" != nan ]; then echo $((rc1 - rc0)); else echo nan; fi)" >>"$RESULTS"
  errs=$(printf '%s\n' "$fields" | awk -F'\t' '{print $8 + $9 + $10 + $11 + $12 + $14}')
  if [ "$errs" -gt 0 ]; then
    FAILED_RUNS=$((FAILED_RUNS + 1))
    log "  $sc $phase round $round $mode: $errs failed requests (see $raw)"
  fi
  log "  $sc $phase round $round $mode: $(printf '%s' "$fields" | awk -F'\t' '{printf "%.0f req/s, p50 %.3f ms, p99 %.3f ms", $3, $4 / 1000, $6 / 1000}');" \
    "server CPUs ${srv_pct}% busy; wrk ${wrk_pct}% (its CPUs ${lg_pct}% busy)"
  [ -n "$S_BEARER" ] && [ "$mode" = gateway ] && bearer_rate_seen "$phase" "$(printf '%s' "$fields" | cut -f3)"
  return 0
}

warm() { # warm URL [URL_B] — URL_B: bearer-shared's second gateway (two wrk processes)
  local side=gateway threads=$THREADS rps
  [ "$WARMUP" = 0 ] && return 0
  [ "$1" = "$S_DIRECT" ] && side=direct
  [ "$CONNECTIONS" -lt "$threads" ] && threads=$CONNECTIONS
  if [ -n "${2:-}" ] && [ "$CONNECTIONS" -ge 2 ]; then
    split_conns "$CONNECTIONS" "$THREADS"
    wrk_env "$side" load "$WARMUP" "${SPLIT_T[0]}" "${SPLIT_T[1]}"
    : >"$WORK/warmup.txt"
    wrk_two "$WORK/warmup.txt" "$WARMUP" "$WRK_DIR/$S_SCRIPT" "$1" "$2" || die "warm-up failed: $(cat "$WORK/warmup.txt")"
  elif [ "$S_TOOL" = loadgen ]; then
    wrk_env "$side" load "$WARMUP" "$threads"
    loadgen_cmd "$CONNECTIONS" "$WARMUP" "$1"
    "${LOADGEN_CMD[@]}" >"$WORK/warmup.txt" 2>&1 || die "warm-up failed: $(cat "$WORK/warmup.txt")"
    return 0
  else
    wrk_env "$side" load "$WARMUP" "$threads"
    "${LOAD[@]}" "${WRK_ENV[@]}" wrk -t"$threads" -c"$CONNECTIONS" -d"$WARMUP" -s "$WRK_DIR/$S_SCRIPT" "$1" >"$WORK/warmup.txt" 2>&1 ||
      die "warm-up failed: $(cat "$WORK/warmup.txt")"
  fi
  if [ -n "$S_BEARER" ] && [ "$side" = gateway ]; then
    # The first estimate of the gateway's rate, for the token counts (a
    # warm-up that ran out of tokens stopped early: count it double).
    # (bearer-shared: the last BENCH line, the two processes together.)
    rps=$(sed -n 's/^BENCH .* rps=\([0-9.]*\) .*/\1/p' "$WORK/warmup.txt" | tail -n1)
    [ "$(exhausted "$WORK/warmup.txt")" -gt 0 ] && rps=$(awk -v r="$rps" 'BEGIN {print 2 * r}')
    bearer_rate_seen load "$rps"
  fi
}

# profile_run SCENARIO — PROFILE=1: one more run through the gateway under
# load, PROFILE_DURATION long, with perf recording the gateway; not measured
# (perf slows what it watches), so the figures above stay clean.
profile_run() {
  local sc=$1 threads=$THREADS data="$PROFILE_DIR/$1.perf.data" two=0 pids=${PID[$S_GW]} who=$S_GW
  [ "$CONNECTIONS" -lt "$threads" ] && threads=$CONNECTIONS
  check_or_die "$sc/gateway (profile)" "$S_GATEWAY"
  # bearer-shared: both gateways under load, both recorded (perf -p A,B).
  if [ -n "$S_GATEWAY2" ] && [ "$CONNECTIONS" -ge 2 ]; then
    two=1 pids="$pids,${PID[$S_GW2]}" who="$S_GW and $S_GW2"
    check_or_die "$sc/gateway (profile, the second gateway)" "$S_GATEWAY2" 2
    split_conns "$CONNECTIONS" "$THREADS"
    wrk_env gateway load "$PROFILE_DURATION" "${SPLIT_T[0]}" "${SPLIT_T[1]}"
  else
    wrk_env gateway load "$PROFILE_DURATION" "$threads"
  fi
  log "  $sc: profiling $who (perf record, $PROFILE_DURATION under load; not measured)"
  local cmd=("${LOAD[@]}" "${WRK_ENV[@]}" wrk -t"$threads" -c"$CONNECTIONS" -d"$PROFILE_DURATION" -s "$WRK_DIR/$S_SCRIPT" "$S_GATEWAY")
  if [ "$S_TOOL" = loadgen ]; then
    loadgen_cmd "$CONNECTIONS" "$PROFILE_DURATION" "$S_GATEWAY"
    cmd=("${LOADGEN_CMD[@]}")
  fi
  profile_start "$pids" "$data"
  if [ "$two" = 1 ]; then
    : >"$PROFILE_DIR/$sc.wrk.txt"
    if ! wrk_two "$PROFILE_DIR/$sc.wrk.txt" "$PROFILE_DURATION" "$WRK_DIR/$S_SCRIPT" "$S_GATEWAY" "$S_GATEWAY2"; then
      profile_stop
      die "wrk failed: $(cat "$PROFILE_DIR/$sc.wrk.txt")"
    fi
  elif ! "${cmd[@]}" >"$PROFILE_DIR/$sc.wrk.txt" 2>&1; then
    profile_stop
    die "$S_TOOL failed: $(cat "$PROFILE_DIR/$sc.wrk.txt")"
  fi
  profile_stop
  profile_report "$data" "$sc: $who, $CONNECTIONS connections, $PROFILE_DURATION" >"$PROFILE_DIR/$sc.md"
}

# sse-10k: SSE10K_STREAMS SendStreamingMessage calls held open at once
# through a gateway of its own (a fresh one, so its peak RSS is this
# scenario's), to a null responder of its own that spaces its events by
# SSE10K_INTERVAL_MS; bench/sse_streams.py opens them, reads every one to
# its end and samples the gateway's memory.
SSE10K_STATUS=0 SSE10K_NOTE="" SSE10K_URL="" SSE10K_RAW="$WORK/sse10k.txt"
declare -A SSE10K=()
run_sse10k() {
  local want=$SSE10K_STREAMS hard soft fds0 fit n t0 t1 g0 g1 timeout
  # Every stream holds two sockets in the gateway (the caller's and the
  # upstream's: HTTP/1.1, one stream per connection), one in the upstream
  # and one in the client. Raise the soft open-file limit to the hard one
  # for the processes started from here on (and the hard one, if allowed).
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && hard=$(cat /proc/sys/fs/nr_open)
  if [ "$hard" -lt $((2 * want + 256)) ] && ulimit -Hn $((2 * want + 256)) 2>/dev/null; then
    hard=$((2 * want + 256))
  fi
  soft=$(ulimit -Sn)
  [ "$soft" = unlimited ] || [ "$soft" -ge "$hard" ] || ulimit -Sn "$hard"
  SSE10K[nofile]=$(ulimit -Sn)
  start null-slow "$WARDEN_BIN" agent null --listen 127.0.0.1:0 --stream-event-interval-ms "$SSE10K_INTERVAL_MS"
  local slow_url
  slow_url=$(url_of null-slow "agent [[:alpha:]]* listening on")
  NULL_URL=$slow_url gateway_config gateway-sse10k insecure-off >"$WORK/gateway-sse10k.toml"
  start gateway-sse10k "$WARDEN_BIN" gateway --config "$WORK/gateway-sse10k.toml"
  local gw admin
  read -r gw admin < <(wait_gateway gateway-sse10k) || true
  [ -n "${admin:-}" ] || die "the sse-10k gateway did not start: $(cat "$WORK/gateway-sse10k.err")"
  SSE10K_URL="$gw/agents/null"
  idle_point gateway-sse10k named
  # What the gateway can hold: its open-file limit less what it has open
  # idle and a margin (store connections, audit), two per stream.
  fds0=$(find "/proc/${PID[gateway-sse10k]}/fd" -mindepth 1 -maxdepth 1 | wc -l)
  fit=$(((SSE10K[nofile] - fds0 - 64) / 2))
  n=$want
  if [ "$n" -gt "$fit" ]; then
    n=$fit
    SSE10K_NOTE="$want streams asked, $n run: the gateway's open-file limit is ${SSE10K[nofile]} (the hard limit; raising it needs CAP_SYS_RESOURCE) and each stream takes two of them (the caller's and the upstream's socket), besides the $fds0 it holds idle"
    log "sse-10k: $SSE10K_NOTE"
  fi
  SSE10K[streams]=$n
  SSE10K[fds0]=$fds0
  timeout=$((4 * SSE10K_INTERVAL_MS / 1000 + 120))
  log "sse-10k: $n streams through $gw (upstream $slow_url, $SSE10K_INTERVAL_MS ms between events)"
  if [ "$PROFILE_OK" = 1 ]; then
    profile_start "${PID[gateway-sse10k]}" "$PROFILE_DIR/sse-10k.perf.data"
  fi
  g0=$(cpu_ticks "${PID[gateway-sse10k]}")
  t0=$(date +%s%N)
  local cmd=("${LOAD[@]}" python3 "$BENCH/sse_streams.py" --url "$SSE10K_URL" --streams "$n"
    --body "$WRK_DIR/stream.json" --open-concurrency "$SSE10K_OPEN_CONCURRENCY" --timeout "$timeout"
    --pid "${PID[gateway-sse10k]}" --json-out "$WORK/sse10k.json")
  printf '$ %s\n' "${cmd[*]}" >"$SSE10K_RAW"
  "${cmd[@]}" >>"$SSE10K_RAW" 2>&1 || SSE10K_STATUS=$?
  t1=$(date +%s%N)
  g1=$(cpu_ticks "${PID[gateway-sse10k]}")
  if [ "$PROFILE_OK" = 1 ]; then
    profile_stop
    profile_report "$PROFILE_DIR/sse-10k.perf.data" "sse-10k: gateway-sse10k, $n streams" >"$PROFILE_DIR/sse-10k.md"
  fi
  [ -s "$WORK/sse10k.json" ] || die "bench/sse_streams.py failed: $(cat "$SSE10K_RAW")"
  mem_point "after sse-10k" gateway-sse10k
  SSE10K[rss_after]=${MEM_RSS["after sse-10k"]}
  SSE10K[hwm]=${MEM_HWM["after sse-10k"]}
  SSE10K[cpu_s]=$(awk -v t=$((g1 - g0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}')
  SSE10K[wall_s]=$(awk -v n=$((t1 - t0)) 'BEGIN {printf "%.1f", n / 1e9}')
  SSE10K[metrics]=$(curl -fsS -m 5 "$admin/metrics" | grep -E '^warden_(requests_total|open_streams)' || true)
  SSE10K[config]=$(sed "s|$WORK|\$WORK|g" "$WORK/gateway-sse10k.toml")
  local k
  for k in completed failed peak_open all_open_s elapsed_s rss_at_peak_open_kb peak_rss_kb; do
    SSE10K[$k]=$(jq -r ".$k // \"\"" "$WORK/sse10k.json")
  done
  SSE10K[failures]=$(jq -r '[.failures | to_entries[] | "\(.value) \(.key)"] | join(", ")' "$WORK/sse10k.json")
  log "sse-10k: ${SSE10K[completed]} of $n complete, ${SSE10K[failed]} failed, at most ${SSE10K[peak_open]} open at once;" \
    "gateway RSS idle $(mib "${IDLE_RSS[gateway-sse10k]}"), peak $(mib "${SSE10K[hwm]}")"
  # Done with them: they would hold the upstream connections open (pooled,
  # idle) through what follows.
  for k in gateway-sse10k null-slow; do
    kill -TERM "${PID[$k]}" 2>/dev/null || true
    wait "${PID[$k]}" 2>/dev/null || true
    unset "PID[$k]"
  done
}

mib() { awk -v k="$1" 'BEGIN {if (k == "") print "–"; else printf "%.1f MiB", k / 1024}'; }

# The report's name, now: profiles are named after it.
if [ -n "$REV" ]; then
  GIT_HEAD=$(git -C "$ROOT" rev-parse --short "$REV_SHA")
  GIT_DIRTY=""
  GIT_NOTE="(REV=$REV, built from a clean \`git archive\` export)"
else
  GIT_HEAD=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  GIT_DIRTY=$(git -C "$ROOT" status --porcelain -- . ':(exclude)bench' 2>/dev/null || true)
  # (An if, not `[ … ] && echo`: under `set -e` a substitution that ends
  # non-zero ends the script, and a clean tree would stop it here.)
  GIT_NOTE="(the working tree)"
  if [ -n "$GIT_DIRTY" ]; then GIT_NOTE="(the working tree, with uncommitted changes listed below)"; fi
fi
if [ -z "$GIT_DIRTY" ] && [ "$GIT_HEAD" != unknown ]; then TAG=$GIT_HEAD; else TAG=worktree; fi
REPORT="$OUT_DIR/$(date -u +%Y-%m-%d)-$TAG${LABEL:+-$LABEL}.md"
[ -e "$REPORT" ] && REPORT="$OUT_DIR/$(date -u +%Y-%m-%d-%H%M%S)-$TAG${LABEL:+-$LABEL}.md"
# PROFILE=1: the recordings go beside the report, in <report>-profiles/.
PROFILES_NAME=$(basename "${REPORT%.md}")-profiles

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# Scenarios compared with each other against a target are measured round by
# round together, in one group: the bearer family (bearer-send, and the
# replicated ones its figure is the base of). Each round runs every member
# (direct and gateway, as always), forward in odd rounds and backward in
# even ones, so that a drift in the machine's speed (other work starting or
# stopping) falls on all of them alike instead of on whichever ran last.
# Every other scenario is a group of its own, run where it stands.
SC_GROUPS=() FAMILY="" FAMILY_AT=""
for sc in $PAIRS; do
  case $sc in
    bearer-send | bearer-shared-one | bearer-two | bearer-shared)
      [ -n "$FAMILY_AT" ] || {
        FAMILY_AT=${#SC_GROUPS[@]}
        SC_GROUPS+=("")
      }
      FAMILY+="${FAMILY:+ }$sc"
      ;;
    *) SC_GROUPS+=("$sc") ;;
  esac
done
# In this order, whatever the order asked: each target compares neighbours
# (bearer-shared-one with bearer-send, bearer-shared with bearer-two).
if [ -n "$FAMILY_AT" ]; then
  ordered=""
  for sc in bearer-send bearer-shared-one bearer-two bearer-shared; do
    case " $FAMILY " in *" $sc "*) ordered+="${ordered:+ }$sc" ;; esac
  done
  SC_GROUPS[FAMILY_AT]=$ordered
fi
for group in "${SC_GROUPS[@]}"; do
  # (Word lists: a scenario name has no space.)
  # shellcheck disable=SC2206
  members=($group)
  [ "${#members[@]}" -gt 1 ] && log "measured round by round together: $group"
  for sc in "${members[@]}"; do
    scenario "$sc"
    log "scenario $sc: $S_TITLE"
    check_or_die "$sc/direct" "$S_DIRECT"
    check_or_die "$sc/gateway" "$S_GATEWAY"
    if [ -n "$S_GATEWAY2" ]; then
      # The second gateway too.
      check_or_die "$sc/gateway (the second gateway)" "$S_GATEWAY2" 2
      warm "$S_DIRECT" "$S_DIRECT"
      warm "$S_GATEWAY" "$S_GATEWAY2"
    else
      warm "$S_DIRECT"
      warm "$S_GATEWAY"
    fi
  done
  for phase in load latency; do
    if [ "$phase" = load ]; then
      conns=$CONNECTIONS dur=$DURATION
    else
      [ "$LAT_DURATION" = 0 ] && continue
      conns=1 dur=$LAT_DURATION
    fi
    for round in $(seq "$ROUNDS"); do
      # Alternate the order so that a drift in the machine's speed does not
      # always favour the same side (or the same scenario of a group).
      if [ $((round % 2)) = 1 ]; then
        order="direct gateway" scs=("${members[@]}")
      else
        order="gateway direct" scs=()
        for ((i = ${#members[@]} - 1; i >= 0; i--)); do scs+=("${members[i]}"); done
      fi
      for sc in "${scs[@]}"; do
        scenario "$sc"
        for mode in $order; do
          measure "$sc" "$phase" "$round" "$mode" "$conns" "$dur"
        done
      done
    done
  done
  for sc in "${members[@]}"; do
    scenario "$sc"
    mem_point "after $sc" "$S_GW"
    [ -n "$S_GW2" ] && mem_point "after $sc ($S_GW2)" "$S_GW2"
    if [ "$PROFILE_OK" = 1 ]; then profile_run "$sc"; fi
  done
done
if [ "$RUN_SSE10K" = 1 ]; then run_sse10k; fi
# fairness: its own gateway and callers (bench/fairness.sh), with the same
# binary and pinning; the gateways above sit idle meanwhile.
FAIR_STATUS=0
if [ "$RUN_FAIRNESS" = 1 ]; then
  log "fairness (bench/fairness.sh)"
  WARDEN_BIN="$WARDEN_BIN" BUILD=0 PIN="$PIN" SERVER_CPUS="${SERVER_CPUS:-}" WRK_CPUS="${WRK_CPUS:-}" \
    PROFILE="$PROFILE" FAIR_PROFILE_DIR="$PROFILE_DIR" FAIR_PROFILES_LINK="$PROFILES_NAME/" \
    FAIR_REPORT="$WORK/fairness.md" FAIR_SUMMARY="$WORK/fairness-summary.md" "$BENCH/fairness.sh" || FAIR_STATUS=$?
  [ -s "$WORK/fairness.md" ] || die "bench/fairness.sh wrote no report (exit $FAIR_STATUS)"
fi
FINISHED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mem_point "end"
GATEWAYS=(gateway)
[ -n "$AUTH_GW_URL" ] && mem_point "end (gateway-auth)" gateway-auth && GATEWAYS+=(gateway-auth)
[ -n "$AUTHZ_GW_URL" ] && mem_point "end (gateway-authz)" gateway-authz && GATEWAYS+=(gateway-authz)
[ -n "$MTLS_GW_URL" ] && mem_point "end (gateway-mtls)" gateway-mtls && GATEWAYS+=(gateway-mtls)
if [ -n "$SHARED_GW_URL" ]; then
  mem_point "end (gateway-shared-a)" gateway-shared-a
  GATEWAYS+=(gateway-shared-a)
fi
if [ -n "$SHARED_GW_URL_B" ]; then
  mem_point "end (gateway-shared-b)" gateway-shared-b
  GATEWAYS+=(gateway-shared-b)
fi
for gw in gateway-two-a gateway-two-b; do
  if [ -n "${REPLICA_URL[$gw]:-}" ]; then
    mem_point "end ($gw)" "$gw"
    GATEWAYS+=("$gw")
  fi
done
# conf_of GATEWAY — its configuration file (and store) under $WORK. (Until
# cac22e5 the two bearer-shared gateways had one.)
conf_of() { echo "$1"; }
declare -A GW_METRICS=() AUDIT_ROWS=() GW_ADMIN=([gateway]=$ADMIN_URL [gateway-auth]=$AUTH_ADMIN_URL [gateway-authz]=$AUTHZ_ADMIN_URL
  [gateway-mtls]=$MTLS_ADMIN_URL)
for gw in "${!REPLICA_ADMIN[@]}"; do GW_ADMIN[$gw]=${REPLICA_ADMIN[$gw]}; done
for gw in "${GATEWAYS[@]}"; do
  GW_METRICS[$gw]=$(curl -fsS -m 5 "${GW_ADMIN[$gw]}/metrics" |
    grep -E '^warden_(requests_total|authz_refusals_total|audit_events_dropped|open_streams|shared_unavailable_total|replay_cache_full)' || true)
done
sleep 1 # let the audit writers drain their last batch
for gw in "${GATEWAYS[@]}"; do
  AUDIT_ROWS[$gw]=unknown
  if command -v sqlite3 >/dev/null; then
    AUDIT_ROWS[$gw]=$(sqlite3 "file:$WORK/$(conf_of "$gw")-store/warden.db?mode=ro" 'SELECT count(*) FROM audit_events' 2>/dev/null || echo unknown)
  fi
done
declare -A END_RSS=() END_HWM=()
for name in "${GATEWAYS[@]}" null echo; do
  END_RSS[$name]=$(status_kb "${PID[$name]}" VmRSS)
  END_HWM[$name]=$(status_kb "${PID[$name]}" VmHWM)
done

# --- the report ---------------------------------------------------------------

med() { awk '$1 != "nan"' | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
# col SCENARIO PHASE MODE EXPR — one value per run (awk expression over the columns).
# Columns: 1 sc 2 phase 3 round 4 mode 5 requests 6 duration_us 7 rps 8 p50 9 p90 10 p99
# 11 max 12 connect 13 read 14 write 15 status 16 timeout 17 checked 18 bad
# 19 gateway_ticks 20 upstream_ticks 21 wall_us 22 server CPUs busy (all processes, %)
# 23 wrk CPUs busy (all processes, %) 24 wrk's own CPU time (µs)
# 25 Redis server ticks, 26 Redis commands processed (bearer-shared; nan otherwise)
col() { awk -F'\t' -v s="$1" -v p="$2" -v m="$3" '$1 == s && $2 == p && $4 == m {print '"$4"'}' "$RESULTS"; }
# pair SCENARIO PHASE EXPR — one value per round, from the direct (d[]) and gateway (g[]) rows.
pair() {
  awk -F'\t' -v s="$1" -v p="$2" '$1 == s && $2 == p {
      if ($4 == "direct") { for (i = 1; i <= NF; i++) D[$3, i] = $i }
      else { for (i = 1; i <= NF; i++) G[$3, i] = $i }
      rounds[$3] = 1
    } END { for (r in rounds) { split("", d); split("", g)
      for (i = 1; i <= 26; i++) { d[i] = D[r, i]; g[i] = G[r, i] }
      print '"$3"' } }' "$RESULTS"
}
ms() { awk -v u="$1" 'BEGIN {if (u == "nan") print "–"; else printf "%.3f ms", u / 1000}'; }
# redis_per_call SCENARIO PHASE — the Redis server's CPU time and commands per
# call through the gateways (medians over the rounds), as a phrase.
redis_per_call() {
  local cpu cmds
  if [ -z "$REDIS_PID" ]; then
    echo "not measured (${REDIS_NOTE:-no redis-server process})"
    return 0
  fi
  cpu=$(col "$1" "$2" gateway "$REDIS_CPU" | med)
  cmds=$(col "$1" "$2" gateway "$REDIS_CMDS" | med)
  printf '%s of redis-server (pid %s, %s), ' "$(num "$cpu" '%.1f µs')" "$REDIS_PID" "$REDIS_WHERE"
  if [ "$cmds" = nan ]; then
    echo "Redis commands per call not counted (no redis-cli)$([ "$REDIS_MODE" = machine ] && echo ": the bench assumes nothing else used this Redis meanwhile")"
  elif [ "$REDIS_MODE" = own ]; then
    echo "$(num "$cmds" '%.2f') Redis commands per call (all the commands the server processed during the runs ÷ the calls wrk counted; no other client: a little over what the build sends per call is the calls still in flight when wrk stopped, which Redis counted and wrk did not, and the bench's own INFO)"
  else
    echo "$(num "$cmds" '%.2f') Redis commands per call (all the commands the server processed during the runs ÷ the calls: the bench assumes nothing else used this Redis meanwhile, and this count would show it)"
  fi
}
plus_ms() { awk -v u="$1" 'BEGIN {if (u == "nan") print "–"; else printf "%+.3f ms", u / 1000}'; }
num() { awk -v x="$1" -v f="$2" 'BEGIN {if (x == "nan") print "–"; else printf f, x}'; }
TICK_US=$((1000000 / CLK_TCK))
# µs of CPU per request, and how busy the server CPUs were.
# A run that completed no request (a stalled machine can make a 1 s smoke
# run do that) has no per-request figures: "nan", which med leaves out.
GW_CPU="(\$5 > 0 ? \$19 * $TICK_US / \$5 : \"nan\")"
REDIS_CPU="(\$5 > 0 ? \$25 * $TICK_US / \$5 : \"nan\")"
REDIS_CMDS='($26 == "nan" || $5 == 0 ? "nan" : $26 / $5)'
# The req/s ratio of a round, when its direct side made any request.
RPS_RATIO='(d[7] > 0 ? g[7] / d[7] : "nan")'
# Upstream CPU per request direct ÷ (gateway + upstream) CPU per request through
# the gateway: the req/s ratio the server CPUs would give if nothing else ran.
CPU_RATIO='(g[19] + g[20] > 0 && d[5] > 0 && g[5] > 0 ? (d[20] / d[5]) / ((g[19] + g[20]) / g[5]) : "nan")'


# profile_section SCENARIO WHEN — PROFILE=1: the scenario's top symbols.
profile_section() {
  [ "$PROFILE" = 1 ] || return 0
  echo "#### Profile of the gateway ($1)"
  echo
  if [ "$PROFILE_OK" != 1 ]; then
    echo "Not recorded: $PROFILE_NOTE."
  elif [ -s "$PROFILE_DIR/$1.md" ]; then
    if [ "$1" != sse-10k ] && [ -n "$S_GW2" ]; then
      echo "perf record of both gateway processes ($S_GW and $S_GW2, one recording) during $2."
    else
      echo "perf record of the gateway process during $2."
    fi
    echo "Full report: [\`$PROFILES_NAME/$1.perf.data.txt\`]($PROFILES_NAME/$1.perf.data.txt); recording: \`$PROFILES_NAME/$1.perf.data\` (not committed)."
    echo
    cat "$PROFILE_DIR/$1.md"
  else
    echo "Not recorded (see the log)."
  fi
  echo
}

SSE10K_SUMMARY="$WORK/sse10k-summary.md" SSE10K_SECTION="$WORK/sse10k.md"
if [ "$RUN_SSE10K" = 1 ]; then
  if [ "${SSE10K[completed]}" = "${SSE10K[streams]}" ] && [ "$SSE10K_STATUS" = 0 ]; then
    SSE10K_ALL=yes
  else
    SSE10K_ALL="**no**"
  fi
  if [ "${SSE10K[peak_open]}" = "${SSE10K[streams]}" ]; then SSE10K_CONC=yes; else SSE10K_CONC="**no** (raise SSE10K_INTERVAL_MS)"; fi
  SSE10K_TARGET=$(awk -v k="${SSE10K[hwm]}" -v all="$SSE10K_ALL" -v n="${SSE10K[streams]}" 'BEGIN {
      if (all != "yes") print "**not met** (streams failed)";
      else if (k > 256 * 1024) print "**not met**" (n < 10000 ? " (already with " n " streams)" : "");
      else if (n < 10000) print "not measured (" n " streams, not 10,000)";
      else print "met" }')
  SSE10K_PER=$(awk -v a="${SSE10K[rss_at_peak_open_kb]}" -v i="${IDLE_RSS[gateway-sse10k]}" -v n="${SSE10K[peak_open]}" \
    'BEGIN {if (a == "" || n == 0) print "–"; else printf "%.1f KiB", (a - i) / n}')
  {
    echo "sse-10k: ${SSE10K[streams]} \`SendStreamingMessage\` streams held open at once through one gateway (upstream: the null responder, $SSE10K_INTERVAL_MS ms between its 5 events).${SSE10K_NOTE:+ $SSE10K_NOTE.}"
    echo
    echo "| streams | every stream complete | failed | most open at once | all open after | total | gateway RSS idle / all open / peak | per open stream | gateway CPU | target: all complete, peak ≤ 256 MiB |"
    echo "|--:|---|--:|--:|--:|--:|--:|--:|--:|---|"
    printf '| %s | %s | %s | %s (all: %s) | %s | %s s | %s / %s / %s | %s | %s s | %s |\n' "${SSE10K[streams]}" "$SSE10K_ALL" \
      "${SSE10K[failed]}${SSE10K[failures]:+ (${SSE10K[failures]})}" "${SSE10K[peak_open]}" "$SSE10K_CONC" \
      "$(awk -v s="${SSE10K[all_open_s]}" 'BEGIN {if (s == "") print "–"; else printf "%.1f s", s}')" "${SSE10K[elapsed_s]}" \
      "$(mib "${IDLE_RSS[gateway-sse10k]}")" "$(mib "${SSE10K[rss_at_peak_open_kb]}")" "$(mib "${SSE10K[hwm]}")" \
      "$SSE10K_PER" "${SSE10K[cpu_s]}" "$SSE10K_TARGET"
  } >"$SSE10K_SUMMARY"
  {
    echo "## sse-10k — ${SSE10K[streams]} concurrent SSE streams through one gateway"
    echo
    echo "A gateway of its own (\`gateway-sse10k\`, started fresh so that its peak RSS is this scenario's; authentication off,"
    echo "rate limits as the others', 100,000 open streams per caller) in front of a null responder of its own"
    echo "(\`warden agent null --stream-event-interval-ms $SSE10K_INTERVAL_MS\`: the first of its 5 events at once, then one every"
    echo "$SSE10K_INTERVAL_MS ms, so each stream stays open $((4 * SSE10K_INTERVAL_MS / 1000)) s). [\`bench/sse_streams.py\`](../sse_streams.py)"
    echo "(Python asyncio, one HTTP/1.1 connection per stream, on the load generator's CPU) opens ${SSE10K[streams]} \`SendStreamingMessage\`"
    echo "calls ([\`wrk/stream.json\`](../wrk/stream.json)), at most $SSE10K_OPEN_CONCURRENCY waiting for their response headers at a"
    echo "time, and reads every one to its end: complete = HTTP 200 and exactly 5 events, each a JSON-RPC result without an"
    echo "error, the last completing the task. It samples the gateway's VmRSS every 100 ms (\"all open\": the highest sample"
    echo "while the most streams were open) and reads its VmHWM at the end (\"peak\"). Open-file limit of the processes:"
    echo "${SSE10K[nofile]}; the gateway held ${SSE10K[fds0]} files idle.${SSE10K_NOTE:+ **$SSE10K_NOTE.**}"
    echo
    cat "$SSE10K_SUMMARY"
    echo
    echo "Wall time of the client ${SSE10K[wall_s]} s; gateway RSS after the streams ended $(mib "${SSE10K[rss_after]}"); highest"
    echo "VmRSS sampled $(mib "${SSE10K[peak_rss_kb]}"). The gateway's counters at the end (\`warden_open_streams\` should be back at 0):"
    echo
    echo '```'
    echo "${SSE10K[metrics]}"
    echo '```'
    echo
    profile_section sse-10k "the run (perf costs the gateway CPU, not memory; nothing here is a rate)"
    echo "<details><summary>gateway-sse10k.toml</summary>"
    echo
    echo '```toml'
    echo "${SSE10K[config]}"
    echo '```'
    echo
    echo "</details>"
    echo
    echo "<details><summary>sse_streams.py output</summary>"
    echo
    echo '```'
    cat "$SSE10K_RAW"
    echo '```'
    echo
    echo "</details>"
    echo
  } >"$SSE10K_SECTION"
fi

SUMMARY="$WORK/summary.md"
{
  echo "| scenario | direct req/s | gateway req/s | ratio | CPU-cost ratio | added p50 | added p99 | added p50, 1 conn | added p99, 1 conn | gateway CPU/req | gateway RSS idle / after / peak |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
} >"$SUMMARY"
SECTIONS="$WORK/sections.md"
: >"$SECTIONS"
for sc in $PAIRS; do
  scenario "$sc"
  d_rps=$(col "$sc" load direct '$7' | med)
  g_rps=$(col "$sc" load gateway '$7' | med)
  ratio=$(pair "$sc" load "$RPS_RATIO" | med)
  cpuratio=$(pair "$sc" load "$CPU_RATIO" | med)
  add50=$(pair "$sc" load 'g[8] - d[8]' | med)
  add99=$(pair "$sc" load 'g[10] - d[10]' | med)
  lat50=$(pair "$sc" latency 'g[8] - d[8]' | med)
  lat99=$(pair "$sc" latency 'g[10] - d[10]' | med)
  gwcpu=$(col "$sc" load gateway "$GW_CPU" | med)
  printf '| %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n' "$sc" \
    "$(num "$d_rps" %.0f)" "$(num "$g_rps" %.0f)" "$(num "$ratio" %.3f)" "$(num "$cpuratio" %.3f)" \
    "$(plus_ms "$add50")" "$(plus_ms "$add99")" "$(plus_ms "$lat50")" "$(plus_ms "$lat99")" \
    "$(num "$gwcpu" '%.0f µs')" "$(mib "${IDLE_RSS[$S_GW]}")" "$(mib "${MEM_RSS["after $sc"]}")" \
    "$(mib "${MEM_HWM["after $sc"]}")" >>"$SUMMARY"
  {
    echo "### $sc — $S_TITLE"
    echo
    if [ "$S_TOOL" = loadgen ]; then
      echo "Direct: \`POST $S_DIRECT\` (plain HTTP); through the gateway: \`POST $S_GATEWAY\` (mutual TLS); body \`bench/wrk/$S_BODY\`;"
      echo "load generator \`warden-loadgen run\` (bench/loadgen) on both sides, in the wrk columns below. Its TLS handshakes, one per"
      echo "connection and run, are in the gateway's CPU."
    else
      echo "Direct: \`POST $S_DIRECT\`; through the gateway: \`POST $S_GATEWAY\`$(if [ -n "$S_GATEWAY2" ]; then echo " ($S_GW) and \`POST $S_GATEWAY2\` ($S_GW2), one wrk process each under load; with one connection, $S_GW only"; fi); body \`bench/wrk/$S_BODY\`; script \`bench/wrk/$S_SCRIPT\`."
    fi
    echo
    for phase in load latency; do
      [ "$phase" = latency ] && [ "$LAT_DURATION" = 0 ] && continue
      if [ "$phase" = load ]; then
        echo "Under load ($CONNECTIONS connections, $DURATION per run):"
      else
        echo "Latency with one connection ($LAT_DURATION per run):"
      fi
      echo
      echo "| round | side | req/s | p50 | p90 | p99 | max | failed | server CPU: ours / all | wrk CPU: own / all | gateway CPU/req | upstream CPU/req |"
      echo "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
      awk -F'\t' -v s="$sc" -v p="$phase" -v tick="$TICK_US" -v n="$SERVER_NCPU" -v w="$WRK_NCPU" '$1 == s && $2 == p {
          printf "| %s | %s | %.0f | %.3f ms | %.3f ms | %.3f ms | %.3f ms | %d | %.0f%% / %d%% | %.0f%% / %d%% | %s | %s |\n",
            $3, $4, $7, $8 / 1000, $9 / 1000, $10 / 1000, $11 / 1000, $12 + $13 + $14 + $15 + $16 + $18,
            100 * ($19 + $20) * tick / $21 / n, $22, 100 * $24 / $21 / w, $23,
            ($5 > 0 ? sprintf("%.1f µs", $19 * tick / $5) : "– (no request)"), ($5 > 0 ? sprintf("%.1f µs", $20 * tick / $5) : "–") }' "$RESULTS"
      echo
      r=$(pair "$sc" "$phase" "$RPS_RATIO" | med)
      a50=$(pair "$sc" "$phase" 'g[8] - d[8]' | med)
      a99=$(pair "$sc" "$phase" 'g[10] - d[10]' | med)
      cr=$(pair "$sc" "$phase" "$CPU_RATIO" | med)
      echo "Medians over the rounds: ratio through/direct **$(num "$r" %.3f)** (CPU-cost ratio $(num "$cr" %.3f)), added p50 **$(plus_ms "$a50")**, added p99 **$(plus_ms "$a99")**."
      echo
      if [ -n "$S_REDIS" ]; then
        echo "The Redis server through the gateways: $(redis_per_call "$sc" "$phase")."
        echo
      fi
    done
    profile_section "$sc" "one more run through the gateway after the measured ones ($CONNECTIONS connections, $PROFILE_DURATION; not counted in the figures above)"
  } >>"$SECTIONS"
done

# The performance issue's target for mtls-send: its gateway CPU per call
# within 20 % of jsonrpc-send's (no TLS, no authentication), same run.
case " $PAIRS " in
  *" mtls-send "*)
    MTLS_CPU=$(col mtls-send load gateway "$GW_CPU" | med)
    if [[ " $PAIRS " == *" jsonrpc-send "* ]]; then
      PLAIN_CPU=$(col jsonrpc-send load gateway "$GW_CPU" | med)
      awk -v m="$MTLS_CPU" -v p="$PLAIN_CPU" 'BEGIN {
          if (m == "nan" || p == "nan" || p <= 0) { print "mtls-send vs jsonrpc-send: no figures to compare."; exit }
          r = m / p
          printf "mtls-send vs jsonrpc-send, gateway CPU per call (medians, under load): %.0f µs vs %.0f µs, **×%.2f (%+.0f %%)**; target within 20 %%: %s.\n",
            m, p, r, 100 * (r - 1), (r <= 1.2 ? "met" : "**not met**") }'
    else
      echo "mtls-send: gateway CPU per call $(num "$MTLS_CPU" '%.0f µs'); not compared with jsonrpc-send (not in this run; the target is within 20 % of it)."
    fi >"$WORK/mtls-target.md"
    { echo; cat "$WORK/mtls-target.md"; } >>"$SUMMARY"
    ;;
esac

# Issue 14's target: the added gateway CPU per call of shared state at most
# 15 %, in the same run. Against the same two gateways without [shared]
# (bearer-shared vs bearer-two: what the shared state adds to replicas), one
# gateway with [shared] against one without (bearer-shared-one vs
# bearer-send), and the replicated scenario against the single-node figure
# (bearer-shared vs bearer-send: the second process included, with what
# that costs alone, bearer-two vs bearer-send, beside it).
# round_ratios SC BASE — SC's gateway CPU per call ÷ BASE's, one line per
# round (the bearer family runs round by round together, so round r of both
# came minutes apart at most, under the same neighbours), in round order.
round_ratios() {
  awk -F'\t' -v a="$1" -v b="$2" -v tick="$TICK_US" '$2 == "load" && $4 == "gateway" && $5 > 0 {
      if ($1 == a) A[$3] = $19 * tick / $5; else if ($1 == b) B[$3] = $19 * tick / $5
    } END {for (r in A) if ((r in B) && B[r] > 0) print r, A[r] / B[r]}' "$RESULTS" | sort -n | cut -d' ' -f2
}
# cpu_vs SC BASE — "SC vs BASE: X µs vs Y µs; per round +a, +b, +c %:
# **median +R %** (target …)". The verdict is on the median of the rounds'
# ratios (paired rounds), not on the ratio of the medians.
cpu_vs() {
  local a b ratios
  a=$(col "$1" load gateway "$GW_CPU" | med)
  b=$(col "$2" load gateway "$GW_CPU" | med)
  ratios=$(round_ratios "$1" "$2")
  awk -v a="$a" -v b="$b" -v sa="$1" -v sb="$2" -v list="$(paste -sd ' ' <<<"$ratios")" -v med="$(med <<<"$ratios")" 'BEGIN {
      if (a == "nan" || b == "nan" || med == "nan" || list == "") { printf "%s vs %s: no figures to compare", sa, sb; exit }
      n = split(list, r, " "); per = ""
      for (i = 1; i <= n; i++) per = per (i > 1 ? ", " : "") sprintf("%+.0f", 100 * (r[i] - 1))
      printf "%s vs %s: %.0f µs vs %.0f µs (medians); round by round %s %%: **median %+.0f %%** (target ≤ 15 %%: %s)",
        sa, sb, a, b, per, 100 * (med - 1), (med <= 1.15 ? "met" : "**not met**") }'
}
# cpu_delta SC BASE — "+R %" (the median of the rounds' ratios; no target).
cpu_delta() {
  local m
  m=$(round_ratios "$1" "$2" | med)
  awk -v m="$m" 'BEGIN {if (m == "nan" || m == "") print "–"; else printf "%+.0f %%", 100 * (m - 1)}'
}
# cpu_range SC — "X µs (rounds A–B)": the median gateway CPU per call under
# load and the spread of the rounds.
cpu_range() {
  local m lo hi
  m=$(col "$1" load gateway "$GW_CPU" | med)
  lo=$(col "$1" load gateway "$GW_CPU" | sort -g | head -n1)
  hi=$(col "$1" load gateway "$GW_CPU" | sort -g | tail -n1)
  awk -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {if (m == "nan" || m == "") print "–"; else printf "%.0f µs (rounds %.0f–%.0f)", m, lo, hi}'
}
# redis_short SC — the Redis server's CPU and commands per call, briefly.
redis_short() {
  local cpu cmds
  [ -n "$REDIS_PID" ] || { echo "Redis CPU not measured"; return 0; }
  cpu=$(col "$1" load gateway "$REDIS_CPU" | med)
  cmds=$(col "$1" load gateway "$REDIS_CMDS" | med)
  echo "Redis server besides: $(num "$cpu" '%.1f µs') and $(num "$cmds" '%.2f') commands per call"
}
in_pairs() { [[ " $PAIRS " == *" $1 "* ]]; }
if in_pairs bearer-shared || in_pairs bearer-shared-one; then
  {
    echo "Issue 14's target, gateway CPU per call under load (a two-gateway figure is both gateways' CPU ÷ all the calls), each scenario against its base round by round (they ran in turn within each round): **the shared state adds at most 15 %**."
    echo
    if in_pairs bearer-shared && [ -n "$SHARED_GW_URL_B" ]; then
      if in_pairs bearer-two; then
        echo "- **Added CPU per call of shared state, two gateways** (a store each, with \`[shared]\` and without): $(cpu_vs bearer-shared bearer-two). $(redis_short bearer-shared)."
      else
        echo "- Added CPU per call of shared state, two gateways: not measured (bearer-two, the same two gateways without \`[shared]\`, is not in this run)."
      fi
    fi
    one=""
    if in_pairs bearer-shared-one; then
      one=bearer-shared-one
    elif in_pairs bearer-shared && [ -z "$SHARED_GW_URL_B" ]; then
      one=bearer-shared
    fi
    if [ -n "$one" ]; then
      if in_pairs bearer-send; then
        echo "- **Added CPU per call of shared state, one gateway** (gateway-shared-a alone$([ "$one" = bearer-shared ] && echo ", SHARED_REPLICAS=1"), against gateway-auth without it): $(cpu_vs "$one" bearer-send). $(redis_short "$one")."
      else
        echo "- Added CPU per call of shared state, one gateway: $one $(cpu_range "$one"); not compared (bearer-send is not in this run)."
      fi
    fi
    if in_pairs bearer-shared && [ -n "$SHARED_GW_URL_B" ] && in_pairs bearer-send; then
      echo "- Against the single-node figure, two gateways with \`[shared]\` against one without: $(cpu_vs bearer-shared bearer-send)$(if in_pairs bearer-two; then echo "; of that, the second gateway process by itself (bearer-two vs bearer-send, no \`[shared]\` on either side) $(cpu_delta bearer-two bearer-send)"; fi). Both gateways share the server CPU(s) ($SERVER_NCPU), each with half the connections (bench/README.md, bearer-shared)."
    fi
  } >"$WORK/shared-target.md"
  { echo; cat "$WORK/shared-target.md"; } >>"$SUMMARY"
fi
if [ -n "$SHARED_SKIP" ]; then
  { echo; echo "$SHARED_SKIP."; } >>"$SUMMARY"
fi

TOTAL_FAILED=$(awk -F'\t' '{s += $12 + $13 + $14 + $15 + $16 + $18} END {print s + 0}' "$RESULTS")
if [ -z "$PAIRS" ]; then
  VERDICT=""
  # (With pairs, the summary says it.)
  if [ -n "$SHARED_SKIP" ]; then VERDICT="$SHARED_SKIP."; fi
elif [ "$FAILED_RUNS" -eq 0 ]; then
  VERDICT="All $(wc -l <"$RESULTS") measured runs answered every request with a success."
else
  VERDICT="**$FAILED_RUNS measured runs had failed requests ($TOTAL_FAILED in all); the figures are not valid.**"
fi
if [ "$RUN_FAIRNESS" = 1 ] && [ "$FAIR_STATUS" != 0 ]; then
  VERDICT="${VERDICT:+$VERDICT }**fairness: the well-behaved caller had refused or failed requests (see Fairness).**"
fi
if [ "$RUN_SSE10K" = 1 ]; then
  if [ "$SSE10K_ALL" = yes ]; then
    VERDICT="${VERDICT:+$VERDICT }sse-10k: all ${SSE10K[streams]} streams complete."
  else
    VERDICT="${VERDICT:+$VERDICT }**sse-10k: ${SSE10K[failed]} of ${SSE10K[streams]} streams did not complete.**"
  fi
fi
if [ "$BIN_KIND" = debug ]; then
  VERDICT="${VERDICT:+$VERDICT }**A debug build: a smoke run, its figures say nothing about performance.**"
fi

{
  echo "# Warden benchmark — $(date -u +%Y-%m-%d) ($TAG)"
  echo
  echo "$VERDICT"
  echo
  echo "## Summary"
  echo
  if [ -n "$PAIRS" ]; then
  echo "Ratio: gateway req/s ÷ direct req/s (1.0 = the gateway costs nothing). CPU-cost ratio: the upstream's CPU time per request"
  echo "direct ÷ the gateway's plus the upstream's per request through the gateway — the ratio the server CPUs would give with"
  echo "nothing else running (other work on the machine skews the req/s ratio; see \"server CPU\" in the tables)."
  echo "Added: gateway latency − direct latency."
  echo "Medians over $ROUNDS alternating rounds. \"1 conn\": one connection, requests back to back (no queueing)."
  echo
  fi
  if [ -n "$PAIRS" ]; then
    cat "$SUMMARY"
    echo
    echo "Gateway RSS idle: right after the scenario's gateway started, before any load (the same gateway serves several scenarios)."
    echo
  fi
  if [ "$RUN_SSE10K" = 1 ]; then
    cat "$SSE10K_SUMMARY"
    echo
  fi
  if [ "$RUN_FAIRNESS" = 1 ]; then
    cat "$WORK/fairness-summary.md"
    echo
  fi
  if [ "$PROFILE" = 1 ]; then
    echo "Profiles (PROFILE=1): $(if [ "$PROFILE_OK" = 1 ]; then echo "perf, the top symbols by self time under each scenario; recordings and full reports in [\`$PROFILES_NAME/\`]($PROFILES_NAME/)."; else echo "none: $PROFILE_NOTE."; fi)"
    echo
  fi
  echo "## How it was run"
  echo
  echo '```'
  echo "$INVOKED"
  echo '```'
  echo
  echo "Every parameter as it took effect:"
  echo
  echo '```'
  echo "$COMMAND_LINE"
  echo '```'
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| started / finished (UTC) | $STARTED / $FINISHED |"
  echo "| warden | \`$WARDEN_VERSION\`, git $GIT_HEAD $GIT_NOTE |"
  echo "| binary | \`$WARDEN_BIN\` ($BIN_KIND build) |"
  echo "| load generator | $WRK_VERSION, $THREADS thread(s)${LOADGEN_VERSION:+; mtls-send: $LOADGEN_VERSION (bench/loadgen, one thread)} |"
  echo "| pinning | $PINNING |"
  echo "| CPUs (nproc) | $NCPU |"
  echo "| CPU model | $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo) |"
  echo "| kernel | $(uname -srm) |"
  echo "| memory | $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) |"
  echo "| stores | $(df -T "$WORK" | awk 'NR == 2 {print $2}') under \`$(dirname "$WORK")\` (gateway audit and echo tasks: separate SQLite files) |"
  echo "| load average (1/5/15 min) | $LOADAVG_START before, $(cut -d' ' -f1-3 /proc/loadavg) at the end |"
  echo
  if [ -n "$GIT_DIRTY" ]; then
    echo "Uncommitted changes outside bench/ at the time of the run:"
    echo
    echo '```'
    echo "$GIT_DIRTY"
    echo '```'
    echo
  fi
  echo "The upstream is \`warden agent null\` (fixed replies, no storage) for every scenario but echo-send, which"
  echo "uses \`warden agent echo\` with its own SQLite store. The gateway has both agents configured"
  echo "with default limits and writes an audit event per request to its own store$([ "$HAS_AUTH" = 1 ] && echo "; its authentication is off
(\`auth.mode = \"insecure-off\"\`) so that these figures are the pipeline's. apikey-send and bearer-send go through a second
gateway (\`gateway-auth\`) with the default strict authentication: a registered caller's API key in \`X-API-Key\`
(apikey-send), or a single-use access token from Warden's own authority in \`Authorization: Bearer\` (bearer-send)")."
  if [ "$HAS_AUTHZ" = 1 ]; then
    echo "Every gateway checks every call against its rate limits, set far above what wrk can send (1,000,000/s per address,"
    echo "caller, pair and skill; the defaults would refuse most of the load), so they cost what they cost but never refuse."
    echo "With strict authentication, every call is also authorised: the caller \`bench\` holds a grant for skill \`null\` of"
    echo "agent \`null\` (\`warden registry add bench --grant null=null\`), the skill is implied by the null responder's card (one"
    echo "skill) or, in authz-send, named by the message (the Warden skill extension), and the task each answer names is recorded"
    echo "against its caller (task ownership, in the gateway's store). authz-send goes through a third gateway"
    echo "(\`gateway-authz\`): strict authentication with an API key, as apikey-send, plus the policy rules of"
    echo "\`bench/authz-policy.toml\` (below) evaluated on every call."
  fi
  echo
  if [ -n "$MTLS_GW_URL" ]; then
    echo "mtls-send goes through a gateway of its own (\`gateway-mtls\`): a TLS listener with \`client_auth = \"required\"\` and a throw-away"
    echo "CA (\`warden-loadgen certs\`: ECDSA P-256 server and client certificates), strict authentication and the same grant."
    echo "Every connection sends ONE access token bound to the client certificate (\`warden token mint --cnf-x5t $MTLS_X5T --ttl 12h\`,"
    echo "RFC 8705) on every call; the gateway verifies it in full once per connection (again after 60 s) and recognises it after"
    echo "that. wrk cannot present a client certificate, so both sides of mtls-send use bench/loadgen (\`warden-loadgen run\`,"
    echo "closed loop, keep-alive HTTP/1.1, one thread, pinned as wrk), the direct side over plain HTTP with the same header."
    echo
  fi
  if [[ " $SCENARIOS " == *" bearer-send "* ]] || [[ " $SCENARIOS " == *" bearer-shared "* ]]; then
    bearer_names=$(tr ' ' '\n' <<<"$SCENARIOS" | grep -x -e 'bearer-.*' | paste -sd ',' | sed 's/,\([^,]*\)$/ and \1/; s/,/, /g' || true)
    echo "$bearer_names: before every run through the gateway, \`warden token mint --count N --ttl $BEARER_TTL\` minted fresh tokens"
    echo "into a file (two files for two gateways, each minted from its gateway's own store and sent only there); the wrk script sends each one once (no token twice: a replayed one is refused with 401 and would count"
    echo "as a failure) and stops if they run out. $TOKENS_MINTED tokens were minted in all (with one per curl check);"
    echo "$TOKEN_REDOS runs ran out of tokens and were run again with twice as many (their outputs are kept below, marked"
    echo "\"ran-out-of-tokens\"). The direct runs send the same header, from a file of 1,000 tokens used over and over (the null"
    echo "responder ignores it). The replay cache of gateway-auth (and of every other strict gateway) has room for 2,000,000 ids (\`auth.replay_cache_entries\`, which"
    echo "every revision reads; builds since 115c905 otherwise size it from \`auth.replay_rate\`), since every token used stays in"
    echo "it until it expires."
    echo
  fi
  if [ -n "$SHARED_GW_URL" ] || [ -n "$TWO_GW_URL" ]; then
    echo "The replicated scenarios: every gateway below is configured as gateway-auth with a data directory, so a SQLite store, of"
    echo "its own (its own signing key; the caller \`bench\` and its grant registered in each with \`warden registry add\`), and one"
    echo "\`public_url\` for all, \`$REPLICAS_PUBLIC_URL\`, standing for their load balancer (never called)."
    if [ -n "$SHARED_GW_URL_B" ]; then
      echo "bearer-shared goes through TWO gateway processes, \`gateway-shared-a\` and \`gateway-shared-b\`, with \`[shared]\` on"
      echo "$REDIS_WHO ($REDIS_URL, under this run's own key prefix \`$SHARED_PREFIX\`), so every single-use id is claimed on"
      echo "Redis and every call's rate limits are checked there, shared by the two."
    elif [ -n "$SHARED_GW_URL" ]; then
      echo "\`gateway-shared-a\` has \`[shared]\` on $REDIS_WHO ($REDIS_URL, under this run's own key prefix \`$SHARED_PREFIX\`)$(if in_pairs bearer-shared; then echo "; bearer-shared (SHARED_REPLICAS=1) goes through it alone"; fi)."
    fi
    if in_pairs bearer-shared-one; then
      echo "bearer-shared-one goes through \`gateway-shared-a\` alone, one wrk process taking the whole load (\`gateway-shared-b\`, if started, idles): what the shared state costs one gateway."
    fi
    if [ -n "$TWO_GW_URL" ]; then
      echo "bearer-two goes through \`gateway-two-a\` and \`gateway-two-b\`: the same two gateways without \`[shared]\`, each with its own"
      echo "replay cache and rate limits (tokens never go to both), so bearer-shared against bearer-two is what the shared state"
      echo "adds to two replicas, and bearer-two against bearer-send what a second gateway process costs by itself."
    fi
    echo "Through two gateways, under load, two wrk processes run at once, one per gateway, each with half the connections"
    echo "($(((CONNECTIONS + 1) / 2)) and $((CONNECTIONS / 2))) and its own tokens; the direct side is the same two processes against the null"
    echo "responder. Their requests and rates are summed; their p50/p90/p99 are the request-weighted means of the two (wrk prints"
    echo "no histogram to merge), their max the larger. With one connection, one wrk goes through the first gateway only. Gateway"
    echo "CPU per call: both gateways' CPU time ÷ all the calls; all are pinned to the server CPUs like every gateway."
    if [ -n "$SHARED_GW_URL" ]; then
      if [ "$REDIS_MODE" = own ]; then
        echo "The Redis server (SHARED_REDIS=own: redis-server, pid ${REDIS_PID:-unknown}, $REDIS_WHERE${REDIS_NOTE:+; $REDIS_NOTE}) was started by the bench"
        echo "for this run, with no persistence and no other client, and stopped at the end; its CPU time per call is read from"
        echo "/proc like the gateways', and the commands it processed per call (those its Lua scripts run included) beside it."
      else
        echo "The Redis server (SHARED_REDIS=machine${REDIS_MODE_NOTE:+ ($REDIS_MODE_NOTE)}: redis-server, pid ${REDIS_PID:-unknown}${REDIS_NOTE:+; $REDIS_NOTE}) is the machine's, not"
        echo "pinned by the bench; its CPU time per call is read from /proc like the gateways'. The bench assumes nothing else uses"
        echo "that Redis during the runs: the commands it processed per call (those its Lua scripts run included) are reported beside"
        echo "it to show whether that held. Its keys expire by themselves."
      fi
    fi
    echo
  fi
  for gw in "${GATEWAYS[@]}"; do
    conf=$(conf_of "$gw")
    # A replica's second gateway: the first one's file but for its data
    # directory, said in one line.
    case $gw in
      gateway-*-b)
        if diff -q <(grep -v '^data_dir = ' "$WORK/${conf%-b}-a.toml") <(grep -v '^data_dir = ' "$WORK/$conf.toml") >/dev/null 2>&1; then
          echo "$conf.toml: ${conf%-b}-a.toml with \`data_dir = \"\$WORK/$conf-store\"\`."
          echo
          continue
        fi
        ;;
    esac
    echo "<details><summary>$conf.toml</summary>"
    echo
    echo '```toml'
    sed "s|$WORK|\$WORK|g" "$WORK/$conf.toml"
    echo '```'
    echo
    echo "</details>"
    echo
  done
  if [ -n "$AUTHZ_GW_URL" ]; then
    echo "<details><summary>authz-policy.toml (gateway-authz's policy rules)</summary>"
    echo
    echo '```toml'
    cat "$WORK/authz-policy.toml"
    echo '```'
    echo
    echo "</details>"
    echo
  fi
  echo "Before every wrk run one request is sent with curl and its answer checked (HTTP 200, a completed task, no error; for the stream:"
  echo "5 events, the last one completing the task)$([ "$CHECK_BODIES" = 1 ] && echo "; during the runs the wrk scripts check every response the same way")."
  echo "Failed requests = socket errors + HTTP status ≥ 400 + bodies that are not a success."
  echo "CPU per request: the process's user+system CPU time during the run (from /proc/PID/stat, ${TICK_US} µs ticks) ÷ requests."
  echo "Server CPU \"ours\": the gateway's and the upstream's CPU time ÷ wall time ÷ server CPUs; \"all\": how busy the server CPUs were"
  echo "with every process on the machine (from /proc/stat). Ours well below all: other work on the machine took the server CPUs."
  echo "All well below 100 %: the servers were not the limit. wrk CPU \"own\": wrk's CPU time ÷ wall time ÷ its CPUs (near 100 %: wrk was the limit)."
  echo
  echo "## Scenarios"
  echo
  cat "$SECTIONS"
  if [ "$RUN_SSE10K" = 1 ]; then
    cat "$SSE10K_SECTION"
  fi
  if [ "$RUN_FAIRNESS" = 1 ]; then
    cat "$WORK/fairness.md"
    echo
  fi
  echo "## Gateway memory"
  echo
  echo "| when | process | VmRSS | VmHWM (peak so far) |"
  echo "|---|---|--:|--:|"
  awk -F'\t' '{printf "| %s | %s | %.1f MiB | %.1f MiB |\n", $1, $2, $3 / 1024, $4 / 1024}' "$MEM_ROWS"
  echo
  echo "Idle (right after start, before any load): $(for gw in "${!IDLE_RSS[@]}"; do printf '%s %s; ' "$gw" "$(mib "${IDLE_RSS[$gw]}")"; done | sed 's/; $//')."
  echo
  echo "Upstreams at the end: null $(mib "${END_RSS[null]}") (peak $(mib "${END_HWM[null]}")), echo $(mib "${END_RSS[echo]}") (peak $(mib "${END_HWM[echo]}"))."
  echo
  echo "## The gateways' own counters at the end"
  echo
  for gw in "${GATEWAYS[@]}"; do
    case $gw in
      gateway-auth) sel='$1 ~ /^(apikey|bearer)-send$/' ;;
      gateway-authz) sel='$1 == "authz-send"' ;;
      gateway-mtls) sel='$1 == "mtls-send"' ;;
      *) sel='$1 !~ /^(apikey|bearer|authz|mtls)-send$/ && $1 !~ /^bearer-(shared|shared-one|two)$/' ;;
    esac
    case $gw in
      gateway-shared-? | gateway-two-?)
        # measured SC — the requests wrk measured through SC's gateway(s).
        measured() { awk -F'\t' -v s="$1" '$4 == "gateway" && $1 == s {n += $5} END {print n + 0}' "$RESULTS"; }
        case $gw in
          gateway-shared-a) scs="bearer-shared bearer-shared-one" ;; gateway-shared-b) scs="bearer-shared" ;; *) scs="bearer-two" ;;
        esac
        line=""
        for s2 in $scs; do
          in_pairs "$s2" || continue
          if [ "$s2" = bearer-shared-one ] || { [ "$s2" = bearer-shared ] && [ -z "$SHARED_GW_URL_B" ]; }; then
            line+="${line:+; }in $s2 $(measured "$s2")"
          else
            line+="${line:+; }in $s2 $(measured "$s2") through its two gateways together"
          fi
        done
        echo "\`$gw\` (a store of its own): requests measured by wrk ${line:-none} (plus warm-ups, curl checks and profile runs); audit rows written ${AUDIT_ROWS[$gw]}."
        ;;
      *)
        echo "\`$gw\`: requests measured by wrk $(awk -F'\t' "\$4 == \"gateway\" && $sel {s += \$5} END {print s + 0}" "$RESULTS") (plus warm-ups, curl checks and profile runs); audit rows written ${AUDIT_ROWS[$gw]}."
        ;;
    esac
    echo
    echo '```'
    echo "${GW_METRICS[$gw]}"
    echo '```'
    echo
  done
  echo "## Raw wrk (and warden-loadgen) outputs"
  echo
  for f in "$WORK"/raw/*.txt; do
    [ -e "$f" ] || continue # no direct/gateway pairs in this run
    echo "<details><summary>$(basename "$f" .txt)</summary>"
    echo
    echo '```'
    cat "$f"
    echo '```'
    echo
    echo "</details>"
    echo
  done
} >"$REPORT"
log "report: ${REPORT#"$ROOT"/}"
if [ "$PROFILE_OK" = 1 ]; then
  rm -f "$PROFILE_DIR"/*.md # the top lists, now in the report
  rm -rf "${REPORT%.md}-profiles"
  mv "$PROFILE_DIR" "${REPORT%.md}-profiles"
  log "profiles: $(du -sh "${REPORT%.md}-profiles" | cut -f1) in ${REPORT%.md}-profiles/"
fi
if [ -n "$PAIRS" ]; then cat "$SUMMARY" >&2; fi
if [ "$RUN_SSE10K" = 1 ]; then cat "$SSE10K_SUMMARY" >&2; fi
if [ "$RUN_FAIRNESS" = 1 ]; then cat "$WORK/fairness-summary.md" >&2; fi

if [ "$UPDATE_README" = 1 ] && grep -q '<!-- latest-results:begin -->' "$BENCH/README.md" 2>/dev/null; then
  {
    echo "From [\`${REPORT#"$BENCH"/}\`](${REPORT#"$BENCH"/}) — $WARDEN_VERSION, git $TAG, $NCPU × $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $CONNECTIONS connections, $DURATION × $ROUNDS rounds, load average $LOADAVG_START before the run. $VERDICT"
    echo
    if [ -n "$PAIRS" ]; then cat "$SUMMARY"; fi
    if [ "$RUN_SSE10K" = 1 ]; then
      echo
      cat "$SSE10K_SUMMARY"
    fi
    if [ "$RUN_FAIRNESS" = 1 ]; then
      echo
      cat "$WORK/fairness-summary.md"
    fi
  } >"$WORK/latest.md"
  awk -v f="$WORK/latest.md" '
    /<!-- latest-results:end -->/ {skip = 0}
    !skip {print}
    /<!-- latest-results:begin -->/ {while ((getline l < f) > 0) print l; skip = 1}
  ' "$BENCH/README.md" >"$WORK/README.md" && cat "$WORK/README.md" >"$BENCH/README.md"
  log "updated the latest results in bench/README.md"
fi

[ "$FAILED_RUNS" -eq 0 ] || die "$FAILED_RUNS runs had failed requests; see $REPORT"
[ "$FAIR_STATUS" = 0 ] || die "fairness: the well-behaved caller had refused or failed requests; see $REPORT"
[ "$SSE10K_STATUS" = 0 ] || die "sse-10k: ${SSE10K[failed]} streams did not complete; see $REPORT"
