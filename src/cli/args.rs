//! Argument definitions (clap derive; the doc comments are the help text) and the one
//! function that turns them into a `Job`, where validation and defaults live.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trailhound::incremental::Incremental;
use trailhound::pipeline::ScanOptions;
use trailhound::sink::output::OutputTarget;
use trailhound::source::s3::{S3Options, uri};
use trailhound::state::store::StateLocation;
use trailhound::{Job, SourceSpec, ids, timefmt};

/// Finds the EC2 instances that died at launch because a KMS key could not be used for
/// their encrypted EBS volumes, from CloudTrail logs.
#[derive(Debug, Parser)]
#[command(name = "trailhound", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan CloudTrail log files and report the launches that KMS failures killed.
    Scan(ScanArgs),
    /// Print the Athena CREATE TABLE statement for findings written with --out.
    AthenaDdl(DdlArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A compact table and a summary.
    Table,
    /// One JSON object per finding, every column.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Folders (walked recursively), files (.json.gz or .json), - for standard input, or
    /// s3://bucket[/prefix] (the trail's prefix: AWSLogs/ is found under it).
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,

    /// Write findings as Parquet under this folder or s3://bucket/prefix, in dt=YYYY-MM-DD/
    /// partitions.
    #[arg(long, value_name = "DIR|S3_URI")]
    pub out: Option<String>,

    /// What to print on standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Only events at or after this time: a date (YYYY-MM-DD, UTC) or an RFC 3339 time.
    #[arg(long, value_name = "TIME", value_parser = timefmt::parse_bound)]
    pub since: Option<i64>,

    /// Only events before this time: a date (the start of that day, UTC) or RFC 3339.
    #[arg(long, value_name = "TIME", value_parser = timefmt::parse_bound)]
    pub until: Option<i64>,

    /// Only this account (12 digits); repeat for more.
    #[arg(long = "account", value_name = "ID", value_parser = parse_account)]
    pub accounts: Vec<String>,

    /// Only this region; repeat for more.
    #[arg(long = "region", value_name = "REGION", value_parser = parse_region)]
    pub regions: Vec<String>,

    /// Worker threads for decompression and scanning [default: number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Largest accepted log file, compressed or decompressed (bytes; K, M, G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = parse_size)]
    pub max_file_bytes: u64,

    /// Batch runs: once the files read are this far (in delivery time) past a finding's first
    /// denial, the finding is settled, and evidence twice as old is let go, so that memory
    /// stays flat over months of logs. Records delivered later than this after their
    /// incident may miss it (a denial reported unmatched, or a second denial of an instance
    /// not added). 0 keeps every record to the end (memory grows with the logs).
    /// Incremental runs have --lookback and --grace instead.
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = parse_duration,
          conflicts_with = "state")]
    pub horizon: i64,

    /// AWS profile for S3, from the shared config files (SSO profiles work).
    #[arg(long, value_name = "NAME", help_heading = "S3")]
    pub profile: Option<String>,

    /// Region of the S3 client [default: AWS_REGION, the profile's, or us-east-1]. Not to be
    /// confused with --region, which selects CloudTrail regions.
    #[arg(long, value_name = "REGION", help_heading = "S3")]
    pub aws_region: Option<String>,

    /// An S3-compatible endpoint such as http://127.0.0.1:9000 (AWS_ENDPOINT_URL is read
    /// too).
    #[arg(long, value_name = "URL", help_heading = "S3")]
    pub endpoint_url: Option<String>,

    /// Path-style addressing (http://host/bucket/key), for S3-compatible stores.
    #[arg(long, help_heading = "S3")]
    pub s3_path_style: bool,

    /// S3 requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, help_heading = "S3",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub s3_concurrency: u16,

    /// Incremental mode: remember what was scanned in this file or s3:// object, scan only
    /// new objects, and write each finding once. Runs on one state take turns (a second
    /// one exits with code 4).
    #[arg(
        long,
        value_name = "PATH|S3_URI",
        help_heading = "Incremental runs (cron)"
    )]
    pub state: Option<String>,

    /// Delivery days re-listed by each incremental run, to catch late files (1d..90d).
    #[arg(long, value_name = "DAYS", default_value = "2d", value_parser = parse_days,
          help_heading = "Incremental runs (cron)")]
    pub lookback: u32,

    /// How long (in event time) a denial waits for its launch and its other denials before
    /// its finding is written, e.g. 30m, 2h.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration,
          help_heading = "Incremental runs (cron)")]
    pub grace: i64,

    /// Ignore the saved state and start over (the look-back window is scanned again and its
    /// findings written again).
    #[arg(long, requires = "state", help_heading = "Incremental runs (cron)")]
    pub reset_state: bool,

    /// The run summary: text (after the table, or on stderr on a terminal with --format
    /// jsonl), json (one line on stderr, for cron and log shippers), or none.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub summary: SummaryFormat,

    /// Exit with code 5 when the run wrote or printed findings (for alerting from cron).
    #[arg(long)]
    pub fail_on_findings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
    None,
}

