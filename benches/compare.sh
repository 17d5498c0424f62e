#!/usr/bin/env bash
# trailhound against its ceiling and against the usual tools, side by side in one run:
#   trailhound      `trailhound scan DIR --format jsonl` (findings to /dev/null)
#   decompress      examples/decompress_only: libdeflate over every file, same threads, nothing else
#   jq              `zcat | jq` selecting the KMS records with an errorCode (one stream)
#   duckdb          DuckDB's read_json with a typed Records struct, counting the same records
# Each tool runs RUNS times, interleaved (so drift and noise land on all of them), after one
# untimed pass has warmed the page cache; the table gives medians, throughput in decoded
# bytes, ratios and what each tool counted (a fast run that did less shows there).
#
# Usage: benches/compare.sh [SIZE] [RUNS]      SIZE of a generated corpus (default 1G),
#                                               RUNS per tool (default 5)
# Environment: CORPUS_DIR (a corpus to reuse, or the folder to generate it into),
# SLOW_RUNS (runs of jq and DuckDB, default RUNS; 0 leaves them out), TRAILHOUND_PYTHON
# (a python with duckdb, default python3), CARGO_TARGET_DIR.
set -euo pipefail
SIZE="${1:-1G}"
RUNS="${2:-5}"
SLOW_RUNS="${SLOW_RUNS:-$RUNS}"
PYTHON="${TRAILHOUND_PYTHON:-python3}"
source "$(dirname "$0")/lib.sh"

if [ "$SLOW_RUNS" -gt 0 ]; then
  command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 1; }
  "$PYTHON" -c 'import duckdb' || { echo "$PYTHON has no duckdb (set TRAILHOUND_PYTHON)" >&2; exit 1; }
fi
bench_build
prepare_corpus "$SIZE" "${CORPUS_DIR:-}"
describe_machine

# The same selection for jq and DuckDB: KMS records that carry an errorCode (the denials
# trailhound starts from; it also keeps launches, hence its larger candidate count).
cat >"$WORK/jq.sh" <<'EOF'
set -euo pipefail
find "$1" -name '*.json.gz' -print0 | xargs -0 zcat |
  jq -c '.Records[] | select(.eventSource == "kms.amazonaws.com" and .errorCode != null)' |
  wc -l
EOF
cat >"$WORK/query_duckdb.py" <<'EOF'
import glob, os, sys
import duckdb

corpus = sys.argv[1]
# Each file is one JSON object, so the reader's object limit must hold the largest file:
# its decoded size is in the gzip trailer. Reading the trailers takes milliseconds.
largest = 0
for f in glob.glob(os.path.join(corpus, "**", "*.json.gz"), recursive=True):
    with open(f, "rb") as fh:
        fh.seek(-4, 2)
        largest = max(largest, int.from_bytes(fh.read(4), "little"))
con = duckdb.connect()
con.execute(f"SET threads TO {os.cpu_count()}")
count = con.execute(
    """
    SELECT count(*) FROM (
      SELECT unnest(Records) AS r
      FROM read_json(?, columns = {'Records': 'STRUCT(eventSource VARCHAR, errorCode VARCHAR)[]'},
                     maximum_object_size = ?)
    ) WHERE r.eventSource = 'kms.amazonaws.com' AND r.errorCode IS NOT NULL
    """,
    [os.path.join(corpus, "**", "*.json.gz"), max(largest + 1, 16 << 20)],
).fetchone()[0]
print(count)
EOF

# The warm-up pass; the table-format run also gives trailhound's own counts.
warm_cache "$CORPUS"
"$TRAILHOUND" scan "$CORPUS" >"$WORK/summary"

run_tool() {
  case $1 in
    trailhound) timed trailhound /dev/null "$TRAILHOUND" scan "$CORPUS" --format jsonl ;;
    decompress) timed decompress "$WORK/decompress.out" "$DECOMPRESS" "$CORPUS" ;;
    jq) timed jq "$WORK/jq.count" bash "$WORK/jq.sh" "$CORPUS" ;;
    duckdb) timed duckdb "$WORK/duckdb.count" "$PYTHON" "$WORK/query_duckdb.py" "$CORPUS" ;;
  esac
}

# trailhound and decompress-only run back to back, and which goes first swaps every run, so
# each follows the slow tools equally often (a run right after them can be a little slower).
for run in $(seq 1 "$RUNS"); do
  if [ $((run % 2)) -eq 1 ]; then
    order=(trailhound decompress jq duckdb)
  else
    order=(decompress trailhound duckdb jq)
  fi
  for tool in "${order[@]}"; do
    if [ "$run" -gt "$SLOW_RUNS" ] && { [ "$tool" = jq ] || [ "$tool" = duckdb ]; }; then
      continue
    fi
    run_tool "$tool"
  done
  echo "run $run/$RUNS done" >&2
done

decoded=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$WORK/decompress.out")
base=$(median decompress)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "corpus: $CORPUS_FILES files, $((CORPUS_GZ_BYTES / 1000000)) MB gzip, $((decoded / 1000000)) MB decoded; page cache warm"
echo
printf '| %-10s | %8s | %8s | %8s | %4s | %10s | %9s | %12s |\n' tool "median s" "min s" "max s" runs "MB/s dec." "x decomp." "max RSS MiB"
printf '|%s|\n' "------------|----------|----------|----------|------|------------|-----------|--------------"
for tool in decompress trailhound jq duckdb; do
  read -r med min max n < <(stats "$tool" 2)
  [ "$n" -gt 0 ] || continue
  rss=$(stats "$tool" 3 | cut -d' ' -f3)
  printf '| %-10s | %8.3f | %8.3f | %8.3f | %4d | %10.0f | %9s | %12.0f |\n' "$tool" "$med" "$min" "$max" "$n" \
    "$(awk -v b="$decoded" -v s="$med" 'BEGIN {print b / s / 1e6}')" "$(ratio "$med" "$base")" \
    "$(awk -v k="$rss" 'BEGIN {print k / 1024}')"
done
echo
echo "every run, in order (seconds):"
for tool in decompress trailhound jq duckdb; do
  times=$(awk -v l="$tool" '$1 == l {printf " %.3f", $2}' "$RESULTS")
  [ -z "$times" ] || echo "  $tool:$times"
done
echo
th=$(median trailhound)
echo "trailhound / decompress-only: $(ratio "$th" "$base")   (target <= 1.33)"
if [ "$SLOW_RUNS" -gt 0 ]; then
  echo "DuckDB / trailhound:          $(ratio "$(median duckdb)" "$th")"
  echo "jq / trailhound:              $(ratio "$(median jq)" "$th")"
fi
echo
echo "what each tool counted:"
echo "  decompress-only: $(cat "$WORK/decompress.out")"
echo "  trailhound:      $(grep -E '^(files|records|findings):' "$WORK/summary" | paste -sd';' | tr -s ' ')"
if [ "$SLOW_RUNS" -gt 0 ]; then
  echo "  jq:              $(cat "$WORK/jq.count") KMS records with an errorCode"
  echo "  duckdb:          $(cat "$WORK/duckdb.count") KMS records with an errorCode"
fi
