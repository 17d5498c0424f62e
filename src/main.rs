//! The `trailhound` binary: parse arguments, set up warnings and progress, run the engine,
//! print, and map the result to an exit code. The work is in the library.

mod cli;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use cli::args::{Cli, Command, Format, ScanArgs, SummaryFormat};
use cli::{exit, report};
use trailhound::sink::schema::{DdlOptions, athena_ddl};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .with_max_level(tracing::Level::WARN)
        .init();
    let code = match cli.command {
        Command::Scan(args) => scan(&args),
        Command::AthenaDdl(a) => {
            print!(
                "{}",
                athena_ddl(&DdlOptions {
                    location: &a.location,
                    database: &a.database,
                    table: &a.table,
                    start_date: &a.start_date,
                })
            );
            Ok(exit::OK)
        }
    };
    match code {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(exit::OK as u8);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(exit::FATAL as u8)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// A progress bar on stderr, drawn only on a terminal and only once the scan has taken more
/// than a moment.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: bool,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} files  {msg}  [{elapsed_precise}]")
                .expect("valid template"),
        );
        Self {
            bar,
            started: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn update(&mut self, stats: &trailhound::pipeline::ScanStats, listed: u64) {
        if !self.enabled {
            return;
        }
        if !self.shown && self.started.elapsed() > Duration::from_millis(500) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        self.bar.set_length(listed);
        self.bar
            .set_position(stats.objects_read + stats.objects_failed);
        self.bar
            .set_message(format!("{} MiB decoded", stats.bytes_decoded >> 20));
    }
}

fn scan(args: &ScanArgs) -> anyhow::Result<i32> {
    let job = match args.job() {
        Ok(job) => job,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Ok(exit::USAGE);
        }
    };
    let mut progress = Progress::new();
    let outcome = job.run(&mut |s, listed| progress.update(s, listed));
    progress.bar.finish_and_clear();
    let outcome = match outcome {
        Err(e @ trailhound::error::RunError::Locked(_)) => {
            eprintln!("error: {e}");
            return Ok(exit::LOCKED);
        }
        other => other.context("scan failed")?,
    };

    let text_summary = args.summary == SummaryFormat::Text;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Table => {
            if outcome.findings.is_empty() {
                writeln!(stdout, "No launches killed by KMS failures were found.")?;
            } else {
                write!(stdout, "{}", report::table(&outcome.findings))?;
            }
            if text_summary {
                writeln!(stdout)?;
                write!(stdout, "{}", report::summary(&outcome))?;
            }
        }
        Format::Jsonl => {
            trailhound::sink::jsonl::write(&mut stdout, &outcome.findings)?;
            if text_summary && std::io::stderr().is_terminal() {
                eprint!("{}", report::summary(&outcome));
            }
        }
    }
    stdout.flush()?;
    if !outcome.failures.is_empty() {
        let names: Vec<&str> = outcome.failures.iter().map(|f| f.object()).collect();
        tracing::warn!(
            "{} file(s) could not be read: {}",
            names.len(),
            names.join(", ")
        );
    }
    // Last on stderr, after every warning, so that a log shipper finds it in one place.
    if args.summary == SummaryFormat::Json {
        eprintln!("{}", report::summary_json(&outcome));
    }
    if !outcome.failures.is_empty() {
        return Ok(exit::PARTIAL);
    }
    if args.fail_on_findings && !outcome.findings.is_empty() {
        return Ok(exit::FINDINGS);
    }
    Ok(exit::OK)
}
