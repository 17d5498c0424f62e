//! Findings -> Parquet bytes, with the contract's types: UTC millisecond timestamps, Int64,
//! standard three-level string lists, ZSTD. One file per `dt` partition, named from its
//! findings so that writing the same findings again gives the same object.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Builder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::datatypes::DataType;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use super::schema::schema;
use crate::finding::Finding;

fn text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn list<'a>(values: impl Iterator<Item = &'a Vec<String>>) -> ArrayRef {
    let element = match schema()
        .field_with_name("volume_ids")
        .map(|f| f.data_type().clone())
    {
        Ok(DataType::List(f)) => f,
        _ => unreachable!("volume_ids is a list"),
    };
    let mut b = ListBuilder::new(StringBuilder::new()).with_field(element);
    for v in values {
        for s in v {
            b.values().append_value(s);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

fn times(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

/// The findings as one Arrow batch in schema order.
pub fn record_batch(findings: &[Finding]) -> RecordBatch {
    let f = findings;
    let s = |get: fn(&Finding) -> &str| text(f.iter().map(move |x| Some(get(x))));
    let o = |get: fn(&Finding) -> Option<&str>| text(f.iter().map(get));
    let mut counts = Int64Builder::new();
    for x in f {
        counts.append_value(x.denial_count);
    }
    let columns: Vec<ArrayRef> = vec![
        s(|x| &x.finding_id),
        s(|x| &x.account_id),
        s(|x| &x.region),
        o(|x| x.instance_id.as_deref()),
        s(|x| x.cause.as_str()),
        s(|x| x.denial_reason.as_str()),
        s(|x| &x.kms_operation),
        s(|x| &x.kms_error_code),
        o(|x| x.kms_error_message.as_deref()),
        s(|x| &x.denied_principal_arn),
        o(|x| x.kms_key_arn.as_deref()),
        list(f.iter().map(|x| &x.volume_ids)),
        times(f.iter().map(|x| Some(x.first_denied_at))),
        Arc::new(counts.finish()),
        list(f.iter().map(|x| &x.kms_event_ids)),
        o(|x| x.launch_event.as_deref()),
        o(|x| x.launch_event_id.as_deref()),
        times(f.iter().map(|x| x.launched_at)),
        o(|x| x.launched_by_arn.as_deref()),
        o(|x| x.launched_via.as_deref()),
        o(|x| x.image_id.as_deref()),
        o(|x| x.instance_type.as_deref()),
        s(|x| x.match_kind.as_str()),
        s(|x| &x.remediation),
        list(f.iter().map(|x| &x.source_objects)),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns follow the schema")
}

/// Encodes findings as one Parquet file.
pub fn encode(findings: &[Finding]) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        // Standard list layout (`list` / `element`), which Athena and Hive expect.
        .set_coerce_types(true)
        .set_created_by(format!("trailhound {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema(), Some(props))?;
    writer.write(&record_batch(findings))?;
    writer.close()?;
    Ok(out)
}

/// Findings grouped by `dt`, each group sorted, with its deterministic object name
/// `dt=YYYY-MM-DD/findings-<hash of the finding ids>.parquet`.
pub fn partition(findings: &[Finding]) -> Vec<(String, Vec<Finding>)> {
    let mut by_dt: std::collections::BTreeMap<String, Vec<Finding>> = Default::default();
    for f in findings {
        by_dt.entry(f.dt()).or_default().push(f.clone());
    }
    by_dt
        .into_iter()
        .map(|(dt, mut group)| {
            group.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
            let mut h = Sha256::new();
            for f in &group {
                h.update(f.finding_id.as_bytes());
                h.update(b"\n");
            }
            let hash: String = h
                .finalize()
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect();
            (format!("dt={dt}/findings-{hash}.parquet"), group)
        })
        .collect()
}
