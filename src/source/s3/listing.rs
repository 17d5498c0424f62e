//! CloudTrail-aware listing: walks `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/`
//! with delimiter listings, pruning accounts and regions with the `KeyFilter` at each level,
//! then lists each region's day folders as one key range.
//!
//! Why a key range and not one LIST per day folder: `StartAfter=<region>/YYYY/MM/DD` skips
//! every day before `--since`, and the walk stops at the first key past the last day, so a
//! LIST is spent per 1,000 keys in range rather than per day. A quiet region with a few files
//! a day costs one LIST for a month instead of thirty, and an empty day costs nothing. (This
//! is a lower bound inside one listing, not a polling marker, so late deliveries are not
//! skipped: every listing is complete for the days it covers.)
//!
//! The walk never lists an account folder, only `<account>/CloudTrail/` built from it, so
//! `CloudTrail-Digest/` and `CloudTrail-Insight/` are never listed. A prefix with no
//! `AWSLogs/` under it is listed plainly (recursive, paginated) and every key goes through
//! `source::admit`, as in a local folder.

use std::collections::VecDeque;
use std::sync::Arc;

use aws_sdk_s3::Client;
use tokio::task::JoinSet;

use super::client::describe;
use super::uri::S3Uri;
use crate::error::RunError;
use crate::ids;
use crate::source::{KeyFilter, ListingStats, ObjectRef, admit, looks_like_log};

/// One folder to list, named after what it holds in the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Folder {
    /// `…AWSLogs/`: organization ids and account ids. If it is empty and `fallback` is set,
    /// that prefix is not a trail's and is listed plainly instead.
    Logs {
        prefix: String,
        fallback: Option<String>,
    },
    /// `…AWSLogs/o-…/`: account ids.
    Org(String),
    /// `…/<account>/CloudTrail/`: regions.
    Trail(String),
    /// `…/CloudTrail/<region>/`: day folders, listed as one key range.
    Region(String),
    /// Anything else: every key under it.
    Plain(String),
}

/// Where a user's prefix sits in the layout, so `s3://b/AWSLogs/o-x/111122223333/` starts
/// the walk at that account rather than listing everything under it.
fn start(prefix: &str) -> Folder {
    let segs: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
    let Some(at) = segs.iter().position(|s| *s == "AWSLogs") else {
        return Folder::Logs {
            prefix: format!("{prefix}AWSLogs/"),
            fallback: Some(prefix.to_string()),
        };
    };
    let mut rest = &segs[at + 1..];
    let org = rest.first().is_some_and(|s| ids::is_org_id(s));
    if org {
        rest = &rest[1..];
    }
    let p = prefix.to_string();
    match rest {
        [] if org => Folder::Org(p),
        [] => Folder::Logs {
            prefix: p,
            fallback: None,
        },
        [a] if ids::is_account_id(a) => Folder::Trail(format!("{p}CloudTrail/")),
        [a, "CloudTrail"] if ids::is_account_id(a) => Folder::Trail(p),
        [a, "CloudTrail", r] if ids::is_account_id(a) && ids::is_region(r) => Folder::Region(p),
        _ => Folder::Plain(p),
    }
}

/// What listing one folder found: folders to list next and objects to read.
#[derive(Default)]
struct Step {
    children: Vec<Folder>,
    objects: Vec<ObjectRef>,
    stats: ListingStats,
}

impl Step {
    /// Keeps a listed key if it is a log file the filter admits (counting it otherwise).
    fn key(&mut self, ctx: &Ctx, key: &str, size: u64) {
        if key.ends_with('/') {
            // A zero-byte "folder" made by a console: not an object anyone wrote.
        } else if !looks_like_log(key) {
            self.stats.ignored += 1;
        } else if admit(key, &ctx.filter, &mut self.stats) {
            self.objects.push(ObjectRef::S3 {
                bucket: ctx.bucket.clone(),
                key: key.to_string(),
                size,
            });
        }
    }
}

struct Ctx {
    client: Client,
    bucket: String,
    filter: KeyFilter,
}

