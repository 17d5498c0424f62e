#!/usr/bin/env bash
# Throughput of `trailhound scan` over S3 against the same corpus on local disk.
#
# Builds (or takes, with CORPUS=dir) a CloudTrail-layout corpus, uploads it to a moto S3
# server on a loopback port, then times `trailhound scan` from S3 and from disk, RUNS times
# each (default 3), and prints the medians. It also times a plain boto3 GET loop over the
# same objects, to show how fast the S3 server itself can serve them: on a single-process
# Python server that, not trailhound, is usually the ceiling.
#
# Needs moto and boto3 (scripts/test installs them into $CARGO_TARGET_DIR/test-venv).
# Environment: CORPUS (existing folder to use), FILES (default 600), RECORDS (records per
# file, default 250), RUNS (default 3), CONCURRENCY (--s3-concurrency, default 16).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/test-venv"
py="$venv/bin/python"
[ -x "$py" ] || { echo "run scripts/test once first (it creates $venv)" >&2; exit 1; }
FILES="${FILES:-600}" RECORDS="${RECORDS:-250}" RUNS="${RUNS:-3}" CONCURRENCY="${CONCURRENCY:-16}"

cargo build --release --quiet --bin trailhound
bin="$target/release/trailhound"
work="$(mktemp -d)"
moto_pid=""
cleanup() {
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

corpus="${CORPUS:-}"
if [ -z "$corpus" ]; then
  corpus="$work/corpus"
  # Replicates the records of sample-logs (and ../shared/real-logs when present) into FILES
  # gzipped files of RECORDS records each, with fresh event ids so nothing deduplicates away,
  # spread over two accounts, three regions and seven days like a real bucket.
  "$py" - "$corpus" "$FILES" "$RECORDS" <<'EOF'
import glob, gzip, json, os, random, sys, uuid
out, files, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
records = []
for pattern in ("sample-logs/**/CloudTrail/**/*.json.gz", "../shared/real-logs/**/*.json.gz"):
    for f in glob.glob(pattern, recursive=True):
        try:
            records += json.load(gzip.open(f)).get("Records", [])
        except Exception:
            pass
rng = random.Random(7)
for n in range(files):
    acct = ("111122223333", "444455556666")[n % 2]
    region = ("us-east-1", "eu-west-1", "us-west-2")[n % 3]
    day = 8 + n % 7
    recs = []
    for r in rng.choices(records, k=per):
        r = dict(r, eventID=str(uuid.UUID(int=rng.getrandbits(128))))
        recs.append(r)
    d = f"{out}/AWSLogs/{acct}/CloudTrail/{region}/2026/03/{day:02d}"
    os.makedirs(d, exist_ok=True)
    name = f"{acct}_CloudTrail_{region}_202603{day:02d}T{n % 24:02d}{n % 60:02d}Z_{n:016d}.json.gz"
    with gzip.open(f"{d}/{name}", "wb", compresslevel=6) as g:
        g.write(json.dumps({"Records": recs}).encode())
EOF
fi
nfiles=$(find "$corpus" -name '*.json.gz' | wc -l)
bytes=$(find "$corpus" -name '*.json.gz' -printf '%s\n' | awk '{s+=$1} END {print s}')

# Port 0: moto picks a free port and names it in its banner.
"$venv/bin/moto_server" -H 127.0.0.1 -p 0 >/dev/null 2>"$work/moto.log" &
moto_pid=$!
port=""
for _ in $(seq 300); do
  port=$(grep -o 'Running on http://127.0.0.1:[0-9]*' "$work/moto.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "moto did not start" >&2; exit 1; }
endpoint="http://127.0.0.1:$port"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
"$py" - "$endpoint" "$corpus" <<'EOF'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, root = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
s3.create_bucket(Bucket="bench")
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
def up(p):
    with open(p, "rb") as f:
        s3.put_object(Bucket="bench", Key=os.path.relpath(p, root), Body=f.read())
with ThreadPoolExecutor(16) as ex:
    list(ex.map(up, files))
EOF

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Wall time of one scan, in seconds (the summary's elapsed line covers only the scan, not
# listing; wall time is what a user waits).
wall() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

s3_args=(scan s3://bench --endpoint-url "$endpoint" --s3-path-style --s3-concurrency "$CONCURRENCY")
"$bin" "${s3_args[@]}" | tail -7   # warm-up, and one summary to show
local_t=$(for _ in $(seq "$RUNS"); do wall "$bin" scan "$corpus"; done | median)
s3_t=$(for _ in $(seq "$RUNS"); do wall "$bin" "${s3_args[@]}"; done | median)
boto_t=$("$py" - "$endpoint" "$CONCURRENCY" <<'EOF'
import sys, time, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, n = sys.argv[1], int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bench") for o in p.get("Contents", [])]
t = time.time()
with ThreadPoolExecutor(n) as ex:
    list(ex.map(lambda k: s3.get_object(Bucket="bench", Key=k)["Body"].read(), keys))
print(time.time() - t)
EOF
)
mb=$(echo "$bytes / 1048576" | bc -l)
printf '\ncorpus: %d files, %.1f MiB compressed; %d runs each, medians\n' "$nfiles" "$mb" "$RUNS"
printf '%-34s %8.2f s  %7.1f MiB/s compressed\n' "local disk" "$local_t" "$(echo "$mb / $local_t" | bc -l)"
printf '%-34s %8.2f s  %7.1f MiB/s compressed\n' "S3 (moto, loopback, c=$CONCURRENCY)" "$s3_t" "$(echo "$mb / $s3_t" | bc -l)"
printf '%-34s %8.2f s  %7.1f MiB/s compressed\n' "boto3 GET loop alone (c=$CONCURRENCY)" "$boto_t" "$(echo "$mb / $boto_t" | bc -l)"
