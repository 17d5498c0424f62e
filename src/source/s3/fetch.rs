//! Bounded concurrent GETs. At most `concurrency` requests are in flight, and the bytes
//! fetched but not yet scanned stay under a fixed budget: an object takes its size from the
//! budget before its GET starts and gives it back only when a worker has finished with it.
//! So the network runs ahead of decompression and parsing, but never unboundedly ahead.

use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use aws_sdk_s3::Client;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::client::describe;
use crate::error::ObjectError;

/// One object's bytes, or why there are none. Holds the object's share of the byte budget
/// until it is dropped.
pub struct Fetched {
    /// The object's position in the listing being scanned.
    pub seq: usize,
    pub name: Arc<str>,
    pub bytes: Result<Vec<u8>, ObjectError>,
    _budget: OwnedSemaphorePermit,
}

/// An object to fetch.
pub(super) struct Wanted {
    pub seq: usize,
    pub bucket: String,
    pub key: String,
    pub size: u64,
}

/// A response body that breaks off mid-stream is not retried by the SDK (only failed
/// requests are), so the GET is repeated here a few times.
const BODY_ATTEMPTS: u32 = 3;

/// Fetches every object and hands each result to `out`, in completion order. Blocks the
/// calling thread (it must not be a runtime worker) when `out` is full: that is the
/// back-pressure from the workers. Returns when everything was handed over or `out` closed.
pub(super) async fn fetch_all(
    client: &Client,
    objects: Vec<Wanted>,
    concurrency: usize,
    max_bytes_in_flight: u64,
    max_file_bytes: u64,
    out: SyncSender<Fetched>,
) {
    // `acquire_many` counts in u32, so the budget is at most 4 GiB.
    let total = max_bytes_in_flight.clamp(1, u64::from(u32::MAX)) as u32;
    let budget = Arc::new(Semaphore::new(total as usize));
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let (tx, mut rx) = mpsc::channel::<Fetched>(concurrency.max(1));
    let client = client.clone();
    let producer = tokio::spawn(async move {
        for w in objects {
            let name: Arc<str> = Arc::from(format!("s3://{}/{}", w.bucket, w.key));
            // An object larger than the whole budget waits for all of it, then goes alone.
            let need = w.size.clamp(1, u64::from(total)) as u32;
            let Ok(held) = budget.clone().acquire_many_owned(need).await else {
                return;
            };
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (client, tx) = (client.clone(), tx.clone());
            tokio::spawn(async move {
                let bytes = get(&client, &w, &name, max_file_bytes).await;
                drop(slot);
                let _ = tx
                    .send(Fetched {
                        seq: w.seq,
                        name,
                        bytes,
                        _budget: held,
                    })
                    .await;
            });
        }
    });
    while let Some(f) = rx.recv().await {
        if out.send(f).is_err() {
            break;
        }
    }
    producer.abort();
}

async fn get(client: &Client, w: &Wanted, name: &str, max: u64) -> Result<Vec<u8>, ObjectError> {
    let fail = |detail: String| ObjectError::Fetch {
        object: name.to_string(),
        detail,
    };
    let too_large = || ObjectError::TooLarge {
        object: name.to_string(),
        limit: max,
    };
    if w.size > max {
        return Err(too_large());
    }
    let mut attempt = 1;
    loop {
        let resp = client
            .get_object()
            .bucket(&w.bucket)
            .key(&w.key)
            .send()
            .await
            .map_err(|e| fail(describe(&w.bucket, "s3:GetObject", &e)))?;
        // The listed size may be stale: the object can have been overwritten since.
        if resp.content_length().is_some_and(|n| n.max(0) as u64 > max) {
            return Err(too_large());
        }
        match resp.body.collect().await {
            Ok(body) => return Ok(body.to_vec()),
            Err(e) if attempt < BODY_ATTEMPTS => {
                tracing::debug!("{name}: body interrupted ({e}); fetching again");
                attempt += 1;
            }
            Err(e) => {
                return Err(fail(format!(
                    "the body broke off {BODY_ATTEMPTS} times, last: {e}"
                )));
            }
        }
    }
}