/// `2d` or `2` (days), 1 to 90.
fn parse_days(s: &str) -> Result<u32, String> {
    s.strip_suffix('d')
        .unwrap_or(s)
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=90).contains(d))
        .ok_or_else(|| format!("'{s}' is not a number of days from 1d to 90d"))
}

/// `30m`, `2h`, `90s`, `0s` -> milliseconds.
fn parse_duration(s: &str) -> Result<i64, String> {
    let err = || format!("'{s}' is not a duration such as 30m, 2h or 90s");
    if s == "0" {
        return Ok(0);
    }
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
    let n: i64 = n.parse().map_err(|_| err())?;
    let ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(err()),
    };
    n.checked_mul(ms).ok_or_else(err)
}

#[derive(Debug, Args)]
pub struct DdlArgs {
    /// Where the findings are: the --out prefix, as s3://bucket/prefix/.
    #[arg(long, value_name = "S3_URI")]
    pub location: String,
    /// Glue database of the table.
    #[arg(long, default_value = "default")]
    pub database: String,
    /// Table name.
    #[arg(long, default_value = "trailhound_findings")]
    pub table: String,
    /// First day the dt partition projection covers (YYYY-MM-DD).
    #[arg(long, default_value = "2020-01-01", value_parser = parse_date)]
    pub start_date: String,
}

fn parse_account(s: &str) -> Result<String, String> {
    if ids::is_account_id(s) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a 12-digit account id"))
    }
}

fn parse_region(s: &str) -> Result<String, String> {
    if ids::is_region(s) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a region name such as us-east-1"))
    }
}

fn parse_date(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|_| s.to_string())
        .map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

/// `1048576`, `512K`, `64M`, `2G` (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{s}' is not a size such as 2G, 500M or 1048576"))
}

impl ScanArgs {
    /// The job these arguments describe.
    pub fn job(&self) -> Result<Job, String> {
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since >= until
        {
            return Err("--since must be before --until".into());
        }
        let sources = self
            .sources
            .iter()
            .map(|s| {
                Ok(if s == "-" {
                    SourceSpec::Stdin
                } else if uri::is_s3(s) {
                    SourceSpec::S3(uri::parse(s)?)
                } else {
                    SourceSpec::Path(PathBuf::from(s))
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let out = match &self.out {
            Some(o) if uri::is_s3(o) => Some(OutputTarget::S3(uri::parse(o)?)),
            Some(o) => Some(OutputTarget::Local(PathBuf::from(o))),
            None => None,
        };
        if sources.iter().filter(|s| **s == SourceSpec::Stdin).count() > 1 {
            return Err("standard input (-) can be named only once".into());
        }
        let incremental = match &self.state {
            Some(st) => Some(Incremental {
                state: if uri::is_s3(st) {
                    let (bucket, key) =
                        uri::parse_object(st).map_err(|e| format!("--state: {e}"))?;
                    StateLocation::S3 { bucket, key }
                } else {
                    StateLocation::Local(PathBuf::from(st))
                },
                lookback_days: self.lookback,
                grace_ms: self.grace,
                reset: self.reset_state,
            }),
            None => None,
        };
        if incremental.is_some() && sources.contains(&SourceSpec::Stdin) {
            return Err(
                "--state cannot track standard input; name files, folders or s3:// sources".into(),
            );
        }
        let defaults = ScanOptions::default();
        Ok(Job {
            incremental,
            sources,
            opts: ScanOptions {
                threads: self.threads.map_or(defaults.threads, usize::from),
                max_file_bytes: self.max_file_bytes,
                since_ms: self.since,
                until_ms: self.until,
                accounts: self.accounts.clone(),
                regions: self.regions.clone(),
                horizon_ms: self.horizon,
            },
            out,
            s3: S3Options {
                profile: self.profile.clone(),
                region: self.aws_region.clone(),
                endpoint_url: self.endpoint_url.clone(),
                path_style: self.s3_path_style,
                concurrency: usize::from(self.s3_concurrency),
                ..S3Options::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(
            parse_size("0").is_err()
                && parse_size("lots").is_err()
                && parse_size("99999999999G").is_err()
        );
    }

    #[test]
    fn days_and_durations() {
        assert_eq!(parse_days("2d"), Ok(2));
        assert_eq!(parse_days("7"), Ok(7));
        assert!(
            parse_days("0d").is_err() && parse_days("91d").is_err() && parse_days("x").is_err()
        );
        assert_eq!(parse_duration("30m"), Ok(1_800_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert!(
            parse_duration("30").is_err()
                && parse_duration("m").is_err()
                && parse_duration("3w").is_err()
        );
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
