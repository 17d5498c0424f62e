# Shared by compare.sh, scaling.sh and memory.sh (sourced, not run): builds the release
# binary and the bench examples, prepares a generated corpus, times commands into a results
# file and summarises them as medians.
#
# Wall time comes from bash's EPOCHREALTIME (microseconds; /usr/bin/time's %e has only
# 10 ms resolution, 2% of a trailhound run), peak memory from `/usr/bin/time -f %M`.

export LC_ALL=C # EPOCHREALTIME and printf must agree on the decimal point

# Relative corpus folders are the caller's; the builds run from the repository root.
CALLER_PWD=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
WORK="$(mktemp -d)"
RESULTS="$WORK/results"
: >"$RESULTS"
# Folders removed on exit: the work folder, and a corpus generated into a temp folder.
CLEANUP=("$WORK")
trap 'rm -rf "${CLEANUP[@]}"' EXIT

# Builds the binary and the examples the scripts run.
bench_build() {
  cargo build --release --quiet --bin trailhound --example decompress_only --example gen_corpus
  TRAILHOUND="$TARGET/release/trailhound"
  DECOMPRESS="$TARGET/release/examples/decompress_only"
  GEN_CORPUS="$TARGET/release/examples/gen_corpus"
}

# prepare_corpus SIZE DIR: sets CORPUS to DIR (a temp folder removed on exit when DIR is
# empty) and generates a corpus of SIZE there unless it already holds log files. A reused
# folder keeps whatever size it has: the scripts print what they read.
prepare_corpus() {
  local size=$1
  CORPUS=$2
  if [ -z "$CORPUS" ]; then
    CORPUS="$(mktemp -d)"
    CLEANUP+=("$CORPUS")
  fi
  case $CORPUS in
    /*) ;;
    *) CORPUS="$CALLER_PWD/$CORPUS" ;;
  esac
  if ! find "$CORPUS" -name '*.json.gz' -print -quit 2>/dev/null | grep -q .; then
    echo "generating a $size corpus in $CORPUS ..." >&2
    mkdir -p "$CORPUS"
    "$GEN_CORPUS" "$CORPUS" "$size" >&2
  fi
  CORPUS_FILES=$(find "$CORPUS" -name '*.json.gz' | wc -l)
  CORPUS_GZ_BYTES=$(find "$CORPUS" -name '*.json.gz' -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')
}

# Reads every file once so that all timed runs start from a warm page cache.
warm_cache() {
  find "$1" -name '*.json.gz' -print0 | xargs -0 cat >/dev/null
}

# timed LABEL OUT CMD...: runs CMD once, its stdout to OUT, and appends "LABEL seconds
# max_rss_kib" to $RESULTS. A failing command stops the script (set -e): a run that did not
# finish is not a time.
timed() {
  local label=$1 out=$2
  shift 2
  local t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$out"
  local t1=$EPOCHREALTIME
  printf '%s %s %s\n' "$label" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')" \
    "$(tail -n 1 "$WORK/rss")" >>"$RESULTS"
}

# stats LABEL FIELD: "median min max count" of column FIELD (2 = seconds, 3 = RSS KiB).
stats() {
  awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$RESULTS" | sort -g | awk '
    {v[NR] = $1}
    END {
      if (NR == 0) { print "nan nan nan 0"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.4f %s %s %d\n", m, v[1], v[NR], NR
    }'
}

# median LABEL: the median seconds of LABEL.
median() {
  stats "$1" 2 | cut -d' ' -f1
}

# ratio A B: A / B to two decimals.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'
}

# Where and when: for the record next to the numbers.
describe_machine() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(nproc) x $(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}
