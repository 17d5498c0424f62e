//! Where findings go: Parquet files under a `dt=` partition layout (local folder or S3),
//! JSON Lines. The terminal table lives with the CLI.

pub mod jsonl;
pub mod output;
pub mod parquet;
pub mod schema;
