//! Writing finished files durably: a local folder (temp file, fsync, rename, so a reader or a
//! crash never sees half a file), or an S3 prefix.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::RunError;
use crate::finding::Finding;
use crate::source::s3::S3Client;

/// Where the Parquet findings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    Local(PathBuf),
    /// `prefix` is empty or ends with `/`.
    S3 {
        bucket: String,
        prefix: String,
    },
}

impl OutputTarget {
    pub fn describe(&self) -> String {
        match self {
            OutputTarget::Local(p) => p.display().to_string(),
            OutputTarget::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// Writes one Parquet file per `dt` partition, under the same deterministic names locally
/// and on S3 (there with one PutObject each; `s3` is needed for an S3 target). Returns the
/// names written (relative).
pub fn write_findings(
    target: &OutputTarget,
    findings: &[Finding],
    s3: Option<&S3Client>,
) -> Result<Vec<String>, RunError> {
    let mut written = Vec::new();
    for (name, group) in super::parquet::partition(findings) {
        let bytes = super::parquet::encode(&group).map_err(|e| RunError::Output {
            target: format!("{}/{name}", target.describe()),
            detail: e.to_string(),
        })?;
        match target {
            OutputTarget::Local(dir) => write_atomic(&dir.join(&name), &bytes)?,
            OutputTarget::S3 { bucket, prefix } => {
                let fail = |detail| RunError::Output {
                    target: format!("{}{name}", target.describe()),
                    detail,
                };
                let s3 = s3.ok_or_else(|| fail("no S3 client".into()))?;
                s3.put(bucket, &format!("{prefix}{name}"), bytes)
                    .map_err(fail)?;
            }
        }
        written.push(name);
    }
    Ok(written)
}

/// Temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let fail = |e: std::io::Error| RunError::Output {
        target: path.display().to_string(),
        detail: e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}
