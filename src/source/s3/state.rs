//! Primitives for the incremental mode's state on S3: whole-object reads that return the
//! object's ETag, conditional writes (`If-Match` / `If-None-Match: *`) so that two runs
//! racing to commit cannot both succeed, and a lock object with an expiry so that a second
//! run refuses to start while one is going, yet a crashed run does not block forever.
//!
//! Every write here is one PutObject: S3 makes an object visible whole or not at all, and the
//! condition is checked atomically with the write, so there is no read-modify-write window.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::client::describe;

/// A version token of a stored object (its ETag).
pub type Etag = String;

#[derive(Debug, thiserror::Error)]
pub enum ConditionalError {
    /// The object changed (or appeared) since it was read: another run committed.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock and it has not expired.
    #[error("held by run {holder} since {since} (expires {expires})")]
    Held {
        holder: String,
        since: String,
        expires: String,
    },
    #[error("{0}")]
    Other(String),
}

/// The lock object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LockBody {
    holder: String,
    since: String,
    expires: String,
}

impl LockBody {
    fn new(run_id: &str, now: DateTime<Utc>, ttl: std::time::Duration) -> Result<Self, String> {
        let expires = TimeDelta::from_std(ttl)
            .ok()
            .and_then(|ttl| now.checked_add_signed(ttl))
            .ok_or_else(|| format!("lock expiry {ttl:?} is out of range"))?;
        // Milliseconds: a lock with a TTL of a second must still expire after `since`.
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        Ok(Self {
            holder: run_id.to_string(),
            since: at(now),
            expires: at(expires),
        })
    }

    /// Reads a lock object. Anything else in its place is not ours to overwrite: PutObject
    /// cannot leave a half-written lock, so a body we cannot read was written by someone else.
    fn parse(bytes: &[u8], at: &str) -> Result<Self, String> {
        let not_a_lock = |why: String| {
            format!(
                "{at} is not a trailhound lock ({why}); delete it if no trailhound run is going"
            )
        };
        let body: Self =
            serde_json::from_slice(bytes).map_err(|e| not_a_lock(format!("not its JSON: {e}")))?;
        DateTime::parse_from_rfc3339(&body.expires)
            .map_err(|_| not_a_lock(format!("expiry '{}' is not RFC 3339", body.expires)))?;
        Ok(body)
    }

    /// Whether the lock has run out by `now` (the local clock: see docs/s3.md on skew).
    fn expired(&self, now: DateTime<Utc>) -> bool {
        // `parse` checked the format; a lock built by `new` always has one.
        DateTime::parse_from_rfc3339(&self.expires).is_ok_and(|t| now >= t)
    }

    fn held(self) -> LockError {
        LockError::Held {
            holder: self.holder,
            since: self.since,
            expires: self.expires,
        }
    }
}

fn at(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// The error's S3 code (`PreconditionFailed`, ...), when S3 answered with one.
fn code<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

fn status<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// See `S3Client::get_versioned`.
pub(super) async fn get_versioned(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, Etag)>, String> {
    let resp = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(r) => r,
        Err(e) if code(&e) == Some("NoSuchKey") => return Ok(None),
        Err(e) => {
            return Err(format!(
                "{}: {}",
                at(bucket, key),
                describe(bucket, "s3:GetObject", &e)
            ));
        }
    };
    // Without a version token every conditional write after this read would be blind.
    let etag = resp
        .e_tag()
        .map(str::to_string)
        .ok_or_else(|| format!("{}: the store returned no ETag", at(bucket, key)))?;
    let bytes = resp
        .body
        .collect()
        .await
        .map_err(|e| format!("{}: reading the object failed: {e}", at(bucket, key)))?;
    Ok(Some((bytes.into_bytes().to_vec(), etag)))
}

/// See `S3Client::put_conditional`.
pub(super) async fn put_conditional(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    expected: Option<&str>,
) -> Result<Etag, ConditionalError> {
    let mut req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes));
    req = match expected {
        Some(etag) => req.if_match(etag),
        None => req.if_none_match("*"),
    };
    let err = match req.send().await {
        Ok(resp) => {
            return resp.e_tag().map(str::to_string).ok_or_else(|| {
                ConditionalError::Other(format!(
                    "{}: written, but the store returned no ETag",
                    at(bucket, key)
                ))
            });
        }
        Err(e) => e,
    };
    let place = at(bucket, key);
    let precondition_failed = code(&err) == Some("PreconditionFailed") || status(&err) == Some(412);
    // 412: the condition did not hold. 409: S3 saw a concurrent write to the key while this
    // one was in flight (moto never sends it). 404 on If-Match: deleted since it was read.
    let conflict = if precondition_failed && expected.is_none() {
        Some(format!("{place} already exists: another run created it"))
    } else if precondition_failed {
        Some(format!(
            "{place} changed since it was read: another run committed"
        ))
    } else if code(&err) == Some("ConditionalRequestConflict") || status(&err) == Some(409) {
        Some(format!(
            "{place}: another write to it was in progress (ConditionalRequestConflict)"
        ))
    } else if expected.is_some() && status(&err) == Some(404) && code(&err) != Some("NoSuchBucket")
    {
        Some(format!("{place} was deleted since it was read"))
    } else {
        None
    };
    Err(match conflict {
        Some(msg) => ConditionalError::Conflict(msg),
        None => ConditionalError::Other(format!(
            "{place}: {}",
            describe(bucket, "s3:PutObject", &err)
        )),
    })
}

