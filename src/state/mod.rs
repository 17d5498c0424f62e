//! What incremental runs remember between runs, versioned and bounded:
//! - which log objects were processed, per delivery folder, as 64-bit hashes of their names
//!   (kept for the look-back window only);
//! - the correlator's evidence (recent launches and denials), so that a launch in one run and
//!   its denial in the next still correlate;
//! - the findings already written (by id), so none is written twice;
//! - an outbox: findings committed for writing whose files may not be written yet. A run
//!   commits the state with the outbox, writes the files (deterministic names, so writing
//!   twice is harmless), then commits again with the outbox empty. A crash anywhere in
//!   between leaves either nothing done or an outbox the next run finishes: no finding is
//!   lost or written twice.

pub mod store;

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::correlate::Correlator;
use crate::finding::Finding;

/// The state format this build writes. A file with a larger version is refused.
pub const STATE_VERSION: u32 = 1;

/// The whole remembered state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Incremented by every committed run.
    pub generation: u64,
    /// Processed objects by folder (the object name up to its last `/`).
    pub folders: BTreeMap<String, Folder>,
    pub correlator: Correlator,
    /// Findings already written: id -> `first_denied_at` (ms), for pruning.
    pub emitted: BTreeMap<String, i64>,
    /// Files committed for writing: relative name -> findings.
    pub outbox: BTreeMap<String, Vec<Finding>>,
    /// The newest delivery or event time seen (ms): the clock that releases held findings.
    pub watermark_ms: i64,
}

/// One delivery folder's processed objects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Folder {
    /// The delivery date, when the folder is in the CloudTrail layout.
    pub date: Option<NaiveDate>,
    /// Sorted hashes of the processed object names, base64 of little-endian u64s.
    #[serde(with = "hashes")]
    pub objects: Vec<u64>,
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "it was written by a newer trailhound (state version {found}, this build reads up to {STATE_VERSION}); upgrade, or start over with --reset-state"
    )]
    TooNew { found: u32 },
    #[error(
        "it is damaged ({0}); start over with --reset-state (objects in the look-back window will be scanned again)"
    )]
    Damaged(String),
}

/// A stable 64-bit hash of an object name: the first 8 bytes of its SHA-256, so that every
/// build and platform agrees.
pub fn object_hash(name: &str) -> u64 {
    let d = Sha256::digest(name.as_bytes());
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

/// The folder of an object name.
pub fn folder_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..=i])
}

impl State {
    pub fn new() -> Self {
        Self {
            version: STATE_VERSION,
            ..Self::default()
        }
    }