/// Lists the log objects under `uri`, `concurrency` LISTs at a time. The result is sorted by
/// key, so runs are repeatable.
pub(super) async fn list(
    client: &Client,
    uri: &S3Uri,
    filter: &KeyFilter,
    concurrency: usize,
) -> Result<(Vec<ObjectRef>, ListingStats), RunError> {
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        bucket: uri.bucket.clone(),
        filter: filter.clone(),
    });
    let mut queue = VecDeque::from([start(&uri.prefix)]);
    let mut tasks = JoinSet::new();
    let mut objects = Vec::new();
    let mut stats = ListingStats::default();
    loop {
        while tasks.len() < concurrency.max(1)
            && let Some(folder) = queue.pop_front()
        {
            tasks.spawn(visit(ctx.clone(), folder));
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        // On an error the JoinSet is dropped, which cancels the LISTs still running.
        let step = joined
            .map_err(|e| RunError::Source(uri.to_string(), format!("listing stopped: {e}")))??;
        queue.extend(step.children);
        objects.extend(step.objects);
        stats.add(&step.stats);
    }
    objects.sort();
    Ok((objects, stats))
}

/// Lists one folder.
async fn visit(ctx: Arc<Ctx>, folder: Folder) -> Result<Step, RunError> {
    let mut step = Step::default();
    let filter = &ctx.filter;
    match folder {
        Folder::Logs { prefix, fallback } => {
            let empty = subfolders(&ctx, &prefix, &mut step, |path, seg| {
                if ids::is_org_id(seg) {
                    Some(Folder::Org(path.to_string()))
                } else if ids::is_account_id(seg)
                    && (filter.accounts.is_empty() || filter.accounts.iter().any(|a| a == seg))
                {
                    Some(Folder::Trail(format!("{path}CloudTrail/")))
                } else {
                    None
                }
            })
            .await?;
            if let (true, Some(p)) = (empty, fallback) {
                step.children.push(Folder::Plain(p));
            }
        }
        // With an account filter the accounts are known: no need to list the organization.
        Folder::Org(prefix) if !filter.accounts.is_empty() => {
            step.children.extend(
                filter
                    .accounts
                    .iter()
                    .map(|a| Folder::Trail(format!("{prefix}{a}/CloudTrail/"))),
            );
        }
        Folder::Org(prefix) => {
            subfolders(&ctx, &prefix, &mut step, |path, seg| {
                ids::is_account_id(seg).then(|| Folder::Trail(format!("{path}CloudTrail/")))
            })
            .await?;
        }
        // Likewise with a region filter. An absent region then costs one empty LIST, no more
        // than listing the regions would have.
        Folder::Trail(prefix) if !filter.regions.is_empty() => {
            step.children.extend(
                filter
                    .regions
                    .iter()
                    .map(|r| Folder::Region(format!("{prefix}{r}/"))),
            );
        }
        Folder::Trail(prefix) => {
            subfolders(&ctx, &prefix, &mut step, |path, seg| {
                ids::is_region(seg).then(|| Folder::Region(path.to_string()))
            })
            .await?;
        }
        Folder::Region(prefix) => {
            let (after, end) = day_range(&prefix, filter);
            pages(&ctx, &prefix, false, after, |keys, _| {
                for (key, size) in keys {
                    if end.as_ref().is_some_and(|end| key >= *end) {
                        return false;
                    }
                    step.key(&ctx, &key, size);
                }
                true
            })
            .await?;
        }
        Folder::Plain(prefix) => {
            pages(&ctx, &prefix, false, None, |keys, _| {
                for (key, size) in keys {
                    step.key(&ctx, &key, size);
                }
                true
            })
            .await?;
        }
    }
    Ok(step)
}

/// The key range of a region folder's days that `filter` admits: a `StartAfter` before the
/// first day's keys and a bound at or after which every key is past the last day. Every key
/// of a day sorts after `…/YYYY/MM/DD`; every key past it sorts at or after `…/YYYY/MM/DD0`
/// (`/` sorts just before `0`).
fn day_range(region: &str, filter: &KeyFilter) -> (Option<String>, Option<String>) {
    let day = |d: chrono::NaiveDate| format!("{region}{}", d.format("%Y/%m/%d"));
    (
        filter.from_date.map(day),
        filter.to_date.map(|d| format!("{}0", day(d))),
    )
}

/// Lists the sub-folders of `prefix` (delimiter `/`) into `step.children`, those `child`
/// recognises from their path and last segment (validated there before they become parts
/// of keys); keys beside them are kept as usual. Returns whether the folder was empty.
async fn subfolders(
    ctx: &Ctx,
    prefix: &str,
    step: &mut Step,
    child: impl Fn(&str, &str) -> Option<Folder>,
) -> Result<bool, RunError> {
    let mut empty = true;
    pages(ctx, prefix, true, None, |keys, folders| {
        empty &= keys.is_empty() && folders.is_empty();
        for (key, size) in keys {
            step.key(ctx, &key, size);
        }
        step.children
            .extend(folders.iter().filter_map(|(path, seg)| child(path, seg)));
        true
    })
    .await?;
    Ok(empty)
}

