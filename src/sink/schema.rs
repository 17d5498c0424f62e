//! The Arrow schema of the findings, in one place, and the Athena table that reads it.
//! A test holds the two to the same columns and types.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column name, Arrow type and nullability, in contract order.
fn columns() -> Vec<(&'static str, DataType, bool)> {
    let text = DataType::Utf8;
    let list = DataType::List(Arc::new(Field::new("element", DataType::Utf8, true)));
    let ts = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    vec![
        ("finding_id", text.clone(), false),
        ("account_id", text.clone(), false),
        ("region", text.clone(), false),
        ("instance_id", text.clone(), true),
        ("cause", text.clone(), false),
        ("denial_reason", text.clone(), false),
        ("kms_operation", text.clone(), false),
        ("kms_error_code", text.clone(), false),
        ("kms_error_message", text.clone(), true),
        ("denied_principal_arn", text.clone(), false),
        ("kms_key_arn", text.clone(), true),
        ("volume_ids", list.clone(), false),
        ("first_denied_at", ts.clone(), false),
        ("denial_count", DataType::Int64, false),
        ("kms_event_ids", list.clone(), false),
        ("launch_event", text.clone(), true),
        ("launch_event_id", text.clone(), true),
        ("launched_at", ts, true),
        ("launched_by_arn", text.clone(), true),
        ("launched_via", text.clone(), true),
        ("image_id", text.clone(), true),
        ("instance_type", text.clone(), true),
        ("match", text.clone(), false),
        ("remediation", text, false),
        ("source_objects", list, false),
    ]
}

/// The Arrow schema of a findings file.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        columns()
            .into_iter()
            .map(|(name, ty, nullable)| Field::new(name, ty, nullable))
            .collect::<Vec<_>>(),
    ))
}

/// The Athena (Hive DDL) name of an Arrow type used in the schema.
pub fn athena_type(ty: &DataType) -> String {
    match ty {
        DataType::Utf8 => "string".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        DataType::List(f) => format!("array<{}>", athena_type(f.data_type())),
        other => unreachable!("no Athena mapping for {other}"),
    }
}

/// Options of `trailhound athena-ddl`.
pub struct DdlOptions<'a> {
    pub location: &'a str,
    pub database: &'a str,
    pub table: &'a str,
    /// First `dt` the projection covers (`YYYY-MM-DD`).
    pub start_date: &'a str,
}

/// `CREATE EXTERNAL TABLE` over the findings with partition projection on `dt`, so new days
/// are visible without `MSCK REPAIR TABLE` or crawler runs.
pub fn athena_ddl(o: &DdlOptions) -> String {
    let location = if o.location.ends_with('/') {
        o.location.to_string()
    } else {
        format!("{}/", o.location)
    };
    let cols: Vec<String> = schema()
        .fields()
        .iter()
        .map(|f| format!("  `{}` {}", f.name(), athena_type(f.data_type())))
        .collect();
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS `{db}`.`{table}` (\n{cols}\n)\n\
         PARTITIONED BY (`dt` string)\n\
         STORED AS PARQUET\n\
         LOCATION '{location}'\n\
         TBLPROPERTIES (\n\
         \x20 'parquet.compression' = 'ZSTD',\n\
         \x20 'projection.enabled' = 'true',\n\
         \x20 'projection.dt.type' = 'date',\n\
         \x20 'projection.dt.format' = 'yyyy-MM-dd',\n\
         \x20 'projection.dt.range' = '{start},NOW',\n\
         \x20 'projection.dt.interval' = '1',\n\
         \x20 'projection.dt.interval.unit' = 'DAYS',\n\
         \x20 'storage.location.template' = '{location}dt=${{dt}}/'\n\
         );\n",
        db = o.database,
        table = o.table,
        cols = cols.join(",\n"),
        start = o.start_date,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_lists_every_column_with_its_athena_type() {
        let ddl = athena_ddl(&DdlOptions {
            location: "s3://b/findings",
            database: "security",
            table: "kms_launch_failures",
            start_date: "2020-01-01",
        });
        for f in schema().fields() {
            let line = format!("`{}` {}", f.name(), athena_type(f.data_type()));
            assert!(ddl.contains(&line), "{line}");
        }
        assert!(ddl.contains("LOCATION 's3://b/findings/'"));
        assert!(ddl.contains("'storage.location.template' = 's3://b/findings/dt=${dt}/'"));
        assert!(ddl.contains("'projection.dt.range' = '2020-01-01,NOW'"));
        assert!(ddl.contains("`volume_ids` array<string>"));
        assert!(ddl.contains("`first_denied_at` timestamp"));
    }
}
