//! Bad input loses nothing good: broken files are skipped, named and counted; the findings
//! of the other files are still printed and written; the exit code tells the truth.

use crate::harness::*;

const ACCT: &str = "111122223333";
const IID: &str = "i-0123456789abcdef0";

/// A folder with one real incident (launch + denial) in good files, plus `bad` files.
fn corpus_with(bad: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let launch = run_instances(
        "run-1",
        "2026-03-14T10:00:00Z",
        ACCT,
        "us-east-1",
        IID,
        "arn:aws:iam::111122223333:user/alice",
    );
    let denial = infra_denial(
        "deny-1",
        "2026-03-14T10:00:07Z",
        ACCT,
        "us-east-1",
        IID,
        "AccessDenied",
        "User: x is not authorized to perform: kms:Decrypt on resource: k with an explicit deny in a resource-based policy",
    );
    put(
        dir.path(),
        &log_key(ACCT, "us-east-1", "2026/03/14", 1),
        &gzip(&doc(&[launch])),
    );
    put(
        dir.path(),
        &log_key(ACCT, "us-east-1", "2026/03/14", 2),
        &gzip(&doc(&[denial])),
    );
    for (name, bytes) in bad {
        put(dir.path(), name, bytes);
    }
    dir
}

fn scan_dir(dir: &tempfile::TempDir, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["scan", dir.path().to_str().unwrap(), "--format", "jsonl"];
    args.extend_from_slice(extra);
    run(&args)
}

fn assert_incident_found(o: &std::process::Output) {
    let rows = crate::harness::jsonl(&stdout(o));
    assert_eq!(
        rows.len(),
        1,
        "the good files' finding survives: {}",
        stdout(o)
    );
    assert_eq!(rows[0]["instance_id"], IID);
    assert_eq!(rows[0]["match"], "instance_id");
}

#[test]
fn clean_corpus_exits_zero() {
    let dir = corpus_with(&[]);
    let o = scan_dir(&dir, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_incident_found(&o);
}

#[test]
fn broken_files_are_named_counted_and_give_exit_3() {
    let good = gzip(&doc(&[noise(
        "n1",
        "2026-03-14T10:00:00Z",
        ACCT,
        "us-east-1",
    )]));
    let bad = [
        ("bad/truncated.json.gz", good[..good.len() / 2].to_vec()),
        (
            "bad/garbage.json.gz",
            b"\x00\x01\x02 this is not gzip".to_vec(),
        ),
        (
            "bad/notjson.json.gz",
            gzip(b"<html>503 Service Unavailable</html>"),
        ),
        (
            "bad/no-records.json.gz",
            gzip(br#"{"eventVersion":"1.08","digestStartTime":"x"}"#),
        ),
        (
            "bad/cut.json",
            br#"{"Records":[{"eventID":"a","eventName":"#.to_vec(),
        ),
        ("bad/empty.json", Vec::new()),
    ];
    let dir = corpus_with(&bad);
    let o = scan_dir(&dir, &["--summary", "json"]);
    let summary = json_summary(&o, 3);
    assert_eq!(summary["objects_failed"], bad.len(), "{summary}");
    assert_incident_found(&o);
    let err = stderr(&o);
    for (name, _) in &bad {
        assert!(
            err.contains(name),
            "{name} is named in the warnings:\n{err}"
        );
    }
    assert!(err.contains("corrupt or truncated gzip"), "{err}");
    assert!(err.contains("no top-level \"Records\" array"), "{err}");
}

#[test]
fn bad_records_are_skipped_without_changing_the_exit_code() {
    let odd = [
        // A candidate whose eventTime is not a time, one with a numeric eventID, one that is
        // not an object at all, and non-candidates with odd types everywhere.
        r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","errorCode":"AccessDenied","eventID":"t","eventTime":"redacted","userIdentity":null}"#.to_string(),
        r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","errorCode":"AccessDenied","eventID":17,"eventTime":"2026-03-14T10:00:00Z"}"#.to_string(),
        "[\"kms.amazonaws.com\",\"errorCode\"]".to_string(),
        r#"{"eventSource":["kms.amazonaws.com"],"eventName":{"x":"RunInstances"},"errorCode":7,"readOnly":"true","userIdentity":"AWS Internal"}"#.to_string(),
        r#"{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"r9","eventTime":"2026-03-14T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","responseElements":"<truncated>","requestParameters":"{\"a\":1}"}"#.to_string(),
        // Non-ASCII text and a 200 KB record holding needles in its strings.
        format!(r#"{{"eventSource":"s3.amazonaws.com","eventName":"PutObject","eventID":"big","p":"{}","note":"Zürich 東京 kms.amazonaws.com errorCode RunInstances"}}"#, "x".repeat(200_000)),
    ];
    let dir = corpus_with(&[("odd/odd.json.gz", gzip(&doc(&odd)))]);
    let o = scan_dir(&dir, &["--summary", "json"]);
    let summary = json_summary(&o, 0);
    assert_eq!(summary["records_skipped"], 2, "{summary}");
    assert_incident_found(&o);
    let err = stderr(&o);
    assert!(
        err.contains("odd.json.gz: record 0 skipped: record lacks a usable eventTime"),
        "{err}"
    );
    assert!(
        err.contains("record 1 skipped: record lacks a usable eventID"),
        "{err}"
    );
}

#[test]
fn oversize_file_is_bad_input_not_a_crash() {
    // 3 MB of whitespace compresses to a few KB: the cap must hold on the decoded size.
    let mut bomb = b"{\"Records\":[".to_vec();
    bomb.extend(std::iter::repeat_n(b' ', 3 << 20));
    bomb.extend(b"]}");
    let dir = corpus_with(&[("bomb/bomb.json.gz", gzip(&bomb))]);
    let o = scan_dir(&dir, &["--max-file-bytes", "1M"]);
    assert_eq!(o.status.code(), Some(3));
    assert_incident_found(&o);
    assert!(
        stderr(&o)
            .contains("bomb.json.gz: decompressed size would exceed the limit of 1048576 bytes"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn stdin_and_single_files() {
    let dir = corpus_with(&[]);
    let key = log_key(ACCT, "us-east-1", "2026/03/14", 2);
    let denial_file = dir.path().join(&key);
    let launch_file = dir.path().join(log_key(ACCT, "us-east-1", "2026/03/14", 1));
    let mut child = bin()
        .args([
            "scan",
            "-",
            launch_file.to_str().unwrap(),
            "--format",
            "jsonl",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&denial_file).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_incident_found(&o);
    let rows = crate::harness::jsonl(&stdout(&o));
    assert!(
        rows[0]["source_objects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "-")
    );
}

#[test]
fn exit_codes_for_usage_and_fatal_errors() {
    let o = run(&["scan"]);
    assert_eq!(o.status.code(), Some(2), "missing source is a usage error");
    let o = run(&["scan", ".", "--since", "last tuesday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("neither a date"), "{}", stderr(&o));
    let o = run(&["scan", ".", "--account", "12345"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "scan",
        ".",
        "--since",
        "2026-03-15",
        "--until",
        "2026-03-14",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["scan", "/nonexistent/trailhound/logs"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/trailhound/logs"),
        "{}",
        stderr(&o)
    );

    // An output folder that cannot be created is fatal.
    let dir = corpus_with(&[]);
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"a file, not a folder").unwrap();
    let o = scan_dir(&dir, &["--out", blocker.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot write output"), "{}", stderr(&o));
}