/// Lists `prefix` page by page (ListObjectsV2, continuation tokens), handing each page's
/// keys with sizes and, with `delimited`, its sub-folders as (path, last segment) to `page`,
/// until the listing ends or `page` returns false.
async fn pages(
    ctx: &Ctx,
    prefix: &str,
    delimited: bool,
    start_after: Option<String>,
    mut page: impl FnMut(Vec<(String, u64)>, Vec<(String, String)>) -> bool,
) -> Result<(), RunError> {
    let mut token: Option<String> = None;
    let mut first = true;
    loop {
        let out = ctx
            .client
            .list_objects_v2()
            .bucket(&ctx.bucket)
            .prefix(prefix)
            .set_delimiter(delimited.then(|| "/".to_string()))
            .set_start_after(if first { start_after.clone() } else { None })
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| {
                RunError::Source(
                    format!("s3://{}/{prefix}", ctx.bucket),
                    describe(&ctx.bucket, "s3:ListBucket", &e),
                )
            })?;
        first = false;
        let keys = out
            .contents()
            .iter()
            .filter_map(|o| Some((o.key()?.to_string(), o.size().unwrap_or(0).max(0) as u64)))
            .collect();
        let folders = out
            .common_prefixes()
            .iter()
            .filter_map(|p| {
                let path = p.prefix()?;
                let seg = path.strip_prefix(prefix)?.strip_suffix('/')?;
                // Only a single, non-empty segment can be a folder of the layout.
                (!seg.is_empty() && !seg.contains('/')).then(|| (path.to_string(), seg.to_string()))
            })
            .collect();
        if !page(keys, folders) || !out.is_truncated().unwrap_or(false) {
            return Ok(());
        }
        // A truncated page without a token would loop forever on a broken store.
        token = match out.next_continuation_token() {
            Some(t) => Some(t.to_string()),
            None => {
                return Err(RunError::Source(
                    format!("s3://{}/{prefix}", ctx.bucket),
                    "the listing was truncated without a continuation token".into(),
                ));
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_starts_where_the_prefix_is() {
        let logs = |p: &str, f: Option<&str>| Folder::Logs {
            prefix: p.into(),
            fallback: f.map(Into::into),
        };
        assert_eq!(start(""), logs("AWSLogs/", Some("")));
        assert_eq!(start("trail/"), logs("trail/AWSLogs/", Some("trail/")));
        assert_eq!(start("t/AWSLogs/"), logs("t/AWSLogs/", None));
        assert_eq!(
            start("AWSLogs/o-a1b2c3d4e5/"),
            Folder::Org("AWSLogs/o-a1b2c3d4e5/".into())
        );
        assert_eq!(
            start("AWSLogs/o-a1b2c3d4e5/111122223333/"),
            Folder::Trail("AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/".into())
        );
        assert_eq!(
            start("AWSLogs/111122223333/CloudTrail/"),
            Folder::Trail("AWSLogs/111122223333/CloudTrail/".into())
        );
        assert_eq!(
            start("AWSLogs/111122223333/CloudTrail/us-east-1/"),
            Folder::Region("AWSLogs/111122223333/CloudTrail/us-east-1/".into())
        );
        for plain in [
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/",
            "AWSLogs/111122223333/CloudTrail-Digest/",
            "AWSLogs/elasticloadbalancing/",
        ] {
            assert_eq!(start(plain), Folder::Plain(plain.into()));
        }
    }

    #[test]
    fn day_bounds_bracket_exactly_the_days_in_range() {
        let region = "AWSLogs/111122223333/CloudTrail/us-east-1/";
        let filter = KeyFilter {
            from_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 14),
            to_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 15),
            ..KeyFilter::default()
        };
        let (Some(after), Some(end)) = day_range(region, &filter) else {
            panic!("both bounds");
        };
        assert_eq!(day_range(region, &KeyFilter::default()), (None, None));
        let key = |d: &str| format!("{region}{d}/111122223333_CloudTrail_us-east-1_x.json.gz");
        assert!(key("2026/03/13") < after && key("2026/03/14") > after);
        assert!(key("2026/03/15") < end && key("2026/03/16") >= end);
        assert!(key("2026/04/01") >= end && key("2027/01/01") >= end);
    }
}
