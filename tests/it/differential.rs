//! The correctness guard of the fast path: the byte pre-filter plus record splitter must
//! find exactly the candidates and findings that a plain full parse of every record finds,
//! over real logs, sample logs, generated corpora and adversarial layouts.

use std::sync::Arc;

use trailhound::correlate::Correlator;
use trailhound::decode::Decoder;
use trailhound::scan::{FileScan, Scanner, scan_reference};

use crate::harness::{Rng, files_under, infra_denial, real_logs, root, run_instances};

fn both(doc: &[u8]) -> (FileScan, FileScan) {
    let name: Arc<str> = Arc::from("doc");
    let fast = Scanner::default()
        .scan(doc, &name)
        .expect("fast path splits");
    let slow = scan_reference(doc, &name).expect("reference parses");
    (fast, slow)
}

fn assert_same(doc: &[u8], what: &str) -> FileScan {
    let (fast, slow) = both(doc);
    assert_eq!(fast.records, slow.records, "{what}: records");
    assert_eq!(fast.candidates, slow.candidates, "{what}: candidates");
    assert_eq!(fast.events, slow.events, "{what}: events");
    assert_eq!(fast.skipped, slow.skipped, "{what}: skipped");
    fast
}

fn findings(scans: &[FileScan]) -> Vec<trailhound::finding::Finding> {
    let mut c = Correlator::default();
    for s in scans {
        for e in &s.events {
            c.add(e.clone());
        }
    }
    c.findings()
}

#[test]
fn real_and_sample_logs_agree_file_by_file_and_in_findings() {
    let mut decoder = Decoder::new(1 << 30);
    for dir in [
        real_logs(),
        root().join("sample-logs/AWSLogs/111122223333/CloudTrail"),
        root().join("sample-logs/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail"),
    ] {
        let (mut fast_all, mut slow_all) = (Vec::new(), Vec::new());
        for f in files_under(&dir, ".json.gz") {
            let mut doc = Vec::new();
            decoder
                .decode("x", &std::fs::read(&f).unwrap(), &mut doc)
                .unwrap();
            let (fast, slow) = both(&doc);
            assert_eq!(fast.events, slow.events, "{}", f.display());
            fast_all.push(fast);
            slow_all.push(slow);
        }
        assert_eq!(
            findings(&fast_all),
            findings(&slow_all),
            "{}",
            dir.display()
        );
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
/// Re-serializes a JSON value with random whitespace and with object keys in a random
/// order: the same record, laid out differently.
fn scramble(v: &serde_json::Value, rng: &mut Rng, out: &mut String) {
    let ws = |rng: &mut Rng| [" ", "", "\n  ", "\t", "", "\r\n"][(rng.next() % 6) as usize];
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by_key(|_| rng.next());
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws(rng));
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(ws(rng));
                out.push(':');
                out.push_str(ws(rng));
                scramble(&m[*k], rng, out);
            }
            out.push_str(ws(rng));
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(ws(rng));
                    out.push(',');
                }
                scramble(x, rng, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Records that put the needles where they must not count, or count in unusual forms.
fn tricky(i: usize, rng: &mut Rng) -> String {
    let acct = "111122223333";
    let iid = format!("i-{:017x}", 0x0abc_0000_0000_0000u64 + i as u64);
    let t = format!("2026-03-14T10:{:02}:{:02}Z", (i / 60) % 60, i % 60);
    match rng.next() % 9 {
        0 => infra_denial(&format!("d{i}"), &t, acct, "us-east-1", &iid, "AccessDenied", "explicit deny in a resource-based policy"),
        1 => run_instances(&format!("r{i}"), &t, acct, "us-east-1", &iid, "arn:aws:iam::111122223333:user/a"),
        // Needles only inside string values of a non-candidate, with escaped quotes.
        2 => serde_json::json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventID": format!("n{i}"),
            "requestParameters": {"key": "\"kms.amazonaws.com\" errorCode RunInstances \\\" CreateFleet"}}).to_string(),
        // A KMS call without an EC2 sign: not a candidate although it mentions kms.
        3 => serde_json::json!({"eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "eventID": format!("k{i}"), "eventTime": t,
            "userIdentity": {"arn": "arn:aws:sts::111122223333:assumed-role/app/x"}}).to_string(),
        // An escaped needle: the pre-filter must still let it through.
        4 => infra_denial(&format!("u{i}"), &t, acct, "us-east-1", &iid, "AccessDenied", "x").replace("kms.amazonaws.com", "kms\\u002eamazonaws.com"),
        5 => infra_denial(&format!("e{i}"), &t, acct, "us-east-1", &iid, "AccessDenied", "x").replace("ec2-infrastructure/", "ec2\\u002dinfrastructure/"),
        // Unicode, long values, nested arrays with brackets in strings.
        6 => serde_json::json!({"eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "eventID": format!("x{i}"),
            "note": "Zürich ]}{[ 東京 \\\\", "big": "y".repeat((rng.next() % 50_000) as usize), "list": [[["]"]], {"a": "}"}]}).to_string(),
        // A denied launcher call with null requestParameters.
        7 => serde_json::json!({"eventSource": "kms.amazonaws.com", "eventName": "CreateGrant", "eventID": format!("g{i}"), "eventTime": t,
            "awsRegion": "us-east-1", "recipientAccountId": acct, "errorCode": "AccessDenied", "requestParameters": null,
            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/a", "invokedBy": "ec2-frontend-api.amazonaws.com"}}).to_string(),
        _ => rng.pick(&["{}", "null", "[]", "\"s\"", "12"]).to_string(),
    }
}

#[test]
fn generated_corpora_with_scrambled_layouts_agree() {
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    for round in 0..60 {
        let n = 1 + (rng.next() % 40) as usize;
        let mut records = Vec::new();
        for i in 0..n {
            let text = tricky(round * 100 + i, &mut rng);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut out = String::new();
            if rng.next().is_multiple_of(2) {
                scramble(&v, &mut rng, &mut out);
            } else {
                out = text;
            }
            records.push(out);
        }
        let sep = ["", ",\n", " , "][round % 3];
        let body = records.join(if sep.is_empty() { "," } else { sep });
        let doc = if round % 4 == 0 {
            format!(
                "{{ \"other\" : {{\"Records\": 1}},\n \"Records\" : [\n{body}\n] , \"tail\": [] }}\n"
            )
        } else {
            format!("{{\"Records\":[{body}]}}")
        };
        assert_same(doc.as_bytes(), &format!("round {round}"));
    }
}

#[test]
fn escaped_needles_still_become_events() {
    let d = infra_denial(
        "u1",
        "2026-03-14T10:00:00Z",
        "111122223333",
        "us-east-1",
        "i-0123456789abcdef0",
        "AccessDenied",
        "x",
    )
    .replace("kms.amazonaws.com", "kms\\u002eamazonaws.com");
    let scan = assert_same(format!("{{\"Records\":[{d}]}}").as_bytes(), "escaped");
    assert_eq!(scan.events.len(), 1);
}
