//! Where the state lives and how runs take turns on it.
//! - Local: `<state>.lock` is held with an OS file lock for the whole run (released by the
//!   kernel if the process dies); commits write a temp file, fsync it, rename it over the
//!   state and fsync the folder.
//! - S3: a lock object beside the state with an expiry (a crashed run blocks others only
//!   until then); commits are one conditional PutObject on the ETag that was read, so two
//!   runs can never both commit.

use std::path::PathBuf;

use super::{State, StateError};
use crate::error::RunError;
use crate::source::s3::{ConditionalError, LockError, S3Client};

/// `--state`: a local path or an S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl StateLocation {
    pub fn describe(&self) -> String {
        match self {
            StateLocation::Local(p) => p.display().to_string(),
            StateLocation::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }

    fn lock_name(&self) -> String {
        format!("{}.lock", self.describe())
    }
}

/// How long an S3 lock holds without its run finishing. Longer than any sane run; a run
/// that crashed is taken over after it.
pub const S3_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(2 * 60 * 60);

/// The state store of one run: holds the lock from `open` until dropped.
pub struct Store<'a> {
    location: StateLocation,
    s3: Option<&'a S3Client>,
    run_id: String,
    /// The local lock file, held open for the run.
    _local_lock: Option<std::fs::File>,
    /// The version the next commit must replace (S3 ETag); None when the state is new.
    etag: Option<String>,
    /// Size of the last state committed (bytes).
    committed_bytes: u64,
}

fn state_err(location: &StateLocation, detail: impl std::fmt::Display) -> RunError {
    RunError::State {
        target: location.describe(),
        detail: detail.to_string(),
    }
}

impl<'a> Store<'a> {
    /// Takes the lock. Another run holding it gives `RunError::Locked`.
    pub fn open(location: StateLocation, s3: Option<&'a S3Client>) -> Result<Self, RunError> {
        let run_id = format!(
            "{}-{}",
            std::process::id(),
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
        );
        let mut local_lock = None;
        match &location {
            StateLocation::Local(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| state_err(&location, e))?;
                }
                let lock_path = PathBuf::from(location.lock_name());
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(|e| {
                        state_err(
                            &location,
                            format!("cannot open lock file {}: {e}", lock_path.display()),
                        )
                    })?;
                match file.try_lock() {
                    Ok(()) => local_lock = Some(file),
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return Err(RunError::Locked(location.describe()));
                    }
                    Err(std::fs::TryLockError::Error(e)) => return Err(state_err(&location, e)),
                }
            }
            StateLocation::S3 { bucket, key } => {
                let s3 = s3.ok_or_else(|| state_err(&location, "no S3 client"))?;
                match s3.acquire_lock(bucket, &format!("{key}.lock"), &run_id, S3_LOCK_TTL) {
                    Ok(()) => {}
                    Err(LockError::Held {
                        holder,
                        since,
                        expires,
                    }) => {
                        return Err(RunError::Locked(format!(
                            "{} (run {holder}, since {since}; a crashed run's lock expires at {expires})",
                            location.describe()
                        )));
                    }
                    Err(LockError::Other(e)) => return Err(state_err(&location, e)),
                }
            }
        }
        Ok(Self {
            location,
            s3,
            run_id,
            _local_lock: local_lock,
            etag: None,
            committed_bytes: 0,
        })
    }

    /// Reads the state; a missing one is a fresh state. `reset` ignores what is there (the
    /// next commit replaces it).
    pub fn load(&mut self, reset: bool) -> Result<State, RunError> {
        let bytes = match &self.location {
            StateLocation::Local(path) => match std::fs::read(path) {
                Ok(b) => Some(b),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(state_err(&self.location, e)),
            },
            StateLocation::S3 { bucket, key } => {
                let s3 = self
                    .s3
                    .ok_or_else(|| state_err(&self.location, "no S3 client"))?;
                match s3
                    .get_versioned(bucket, key)
                    .map_err(|e| state_err(&self.location, e))?
                {
                    Some((bytes, etag)) => {
                        self.etag = Some(etag);
                        Some(bytes)
                    }
                    None => None,
                }
            }
        };
        match bytes {
            Some(_) if reset => Ok(State::new()),
            Some(bytes) => {
                State::from_bytes(&bytes).map_err(|e: StateError| state_err(&self.location, e))
            }
            None => Ok(State::new()),
        }
    }

    /// Writes the state atomically.
    pub fn commit(&mut self, state: &State) -> Result<(), RunError> {
        let bytes = state.to_bytes();
        self.committed_bytes = bytes.len() as u64;
        match &self.location {
            StateLocation::Local(path) => crate::sink::output::write_file_atomic(path, &bytes)
                .map_err(|e| state_err(&self.location, e)),
            StateLocation::S3 { bucket, key } => {
                let s3 = self
                    .s3
                    .ok_or_else(|| state_err(&self.location, "no S3 client"))?;
                match s3.put_conditional(bucket, key, bytes, self.etag.as_deref()) {
                    Ok(etag) => {
                        self.etag = Some(etag);
                        Ok(())
                    }
                    Err(ConditionalError::Conflict(e)) => Err(state_err(
                        &self.location,
                        format!(
                            "{e}; run again (nothing is lost: the next run redoes or finishes this one's work)"
                        ),
                    )),
                    Err(ConditionalError::Other(e)) => Err(state_err(&self.location, e)),
                }
            }
        }
    }

    /// Size of the last state committed (bytes), 0 before any commit.
    pub fn committed_bytes(&self) -> u64 {
        self.committed_bytes
    }
}

impl Drop for Store<'_> {
    fn drop(&mut self) {
        if let (StateLocation::S3 { bucket, key }, Some(s3)) = (&self.location, self.s3)
            && let Err(e) = s3.release_lock(bucket, &format!("{key}.lock"), &self.run_id)
        {
            tracing::warn!(
                "could not release the lock on {}: {e}",
                self.location.describe()
            );
        }
    }
}
