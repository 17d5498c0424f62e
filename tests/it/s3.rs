//! S3 sources and outputs against a real S3 API: moto's server, started by each test on a
//! free loopback port and killed when the test ends. Objects are uploaded with boto3 (which
//! moto brings); request counts are read from trailhound's own summary line.
//!
//! Fault injection (throttling, a 500 that never clears, an object deleted after listing)
//! goes through a small HTTP proxy in front of moto, since moto itself has no such switch.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::{Arc, Barrier, Mutex, Once};
use std::time::Duration;

use trailhound::source::s3::{ConditionalError, LockError, S3Client, S3Options};

use crate::harness::{
    self, SAMPLE_FINDINGS_LINE, doc, files_under, gzip, log_key, noise, put, python_ok, stderr,
    stdout,
};

const ORG: &str = "o-a1b2c3d4e5";
const A: &str = "111122223333";
const B: &str = "444455556666";

/// A moto server on a loopback port, killed on drop.
pub(crate) struct Moto {
    child: Child,
    stderr: Option<ChildStderr>,
    pub(crate) endpoint: String,
}

impl Moto {
    /// Starts moto on a port it picks itself (`-p 0`) and reads back from its banner, so two
    /// tests never race for the same free port.
    pub(crate) fn start() -> Moto {
        let exe = std::env::var("TRAILHOUND_MOTO").unwrap_or_else(|_| "moto_server".into());
        let mut child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {exe} (run the tests through scripts/test, which installs moto): {e}"
                )
            });
        // The guard first: a moto that never says where it listens is still killed.
        let mut moto = Moto {
            stderr: child.stderr.take(),
            child,
            endpoint: String::new(),
        };
        let mut lines = BufReader::new(moto.stderr.take().unwrap()).lines();
        const BANNER: &str = "Running on http://127.0.0.1:";
        let port: String = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                let at = l.find(BANNER)? + BANNER.len();
                Some(l[at..].chars().take_while(char::is_ascii_digit).collect())
            })
            .expect("moto did not say where it listens");
        moto.endpoint = format!("http://127.0.0.1:{port}");
        // moto logs every request on stderr: keep the pipe drained until it exits.
        std::thread::spawn(move || lines.for_each(drop));
        moto
    }

    /// Uploads every file under `dir` to `bucket` (created if needed) under `prefix`.
    pub(crate) fn upload(&self, bucket: &str, dir: &Path, prefix: &str) {
        python_ok(
            UPLOAD,
            &[&self.endpoint, bucket, dir.to_str().unwrap(), prefix],
        );
    }

    /// Runs Python with a boto3 client `s3` for this server in scope.
    pub(crate) fn python(&self, code: &str, args: &[&str]) -> String {
        let mut all = vec![self.endpoint.as_str()];
        all.extend_from_slice(args);
        python_ok(&format!("{CLIENT}\n{code}"), &all)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CLIENT: &str = r#"
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
"#;

const UPLOAD: &str = r#"
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
endpoint, bucket, root, prefix = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
def up(p):
    with open(p, "rb") as f:
        s3.put_object(Bucket=bucket, Key=prefix + os.path.relpath(p, root).replace(os.sep, "/"), Body=f.read())
with ThreadPoolExecutor(16) as ex:
    list(ex.map(up, files))
print(len(files))
"#;

/// The binary with test credentials and nothing from this machine's AWS configuration.
pub(crate) fn trailhound(endpoint: &str, args: &[&str]) -> Output {
    trailhound_as(endpoint, ("testing", "testing"), args)
}

fn trailhound_as(endpoint: &str, creds: (&str, &str), args: &[&str]) -> Output {
    trailhound_cmd(endpoint, creds, args)
        .output()
        .expect("run trailhound")
}

/// `trailhound scan ARGS` against `endpoint`, not started yet.
pub(crate) fn trailhound_cmd(
    endpoint: &str,
    (key, secret): (&str, &str),
    args: &[&str],
) -> Command {
    let mut cmd = harness::bin();
    for var in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        // Never reach for an instance role from a test.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/trailhound-test")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/trailhound-test",
        )
        .arg("scan")
        .args(args)
        .args(["--endpoint-url", endpoint, "--s3-path-style"]);
    cmd
}

