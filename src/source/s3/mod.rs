//! S3 sources and outputs. Everything async lives here: an `S3Client` owns a tokio runtime
//! and offers the rest of the engine blocking calls only — list a location, fetch objects
//! into a bounded std channel the rayon workers drain, put one object.
//!
//! - `uri`: `s3://bucket[/prefix]` parsing;
//! - `client`: configuration chain, overrides, retries, request counting, error messages;
//! - `listing`: the CloudTrail-aware walk;
//! - `fetch`: bounded concurrent GETs under a byte budget;
//! - `state`: versioned reads, conditional writes and a lock object with an expiry, for the
//!   incremental mode's state.

mod client;
mod fetch;
mod listing;
mod state;
pub mod uri;

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use aws_sdk_s3::primitives::ByteStream;

pub use client::{RequestCounts, S3Options};
pub use fetch::Fetched;
pub use state::{ConditionalError, Etag, LockError};
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

    /// Fetches the S3 objects among `objects` (each with its position in the listing) into
    /// `out`, starting them in the order given, blocking until all are handed over or `out`
    /// is closed. Call it from a thread of its own.
    pub fn fetch(
        &self,
        objects: &[(usize, &ObjectRef)],
        max_file_bytes: u64,
        out: SyncSender<Fetched>,
    ) {
        let wanted = objects
            .iter()
            .filter_map(|&(seq, o)| match o {
                ObjectRef::S3 { bucket, key, size } => Some(fetch::Wanted {
                    seq,
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

    /// Reads an object whole with its ETag; Ok(None) when it does not exist.
    pub fn get_versioned(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Etag)>, String> {
        self.runtime
            .block_on(state::get_versioned(&self.client, bucket, key))
    }

    /// Writes an object only if it is still at `expected` (If-Match), or, with None, only if
    /// it does not exist yet (If-None-Match: *). Returns the new ETag.
    ///
    /// A write whose answer was lost and that the SDK retried reports `Conflict` although it
    /// landed: read the object again to tell (`acquire_lock` does).
    pub fn put_conditional(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<Etag, ConditionalError> {
        self.runtime.block_on(state::put_conditional(
            &self.client,
            bucket,
            key,
            bytes,
            expected,
        ))
    }

    /// Takes the lock object `key`: creates it with If-None-Match: * holding JSON
    /// {"holder": run_id, "since": RFC3339, "expires": RFC3339}; if it exists and has expired
    /// (by the local clock), replaces it with If-Match on the ETag read (so two runs cannot both
    /// take over a stale lock); if it exists and has not expired, LockError::Held.
    ///
    /// A lock held by `run_id` itself and not expired is `Held` too: a run takes it once.
    /// Something other than a lock in its place is `Other` and left alone.
    pub fn acquire_lock(
        &self,
        bucket: &str,
        key: &str,
        run_id: &str,
        ttl: std::time::Duration,
    ) -> Result<(), LockError> {
        self.runtime
            .block_on(state::acquire_lock(&self.client, bucket, key, run_id, ttl))
    }

    /// Deletes the lock object if it is still ours (read it, compare holder, delete with
    /// If-Match where supported, else a plain delete after the holder check).
    ///
    /// Ok when it is gone already; Err, leaving it in place, when another run holds it now
    /// (ours expired and was taken over), which the caller may only want to warn about.
    pub fn release_lock(&self, bucket: &str, key: &str, run_id: &str) -> Result<(), String> {
        self.runtime
            .block_on(state::release_lock(&self.client, bucket, key, run_id))
    }

    /// Requests sent so far.
    pub fn requests(&self) -> RequestCounts {
        self.counter.snapshot()
    }
}