/// How often `acquire_lock` reads the lock again after losing a write to another run before
/// it gives up. Each round either ends (taken, or held by someone) or saw the lock change.
const LOCK_ROUNDS: usize = 3;

/// See `S3Client::acquire_lock`.
pub(super) async fn acquire_lock(
    client: &Client,
    bucket: &str,
    key: &str,
    run_id: &str,
    ttl: std::time::Duration,
) -> Result<(), LockError> {
    let place = at(bucket, key);
    // One body for every round: if a write landed but its answer was lost (the SDK retried
    // it and got 412), the next read shows exactly this body, and the lock is ours.
    let mine = LockBody::new(run_id, Utc::now(), ttl).map_err(LockError::Other)?;
    let json = serde_json::to_vec(&mine).expect("a lock body serializes");
    for _ in 0..LOCK_ROUNDS {
        let current = get_versioned(client, bucket, key)
            .await
            .map_err(LockError::Other)?;
        let expected = match current {
            None => None,
            Some((bytes, etag)) => {
                let theirs = LockBody::parse(&bytes, &place).map_err(LockError::Other)?;
                if theirs == mine {
                    return Ok(());
                }
                if !theirs.expired(Utc::now()) {
                    return Err(theirs.held());
                }
                // Stale: replace exactly the version read, so that of two runs taking over
                // the same stale lock only one succeeds.
                Some(etag)
            }
        };
        match put_conditional(client, bucket, key, json.clone(), expected.as_deref()).await {
            Ok(_) => return Ok(()),
            // Someone else wrote first: read again to say who (or to take it if they left).
            Err(ConditionalError::Conflict(_)) => continue,
            Err(ConditionalError::Other(msg)) => return Err(LockError::Other(msg)),
        }
    }
    Err(LockError::Other(format!(
        "{place}: the lock changed under each of {LOCK_ROUNDS} attempts to take it"
    )))
}

/// See `S3Client::release_lock`.
pub(super) async fn release_lock(
    client: &Client,
    bucket: &str,
    key: &str,
    run_id: &str,
) -> Result<(), String> {
    let place = at(bucket, key);
    let Some((bytes, etag)) = get_versioned(client, bucket, key).await? else {
        return Ok(());
    };
    let lock = LockBody::parse(&bytes, &place)?;
    if lock.holder != run_id {
        return Err(not_ours(&place, &lock));
    }
    let delete = |if_match: Option<&str>| {
        client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_if_match(if_match.map(str::to_string))
            .send()
    };
    let err = match delete(Some(&etag)).await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    match (code(&err), status(&err)) {
        // Gone already (a retry whose first attempt deleted it): released.
        (Some("NoSuchKey"), _) | (_, Some(404)) => Ok(()),
        // Replaced between the read and the delete (412), or being written while we deleted
        // (409): most likely ours expired and was taken over. Read again to say by whom.
        (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, Some(412 | 409)) => {
            let now = get_versioned(client, bucket, key).await?;
            match now.map(|(b, _)| LockBody::parse(&b, &place)).transpose()? {
                Some(theirs) if theirs.holder != run_id => Err(not_ours(&place, &theirs)),
                Some(_) => Err(format!(
                    "{place} was not released: it changed while it was being deleted; try again"
                )),
                None => Ok(()),
            }
        }
        // A store without conditional deletes: the holder check above has to do.
        (Some("NotImplemented"), _) | (_, Some(501)) => delete(None)
            .await
            .map(|_| ())
            .map_err(|e| format!("{place}: {}", describe(bucket, "s3:DeleteObject", &e))),
        _ => Err(format!(
            "{place}: {}",
            describe(bucket, "s3:DeleteObject", &err)
        )),
    }
}

fn not_ours(place: &str, lock: &LockBody) -> String {
    format!(
        "{place} was not released: it is held by run {} since {} (ours expired and was taken over)",
        lock.holder, lock.since
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_lock_body_is_json_with_rfc3339_times_and_expires_at_its_end() {
        let now = t("2026-03-14T12:00:00.250Z");
        let lock = LockBody::new("run-1", now, Duration::from_millis(1500)).unwrap();
        let json = serde_json::to_string(&lock).unwrap();
        assert_eq!(
            json,
            r#"{"holder":"run-1","since":"2026-03-14T12:00:00.250Z","expires":"2026-03-14T12:00:01.750Z"}"#
        );
        let back = LockBody::parse(json.as_bytes(), "s3://b/k").unwrap();
        assert_eq!(back, lock);
        assert!(!back.expired(t("2026-03-14T12:00:01.749Z")));
        assert!(back.expired(t("2026-03-14T12:00:01.750Z")));
        // A zero TTL is expired at once: the way to write a lock that anyone may take.
        assert!(
            LockBody::new("r", now, Duration::ZERO)
                .unwrap()
                .expired(now)
        );
    }

    #[test]
    fn something_else_in_the_lock_s_place_is_reported_not_overwritten() {
        let err = LockBody::parse(b"hello", "s3://b/lock").unwrap_err();
        assert!(
            err.starts_with("s3://b/lock is not a trailhound lock (not its JSON"),
            "{err}"
        );
        let err = LockBody::parse(
            br#"{"holder":"x","since":"then","expires":"tomorrow"}"#,
            "s3://b/lock",
        )
        .unwrap_err();
        assert!(err.contains("expiry 'tomorrow' is not RFC 3339"), "{err}");
        assert!(LockBody::new("r", Utc::now(), Duration::MAX).is_err());
    }
}