/// The numbers on the summary line that starts with `label`.
fn summary_numbers(o: &Output, label: &str) -> Vec<u64> {
    let out = stdout(o);
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no '{label}' line in:\n{out}"));
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// `(LIST, GET)` from the summary line `s3: N LIST, M GET requests`.
fn requests(o: &Output) -> (u64, u64) {
    let n = summary_numbers(o, "s3: ");
    (n[0], n[1])
}

/// `(read, failed)` from the summary line `files: N read, ... M failed`.
fn files(o: &Output) -> (u64, u64) {
    let n = summary_numbers(o, "files: ");
    (n[0], n[n.len() - 1])
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

/// One small gzipped log with `n` noise records, unique per key.
fn log_file(dir: &Path, key: &str, n: usize) {
    let records: Vec<String> = (0..n)
        .map(|i| {
            noise(
                &format!("{key}#{i}"),
                "2026-03-14T12:00:00Z",
                A,
                "us-east-1",
            )
        })
        .collect();
    put(dir, key, &gzip(&doc(&records)));
}

#[test]
fn s3_more_than_1000_objects_in_one_day_are_paginated() {
    let moto = Moto::start();
    let tmp = tempfile::tempdir().unwrap();
    const N: usize = 1205;
    for i in 0..N {
        log_file(tmp.path(), &log_key(A, "us-east-1", "2026/03/14", i), 1);
    }
    moto.upload("logs", tmp.path(), "");

    let o = trailhound(&moto.endpoint, &["s3://logs"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(files(&o), (N as u64, 0));
    // AWSLogs/, the account's CloudTrail/, then the region's keys in two pages.
    assert_eq!(requests(&o), (4, N as u64));

    // A day range lists the same two pages; a region filter saves the regions LIST.
    let o = trailhound(
        &moto.endpoint,
        &[
            "s3://logs",
            "--since",
            "2026-03-14",
            "--until",
            "2026-03-15",
            "--region",
            "us-east-1",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(files(&o), (N as u64, 0));
    assert_eq!(requests(&o), (3, N as u64));
}

/// Plain and organization layouts side by side, with digest and Insights objects that must
/// never be listed or read.
fn two_layouts(dir: &Path) {
    for day in ["13", "14", "15", "16", "17"] {
        log_file(
            dir,
            &log_key(A, "us-east-1", &format!("2026/03/{day}"), 1),
            2,
        );
    }
    log_file(dir, &log_key(A, "eu-west-1", "2026/03/14", 1), 2);
    let org_key = format!(
        "AWSLogs/{ORG}/{}",
        log_key(B, "us-west-2", "2026/03/14", 1).trim_start_matches("AWSLogs/")
    );
    log_file(dir, &org_key, 2);
    for (acct, kind) in [
        (A.to_string(), "CloudTrail-Digest"),
        (A.to_string(), "CloudTrail-Insight"),
        (format!("{ORG}/{B}"), "CloudTrail-Digest"),
    ] {
        let key = format!("AWSLogs/{acct}/{kind}/us-east-1/2026/03/14/x_{kind}.json.gz");
        put(dir, &key, &gzip(b"{\"Records\":[]}"));
    }
}

#[test]
fn s3_layouts_and_filters_list_only_what_they_select() {
    let moto = Moto::start();
    let tmp = tempfile::tempdir().unwrap();
    two_layouts(tmp.path());
    moto.upload("trails", tmp.path(), "cloudtrail/");
    let uri = "s3://trails/cloudtrail";
    let deep = "s3://trails/cloudtrail/AWSLogs/111122223333/CloudTrail/us-east-1/";
    let digests = "s3://trails/cloudtrail/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Digest/";

    // (arguments, files read, LISTs, digests skipped); a file read is one GET.
    let cases: [(&[&str], u64, u64, u64); 7] = [
        // AWSLogs/, the org, two accounts' CloudTrail/, three regions.
        (&[uri], 7, 7, 0),
        // The org's folder is not listed: the account is known. Its (absent) CloudTrail/
        // under the org costs one LIST, the plain one two regions.
        (&[uri, "--account", A], 6, 5, 0),
        // Regions are not listed either: one LIST per account and region.
        (&[uri, "--region", "us-east-1"], 5, 4, 0),
        // --until 2026-03-15 reads delivery days 14 to 16 (the day after, for late files).
        (
            &[
                uri,
                "--account",
                A,
                "--region",
                "us-east-1",
                "--since",
                "2026-03-14",
                "--until",
                "2026-03-15",
            ],
            3,
            3,
            0,
        ),
        // Only the last day is in range: the same walk, one file.
        (
            &[uri, "--since", "2026-03-17", "--until", "2026-03-18"],
            1,
            7,
            0,
        ),
        // A prefix inside the layout starts the walk there.
        (&[deep], 5, 1, 0),
        // A prefix elsewhere in the layout is listed plainly; digests are still skipped.
        (&[digests], 0, 1, 1),
    ];
    for (args, read, lists, digest) in cases {
        let o = trailhound(&moto.endpoint, args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        assert_eq!(files(&o), (read, 0), "{args:?}\n{}", stdout(&o));
        assert_eq!(requests(&o), (lists, read), "{args:?}\n{}", stdout(&o));
        let skipped = format!("(digest {digest}, insight 0,");
        assert!(stdout(&o).contains(&skipped), "{}", stdout(&o));
    }
}

/// The findings of `--format jsonl`, sorted, with the folder prefix taken out of
/// `source_objects` and those moved aside: which copy of a record delivered twice is kept
/// depends on which file is processed first (the correlator keeps the first copy, and fetches
/// finish in any order), so the list of objects may differ. Everything else must not.
fn findings(o: &Output, prefixes: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(matches!(code(o), 0), "{}", stderr(o));
    let mut rows: Vec<(String, Vec<String>)> = stdout(o)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let objects = v.as_object_mut().unwrap().remove("source_objects").unwrap();
            let objects = objects
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.as_str().unwrap();
                    let rel = prefixes.iter().find_map(|x| p.strip_prefix(x));
                    rel.unwrap_or_else(|| panic!("{p} is under none of {prefixes:?}"))
                        .to_string()
                })
                .collect();
            (v.to_string(), objects)
        })
        .collect();
    rows.sort();
    rows.into_iter().unzip()
}

#[test]
fn s3_findings_are_identical_to_a_local_scan_and_sources_mix() {
    let moto = Moto::start();
    let sample = harness::root().join("sample-logs");
    moto.upload("bucket", &sample, "trail/");
    let local_prefix = format!("{}/", sample.display());
    let local = harness::run(&["scan", sample.to_str().unwrap(), "--format", "jsonl"]);
    let (local, local_objects) = findings(&local, &[&local_prefix]);
    assert_eq!(local.len(), 9, "{local:#?}");

    let check = |o: &Output, prefixes: &[&str]| {
        let (got, objects) = findings(o, prefixes);
        assert_eq!(got, local);
        for (got, want) in objects.iter().zip(&local_objects) {
            // The same files, but for a duplicate record's copy (see `findings`).
            assert!(
                !got.is_empty() && got.iter().all(|p| sample.join(p).is_file()),
                "{got:?}"
            );
            assert!(got.iter().any(|p| want.contains(p)), "{got:?} vs {want:?}");
        }
    };
    check(
        &trailhound(&moto.endpoint, &["s3://bucket/trail", "--format", "jsonl"]),
        &["s3://bucket/trail/"],
    );

    // Half from disk, half from S3, in one scan: the same findings.
    let plain = sample.join("AWSLogs/111122223333");
    let mixed = trailhound(
        &moto.endpoint,
        &[
            plain.to_str().unwrap(),
            "s3://bucket/trail/AWSLogs/o-a1b2c3d4e5",
            "--format",
            "jsonl",
        ],
    );
    check(&mixed, &["s3://bucket/trail/", &local_prefix]);
}

#[test]
fn s3_output_is_the_local_layout_and_reads_back() {
    let moto = Moto::start();
    moto.python("s3.create_bucket(Bucket='out')", &[]);
    let sample = harness::root().join("sample-logs");
    let dir = tempfile::tempdir().unwrap();
    let local = harness::run(&[
        "scan",
        sample.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&local), 0, "{}", stderr(&local));
    let o = trailhound(
        &moto.endpoint,
        &[sample.to_str().unwrap(), "--out", "s3://out/findings/v1"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let partitions = files_under(dir.path(), "").len();
    assert_eq!(partitions, 2, "the sample logs' findings span two days");
    assert!(
        stdout(&o).contains(&format!("s3: 0 LIST, 0 GET, {partitions} PUT requests")),
        "{}",
        stdout(&o)
    );

    // Same names, same bytes: the object names are deterministic.
    let listed = moto.python(
        r#"
import hashlib
for o in s3.list_objects_v2(Bucket="out", Prefix="findings/v1/")["Contents"]:
    body = s3.get_object(Bucket="out", Key=o["Key"])["Body"].read()
    print(o["Key"], hashlib.sha256(body).hexdigest())
"#,
        &[],
    );
    let mut expected = Vec::new();
    for entry in files_under(dir.path(), "") {
        let rel = entry
            .strip_prefix(dir.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let sha = python_ok(
            "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
            &[entry.to_str().unwrap()],
        );
        expected.push(format!("findings/v1/{rel} {}", sha.trim()));
    }
    expected.sort();
    let mut got: Vec<String> = listed.lines().map(str::to_string).collect();
    got.sort();
    assert_eq!(got, expected);
    assert!(got.iter().all(|l| l.contains("/dt=2026-03-")), "{got:?}");

    // And a Parquet reader sees the nine findings in them.
    let rows = moto.python(
        r#"
import io, pyarrow.parquet as pq
n = 0
for o in s3.list_objects_v2(Bucket="out", Prefix="findings/v1/")["Contents"]:
    n += pq.read_table(io.BytesIO(s3.get_object(Bucket="out", Key=o["Key"])["Body"].read())).num_rows
print(n)
"#,
        &[],
    );
    assert_eq!(rows.trim(), "9");
}

#[test]
fn s3_missing_bucket_and_rejected_credentials_are_fatal_with_a_clear_message() {
    let moto = Moto::start();
    let o = trailhound(&moto.endpoint, &["s3://logs-x/trail"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("bucket logs-x does not exist"),
        "{}",
        stderr(&o)
    );

    // Output to a missing bucket: the scan runs, the write fails, exit 1.
    let sample = harness::root().join("sample-logs");
    let o = trailhound(
        &moto.endpoint,
        &[sample.to_str().unwrap(), "--out", "s3://no-such-out/f"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("bucket no-such-out does not exist"),
        "{}",
        stderr(&o)
    );

    // moto checks signatures once auth is switched on; a user with no policy is denied.
    moto.upload("logs", &sample, "");
    let keys = moto.python(
        r#"
import urllib.request
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="nobody")
k = iam.create_access_key(UserName="nobody")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset-auth", data=b"0",
                       headers={"Content-Type": "text/plain"}, method="POST")).read()
"#,
        &[],
    );
    let (id, secret) = keys.trim().split_once(' ').unwrap();

    let o = trailhound(&moto.endpoint, &["s3://logs"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("credentials were rejected (InvalidAccessKeyId)"),
        "{}",
        stderr(&o)
    );
    let o = trailhound_as(&moto.endpoint, (id, "not-the-secret"), &["s3://logs"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("credentials were rejected (SignatureDoesNotMatch)"),
        "{}",
        stderr(&o)
    );
    let o = trailhound_as(&moto.endpoint, (id, secret), &["s3://logs"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(
            "access denied (AccessDenied): the credentials lack s3:ListBucket on bucket logs"
        ),
        "{err}"
    );
    assert!(!err.contains(secret), "a secret was printed: {err}");
}

#[test]
fn s3_an_archived_object_fails_alone_with_exit_3() {
    let moto = Moto::start();
    let sample = harness::root().join("sample-logs");
    moto.upload("logs", &sample, "");
    // A log file moved to Glacier by a lifecycle rule: listed, but GET is refused.
    let key = log_key(A, "us-east-1", "2026/03/14", 7);
    let body = gzip(&doc(&[noise(
        "archived-1",
        "2026-03-14T12:00:00Z",
        A,
        "us-east-1",
    )]));
    let tmp = tempfile::tempdir().unwrap();
    let file = put(tmp.path(), "f.json.gz", &body);
    moto.python(
        "s3.put_object(Bucket='logs', Key=sys.argv[2], Body=open(sys.argv[3],'rb').read(), StorageClass='GLACIER')",
        &[&key, file.to_str().unwrap()],
    );

    let o = trailhound(&moto.endpoint, &["s3://logs"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert_eq!(files(&o), (28, 1));
    assert!(
        stdout(&o).lines().any(|l| l == SAMPLE_FINDINGS_LINE),
        "{}",
        stdout(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "s3://logs/{key}: fetch failed: the object is archived"
        )),
        "{err}"
    );
}

/// What the proxy answers instead of moto, for a request on an object whose path contains a
/// marker.
struct Fault {
    marker: &'static str,
    /// How many times to answer with the fault before passing requests through.
    times: u32,
    status: u16,
    code: &'static str,
}

/// An HTTP proxy in front of moto that injects faults. One request per connection (it
/// answers `Connection: close`), which the SDK handles by opening a new one.
struct FaultProxy {
    endpoint: String,
}

impl FaultProxy {
    fn start(upstream: &str, faults: Vec<Fault>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let faults = Arc::new(faults);
        let seen = Arc::new(Mutex::new(HashMap::<&'static str, u32>::new()));
        // The thread ends with the test process; it serves only this loopback listener.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (upstream, faults, seen) = (upstream.clone(), faults.clone(), seen.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, &upstream, &faults, &seen);
                });
            }
        });
        FaultProxy { endpoint }
    }
}

fn proxy_one(
    mut conn: TcpStream,
    upstream: &str,
    faults: &[Fault],
    seen: &Mutex<HashMap<&'static str, u32>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let len = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0usize);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let request_line = head[0].clone();
    // Any request on an object (GET, PUT, DELETE), never a LIST.
    if !request_line.contains("list-type=2") {
        for f in faults {
            if request_line.contains(f.marker) {
                let mut seen = seen.lock().unwrap();
                let n = seen.entry(f.marker).or_default();
                if *n < f.times {
                    *n += 1;
                    let xml = format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>injected by the test proxy</Message></Error>",
                        f.code
                    );
                    return write!(
                        conn,
                        "HTTP/1.1 {} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                        f.status,
                        xml.len()
                    );
                }
            }
        }
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut out = String::new();
    for h in head
        .iter()
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
    {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..split]);
    let mut fixed = String::new();
    for h in head
        .split("\r\n")
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
    {
        fixed.push_str(h);
        fixed.push_str("\r\n");
    }
    fixed.push_str("Connection: close");
    conn.write_all(fixed.as_bytes())?;
    conn.write_all(&response[split..])?;
    conn.flush()
}

#[test]
fn s3_throttling_is_retried_and_a_persistent_failure_is_reported_with_exit_3() {
    let moto = Moto::start();
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..20 {
        log_file(tmp.path(), &log_key(A, "us-east-1", "2026/03/14", i), 3);
    }
    let slow =
        log_key(A, "us-east-1", "2026/03/14", 0).replace("0000000000000000", "SlowDownTwice000");
    let broken =
        log_key(A, "us-east-1", "2026/03/14", 0).replace("0000000000000000", "BrokenForever000");
    let gone =
        log_key(A, "us-east-1", "2026/03/14", 0).replace("0000000000000000", "DeletedAfterList");
    for key in [&slow, &broken, &gone] {
        log_file(tmp.path(), key, 3);
    }
    moto.upload("logs", tmp.path(), "");
    let proxy = FaultProxy::start(
        &moto.endpoint,
        vec![
            Fault {
                marker: "SlowDownTwice",
                times: 2,
                status: 503,
                code: "SlowDown",
            },
            Fault {
                marker: "BrokenForever",
                times: u32::MAX,
                status: 500,
                code: "InternalError",
            },
            Fault {
                marker: "DeletedAfterList",
                times: u32::MAX,
                status: 404,
                code: "NoSuchKey",
            },
        ],
    );

    let o = trailhound(&proxy.endpoint, &["s3://logs"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    // Everything else was processed, the throttled object included.
    assert_eq!(files(&o), (21, 2), "{}", stdout(&o));
    assert!(stdout(&o).contains("records: 63 read"), "{}", stdout(&o));
    // 23 objects; two retries of the throttled one, four of the broken one (five attempts);
    // a missing object is not retried.
    assert_eq!(requests(&o), (3, 23 + 2 + 4));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "s3://logs/{broken}: fetch failed: InternalError: injected"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "s3://logs/{gone}: fetch failed: the object no longer exists"
        )),
        "{err}"
    );
}

// State and lock primitives of the incremental mode, through the library's client.

/// The library's client for `endpoint`, as a run would build it.
fn state_client(endpoint: &str) -> S3Client {
    static CREDENTIALS: Once = Once::new();
    CREDENTIALS.call_once(|| {
        // SAFETY: std's environment lock orders this with every `std::env` read and `Command`
        // spawn in the other test threads, nothing here reads the environment from C, and
        // the values are the same constants the binary's tests pass to their children.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            // Never reach for an instance role or this machine's profiles from a test.
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/trailhound-test");
            std::env::set_var(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/trailhound-test",
            );
        }
    });
    S3Client::connect(&S3Options {
        endpoint_url: Some(endpoint.to_string()),
        path_style: true,
        region: Some("us-east-1".into()),
        ..S3Options::default()
    })
    .expect("connect")
}

/// moto with an empty bucket `state`.
fn state_server() -> Moto {
    let moto = Moto::start();
    moto.python("s3.create_bucket(Bucket='state')", &[]);
    moto
}

/// A client whose first request containing `marker` the proxy answers with an S3 error.
fn state_client_with_fault(
    moto: &Moto,
    marker: &'static str,
    status: u16,
    code: &'static str,
) -> S3Client {
    let fault = Fault {
        marker,
        times: 1,
        status,
        code,
    };
    state_client(&FaultProxy::start(&moto.endpoint, vec![fault]).endpoint)
}

fn conflict(r: Result<String, ConditionalError>) -> String {
    match r {
        Err(ConditionalError::Conflict(msg)) => msg,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn s3_state_conditional_writes_create_once_and_update_only_the_version_read() {
    let moto = state_server();
    let s3 = state_client(&moto.endpoint);
    let key = "runs/trailhound.state";

    // A refused write leaves the object as it was: `still` (its bytes and ETag).
    let refused = |bytes: &[u8], expected: Option<&str>, still: (&[u8], &str)| {
        let msg = conflict(s3.put_conditional("state", key, bytes.to_vec(), expected));
        let now = s3.get_versioned("state", key).unwrap();
        assert_eq!(now, Some((still.0.to_vec(), still.1.to_string())));
        msg
    };

    // Create: only while nothing is there (If-None-Match: *).
    let v1 = s3
        .put_conditional("state", key, b"v1".to_vec(), None)
        .unwrap();
    assert_eq!(
        refused(b"v1 again", None, (b"v1", &v1)),
        "s3://state/runs/trailhound.state already exists: another run created it"
    );

    // Update: only from the version read (If-Match), which then is stale.
    let v2 = s3
        .put_conditional("state", key, b"v2".to_vec(), Some(&v1))
        .unwrap();
    assert_ne!(v2, v1);
    assert_eq!(
        refused(b"v3", Some(&v1), (b"v2", &v2)),
        "s3://state/runs/trailhound.state changed since it was read: another run committed"
    );

    // Deleted since it was read: S3 (and moto) answer If-Match on no object with 404.
    moto.python("s3.delete_object(Bucket='state', Key=sys.argv[2])", &[key]);
    let msg = conflict(s3.put_conditional("state", key, b"v4".to_vec(), Some(&v2)));
    assert!(msg.ends_with("was deleted since it was read"), "{msg}");
    assert_eq!(s3.get_versioned("state", key).unwrap(), None);

    // Five PUTs, three GETs; a refused write is not retried.
    let n = s3.requests();
    assert_eq!((n.list, n.get, n.put, n.delete), (0, 3, 5, 0), "{n:?}");
}

#[test]
fn s3_state_a_missing_object_is_none_and_a_missing_bucket_is_named() {
    let moto = state_server();
    let s3 = state_client(&moto.endpoint);
    assert_eq!(s3.get_versioned("state", "never/written").unwrap(), None);

    let err = s3.get_versioned("no-such-state", "x.state").unwrap_err();
    assert_eq!(
        err,
        "s3://no-such-state/x.state: bucket no-such-state does not exist"
    );
    match s3.put_conditional("no-such-state", "x.state", b"v".to_vec(), None) {
        Err(ConditionalError::Other(msg)) => assert_eq!(
            msg,
            "s3://no-such-state/x.state: bucket no-such-state does not exist"
        ),
        other => panic!("{other:?}"),
    }
    match s3.acquire_lock("no-such-state", "x.lock", "run-1", Duration::from_secs(60)) {
        Err(LockError::Other(msg)) => assert_eq!(
            msg,
            "s3://no-such-state/x.lock: bucket no-such-state does not exist"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn s3_state_a_409_conditional_request_conflict_is_a_conflict() {
    // S3 answers 409 when another conditional write to the key is in flight; moto never
    // does, so the proxy stands in for it, once per key.
    let moto = state_server();
    let s3 = state_client_with_fault(&moto, "ConcurrentWrite", 409, "ConditionalRequestConflict");
    let msg = conflict(s3.put_conditional("state", "ConcurrentWrite", b"v".to_vec(), None));
    assert_eq!(
        msg,
        "s3://state/ConcurrentWrite: another write to it was in progress (ConditionalRequestConflict)"
    );
    // Not retried by the SDK (one PUT), and nothing was written.
    assert_eq!(s3.requests().put, 1);
    assert_eq!(s3.get_versioned("state", "ConcurrentWrite").unwrap(), None);
}

#[test]
fn s3_lock_release_falls_back_to_a_plain_delete_where_conditional_deletes_are_missing() {
    // A store without conditional deletes answers 501; the marker names the method, so
    // only the DELETE is refused, and only the first one (the conditional one).
    let moto = state_server();
    let s3 = state_client_with_fault(&moto, "DELETE /state/old-store.lock", 501, "NotImplemented");
    s3.acquire_lock("state", "old-store.lock", "run-a", Duration::from_secs(60))
        .unwrap();
    // The holder check still comes first.
    assert!(
        s3.release_lock("state", "old-store.lock", "run-b")
            .unwrap_err()
            .contains("held by run run-a")
    );
    assert_eq!(s3.requests().delete, 0);
    s3.release_lock("state", "old-store.lock", "run-a").unwrap();
    assert_eq!(s3.requests().delete, 2);
    assert_eq!(s3.get_versioned("state", "old-store.lock").unwrap(), None);
}

/// The lock object's JSON, read with boto3 (so the format is checked from outside).
fn lock_json(moto: &Moto, bucket: &str, key: &str) -> serde_json::Value {
    let out = moto.python(
        "print(s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])['Body'].read().decode())",
        &[bucket, key],
    );
    serde_json::from_str(out.trim()).unwrap()
}

fn held_by(r: Result<(), LockError>) -> (String, String, String) {
    match r {
        Err(LockError::Held {
            holder,
            since,
            expires,
        }) => (holder, since, expires),
        other => panic!("expected the lock to be held, got {other:?}"),
    }
}

fn ms(rfc3339: &str) -> i64 {
    trailhound::timefmt::parse_event_time(rfc3339).expect("an RFC 3339 time")
}

#[test]
fn s3_lock_is_exclusive_until_released_and_an_expired_one_is_taken_over() {
    let moto = state_server();
    let s3 = state_client(&moto.endpoint);
    let (bucket, key) = ("state", "trailhound.lock");
    let hour = Duration::from_secs(3600);

    s3.acquire_lock(bucket, key, "run-a", hour).unwrap();
    let json = lock_json(&moto, bucket, key);
    assert_eq!(json["holder"], "run-a");
    let (since, expires) = (
        json["since"].as_str().unwrap(),
        json["expires"].as_str().unwrap(),
    );
    assert_eq!(ms(expires) - ms(since), 3_600_000, "{json}");

    // A second run is refused and told by whom and until when.
    let (holder, h_since, h_expires) = held_by(s3.acquire_lock(bucket, key, "run-b", hour));
    assert_eq!(
        (holder.as_str(), h_since.as_str(), h_expires.as_str()),
        ("run-a", since, expires)
    );
    assert_eq!(
        LockError::Held {
            holder,
            since: h_since,
            expires: h_expires
        }
        .to_string(),
        format!("held by run run-a since {since} (expires {expires})")
    );

    // Only the holder releases it; releasing what is gone is fine.
    let err = s3.release_lock(bucket, key, "run-b").unwrap_err();
    assert_eq!(
        err,
        format!(
            "s3://state/trailhound.lock was not released: it is held by run run-a since {since} (ours expired and was taken over)"
        )
    );
    assert_eq!(lock_json(&moto, bucket, key)["holder"], "run-a");
    s3.release_lock(bucket, key, "run-a").unwrap();
    assert_eq!(s3.get_versioned(bucket, key).unwrap(), None);
    s3.release_lock(bucket, key, "run-a").unwrap();
    s3.acquire_lock(bucket, key, "run-b", hour).unwrap();
    s3.release_lock(bucket, key, "run-b").unwrap();

    // A crashed run's lock blocks until it expires, then the next run takes it over.
    s3.acquire_lock(bucket, key, "crashed", Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        held_by(s3.acquire_lock(bucket, key, "run-c", hour)).0,
        "crashed"
    );
    std::thread::sleep(Duration::from_millis(1100));
    s3.acquire_lock(bucket, key, "run-c", hour).unwrap();
    assert_eq!(lock_json(&moto, bucket, key)["holder"], "run-c");
    // The crashed run, back after all, does not delete the lock it lost.
    assert!(
        s3.release_lock(bucket, key, "crashed")
            .unwrap_err()
            .contains("held by run run-c")
    );
    assert_eq!(lock_json(&moto, bucket, key)["holder"], "run-c");

    // Something else in the lock's place is reported and left alone.
    moto.python(
        "s3.put_object(Bucket='state', Key='other.lock', Body=b'not json')",
        &[],
    );
    match s3.acquire_lock(bucket, "other.lock", "run-d", hour) {
        Err(LockError::Other(msg)) => assert!(
            msg.starts_with("s3://state/other.lock is not a trailhound lock"),
            "{msg}"
        ),
        other => panic!("{other:?}"),
    }

    // Each release that found its lock read it and deleted it with one DELETE (If-Match).
    let n = s3.requests();
    assert_eq!(n.delete, 2, "{n:?}");
}

#[test]
fn s3_lock_two_runs_taking_over_one_stale_lock_exactly_one_wins() {
    let moto = state_server();
    let (bucket, key) = ("state", "trailhound.lock");
    // Two runs: two clients, each with its own connections.
    let runs = [state_client(&moto.endpoint), state_client(&moto.endpoint)];
    let setup = state_client(&moto.endpoint);
    const ROUNDS: usize = 12;
    let mut raced_at_the_write = 0;
    for round in 0..ROUNDS {
        // A stale lock, as a crashed run leaves it (a zero TTL has expired already).
        setup
            .acquire_lock(bucket, key, "crashed", Duration::ZERO)
            .unwrap();
        let ids = [format!("run-a{round}"), format!("run-b{round}")];
        let puts_before: Vec<u64> = runs.iter().map(|r| r.requests().put).collect();
        let barrier = Barrier::new(2);
        let results: Vec<Result<(), LockError>> = std::thread::scope(|s| {
            let handles: Vec<_> = runs
                .iter()
                .zip(&ids)
                .map(|(run, id)| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        run.acquire_lock(bucket, key, id, Duration::from_secs(3600))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}: {results:?}"
        );
        let w = results.iter().position(Result::is_ok).unwrap();
        let winner = &ids[w];
        assert!(
            matches!(&results[1 - w], Err(LockError::Held { holder, .. }) if holder == winner),
            "round {round}: {results:?}"
        );
        assert_eq!(lock_json(&moto, bucket, key)["holder"], winner.as_str());
        // Both read the stale lock and sent their conditional PUT, or the loser read the
        // winner's lock and never wrote: count the rounds that really raced at the write.
        let puts: u64 = runs
            .iter()
            .zip(&puts_before)
            .map(|(r, before)| r.requests().put - before)
            .sum();
        if puts == 2 {
            raced_at_the_write += 1;
        }
        runs[w].release_lock(bucket, key, winner).unwrap();
    }
    eprintln!("{raced_at_the_write} of {ROUNDS} rounds raced at the conditional PUT");
    // Without this the test might only have checked the read path.
    assert!(raced_at_the_write > 0);
}
