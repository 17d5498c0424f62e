//! Error types of the engine. Each variant carries the object (path or S3 key) it is
//! about, so a message always says what failed and where; `is_input_fault` separates
//! bad input (skip, count, exit 3) from failures of the run itself (exit 1).

use std::path::PathBuf;

/// Why one log object could not be read. The object is skipped and counted; the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{object}: cannot read: {source}")]
    Io {
        object: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{object}: corrupt or truncated gzip: {detail}")]
    Gzip { object: String, detail: String },
    #[error("{object}: decompressed size would exceed the limit of {limit} bytes")]
    TooLarge { object: String, limit: u64 },
    #[error("{object}: not a CloudTrail log file: {detail}")]
    NotCloudTrail { object: String, detail: String },
    #[error("{object}: fetch failed: {detail}")]
    Fetch { object: String, detail: String },
}

impl ObjectError {
    /// The object this error is about.
    pub fn object(&self) -> &str {
        match self {
            ObjectError::Io { object, .. }
            | ObjectError::Gzip { object, .. }
            | ObjectError::TooLarge { object, .. }
            | ObjectError::NotCloudTrail { object, .. }
            | ObjectError::Fetch { object, .. } => object,
        }
    }
}

/// A failure that stops the whole run: the source cannot be listed, the output cannot be
/// written, the state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("source {0}: {1}")]
    Source(String, String),
    #[error("cannot read {}: {source}", path.display())]
    ReadPath {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write output {target}: {detail}")]
    Output { target: String, detail: String },
    #[error("state {target}: {detail}")]
    State { target: String, detail: String },
    #[error("another run holds the lock on {0}; try again when it has finished")]
    Locked(String),
    #[error("{0}")]
    Config(String),
}
