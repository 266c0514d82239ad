# shellcheck shell=bash
# shellcheck disable=SC2016 # awk programs are single-quoted on purpose
# CPU profiles of a running gateway with perf, for bench/run.sh and
# bench/fairness.sh when PROFILE=1 (sourced, not run). See bench/README.md.
#
#   PROFILE_FREQ      [499]    samples a second
#   PROFILE_CALLGRAPH [dwarf]  perf record --call-graph: dwarf (readable Rust
#                              stacks: the release build keeps no frame
#                              pointers, and with fp the user-space stacks
#                              end after one frame), fp, or none. The top
#                              list is by self time, which needs no stacks;
#                              the stacks are for the kept perf.data and the
#                              callers in the report text. dwarf copies 8 KiB
#                              of stack per sample: ~3 MB a second at 499 Hz,
#                              much less compressed (perf record -z, used
#                              when this perf has it).
#   PROFILE_TOP       [12]     symbols in the report's top list
#
# perf report runs with --no-inline: resolving inlined frames (addr2line)
# takes it a minute or more per recording here.

PROFILE_FREQ=${PROFILE_FREQ:-499}
PROFILE_CALLGRAPH=${PROFILE_CALLGRAPH:-dwarf}
PROFILE_TOP=${PROFILE_TOP:-12}
PROFILE_OK=0
PROFILE_NOTE=""
PROFILE_PID=""
PROFILE_Z=()

# profile_init WORKDIR — PROFILE_OK=1 if perf can record here, else
# PROFILE_NOTE says why not.
profile_init() {
  if ! command -v perf >/dev/null; then
    PROFILE_NOTE="perf is not installed (no profiles; apt-get install linux-perf)"
    return 0
  fi
  if ! perf record -q -F 99 -o "$1/perf-probe.data" -- true >"$1/perf-probe.err" 2>&1; then
    PROFILE_NOTE="perf record does not work here (no profiles): $(tr '\n' ' ' <"$1/perf-probe.err" | head -c 300)"
    return 0
  fi
  perf record -q -z -F 99 -o "$1/perf-probe.data" -- true >/dev/null 2>&1 && PROFILE_Z=(-z)
  rm -f "$1/perf-probe.data" "$1/perf-probe.err"
  PROFILE_OK=1
}

# profile_start PID DATA — perf records PID into DATA until profile_stop.
profile_start() {
  local cg=()
  case $PROFILE_CALLGRAPH in
    none) ;;
    *) cg=(--call-graph "$PROFILE_CALLGRAPH") ;;
  esac
  perf record -q "${PROFILE_Z[@]}" -F "$PROFILE_FREQ" "${cg[@]}" -p "$1" -o "$2" >"$2.log" 2>&1 &
  PROFILE_PID=$!
  # Attaching takes a moment; the run it profiles is not measured.
  sleep 0.5
}

# profile_stop — ends the recording (perf writes its file on SIGINT).
profile_stop() {
  [ -n "$PROFILE_PID" ] || return 0
  kill -INT "$PROFILE_PID" 2>/dev/null || true
  wait "$PROFILE_PID" 2>/dev/null || true
  PROFILE_PID=""
}

# profile_report DATA TITLE — writes DATA.txt (perf report, self time per
# symbol, with the callers of the top entries when there are stacks) and
# prints a markdown table of the top PROFILE_TOP symbols by self time.
profile_report() {
  local data=$1 title=$2 top="$1.top"
  if [ ! -s "$data" ]; then
    echo "No profile: perf wrote nothing ($(tr '\n' ' ' <"$data.log" 2>/dev/null | head -c 300))."
    return 0
  fi
  # Self time per symbol, demangled (perf does Rust's legacy and v0 schemes).
  perf report -i "$data" --no-children --stdio --sort dso,sym -g none --percent-limit 0.3 --no-inline \
    >"$top" 2>"$data.err" || true
  {
    echo "# $title"
    echo "# perf record -F $PROFILE_FREQ --call-graph $PROFILE_CALLGRAPH; self time per symbol, then the callers of each entry over 2 %"
    echo
    cat "$top"
    if [ "$PROFILE_CALLGRAPH" != none ]; then
      perf report -i "$data" --no-children --stdio --sort dso,sym -g caller,2,callee,function,percent \
        --percent-limit 2 --no-inline 2>/dev/null || true
    fi
  } >"$data.txt"
  local samples by_object
  perf report -i "$data" --stdio -n --no-children --sort dso -g none --percent-limit 0 --no-inline \
    >"$data.dso" 2>/dev/null || true
  samples=$(awk '!/^#/ && $1 ~ /%$/ && $2 ~ /^[0-9]+$/ {s += $2} END {print s + 0}' "$data.dso")
  by_object=$(awk '!/^#/ && $1 ~ /%$/ && $2 ~ /^[0-9]+$/ && n < 4 {printf "%s%s %s", (n ? ", " : ""), $3, $1; n++}' "$data.dso")
  rm -f "$data.dso"
  echo "Top $PROFILE_TOP symbols by self time (perf, ${samples:-?} samples at $PROFILE_FREQ Hz; \`[k]\` kernel, \`[.]\` user space)."
  echo "By object: ${by_object:-?}."
  echo
  echo "| self | object | symbol |"
  echo "|--:|---|---|"
  # Lines: "    12.34%  warden  [.] symbol".
  awk -v n="$PROFILE_TOP" '
    /^#/ || NF < 4 {next}
    $1 ~ /%$/ && $3 ~ /^\[[.k]\]$/ && count < n {
      pct = $1; dso = $2; kind = $3
      sym = $0; sub(/^ *[0-9.]+% +[^ ]+ +\[[.k]\] +/, "", sym)
      gsub(/\|/, "\\|", sym)
      if (length(sym) > 110) sym = substr(sym, 1, 107) "..."
      printf "| %s | %s | `%s %s` |\n", pct, dso, kind, sym
      count++
    }' "$top"
  echo
  rm -f "$top" "$data.err"
  [ -s "$data.log" ] || rm -f "$data.log"
}
