//! The Parquet findings, read back by real readers (pyarrow and DuckDB): the physical and
//! logical types the contract promises, the `dt=` layout, and the same values as the JSON
//! Lines output. Also: the Athena DDL names exactly the columns and types of the files.

use serde_json::Value;

use crate::harness::{python_ok, root, run, stderr, stdout};

/// Scans sample-logs with --out into a temp folder; returns it and the JSONL rows.
fn written() -> (tempfile::TempDir, Vec<Value>) {
    let out = tempfile::tempdir().unwrap();
    let o = run(&[
        "scan",
        root().join("sample-logs").to_str().unwrap(),
        "--format",
        "jsonl",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (out, crate::harness::jsonl(&stdout(&o)))
}

const PYARROW: &str = r#"
import json, sys, pathlib
import pyarrow.parquet as pq
root = pathlib.Path(sys.argv[1])
files = sorted(root.rglob("*.parquet"))
out = {"files": [str(f.relative_to(root)) for f in files], "schema": None, "rows": [], "physical": {}}
for f in files:
    pf = pq.ParquetFile(f)
    md = pf.metadata
    out["compression"] = sorted({md.row_group(0).column(i).compression for i in range(md.num_columns)})
    out["physical"] = {pf.schema.column(i).path: [pf.schema.column(i).physical_type, str(pf.schema.column(i).logical_type)] for i in range(len(pf.schema))}
    t = pf.read()
    out["schema"] = [[fld.name, str(fld.type), fld.nullable] for fld in t.schema]
    for row in t.to_pylist():
        for k, v in row.items():
            if hasattr(v, "isoformat"):
                row[k] = v.strftime("%Y-%m-%dT%H:%M:%SZ")
        row["_dt"] = f.parent.name
        out["rows"].append(row)
print(json.dumps(out))
"#;

#[test]
fn pyarrow_reads_the_contract_types_and_values() {
    let (dir, rows) = written();
    let got: Value =
        serde_json::from_str(&python_ok(PYARROW, &[dir.path().to_str().unwrap()])).unwrap();
    let files: Vec<&str> = got["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "one file per dt partition: {files:?}");
    assert!(
        files[0].starts_with("dt=2026-03-14/findings-")
            && files[1].starts_with("dt=2026-03-15/findings-")
    );

    let schema: Vec<(String, String, bool)> = got["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().into(),
                c[1].as_str().unwrap().into(),
                c[2].as_bool().unwrap(),
            )
        })
        .collect();
    let ty = |name: &str| schema.iter().find(|c| c.0 == name).unwrap().1.clone();
    assert_eq!(ty("first_denied_at"), "timestamp[ms, tz=UTC]");
    assert_eq!(ty("launched_at"), "timestamp[ms, tz=UTC]");
    assert_eq!(ty("denial_count"), "int64");
    assert_eq!(ty("volume_ids"), "list<element: string>");
    assert_eq!(ty("kms_event_ids"), "list<element: string>");
    assert_eq!(ty("source_objects"), "list<element: string>");
    assert_eq!(ty("cause"), "string");
    assert_eq!(schema.len(), 25);
    // Standard three-level lists and ZSTD, as Athena expects.
    assert_eq!(got["physical"]["volume_ids.list.element"][0], "BYTE_ARRAY");
    assert_eq!(got["physical"]["first_denied_at"][0], "INT64");
    assert!(
        got["physical"]["first_denied_at"][1]
            .as_str()
            .unwrap()
            .contains("isAdjustedToUTC=true"),
        "{}",
        got["physical"]["first_denied_at"]
    );
    assert_eq!(got["compression"], serde_json::json!(["ZSTD"]));

    // The same rows and values as the JSON Lines output.
    let mut parquet_rows = got["rows"].as_array().unwrap().clone();
    parquet_rows.sort_by_key(|r| r["finding_id"].as_str().unwrap().to_string());
    let mut json_rows = rows.clone();
    json_rows.sort_by_key(|r| r["finding_id"].as_str().unwrap().to_string());
    assert_eq!(parquet_rows.len(), json_rows.len());
    for (p, j) in parquet_rows.iter().zip(&json_rows) {
        for (col, v) in j.as_object().unwrap() {
            assert_eq!(&p[col], v, "column {col}");
        }
        assert_eq!(
            p["_dt"].as_str().unwrap(),
            format!("dt={}", &j["first_denied_at"].as_str().unwrap()[..10])
        );
    }
}

const DUCKDB: &str = r#"
import json, sys, duckdb
con = duckdb.connect()
rel = con.sql(f"select * from read_parquet('{sys.argv[1]}/*/*.parquet', hive_partitioning = true)")
types = {n: str(t) for n, t in zip(rel.columns, rel.types)}
counts = con.sql(f"""
  select cause, count(*), sum(denial_count), min(epoch_ms(first_denied_at)), count(distinct dt)
  from read_parquet('{sys.argv[1]}/*/*.parquet', hive_partitioning = true)
  group by cause order by cause""").fetchall()
vols = con.sql(f"""select instance_id, len(volume_ids), volume_ids[1]
  from read_parquet('{sys.argv[1]}/*/*.parquet') where len(volume_ids) > 0 order by instance_id""").fetchall()
print(json.dumps({"types": types, "counts": counts, "vols": vols}, default=str))
"#;

#[test]
fn duckdb_reads_partitions_and_nested_lists() {
    let (dir, rows) = written();
    let got: Value =
        serde_json::from_str(&python_ok(DUCKDB, &[dir.path().to_str().unwrap()])).unwrap();
    assert_eq!(got["types"]["first_denied_at"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(got["types"]["denial_count"], "BIGINT");
    assert_eq!(got["types"]["volume_ids"], "VARCHAR[]");
    assert_eq!(
        got["types"]["dt"], "DATE",
        "hive partition column from the folder names"
    );

    // Per cause: rows and denials agree with the JSON output.
    for c in got["counts"].as_array().unwrap() {
        let cause = c[0].as_str().unwrap();
        let mine: Vec<&Value> = rows.iter().filter(|r| r["cause"] == cause).collect();
        assert_eq!(c[1].as_i64().unwrap() as usize, mine.len(), "{cause}");
        let denials: i64 = mine
            .iter()
            .map(|r| r["denial_count"].as_i64().unwrap())
            .sum();
        assert_eq!(c[2].as_i64().unwrap(), denials, "{cause}");
    }
    let vols = got["vols"].as_array().unwrap();
    let with_volumes = rows
        .iter()
        .filter(|r| !r["volume_ids"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(vols.len(), with_volumes);
    assert!(vols.iter().any(|v| v[1] == 2), "incident 1 has two volumes");
}

#[test]
fn athena_ddl_matches_the_parquet_schema() {
    let (dir, _) = written();
    let ddl = stdout(&run(&[
        "athena-ddl",
        "--location",
        "s3://findings-bucket/trailhound/",
        "--database",
        "sec",
        "--table",
        "kms",
    ]));
    let ddl_cols: Vec<(String, String)> = ddl
        .lines()
        .filter_map(|l| l.trim().strip_prefix('`'))
        .map(|l| {
            let (name, ty) = l.split_once("` ").unwrap();
            (name.to_string(), ty.trim_end_matches(',').to_string())
        })
        .collect();
    assert!(ddl.contains("PARTITIONED BY (`dt` string)"), "{ddl}");
    // Athena names for each Arrow type, as pyarrow sees the files.
    let got: Value =
        serde_json::from_str(&python_ok(PYARROW, &[dir.path().to_str().unwrap()])).unwrap();
    let from_files: Vec<(String, String)> = got["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let athena = match c[1].as_str().unwrap() {
                "string" => "string",
                "int64" => "bigint",
                "timestamp[ms, tz=UTC]" => "timestamp",
                "list<element: string>" => "array<string>",
                other => panic!("unmapped type {other}"),
            };
            (c[0].as_str().unwrap().to_string(), athena.to_string())
        })
        .collect();
    assert_eq!(ddl_cols, from_files);
    assert!(ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS `sec`.`kms`"));
    assert!(ddl.contains("STORED AS PARQUET"));
    assert!(ddl.contains("'projection.dt.type' = 'date'"));
    assert!(ddl.contains("'projection.dt.format' = 'yyyy-MM-dd'"));
    assert!(ddl.contains("'projection.dt.range' = '2020-01-01,NOW'"));
    assert!(ddl.contains("LOCATION 's3://findings-bucket/trailhound/'"));
}
