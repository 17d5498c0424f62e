#!/usr/bin/env bash
# Throughput of `trailhound scan` over S3 against the same corpus on local disk.
#
# Generates (or reuses) a corpus with examples/gen_corpus, uploads it to a moto S3 server on
# a loopback port, then times `trailhound scan` from disk and from S3, alternating, RUNS
# times each, and prints medians. It also times a plain boto3 GET loop over the same objects
# (after its own LIST, untimed), to show how fast the S3 server itself serves them: on a
# single-process Python server that, not trailhound, is usually the ceiling.
#
# Usage: benches/s3_vs_local.sh [SIZE] [RUNS]   (default 256M, 3)
# Needs moto and boto3 (scripts/test installs them into $CARGO_TARGET_DIR/test-venv).
# Environment: CORPUS_DIR (a corpus to reuse, or the folder to generate it into),
# CONCURRENCY (--s3-concurrency, default 16), CARGO_TARGET_DIR.
set -euo pipefail
SIZE="${1:-256M}"
RUNS="${2:-3}"
CONCURRENCY="${CONCURRENCY:-16}"
source "$(dirname "$0")/lib.sh"
venv="$TARGET/test-venv"
py="$venv/bin/python"
[ -x "$py" ] || { echo "run scripts/test once first (it creates $venv)" >&2; exit 1; }

moto_pid=""
stop_moto() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
}
trap 'stop_moto; rm -rf "${CLEANUP[@]}"' EXIT

bench_build
prepare_corpus "$SIZE" "${CORPUS_DIR:-}"
describe_machine

# Port 0: moto picks a free port and names it in its banner.
"$venv/bin/moto_server" -H 127.0.0.1 -p 0 >/dev/null 2>"$WORK/moto.log" &
moto_pid=$!
port=""
for _ in $(seq 300); do
  port=$(grep -o 'Running on http://127.0.0.1:[0-9]*' "$WORK/moto.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "moto did not start" >&2; exit 1; }
endpoint="http://127.0.0.1:$port"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
"$py" - "$endpoint" "$CORPUS" <<'PY'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, root = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
s3.create_bucket(Bucket="bench")
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".json.gz")]
def up(p):
    with open(p, "rb") as f:
        s3.put_object(Bucket="bench", Key=os.path.relpath(p, root), Body=f.read())
with ThreadPoolExecutor(16) as ex:
    list(ex.map(up, files))
PY

s3_args=(scan s3://bench --endpoint-url "$endpoint" --s3-path-style --s3-concurrency "$CONCURRENCY")
warm_cache "$CORPUS"
# One untimed run from S3, whose summary says what was read and how many requests it took.
"$TRAILHOUND" "${s3_args[@]}" | grep -E '^(files|records|findings|s3):'
s3_args+=(--format jsonl)
for run in $(seq 1 "$RUNS"); do
  # Swap which goes first on every run.
  if [ $((run % 2)) -eq 1 ]; then
    timed local /dev/null "$TRAILHOUND" scan "$CORPUS" --format jsonl
    timed s3 /dev/null "$TRAILHOUND" "${s3_args[@]}"
  else
    timed s3 /dev/null "$TRAILHOUND" "${s3_args[@]}"
    timed local /dev/null "$TRAILHOUND" scan "$CORPUS" --format jsonl
  fi
  echo "run $run/$RUNS done" >&2
done
boto_t=$("$py" - "$endpoint" "$CONCURRENCY" <<'PY'
import sys, time, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, n = sys.argv[1], int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bench") for o in p.get("Contents", [])]
t = time.time()
with ThreadPoolExecutor(n) as ex:
    list(ex.map(lambda k: s3.get_object(Bucket="bench", Key=k)["Body"].read(), keys))
print(time.time() - t)
PY
)

mib=$(awk -v b="$CORPUS_GZ_BYTES" 'BEGIN {print b / 1048576}')
echo
printf 'corpus: %d files, %.1f MiB compressed; %d runs each, medians\n' "$CORPUS_FILES" "$mib" "$RUNS"
for row in "local disk:local" "S3 (moto, loopback, c=$CONCURRENCY):s3"; do
  t=$(median "${row##*:}")
  printf '%-38s %8.2f s  %7.1f MiB/s compressed\n' "${row%:*}" "$t" "$(awk -v m="$mib" -v t="$t" 'BEGIN {print m / t}')"
done
printf '%-38s %8.2f s  %7.1f MiB/s compressed\n' "boto3 GET loop alone (c=$CONCURRENCY)" "$boto_t" \
  "$(awk -v m="$mib" -v t="$boto_t" 'BEGIN {print m / t}')"
