#!/usr/bin/env bash
# Peak memory of `trailhound scan` (default threads) against the input: a corpus of SMALL
# and one of LARGE (generated with the same seed, so the larger holds the smaller's files and
# more of the same), and a folder holding a single gzip of about BIG_MB megabytes compressed
# (the Records of many generated files joined into one document, gzip level 6, as the
# biggest CloudTrail files are). Peak RSS from `/usr/bin/time -f %M`, RUNS runs each.
#
# Usage: benches/memory.sh [SMALL] [LARGE]     (default 1G and 4G)
# Environment: CORPUS_SMALL, CORPUS_LARGE (corpora to reuse, or folders to generate into;
# default temp folders, removed on exit), BIG_MB (default 50), RUNS (default 3),
# TRAILHOUND_PYTHON (default python3; only the standard library is used), CARGO_TARGET_DIR.
set -euo pipefail
SMALL="${1:-1G}"
LARGE="${2:-4G}"
BIG_MB="${BIG_MB:-50}"
RUNS="${RUNS:-3}"
PYTHON="${TRAILHOUND_PYTHON:-python3}"
source "$(dirname "$0")/lib.sh"

bench_build
prepare_corpus "$SMALL" "${CORPUS_SMALL:-}"
small_dir=$CORPUS
prepare_corpus "$LARGE" "${CORPUS_LARGE:-}"
large_dir=$CORPUS

# One big document from the small corpus's files: each generated file is exactly
# `{"Records":[...]}`, so the record lists can be joined as text without a JSON parse.
big_dir="$WORK/big"
mkdir -p "$big_dir"
"$PYTHON" - "$small_dir" "$big_dir/111122223333_CloudTrail_us-east-1_20260301T0000Z_big.json.gz" "$BIG_MB" <<'EOF'
import glob, gzip, os, sys

corpus, out, target_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
head, tail = b'{"Records":[', b"]}"
with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as gz:
    gz.write(head)
    first = True
    for f in sorted(glob.glob(os.path.join(corpus, "**", "*.json.gz"), recursive=True)):
        doc = gzip.open(f).read()
        assert doc.startswith(head) and doc.endswith(tail), f
        gz.write((b"" if first else b",") + doc[len(head):-len(tail)])
        first = False
        if raw.tell() >= target_mb * 1_000_000:
            break
    else:
        sys.exit(f"{corpus} holds less than {target_mb} MB of gzip")
    gz.write(tail)
EOF

for dir in "$small_dir" "$large_dir" "$big_dir"; do
  warm_cache "$dir"
done
# After the corpora are made, so the load average is the runs' starting point.
describe_machine
for run in $(seq 1 "$RUNS"); do
  timed small "$WORK/small.out" "$TRAILHOUND" scan "$small_dir"
  timed large "$WORK/large.out" "$TRAILHOUND" scan "$large_dir"
  timed big "$WORK/big.out" "$TRAILHOUND" scan "$big_dir"
  echo "run $run/$RUNS done" >&2
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '| %-24s | %6s | %9s | %11s | %8s | %13s | %12s |\n' input files "gzip MB" decoded "median s" "peak RSS MiB" "(min - max)"
printf '|%s|\n' "--------------------------|--------|-----------|-------------|----------|---------------|--------------"
for label in small large big; do
  case $label in
    small) dir=$small_dir name="corpus $SMALL" ;;
    large) dir=$large_dir name="corpus $LARGE" ;;
    big) dir=$big_dir name="one file of ~$BIG_MB MB gzip" ;;
  esac
  read -r rss min max _ < <(stats "$label" 3)
  files=$(find "$dir" -name '*.json.gz' | wc -l)
  gz=$(find "$dir" -name '*.json.gz' -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s / 1e6}')
  decoded=$(sed -n 's/^bytes: .*compressed, \(.*\) decoded$/\1/p' "$WORK/$label.out")
  printf '| %-24s | %6d | %9s | %11s | %8.2f | %13.0f | %12s |\n' "$name" "$files" "$gz" "$decoded" \
    "$(median "$label")" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
    "$(awk -v a="$min" -v b="$max" 'BEGIN {printf "%.0f - %.0f", a / 1024, b / 1024}')"
done
echo
echo "peak RSS $LARGE / $SMALL: $(ratio "$(stats large 3 | cut -d' ' -f1)" "$(stats small 3 | cut -d' ' -f1)")   (target within 1.20)"
echo "trailhound's counts:"
for label in small large big; do
  echo "  $label: $(grep -E '^(files|records|findings):' "$WORK/$label.out" | paste -sd';' | tr -s ' ')"
done
