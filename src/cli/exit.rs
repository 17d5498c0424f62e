//! Exit codes, in one place (the README lists them).

/// The scan finished and every object was read.
pub const OK: i32 = 0;
/// Fatal: a source could not be listed, the output or state could not be written.
pub const FATAL: i32 = 1;
/// The command line was wrong (clap uses this code too).
pub const USAGE: i32 = 2;
/// The scan finished, findings were written, but some objects could not be read.
pub const PARTIAL: i32 = 3;
/// Another run holds the lock on the `--state`; this one did nothing.
pub const LOCKED: i32 = 4;
/// `--fail-on-findings` and the run wrote or printed findings (3 takes precedence).
pub const FINDINGS: i32 = 5;
