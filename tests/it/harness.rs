//! Shared test helpers: the built binary, temp folders, gzip writers, the Python that has
//! pyarrow and DuckDB (set up by `scripts/test`), and small JSON record builders.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The summary's findings line for the sample logs.
pub const SAMPLE_FINDINGS_LINE: &str = "findings: 9 (ec2_infrastructure_denied 2, key_disabled 1, key_not_found 1, key_pending_deletion 1, key_unavailable 1, launcher_denied 3)";

/// The crate root (where `sample-logs/` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/real-logs`, the corpus of real CloudTrail files next to the project.
pub fn real_logs() -> PathBuf {
    let p = root().join("../shared/real-logs");
    assert!(
        p.is_dir(),
        "the real-logs corpus is expected at {}",
        p.display()
    );
    p
}

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run trailhound")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The Python interpreter with the test packages (`scripts/test` sets TRAILHOUND_PYTHON).
pub fn python() -> Command {
    let py = std::env::var("TRAILHOUND_PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(py)
}

/// Runs a Python snippet with `args`, asserting it succeeds; returns stdout.
pub fn python_ok(code: &str, args: &[&str]) -> String {
    // Leave with os._exit once the snippet has finished: pyarrow's C++ threads can abort the
    // interpreter's own shutdown ("terminate called without an active exception") when the
    // machine is loaded, which would fail a test whose work had succeeded.
    let code =
        format!("{code}\nimport os as _os, sys as _sys\n_sys.stdout.flush()\n_os._exit(0)\n");
    let out = python()
        .arg("-c")
        .arg(&code)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed (run the tests through scripts/test, which installs pyarrow, duckdb and moto):\n{}",
        stderr(&out)
    );
    stdout(&out)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes `bytes` at `dir/rel`, creating folders.
pub fn put(dir: &Path, rel: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A `{"Records":[...]}` document of the given record JSON texts.
pub fn doc(records: &[String]) -> Vec<u8> {
    format!("{{\"Records\":[{}]}}", records.join(",")).into_bytes()
}

/// The key of a log file in the plain layout for account, region and day `YYYY/MM/DD`.
pub fn log_key(account: &str, region: &str, day: &str, n: usize) -> String {
    let compact = day.replace('/', "");
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{compact}T1200Z_{n:016}.json.gz"
    )
}

/// An ec2-infrastructure Decrypt denied with the given code and message.
pub fn infra_denial(
    event_id: &str,
    time: &str,
    account: &str,
    region: &str,
    instance: &str,
    code: &str,
    message: &str,
) -> String {
    serde_json::json!({
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("{account}:aws:ec2-infrastructure:{instance}"),
            "arn": format!("arn:aws:sts::{account}:assumed-role/aws:ec2-infrastructure/{instance}"),
            "accountId": account,
            "invokedBy": "AWS Internal"
        },
        "eventTime": time,
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": region,
        "sourceIPAddress": "AWS Internal",
        "errorCode": code,
        "errorMessage": message,
        "requestParameters": {"encryptionContext": {"aws:ebs:id": "vol-0aaaaaaaaaaaaaaaa"}},
        "responseElements": null,
        "eventID": event_id,
        "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": format!("arn:aws:kms:{region}:{account}:key/0b1c2d3e-0000-4000-8000-000000000001")}],
        "recipientAccountId": account
    })
    .to_string()
}

/// A RunInstances by `principal` that started `instance`.
pub fn run_instances(
    event_id: &str,
    time: &str,
    account: &str,
    region: &str,
    instance: &str,
    principal: &str,
) -> String {
    serde_json::json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": principal, "accountId": account},
        "eventTime": time,
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances",
        "awsRegion": region,
        "requestParameters": {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.micro"},
        "responseElements": {"instancesSet": {"items": [{"instanceId": instance, "imageId": "ami-0abcdef1234567890", "instanceType": "t3.micro"}]}},
        "eventID": event_id,
        "recipientAccountId": account
    })
    .to_string()
}

/// A record no rule cares about.
pub fn noise(event_id: &str, time: &str, account: &str, region: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::{account}:user/ops"), "accountId": account},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances",
        "awsRegion": region, "requestParameters": {"maxResults": 5}, "responseElements": null,
        "eventID": event_id, "recipientAccountId": account
    })
    .to_string()
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The `--summary json` line of a run that exited with `code`.
pub fn json_summary(o: &Output, code: i32) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    let line = stderr(o).lines().last().unwrap_or_default().to_string();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

/// One JSON value per line of `text` (a `--format jsonl` output).
pub fn jsonl(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// A small xorshift generator: the same sequence for a seed on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}
