//! `s3://bucket[/prefix]` locations, checked before any request is made so a typo is a usage
//! error and not a confusing service error. A prefix is always treated as a folder: it is
//! returned empty or ending with `/`, so `s3://b/logs` never matches `logs-old/`.

/// A bucket and a folder-like prefix (empty, or ending with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: String,
    pub prefix: String,
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Whether `s` names an S3 location (and should be parsed with [`parse`]).
pub fn is_s3(s: &str) -> bool {
    s.starts_with("s3://")
}

/// Parses `s3://bucket[/prefix]`.
pub fn parse(s: &str) -> Result<S3Uri, String> {
    let rest = s
        .strip_prefix("s3://")
        .ok_or_else(|| format!("'{s}' is not an s3://bucket/prefix location"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if !is_bucket_name(bucket) {
        return Err(format!(
            "'{bucket}' is not a bucket name (3 to 63 letters, digits, dots, dashes or underscores)"
        ));
    }
    Ok(S3Uri {
        bucket: bucket.to_string(),
        prefix: folder(prefix)?,
    })
}

/// Parses `s3://bucket/key` naming one object (the `--state` file): the key must not be
/// empty or end with `/`.
pub fn parse_object(s: &str) -> Result<(String, String), String> {
    let u = parse(s)?;
    if s.ends_with('/') || u.prefix.is_empty() {
        return Err(format!(
            "'{s}' does not name an object; use s3://bucket/name, such as s3://bucket/trailhound.state"
        ));
    }
    Ok((u.bucket, u.prefix.trim_end_matches('/').to_string()))
}

/// Loose on purpose: buckets created before 2018 in us-east-1 may have capitals and
/// underscores. Strict enough that the name cannot change the request's path or host.
fn is_bucket_name(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// `""` stays empty; anything else gets one trailing `/`. Empty or `.`/`..` segments are
/// refused: S3 would treat them literally, which is never what was meant.
fn folder(prefix: &str) -> Result<String, String> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(format!("'{prefix}' has an empty, '.' or '..' path segment"));
    }
    Ok(format!("{trimmed}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects() {
        assert_eq!(
            parse_object("s3://b-1/state/t.state"),
            Ok(("b-1".into(), "state/t.state".into()))
        );
        assert!(parse_object("s3://b-1/").is_err() && parse_object("s3://b-1").is_err());
        assert!(parse_object("s3://b-1/dir/").is_err() && parse_object("s3://b-1/a/../s").is_err());
    }

    #[test]
    fn buckets_and_prefixes() {
        let u = parse("s3://logs-x").unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("logs-x", ""));
        assert_eq!(parse("s3://logs-x/").unwrap().prefix, "");
        assert_eq!(parse("s3://logs-x/trail").unwrap().prefix, "trail/");
        assert_eq!(parse("s3://logs-x/a/b//").unwrap().prefix, "a/b/");
        assert_eq!(parse("s3://b.c_d/x").unwrap().to_string(), "s3://b.c_d/x/");
        for bad in [
            "s3://",
            "s3://ab",
            "s3://-ab",
            "s3://a b/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
            "/tmp/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
