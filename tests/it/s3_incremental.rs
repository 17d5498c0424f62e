//! Incremental runs with the state and the findings on S3 (moto on loopback): delivered over
//! several runs, with a kill -9 in some of them, the findings equal one batch scan, each once;
//! a held lock object stops a second run with exit 4 until it expires; a damaged state object
//! is refused.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{json_summary, stderr};
use crate::incremental::{RUN_FLAGS, batch_ids, corpus, deliver_to, parquet_ids};
use crate::s3::{Moto, trailhound, trailhound_cmd};

const STATE: &str = "s3://state/trailhound.state";
const OUT: &str = "s3://findings/trailhound/";

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["s3://logs/", "--state", STATE, "--out", OUT];
    a.extend_from_slice(&RUN_FLAGS);
    a.extend_from_slice(extra);
    a
}

const MAKE_BUCKETS: &str = r#"
for b in sys.argv[2:]:
    s3.create_bucket(Bucket=b)
"#;

const DOWNLOAD: &str = r#"
import os
bucket, root = sys.argv[2], sys.argv[3]
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    for o in page.get("Contents", []):
        p = os.path.join(root, o["Key"])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        s3.download_file(bucket, o["Key"], p)
"#;

const PUT: &str = r#"
s3.put_object(Bucket=sys.argv[2], Key=sys.argv[3], Body=sys.argv[4].encode())
"#;

#[test]
fn s3_incremental_runs_with_kills_equal_one_batch_scan() {
    let files = corpus(8, 10);
    let batch = batch_ids(&files);
    let moto = Moto::start();
    moto.python(MAKE_BUCKETS, &["logs", "state", "findings"]);
    let mut order: Vec<_> = files.iter().collect();
    order.sort_by_key(|f| f.delivered);
    let mut killed = 0;
    for (round, chunk) in order.chunks(order.len().div_ceil(5)).enumerate() {
        let staging = tempfile::tempdir().unwrap();
        deliver_to(staging.path(), chunk.iter().copied());
        moto.upload("logs", staging.path(), "");
        // Every round but the first starts with a run killed part-way (or, if it was quick,
        // after it finished).
        if round > 0 {
            let mut child = trailhound_cmd(&moto.endpoint, ("testing", "testing"), &args(&[]))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(20 + 30 * round as u64));
            let _ = child.kill();
            killed += usize::from(child.wait().unwrap().code().is_none());
        }
        let o = trailhound(&moto.endpoint, &args(&[]));
        // A killed run may leave its lock object behind: the next run must then wait for
        // it to expire, which is the documented behaviour, so remove it as an operator would.
        if o.status.code() == Some(4) {
            moto.python(
                "s3.delete_object(Bucket='state', Key='trailhound.state.lock')",
                &[],
            );
            let o = trailhound(&moto.endpoint, &args(&[]));
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        } else {
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        }
    }
    // A run against moto takes far longer than the first delays.
    assert!(killed >= 1, "no run was killed mid-way");
    eprintln!("{killed} of 4 runs killed mid-way");
    let out = tempfile::tempdir().unwrap();
    moto.python(DOWNLOAD, &["findings", out.path().to_str().unwrap()]);
    assert_eq!(
        parquet_ids(out.path()),
        batch,
        "same findings as the batch scan, each once"
    );
}

#[test]
fn s3_lock_object_and_damaged_state() {
    let files = corpus(1, 1);
    let moto = Moto::start();
    moto.python(MAKE_BUCKETS, &["logs", "state", "findings"]);
    let staging = tempfile::tempdir().unwrap();
    deliver_to(staging.path(), &files);
    moto.upload("logs", staging.path(), "");

    let now = chrono::Utc::now();
    let lock = |expires: chrono::DateTime<chrono::Utc>| {
        serde_json::json!({"holder": "other-run", "since": now.to_rfc3339(), "expires": expires.to_rfc3339()}).to_string()
    };
    moto.python(
        PUT,
        &[
            "state",
            "trailhound.state.lock",
            &lock(now + chrono::Duration::hours(1)),
        ],
    );
    let o = trailhound(&moto.endpoint, &args(&[]));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("other-run"), "{}", stderr(&o));

    // An expired lock (a crashed run) is taken over.
    moto.python(
        PUT,
        &[
            "state",
            "trailhound.state.lock",
            &lock(now - chrono::Duration::minutes(1)),
        ],
    );
    let o = trailhound(&moto.endpoint, &args(&[]));
    let summary = json_summary(&o, 0);
    assert_eq!(summary["findings_written"], 1, "{summary}");
    // The lock is released at the end of a run.
    let listed = moto.python(
        "print(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='state').get('Contents', [])))",
        &[],
    );
    assert_eq!(listed.trim(), "['trailhound.state']");

    // A second run reads nothing new and writes nothing.
    let o = trailhound(&moto.endpoint, &args(&[]));
    let summary = json_summary(&o, 0);
    assert_eq!(
        (
            summary["objects_read"].as_u64(),
            summary["findings_written"].as_u64()
        ),
        (Some(0), Some(0)),
        "{summary}"
    );

    moto.python(
        PUT,
        &[
            "state",
            "trailhound.state",
            "{\"version\": 1, \"folders\": 7",
        ],
    );
    let o = trailhound(&moto.endpoint, &args(&[]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
    let o = trailhound(&moto.endpoint, &args(&["--reset-state"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
