//! Writing finished files durably: a local folder (temp file, fsync, rename, so a reader or a
//! crash never sees half a file), or an S3 prefix.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::RunError;
use crate::finding::Finding;
use crate::source::s3::{S3Client, S3Uri};

/// Where the Parquet findings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    Local(PathBuf),
    S3(S3Uri),
}

impl OutputTarget {
    /// Where the file `name` (relative) goes, for messages.
    fn location(&self, name: &str) -> String {
        match self {
            OutputTarget::Local(p) => p.join(name).display().to_string(),
            OutputTarget::S3(uri) => format!("{uri}{name}"),
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
        write_partition(target, &name, &group, s3)?;
        written.push(name);
    }
    Ok(written)
}

/// Writes one partition file `name` (relative to the target) holding `findings`.
pub fn write_partition(
    target: &OutputTarget,
    name: &str,
    findings: &[Finding],
    s3: Option<&S3Client>,
) -> Result<(), RunError> {
    let fail = |detail: String| RunError::Output {
        target: target.location(name),
        detail,
    };
    let bytes = super::parquet::encode(findings).map_err(|e| fail(e.to_string()))?;
    match target {
        OutputTarget::Local(dir) => write_atomic(&dir.join(name), &bytes),
        OutputTarget::S3(uri) => {
            let s3 = s3.ok_or_else(|| fail("no S3 client".into()))?;
            s3.put(&uri.bucket, &format!("{}{name}", uri.prefix), bytes)
                .map_err(fail)
        }
    }
}

/// Temp file in the same folder, fsync, rename, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    write_file_atomic(path, bytes).map_err(|e| RunError::Output {
        target: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// `write_atomic` with the plain I/O error, for callers that report it their own way.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
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
    result
}
