//! `trailhound scan sample-logs` gives exactly the findings listed in
//! tests/fixtures/sample-expected.json (written by tools/gen_sample_logs.py from the
//! incidents it planted), and nothing for the decoys.

use serde_json::Value;

use crate::harness::{SAMPLE_FINDINGS_LINE, jsonl, root, run, stdout};

fn expected() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/sample-expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn scan_finds_exactly_the_planted_incidents() {
    let out = run(&[
        "scan",
        root().join("sample-logs").to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::harness::stderr(&out)
    );
    let got = jsonl(&stdout(&out));
    let want = expected();
    assert_eq!(got.len(), want.len(), "one row per incident");
    for (g, w) in got.iter().zip(&want) {
        for (col, value) in w.as_object().unwrap() {
            assert_eq!(&g[col], value, "column {col} of {}", w["instance_id"]);
        }
        assert_eq!(g["finding_id"].as_str().unwrap().len(), 32);
        let remediation = g["remediation"].as_str().unwrap();
        if let Some(key) = g["kms_key_arn"].as_str() {
            assert!(
                remediation.contains(key),
                "remediation names the key: {remediation}"
            );
        }
        let sources = g["source_objects"].as_array().unwrap();
        assert!(
            !sources.is_empty()
                && sources
                    .iter()
                    .all(|s| s.as_str().unwrap().contains("/AWSLogs/"))
        );
    }
}

#[test]
fn table_output_lists_each_instance_and_a_summary() {
    let out = run(&["scan", root().join("sample-logs").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for w in expected() {
        if let Some(i) = w["instance_id"].as_str() {
            assert!(text.contains(i), "{i} in table");
        }
    }
    assert!(
        text.contains(
            "files: 28 read, 3 skipped (digest 1, insight 1, filtered 0, not logs 1), 0 failed"
        ),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "records: 412 read, 47 candidates, 0 skipped, 1 duplicates"),
        "{text}"
    );
    assert!(text.lines().any(|l| l == SAMPLE_FINDINGS_LINE), "{text}");
    assert!(
        out.stderr.is_empty(),
        "no warnings on a clean scan: {}",
        crate::harness::stderr(&out)
    );
}

#[test]
fn filters_narrow_the_findings() {
    let dir = root().join("sample-logs");
    let d = dir.to_str().unwrap();
    let count = |extra: &[&str]| {
        let mut args = vec!["scan", d, "--format", "jsonl"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0));
        jsonl(&stdout(&out))
    };
    let org = count(&["--account", "444455556666"]);
    assert_eq!(org.len(), 3);
    assert!(org.iter().all(|f| f["account_id"] == "444455556666"));
    assert_eq!(count(&["--region", "eu-west-1"]).len(), 1);
    assert_eq!(
        count(&["--region", "eu-west-1", "--region", "us-west-2"]).len(),
        4
    );
    // Two denials are on the 15th; the key_disabled one was launched at 23:59:40 on the
    // 14th, so --since cuts its launch off and the denial is left unmatched.
    let late = count(&["--since", "2026-03-15"]);
    let causes: Vec<&str> = late.iter().map(|f| f["cause"].as_str().unwrap()).collect();
    assert_eq!(causes, ["key_disabled", "key_unavailable"]);
    assert_eq!(late[0]["match"], "unmatched");
    let margin = count(&["--since", "2026-03-14T23:00:00Z"]);
    let rows: Vec<(&str, &str)> = margin
        .iter()
        .map(|f| (f["cause"].as_str().unwrap(), f["match"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("key_disabled", "instance_id"),
            ("key_unavailable", "instance_id")
        ],
        "a margin before --since keeps the launch"
    );
    // Only the SCP denial in us-west-2 comes before 09:00 on the 14th.
    let early = count(&["--until", "2026-03-14T09:00:00Z"]);
    assert_eq!(early.len(), 1);
    assert_eq!(early[0]["instance_id"], "i-02120163c8bd9c99a");
    assert_eq!(early[0]["first_denied_at"], "2026-03-14T06:41:09Z");
}

/// The bundled sample bucket and its expected findings are exactly what the generator
/// writes, byte for byte: neither can drift from the script that documents them.
#[test]
fn sample_logs_are_what_their_generator_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let (logs, expected) = (tmp.path().join("logs"), tmp.path().join("expected.json"));
    let o = crate::harness::python()
        .arg(root().join("tools/gen_sample_logs.py"))
        .args(["--out", logs.to_str().unwrap()])
        .args(["--expected", expected.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", crate::harness::stderr(&o));
    let bundled = root().join("sample-logs");
    let names = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        crate::harness::files_under(dir, "")
            .into_iter()
            .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
            .collect()
    };
    assert_eq!(names(&logs), names(&bundled));
    for rel in names(&bundled) {
        let same =
            std::fs::read(logs.join(&rel)).unwrap() == std::fs::read(bundled.join(&rel)).unwrap();
        assert!(
            same,
            "{} differs from what the generator writes",
            rel.display()
        );
    }
    assert_eq!(
        std::fs::read(&expected).unwrap(),
        std::fs::read(root().join("tests/fixtures/sample-expected.json")).unwrap()
    );
}
