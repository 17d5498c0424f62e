#!/usr/bin/env bash
# Throughput at 1 and 2 threads (or the thread counts in THREADS): `trailhound scan
# --threads N` against the decompress-only pass on N threads, alternating, RUNS times each,
# page cache warm. Prints medians, decoded MB/s, the ratio to the ceiling at each thread
# count, and each tool's speed-up over its 1-thread run.
#
# Usage: benches/scaling.sh [SIZE] [RUNS]      (default 1G, 5)
# Environment: CORPUS_DIR (a corpus to reuse, or the folder to generate it into), THREADS
# (default "1 2"), CARGO_TARGET_DIR.
set -euo pipefail
SIZE="${1:-1G}"
RUNS="${2:-5}"
THREADS="${THREADS:-1 2}"
source "$(dirname "$0")/lib.sh"

bench_build
prepare_corpus "$SIZE" "${CORPUS_DIR:-}"
describe_machine
warm_cache "$CORPUS"
"$DECOMPRESS" "$CORPUS" >"$WORK/decompress.out"
decoded=$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' "$WORK/decompress.out")

for run in $(seq 1 "$RUNS"); do
  for n in $THREADS; do
    # Swap which goes first on every run.
    if [ $((run % 2)) -eq 1 ]; then
      timed "trailhound/$n" /dev/null "$TRAILHOUND" scan "$CORPUS" --format jsonl --threads "$n"
      timed "decompress/$n" /dev/null "$DECOMPRESS" "$CORPUS" "$n"
    else
      timed "decompress/$n" /dev/null "$DECOMPRESS" "$CORPUS" "$n"
      timed "trailhound/$n" /dev/null "$TRAILHOUND" scan "$CORPUS" --format jsonl --threads "$n"
    fi
  done
  echo "run $run/$RUNS done" >&2
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "corpus: $CORPUS_FILES files, $((CORPUS_GZ_BYTES / 1000000)) MB gzip, $((decoded / 1000000)) MB decoded; page cache warm; $RUNS runs each"
echo
printf '| %7s | %-10s | %8s | %8s | %8s | %10s | %9s | %8s |\n' threads tool "median s" "min s" "max s" "MB/s dec." "x decomp." speed-up
printf '|%s|\n' "---------|------------|----------|----------|----------|------------|-----------|----------"
first=${THREADS%% *}
for n in $THREADS; do
  base=$(median "decompress/$n")
  for tool in decompress trailhound; do
    read -r med min max _ < <(stats "$tool/$n" 2)
    printf '| %7s | %-10s | %8.3f | %8.3f | %8.3f | %10.0f | %9s | %8s |\n' "$n" "$tool" "$med" "$min" "$max" \
      "$(awk -v b="$decoded" -v s="$med" 'BEGIN {print b / s / 1e6}')" "$(ratio "$med" "$base")" \
      "$(ratio "$(median "$tool/$first")" "$med")"
  done
done
