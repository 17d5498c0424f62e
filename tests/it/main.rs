//! Integration tests: the built binary and the library against sample logs, the real-logs
//! corpus, adversarial inputs, real Parquet readers and a real S3 API server.

mod adversarial;
mod differential;
mod harness;
mod incremental;
mod parquet_readers;
mod real_logs;
mod s3;
mod s3_incremental;
mod sample_logs;
mod settle;
