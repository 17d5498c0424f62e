//! Local sources: a file, a folder walked recursively (in sorted order, so runs are
//! repeatable), or standard input.

use std::io::Read;
use std::path::Path;

use super::{KeyFilter, ListingStats, ObjectRef, admit};
use crate::error::{ObjectError, RunError};

fn looks_like_log(path: &Path) -> bool {
    super::looks_like_log(path.file_name().and_then(|n| n.to_str()).unwrap_or(""))
}

/// Lists one local source into `out`. A file named directly is always read; in a folder,
/// digest and Insights objects and files filtered by their key are skipped and counted.
pub fn list(
    root: &Path,
    filter: &KeyFilter,
    out: &mut Vec<ObjectRef>,
    stats: &mut ListingStats,
) -> Result<(), RunError> {
    let meta = std::fs::metadata(root).map_err(|source| RunError::ReadPath {
        path: root.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        out.push(ObjectRef::Local(root.to_path_buf()));
        return Ok(());
    }
    walk(root, filter, out, stats)
}

fn walk(
    dir: &Path,
    filter: &KeyFilter,
    out: &mut Vec<ObjectRef>,
    stats: &mut ListingStats,
) -> Result<(), RunError> {
    let read_err = |source| RunError::ReadPath {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(read_err)?;
        if kind.is_dir() {
            walk(&path, filter, out, stats)?;
        } else if !looks_like_log(&path) {
            stats.ignored += 1;
        } else if admit(&path.to_string_lossy().replace('\\', "/"), filter, stats) {
            // Exact capacity: the listing is held for the whole scan.
            out.push(ObjectRef::Local(path.into_boxed_path().into_path_buf()));
        }
    }
    Ok(())
}

/// Reads a local object (or stdin) whole into `buf`, which the caller reuses from object to
/// object; a file larger than `max_bytes` is refused before it is read. `name` (the
/// object's `name()`, which the caller has already made) goes into errors.
pub fn read_into(
    object: &ObjectRef,
    name: &str,
    max_bytes: u64,
    buf: &mut Vec<u8>,
) -> Result<(), ObjectError> {
    buf.clear();
    let io = |source| ObjectError::Io {
        object: name.to_string(),
        source,
    };
    let too_large = || ObjectError::TooLarge {
        object: name.to_string(),
        limit: max_bytes,
    };
    match object {
        ObjectRef::Local(path) => {
            let mut file = std::fs::File::open(path).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            if len > max_bytes {
                return Err(too_large());
            }
            buf.reserve(len as usize);
            file.read_to_end(buf).map_err(io)?;
        }
        ObjectRef::Stdin => {
            std::io::stdin()
                .lock()
                .take(max_bytes + 1)
                .read_to_end(buf)
                .map_err(io)?;
            if buf.len() as u64 > max_bytes {
                return Err(too_large());
            }
        }
        // S3 objects are fetched by the S3 client, never read here.
        ObjectRef::S3 { .. } => {
            return Err(io(std::io::Error::from(std::io::ErrorKind::Unsupported)));
        }
    }
    Ok(())
}
