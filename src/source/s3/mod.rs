//! S3 sources and outputs. Everything async lives here: an `S3Client` owns a tokio runtime
//! and offers the rest of the engine blocking calls only — list a location, fetch objects
//! into a bounded std channel the rayon workers drain, put one object.
//!
//! - `uri`: `s3://bucket[/prefix]` parsing;
//! - `client`: configuration chain, overrides, retries, request counting, error messages;
//! - `listing`: the CloudTrail-aware walk;
//! - `fetch`: bounded concurrent GETs under a byte budget.

mod client;
mod fetch;
mod listing;
pub mod uri;

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use aws_sdk_s3::primitives::ByteStream;

pub use client::{RequestCounts, S3Options};
pub use fetch::Fetched;
pub use uri::S3Uri;

use super::{KeyFilter, ListingStats, ObjectRef};
use crate::error::RunError;

/// A connection to S3 (or an S3-compatible store) with its own runtime.
pub struct S3Client {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
    counter: Arc<client::Counter>,
    opts: S3Options,
}

impl S3Client {
    /// Loads the AWS configuration. Nothing is sent yet: credentials and the endpoint are
    /// first used, and their problems reported, by the first request.
    pub fn connect(opts: &S3Options) -> Result<Self, RunError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("trailhound-s3")
            .build()
            .map_err(|e| RunError::Config(format!("cannot start the S3 runtime: {e}")))?;
        let counter = Arc::new(client::Counter::default());
        let client = runtime.block_on(client::build(opts, counter.clone()));
        Ok(Self {
            runtime,
            client,
            counter,
            opts: opts.clone(),
        })
    }

    /// Lists the log objects under `uri` into `out` (CloudTrail-aware, see `listing`).
    pub fn list(
        &self,
        uri: &S3Uri,
        filter: &KeyFilter,
        out: &mut Vec<ObjectRef>,
        stats: &mut ListingStats,
    ) -> Result<(), RunError> {
        let (objects, found) = self.runtime.block_on(listing::list(
            &self.client,
            uri,
            filter,
            self.opts.concurrency,
        ))?;
        out.extend(objects);
        stats.add(&found);
        Ok(())
    }

    /// Fetches the S3 objects among `objects` into `out`, blocking until all are handed over
    /// or `out` is closed. Call it from a thread of its own.
    pub fn fetch(&self, objects: &[&ObjectRef], max_file_bytes: u64, out: SyncSender<Fetched>) {
        let wanted = objects
            .iter()
            .filter_map(|o| match o {
                ObjectRef::S3 { bucket, key, size } => Some(fetch::Wanted {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    size: *size,
                }),
                _ => None,
            })
            .collect();
        self.runtime.block_on(fetch::fetch_all(
            &self.client,
            wanted,
            self.opts.concurrency,
            self.opts.max_bytes_in_flight,
            max_file_bytes,
            out,
        ));
    }

    /// Writes one object with one PutObject (S3 makes it visible whole or not at all).
    pub fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.runtime
            .block_on(
                self.client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("application/vnd.apache.parquet")
                    .body(ByteStream::from(bytes))
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| client::describe(bucket, "s3:PutObject", &e))
    }

    /// Requests sent so far.
    pub fn requests(&self) -> RequestCounts {
        self.counter.snapshot()
    }
}