    /// Reads a state file, refusing one from a newer version or one that does not parse.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        #[derive(Deserialize)]
        struct Head {
            version: u32,
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| StateError::Damaged(e.to_string()))?;
        if head.version > STATE_VERSION {
            return Err(StateError::TooNew {
                found: head.version,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| StateError::Damaged(e.to_string()))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state serializes")
    }

    /// Whether the object was processed by an earlier run.
    pub fn is_processed(&self, name: &str) -> bool {
        self.folders
            .get(folder_of(name))
            .is_some_and(|f| f.objects.binary_search(&object_hash(name)).is_ok())
    }

    /// Whether an earlier run processed anything in this object's folder (a new object
    /// there arrived late).
    pub fn knows_folder(&self, name: &str) -> bool {
        self.folders.contains_key(folder_of(name))
    }

    /// Records a processed object.
    pub fn mark_processed(&mut self, name: &str, date: Option<NaiveDate>) {
        let folder = self.folders.entry(folder_of(name).to_string()).or_default();
        folder.date = folder.date.or(date);
        let h = object_hash(name);
        if let Err(at) = folder.objects.binary_search(&h) {
            folder.objects.insert(at, h);
        }
    }

    /// Forgets what lies before the look-back window: folders delivered before `from_date`
    /// (and folders outside the layout that this run no longer listed), evidence older than
    /// `evidence_cutoff_ms`, and written ids a further window older (so that evidence still
    /// held can never produce an id that was forgotten).
    pub fn prune(
        &mut self,
        from_date: NaiveDate,
        listed_folders: &std::collections::HashSet<String>,
        evidence_cutoff_ms: i64,
        window_ms: i64,
    ) {
        self.folders.retain(|name, f| match f.date {
            Some(d) => d >= from_date,
            None => listed_folders.contains(name),
        });
        self.correlator.prune(evidence_cutoff_ms);
        self.emitted
            .retain(|_, t| *t >= evidence_cutoff_ms - window_ms);
    }

    /// Objects remembered, for the summary and the size measurements.
    pub fn objects_remembered(&self) -> usize {
        self.folders.values().map(|f| f.objects.len()).sum()
    }
}

mod hashes {
    use super::B64;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = v.iter().flat_map(|h| h.to_le_bytes()).collect();
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = B64
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(serde::de::Error::custom(
                "object hashes are not a whole number of u64s",
            ));
        }
        let v: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
            .collect();
        if !v.is_sorted() {
            return Err(serde::de::Error::custom("object hashes are not sorted"));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_membership() {
        let mut s = State::new();
        let a = "s3://b/AWSLogs/1/CloudTrail/us-east-1/2026/03/14/a.json.gz";
        s.mark_processed(a, NaiveDate::from_ymd_opt(2026, 3, 14));
        s.mark_processed(a, None);
        let back = State::from_bytes(&s.to_bytes()).unwrap();
        assert!(back.is_processed(a));
        assert!(!back.is_processed("s3://b/AWSLogs/1/CloudTrail/us-east-1/2026/03/14/b.json.gz"));
        assert!(back.knows_folder("s3://b/AWSLogs/1/CloudTrail/us-east-1/2026/03/14/b.json.gz"));
        assert_eq!(back.objects_remembered(), 1);
    }

    #[test]
    fn newer_and_damaged_states_are_refused() {
        let mut s = State::new();
        s.version = STATE_VERSION + 1;
        let err = State::from_bytes(&s.to_bytes()).unwrap_err();
        assert!(err.to_string().contains("newer trailhound"), "{err}");
        let bytes = State::new().to_bytes();
        let err = State::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert!(State::from_bytes(br#"{"version":1,"folders":{"x/":{"objects":"!!"}}}"#).is_err());
    }

    /// The state of a large organization: 500 accounts x 17 regions x one day of 5-minute
    /// files (2,448,000 objects). The README quotes the size this prints.
    #[test]
    fn state_size_for_a_large_organization() {
        let mut s = State::new();
        let date = NaiveDate::from_ymd_opt(2026, 3, 14);
        let regions = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-north-1",
            "ap-south-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-southeast-1",
            "ap-southeast-2",
            "ca-central-1",
            "sa-east-1",
        ];
        let mut n = 0u64;
        for a in 0..500u64 {
            let acct = format!("{:012}", 100_000_000_000 + a);
            for r in regions {
                for slot in 0..288u64 {
                    let (h, m) = (slot / 12, slot % 12 * 5);
                    s.mark_processed(
                        &format!("s3://org-trail/AWSLogs/o-a1b2c3d4e5/{acct}/CloudTrail/{r}/2026/03/14/{acct}_CloudTrail_{r}_20260314T{h:02}{m:02}Z_{:016x}.json.gz", n * 0x9E37_79B9),
                        date,
                    );
                    n += 1;
                }
            }
        }
        assert_eq!(s.objects_remembered() as u64, n);
        let bytes = s.to_bytes().len();
        eprintln!(
            "state for {n} objects: {bytes} bytes ({:.1} bytes/object)",
            bytes as f64 / n as f64
        );
        // 8-byte hashes in base64 (10.7 characters) plus one folder name per 288 objects.
        assert!(bytes < n as usize * 12, "{bytes} bytes");
        let back = State::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back.objects_remembered() as u64, n);
    }

    #[test]
    fn pruning_keeps_the_window() {
        let mut s = State::new();
        let old = "AWSLogs/1/CloudTrail/r/2026/03/10/a.gz";
        let new = "AWSLogs/1/CloudTrail/r/2026/03/14/a.gz";
        s.mark_processed(old, NaiveDate::from_ymd_opt(2026, 3, 10));
        s.mark_processed(new, NaiveDate::from_ymd_opt(2026, 3, 14));
        s.mark_processed("loose/x.gz", None);
        s.emitted.insert("f-old".into(), 0);
        s.emitted.insert("f-new".into(), 10_000);
        let listed = ["loose/".to_string()].into_iter().collect();
        s.prune(
            NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
            &listed,
            5_000,
            1_000,
        );
        assert!(!s.is_processed(old) && s.is_processed(new) && s.is_processed("loose/x.gz"));
        assert_eq!(s.emitted.keys().collect::<Vec<_>>(), ["f-new"]);
    }
}
